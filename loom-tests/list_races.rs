//! Loom models of list races the main list models do not reach: the first-block
//! installation racing the last receiver's drop, and block reclamation where `destroy`
//! marks a slot `DESTROY` before its sender has written it.
#![cfg(loom)]

mod common;

use common::{model, model_with_bound, Counted};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use panama::unbounded;

/// Two first sends race each other (both may try to install the first block) and the last
/// receiver's drop (`discard_all_messages` swaps the head block). Every message is dropped
/// exactly once, and loom's allocation tracking catches a leaked or double-freed block.
#[test]
fn first_block_install_races_discard() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = unbounded();
        let s2 = s.clone();
        let d1 = drops.clone();
        let d2 = drops.clone();
        let a = thread::spawn(move || drop(s.send(Counted(d1))));
        let b = thread::spawn(move || drop(s2.send(Counted(d2))));
        drop(r);
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

/// A block (2 slots under loom) where the reader of the last slot may start destruction
/// while the other slot is claimed by a receiver but not yet written by its sender, so
/// `destroy` sets `DESTROY` before `WRITE` and the slot's reader finishes the walk.
/// Three threads: sender `a`, receiver `c`, and main (sends, then receives).
#[test]
fn destroy_marks_unwritten_slot() {
    // Bound 2: at 3 the senders' spin-waits exceed loom's branch limit.
    model_with_bound(2, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = unbounded();
        let s2 = s.clone();
        let r2 = r.clone();
        let d1 = drops.clone();
        let a = thread::spawn(move || s2.send(Counted(d1)).unwrap());
        let c = thread::spawn(move || drop(r2.recv().unwrap()));
        s.send(Counted(drops.clone())).unwrap();
        drop(r.recv().unwrap());
        a.join().unwrap();
        c.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}
