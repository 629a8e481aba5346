//! Messages whose `Drop` always panics, left in a channel when its last receiver goes (the
//! queue is discarded while a sender may still be alive) or when its last handle goes (the
//! channel is freed). As in crossbeam-channel and std's mpsc, the first panic reaches the
//! caller and the messages queued after it are leaked: none is dropped while that panic
//! unwinds (a second panic there would abort the process), none twice. The channel stays
//! consistent (empty, disconnected: a send hands its message back), and its own memory
//! (blocks, ring) is still freed: Miri's leak check, which runs on this file, would report
//! what was not. The messages borrow their counter and own no memory, so leaking one is no
//! leak to Miri.
//!
//! Every flavor that can hold messages is covered, with the queue across an unbounded
//! block boundary and across a bounded ring's wrap-around. The rendezvous channel
//! (`bounded(0)`) holds no message, so it runs the same scenario with none queued: no
//! handle's drop panics and nothing is dropped.
#![cfg(not(loom))]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use panama::{Receiver, SendError, Sender};

use common::panic_message;
use common::Flavor::{self, Bounded, Unbounded};

/// Slots per block of the unbounded flavor (`BLOCK_CAP` in src/flavors/list.rs).
const BLOCK_CAP: usize = 31;

/// Every panic of a [`Bomb`] starts with this, so the hook can keep them quiet.
const BOOM: &str = "intentional: bomb";

/// Installs (once per process) a panic hook that stays silent for the bombs' panics.
fn quiet_bombs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !panic_message(info.payload()).starts_with(BOOM) {
                default(info);
            }
        }));
    });
}

/// A message whose `Drop` counts itself and then panics, every time, even while its thread
/// is already unwinding.
struct Bomb<'a> {
    id: usize,
    drops: &'a AtomicUsize,
}

impl Drop for Bomb<'_> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        panic!("{BOOM} {}", self.id);
    }
}

/// How the handles go, with the messages queued.
#[derive(Clone, Copy, Debug)]
enum Teardown {
    /// The last receiver goes while a sender is alive: its drop discards the queue. Then
    /// the sender is used and dropped, which frees the channel.
    ReceiverFirst,
    /// The sender goes first; the receiver is the last handle, and its drop frees the
    /// channel with the messages in it.
    ReceiverLast,
}

/// Sends `count` messages and receives them, so that the queue starts `count` positions
/// in. They are forgotten, not dropped (they would panic; they own nothing).
fn advance<'a>(s: &Sender<Bomb<'a>>, r: &Receiver<Bomb<'a>>, count: usize, drops: &'a AtomicUsize) {
    for id in 0..count {
        s.try_send(Bomb { id, drops })
            .expect("advance: channel full");
        std::mem::forget(r.try_recv().expect("advance: message missing"));
    }
}

/// Queues up to `wanted` bombs (as many as the channel holds) after `skip` positions, tears
/// the channel down as `how` says, and checks that exactly the first bomb went off, its
/// panic reaching the dropping handle, and that the channel left is empty and disconnected.
fn teardown(flavor: Flavor, skip: usize, wanted: usize, how: Teardown) {
    let context = format!("{flavor:?}, {skip} skipped, {how:?}");
    let drops = AtomicUsize::new(0);
    let (s, r) = flavor.make::<Bomb<'_>>();
    advance(&s, &r, skip, &drops);
    let queued = flavor.cap().map_or(wanted, |cap| wanted.min(cap));
    for id in 0..queued {
        s.try_send(Bomb { id, drops: &drops })
            .expect("queue: channel full");
    }
    assert_eq!(s.len(), queued, "{context}");
    // The first message's panic, and no other drop; nothing at all if none is queued.
    let check_panic = |result: std::thread::Result<()>| {
        match (result, queued) {
            (Ok(()), 0) => {}
            (Ok(()), _) => panic!("{context}: no panic reached the caller"),
            (Err(payload), _) => {
                assert_eq!(panic_message(&*payload), format!("{BOOM} 0"), "{context}")
            }
        }
        assert_eq!(
            drops.load(Ordering::SeqCst),
            queued.min(1),
            "{context}: drops (the messages after the first one are leaked)"
        );
    };
    match how {
        Teardown::ReceiverFirst => {
            check_panic(catch_unwind(AssertUnwindSafe(move || drop(r))));
            // Empty and disconnected: a send fails and hands its message back.
            assert_eq!(s.len(), 0, "{context}");
            assert!(s.is_empty(), "{context}");
            match s.send(Bomb {
                id: 100,
                drops: &drops,
            }) {
                Err(SendError(back)) => {
                    assert_eq!(back.id, 100, "{context}: another message handed back");
                    std::mem::forget(back);
                }
                Ok(()) => panic!("{context}: a send succeeded with no receiver"),
            }
            // Freeing the channel drops nothing: the leaked messages stay untouched.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(s))) {
                panic!(
                    "{context}: dropping the sender panicked: {:?}",
                    panic_message(&*payload)
                );
            }
        }
        Teardown::ReceiverLast => {
            drop(s);
            check_panic(catch_unwind(AssertUnwindSafe(move || drop(r))));
        }
    }
    assert_eq!(drops.load(Ordering::SeqCst), queued.min(1), "{context}");
}

/// Runs [`teardown`] both ways for each `(skip, wanted)` case over `flavors`.
fn teardown_cases(flavors: &[Flavor], cases: &[(usize, usize)]) {
    quiet_bombs();
    for &flavor in flavors {
        for &(skip, wanted) in cases {
            for how in [Teardown::ReceiverFirst, Teardown::ReceiverLast] {
                teardown(flavor, skip, wanted, how);
            }
        }
    }
}

/// Several bombs queued from the start of the channel, in every flavor (a single one in
/// `bounded(1)`, none in `bounded(0)`).
#[test]
fn always_panicking_messages_every_flavor() {
    teardown_cases(&[Unbounded, Bounded(1), Bounded(4), Bounded(0)], &[(0, 4)]);
}

/// Unbounded, the queue across a block boundary: it starts on the last two slots of the
/// first block (the first bomb goes off there) and goes on into the second, so the
/// leaked messages span both blocks and both must be freed. Also a queue that starts on
/// the second block's first slot, with the first block already given back.
#[test]
fn always_panicking_messages_across_a_block() {
    teardown_cases(
        &[Unbounded],
        &[(BLOCK_CAP - 2, 4), (BLOCK_CAP - 1, 3), (BLOCK_CAP, 3)],
    );
}

/// Bounded, the queue across the ring's wrap-around: it starts on the last slot, or in the
/// middle, and ends at the start of the ring.
#[test]
fn always_panicking_messages_across_the_wrap() {
    teardown_cases(&[Bounded(4)], &[(3, 4), (2, 3)]);
}
