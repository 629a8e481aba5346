//! Peak heap with 1,000,000 `u64` messages in flight in an unbounded channel: panama against
//! crossbeam-channel, std, flume and kanal.
//!
//! ```text
//! cargo run --release --manifest-path benches/Cargo.toml --example memory
//! ```
//!
//! A counting global allocator tracks live and peak bytes. For each library: reset the
//! peak, create the channel, send all messages from this thread (nothing is received, so
//! all are in flight), note the peak, then drain and drop. One thread, so the figures are
//! exact and repeatable; they are bytes requested from the allocator, not RSS.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Messages in flight.
const MESSAGES: u64 = 1_000_000;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `fill` (which creates a channel, fills it, drains it) and returns its peak heap
/// above what was live before.
fn peak_of(fill: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    fill();
    PEAK.load(Ordering::Relaxed) - base
}

macro_rules! measure {
    ($make:expr) => {
        peak_of(|| {
            let (tx, rx) = $make;
            for i in 0..MESSAGES {
                tx.send(i).unwrap();
            }
            for i in 0..MESSAGES {
                assert_eq!(rx.recv().unwrap(), i);
            }
        })
    };
}

fn main() {
    let rows = [
        ("panama", measure!(panama::unbounded::<u64>())),
        ("crossbeam", measure!(crossbeam_channel::unbounded::<u64>())),
        ("std", measure!(std::sync::mpsc::channel::<u64>())),
        ("flume", measure!(flume::unbounded::<u64>())),
        ("kanal", measure!(kanal::unbounded::<u64>())),
    ];
    let crossbeam = rows[1].1 as f64;
    println!("peak heap with {MESSAGES} u64 messages in flight (unbounded)");
    println!(
        "{:<10} {:>14} {:>14}",
        "library", "peak bytes", "vs crossbeam"
    );
    for (name, peak) in rows {
        println!("{name:<10} {peak:>14} {:>13.3}x", peak as f64 / crossbeam);
    }
}
