//! The one place that chooses between std and loom.
//!
//! Every atomic, `UnsafeCell`, `Arc`, thread operation, raw allocation and spin-wait in the
//! crate goes through this module, so that `RUSTFLAGS="--cfg loom"` swaps all of them for
//! loom's model-checked versions at once. Code elsewhere imports `crate::sync::...` and never
//! tests `cfg(loom)` itself.
//!
//! Under loom:
//! - `UnsafeCell` is loom's, which checks that no access races with another.
//! - `alloc`/`dealloc` are loom's tracked versions, so a leaked block fails the model.
//! - Time is a per-thread logical clock ([`now`]), because loom does not model time and a
//!   model that read the real clock would not run the same way twice. `park_timeout`
//!   yields (every other thread may run meanwhile) and then moves the thread's clock on by
//!   the time it was asked to sleep. So in a model a deadline that has not passed yet
//!   passes at the first timed park and at no earlier check, and one already passed (a
//!   zero timeout) at the first check.
//! - [`Backoff`] yields on every step, because loom requires spin loops to yield so that the
//!   thread they wait for gets scheduled. For the same reason the spin policy of blocking
//!   operations (`spin.rs`) checks [`IS_LOOM`]: one yielding step, then the parking path,
//!   and no clock readings.

#[cfg(not(loom))]
mod imp {
    #[cfg(target_has_atomic = "64")]
    pub(crate) use std::sync::atomic::AtomicU64;
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    pub(crate) use std::sync::Arc;

    pub(crate) mod thread {
        #[allow(unused_imports)] // Part of the shim's contract; not every build uses it.
        pub(crate) use std::thread::{current, park, park_timeout, yield_now, Thread};
    }

    pub(crate) mod alloc {
        pub(crate) use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
    }

    /// The clock deadlines are read against.
    #[inline(always)]
    pub(crate) fn now() -> std::time::Instant {
        std::time::Instant::now()
    }

    /// `std::cell::UnsafeCell` with loom's closure-based access API, so both builds share
    /// one calling convention.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Gives `f` a shared raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Gives `f` a mutable raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Exponential spin-then-yield backoff for short waits (crossbeam's).
    pub(crate) use crossbeam_utils::Backoff;

    /// See the loom version: in std this is nothing, because the accesses it sits between
    /// are SeqCst, and C++20 (so Rust) puts SeqCst accesses and fences in one total order.
    #[inline(always)]
    pub(crate) fn seqcst_accesses_ordered() {}
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    #[cfg(target_has_atomic = "64")]
    pub(crate) use loom::sync::atomic::AtomicU64;
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    pub(crate) use loom::sync::Arc;

    pub(crate) mod thread {
        #[allow(unused_imports)] // As in the std shim.
        pub(crate) use loom::thread::{current, park, yield_now, Thread};

        /// Loom has no clock: a timed park is a yield, after which this thread's clock
        /// ([`now`](super::now)) has moved on by `dur`, so the deadline the caller parked
        /// for has passed when it looks again.
        pub(crate) fn park_timeout(dur: std::time::Duration) {
            loom::thread::yield_now();
            super::SLEPT.with(|slept| slept.set(slept.get() + dur));
        }
    }

    pub(crate) mod alloc {
        pub(crate) use loom::alloc::{alloc, dealloc};
        pub(crate) use std::alloc::{handle_alloc_error, Layout};
    }

    loom::thread_local! {
        /// How long this model thread has slept in `park_timeout`: loom's thread-locals
        /// start afresh in every execution, so a model runs the same way every time.
        static SLEPT: core::cell::Cell<std::time::Duration> =
            core::cell::Cell::new(std::time::Duration::ZERO);
    }

    /// The clock deadlines are read against: the real clock plus the time this thread has
    /// slept in `park_timeout`. The real clock moves on too, but within one execution by
    /// far less than the timeouts models use (an hour), so whether a deadline has passed
    /// depends only on whether the thread has parked for it.
    pub(crate) fn now() -> std::time::Instant {
        std::time::Instant::now() + SLEPT.with(core::cell::Cell::get)
    }

    /// Loom models SeqCst loads, stores and RMWs as acquire/release, so an argument that
    /// rests on the total order of SeqCst *accesses* (two SeqCst accesses to different
    /// locations, in one thread, ordered for every other thread) fails in a model though it
    /// holds in Rust. Code that relies on that order calls this between the two accesses:
    /// under loom it is a SeqCst fence, which loom models exactly and which gives the model
    /// the same ordering; in std it is nothing. Public (through `__loom`) so that the loom
    /// models' stand-in channel orders its claim with the same function.
    pub fn seqcst_accesses_ordered() {
        loom::sync::atomic::fence(loom::sync::atomic::Ordering::SeqCst);
    }

    /// Backoff for loom: every step yields to the scheduler, so that a spin loop lets the
    /// thread it waits for run, and the model stays finite.
    #[derive(Debug, Default)]
    pub(crate) struct Backoff(core::cell::Cell<u32>);

    impl Backoff {
        pub(crate) fn new() -> Self {
            Backoff(core::cell::Cell::new(0))
        }

        pub(crate) fn spin(&self) {
            self.snooze();
        }

        pub(crate) fn snooze(&self) {
            self.0.set(self.0.get() + 1);
            loom::thread::yield_now();
        }

        /// Never "completed": loom code paths must not rely on spinning running out.
        pub(crate) fn is_completed(&self) -> bool {
            false
        }
    }
}

/// Re-exported for the loom models (`panama::__loom`).
#[cfg(loom)]
pub use imp::seqcst_accesses_ordered;
pub(crate) use imp::*;

/// The integer the flavors count positions in: the list's head and tail indices and the
/// ring's head, tail and stamps. 64 bits wherever the target has 64-bit atomics, whatever
/// its pointer width, so that no position recurs within any realistic lifetime of a channel
/// (a thread preempted between loading a position and its CAS must not find the same value
/// again, a full wrap later). On a 64-bit target it is as wide as `usize`, and the fast
/// paths compile to the same instructions as with `usize` (docs/PERFORMANCE.md, the entry
/// on 64-bit indices). Targets without 64-bit atomics fall back to `usize`
/// (docs/DESIGN.md, "Known limitations").
#[cfg(target_has_atomic = "64")]
pub(crate) type Index = u64;
/// The atomic that holds an [`Index`].
#[cfg(target_has_atomic = "64")]
pub(crate) type AtomicIndex = AtomicU64;
/// See the 64-bit definition above: this target has no 64-bit atomics.
#[cfg(not(target_has_atomic = "64"))]
pub(crate) type Index = usize;
/// The atomic that holds an [`Index`].
#[cfg(not(target_has_atomic = "64"))]
pub(crate) type AtomicIndex = AtomicUsize;

// Every `usize` fits in an `Index`, which `index_from_usize` relies on.
const _: () = assert!(std::mem::size_of::<Index>() >= std::mem::size_of::<usize>());

/// `n` as an [`Index`]. Lossless: an `Index` is at least as wide as a `usize`.
#[inline(always)]
pub(crate) const fn index_from_usize(n: usize) -> Index {
    n as Index
}

/// An [`Index`] that the caller knows to be below some `usize` (a slot number, an offset
/// within a block), as a `usize`. Lossless under that condition, which debug builds check;
/// the callers' values come from masking or reducing a position by a `usize` bound.
#[inline(always)]
#[allow(clippy::useless_conversion, clippy::unnecessary_cast)] // Identities without `u64`.
pub(crate) fn index_to_usize(i: Index) -> usize {
    debug_assert!(usize::try_from(i).is_ok(), "index {i} does not fit a usize");
    i as usize
}

/// A count of positions as a `usize`, saturating. (A count of messages in a channel fits:
/// each has a slot in memory.)
#[inline(always)]
#[allow(clippy::useless_conversion)] // The identity without `u64`.
pub(crate) fn count_to_usize(n: Index) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Whether this machine has a single core (asked once, then cached). On one core a
/// spin-loop hint can never see another thread's progress.
pub(crate) fn single_core() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: not asked yet; 1: one core; 2: more.
    static CORES: AtomicU8 = AtomicU8::new(0);
    // ORDERING: Relaxed: a cache of a value every thread computes the same.
    match CORES.load(Ordering::Relaxed) {
        0 => {
            let one = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
            CORES.store(if one { 1 } else { 2 }, Ordering::Relaxed);
            one
        }
        n => n == 1,
    }
}

/// True in a loom build. Used only to shrink sizes (for example the list's block length)
/// so that small models cross the boundaries where the interesting races are.
pub(crate) const IS_LOOM: bool = cfg!(loom);
