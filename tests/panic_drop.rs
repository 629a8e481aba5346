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

/// Two panicking messages: the first panics in the last receiver's discard, the second in
/// `Channel::drop` when the last sender goes. Both panics reach the caller, and every other
/// message is still dropped exactly once: `Drop` resumes after a panicking message instead
/// of leaking the rest. Unbounded (across a block boundary) and bounded (across the wrap).
#[test]
fn second_panic_in_channel_drop_leaks_nothing() {
    type Chan = (panama::Sender<Bomb>, panama::Receiver<Bomb>);
    type Maker = (&'static str, fn() -> Chan);
    let makers: [Maker; 2] = [
        ("unbounded", panama::unbounded),
        ("bounded", || panama::bounded(40)),
    ];
    for (name, make) in makers {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = make();
        // Move the bounded channel's head off slot 0 so the queue wraps around.
        for _ in 0..20 {
            s.send(bomb(false, &drops)).unwrap();
            drop(r.recv().unwrap());
        }
        let before = drops.load(Ordering::SeqCst);
        let n = 35; // more than one unbounded block, and wraps the bounded ring
        for i in 0..n {
            s.send(bomb(i == 0 || i == 2, &drops)).unwrap();
        }
        assert!(
            catch_unwind(AssertUnwindSafe(move || drop(r))).is_err(),
            "{name}"
        );
        assert_eq!(drops.load(Ordering::SeqCst), before + 1, "{name}");
        assert!(
            catch_unwind(AssertUnwindSafe(move || drop(s))).is_err(),
            "{name}"
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            before + n,
            "{name}: leaked or doubled"
        );
    }
}
