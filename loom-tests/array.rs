//! Loom models of the bounded flavor (src/flavors/array.rs), driven through the public API.

use crate::common::{model, model_with_bound, Counted};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use panama::{bounded, RecvError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use std::time::Duration;

/// A sender parked on a full buffer is woken by a receive (no lost wake-up).
#[test]
fn full_buffer_sender_woken_by_receive() {
    model(|| {
        let (s, r) = bounded(1);
        s.send(1).unwrap();
        // Not joined: main has waited on the channel ("Late unparks" in common.rs).
        thread::spawn(move || s.send(2).unwrap());
        assert_eq!(r.recv(), Ok(1));
        assert_eq!(r.recv(), Ok(2));
    });
}

/// Two producers share a one-slot ring, so the second message to go through starts a new
/// lap of the same slot while the consumer drains it: the stamps keep laps apart, and every
/// message arrives exactly once.
#[test]
fn lap_wrap_around_two_producers() {
    model(|| {
        let (s, r) = bounded(1);
        let s2 = s.clone();
        // Not joined: main has waited on the channel, and loom mishandles a late unpark of
        // a joining thread ("Late unparks" in common.rs). Loom still runs both producers to
        // the end, and fails the model if one panics or never finishes.
        thread::spawn(move || s.send(0).unwrap());
        thread::spawn(move || s2.send(1).unwrap());
        let mut got = [r.recv().unwrap(), r.recv().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
    });
}

/// The last receiver drops while a sender is parked on a full buffer: the sender wakes with
/// its message back, and the buffered message is dropped exactly once.
#[test]
fn disconnect_while_sender_parked() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = bounded(1);
        s.send(Counted(drops.clone())).unwrap();
        let d = drops.clone();
        let t = thread::spawn(move || match s.send(Counted(d)) {
            Err(SendError(msg)) => drop(msg),
            Ok(()) => panic!("sent into a channel whose receiver is gone"),
        });
        drop(r);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

/// A consumer races a try_send on a full single-slot buffer: the send either fits (the
/// receive came first) or reports Full with the message, never loses it.
#[test]
fn try_send_races_receive() {
    model(|| {
        let (s, r) = bounded(1);
        s.send(1).unwrap();
        let t = thread::spawn(move || r.recv().unwrap() + r.try_recv().unwrap_or(0));
        let outcome = s.try_send(2);
        drop(s);
        let sum = t.join().unwrap();
        match outcome {
            Ok(()) => assert!(sum == 3 || sum == 1),
            Err(TrySendError::Full(2)) => assert_eq!(sum, 1),
            Err(other) => panic!("unexpected {other:?}"),
        }
    });
}

/// A sender parks twice on a full one-slot ring with its message offered; each receive
/// frees the slot and moves the parked message into it ("Completing a parked send"), or
/// wakes the sender to retry: every message arrives once, in order, and both sends return
/// `Ok`. (Two senders with a third thread exceed loom's branch limit at any bound, as they
/// did before completions existed: the spin-waits multiply.)
#[test]
fn parked_sender_completed_by_receives() {
    model(|| {
        let (s, r) = bounded(1);
        s.send(0).unwrap();
        // Not joined: main has waited on the channel ("Late unparks" in common.rs).
        thread::spawn(move || {
            s.send(1).unwrap();
            s.send(2).unwrap();
        });
        assert_eq!(r.recv(), Ok(0));
        assert_eq!(r.recv(), Ok(1));
        assert_eq!(r.recv(), Ok(2));
        // Empty, or disconnected once the sender's thread has ended.
        assert!(r.try_recv().is_err());
    });
}

/// A receive that completes a parked sender's send races the last receiver's drop: the
/// message is either moved into the channel (and dropped with it) or handed back to the
/// sender, never both, never neither.
#[test]
fn parked_send_completion_races_disconnect() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = bounded(1);
        s.send(Counted(drops.clone())).unwrap();
        let d = drops.clone();
        let t = thread::spawn(move || match s.send(Counted(d)) {
            Ok(()) => false,
            Err(SendError(msg)) => {
                drop(msg);
                true
            }
        });
        drop(r.recv().unwrap());
        drop(r);
        let returned = t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2, "returned: {returned}");
    });
}

/// A receive that sends a parked sender's message for it owes the other receivers a
/// wake-up: here the second receiver may already be parked on the empty ring when the first
/// one refills it from the parked sender, and must not sleep through that message.
#[test]
fn completion_wakes_parked_receiver() {
    model(|| {
        let (s, r) = bounded(1);
        s.send(0).unwrap();
        let r2 = r.clone();
        let a = thread::spawn(move || r.recv().unwrap());
        let b = thread::spawn(move || r2.recv().unwrap());
        s.send(1).unwrap();
        let mut got = [a.join().unwrap(), b.join().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
    });
}

/// A sender whose timeout passes while a receive holds its wait claimed (`BUSY`) to send
/// its message for it. A one-slot ring holds a message; the sender (an hour's timeout,
/// which under loom passes at its first timed park: `sync::now`) registers its packet and
/// parks; main's receive frees the slot and may claim the wait and move the message into
/// the ring while the sender's deadline passes. The sender's `abort` must wait for the
/// claim to settle: it returns `Ok` if its message went in, and `Timeout` with the
/// message only if nobody took it. Asserts that the send's result matches what the
/// channel holds, and that both messages are dropped exactly once. Fails if `abort` does
/// not wait out `BUSY`, or if a sender whose timed park ran out takes its wait as
/// withdrawn without `abort`: the sender takes back a message the receive also sent. (No
/// other ring model catches the second: none of their waits times out after registering.)
#[test]
fn send_timeout_while_receiver_completes_it() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = bounded(1);
        s.send(Counted(drops.clone())).unwrap();
        let d = drops.clone();
        let t = thread::spawn(move || {
            let outcome = s.send_timeout(Counted(d), Duration::from_secs(3600));
            match outcome {
                Ok(()) => true,
                Err(SendTimeoutError::Timeout(msg)) => {
                    drop(msg);
                    false
                }
                Err(SendTimeoutError::Disconnected(_)) => panic!("disconnected, receiver alive"),
            }
        });
        // Main never waits on the channel (its receive finds the message), so it may join.
        drop(r.recv().unwrap());
        let sent = t.join().unwrap();
        match r.try_recv() {
            Ok(msg) => {
                assert!(
                    sent,
                    "the message of a send that timed out is in the channel"
                );
                drop(msg);
            }
            Err(err) => {
                assert!(
                    !sent,
                    "a send returned Ok but its message is not in the channel"
                );
                assert_eq!(err, TryRecvError::Disconnected);
            }
        }
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

/// A `try_send` takes the slot a receive has just freed, while that receive is completing
/// a parked sender's send ("Completing a parked send"): the completion finds the ring full
/// again and fails, so the parked sender is woken to try again rather than told it is
/// done, parks again, and the receiver's second receive completes or wakes it. Thread
/// `parked` sends into a full one-slot ring; `receiver` receives twice; `tryer` tries
/// once. Asserts that the parked send returns `Ok`, the `try_send` returns `Ok` or
/// `Full` with its message, and every message arrives once (the prefilled one first).
/// Fails if a failed completion counts as done (the parked message is lost) or does not
/// wake the sender (deadlock).
///
/// Bound 1, which the path needs (the receive preempted between freeing the slot and its
/// completion's claim); about 1 s. At 2 the model exceeds loom's branch limit: the two
/// senders' exact looks both wait out a receive in flight, and loom keeps them yielding to
/// each other for ever while the receiver, preempted, never runs. (With the `try_send` on
/// main instead of a thread of its own, loom did not reach the failed completion at any
/// bound up to 5.)
#[test]
fn try_send_takes_slot_during_completion() {
    model_with_bound(1, || {
        let (s, r) = bounded(1);
        s.send(0).unwrap();
        let (s2, r2) = (s.clone(), r.clone());
        let parked = thread::spawn(move || s2.send(1).unwrap());
        let receiver = thread::spawn(move || [r2.recv().unwrap(), r2.recv().unwrap()]);
        let tryer = thread::spawn(move || s.try_send(2));
        // Main never waits on the channel, so it may join.
        parked.join().unwrap();
        let got = receiver.join().unwrap();
        let tried = tryer.join().unwrap();
        let rest = r.try_recv();
        assert_eq!(got[0], 0);
        match tried {
            Ok(()) => {
                let mut late = [got[1], rest.unwrap()];
                late.sort_unstable();
                assert_eq!(late, [1, 2]);
            }
            Err(TrySendError::Full(2)) => {
                assert_eq!(got[1], 1);
                assert_eq!(rest, Err(TryRecvError::Disconnected));
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    });
}

/// Two receivers free slots at once, and both notify the senders' registry with their
/// completion: one becomes the combiner, the other leaves its notification to it, and the
/// combiner's later pass serves it, completing the parked sender's next send on the other
/// receiver's behalf. A two-slot ring holds two messages; `sender` sends two more (it
/// parks for the first, and may park again for the second); `a` tries one receive and
/// `b` blocks on one. Asserts that both sends return `Ok` (no hang), that `a` and `b` get
/// the first two messages, and that the other two follow in order. Fails if a
/// notification that finds a combiner running is dropped, or if the combiner ignores
/// requests made during its pass (deadlock: the sender stays parked with a slot free), and
/// if two receivers can be combiners at once (loom: concurrent writes to `parked`).
///
/// Bound 2, about 11 s; the hand-off needs one preemption. At 3 the model exceeds loom's
/// branch limit: the sender waiting in `abort` for the claim on its wait to settle and the
/// other receiver's exact look waiting for the completion's write can yield to each other
/// for ever while the combiner, preempted, never runs.
#[test]
fn two_receivers_combine_for_parked_sender() {
    model_with_bound(2, || {
        let (s, r) = bounded(2);
        s.send(0).unwrap();
        s.send(1).unwrap();
        let (ra, rb) = (r.clone(), r.clone());
        let sender = thread::spawn(move || {
            s.send(2).unwrap();
            s.send(3).unwrap();
        });
        let a = thread::spawn(move || ra.try_recv().unwrap());
        let b = thread::spawn(move || rb.recv().unwrap());
        // Main never waits on the channel, so it may join.
        sender.join().unwrap();
        let mut first = [a.join().unwrap(), b.join().unwrap()];
        first.sort_unstable();
        assert_eq!(first, [0, 1]);
        assert_eq!([r.try_recv(), r.try_recv()], [Ok(2), Ok(3)]);
    });
}

/// The last sender leaves while a receiver waits on the empty ring: the receiver's quick
/// looks do not read the tail that carries the mark ("Quick looks"), so it must see the
/// mark at its exact re-check after registering, or be woken by the disconnection's
/// `notify_all`. Asserts that it reports disconnection (loom reports a deadlock if it
/// sleeps through).
#[test]
fn receiver_parks_while_last_sender_drops() {
    model(|| {
        let (s, r) = bounded::<i32>(1);
        let t = thread::spawn(move || r.recv());
        drop(s);
        // Main never waits on the channel, so it may join.
        assert_eq!(t.join().unwrap(), Err(RecvError));
    });
}
