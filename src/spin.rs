//! How long a blocked operation spins before it parks, learned from how its waits end.
//!
//! A wait has three tools, in this order:
//! - *pause* steps: `2^k` spin-loop hints at step `k` of the pause phase (at most
//!   [`PAUSE_STEPS`] steps, learned as below). Cheapest, and the fastest to notice the
//!   other side's change, but only useful if the other side is running on another core
//!   right now;
//! - *yield* steps: `yield_now`, which lets another runnable thread have this core;
//! - parking, which costs a futex sleep here and a wake-up call on the other side (a few
//!   microseconds on each thread), and the scheduler's latency before we run again.
//!
//! Spinning wins when the other side will be done sooner than a park and an unpark cost; it
//! loses when the other side is not running (more threads than cores), or waits are long.
//! No constant is right for both, so each side of each channel keeps a [`SpinPolicy`], a
//! limit in steps, and adjusts it by how its waits turned out:
//!
//! - a waiter that spun to the limit, parked, and was woken after less time than it had
//!   spun (or found its operation ready on the re-check right after registering) would
//!   have done better spinning a little longer: the limit grows by one step;
//! - a waiter that parked for much longer than it spun (more than [`LONG_WAIT`] times as
//!   long) spun for nothing: the limit shrinks by one step, but never below where it
//!   started (every pause step and four yields);
//! - a wait that ends on its very last step also grows it (it nearly parked).
//!
//! The floor is there because a park's measured length includes the parked thread's own
//! wake-up latency, which on a loaded machine is long whatever the spin was: with another
//! process holding one of the two cores, parks looked wasted, the limit sank toward 2
//! steps and waits became futex sleeps: mpsc bounded(1) took a median 3.6 us per message
//! against 2.2 us with the floor (docs/PERFORMANCE.md, entry 20). Four yields before
//! parking is what a fixed exponential backoff (crossbeam's) does anyway.
//!
//! The comparison is between two durations measured on this machine in this process, so
//! the policy calibrates itself: no threshold is an absolute time. On a machine with one
//! core a pause can never see another thread's progress, so there every step yields.
//!
//! The pause phase is learned too, within `MIN_PAUSE_STEPS..=PAUSE_STEPS`, because
//! whether pausing can help depends on where the awaited thread runs:
//!
//! - a wait whose operation was ready right after its *first yield*, having seen nothing
//!   in all its pause steps, was waiting for a thread queued on this very core: the pause
//!   phase only delayed it. One pause step fewer;
//! - a wait that succeeded on its *last pause step* nearly needed a yield: the awaited
//!   thread runs on another core, and a longer pause phase pays. One step more. This
//!   includes a sender that registered after its pause phase and found, before yielding,
//!   its send completed or the channel no longer full: the other side moved meanwhile.
//!
//! Waits that end earlier in the pause phase, later among the yields, by parking, or by a
//! deadline say nothing about the pause phase and leave it alone.
//!
//! With 4 producers and 1 consumer on 2 cores the scheduler often runs a producer and the
//! consumer on one core, yielding to each other while the other core idles (seen with
//! `perf sched`); there the full 127-hint pause phase before each yield cost bounded(0) and
//! bounded(1) 1,260-1,340 ns per message, and the learned one 520-600 (docs/PERFORMANCE.md,
//! entry 17). The pause phase's floor matters: an earlier rule, one step fewer whenever a
//! wait needed any yield, drove the phase to 0 with 8 threads on 2 cores and made mpmc
//! bounded(1) five times slower (entry 7).
//!
//! The words are written only when their value changes, so a steady workload stops writing
//! them; they share the registry's cache line, which notifiers read on every operation.

use std::time::{Duration, Instant};

use crate::sync::{single_core, thread, AtomicUsize, Ordering, IS_LOOM};

/// Pause steps before the yield steps at most (the last one is `2^(PAUSE_STEPS - 1)`
/// hints), and at the start.
const PAUSE_STEPS: usize = 7;
/// The pause phase never gets shorter than this (1 + 2 + 4 hints).
const MIN_PAUSE_STEPS: usize = 3;
/// The limit a new channel starts with: every pause step and four yields.
const DEFAULT_LIMIT: usize = PAUSE_STEPS + 4;
/// The limit never goes below this (module notes) ...
const MIN_LIMIT: usize = DEFAULT_LIMIT;
/// ... nor above this.
const MAX_LIMIT: usize = PAUSE_STEPS + 32;
/// A park longer than this many times the spin before it means the spin was wasted.
const LONG_WAIT: u32 = 16;

/// The learned spin limit and pause phase of one side of one channel (module notes).
#[derive(Debug)]
pub(crate) struct SpinPolicy {
    /// Steps (pause and yield) before parking.
    limit: AtomicUsize,
    /// How many of the first steps pause rather than yield; 0 on a single core.
    pause: AtomicUsize,
}

impl SpinPolicy {
    pub(crate) fn new() -> SpinPolicy {
        SpinPolicy {
            limit: AtomicUsize::new(DEFAULT_LIMIT),
            pause: AtomicUsize::new(if single_core() { 0 } else { PAUSE_STEPS }),
        }
    }

    /// Starts one wait's spin phase.
    pub(crate) fn start(&self) -> Spin<'_> {
        let (pause, limit) = if IS_LOOM {
            // Loom explores every interleaving of a spin loop, so models take one yielding
            // step and then the parking path, the part of the protocol worth checking.
            (0, 1)
        } else {
            // ORDERING: Relaxed: both are hints; any recent value will do.
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

    /// Moves the limit one step up or down within `MIN_LIMIT..=MAX_LIMIT`.
    fn adjust(&self, grow: bool) {
        nudge(&self.limit, grow, MIN_LIMIT, MAX_LIMIT);
    }

    /// Moves the pause phase one step up or down within `MIN_PAUSE_STEPS..=PAUSE_STEPS`.
    fn adjust_pause(&self, grow: bool) {
        nudge(&self.pause, grow, MIN_PAUSE_STEPS, PAUSE_STEPS);
    }
}

/// Moves `word` one up or down within `min..=max`, writing only on a change.
fn nudge(word: &AtomicUsize, grow: bool, min: usize, max: usize) {
    if IS_LOOM {
        return;
    }
    let old = word.load(Ordering::Relaxed);
    let new = if grow {
        (old + 1).min(max)
    } else {
        old.saturating_sub(1).max(min)
    };
    if new != old {
        // A plain store: two racing updates may lose one, which only delays learning.
        word.store(new, Ordering::Relaxed);
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

    /// Like [`snooze`](Spin::snooze), but only while in the pause steps: returns `false`
    /// once the next step would yield (or park).
    pub(crate) fn pause(&mut self) -> bool {
        self.step < self.pause && self.snooze()
    }

    /// The wait ended without parking.
    pub(crate) fn done(&self) {
        if self.step > 0 && self.step == self.limit {
            self.policy.adjust(true);
        }
        // The pause phase (module notes). `pause` is 0 on a single core: nothing to learn.
        if self.pause > 0 {
            if self.step == self.pause {
                self.policy.adjust_pause(true);
            } else if self.step == self.pause + 1 {
                self.policy.adjust_pause(false);
            }
        }
    }

    /// The wait ended without parking ([`done`](Spin::done)) but the operation goes on:
    /// learns, and starts a new spin phase for the next attempt.
    pub(crate) fn restart(&mut self) {
        self.done();
        self.renew();
    }

    /// Starts a new spin phase without learning from this one (it ended for a reason that
    /// says nothing about spinning, such as a deadline).
    pub(crate) fn renew(&mut self) {
        *self = self.policy.start();
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// One wait that succeeds after `steps` steps, without parking.
    fn wait(policy: &SpinPolicy, steps: usize) {
        let mut spin = policy.start();
        for _ in 0..steps {
            assert!(spin.snooze(), "the limit stopped a wait of {steps} steps");
        }
        spin.done();
    }

    fn pause(policy: &SpinPolicy) -> usize {
        policy.pause.load(Ordering::Relaxed)
    }

    #[test]
    fn limit_stays_between_its_start_and_the_ceiling() {
        let policy = SpinPolicy::new();
        let limit = || policy.limit.load(Ordering::Relaxed);
        assert_eq!(limit(), DEFAULT_LIMIT);
        for _ in 0..2 * MAX_LIMIT {
            policy.adjust(false);
        }
        assert_eq!(limit(), DEFAULT_LIMIT, "the limit shrank below its start");
        for _ in 0..2 * MAX_LIMIT {
            policy.adjust(true);
        }
        assert_eq!(limit(), MAX_LIMIT);
        policy.adjust(false);
        assert_eq!(limit(), MAX_LIMIT - 1);
    }

    #[test]
    fn pause_phase_follows_where_waits_end() {
        let policy = SpinPolicy::new();
        if single_core() {
            // Nothing to learn: every step yields.
            assert_eq!(pause(&policy), 0);
            wait(&policy, 1);
            assert_eq!(pause(&policy), 0);
            return;
        }
        assert_eq!(pause(&policy), PAUSE_STEPS);
        // Ready right after the first yield: one step fewer each time, down to the floor.
        for expected in (MIN_PAUSE_STEPS..PAUSE_STEPS).rev() {
            wait(&policy, pause(&policy) + 1);
            assert_eq!(pause(&policy), expected);
        }
        wait(&policy, MIN_PAUSE_STEPS + 1);
        assert_eq!(pause(&policy), MIN_PAUSE_STEPS);
        // Ready earlier in the pause phase, or only after a second yield: no change.
        wait(&policy, 1);
        wait(&policy, MIN_PAUSE_STEPS + 2);
        assert_eq!(pause(&policy), MIN_PAUSE_STEPS);
        // Ready on the last pause step: one step more each time, up to the ceiling.
        for expected in MIN_PAUSE_STEPS + 1..=PAUSE_STEPS {
            wait(&policy, pause(&policy));
            assert_eq!(pause(&policy), expected);
        }
        wait(&policy, PAUSE_STEPS);
        assert_eq!(pause(&policy), PAUSE_STEPS);

        // A spin phase ended by `renew` (a deadline) teaches nothing; `restart` does.
        let mut spin = policy.start();
        for _ in 0..=PAUSE_STEPS {
            assert!(spin.snooze());
        }
        spin.renew();
        assert_eq!(pause(&policy), PAUSE_STEPS);
        for _ in 0..=PAUSE_STEPS {
            assert!(spin.snooze());
        }
        spin.restart();
        assert_eq!(pause(&policy), PAUSE_STEPS - 1);
    }
}
