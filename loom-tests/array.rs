//! Loom models of the bounded flavor (src/flavors/array.rs), driven through the public API.

use crate::common::{model, Counted};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use panama::{bounded, SendError, TrySendError};

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
