//! Counting senders and receivers, and disconnecting a channel when one side is gone.
//!
//! Every handle owns one reference to the shared channel (an `Arc`) and one count on its
//! side. The handle that takes its side's count to zero tells the flavor, which then wakes
//! the other side's waiters. The `Arc` frees the channel, and with it every message still
//! queued, when the last handle of either side is dropped.

use std::marker::PhantomData;

use crate::sync::{Arc, AtomicUsize, Ordering};

/// What a flavor does when one side of the channel is gone.
pub(crate) trait Disconnect {
    /// The last sender was dropped.
    fn disconnect_senders(&self);
    /// The last receiver was dropped.
    fn disconnect_receivers(&self);
}

/// The channel plus the number of live senders and receivers.
pub(crate) struct Shared<C> {
    senders: AtomicUsize,
    receivers: AtomicUsize,
    chan: C,
}

impl<C> Shared<C> {
    pub(crate) fn new(chan: C) -> Arc<Shared<C>> {
        Arc::new(Shared {
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            chan,
        })
    }
}

/// Which side of the channel a [`Counted`] reference belongs to.
pub(crate) trait Side {
    /// This side's live-handle count.
    fn count<C>(shared: &Shared<C>) -> &AtomicUsize;
    /// Tells the flavor that this side is gone.
    fn disconnect<C: Disconnect>(chan: &C);
}

/// The sending side.
pub(crate) struct Senders;
/// The receiving side.
pub(crate) struct Receivers;

impl Side for Senders {
    fn count<C>(shared: &Shared<C>) -> &AtomicUsize {
        &shared.senders
    }
    fn disconnect<C: Disconnect>(chan: &C) {
        chan.disconnect_senders();
    }
}

impl Side for Receivers {
    fn count<C>(shared: &Shared<C>) -> &AtomicUsize {
        &shared.receivers
    }
    fn disconnect<C: Disconnect>(chan: &C) {
        chan.disconnect_receivers();
    }
}

/// A reference to the channel that counts as one handle of side `S`.
pub(crate) struct Counted<C: Disconnect, S: Side> {
    shared: Arc<Shared<C>>,
    _side: PhantomData<S>,
}

/// A sender's reference.
pub(crate) type SenderRef<C> = Counted<C, Senders>;
/// A receiver's reference.
pub(crate) type ReceiverRef<C> = Counted<C, Receivers>;

/// Makes the two references to a new channel.
pub(crate) fn new<C: Disconnect>(chan: C) -> (SenderRef<C>, ReceiverRef<C>) {
    let shared = Shared::new(chan);
    let sender = Counted {
        shared: shared.clone(),
        _side: PhantomData,
    };
    let receiver = Counted {
        shared,
        _side: PhantomData,
    };
    (sender, receiver)
}

impl<C: Disconnect, S: Side> Counted<C, S> {
    pub(crate) fn chan(&self) -> &C {
        &self.shared.chan
    }

    pub(crate) fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<C: Disconnect, S: Side> Clone for Counted<C, S> {
    fn clone(&self) -> Self {
        // ORDERING: Relaxed: we hold a handle, so the count is non-zero and cannot reach
        // zero concurrently; cloning publishes no data.
        let old = S::count(&self.shared).fetch_add(1, Ordering::Relaxed);
        // Like `Arc`, refuse to wrap the count around (reachable only by leaking handles).
        if old > isize::MAX as usize {
            std::process::abort();
        }
        Counted {
            shared: self.shared.clone(),
            _side: PhantomData,
        }
    }
}

impl<C: Disconnect, S: Side> Drop for Counted<C, S> {
    fn drop(&mut self) {
        // ORDERING: AcqRel: the Release of every other handle's decrement pairs with the
        // Acquire of the last one, so disconnection follows everything they did.
        if S::count(&self.shared).fetch_sub(1, Ordering::AcqRel) == 1 {
            S::disconnect(&self.shared.chan);
        }
    }
}
