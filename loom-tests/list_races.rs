//! Loom models of list races the main list models do not reach: the first-block
//! installation racing the last receiver's drop, block reclamation finding a slot whose
//! sender has not written it yet, and a deferred block retried by the next reclaimer, both
//! when it is ready and when it must go back on the stack.

use crate::common::{model, model_with_bound, Counted};
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

/// A block (2 slots under loom) whose last slot's reader may reclaim it while the other
/// slot is claimed by a receiver but not yet written by its sender, so the reclaimer finds
/// that slot unread and defers the block; `Drop` frees it. Three threads: sender `a`,
/// receiver `c`, and main (sends, then receives).
#[test]
fn reclaim_finds_unwritten_slot() {
    // Bound 2: at 3 the senders' spin-waits exceed loom's branch limit. Main may wait in
    // its `recv` and then joins; a late unpark reaching it there ("Late unparks" in
    // common.rs) needs three preemptions, beyond this bound.
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

/// A block deferred because another of its readers was still copying is retried by the
/// next reclaimer; the last receiver's drop frees what is left. Blocks 0 and 1 hold two
/// messages each (2 slots under loom); a second receiver takes one message while main
/// takes the other three, so block 0's reclaimer may find the second receiver busy, and
/// block 1's reclaimer then takes block 0 off the deferred stack and frees it. Loom's
/// allocation tracking catches a block leaked (the model fails if the retry drops the
/// blocks it took) or freed twice.
///
/// What it does not reach (counted by a reviewer at bounds 3 to 6): a retry that finds the
/// block still unread and pushes it back, because loom always runs the second receiver's
/// `READ` store before main's retry. `deferred_block_pushed_back` below reaches that.
#[test]
fn deferred_block_retried_by_next_reclaimer() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = unbounded();
        for _ in 0..4 {
            s.send(Counted(drops.clone())).unwrap();
        }
        let r2 = r.clone();
        let t = thread::spawn(move || drop(r2.recv().unwrap()));
        for _ in 0..3 {
            drop(r.recv().unwrap());
        }
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 4);
        drop((s, r));
    });
}

/// A deferred block that is still not fully read when the next reclaimer retries it goes
/// back on the stack, and the last receiver's drop frees it. Sender `a` may claim position 0
/// (block 0's first slot) and stall before writing; receiver `c` claims it and waits in
/// `wait_write`; receiver `m` reads position 1 (block 0's last slot, so it reclaims block 0
/// and defers it: `c` has not read), then positions 3 and 4 (block 1), and block 1's
/// reclamation retries block 0 while `c` may still wait, pushing it back. Main only sends
/// and joins: it never waits on the channel, so no late unpark reaches it in `join`
/// (common.rs). Loom's allocation tracking fails the model if the pushed-back block is
/// leaked or freed twice (checked by mutation: a retry that drops an unready block instead
/// of pushing it back fails with a leak, which `deferred_block_retried_by_next_reclaimer`
/// does not catch).
#[test]
fn deferred_block_pushed_back() {
    // Bound 1: one preemption (sender `a` between its claim and its write) is all the
    // push-back needs, and the mutation above fails at it. About 80 s on the 2-core VM;
    // bound 2 ran for over 10 minutes without finishing.
    model_with_bound(1, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = unbounded();
        let (sa, d) = (s.clone(), drops.clone());
        let a = thread::spawn(move || sa.send(Counted(d)).unwrap());
        for _ in 0..3 {
            s.send(Counted(drops.clone())).unwrap();
        }
        let rc = r.clone();
        let c = thread::spawn(move || drop(rc.recv().unwrap()));
        let rm = r.clone();
        let m = thread::spawn(move || {
            for _ in 0..3 {
                drop(rm.recv().unwrap());
            }
        });
        a.join().unwrap();
        c.join().unwrap();
        m.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 4);
        drop((s, r));
    });
}
