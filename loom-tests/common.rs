//! Shared by the loom models: the model runner with CI's default preemption bound, and the
//! exactly-once bookkeeping of models whose threads stay unjoined.
//!
//! # Late unparks
//!
//! A notifier may unpark a waiter's thread after that thread has stopped waiting: the waiter
//! found its operation ready on its re-check while the notifier was selecting it. With std
//! that is a stray wake-up, which `park` allows for. Loom 0.7.3 mishandles one case: an
//! `unpark` that reaches a thread blocked in `JoinHandle::join` wakes it from the join, and
//! loom then fails its own assertion `state.notified` (rt/notify.rs:122). Three loom threads
//! and no panama code reproduce it: one unparks main while main joins another. So in a
//! model where a thread both waits on a channel and later joins, that assertion is not a
//! bug in the model's subject. Such models leave threads unjoined instead: loom runs every
//! spawned thread to its end anyway, fails the model if one panics, and reports a deadlock
//! if one never finishes (checked with a throwaway model).

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use panama::{SendError, Sender};

/// Runs `f` under loom. `LOOM_MAX_PREEMPTIONS` wins if set; otherwise the bound is 3, so
/// that the plain `RUSTFLAGS="--cfg loom" cargo test` finishes in bounded time.
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// Like [`model`], for a model whose spin-waits make bound 3 exceed loom's branch limit:
/// uses `bound` unless `LOOM_MAX_PREEMPTIONS` is set lower.
pub fn model_with_bound<F: Fn() + Sync + Send + 'static>(bound: usize, f: F) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.map_or(bound, |b| b.min(bound)));
    builder.check(f);
}

/// A message that counts its own drops, to check "dropped exactly once".
pub struct Counted(pub Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Exactly-once bookkeeping for models whose threads stay unjoined ("Late unparks"
/// above): each message is a bit; a sender records it once its send returned `Ok`, a
/// receiver once it received it, and the last of `parties` threads to finish checks that the
/// two sets are equal. A message received twice fails at once.
pub struct Ledger {
    sent: AtomicUsize,
    received: AtomicUsize,
    finished: AtomicUsize,
    parties: usize,
}

impl Ledger {
    pub fn new(parties: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            sent: AtomicUsize::new(0),
            received: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            parties,
        })
    }

    pub fn sent(&self, msg: usize) {
        self.sent.fetch_or(1 << msg, Ordering::SeqCst);
    }

    pub fn received(&self, msg: usize) {
        let before = self.received.fetch_or(1 << msg, Ordering::SeqCst);
        assert_eq!(before & 1 << msg, 0, "message {msg} received twice");
    }

    /// Sends messages `1..=last` in order, recording each that went through, until the
    /// receivers are gone (the failed send must hand its message back).
    pub fn send_until_gone(&self, s: &Sender<usize>, last: usize) {
        for msg in 1..=last {
            match s.send(msg) {
                Ok(()) => self.sent(msg),
                Err(SendError(m)) => {
                    assert_eq!(m, msg);
                    break;
                }
            }
        }
    }

    /// Called once by each party when it is done with the channel.
    pub fn finish(&self) {
        if self.finished.fetch_add(1, Ordering::SeqCst) + 1 == self.parties {
            assert_eq!(
                self.sent.load(Ordering::SeqCst),
                self.received.load(Ordering::SeqCst),
                "the messages whose send succeeded are not the ones received"
            );
        }
    }
}

/// Spawns a party of `ledger`: runs `f` with it on a new (unjoined) thread, then finishes.
pub fn party(ledger: &Arc<Ledger>, f: impl FnOnce(&Ledger) + Send + 'static) {
    let ledger = ledger.clone();
    thread::spawn(move || {
        f(&ledger);
        ledger.finish();
    });
}
