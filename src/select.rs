//! Selection: waiting on several channel operations at once and completing exactly one.
//!
//! # Implementation notes
//!
//! A selection first *tries* each operation in turn (in random order, or in the order they
//! were added for a biased selection), and the first that can complete is *claimed*: a
//! receive claims a message's slot, a send a slot to write into, exactly as the blocking
//! operations do, but the message is moved only later, by [`SelectedOperation::recv`] or
//! [`SelectedOperation::send`], which know its type. The claim is what the [`Token`]
//! carries from one to the other.
//!
//! If none can complete, the thread waits on all of them with one [`Waiter`]: it registers
//! the waiter in each operation's registry with a different operation id (`FIRST_OP` plus the
//! operation's position), re-checks every operation, and parks. The registry's notifiers
//! claim the waiter's state with one CAS, so exactly one operation wins the wake-up; the
//! other registrations are dead from then on and are left (`Registry::leave`) with the right
//! count, so that no registry keeps counting a waiter that is gone. The woken thread tries
//! the operation that woke it first, then all of them again.
//!
//! A rendezvous channel cannot be waited on like that alone: if two threads both select on
//! it, one to send and one to receive, someone must be *exposed* for the other to find.
//! So a selecting thread exposes a packet of its own in every empty rendezvous slot it
//! waits on (`zero.rs`, "Selection"); the thread that claims such a packet from a slot must
//! then claim the selecting thread's wait too, and if that second claim fails (another
//! operation won) it lets the packet go.
//!
//! `ready` and its variants are the same loop without claiming: they report an operation
//! seen ready and never expose a packet.

use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::time::{Duration, Instant};

use crate::channel::{from_instant, Receiver, ReceiverFlavor, Sender, SenderFlavor};
use crate::error::{
    ReadyTimeoutError, RecvError, SelectTimeoutError, SendError, TryReadyError, TrySelectError,
};
use crate::sync::{Arc, Backoff, Index, IS_LOOM};
use crate::waiter::{Deadline, Waiter, FIRST_OP};

/// What a claimed operation needs to be completed: which slot or packet it claimed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Token {
    /// Nothing was claimed: the channel is disconnected, and the operation fails.
    Disconnected,
    /// A claimed slot of a bounded channel's ring.
    Array { index: usize, stamp: Index },
    /// A claimed slot of an unbounded channel's block.
    List { block: *mut (), offset: usize },
    /// A plain packet taken from a rendezvous slot; `abandon` tells its owner to try again.
    Zero {
        packet: *const (),
        abandon: unsafe fn(*const ()),
    },
    /// A selecting thread's packet of a rendezvous channel (ours or another's), one strong
    /// count of it; `abandon` releases it and tells the other side.
    ZeroSelect {
        packet: *const (),
        abandon: unsafe fn(*const ()),
    },
    /// The message of a timer channel.
    Instant(Instant),
}

/// One registration of a waiting selection.
#[derive(Debug)]
pub(crate) enum Reg {
    /// Registered in a registry. `seen` is what a rendezvous slot held then (0 for other
    /// flavors).
    Plain { seen: usize },
    /// A rendezvous channel holds our packet (a strong count of it is ours).
    Exposed(*const ()),
    /// Registered in a rendezvous channel's watchers (`ready` only).
    Watching,
    /// Not registered: the operation is ready.
    Ready,
}

/// One operation as the selection sees it: a send on a [`Sender`], a receive on a
/// [`Receiver`].
pub(crate) trait SelectHandle {
    /// Claims the operation if it can complete now (or fails now, disconnected).
    fn try_select(&self) -> Option<Token>;
    /// Whether the operation can complete now, without claiming it.
    fn is_ready(&self) -> bool;
    /// Registers `waiter` for the operation as `op`; with `expose`, a rendezvous channel may
    /// get a packet of ours (`own` recognizes ours in other arms).
    fn register(
        &self,
        waiter: &Arc<Waiter>,
        op: usize,
        expose: bool,
        own: &dyn Fn(usize) -> bool,
    ) -> Reg;
    /// The re-check after registering: whether we must not park for this operation.
    fn recheck(&self, reg: &Reg) -> bool;
    /// Ends a registration; returns the token if the registration itself completed the
    /// selection (an exposed packet was claimed).
    fn unregister(&self, reg: Reg, selected: bool) -> Option<Token>;
    /// A plain wake-up for this operation was consumed without our packet of its kind taking
    /// the place it was for: pass it on (rendezvous channels: "No one parks beside a
    /// partner", rule 3; `watching`: the wake-up came to a watcher).
    fn hand_on(&self, _watching: bool) {}
    /// When the operation will be ready by itself (timer channels).
    fn deadline(&self) -> Option<Instant> {
        None
    }
    /// The channel's address: identifies it in [`SelectedOperation`].
    fn addr(&self) -> usize;
}

impl<T> SelectHandle for Receiver<T> {
    fn try_select(&self) -> Option<Token> {
        match &self.flavor {
            ReceiverFlavor::List(chan) => chan.chan().select_try_recv(),
            ReceiverFlavor::Array(chan) => chan.chan().select_try_recv(),
            ReceiverFlavor::Zero(chan) => chan.chan().select_try(zero_kind::REQUEST),
            ReceiverFlavor::At(chan) => chan.try_recv().ok().map(Token::Instant),
            ReceiverFlavor::Tick(chan) => chan.try_recv().ok().map(Token::Instant),
            ReceiverFlavor::Never(_) => None,
        }
    }

    fn is_ready(&self) -> bool {
        match &self.flavor {
            ReceiverFlavor::List(chan) => chan.chan().recv_ready(),
            ReceiverFlavor::Array(chan) => chan.chan().recv_ready(),
            ReceiverFlavor::Zero(chan) => chan.chan().select_ready(zero_kind::REQUEST),
            ReceiverFlavor::At(chan) => chan.is_ready(),
            ReceiverFlavor::Tick(chan) => chan.is_ready(),
            ReceiverFlavor::Never(chan) => chan.is_ready(),
        }
    }

    fn register(
        &self,
        waiter: &Arc<Waiter>,
        op: usize,
        expose: bool,
        own: &dyn Fn(usize) -> bool,
    ) -> Reg {
        match &self.flavor {
            ReceiverFlavor::List(chan) => {
                chan.chan().receivers().register(waiter, op);
                Reg::Plain { seen: 0 }
            }
            ReceiverFlavor::Array(chan) => {
                chan.chan().registry(true).register(waiter, op);
                Reg::Plain { seen: 0 }
            }
            ReceiverFlavor::Zero(chan) => {
                chan.chan()
                    .select_register(zero_kind::REQUEST, waiter, op, expose, own)
            }
            // Timers have no registry: nobody notifies them; the wait's wake-up time
            // (`deadline`) brings the selection back when one is due.
            ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_) => {
                if SelectHandle::is_ready(self) {
                    Reg::Ready
                } else {
                    Reg::Plain { seen: 0 }
                }
            }
        }
    }

    fn recheck(&self, reg: &Reg) -> bool {
        match &self.flavor {
            ReceiverFlavor::List(chan) => chan.chan().recv_ready(),
            ReceiverFlavor::Array(chan) => chan.chan().recv_ready(),
            ReceiverFlavor::Zero(chan) => chan.chan().select_recheck(zero_kind::REQUEST, reg),
            ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_) => {
                SelectHandle::is_ready(self)
            }
        }
    }

    fn unregister(&self, reg: Reg, selected: bool) -> Option<Token> {
        match (&self.flavor, reg) {
            (_, Reg::Ready) => None,
            (ReceiverFlavor::List(chan), _) => {
                chan.chan().receivers().leave(selected);
                None
            }
            (ReceiverFlavor::Array(chan), _) => {
                chan.chan().registry(true).leave(selected);
                None
            }
            (ReceiverFlavor::Zero(chan), reg) => {
                chan.chan()
                    .select_unregister(zero_kind::REQUEST, reg, selected)
            }
            // Registered nowhere (see `register`).
            (ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_), _) => None,
        }
    }

    fn hand_on(&self, watching: bool) {
        if let ReceiverFlavor::Zero(chan) = &self.flavor {
            chan.chan().hand_on(zero_kind::REQUEST, watching);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match &self.flavor {
            ReceiverFlavor::At(chan) => chan.deadline(),
            ReceiverFlavor::Tick(chan) => chan.deadline(),
            ReceiverFlavor::Never(chan) => chan.deadline(),
            ReceiverFlavor::List(_) | ReceiverFlavor::Array(_) | ReceiverFlavor::Zero(_) => None,
        }
    }

    fn addr(&self) -> usize {
        self.addr()
    }
}

impl<T> SelectHandle for Sender<T> {
    fn try_select(&self) -> Option<Token> {
        match &self.flavor {
            SenderFlavor::List(chan) => Some(chan.chan().select_try_send()),
            SenderFlavor::Array(chan) => chan.chan().select_try_send(),
            SenderFlavor::Zero(chan) => chan.chan().select_try(zero_kind::OFFER),
        }
    }

    fn is_ready(&self) -> bool {
        match &self.flavor {
            SenderFlavor::List(_) => true,
            SenderFlavor::Array(chan) => chan.chan().send_ready(),
            SenderFlavor::Zero(chan) => chan.chan().select_ready(zero_kind::OFFER),
        }
    }

    fn register(
        &self,
        waiter: &Arc<Waiter>,
        op: usize,
        expose: bool,
        own: &dyn Fn(usize) -> bool,
    ) -> Reg {
        match &self.flavor {
            SenderFlavor::List(_) => Reg::Ready,
            SenderFlavor::Array(chan) => {
                chan.chan().registry(false).register(waiter, op);
                Reg::Plain { seen: 0 }
            }
            SenderFlavor::Zero(chan) => {
                chan.chan()
                    .select_register(zero_kind::OFFER, waiter, op, expose, own)
            }
        }
    }

    fn recheck(&self, reg: &Reg) -> bool {
        match &self.flavor {
            SenderFlavor::List(_) => true,
            SenderFlavor::Array(chan) => chan.chan().send_ready(),
            SenderFlavor::Zero(chan) => chan.chan().select_recheck(zero_kind::OFFER, reg),
        }
    }

    fn unregister(&self, reg: Reg, selected: bool) -> Option<Token> {
        match (&self.flavor, reg) {
            (_, Reg::Ready) | (SenderFlavor::List(_), _) => None,
            (SenderFlavor::Array(chan), _) => {
                chan.chan().registry(false).leave(selected);
                None
            }
            (SenderFlavor::Zero(chan), reg) => {
                chan.chan()
                    .select_unregister(zero_kind::OFFER, reg, selected)
            }
        }
    }

    fn hand_on(&self, watching: bool) {
        if let SenderFlavor::Zero(chan) = &self.flavor {
            chan.chan().hand_on(zero_kind::OFFER, watching);
        }
    }

    fn addr(&self) -> usize {
        self.addr()
    }
}

/// The rendezvous flavor's kinds of operation, as its selection functions take them.
mod zero_kind {
    /// A send (an offer).
    pub(super) const OFFER: usize = 0;
    /// A receive (a request).
    pub(super) const REQUEST: usize = 1;
}

impl<T> Receiver<T> {
    /// Completes a receive claimed by a selection.
    ///
    /// # Safety
    /// `token` came from a selection of a receive on this channel and is used once.
    unsafe fn select_read(&self, token: Token) -> Result<T, RecvError> {
        if let Token::Disconnected = token {
            return Err(RecvError);
        }
        // SAFETY: per the contract, each flavor gets a token its selection made.
        let read = unsafe {
            match &self.flavor {
                ReceiverFlavor::List(chan) => chan.chan().select_read(token),
                ReceiverFlavor::Array(chan) => chan.chan().select_read(token),
                ReceiverFlavor::Zero(chan) => chan.chan().select_read(token),
                ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) => match token {
                    // SAFETY (of `from_instant`): a timer flavor is only in a
                    // `Receiver<Instant>`.
                    Token::Instant(at) => Ok(from_instant(at)),
                    _ => unreachable!("a timer's selection claims an instant"),
                },
                ReceiverFlavor::Never(_) => unreachable!("a never channel is never selected"),
            }
        };
        read.map_err(|()| RecvError)
    }
}

impl<T> Sender<T> {
    /// Completes a send claimed by a selection.
    ///
    /// # Safety
    /// `token` came from a selection of a send on this channel and is used once.
    unsafe fn select_write(&self, token: Token, msg: T) -> Result<(), SendError<T>> {
        if let Token::Disconnected = token {
            return Err(SendError(msg));
        }
        // SAFETY: per the contract, each flavor gets a token its selection made.
        let written = unsafe {
            match &self.flavor {
                SenderFlavor::List(chan) => chan.chan().select_write(token, msg),
                SenderFlavor::Array(chan) => chan.chan().select_write(token, msg),
                SenderFlavor::Zero(chan) => chan.chan().select_write(token, msg),
            }
        };
        written.map_err(SendError)
    }
}

/// A small per-thread pseudo-random generator for the fair order of a selection.
fn random_below(n: usize) -> usize {
    use std::cell::Cell;
    use std::num::Wrapping;
    std::thread_local! {
        static STATE: Cell<Wrapping<u32>> = const { Cell::new(Wrapping(0)) };
    }
    STATE.with(|state| {
        let mut x = state.get();
        if x.0 == 0 {
            // Seed once per thread from std's per-process random hash keys and this
            // thread's state address (no clock: Miri's isolation refuses it).
            use std::hash::{BuildHasher, Hasher};
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(state as *const _ as usize);
            let seed = hasher.finish();
            x = Wrapping(((seed >> 32) as u32 ^ seed as u32) | 1);
        }
        // xorshift32
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state.set(x);
        ((x.0 as u64 * n as u64) >> 32) as usize
    })
}

/// Waits on a set of channel operations and completes exactly one of them.
///
/// Add operations with [`send`](Select::send) and [`recv`](Select::recv) (each returns the
/// operation's index), then call [`select`](Select::select) or one of its variants: it
/// returns a [`SelectedOperation`], which must be completed with
/// [`SelectedOperation::send`] or [`SelectedOperation::recv`] on the same channel. When
/// several operations are ready, a random one is chosen ([`Select::new_biased`]: the first
/// added). An operation on a disconnected channel is ready: it completes with the error.
///
/// The [`select!`](crate::select!) macro is a shorter way to write most selections.
///
/// A `Select` can be built once and used again and again, in a loop.
///
#[doc = crate::doctest!()]
/// use std::thread;
/// use panama::{unbounded, Select};
///
/// let (s1, r1) = unbounded::<i32>();
/// let (s2, r2) = unbounded::<&str>();
/// thread::spawn(move || s2.send("two").unwrap());
///
/// let mut sel = Select::new();
/// let oper1 = sel.recv(&r1);
/// let oper2 = sel.recv(&r2);
/// let oper = sel.select();
/// match oper.index() {
///     i if i == oper1 => println!("{:?}", oper.recv(&r1)),
///     i if i == oper2 => assert_eq!(oper.recv(&r2), Ok("two")),
///     _ => unreachable!(),
/// }
/// # drop(s1);
/// ```
pub struct Select<'a> {
    /// The operations, each with its index.
    handles: Vec<(&'a dyn SelectHandle, usize)>,
    /// The index the next operation gets.
    next_index: usize,
    /// Pick the first ready operation instead of a random one.
    biased: bool,
}

// SAFETY: a `Select` only holds shared references to handles and calls methods that claim
// slots or register waits, which are safe from any thread; messages move only in
// `SelectedOperation::send`/`recv`, which take the typed handle, so `T: Send` is enforced
// where a message crosses threads. (crossbeam-channel's `Select` is `Send` and `Sync` too.)
unsafe impl Send for Select<'_> {}
// SAFETY: as above; every method that uses the handles takes `&mut self`.
unsafe impl Sync for Select<'_> {}

impl<'a> Select<'a> {
    /// An empty selection that picks a random ready operation.
    #[doc = crate::doctest!()]
    /// let sel = panama::Select::new();
    /// # drop(sel);
    /// ```
    pub fn new() -> Select<'a> {
        Select {
            handles: Vec::with_capacity(4),
            next_index: 0,
            biased: false,
        }
    }

    /// An empty selection that picks the first ready operation, in the order they were
    /// added.
    #[doc = crate::doctest!()]
    /// use panama::{unbounded, Select};
    ///
    /// let (s1, r1) = unbounded();
    /// let (s2, r2) = unbounded();
    /// s1.send(1).unwrap();
    /// s2.send(2).unwrap();
    /// let mut sel = Select::new_biased();
    /// let first = sel.recv(&r1);
    /// sel.recv(&r2);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), first);
    /// assert_eq!(oper.recv(&r1), Ok(1));
    /// ```
    pub fn new_biased() -> Select<'a> {
        Select {
            biased: true,
            ..Select::new()
        }
    }

    /// Adds a send on `s`; returns its index.
    #[doc = crate::doctest!()]
    /// use panama::{bounded, Select};
    ///
    /// let (s, r) = bounded(1);
    /// let mut sel = Select::new();
    /// let index = sel.send(&s);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), index);
    /// oper.send(&s, 7).unwrap();
    /// assert_eq!(r.recv(), Ok(7));
    /// ```
    pub fn send<T>(&mut self, s: &'a Sender<T>) -> usize {
        self.add(s)
    }

    /// Adds a receive on `r`; returns its index.
    #[doc = crate::doctest!()]
    /// use panama::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// s.send(7).unwrap();
    /// let mut sel = Select::new();
    /// let index = sel.recv(&r);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), index);
    /// assert_eq!(oper.recv(&r), Ok(7));
    /// ```
    pub fn recv<T>(&mut self, r: &'a Receiver<T>) -> usize {
        self.add(r)
    }

    fn add(&mut self, handle: &'a dyn SelectHandle) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        self.handles.push((handle, index));
        index
    }

    /// Removes the operation with index `index`.
    ///
    /// # Panics
    /// If there is no such operation (never added, or already removed).
    #[doc = crate::doctest!()]
    /// use panama::{unbounded, Select};
    ///
    /// let (s1, r1) = unbounded::<i32>();
    /// let (s2, r2) = unbounded();
    /// s2.send(2).unwrap();
    /// let mut sel = Select::new();
    /// let oper1 = sel.recv(&r1);
    /// let oper2 = sel.recv(&r2);
    /// sel.remove(oper1);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), oper2);
    /// assert_eq!(oper.recv(&r2), Ok(2));
    /// # drop(s1);
    /// ```
    pub fn remove(&mut self, index: usize) {
        assert!(
            index < self.next_index,
            "index out of bounds; {} >= {}",
            index,
            self.next_index,
        );
        let pos = self
            .handles
            .iter()
            .position(|&(_, i)| i == index)
            .expect("no operation with this index");
        // `remove`, not `swap_remove`: a biased selection keeps the order of the rest.
        self.handles.remove(pos);
    }

    /// Completes an operation that is ready now, if there is one.
    #[doc = crate::doctest!()]
    /// use panama::{unbounded, Select, TrySelectError};
    ///
    /// let (s, r) = unbounded::<i32>();
    /// let mut sel = Select::new();
    /// sel.recv(&r);
    /// assert_eq!(sel.try_select().err(), Some(TrySelectError));
    /// # drop(s);
    /// ```
    pub fn try_select(&mut self) -> Result<SelectedOperation<'a>, TrySelectError> {
        match self.run(None, false) {
            Some((index, token, addr)) => Ok(SelectedOperation::new(index, token, addr)),
            None => Err(TrySelectError),
        }
    }

    /// Blocks until an operation is ready, and selects it.
    ///
    /// # Panics
    /// If no operation was added (as crossbeam-channel's does).
    #[doc = crate::doctest!()]
    /// use panama::{bounded, Select};
    ///
    /// let (s, r) = bounded(0);
    /// std::thread::spawn(move || s.send(1).unwrap());
    /// let mut sel = Select::new();
    /// sel.recv(&r);
    /// assert_eq!(sel.select().recv(&r), Ok(1));
    /// ```
    pub fn select(&mut self) -> SelectedOperation<'a> {
        if self.handles.is_empty() {
            panic!("no operations have been added to `Select`");
        }
        let (index, token, addr) = self
            .run(Some(Deadline::Never), false)
            .expect("a selection without deadline ended");
        SelectedOperation::new(index, token, addr)
    }

    /// Blocks until an operation is ready or `timeout` passes. A timeout too large to
    /// represent waits forever. With no operations, waits out the timeout.
    #[doc = crate::doctest!()]
    /// use std::time::Duration;
    /// use panama::{unbounded, Select, SelectTimeoutError};
    ///
    /// let (s, r) = unbounded::<i32>();
    /// let mut sel = Select::new();
    /// sel.recv(&r);
    /// assert_eq!(
    ///     sel.select_timeout(Duration::from_millis(10)).err(),
    ///     Some(SelectTimeoutError)
    /// );
    /// # drop(s);
    /// ```
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        self.select_until(Deadline::after(timeout))
    }

    /// Blocks until an operation is ready or `deadline` passes.
    #[doc = crate::doctest!()]
    /// use std::time::{Duration, Instant};
    /// use panama::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// s.send(5).unwrap();
    /// let mut sel = Select::new();
    /// sel.recv(&r);
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// let oper = sel.select_deadline(deadline).unwrap();
    /// assert_eq!(oper.recv(&r), Ok(5));
    /// ```
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        self.select_until(Deadline::At(deadline))
    }

    fn select_until(
        &mut self,
        deadline: Deadline,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        match self.run(Some(deadline), false) {
            Some((index, token, addr)) => Ok(SelectedOperation::new(index, token, addr)),
            None => Err(SelectTimeoutError),
        }
    }

    /// The index of an operation that is ready now, if there is one. Nothing is claimed:
    /// another thread may take the operation before this thread does it.
    ///
    /// Unlike crossbeam-channel's, the `ready` methods never return an operation that was
    /// not seen ready.
    #[doc = crate::doctest!()]
    /// use panama::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// let mut sel = Select::new();
    /// let index = sel.recv(&r);
    /// assert!(sel.try_ready().is_err());
    /// s.send(1).unwrap();
    /// assert_eq!(sel.try_ready(), Ok(index));
    /// ```
    pub fn try_ready(&mut self) -> Result<usize, TryReadyError> {
        match self.run(None, true) {
            Some((index, _, _)) => Ok(index),
            None => Err(TryReadyError),
        }
    }

    /// Blocks until an operation is ready, and returns its index (see
    /// [`try_ready`](Select::try_ready)).
    ///
    /// # Panics
    /// If no operation was added.
    #[doc = crate::doctest!()]
    /// use panama::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// std::thread::spawn(move || s.send(1).unwrap());
    /// let mut sel = Select::new();
    /// let index = sel.recv(&r);
    /// assert_eq!(sel.ready(), index);
    /// assert_eq!(r.try_recv(), Ok(1));
    /// ```
    pub fn ready(&mut self) -> usize {
        if self.handles.is_empty() {
            panic!("no operations have been added to `Select`");
        }
        let (index, _, _) = self
            .run(Some(Deadline::Never), true)
            .expect("a wait without deadline ended");
        index
    }

    /// Blocks until an operation is ready or `timeout` passes (see
    /// [`try_ready`](Select::try_ready)).
    #[doc = crate::doctest!()]
    /// use std::time::Duration;
    /// use panama::{unbounded, Select};
    ///
    /// let (s, r) = unbounded::<i32>();
    /// let mut sel = Select::new();
    /// sel.recv(&r);
    /// assert!(sel.ready_timeout(Duration::from_millis(10)).is_err());
    /// # drop(s);
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, ReadyTimeoutError> {
        self.ready_until(Deadline::after(timeout))
    }

    /// Blocks until an operation is ready or `deadline` passes (see
    /// [`try_ready`](Select::try_ready)).
    #[doc = crate::doctest!()]
    /// use std::time::{Duration, Instant};
    /// use panama::{unbounded, Select};
    ///
    /// let (s, r) = unbounded::<i32>();
    /// let mut sel = Select::new();
    /// sel.recv(&r);
    /// let deadline = Instant::now() + Duration::from_millis(10);
    /// assert!(sel.ready_deadline(deadline).is_err());
    /// # drop(s);
    /// ```
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, ReadyTimeoutError> {
        self.ready_until(Deadline::At(deadline))
    }

    fn ready_until(&mut self, deadline: Deadline) -> Result<usize, ReadyTimeoutError> {
        match self.run(Some(deadline), true) {
            Some((index, _, _)) => Ok(index),
            None => Err(ReadyTimeoutError),
        }
    }

    /// The selection loop. `deadline` is `None` for a single try. With `ready`, nothing is
    /// claimed and the token returned means nothing. Returns the operation's index, its
    /// token and its channel's address.
    fn run(&mut self, deadline: Option<Deadline>, ready: bool) -> Option<(usize, Token, usize)> {
        if self.handles.is_empty() {
            match deadline {
                None => return None,
                Some(deadline) => {
                    crate::waiter::park_until(deadline, || false);
                    return None;
                }
            }
        }
        if !self.biased && !IS_LOOM {
            // Fisher-Yates: a fair order for this call. (Not under loom: a model must run
            // the same way every time its schedule repeats.)
            for i in (1..self.handles.len()).rev() {
                self.handles.swap(i, random_below(i + 1));
            }
        }
        let handles = &self.handles[..];
        let attempt = |pos: usize| -> Option<(usize, Token, usize)> {
            let (handle, index) = handles[pos];
            if ready {
                handle
                    .is_ready()
                    .then_some((index, Token::Disconnected, handle.addr()))
            } else {
                handle
                    .try_select()
                    .map(|token| (index, token, handle.addr()))
            }
        };
        let backoff = Backoff::new();
        let mut regs: Vec<Reg> = Vec::new();
        loop {
            if let Some(done) = (0..handles.len()).find_map(attempt) {
                return Some(done);
            }
            let deadline = match deadline {
                None => return None,
                Some(deadline) if deadline.expired() => return None,
                Some(deadline) => deadline,
            };
            if !IS_LOOM && !backoff.is_completed() {
                backoff.snooze();
                continue;
            }

            // Register everywhere, re-check everything, park.
            let waiter = Waiter::current();
            let mut early = false;
            regs.reserve(handles.len());
            for (pos, &(handle, _)) in handles.iter().enumerate() {
                let own = |addr: usize| {
                    regs.iter()
                        .any(|reg| matches!(reg, Reg::Exposed(p) if *p as usize == addr))
                };
                let reg = handle.register(&waiter, FIRST_OP + pos, !ready, &own);
                early = matches!(reg, Reg::Ready);
                regs.push(reg);
                if early {
                    break;
                }
            }
            if !early {
                early = regs
                    .iter()
                    .zip(handles)
                    .any(|(reg, &(handle, _))| handle.recheck(reg));
            }
            let outcome = if early {
                waiter.abort().err()
            } else {
                let mut wake_at = deadline;
                for &(handle, _) in handles {
                    if let Some(at) = handle.deadline() {
                        wake_at = match wake_at {
                            Deadline::At(t) if t <= at => wake_at,
                            _ => Deadline::At(at),
                        };
                    }
                }
                match waiter.wait(wake_at) {
                    Some(outcome) => Some(outcome),
                    None => waiter.abort().err(),
                }
            };
            let mut claimed = None;
            let mut woken_plain = None;
            for (pos, reg) in regs.drain(..).enumerate() {
                let selected = outcome == Some(FIRST_OP + pos);
                if selected && !matches!(reg, Reg::Exposed(_)) {
                    woken_plain = Some(matches!(reg, Reg::Watching));
                }
                if let Some(token) = handles[pos].0.unregister(reg, selected) {
                    claimed = Some(token);
                }
            }
            if let Some(op) = outcome {
                let (handle, index) = handles[op - FIRST_OP];
                if let Some(token) = claimed {
                    return Some((index, token, handle.addr()));
                }
                // A plain wake-up: that operation first.
                let done = attempt(op - FIRST_OP).or_else(|| (0..handles.len()).find_map(attempt));
                if let Some(watching) = woken_plain {
                    handle.hand_on(watching);
                }
                if let Some(done) = done {
                    return Some(done);
                }
            }
        }
    }
}

impl Clone for Select<'_> {
    fn clone(&self) -> Self {
        Select {
            handles: self.handles.clone(),
            next_index: self.next_index,
            biased: self.biased,
        }
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Select { .. }")
    }
}

/// An operation chosen by a [`Select`], to be completed with
/// [`send`](SelectedOperation::send) or [`recv`](SelectedOperation::recv) on the channel it
/// was added with.
///
/// Dropping it without completing it panics (as crossbeam-channel's does); a rendezvous
/// partner it was paired with is then told to try again, but a claimed slot of a bounded or
/// unbounded channel stays claimed, which can leave that channel stuck.
#[must_use]
pub struct SelectedOperation<'a> {
    token: Token,
    index: usize,
    addr: usize,
    _marker: PhantomData<fn(&'a ())>,
}

impl SelectedOperation<'_> {
    fn new(index: usize, token: Token, addr: usize) -> Self {
        SelectedOperation {
            token,
            index,
            addr,
            _marker: PhantomData,
        }
    }

    /// The index of the selected operation (what [`Select::send`] or [`Select::recv`]
    /// returned for it).
    #[doc = crate::doctest!()]
    /// use panama::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// s.send(()).unwrap();
    /// let mut sel = Select::new();
    /// let index = sel.recv(&r);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), index);
    /// oper.recv(&r).unwrap();
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Completes the selected send with `msg`.
    ///
    /// # Panics
    /// If `s` is not a sender of the channel the operation was added with.
    #[doc = crate::doctest!()]
    /// use panama::{bounded, Select, SendError};
    ///
    /// let (s, r) = bounded::<i32>(0);
    /// drop(r);
    /// let mut sel = Select::new();
    /// sel.send(&s);
    /// assert_eq!(sel.select().send(&s, 10), Err(SendError(10)));
    /// ```
    pub fn send<T>(self, s: &Sender<T>, msg: T) -> Result<(), SendError<T>> {
        assert!(
            SelectHandle::addr(s) == self.addr,
            "passed a sender that wasn't selected"
        );
        let this = ManuallyDrop::new(self);
        // SAFETY: the token came from this channel's selection of a send (the address
        // check), and `this` is never used or dropped again.
        unsafe { s.select_write(this.token, msg) }
    }

    /// Completes the selected receive.
    ///
    /// # Panics
    /// If `r` is not a receiver of the channel the operation was added with.
    #[doc = crate::doctest!()]
    /// use panama::{bounded, RecvError, Select};
    ///
    /// let (s, r) = bounded::<i32>(0);
    /// drop(s);
    /// let mut sel = Select::new();
    /// sel.recv(&r);
    /// assert_eq!(sel.select().recv(&r), Err(RecvError));
    /// ```
    pub fn recv<T>(self, r: &Receiver<T>) -> Result<T, RecvError> {
        assert!(
            SelectHandle::addr(r) == self.addr,
            "passed a receiver that wasn't selected"
        );
        let this = ManuallyDrop::new(self);
        // SAFETY: the token came from this channel's selection of a receive (the address
        // check), and `this` is never used or dropped again.
        unsafe { r.select_read(this.token) }
    }
}

impl fmt::Debug for SelectedOperation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("SelectedOperation { .. }")
    }
}

impl Drop for SelectedOperation<'_> {
    fn drop(&mut self) {
        match self.token {
            Token::Zero { packet, abandon } | Token::ZeroSelect { packet, abandon } => {
                // SAFETY: the token was not used: its packet is still ours to give up.
                unsafe { abandon(packet) }
            }
            _ => {}
        }
        if !std::thread::panicking() {
            panic!("dropped `SelectedOperation` without completing the operation");
        }
    }
}
