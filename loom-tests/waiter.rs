//! Loom models of the waiter registry (src/waiter.rs): no lost wake-up, exactly one winner
//! per wait, timeouts that race with notifications, and the combiner hand-off.
//!
//! Each model uses the registry as the channels do: a shared count of "tokens" stands for
//! the channel's state, an attempt takes a token, and a notifier adds one and then calls
//! `notify_one` (or closes the channel and calls `notify_all`).

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use panama::__loom::{block_on, seqcst_accesses_ordered, Deadline, Look, Registry};

use crate::common::model;

struct Chan {
    tokens: AtomicUsize,
    closed: AtomicBool,
    registry: Registry,
}

impl Chan {
    fn new() -> Arc<Chan> {
        Arc::new(Chan {
            tokens: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            registry: Registry::new(),
        })
    }

    /// Takes a token if there is one: `Some(true)`; `Some(false)` once closed and empty.
    /// A quick look does not check the close, as the bounded flavor's quick receive does not
    /// read the tail that carries its mark: a waiter that parked on a quick look alone would
    /// sleep through the close.
    fn attempt(&self, look: Look) -> Option<bool> {
        let mut n = self.tokens.load(Ordering::Acquire);
        while n > 0 {
            match self
                .tokens
                .compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(true),
                Err(current) => n = current,
            }
        }
        if look == Look::Exact && self.closed.load(Ordering::Acquire) {
            // Re-check: a token added before the close must not be missed.
            if self.tokens.load(Ordering::Acquire) > 0 {
                return self.attempt(look);
            }
            return Some(false);
        }
        None
    }

    fn give(&self) {
        // As a flavor's claim: a SeqCst RMW, then the flavors' own call that gives it its
        // place in the SeqCst order under loom.
        self.tokens.fetch_add(1, Ordering::SeqCst);
        seqcst_accesses_ordered();
        self.registry.notify_one();
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.registry.notify_all();
    }

    fn take(&self) -> bool {
        block_on(&self.registry, Deadline::Never, |look| self.attempt(look)).unwrap()
    }
}

/// One waiter, one notifier: the waiter must wake (loom reports a deadlock otherwise).
#[test]
fn one_waiter_one_notification() {
    model(|| {
        let chan = Chan::new();
        let c = chan.clone();
        let t = thread::spawn(move || assert!(c.take()));
        chan.give();
        t.join().unwrap();
    });
}

/// Two waiters, two notifiers racing: both waiters wake, each with its own token. Exercises
/// a notifier finding the combiner busy and leaving its request to it.
#[test]
fn two_waiters_two_notifiers() {
    model(|| {
        let chan = Chan::new();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let c = chan.clone();
                thread::spawn(move || assert!(c.take()))
            })
            .collect();
        let c = chan.clone();
        let notifier = thread::spawn(move || c.give());
        chan.give();
        notifier.join().unwrap();
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(chan.tokens.load(Ordering::Relaxed), 0);
    });
}

/// Closing wakes every waiter.
#[test]
fn close_wakes_all() {
    model(|| {
        let chan = Chan::new();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let c = chan.clone();
                thread::spawn(move || assert!(!c.take()))
            })
            .collect();
        chan.close();
        for w in waiters {
            w.join().unwrap();
        }
    });
}

/// A waiter whose deadline passes while a notification is on its way: the token is taken
/// by it or left in the channel, never lost, and the registry frees every node (loom
/// reports leaked `Arc`s).
#[test]
fn timeout_races_notification() {
    model(|| {
        let chan = Chan::new();
        let c = chan.clone();
        let t = thread::spawn(move || {
            // Already expired: under loom time does not pass, so the race is between the
            // waiter's checks and the notifier, which is what we want to explore.
            let deadline = Deadline::At(std::time::Instant::now());
            block_on(&c.registry, deadline, |look| c.attempt(look)).is_some()
        });
        chan.give();
        let got = t.join().unwrap();
        let left = chan.tokens.load(Ordering::Relaxed);
        assert_eq!(usize::from(got) + left, 1);
    });
}
