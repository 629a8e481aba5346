//! How long a blocked operation spins before it parks, learned from how its waits end.
//!
//! Spinning wins when the other side is running on another core and will be done in less
//! time than a park and an unpark cost (a few microseconds each, on both threads). It loses
//! when the other side is not running: with more threads than cores a spinner burns the
//! time slice the thread it waits for needs. No constant is right for both, so each side of
//! each channel keeps a [`SpinPolicy`], a spin limit in steps, and adjusts it by how its
//! waits turned out:
//!
//! - a waiter that spun to the limit, parked, and was woken after less time than it had
//!   spun (or found its operation ready on the re-check right after registering) would
//!   have done better spinning a little longer: the limit grows by one step;
//! - a waiter that parked for much longer than it spun (more than [`LONG_WAIT`] times as
//!   long) spun for nothing: the limit shrinks by one step.
//!
//! The comparison is between two durations measured on this machine in this process, so
//! the policy calibrates itself: no threshold is an absolute time.
//!
//! A step is `2^step` spin-loop hints while `step < PAUSE_STEPS`, and a `yield_now` after
//! that (which lets another runnable thread have this core). On a machine with one core a
//! spin-loop hint can never see another thread's progress, so every step yields.
//!
//! Waits that end while spinning do not move the limit, except one that ends on the last
//! step, which grows it (it nearly parked). Updates are rare (about one per park), so the
//! policy's word, on the registry's cache line, is almost never written on a fast path.

use std::time::{Duration, Instant};

use crate::sync::{single_core, thread, AtomicUsize, Ordering, IS_LOOM};

/// Steps that spin (`2^step` hints each) before steps start yielding.
const PAUSE_STEPS: usize = 7;
/// The limit a new channel starts with: every spinning step and four yields.
const DEFAULT_LIMIT: usize = PAUSE_STEPS + 4;
/// The limit never goes below this (a little spinning costs little) ...
const MIN_LIMIT: usize = 2;
/// ... nor above this.
const MAX_LIMIT: usize = PAUSE_STEPS + 12;
/// A park longer than this many times the spin before it means the spin was wasted.
const LONG_WAIT: u32 = 16;

/// The learned spin limit of one side of one channel (see the module notes).
#[derive(Debug)]
pub(crate) struct SpinPolicy {
    limit: AtomicUsize,
}

impl SpinPolicy {
    pub(crate) fn new() -> SpinPolicy {
        SpinPolicy {
            limit: AtomicUsize::new(DEFAULT_LIMIT),
        }
    }

    /// Starts one wait's spin phase.
    pub(crate) fn start(&self) -> Spin<'_> {
        // ORDERING: Relaxed: the limit is a hint; any recent value will do.
        let limit = if IS_LOOM {
            // Loom explores every interleaving of a spin loop, so models spin one (yielding)
            // step and then take the parking path, the part of the protocol worth checking.
            1
        } else {
            self.limit.load(Ordering::Relaxed)
        };
        Spin {
            policy: self,
            step: 0,
            limit,
            started: None,
        }
    }

    fn adjust(&self, grow: bool) {
        if IS_LOOM {
            return;
        }
        let old = self.limit.load(Ordering::Relaxed);
        let new = if grow {
            (old + 1).min(MAX_LIMIT)
        } else {
            old.saturating_sub(1).max(MIN_LIMIT)
        };
        if new != old {
            // A plain store: two racing updates may lose one, which only delays learning.
            self.limit.store(new, Ordering::Relaxed);
        }
    }
}

/// One wait's spin phase; see [`SpinPolicy::start`].
#[derive(Debug)]
pub(crate) struct Spin<'a> {
    policy: &'a SpinPolicy,
    step: usize,
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
        if IS_LOOM {
            thread::yield_now();
        } else {
            if self.started.is_none() {
                self.started = Some(Instant::now());
            }
            if self.step < PAUSE_STEPS && !single_core() {
                for _ in 0..1u32 << self.step {
                    std::hint::spin_loop();
                }
            } else {
                thread::yield_now();
            }
        }
        self.step += 1;
        true
    }

    /// The wait ended without parking.
    pub(crate) fn done(&self) {
        if self.step > 0 && self.step == self.limit {
            self.policy.adjust(true);
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
                self.policy.adjust(true);
            } else if waited > spun.saturating_mul(LONG_WAIT) {
                self.policy.adjust(false);
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
