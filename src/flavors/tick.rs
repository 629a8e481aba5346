//! The periodic timer: [`tick`](crate::tick).
//!
//! Nothing is ever sent: the state is the instant of the next delivery, `next`, kept as a
//! count of time units since `start` (nanoseconds wherever the target has 64-bit atomics)
//! in one atomic word. A receiver claims the delivery with a CAS from the value it read to
//! the following delivery, and the delivered message is the claimed instant. For a non-zero
//! period every claim moves `next` strictly forward, so a value never recurs (no ABA) and
//! concurrent receivers, all clones sharing this channel through an `Arc`, never claim the
//! same delivery twice.
//!
//! The following delivery is computed as crossbeam's:
//! - `try_recv` (and a selection) claims only a due delivery, and schedules the next one a
//!   period after *now*: deliveries missed meanwhile are not queued, they are skipped.
//! - `recv` claims the next delivery even before it is due (unless its deadline comes
//!   first), schedules the following one a period after the later of that delivery and
//!   now, and then sleeps until the delivery is due. A receiver that keeps up therefore
//!   gets deliveries exactly a period apart, without drift.
//!
//! A delivery whose instant cannot be represented (its offset overflows the unit count, or
//! `start` plus it overflows `Instant`) is stored as [`NEVER`]: from then on the channel
//! behaves as [`never`](fn@crate::never), empty for ever.

use std::time::{Duration, Instant};

use crate::error::{RecvTimeoutError, TryRecvError};
use crate::sync::{now, AtomicIndex, Index, Ordering};
use crate::waiter::{sleep_until, Deadline};

/// `next` when no further delivery can be represented: none will ever come.
const NEVER: Index = Index::MAX;

/// Nanoseconds per unit of `next`. With a 64-bit `Index` a unit is a nanosecond (offsets
/// up to 584 years: exact instants). On targets without 64-bit atomics `Index` is a 32-bit
/// `usize`, so a unit is a millisecond, deliveries are rounded up to one (never early), and
/// a tick stops 49 days after its creation (docs/DESIGN.md, "Known limitations").
const UNIT_NANOS: u64 = if std::mem::size_of::<Index>() >= 8 {
    1
} else {
    1_000_000
};

/// A channel that delivers an instant every `period`.
pub(crate) struct Channel {
    /// What `next` counts from.
    start: Instant,
    /// The time between deliveries.
    period: Duration,
    /// The next delivery, in units since `start`, or [`NEVER`].
    next: AtomicIndex,
}

impl Channel {
    /// A channel whose first delivery is `period` after now; `None` if that instant cannot
    /// be represented (the caller then makes a [`never`](fn@crate::never) channel, as
    /// crossbeam does).
    pub(crate) fn new(period: Duration) -> Option<Channel> {
        let start = now();
        let chan = Channel {
            start,
            period,
            next: AtomicIndex::new(NEVER),
        };
        let first = chan.units(start.checked_add(period)?);
        if first == NEVER {
            return None;
        }
        // ORDERING: Relaxed: the channel is not shared yet.
        chan.next.store(first, Ordering::Relaxed);
        Some(chan)
    }

    /// `at` as a count of units since `start`, rounded up; [`NEVER`] if it does not fit.
    fn units(&self, at: Instant) -> Index {
        let nanos = at.saturating_duration_since(self.start).as_nanos();
        let units = nanos.div_ceil(u128::from(UNIT_NANOS));
        match Index::try_from(units) {
            // The instant of a count below NEVER must be representable too, since
            // `instant` builds it; a count that fits an `Index` fits this `u64` product
            // (below 2^64 with 1 ns units, below 2^52 with 32-bit counts of 1 ms).
            Ok(units) if units < NEVER && self.start.checked_add(span(units)).is_some() => units,
            _ => NEVER,
        }
    }

    /// The instant of a count of units other than [`NEVER`] (`units` checked that it is
    /// representable).
    fn instant(&self, units: Index) -> Instant {
        self.start + span(units)
    }

    /// The count of the delivery a period after `from`; [`NEVER`] if unrepresentable.
    fn after(&self, from: Instant) -> Index {
        match from.checked_add(self.period) {
            Some(at) => self.units(at),
            None => NEVER,
        }
    }

    /// The next delivery's count. Relaxed everywhere: `next` publishes no data (the message
    /// is the instant it encodes), and a CAS on one location is atomic at any ordering,
    /// which is all the claim needs.
    fn load(&self) -> Index {
        // ORDERING: Relaxed, see above.
        self.next.load(Ordering::Relaxed)
    }

    /// Moves `next` from `seen` to `following`; `true` if this call did, claiming `seen`.
    fn claim(&self, seen: Index, following: Index) -> bool {
        self.next
            // ORDERING: Relaxed, see `load`.
            .compare_exchange(seen, following, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// Receives the due delivery, if there is one; `Empty` otherwise (never
    /// `Disconnected`). The next delivery is then a period from now. A selection hook:
    /// claims the delivery, so an `Ok` must be delivered.
    pub(crate) fn try_recv(&self) -> Result<Instant, TryRecvError> {
        loop {
            let seen = self.load();
            if seen == NEVER {
                return Err(TryRecvError::Empty);
            }
            let due = self.instant(seen);
            let now = now();
            if now < due {
                return Err(TryRecvError::Empty);
            }
            if self.claim(seen, self.after(now)) {
                return Ok(due);
            }
        }
    }

    /// Receives the next delivery, claiming it at once and then sleeping until it is due;
    /// fails with `Timeout`, after sleeping until `deadline`, if `deadline` comes before
    /// it (or no delivery will ever come), as crossbeam's does.
    pub(crate) fn recv(&self, deadline: Deadline) -> Result<Instant, RecvTimeoutError> {
        loop {
            let seen = self.load();
            if seen == NEVER {
                break;
            }
            let due = self.instant(seen);
            if matches!(deadline, Deadline::At(d) if d < due) {
                break;
            }
            if self.claim(seen, self.after(due.max(now()))) {
                sleep_until(Deadline::At(due));
                return Ok(due);
            }
        }
        sleep_until(deadline);
        Err(RecvTimeoutError::Timeout)
    }

    /// Whether a delivery is due, without claiming it. A selection hook.
    pub(crate) fn is_ready(&self) -> bool {
        let seen = self.load();
        seen != NEVER && now() >= self.instant(seen)
    }

    /// The instant of the next delivery (possibly past, if it is due), or `None` if none
    /// will ever come. A selection hook: a waiting selection wakes up by then.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let seen = self.load();
        (seen != NEVER).then(|| self.instant(seen))
    }
}

/// The duration of a count of units below [`NEVER`].
#[allow(clippy::unnecessary_cast)] // The identity where `Index` is `u64`.
fn span(units: Index) -> Duration {
    Duration::from_nanos(units as u64 * UNIT_NANOS)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A channel due now whose following delivery overflows: the claim succeeds, and from
    /// then on the channel is empty for ever and names no deadline, instead of panicking.
    /// (Unreachable through `tick`, whose first delivery is a whole period away.)
    #[test]
    fn following_delivery_overflows() {
        let chan = Channel {
            start: now(),
            period: Duration::MAX,
            next: AtomicIndex::new(0),
        };
        assert!(chan.is_ready());
        assert_eq!(chan.deadline(), Some(chan.start));
        assert_eq!(chan.try_recv(), Ok(chan.start));
        assert_eq!(chan.load(), NEVER);
        assert!(!chan.is_ready());
        assert_eq!(chan.deadline(), None);
        assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
        let timeout = Deadline::At(now() + Duration::from_millis(1));
        assert_eq!(chan.recv(timeout), Err(RecvTimeoutError::Timeout));

        // The same through `recv`, and with a period that fits a `Duration` but whose
        // count of units is NEVER itself.
        for period in [Duration::MAX, span(NEVER)] {
            let chan = Channel {
                start: now(),
                period,
                next: AtomicIndex::new(0),
            };
            assert_eq!(chan.recv(Deadline::Never), Ok(chan.start));
            assert_eq!(chan.deadline(), None);
        }
    }
}
