//! Channel churn, measured by a counting global allocator: a channel of every flavor is
//! created and dropped over and over (a million times in release builds), with a message
//! in it half the time and the two sides dropped in either order; afterwards the heap must
//! be back where it started, and every message dropped exactly once.
//!
//! The allocator counter is process-global, so this file is a plain program
//! (`harness = false` in Cargo.toml: no libtest threads allocating alongside), and the
//! flavors run one after another.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use panama::{bounded, unbounded, Receiver, Sender, TrySendError};

use common::scaled;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{live, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Messages dropped so far.
static DROPS: AtomicUsize = AtomicUsize::new(0);

/// A heap-allocated message (a leaked one shows in the byte count) that counts its drops.
struct Msg(#[allow(dead_code)] Box<u64>);

impl Drop for Msg {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy, Debug)]
enum Flavor {
    Unbounded,
    Bounded(usize),
}

impl Flavor {
    fn make<T>(self) -> (Sender<T>, Receiver<T>) {
        match self {
            Flavor::Unbounded => unbounded(),
            Flavor::Bounded(cap) => bounded(cap),
        }
    }
}

/// Creates and drops `n` channels of `flavor`; returns how many messages it created.
fn churn(flavor: Flavor, n: usize) -> usize {
    let mut created = 0;
    for i in 0..n {
        let (s, r) = flavor.make::<Msg>();
        if i % 2 == 0 {
            created += 1;
            match s.try_send(Msg(Box::new(i as u64))) {
                Ok(()) => {}
                // A rendezvous holds no message: it is handed back (and dropped here).
                Err(TrySendError::Full(m)) if matches!(flavor, Flavor::Bounded(0)) => drop(m),
                Err(_) => panic!("{flavor:?}: try_send into a fresh channel failed"),
            }
        }
        if i % 8 == 3 {
            // Extra handles, dropped with the rest.
            let (s2, r2) = (s.clone(), r.clone());
            drop((r2, s2));
        }
        // Either side last: the last receiver discards, or the channel's own drop frees.
        if i % 4 < 2 {
            drop(s);
            drop(r);
        } else {
            drop(r);
            drop(s);
        }
    }
    created
}

fn main() {
    // Under loom the channel's atomics are loom's, usable only inside a model.
    if !cfg!(loom) {
        channel_churn_returns_all_memory();
        println!("test channel_churn_returns_all_memory ... ok");
    }
}

fn channel_churn_returns_all_memory() {
    let n = scaled(200, 100_000, 1_000_000);

    // Warm up anything std initializes lazily (thread-locals, the first thread spawn), so
    // it is not mistaken for channel memory below.
    thread::spawn(|| ()).join().unwrap();
    let mut warm = churn(Flavor::Unbounded, 2);
    warm += churn(Flavor::Bounded(1), 2);
    assert_eq!(DROPS.load(Ordering::SeqCst), warm);

    let flavors = [
        Flavor::Unbounded,
        Flavor::Bounded(1),
        Flavor::Bounded(16),
        Flavor::Bounded(0),
    ];
    for flavor in flavors {
        // The allocator sees the channel: a live channel (holding a message) owns bytes.
        let before = live();
        let (s, r) = flavor.make::<Msg>();
        let _ = s.try_send(Msg(Box::new(0)));
        assert!(
            live() > before,
            "{flavor:?}: a live channel holds no heap bytes: allocator not counting?"
        );
        drop((s, r));
        let drops_before = DROPS.load(Ordering::SeqCst);
        let start = live();
        assert!(
            start <= before,
            "{flavor:?}: one channel leaked {} bytes",
            start - before
        );

        let created = churn(flavor, n);

        let leaked = live() - start;
        let dropped = DROPS.load(Ordering::SeqCst) - drops_before;
        eprintln!("{flavor:?}: {n} channels, {created} messages, {leaked} bytes left");
        assert_eq!(dropped, created, "{flavor:?}: messages dropped");
        assert!(
            leaked <= 0,
            "{flavor:?}: {n} channels created and dropped left {leaked} bytes allocated"
        );
    }
}
