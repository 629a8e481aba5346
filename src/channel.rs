//! The public handles, [`Sender`] and [`Receiver`], their constructors, and dispatch to the
//! flavor behind them.
//!
//! Each handle holds a private enum with one variant per flavor, and every method is a
//! `match`: static dispatch that inlines, and that the compiler checks is exhaustive.

use std::fmt;
use std::iter::FusedIterator;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

use crate::counter::{self, Disconnect, ReceiverRef, SenderRef};
use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::flavors::{array, at, list, never, tick, zero};
use crate::sync::{now, Arc};
use crate::waiter::Deadline;

impl<T> Disconnect for list::Channel<T> {
    fn disconnect_senders(&self) {
        list::Channel::disconnect_senders(self);
    }
    fn disconnect_receivers(&self) {
        list::Channel::disconnect_receivers(self);
    }
}

impl<T> Disconnect for zero::Channel<T> {
    fn disconnect_senders(&self) {
        self.disconnect();
    }
    fn disconnect_receivers(&self) {
        self.disconnect();
    }
}

impl<T> Disconnect for array::Channel<T> {
    fn disconnect_senders(&self) {
        array::Channel::disconnect_senders(self);
    }
    fn disconnect_receivers(&self) {
        array::Channel::disconnect_receivers(self);
    }
}

/// Creates a channel of unbounded capacity.
///
/// Sends never block: the channel grows (a block of slots at a time) as messages arrive,
/// and gives memory back as they are received.
///
/// # Examples
///
#[doc = crate::doctest!()]
/// use std::thread;
///
/// let (s, r) = panama::unbounded();
///
/// thread::spawn(move || {
///     for i in 0..3 {
///         s.send(i).unwrap();
///     }
/// });
///
/// assert_eq!(r.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// ```
#[must_use]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (s, r) = counter::new(list::Channel::new());
    (
        Sender {
            flavor: SenderFlavor::List(s),
        },
        Receiver {
            flavor: ReceiverFlavor::List(r),
        },
    )
}

/// Creates a channel of unbounded capacity: std's name for [`unbounded`].
///
/// Unlike std's, the [`Receiver`] can be cloned.
///
/// # Examples
///
#[doc = crate::doctest!()]
/// let (s, r) = panama::channel();
/// s.send("hello").unwrap();
/// assert_eq!(r.recv(), Ok("hello"));
/// ```
#[must_use]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    unbounded()
}

/// Creates a channel that holds at most `cap` messages.
///
/// A send on a full channel blocks until a receive makes room. With `cap == 0` the channel
/// is a rendezvous: a send completes only when a receiver takes the message, `try_send`
/// succeeds only if a receiver is already waiting, and `try_recv` only if a sender is.
///
/// # Panics
///
/// Panics with "capacity `cap` is too large for a bounded channel" if `cap` is 2^61 or more on
/// a 64-bit target (the positions need three bits above the index), and with "cannot
/// allocate a bounded channel of capacity `cap`" if the buffer's allocation fails. (A
/// request the allocator grants but the machine cannot back, under Linux overcommit, is
/// still killed by the OS when the slots are initialized.)
///
/// # Examples
///
#[doc = crate::doctest!()]
/// use std::thread;
/// use std::time::Duration;
///
/// let (s, r) = panama::bounded(1);
/// s.send(1).unwrap();
/// assert!(s.is_full());
/// assert_eq!(s.try_send(2), Err(panama::TrySendError::Full(2)));
/// assert_eq!(
///     s.send_timeout(2, Duration::from_millis(1)),
///     Err(panama::SendTimeoutError::Timeout(2)),
/// );
/// assert_eq!(r.recv(), Ok(1));
/// assert_eq!(s.try_send(2), Ok(()));
///
/// // A rendezvous: the send returns once the receiver has the message.
/// let (s, r) = panama::bounded(0);
/// assert_eq!(s.try_send(1), Err(panama::TrySendError::Full(1))); // nobody waiting
/// let t = thread::spawn(move || r.recv().unwrap());
/// s.send(2).unwrap();
/// assert_eq!(t.join().unwrap(), 2);
/// ```
#[must_use]
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    if cap == 0 {
        let (s, r) = counter::new(zero::Channel::new());
        return (
            Sender {
                flavor: SenderFlavor::Zero(s),
            },
            Receiver {
                flavor: ReceiverFlavor::Zero(r),
            },
        );
    }
    let (s, r) = counter::new(array::Channel::with_capacity(cap));
    (
        Sender {
            flavor: SenderFlavor::Array(s),
        },
        Receiver {
            flavor: ReceiverFlavor::Array(r),
        },
    )
}

/// Creates a channel that holds at most `cap` messages: std's name for [`bounded`].
///
/// # Panics
///
/// As [`bounded`].
#[must_use]
pub fn sync_channel<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    bounded(cap)
}

/// Creates a receiver that delivers one message `duration` from now.
///
/// The message is the instant it is delivered at: the creation instant plus `duration`.
/// It is delivered once: afterwards the channel is empty for ever (`try_recv` says
/// `Empty`, and `recv` blocks for ever) and never disconnected. The receiver can be
/// cloned; the clones share the one message. A `duration` too large to represent as an
/// instant never delivers: the receiver is a [`never`](fn@never) receiver.
///
/// The channel's capacity is 1, and `len`, `is_empty` and `is_full` say whether the message
/// is due and not yet received. Useful as a timeout in a [`Select`](crate::Select).
///
/// # Examples
///
#[doc = crate::doctest!()]
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// let r = panama::after(Duration::from_millis(10));
///
/// let delivered = r.recv().unwrap(); // sleeps until then
/// assert!(delivered >= start + Duration::from_millis(10));
/// assert!(Instant::now() >= delivered);
///
/// // Only one message, and no disconnection.
/// assert_eq!(r.try_recv(), Err(panama::TryRecvError::Empty));
/// assert_eq!(
///     r.recv_timeout(Duration::from_millis(1)),
///     Err(panama::RecvTimeoutError::Timeout),
/// );
/// ```
#[must_use]
pub fn after(duration: Duration) -> Receiver<Instant> {
    match now().checked_add(duration) {
        Some(when) => at(when),
        None => never(),
    }
}

/// Creates a receiver that delivers one message at `when`.
///
/// The message is `when` itself. If `when` has passed, it is ready at once. It is
/// delivered once: afterwards the channel is empty for ever (`try_recv` says `Empty`, and
/// `recv` blocks for ever) and never disconnected. The receiver can be cloned; the clones
/// share the one message.
///
/// The channel's capacity is 1, and `len`, `is_empty` and `is_full` say whether the message
/// is due and not yet received.
///
/// # Examples
///
#[doc = crate::doctest!()]
/// use std::time::{Duration, Instant};
///
/// let when = Instant::now() + Duration::from_millis(10);
/// let r = panama::at(when);
/// assert_eq!(r.recv(), Ok(when)); // sleeps until `when`
/// assert!(Instant::now() >= when);
///
/// // An instant already past is delivered at once.
/// let past = Instant::now();
/// let r = panama::at(past);
/// assert_eq!(r.len(), 1);
/// assert_eq!(r.try_recv(), Ok(past));
/// assert!(r.is_empty());
/// ```
#[must_use]
pub fn at(when: Instant) -> Receiver<Instant> {
    Receiver {
        flavor: ReceiverFlavor::At(Arc::new(at::Channel::new(when))),
    }
}

/// Creates a receiver that delivers a message every `duration`.
///
/// Each message is the instant its delivery was scheduled for. The first is scheduled
/// `duration` after the creation. A `recv` that waits for a delivery schedules the next
/// one `duration` after it, so a receiver that keeps up gets messages exactly `duration`
/// apart. Deliveries missed meanwhile are not queued: a late receiver gets one message at
/// once (the one scheduled first), and the next one is scheduled `duration` after that
/// receive. The channel is never disconnected. The receiver can be cloned; the clones share
/// the deliveries, each delivered to one of them.
///
/// A `duration` too large to represent as an instant never delivers: the receiver is a
/// [`never`](fn@never) receiver. A later delivery too far away to represent never comes either: the
/// channel then stays empty for ever.
///
/// The channel's capacity is 1, and `len`, `is_empty` and `is_full` say whether a delivery
/// is due.
///
/// # Examples
///
#[doc = crate::doctest!()]
/// use std::thread;
/// use std::time::{Duration, Instant};
///
/// let period = Duration::from_millis(10);
/// let start = Instant::now();
/// let r = panama::tick(period);
///
/// let first = r.recv().unwrap();
/// assert!(first >= start + period);
/// assert_eq!(r.recv(), Ok(first + period)); // exactly a period later
///
/// // Missed deliveries are not queued: after five periods, one message is ready.
/// thread::sleep(5 * period);
/// assert!(r.try_recv().is_ok());
/// ```
#[must_use]
pub fn tick(duration: Duration) -> Receiver<Instant> {
    match tick::Channel::new(duration) {
        Some(chan) => Receiver {
            flavor: ReceiverFlavor::Tick(Arc::new(chan)),
        },
        None => never(),
    }
}

/// Creates a receiver that never delivers a message.
///
/// The channel is empty for ever and never disconnected: `try_recv` says `Empty`, a
/// timed receive times out, and `recv` blocks for ever. Its capacity is 0, and it is full
/// and empty at once, as a rendezvous channel with no sender waiting. It allocates nothing;
/// every `never` receiver is the same channel. Useful for an optional timeout in a
/// [`Select`](crate::Select).
///
/// # Examples
///
#[doc = crate::doctest!()]
/// use std::time::Duration;
///
/// let r = panama::never::<i32>();
/// assert_eq!(r.try_recv(), Err(panama::TryRecvError::Empty));
/// assert_eq!(
///     r.recv_timeout(Duration::from_millis(1)),
///     Err(panama::RecvTimeoutError::Timeout),
/// );
///
/// // An optional timeout: `None` waits for ever.
/// let timeout: Option<Duration> = None;
/// let r = timeout.map(panama::after).unwrap_or_else(panama::never);
/// assert_eq!(r.try_recv(), Err(panama::TryRecvError::Empty));
/// ```
#[must_use]
pub const fn never<T>() -> Receiver<T> {
    Receiver {
        flavor: ReceiverFlavor::Never(never::Channel::new()),
    }
}

/// A timer flavor's message as the receiver's message type.
///
/// # Safety
///
/// `T` must be `Instant`. That holds wherever a timer flavor's message reaches a
/// `Receiver<T>` method: the `At` and `Tick` variants are only ever constructed, by [`at`](fn@at)
/// and [`tick`](fn@tick), in a `Receiver<Instant>` (and cloned into one).
#[inline(always)]
pub(crate) unsafe fn from_instant<T>(instant: Instant) -> T {
    debug_assert_eq!(std::any::type_name::<T>(), std::any::type_name::<Instant>());
    debug_assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<Instant>());
    // SAFETY: `T` is `Instant` (the caller's contract), so this reads an `Instant` as an
    // `Instant`. `Instant` is `Copy`, so the original needs no `forget`.
    unsafe { std::mem::transmute_copy::<Instant, T>(&instant) }
}

/// A borrowed view of whichever flavor is behind a handle, for the questions both handles
/// answer the same way (`len`, `is_empty`, `is_full`, `capacity`).
enum State<'a, T> {
    List(&'a list::Channel<T>),
    Array(&'a array::Channel<T>),
    Zero,
    At(&'a at::Channel),
    Tick(&'a tick::Channel),
    Never,
}

impl<T> State<'_, T> {
    fn is_empty(&self) -> bool {
        match self {
            State::List(chan) => chan.is_empty(),
            State::Array(chan) => chan.is_empty(),
            State::Zero | State::Never => true,
            State::At(chan) => !chan.is_ready(),
            State::Tick(chan) => !chan.is_ready(),
        }
    }

    fn is_full(&self) -> bool {
        match self {
            State::List(_) => false,
            State::Array(chan) => chan.is_full(),
            State::Zero | State::Never => true,
            State::At(chan) => chan.is_ready(),
            State::Tick(chan) => chan.is_ready(),
        }
    }

    fn len(&self) -> usize {
        match self {
            State::List(chan) => chan.len(),
            State::Array(chan) => chan.len(),
            State::Zero | State::Never => 0,
            State::At(chan) => usize::from(chan.is_ready()),
            State::Tick(chan) => usize::from(chan.is_ready()),
        }
    }

    fn capacity(&self) -> Option<usize> {
        match self {
            State::List(_) => None,
            State::Array(chan) => Some(chan.capacity()),
            State::Zero | State::Never => Some(0),
            State::At(_) | State::Tick(_) => Some(1),
        }
    }
}

pub(crate) enum SenderFlavor<T> {
    List(SenderRef<list::Channel<T>>),
    Array(SenderRef<array::Channel<T>>),
    Zero(SenderRef<zero::Channel<T>>),
}

pub(crate) enum ReceiverFlavor<T> {
    List(ReceiverRef<list::Channel<T>>),
    Array(ReceiverRef<array::Channel<T>>),
    Zero(ReceiverRef<zero::Channel<T>>),
    /// [`at`](fn@at) and [`after`]: only in a `Receiver<Instant>` (see [`from_instant`]).
    At(Arc<at::Channel>),
    /// [`tick`](fn@tick): only in a `Receiver<Instant>` (see [`from_instant`]).
    Tick(Arc<tick::Channel>),
    /// [`never`](fn@never).
    Never(never::Channel<T>),
}

/// The sending side of a channel.
///
/// Senders can be cloned and shared between threads. When the last sender is dropped, the
/// channel is disconnected: receivers get the remaining messages, then an error.
///
/// # Examples
///
#[doc = crate::doctest!()]
/// use std::thread;
///
/// let (s1, r) = panama::unbounded();
/// let s2 = s1.clone();
///
/// thread::spawn(move || s1.send(1).unwrap());
/// thread::spawn(move || s2.send(2).unwrap());
///
/// let mut got = [r.recv().unwrap(), r.recv().unwrap()];
/// got.sort();
/// assert_eq!(got, [1, 2]);
/// ```
pub struct Sender<T> {
    pub(crate) flavor: SenderFlavor<T>,
}

/// The receiving side of a channel.
///
/// Receivers can be cloned and shared between threads; each message goes to exactly one of
/// them. When the last receiver is dropped, the channel is disconnected: messages still in
/// it are dropped, and sends fail and hand their message back.
///
/// # Examples
///
#[doc = crate::doctest!()]
/// use std::thread;
/// use std::time::Duration;
///
/// let (s, r) = panama::unbounded();
///
/// thread::spawn(move || {
///     thread::sleep(Duration::from_millis(10));
///     s.send("late").unwrap();
/// });
///
/// assert_eq!(r.try_recv(), Err(panama::TryRecvError::Empty));
/// assert_eq!(r.recv(), Ok("late"));
/// assert_eq!(r.recv(), Err(panama::RecvError)); // the sender is gone
/// ```
pub struct Receiver<T> {
    pub(crate) flavor: ReceiverFlavor<T>,
}

// SAFETY: a sender only moves `T` values into the channel, which hands them to another
// thread: `T: Send` suffices, as for `std::sync::mpsc::Sender`.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: every sender operation takes `&self` and is safe to run concurrently.
unsafe impl<T: Send> Sync for Sender<T> {}
// SAFETY: as for `Sender`: receivers take `T` values out, `T: Send` suffices.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: every receiver operation takes `&self` and is safe to run concurrently.
unsafe impl<T: Send> Sync for Receiver<T> {}

// A panic in the middle of an operation never leaves a message half-sent or the channel
// inconsistent, so observing a handle after a caught panic is fine (as in crossbeam).
impl<T> UnwindSafe for Sender<T> {}
impl<T> RefUnwindSafe for Sender<T> {}
impl<T> UnwindSafe for Receiver<T> {}
impl<T> RefUnwindSafe for Receiver<T> {}

impl<T> Sender<T> {
    fn state(&self) -> State<'_, T> {
        match &self.flavor {
            SenderFlavor::List(chan) => State::List(chan.chan()),
            SenderFlavor::Array(chan) => State::Array(chan.chan()),
            SenderFlavor::Zero(_) => State::Zero,
        }
    }

    /// Sends a message, blocking while the channel is full.
    ///
    /// Fails, handing the message back, if every receiver is gone. On an unbounded channel
    /// this never blocks.
    ///
    /// # Examples
    ///
    #[doc = crate::doctest!()]
    /// let (s, r) = panama::unbounded();
    /// assert_eq!(s.send(1), Ok(()));
    ///
    /// drop(r);
    /// assert_eq!(s.send(2), Err(panama::SendError(2)));
    /// ```
    #[inline]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.send_until(msg, Deadline::Never)
            .map_err(|err| match err {
                SendTimeoutError::Disconnected(msg) => SendError(msg),
                SendTimeoutError::Timeout(_) => unreachable!("a send without deadline timed out"),
            })
    }

    /// Sends a message if that can be done without blocking.
    ///
    /// Fails with `Full` if the channel is full, and with `Disconnected` if every receiver
    /// is gone; both hand the message back. An unbounded channel is never full.
    #[inline]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        match &self.flavor {
            SenderFlavor::List(chan) => chan.chan().send(msg).map_err(TrySendError::Disconnected),
            SenderFlavor::Array(chan) => chan.chan().try_send(msg),
            SenderFlavor::Zero(chan) => chan.chan().try_send(msg),
        }
    }

    /// Sends a message, blocking for at most `timeout` while the channel is full.
    ///
    /// A timeout too large to represent as a deadline waits forever.
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(msg, Deadline::after(timeout))
    }

    /// Sends a message, blocking until `deadline` at most while the channel is full.
    pub fn send_deadline(&self, msg: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(msg, Deadline::At(deadline))
    }

    #[inline]
    fn send_until(&self, msg: T, deadline: Deadline) -> Result<(), SendTimeoutError<T>> {
        match &self.flavor {
            // Unbounded: never full, so the deadline never matters.
            SenderFlavor::List(chan) => chan
                .chan()
                .send(msg)
                .map_err(SendTimeoutError::Disconnected),
            SenderFlavor::Array(chan) => chan.chan().send(msg, deadline),
            SenderFlavor::Zero(chan) => chan.chan().send(msg, deadline),
        }
    }

    /// Returns `true` if the channel holds no message.
    pub fn is_empty(&self) -> bool {
        self.state().is_empty()
    }

    /// Returns `true` if the channel is full. An unbounded channel never is.
    pub fn is_full(&self) -> bool {
        self.state().is_full()
    }

    /// Returns the number of messages in the channel.
    pub fn len(&self) -> usize {
        self.state().len()
    }

    /// Returns the capacity: `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        self.state().capacity()
    }

    /// Returns `true` if both senders belong to the same channel.
    ///
    /// # Examples
    ///
    #[doc = crate::doctest!()]
    /// let (s, _r) = panama::unbounded::<i32>();
    /// let (other, _r2) = panama::unbounded::<i32>();
    /// assert!(s.same_channel(&s.clone()));
    /// assert!(!s.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        match (&self.flavor, &other.flavor) {
            (SenderFlavor::List(a), SenderFlavor::List(b)) => a.same_channel(b),
            (SenderFlavor::Array(a), SenderFlavor::Array(b)) => a.same_channel(b),
            (SenderFlavor::Zero(a), SenderFlavor::Zero(b)) => a.same_channel(b),
            _ => false,
        }
    }
}

impl<T> Sender<T> {
    /// The channel's address: the same for every handle of one channel.
    pub(crate) fn addr(&self) -> usize {
        match &self.flavor {
            SenderFlavor::List(chan) => chan.chan() as *const _ as usize,
            SenderFlavor::Array(chan) => chan.chan() as *const _ as usize,
            SenderFlavor::Zero(chan) => chan.chan() as *const _ as usize,
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let flavor = match &self.flavor {
            SenderFlavor::List(chan) => SenderFlavor::List(chan.clone()),
            SenderFlavor::Array(chan) => SenderFlavor::Array(chan.clone()),
            SenderFlavor::Zero(chan) => SenderFlavor::Zero(chan.clone()),
        };
        Sender { flavor }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sender { .. }")
    }
}

impl<T> Receiver<T> {
    fn state(&self) -> State<'_, T> {
        match &self.flavor {
            ReceiverFlavor::List(chan) => State::List(chan.chan()),
            ReceiverFlavor::Array(chan) => State::Array(chan.chan()),
            ReceiverFlavor::Zero(_) => State::Zero,
            ReceiverFlavor::At(chan) => State::At(chan),
            ReceiverFlavor::Tick(chan) => State::Tick(chan),
            ReceiverFlavor::Never(_) => State::Never,
        }
    }

    /// Receives a message, blocking while the channel is empty.
    ///
    /// Fails once the channel is empty and every sender is gone.
    #[inline]
    pub fn recv(&self) -> Result<T, RecvError> {
        match self.recv_until(Deadline::Never) {
            Ok(msg) => Ok(msg),
            Err(RecvTimeoutError::Disconnected) => Err(RecvError),
            Err(RecvTimeoutError::Timeout) => unreachable!("a wait without deadline timed out"),
        }
    }

    /// Receives a message if one is ready now.
    ///
    /// Fails with `Empty` if none is, and with `Disconnected` if the channel is empty and
    /// every sender is gone.
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.flavor {
            ReceiverFlavor::List(chan) => chan.chan().try_recv(),
            ReceiverFlavor::Array(chan) => chan.chan().try_recv(),
            ReceiverFlavor::Zero(chan) => chan.chan().try_recv(),
            // SAFETY: a timer flavor is only in a `Receiver<Instant>` (`from_instant`).
            ReceiverFlavor::At(chan) => chan.try_recv().map(|m| unsafe { from_instant(m) }),
            // SAFETY: as above.
            ReceiverFlavor::Tick(chan) => chan.try_recv().map(|m| unsafe { from_instant(m) }),
            ReceiverFlavor::Never(chan) => chan.try_recv(),
        }
    }

    /// Receives a message, blocking for at most `timeout` while the channel is empty.
    ///
    /// A timeout too large to represent as a deadline waits forever.
    ///
    /// # Examples
    ///
    #[doc = crate::doctest!()]
    /// use std::time::Duration;
    ///
    /// let (s, r) = panama::unbounded::<i32>();
    /// assert_eq!(
    ///     r.recv_timeout(Duration::from_millis(1)),
    ///     Err(panama::RecvTimeoutError::Timeout),
    /// );
    /// drop(s);
    /// assert_eq!(
    ///     r.recv_timeout(Duration::MAX),
    ///     Err(panama::RecvTimeoutError::Disconnected),
    /// );
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Deadline::after(timeout))
    }

    /// Receives a message, blocking until `deadline` at most while the channel is empty.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Deadline::At(deadline))
    }

    #[inline]
    fn recv_until(&self, deadline: Deadline) -> Result<T, RecvTimeoutError> {
        match &self.flavor {
            ReceiverFlavor::List(chan) => chan.chan().recv(deadline),
            ReceiverFlavor::Array(chan) => chan.chan().recv(deadline),
            ReceiverFlavor::Zero(chan) => chan.chan().recv(deadline),
            // SAFETY: a timer flavor is only in a `Receiver<Instant>` (`from_instant`).
            ReceiverFlavor::At(chan) => chan.recv(deadline).map(|m| unsafe { from_instant(m) }),
            // SAFETY: as above.
            ReceiverFlavor::Tick(chan) => chan.recv(deadline).map(|m| unsafe { from_instant(m) }),
            ReceiverFlavor::Never(chan) => chan.recv(deadline),
        }
    }

    /// Returns `true` if the channel holds no message.
    pub fn is_empty(&self) -> bool {
        self.state().is_empty()
    }

    /// Returns `true` if the channel is full. An unbounded channel never is.
    pub fn is_full(&self) -> bool {
        self.state().is_full()
    }

    /// Returns the number of messages in the channel.
    pub fn len(&self) -> usize {
        self.state().len()
    }

    /// Returns the capacity: `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        self.state().capacity()
    }

    /// Returns `true` if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        match (&self.flavor, &other.flavor) {
            (ReceiverFlavor::List(a), ReceiverFlavor::List(b)) => a.same_channel(b),
            (ReceiverFlavor::Array(a), ReceiverFlavor::Array(b)) => a.same_channel(b),
            (ReceiverFlavor::Zero(a), ReceiverFlavor::Zero(b)) => a.same_channel(b),
            (ReceiverFlavor::At(a), ReceiverFlavor::At(b)) => Arc::ptr_eq(a, b),
            (ReceiverFlavor::Tick(a), ReceiverFlavor::Tick(b)) => Arc::ptr_eq(a, b),
            // Stateless: every `never` receiver is the same channel, as in crossbeam.
            (ReceiverFlavor::Never(_), ReceiverFlavor::Never(_)) => true,
            _ => false,
        }
    }

    /// A blocking iterator over received messages; it ends when the channel is empty and
    /// every sender is gone.
    ///
    /// # Examples
    ///
    #[doc = crate::doctest!()]
    /// let (s, r) = panama::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// drop(s);
    /// assert_eq!(r.iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// A non-blocking iterator over the messages ready now.
    ///
    /// # Examples
    ///
    #[doc = crate::doctest!()]
    /// let (s, r) = panama::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// assert_eq!(r.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(r.try_iter().next(), None); // empty, though `s` is alive
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }
}

impl<T> Receiver<T> {
    /// The channel's address: the same for every handle of one channel.
    pub(crate) fn addr(&self) -> usize {
        match &self.flavor {
            ReceiverFlavor::List(chan) => chan.chan() as *const _ as usize,
            ReceiverFlavor::Array(chan) => chan.chan() as *const _ as usize,
            ReceiverFlavor::Zero(chan) => chan.chan() as *const _ as usize,
            ReceiverFlavor::At(chan) => Arc::as_ptr(chan) as usize,
            ReceiverFlavor::Tick(chan) => Arc::as_ptr(chan) as usize,
            // No address: the one stateless `never` channel (crossbeam uses 0 too).
            ReceiverFlavor::Never(_) => 0,
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let flavor = match &self.flavor {
            ReceiverFlavor::List(chan) => ReceiverFlavor::List(chan.clone()),
            ReceiverFlavor::Array(chan) => ReceiverFlavor::Array(chan.clone()),
            ReceiverFlavor::Zero(chan) => ReceiverFlavor::Zero(chan.clone()),
            ReceiverFlavor::At(chan) => ReceiverFlavor::At(chan.clone()),
            ReceiverFlavor::Tick(chan) => ReceiverFlavor::Tick(chan.clone()),
            ReceiverFlavor::Never(_) => ReceiverFlavor::Never(never::Channel::new()),
        };
        Receiver { flavor }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Receiver { .. }")
    }
}

/// A blocking iterator over the messages of a [`Receiver`], from [`Receiver::iter`].
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> FusedIterator for Iter<'_, T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Iter { .. }")
    }
}

/// A non-blocking iterator over the ready messages of a [`Receiver`], from
/// [`Receiver::try_iter`].
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("TryIter { .. }")
    }
}

/// A blocking iterator that owns its [`Receiver`].
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> FusedIterator for IntoIter<T> {}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("IntoIter { .. }")
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}
