//! The one-shot timer: [`at`](crate::at) and [`after`](crate::after).
//!
//! Nothing is ever sent: the one message, the instant `when` itself, exists from the start
//! and becomes receivable once the clock reaches `when`. The only state is whether it has
//! been received. Receivers claim it by swapping `delivered` from `false` to `true`; the
//! swap is one atomic RMW on one location, so exactly one receiver (of all the clones
//! sharing this channel through an `Arc`) sees `false` and gets the message. Afterwards the
//! channel is empty for ever and never disconnected: `try_recv` says `Empty`, and a
//! blocking receive waits out its whole timeout (for ever, without one), as crossbeam's
//! does.

use std::time::Instant;

use crate::error::{RecvTimeoutError, TryRecvError};
use crate::sync::{now, AtomicBool, Ordering};
use crate::waiter::{sleep_until, Deadline};

/// A channel that delivers `when` once, at `when`.
pub(crate) struct Channel {
    /// The delivery instant, which is also the message.
    when: Instant,
    /// Whether a receiver has taken the message.
    delivered: AtomicBool,
}

impl Channel {
    /// A channel whose message becomes receivable at `when` (at once if `when` has passed).
    pub(crate) fn new(when: Instant) -> Channel {
        Channel {
            when,
            delivered: AtomicBool::new(false),
        }
    }

    /// Whether the message has been taken. Relaxed everywhere: the flag publishes no data
    /// (the message is `when`, fixed at creation), and a single location's RMW is atomic
    /// at any ordering, which is all the claim needs.
    fn is_delivered(&self) -> bool {
        // ORDERING: Relaxed, see above.
        self.delivered.load(Ordering::Relaxed)
    }

    /// Takes the message if nobody has yet; `true` if this call took it.
    fn claim(&self) -> bool {
        // ORDERING: Relaxed, see `is_delivered`: exactly one swap reads `false`.
        !self.delivered.swap(true, Ordering::Relaxed)
    }

    /// Receives the message if it is due and nobody has taken it; `Empty` otherwise (never
    /// `Disconnected`). A selection hook: claims the message, so a `Ok` must be delivered.
    pub(crate) fn try_recv(&self) -> Result<Instant, TryRecvError> {
        if self.is_delivered() || now() < self.when {
            return Err(TryRecvError::Empty);
        }
        if self.claim() {
            Ok(self.when)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Receives the message, sleeping until it is due; fails with `Timeout` at `deadline`,
    /// or once another receiver has taken it, after sleeping until `deadline` (never
    /// returning without one), as crossbeam's does.
    pub(crate) fn recv(&self, deadline: Deadline) -> Result<Instant, RecvTimeoutError> {
        while !self.is_delivered() {
            let now = now();
            if now >= self.when {
                if self.claim() {
                    return Ok(self.when);
                }
                break;
            }
            let wake = match deadline {
                Deadline::At(d) if now >= d => return Err(RecvTimeoutError::Timeout),
                Deadline::At(d) if d < self.when => d,
                _ => self.when,
            };
            sleep_until(Deadline::At(wake));
        }
        sleep_until(deadline);
        Err(RecvTimeoutError::Timeout)
    }

    /// Whether the message is due and not taken, without taking it. A selection hook.
    pub(crate) fn is_ready(&self) -> bool {
        !self.is_delivered() && now() >= self.when
    }

    /// When the channel may next become ready: `when`, or `None` once the message has been
    /// taken (it never will). A selection hook: a waiting selection wakes up by then.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        (!self.is_delivered()).then_some(self.when)
    }
}
