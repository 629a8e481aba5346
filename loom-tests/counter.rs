//! Loom models of handle counting and disconnection (src/counter.rs): the last handle of a
//! side, and only it, disconnects the channel, even when several handles drop at once on
//! different threads, and everything done through the other handles happens before the
//! disconnection is seen.

use crate::common::{model, Counted};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use panama::{bounded, unbounded, RecvError, SendError};

/// One sender sends a message and drops on another thread while the main thread drops the
/// other sender and then receives. The receiver sees the message and then disconnection
/// (never disconnection first, never a hang): only the second drop disconnects, and the
/// count's Release/Acquire orders the message before the disconnection.
#[test]
fn last_of_two_senders_disconnects() {
    model(|| {
        let (s, r) = unbounded();
        let s2 = s.clone();
        // Not joined: main has waited on the channel ("Late unparks" in common.rs).
        thread::spawn(move || {
            s.send(1).unwrap();
        });
        drop(s2);
        assert_eq!(r.recv(), Ok(1));
        assert_eq!(r.recv(), Err(RecvError));
    });
}

/// Two receivers drop on two threads while a sender sends into a one-slot buffer. Each
/// message is either accepted (and then dropped by the channel exactly once, when the last
/// receiver discards the buffer or the channel is freed) or handed back by a failed send;
/// after both drops every send fails.
#[test]
fn last_of_two_receivers_disconnects() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = bounded(1);
        let r2 = r.clone();
        let a = thread::spawn(move || drop(r));
        let b = thread::spawn(move || drop(r2));
        let mut accepted = 0;
        for _ in 0..2 {
            match s.try_send(Counted(drops.clone())) {
                Ok(()) => accepted += 1,
                Err(err) => drop(err.into_inner()),
            }
        }
        a.join().unwrap();
        b.join().unwrap();
        let err = s.send(Counted(drops.clone())).unwrap_err();
        let SendError(msg) = err;
        drop(msg);
        assert!(accepted <= 1, "a one-slot buffer accepted {accepted}");
        drop(s);
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

/// A sender is cloned on one thread while the original drops on another: the clone keeps
/// the channel connected (no early disconnection), and dropping it disconnects.
#[test]
fn clone_racing_drop_keeps_channel_connected() {
    model(|| {
        let (s, r) = unbounded::<i32>();
        let (tx, rx) = unbounded();
        // Not joined: main waits on `rx` ("Late unparks" in common.rs). The cloner drops `s`
        // before it sends `s2`, so once main has `s2` the original is gone.
        thread::spawn(move || {
            let s2 = s.clone();
            drop(s);
            tx.send(s2).unwrap();
        });
        let s2 = rx.recv().unwrap();
        s2.send(7).unwrap();
        assert_eq!(r.recv(), Ok(7));
        drop(s2);
        assert_eq!(r.recv(), Err(RecvError));
    });
}
