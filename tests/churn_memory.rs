//! Channel churn, measured by a counting global allocator: a channel of every flavor is
//! created and dropped over and over (a million times in release builds), with a message
//! in it half the time and the two sides dropped in either order; afterwards the heap must
//! be back where it started, and every message dropped exactly once.
//!
//! The allocator counter is process-global, so this file holds a single test function; the
//! flavors run one after another.
#![cfg(not(loom))]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::thread;

use panama::{bounded, unbounded, Receiver, Sender, TrySendError};

use common::scaled;

/// Wraps the system allocator and tracks the number of live heap bytes.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is upheld by `System`; the counter updates have no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded verbatim; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::SeqCst);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded verbatim; the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: forwarded verbatim; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded verbatim; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::SeqCst);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

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

#[test]
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
