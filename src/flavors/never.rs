//! The channel that never delivers: [`never`](fn@crate::never).
//!
//! It has no state at all, so it allocates nothing: every `never` receiver, and every
//! clone of one, is the same channel. It is empty for ever and never disconnected:
//! `try_recv` says `Empty`, and a blocking receive waits out its whole timeout (for ever,
//! without one).

use std::marker::PhantomData;
use std::time::Instant;

use crate::error::{RecvTimeoutError, TryRecvError};
use crate::waiter::{sleep_until, Deadline};

/// A channel that never delivers a `T`.
pub(crate) struct Channel<T> {
    _marker: PhantomData<T>,
}

impl<T> Channel<T> {
    /// The channel (zero-sized).
    pub(crate) const fn new() -> Channel<T> {
        Channel {
            _marker: PhantomData,
        }
    }

    /// Always `Empty`. A selection hook.
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        Err(TryRecvError::Empty)
    }

    /// Sleeps until `deadline` (for ever without one), then fails with `Timeout`.
    pub(crate) fn recv(&self, deadline: Deadline) -> Result<T, RecvTimeoutError> {
        sleep_until(deadline);
        Err(RecvTimeoutError::Timeout)
    }

    /// Never ready. A selection hook.
    pub(crate) fn is_ready(&self) -> bool {
        false
    }

    /// `None`: it will never become ready. A selection hook.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        None
    }
}
