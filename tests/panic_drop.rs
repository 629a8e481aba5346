//! A message whose `Drop` panics while the last receiver discards the queue: the panic
//! propagates, the channel stays consistent, and every other message is dropped exactly
//! once (before the fix, the unbounded channel dereferenced a null block here).
#![cfg(not(loom))]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Bomb {
    explode: bool,
    drops: Arc<AtomicUsize>,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.explode {
            panic!("boom");
        }
    }
}

fn bomb(explode: bool, drops: &Arc<AtomicUsize>) -> Bomb {
    Bomb {
        explode,
        drops: drops.clone(),
    }
}

/// The last receiver drops with two messages queued; the first one's `Drop` panics inside
/// `discard_all_messages`. A sender is still alive, so the channel outlives the panic;
/// dropping that sender then runs `Channel::drop`, which walks `head..tail` with
/// `head.block == null` (discard swapped it out): null dereference at list.rs:616.
#[test]
fn panic_in_discard_then_channel_drop() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (s, r) = panama::unbounded();
    s.send(bomb(true, &drops)).unwrap();
    s.send(bomb(false, &drops)).unwrap();
    let res = catch_unwind(AssertUnwindSafe(move || drop(r)));
    assert!(
        res.is_err(),
        "the message's panic propagates out of Receiver::drop"
    );
    // Disconnected: the send fails and hands the message back.
    drop(s.send(bomb(false, &drops)).unwrap_err().into_inner());
    drop(s);
    // Each of the three messages dropped exactly once (Bomb counts before it panics).
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

/// Same, with the panic on a later slot and two sender clones.
#[test]
fn panic_in_discard_later_slot() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (s, r) = panama::unbounded();
    s.send(bomb(false, &drops)).unwrap();
    s.send(bomb(true, &drops)).unwrap();
    s.send(bomb(false, &drops)).unwrap();
    let s2 = s.clone();
    drop(s);
    let res = catch_unwind(AssertUnwindSafe(move || drop(r)));
    assert!(res.is_err());
    drop(s2);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

/// The same in a bounded channel: discard moves the head past each message before dropping
/// it, so `Drop` neither drops the panicking message again nor skips the rest.
#[test]
fn bounded_panic_in_discard_then_channel_drop() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (s, r) = panama::bounded(4);
    s.send(bomb(false, &drops)).unwrap();
    s.send(bomb(true, &drops)).unwrap();
    s.send(bomb(false, &drops)).unwrap();
    let res = catch_unwind(AssertUnwindSafe(move || drop(r)));
    assert!(res.is_err());
    drop(s);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}
