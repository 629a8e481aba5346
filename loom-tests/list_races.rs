//! Review models for races the existing loom models do not reach: the first-block
//! installation racing the last receiver's drop, and block reclamation where `destroy`
//! marks a slot `DESTROY` before its sender has written it.
#![cfg(loom)]

mod common;

use common::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use panama::unbounded;

/// Counts its own drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

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

/// Two senders and two receivers on one block (2 slots under loom): a receiver may claim a
/// slot before its sender writes it while the other receiver reads the last slot and starts
/// destruction, so `DESTROY` can be set before `WRITE`.
#[test]
fn destroy_marks_unwritten_slot() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = unbounded();
        let s2 = s.clone();
        let r2 = r.clone();
        let d1 = drops.clone();
        let d2 = drops.clone();
        let a = thread::spawn(move || s.send(Counted(d1)).unwrap());
        let b = thread::spawn(move || s2.send(Counted(d2)).unwrap());
        let c = thread::spawn(move || drop(r2.recv().unwrap()));
        drop(r.recv().unwrap());
        a.join().unwrap();
        b.join().unwrap();
        c.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}
