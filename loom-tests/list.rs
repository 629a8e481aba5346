//! Loom models of the unbounded flavor (src/flavors/list.rs), driven through the public API.
//!
//! Under loom a block holds 2 slots, so a few messages cross block boundaries: block
//! installation, head moves and block reclamation are all inside these models.

use crate::common::{model, model_with_bound, Counted};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use panama::{unbounded, RecvError, TryRecvError};

/// Two producers race to claim the slots around a block boundary (a block holds 2 slots
/// under loom, and slot 0 is already taken), so one of them installs the next block while
/// the other may find the tail on the sentinel. The consumer sees every message once, in
/// each producer's order.
#[test]
fn concurrent_producers_cross_blocks() {
    model(|| {
        let (s, r) = unbounded();
        s.send((2, 0)).unwrap();
        let s1 = s.clone();
        let p0 = thread::spawn(move || {
            s.send((0, 0)).unwrap();
            s.send((0, 1)).unwrap();
        });
        let p1 = thread::spawn(move || s1.send((1, 0)).unwrap());
        // One receive races with the producers; the rest drain after they finish.
        let first = r.recv().unwrap();
        p0.join().unwrap();
        p1.join().unwrap();
        let mut next = [0, 0, 0];
        for (p, i) in std::iter::once(first).chain(r.iter()) {
            assert_eq!(next[p], i, "producer {p} out of order");
            next[p] += 1;
        }
        assert_eq!(next, [2, 1, 1]);
    });
}

/// Two consumers race for one message: exactly one gets it.
#[test]
fn two_consumers_one_message() {
    model(|| {
        let (s, r) = unbounded();
        let r2 = r.clone();
        let t = thread::spawn(move || r2.try_recv());
        s.send(7).unwrap();
        let mine = r.try_recv();
        let theirs = t.join().unwrap();
        let got = [mine, theirs].iter().filter(|x| **x == Ok(7)).count();
        let later = r.try_recv();
        assert_eq!(got + usize::from(later == Ok(7)), 1);
        assert!(mine.is_ok() || mine == Err(TryRecvError::Empty));
    });
}

/// A receiver parks while the last sender drops: it wakes and reports disconnection.
#[test]
fn receiver_parks_while_last_sender_drops() {
    model(|| {
        let (s, r) = unbounded::<i32>();
        let t = thread::spawn(move || r.recv());
        drop(s);
        assert_eq!(t.join().unwrap(), Err(RecvError));
    });
}

/// A parked receiver is woken by a send (no lost wake-up).
#[test]
fn receiver_parks_then_send_wakes_it() {
    model(|| {
        let (s, r) = unbounded();
        let t = thread::spawn(move || r.recv());
        s.send(1).unwrap();
        assert_eq!(t.join().unwrap(), Ok(1));
    });
}

/// The receiver drops while a sender sends: each message is either handed back to the
/// sender or dropped by the channel, exactly once.
#[test]
fn receiver_drops_while_sending() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = unbounded();
        let d = drops.clone();
        let t = thread::spawn(move || {
            for _ in 0..3 {
                if let Err(err) = s.send(Counted(d.clone())) {
                    drop(err.into_inner());
                }
            }
        });
        drop(r);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

/// Two consumers finish a block concurrently: the one that reads the last slot reclaims
/// the block while the other may still be copying its message out. The block is then
/// deferred (and freed when the receivers are gone), or, if the other reader is done,
/// retired. The block is freed exactly once (loom's allocation tracking reports a leak or a
/// double free). Loom does not see a read of freed memory (its `dealloc` checks only leaks
/// and double frees), so an early free is caught only where the block is then reused and
/// written: `reclaimed_block_reused_after_every_read` and
/// `reuse_written_by_another_sender`.
#[test]
fn block_reclaimed_while_other_consumer_reads() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = unbounded();
        for _ in 0..3 {
            s.send(Counted(drops.clone())).unwrap();
        }
        let r2 = r.clone();
        let t = thread::spawn(move || drop(r2.recv().unwrap()));
        drop(r.recv().unwrap());
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2);
        drop((s, r));
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

/// The reuse of a reclaimed block must be ordered after every read of it, including reads
/// by a receiver other than the reclaimer. Two receivers take block 0's two messages (2
/// slots under loom); the one that gets the last slot reclaims the block and, if the other
/// has stored `READ`, makes it the spare. Main then sends on: claiming position 4 (block
/// 1's last slot) takes the spare as block 2, and position 6 writes into its slot 0, which
/// must happen after the other receiver's read of that cell (loom's cell tracking; it fails
/// if a reader stores `READ` before copying its message out, or if `all_read` always says
/// yes).
///
/// What it cannot catch: weakening the Acquire loads in `all_read` to Relaxed. Loom lets an
/// acquire fence synchronize with any store that a thread ordered before it has loaded,
/// where C++ requires the fencing thread's own load; so main's SeqCst fence in the first
/// send (`seqcst_accesses_ordered`, nothing outside loom) already orders the reuse after
/// the other receiver's read. The next model avoids that fence.
#[test]
fn reclaimed_block_reused_after_every_read() {
    model(|| {
        let (s, r) = unbounded();
        for i in 0..3 {
            s.send(i).unwrap();
        }
        let (r1, r2) = (r.clone(), r.clone());
        let a = thread::spawn(move || r1.recv().unwrap());
        let b = thread::spawn(move || r2.recv().unwrap());
        s.send(3).unwrap();
        s.send(4).unwrap();
        let mut got = [a.join().unwrap(), b.join().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        drop(s);
        assert_eq!(r.iter().collect::<Vec<_>>(), [2, 3, 4]);
    });
}

/// A block retired by the receiver is reused by the sender (the channel's spare). Block 0
/// is full and block 1 installed; then a receiver reads block 0 out (its last read retires
/// the block to the spare) while a sender fills block 1 (claiming its last slot takes the
/// spare, or allocates if the spare is not there yet) and writes into the new block. The
/// reuse must be ordered after the
/// receiver's last read of the block (loom's cell tracking), every message arrives once in
/// order, and no block leaks or is freed twice (loom's allocation tracking).
#[test]
fn retired_block_reused_by_sender() {
    model(|| {
        let (s, r) = unbounded();
        s.send(0).unwrap();
        s.send(1).unwrap();
        let r2 = r.clone();
        let reader = thread::spawn(move || {
            assert_eq!(r2.try_recv(), Ok(0));
            assert_eq!(r2.try_recv(), Ok(1));
        });
        s.send(2).unwrap();
        s.send(3).unwrap();
        s.send(4).unwrap(); // into the new block: the reused one, if the spare was taken
        reader.join().unwrap();
        drop(s);
        assert_eq!(r.iter().collect::<Vec<_>>(), [2, 3, 4]);
    });
}

/// As above, but the thread that takes the spare and the thread that writes into the reused
/// block differ, and the writer runs no fence between synchronizing with the taker (through
/// the tail index) and writing. So the write is ordered after the other receiver's read of
/// the cell only through `all_read`'s Acquire loads: with Relaxed loads there it fails
/// (checked by mutation; Miri's seeded run of `small_concurrency` catches that too).
/// Thread `a` and main receive (one of them reclaims block 0), then main sends position 4,
/// taking the spare as block 2, while sender `w` may claim position 6 and write slot 0 of
/// the reused block.
#[test]
fn reuse_written_by_another_sender() {
    model(|| {
        let (s, r) = unbounded();
        for i in 0..3 {
            s.send(i).unwrap(); // positions 0, 1 (block 0) and 3 (block 1)
        }
        let (r1, s1) = (r.clone(), s.clone());
        let a = thread::spawn(move || r1.recv().unwrap());
        let w = thread::spawn(move || s1.send(10).unwrap());
        let mine = r.recv().unwrap();
        s.send(11).unwrap();
        let theirs = a.join().unwrap();
        w.join().unwrap();
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        drop(s);
        assert_eq!(r.iter().count(), 3);
    });
}

/// A receiver whose deadline passes just as a send selects it, while a second receiver
/// waits too. Receiver `a` waits with an hour's timeout (under loom it passes at its first
/// timed park: `sync::now`), `b` without one; main sends one message. If the send's
/// notification selects `a` as its deadline passes, `a` must still make its last attempt
/// and take the message: the notification was spent on it, so `b` would sleep through a
/// message left in the channel. Main sends a second message only if `a` got the first.
/// Asserts each receiver's result and no hang (loom reports `b` stranded as a deadlock).
///
/// Bound 2, about 27 s (at 3, over 4 minutes). A waiter that returns at its deadline
/// without a last attempt when it was selected fails here at 2, not at 1.
#[test]
fn recv_timeout_while_notified() {
    model_with_bound(2, || {
        let (s, r) = unbounded();
        let r2 = r.clone();
        let a = thread::spawn(move || r.recv_timeout(std::time::Duration::from_secs(3600)).ok());
        let b = thread::spawn(move || r2.recv().unwrap());
        s.send(1).unwrap();
        // Main never waits on the channel (an unbounded send does not), so it may join.
        let first = a.join().unwrap();
        if first.is_some() {
            s.send(2).unwrap();
        }
        let second = b.join().unwrap();
        match first {
            Some(got) => assert_eq!((got, second), (1, 2)),
            None => assert_eq!(second, 1),
        }
    });
}
