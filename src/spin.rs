//! How long a blocked operation spins before it parks, and how: learned from how its waits
//! end.
//!
//! A wait has three tools, in this order:
//! - *pause* steps: `2^k` spin-loop hints at step `k`. Cheapest, and the fastest to notice
//!   the other side's change, but only useful if the other side is running on another core
//!   right now;
//! - *yield* steps: `yield_now`, which lets another runnable thread have this core. If the
//!   thread we wait for is waiting for a core (more runnable threads than cores), this is
//!   what lets it run;
//! - parking, which costs a futex sleep here and a wake-up call on the other side (a few
//!   microseconds on each thread), and the scheduler's latency before we run again.
//!
//! No fixed schedule is right everywhere: on an idle two-core machine a spsc pair should
//! pause and never yield; when the two threads share a core (oversubscription, or another
//! process on the other core) pausing only burns the time slice the other thread needs; with
//! long waits, anything but parking wastes CPU. So each side of each channel keeps a
//! [`SpinPolicy`] of two numbers and adjusts them by how its waits turned out:
//!
//! - `pause`, the number of pause steps (`0..=PAUSE_STEPS`). A wait that ended during the
//!   pause steps shows pausing works: one more (up to the maximum). A wait that needed a
//!   yield shows the pause steps were wasted: one fewer. Under oversubscription this goes to
//!   0 and waits yield at once; on an idle machine with short waits it stays at the maximum.
//! - `limit`, the total number of steps before parking. A waiter that parked compares how
//!   long it slept with how long it had spun, both timed on this machine: woken sooner
//!   than it had spun (or the re-check right after registering succeeded), spinning a bit
//!   longer would have saved the park: one more step. Slept more than [`LONG_WAIT`] times
//!   as long: the spin was wasted: one fewer. A wait that ends on its very last step also
//!   adds one (it nearly parked).
//!
//! Both comparisons are relative (this wait against this machine's own timings), so nothing
//! is a tuned absolute threshold. On a machine with one core a pause can never see another
//! thread's progress, so `pause` is 0 there from the start.
//!
//! The words are written only when a value changes, so a steady workload stops writing
//! them; they share the registry's cache line, which notifiers read on every operation.

use std::time::{Duration, Instant};

use crate::sync::{single_core, thread, AtomicUsize, Ordering, IS_LOOM};

/// The most pause steps (the last one is `2^(PAUSE_STEPS - 1)` hints).
const PAUSE_STEPS: usize = 7;
/// The limit a new channel starts with: every pause step and four yields.
const DEFAULT_LIMIT: usize = PAUSE_STEPS + 4;
/// The limit never goes below this (a little spinning costs little) ...
const MIN_LIMIT: usize = 2;
/// ... nor above this.
const MAX_LIMIT: usize = PAUSE_STEPS + 32;
/// A park longer than this many times the spin before it means the spin was wasted.
const LONG_WAIT: u32 = 16;

/// The learned spin schedule of one side of one channel (see the module notes).
#[derive(Debug)]
pub(crate) struct SpinPolicy {
    /// Pause steps before yield steps.
    pause: AtomicUsize,
    /// Steps (pause and yield) before parking.
    limit: AtomicUsize,
}

impl SpinPolicy {
    pub(crate) fn new() -> SpinPolicy {
        SpinPolicy {
            pause: AtomicUsize::new(PAUSE_STEPS),
            limit: AtomicUsize::new(DEFAULT_LIMIT),
        }
    }

    /// Starts one wait's spin phase.
    pub(crate) fn start(&self) -> Spin<'_> {
        let (pause, limit) = if IS_LOOM {
            // Loom explores every interleaving of a spin loop, so models take one yielding
            // step and then the parking path, the part of the protocol worth checking.
            (0, 1)
        } else if single_core() {
            // ORDERING: Relaxed: the schedule is a hint; any recent value will do.
            (0, self.limit.load(Ordering::Relaxed))
        } else {
            (
                self.pause.load(Ordering::Relaxed),
                self.limit.load(Ordering::Relaxed),
            )
        };
        Spin {
            policy: self,
            step: 0,
            pause,
            limit,
            started: None,
        }
    }

    /// Moves `word` one step up or down within `min..=max`, writing only on a change.
    fn nudge(word: &AtomicUsize, up: bool, min: usize, max: usize) {
        if IS_LOOM {
            return;
        }
        let old = word.load(Ordering::Relaxed);
        let new = if up {
            (old + 1).min(max)
        } else {
            old.saturating_sub(1).max(min)
        };
        if new != old {
            // A plain store: two racing updates may lose one, which only delays learning.
            word.store(new, Ordering::Relaxed);
        }
    }
}

/// One wait's spin phase; see [`SpinPolicy::start`].
#[derive(Debug)]
pub(crate) struct Spin<'a> {
    policy: &'a SpinPolicy,
    step: usize,
    pause: usize,
    limit: usize,
    /// When the first step began.
    started: Option<Instant>,
}

impl Spin<'_> {
    /// Spins (or yields) one step and returns `true`, or returns `false` once the limit is
    /// reached and the caller should park.
    pub(crate) fn snooze(&mut self) -> bool {
        if self.step >= self.limit {
            return false;
        }
        if !IS_LOOM && self.started.is_none() {
            self.started = Some(Instant::now());
        }
        if self.step < self.pause {
            for _ in 0..1u32 << self.step {
                std::hint::spin_loop();
            }
        } else {
            thread::yield_now();
        }
        self.step += 1;
        true
    }

    /// The wait ended without parking: learn whether pausing was enough.
    pub(crate) fn done(&self) {
        if self.step == 0 {
            return; // No wait at all.
        }
        let pausing_worked = self.step <= self.pause;
        // (`nudge` writes only on a change; this skips even its load in the common case of
        // pausing working at the maximum.)
        if !pausing_worked || self.pause < PAUSE_STEPS {
            SpinPolicy::nudge(&self.policy.pause, pausing_worked, 0, PAUSE_STEPS);
        }
        if self.step == self.limit {
            SpinPolicy::nudge(&self.policy.limit, true, MIN_LIMIT, MAX_LIMIT);
        }
    }

    /// The spin phase is over and the caller registers to park; call [`parked`] after.
    ///
    /// [`parked`]: Spin::parked
    pub(crate) fn park(&self) -> Parking {
        Parking {
            spun: self.started.map(|s| s.elapsed()),
            since: if IS_LOOM { None } else { Some(Instant::now()) },
        }
    }

    /// The park that [`park`](Spin::park) began is over (the thread slept, or found its
    /// operation ready on the re-check before it could). Learns from how long it took, and
    /// starts a new spin phase for the next attempt.
    pub(crate) fn parked(&mut self, parking: Parking) {
        if let (Some(spun), Some(since)) = (parking.spun, parking.since) {
            let waited = since.elapsed();
            if waited <= spun {
                SpinPolicy::nudge(&self.policy.limit, true, MIN_LIMIT, MAX_LIMIT);
            } else if waited > spun.saturating_mul(LONG_WAIT) {
                SpinPolicy::nudge(&self.policy.limit, false, MIN_LIMIT, MAX_LIMIT);
            }
        }
        *self = self.policy.start();
    }
}

/// A park in progress: how long the spin before it took, and when it began.
#[derive(Debug)]
pub(crate) struct Parking {
    spun: Option<Duration>,
    since: Option<Instant>,
}
