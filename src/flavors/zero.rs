//! The zero-capacity flavor: a rendezvous, where a send completes only when a receiver takes
//! the message, handed over directly between the two threads.
//!
//! # Implementation notes
//!
//! ## One exposed waiter, one word
//!
//! A thread that cannot complete at once *exposes* a packet on its own stack in `slot`, the
//! channel's one word: a sender's packet holds its message (an *offer*), a receiver's packet
//! is an empty place for one (a *request*). The kind is the pointer's low bit (packets are
//! aligned, so it is free): the kind must be known together with the pointer, because a
//! thread may only dereference a packet after claiming it, and it is what makes "who is
//! exposed" a single compare-and-swap.
//!
//! A thread that finds the other kind exposed *claims* it with a CAS of `slot` back to null,
//! and then alone owns the packet until it publishes the outcome in the packet's `state`:
//! a sender writes its message into the request, a receiver moves the message out of the
//! offer. The exposed thread waits (spins briefly, then parks) for `state` to change. Its
//! packet lives until then, so the claimer reads the owner's thread handle *before*
//! publishing, and touches nothing of the packet after.
//!
//! A thread that finds its own kind exposed parks in that kind's registry until the slot
//! stops holding its kind (a `try_` operation reports full or empty instead). Whoever removes
//! a packet from the slot (its claimer, its owner retracting it on timeout, or disconnection)
//! notifies that kind's registry, after completing the packet so that its owner does not
//! wait through a registry pass; the removing CAS is the SeqCst RMW the wake-up handshake of
//! `waiter.rs` rests on. The woken thread either exposes its own packet (and the others keep
//! waiting behind it) or completes by claiming the other kind; in that case it passes the
//! wake-up on to the next of its kind, or they would wait for a packet that never comes.
//!
//! ## No one parks beside a partner
//!
//! The invariant that rules out lost wake-ups here: *a registry with a parked waiter has its
//! own kind exposed in the slot, or a wake-up on its way to one of its waiters.* It holds
//! because of three rules:
//!
//! 1. A thread parks only if its re-check, made after registering, saw its own kind in the
//!    slot. A lost race for the other kind (the claim CAS failed) means the slot changed, so
//!    the step looks again; it never answers "wait" for it. (It once did: a receiver whose
//!    re-check saw an offer that a `try_recv` or the offer's expiring sender took first
//!    parked with the slot empty, and nothing notifies receivers when an offer comes or
//!    goes, so the next sender exposed its offer and parked too.)
//! 2. Whoever removes a packet notifies its kind's registry (the Dekker pair: the removing
//!    CAS against the waiter's registration and re-check).
//! 3. A thread that consumed a wake-up and does not expose a packet of its kind hands the
//!    wake-up on: after completing by a claim (`send`, `recv`), after completing on its
//!    re-check while selected (`block_on`), or by retracting its exposed packet (rule 2).
//!
//! The exposing side needs no notification for plain waiters: a thread exposes only into an
//! empty slot, and the other kind's waiters, parked behind a packet that is gone, have a
//! wake-up on its way. (It notifies the `watchers` registry, where only `Select::ready`
//! waits: see "Selection".)
//!
//! ## Exposing a parked sender's offer
//!
//! With several senders, one exposes its offer and the others wait in the senders
//! registry. A waiting sender registers with its message already in its packet
//! (`waiter.rs`, "Completing a parked operation"). When a receiver claims the exposed offer,
//! the notification it sends the senders registry, if it serves it itself, exposes the
//! oldest parked sender's packet in the now empty slot for it (`expose_parked_offer`), so
//! the receiver's next receive finds an offer at once instead of waiting for a woken sender
//! to be scheduled and expose one. The parked sender's wait then ends as *handed*: it is
//! not woken for that (the receiver that takes the offer, disconnection, or its own
//! timeout completes the packet and wakes it), and from there on it waits exactly like a
//! sender that exposed its own offer. Because the wake-up it gets comes from whoever
//! completed the packet, it watches the packet's state as well as its wait's: the
//! claimer's store into the wait is not ordered before that wake-up.
//!
//! ## Timeouts: exactly one outcome
//!
//! An exposed thread whose deadline passes retracts its packet with a CAS from its pointer
//! to null. If that succeeds nobody claimed it: a sender takes its message back. If it fails,
//! a claimer owns the packet and is completing the exchange: the thread waits for `state` and
//! the exchange counts as done. So a message is delivered or returned, never both or neither.
//!
//! ## Selection
//!
//! A selecting thread exposes a [`SelPacket`] (heap, shared by owner and slot, tagged
//! [`SELECT`]) in every empty slot it waits on; a claimer that takes one from the slot must
//! then claim the selecting thread's wait, and lets the packet go if that fails. The message
//! of a selected send is written only when `SelectedOperation::send` runs, so the receiving
//! side of a `SelPacket` waits for it. A selection waiting to send and to receive on one
//! channel exposes one packet for both ([`BOTH`]). docs/DESIGN.md ("Rendezvous flavor", "Selection")
//! has the whole protocol; `select_*` below are its steps.
//!
//! ## Disconnection
//!
//! One flag, set by the last sender or the last receiver. The thread that sets it claims
//! whatever packet is exposed (necessarily the other side's) and marks it `DISCONNECTED`, then
//! wakes both registries. Every exposing CAS is followed by a look at the flag: the flag swap
//! and the exposing CAS are SeqCst, so one of the two sees the other. That includes an
//! exposure made on another thread's behalf (`expose_parked_offer`), whose owner is not
//! woken and so cannot look for itself: seeing the flag, it wakes the owner, which then looks
//! at the flag and takes its offer back itself (the exposer may not: see there). It once
//! looked only before its CAS: a disconnection in between found the slot empty, and the
//! owner waited forever.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

use crossbeam_utils::CachePadded;

use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::pause;
use crate::select::{Reg, Token};
use crate::spin::SpinPolicy;
use crate::sync::thread::{self, Thread};
use crate::sync::{
    seqcst_accesses_ordered, Arc, AtomicBool, AtomicPtr, AtomicUsize, Ordering, UnsafeCell,
};
use crate::waiter::{
    block_on, park_until, wait_registered, Completion, Deadline, Registry, Waiter, COMPLETED,
    FIRST_OP,
};

#[cfg(all(test, not(loom)))]
#[path = "zero_interleavings.rs"]
mod interleavings;

/// `Packet::state`: exposed, not yet claimed (or claimed and not yet completed).
const WAITING: usize = 0;
/// `Packet::state`: the exchange happened.
const DONE: usize = 1;
/// `Packet::state`: claimed by disconnection; no exchange happened.
const DISCONNECTED: usize = 2;
/// `Packet::state`: claimed by a selecting thread whose selected operation was dropped
/// before it completed (its `SelectedOperation` was dropped in a panic): no exchange
/// happened, and the owner tries again. `SelPacket::state`: the side that was to write the
/// message, or the one that was to read it, will not.
const RETRY: usize = 3;

/// Low bit of `slot`: the exposed packet is a receiver's request (clear: a sender's offer).
const REQUEST: usize = 1;
/// Second bit of `slot`: the exposed packet is a selecting thread's [`SelPacket`] (clear:
/// a [`Packet`] on its owner's stack). See "Selection".
const SELECT: usize = 2;
/// Third bit of `slot`, on a [`SelPacket`] only (tagged `REQUEST | SELECT` too): the
/// selecting thread waits to send *and* to receive on this channel, and either kind may
/// claim the packet, for the operation of the other kind. One packet for both keeps the
/// thread from ever pairing with itself, and from filling the slot with a request that
/// hides its offer (a plain receiver would park behind it for ever).
const BOTH: usize = 4;
/// All tag bits.
const TAGS: usize = REQUEST | SELECT | BOTH;

/// `packet`'s pointer with the kind bit `tag` (0 or [`REQUEST`]) added.
fn tagged<T>(packet: &Packet<T>, tag: usize) -> *mut Packet<T> {
    // `wrapping_add` on the byte pointer keeps the pointer's provenance.
    (packet as *const Packet<T>)
        .cast_mut()
        .cast::<u8>()
        .wrapping_add(tag)
        .cast()
}

/// Whether a slot value is a receiver's request.
fn is_request<T>(tagged: *mut Packet<T>) -> bool {
    tagged as usize & REQUEST != 0
}

/// The packet a slot value points to, without its kind bit.
fn untagged<T>(tagged: *mut Packet<T>) -> *const Packet<T> {
    tagged
        .cast::<u8>()
        .wrapping_sub(tagged as usize & TAGS)
        .cast::<Packet<T>>()
        .cast_const()
}

/// Whether a slot value is a selecting thread's [`SelPacket`].
fn is_select<T>(tagged: *mut Packet<T>) -> bool {
    tagged as usize & SELECT != 0
}

/// Whether a thread of the kind whose other kind is `other` may claim slot value `cur`.
fn claimable<T>(cur: *mut Packet<T>, other: usize) -> bool {
    cur as usize & REQUEST == other || cur as usize & BOTH != 0
}

/// What an exposed thread waits on, on its own stack.
struct Packet<T> {
    /// [`WAITING`], [`DONE`] or [`DISCONNECTED`]; written once, by the claimer.
    state: AtomicUsize,
    /// An offer's message (initialized by its owner), or a request's place (initialized by
    /// the claiming sender when it stores `DONE`).
    msg: UnsafeCell<MaybeUninit<T>>,
    /// The owner, to unpark.
    thread: Thread,
}

impl<T> Packet<T> {
    fn new(msg: Option<T>) -> Packet<T> {
        Packet {
            state: AtomicUsize::new(WAITING),
            msg: UnsafeCell::new(match msg {
                Some(msg) => MaybeUninit::new(msg),
                None => MaybeUninit::uninit(),
            }),
            thread: thread::current(),
        }
    }

    /// Publishes the outcome to the owner and wakes it. The packet may be gone as soon as
    /// the state is stored, so nothing of it is touched after.
    ///
    /// # Safety
    /// The caller claimed this packet (removed it from the slot) and calls this once.
    unsafe fn complete(packet: *const Packet<T>, state: usize) {
        // SAFETY: per the contract the packet is alive until `state` is stored.
        let thread = unsafe { (*packet).thread.clone() };
        // ORDERING: Release publishes the message written into (or moved out of) the
        // packet to the owner's Acquire load in `wait`.
        // SAFETY: as above.
        unsafe { (*packet).state.store(state, Ordering::Release) };
        thread.unpark();
    }

    /// Waits (spinning briefly, then parking) until a claimer completes the packet, or the
    /// deadline passes. Returns the state, `WAITING` meaning the deadline passed.
    fn wait(&self, deadline: Deadline, policy: &SpinPolicy) -> usize {
        // ORDERING (both loads): Acquire pairs with the Release in `complete`.
        let mut spin = policy.start();
        let mut state;
        loop {
            state = self.state.load(Ordering::Acquire);
            if state != WAITING {
                spin.done();
                return state;
            }
            if deadline.expired() {
                return WAITING;
            }
            if !spin.snooze() {
                break;
            }
        }
        let parking = spin.park();
        park_until(deadline, || {
            state = self.state.load(Ordering::Acquire);
            state != WAITING
        });
        spin.parked(parking);
        state
    }
}

/// What a selecting thread exposes ("Selection"): shared by the owner and the slot (one
/// strong count each), so that whoever lets go last frees it and no one waits for another
/// to finish with it.
#[repr(align(8))] // Three tag bits ([`TAGS`]), on 32-bit targets too.
struct SelPacket<T> {
    /// The selecting thread's wait: claiming it is what decides the selection.
    waiter: Arc<Waiter>,
    /// The operation id this packet stands for in that wait.
    op: usize,
    /// The kind of operation `op` is: [`REQUEST`] for a receive, 0 for a send.
    kind: usize,
    /// For a [`BOTH`] packet, the id of the owner's operation of the other kind (stored
    /// before the CAS that tags the packet `BOTH` publishes it).
    other_op: AtomicUsize,
    /// [`WAITING`] until the message is written ([`DONE`]), the operation fails by
    /// disconnection ([`DISCONNECTED`]), or one side gives up ([`RETRY`]).
    state: AtomicUsize,
    /// The message, written by the sending side before it stores `DONE`.
    msg: UnsafeCell<MaybeUninit<T>>,
    /// The receiving side's thread, to unpark once the message is written: the owner's for
    /// a request (set when it is made), the claimer's for an offer (set between its claim
    /// of the wait and its `finish`, which publishes it to the owner).
    reader: UnsafeCell<Option<Thread>>,
}

impl<T> SelPacket<T> {
    fn new(waiter: &Arc<Waiter>, op: usize, kind: usize) -> SelPacket<T> {
        SelPacket {
            waiter: waiter.clone(),
            op,
            kind,
            other_op: AtomicUsize::new(0),
            state: AtomicUsize::new(WAITING),
            msg: UnsafeCell::new(MaybeUninit::uninit()),
            // The owner, which reads when its receive is selected; a claimer that receives
            // puts itself here (`set_reader`).
            reader: UnsafeCell::new(Some(thread::current())),
        }
    }

    /// The operation a claimer that took slot value `cur` and claimed the wait completes:
    /// for a claiming receiver (`receiving`) of a [`BOTH`] packet, the owner's send.
    fn op_for(&self, cur: *mut Packet<T>, receiving: bool) -> usize {
        // A receiving claimer pairs with the owner's send (kind 0), a sending one with its
        // receive.
        let wanted = if receiving { 0 } else { REQUEST };
        if cur as usize & BOTH == 0 || self.kind == wanted {
            self.op
        } else {
            // ORDERING: Relaxed: stored before the Release of the CAS that tagged `cur`
            // `BOTH`, which our taking CAS (Acquire) read.
            self.other_op.load(Ordering::Relaxed)
        }
    }

    /// Records the current thread as the reader: the claimer of an offer, before it
    /// finishes the claim.
    fn set_reader(&self) {
        // SAFETY: only the claimer writes `reader` of an offer, before its `finish`
        // publishes it; the owner reads it after seeing the outcome.
        self.reader
            .with_mut(|r| unsafe { *r = Some(thread::current()) });
    }

    /// The reader's thread (see `reader`).
    fn reader(&self) -> Option<Thread> {
        // SAFETY: written before it was published to us (see `reader`), never again.
        self.reader.with(|r| unsafe { (*r).clone() })
    }

    /// Writes `msg` for the reader, unless the reader gave up; then hands it back.
    fn write(&self, msg: T) -> Result<(), T> {
        self.msg.with_mut(|p| {
            // SAFETY: only the sending side writes the message, once.
            unsafe { p.write(MaybeUninit::new(msg)) }
        });
        let reader = self.reader();
        // ORDERING: Release publishes the message to the reader's Acquire; Acquire on
        // failure is not needed (the message is ours again either way).
        match self
            .state
            .compare_exchange(WAITING, DONE, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => {
                if let Some(reader) = reader {
                    reader.unpark();
                }
                Ok(())
            }
            // SAFETY: the reader gave up before our message was published: it is ours.
            Err(_) => Err(self.msg.with(|p| unsafe { p.read().assume_init() })),
        }
    }

    /// Waits for the sending side and takes the message: `None` if it gave up instead,
    /// `Some(Err(()))` if the operation failed by disconnection.
    fn read_or_disconnected(&self, policy: &SpinPolicy) -> Option<Result<T, ()>> {
        let mut spin = policy.start();
        let state = loop {
            // ORDERING: Acquire pairs with the Release in `write` (or the disconnecting
            // thread's store).
            let state = self.state.load(Ordering::Acquire);
            if state != WAITING {
                spin.done();
                break state;
            }
            if !spin.snooze() {
                let parking = spin.park();
                let mut state = WAITING;
                park_until(Deadline::Never, || {
                    // ORDERING: as above.
                    state = self.state.load(Ordering::Acquire);
                    state != WAITING
                });
                spin.parked(parking);
                break state;
            }
        };
        match state {
            // SAFETY: `DONE`: the writer initialized the message (Acquire above); we are
            // the only reader.
            DONE => Some(Ok(self.msg.with(|p| unsafe { p.read().assume_init() }))),
            DISCONNECTED => Some(Err(())),
            _ => None,
        }
    }

    /// [`read_or_disconnected`](SelPacket::read_or_disconnected) for a claimer, which
    /// cannot see a disconnection: the packet was claimed by it, not by the disconnecting
    /// thread.
    fn read(&self, policy: &SpinPolicy) -> Option<T> {
        match self.read_or_disconnected(policy) {
            Some(Ok(msg)) => Some(msg),
            _ => None,
        }
    }

    /// A selected operation holding this packet was dropped before completing: tell the
    /// other side, so that it tries again instead of waiting; drop a message already
    /// written for us.
    ///
    /// # Safety
    /// `raw` is a strong count of a `SelPacket<T>`, given up here.
    unsafe fn abandon(raw: *const ()) {
        // SAFETY: per the contract.
        let packet = unsafe { Arc::from_raw(raw.cast::<SelPacket<T>>()) };
        // ORDERING: Acquire on failure pairs with the writer's Release, for the message.
        match packet
            .state
            .compare_exchange(WAITING, RETRY, Ordering::Relaxed, Ordering::Acquire)
        {
            Ok(_) => {
                if let Some(reader) = packet.reader() {
                    reader.unpark();
                }
            }
            Err(DONE) => {
                // SAFETY: written for us and not read: we drop it.
                drop(packet.msg.with(|p| unsafe { p.read().assume_init() }));
            }
            Err(_) => {}
        }
    }
}

/// What [`Channel::step`] took from the slot.
enum Taken<T> {
    /// A packet on its owner's stack; the taker must complete it.
    Plain(*mut Packet<T>),
    /// A selecting thread's packet whose wait the taker claimed (`BUSY`): the taker must
    /// finish that claim. The slot value is kept for [`Channel::removed`].
    Select(Arc<SelPacket<T>>, *mut Packet<T>),
}

/// The rendezvous channel.
pub(crate) struct Channel<T> {
    /// Null, an offer (a sender's packet), or a request (a receiver's packet, low bit set).
    slot: CachePadded<AtomicPtr<Packet<T>>>,
    /// Set once the last sender or the last receiver is gone.
    disconnected: AtomicBool,
    /// Senders waiting for the slot to stop holding another sender's offer.
    senders: Registry,
    /// Receivers waiting for the slot to stop holding another receiver's request.
    receivers: Registry,
    /// Selections that only watch for an operation to become ready (`Select::ready`):
    /// notified of every exposure. Plain waiters never wait here, so they never pay for it.
    watchers: Registry,
    _marker: PhantomData<T>,
}

// SAFETY: messages of type `T` cross threads, so `T: Send` is required; packets are only
// touched by their owner and, between claiming and completing, by their one claimer.
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

/// What a sender or receiver did not find.
enum Step<R> {
    /// Done, with this result.
    Done(R),
    /// Expose our own packet (the slot is empty).
    Expose,
    /// The slot holds our own kind: wait for it to change.
    Wait,
}

impl<T> Channel<T> {
    pub(crate) fn new() -> Channel<T> {
        Channel {
            slot: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            disconnected: AtomicBool::new(false),
            senders: Registry::new(),
            receivers: Registry::new(),
            watchers: Registry::new(),
            _marker: PhantomData,
        }
    }

    /// The registry of the kind of packet `tagged` is.
    fn registry_of(&self, tagged: *mut Packet<T>) -> &Registry {
        if is_request(tagged) {
            &self.receivers
        } else {
            &self.senders
        }
    }

    /// Removes `tagged` from the slot if it is still there. On success the caller owns the
    /// packet until it completes it, and must then call [`removed`](Channel::removed) (the
    /// disconnecting thread instead wakes every waiter).
    fn take(&self, tagged: *mut Packet<T>) -> bool {
        // ORDERING: SeqCst: the RMW the registries' wake-up handshake rests on; Acquire
        // also makes the owner's writes to the packet (its message) visible to us.
        let taken = self
            .slot
            .compare_exchange(tagged, ptr::null_mut(), Ordering::SeqCst, Ordering::Relaxed)
            .is_ok();
        if taken {
            // Under loom, the removal's place in the SeqCst order (waiter.rs, "No lost
            // wake-up"): before the notification's load of `waiters` in `removed`, and the
            // sender's in `send`.
            seqcst_accesses_ordered();
        }
        taken
    }

    /// Notifies the registry of the kind of packet `tagged` is, which a successful
    /// [`take`](Channel::take) removed from the slot: its waiters parked because the slot
    /// held their kind, and it no longer does. Called after the packet is completed, so
    /// that its owner does not wait through a registry pass (which may run for others too).
    fn removed(&self, tagged: *mut Packet<T>) {
        if is_request(tagged) {
            self.receivers.notify_one();
        } else {
            self.notify_sender();
        }
    }

    /// Wakes one sender waiting for the slot to stop holding an offer; if this thread
    /// serves that itself, it exposes the oldest parked sender's offer for it
    /// ("Exposing a parked sender's offer").
    fn notify_sender(&self) {
        // SAFETY: the senders registry only holds packets registered by `send`, and the
        // registry calls this only on a wait it claimed.
        self.senders
            .notify_one_with(&|packet| unsafe { self.expose_parked_offer(packet) });
    }

    /// Exposes a parked sender's offer for it, if the slot is empty.
    ///
    /// # Safety
    /// `packet` is a `Packet<T>` holding a message, registered by a sender of this channel
    /// in `send`, whose wait the caller claimed.
    unsafe fn expose_parked_offer(&self, packet: *mut ()) -> Completion {
        if self.disconnected.load(Ordering::SeqCst) {
            return Completion::Failed;
        }
        pause::point("zero::expose_parked_offer::cas");
        // SAFETY: per the contract the packet is alive: its owner does not return while its
        // wait is claimed (`BUSY`) and its packet still `WAITING`, and the packet can leave
        // `WAITING` only after the CAS below publishes it. That CAS is our last use of the
        // packet, its address included: from then on a receiver may complete it and its
        // owner return.
        let tagged = tagged(unsafe { &*packet.cast::<Packet<T>>() }, 0);
        // ORDERING: as in `expose`: SeqCst, and Release publishes the packet's message
        // (written by its owner before its Release push in `register_with`, acquired by
        // the combiner's swap) to the claiming receiver.
        if self
            .slot
            .compare_exchange(ptr::null_mut(), tagged, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return Completion::Failed;
        }
        // The owner is not woken for a `Handed` exposure, so nobody else would look at the
        // flag for it: we must, after the CAS. The last receiver's `disconnect` may have run
        // between our first look and the CAS, found the slot empty, and had no packet to
        // fail; its `notify_all` no longer reaches the owner, whose wait we hold. Flag swap
        // and slot CAS are SeqCst, so either its load of the slot sees our offer (it then
        // takes and fails it, and wakes the owner), or our load below sees the flag.
        seqcst_accesses_ordered();
        self.exposed();
        pause::point("zero::expose_parked_offer::exposed");
        if self.disconnected.load(Ordering::SeqCst) {
            // Wake the owner: told its offer is exposed, it looks at the flag in
            // `wait_exposed` (after our Release of `COMPLETED`, so it sees the flag set) and
            // takes its offer back itself, unless a claimer took it first. We may not: once
            // the CAS above published the packet, a receiver may complete it, and its owner
            // return and expose a new packet at the same address, which a CAS of ours would
            // take for this one.
            Completion::HandedWake
        } else {
            // The receiver that claims the offer, disconnection, or the owner's own
            // retraction completes the packet and wakes its thread.
            Completion::Handed
        }
    }

    /// Whether a send would find another offer exposed right now (and no disconnection),
    /// without claiming anything: the re-check of a sender registered with its offer.
    fn send_would_wait(&self) -> bool {
        if self.disconnected.load(Ordering::SeqCst) {
            return false;
        }
        let cur = self.slot.load(Ordering::SeqCst);
        !cur.is_null() && !is_request(cur)
    }

    /// One attempt: if the other kind (`other`: [`REQUEST`] for a sender, 0 for a receiver)
    /// is exposed, claim it and return what was taken; the caller does the exchange and
    /// notifies the packet's kind. Answers [`Step::Wait`] only when it saw its own kind
    /// exposed: a lost race for the other kind means the slot changed, so it looks again.
    /// (A failed claim read as "wait" once let a receiver park beside an exposed offer: "No
    /// one parks beside a partner".) A selecting thread's packet is claimed twice: from the
    /// slot, then through its wait ("Selection"); if the second claim fails (its selection
    /// chose another operation), the packet is let go and the step looks again.
    fn step(&self, other: usize) -> Step<Result<Taken<T>, ()>> {
        loop {
            if self.disconnected.load(Ordering::SeqCst) {
                return Step::Done(Err(()));
            }
            // ORDERING: Acquire is not needed for the pointer (we only use it after
            // claiming, which is Acquire); Relaxed would do, SeqCst keeps the handshake
            // simple to argue.
            let cur = self.slot.load(Ordering::SeqCst);
            if cur.is_null() {
                return Step::Expose;
            }
            if !claimable(cur, other) {
                return Step::Wait;
            }
            pause::point("zero::step::claim");
            if !self.take(cur) {
                continue;
            }
            if !is_select(cur) {
                return Step::Done(Ok(Taken::Plain(cur)));
            }
            // SAFETY: the slot held one strong count of the `SelPacket` (see
            // `select_register`), and our `take` moved it to us.
            let packet = unsafe { Arc::from_raw(untagged(cur).cast::<SelPacket<T>>()) };
            if packet.waiter.try_claim() {
                return Step::Done(Ok(Taken::Select(packet, cur)));
            }
            // Its selection is decided otherwise: the packet is dead. It left the slot, so
            // its kind's waiters hear of it, as for any removal.
            drop(packet);
            self.removed(cur);
        }
    }

    /// One attempt of a send: hand `msg` to an exposed receiver if there is one.
    fn send_step(&self, msg: &mut Option<T>) -> Step<Result<(), ()>> {
        match self.step(REQUEST) {
            Step::Done(Ok(Taken::Plain(cur))) => {
                let msg = msg.take().expect("a send hands over one message");
                // SAFETY: we claimed the plain request `cur`.
                unsafe { self.fill_request(cur, msg) };
                Step::Done(Ok(()))
            }
            Step::Done(Ok(Taken::Select(packet, cur))) => {
                let msg = msg.take().expect("a send hands over one message");
                // Written before the claim is finished, so the owner, woken by `finish`,
                // finds it at once. Its owner cannot have given up: it has not yet been
                // told it was selected.
                if packet.write(msg).is_err() {
                    unreachable!("a selecting receiver gave up before it was selected");
                }
                packet.waiter.finish(packet.op_for(cur, false), true);
                self.removed(cur);
                Step::Done(Ok(()))
            }
            Step::Done(Err(())) => Step::Done(Err(())),
            Step::Expose => Step::Expose,
            Step::Wait => Step::Wait,
        }
    }

    /// Completes a plain request claimed by a send: writes `msg` into it and notifies.
    ///
    /// # Safety
    /// `cur` is a plain request this thread took from the slot and has not completed.
    unsafe fn fill_request(&self, cur: *mut Packet<T>, msg: T) {
        let packet = untagged(cur);
        // SAFETY: we claimed the request: its owner waits for `state`, and only we
        // write its place, once.
        unsafe {
            (*packet).msg.with_mut(|p| p.write(MaybeUninit::new(msg)));
            Packet::complete(packet, DONE);
        }
        self.removed(cur);
    }

    /// Completes a plain offer claimed by a receive: moves its message out and notifies.
    ///
    /// # Safety
    /// `cur` is a plain offer this thread took from the slot and has not completed.
    unsafe fn empty_offer(&self, cur: *mut Packet<T>) -> T {
        let packet = untagged(cur);
        // SAFETY: we claimed the offer: its owner initialized the message before exposing
        // it (published by the exposing CAS, acquired by ours) and waits for `state`; we
        // move the message out once.
        let msg = unsafe {
            let msg = (*packet).msg.with(|p| p.read().assume_init());
            Packet::complete(packet, DONE);
            msg
        };
        self.removed(cur);
        msg
    }

    /// One attempt of a receive: take the message of an exposed sender if there is one.
    fn recv_step(&self) -> Step<Result<T, ()>> {
        loop {
            return match self.step(0) {
                Step::Done(Ok(Taken::Plain(cur))) => {
                    // SAFETY: we claimed the plain offer `cur`.
                    Step::Done(Ok(unsafe { self.empty_offer(cur) }))
                }
                Step::Done(Ok(Taken::Select(packet, cur))) => {
                    // A selecting sender's offer holds no message yet: its owner writes it
                    // once woken for this operation.
                    packet.set_reader();
                    packet.waiter.finish(packet.op_for(cur, true), true);
                    self.removed(cur);
                    match packet.read(&self.receivers.spin) {
                        Some(msg) => Step::Done(Ok(msg)),
                        None => continue, // Its selected operation was dropped: look again.
                    }
                }
                Step::Done(Err(())) => Step::Done(Err(())),
                Step::Expose => Step::Expose,
                Step::Wait => Step::Wait,
            };
        }
    }

    /// Exposes `packet` and waits for a claimer, disconnection, or the deadline. Returns the
    /// final state; `WAITING` means the packet was retracted unclaimed (timeout, or
    /// disconnection noticed by us), so it still holds what its owner put in.
    fn expose(&self, packet: &Packet<T>, tag: usize, deadline: Deadline) -> Option<usize> {
        let tagged = tagged(packet, tag);
        // ORDERING: SeqCst: Release publishes the packet (an offer's message) to the
        // claimer's Acquire; SeqCst orders it before our load of `disconnected` below.
        if self
            .slot
            .compare_exchange(ptr::null_mut(), tagged, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return None; // Someone else got the slot first: the caller tries again.
        }
        self.exposed();
        pause::point("zero::expose::exposed");
        Some(self.wait_exposed(packet, tagged, deadline))
    }

    /// The rest of [`expose`](Channel::expose) once `tagged` is in the slot (put there by
    /// its owner, or for it by `expose_parked_offer`): waits for a claimer, disconnection
    /// or the deadline, and returns the final state as `expose` does.
    fn wait_exposed(
        &self,
        packet: &Packet<T>,
        tagged: *mut Packet<T>,
        deadline: Deadline,
    ) -> usize {
        // The disconnecting thread sets the flag, then claims the slot: one of us sees the
        // other (both SeqCst; an exposing CAS done for us happened before our wait's outcome
        // said so).
        seqcst_accesses_ordered();
        let state = if self.disconnected.load(Ordering::SeqCst) {
            WAITING
        } else {
            packet.wait(deadline, &self.registry_of(tagged).spin)
        };
        if state != WAITING {
            return state;
        }
        // Deadline passed or disconnected: retract, unless a claimer got there first.
        if self.take(tagged) {
            self.removed(tagged);
            WAITING
        } else {
            packet.wait(Deadline::Never, &self.registry_of(tagged).spin)
        }
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut msg = Some(msg);
        match self.send_step(&mut msg) {
            Step::Done(Ok(())) => Ok(()),
            Step::Done(Err(())) => Err(TrySendError::Disconnected(msg.unwrap())),
            // No receiver exposed: empty slot, or another offer.
            Step::Expose | Step::Wait => Err(TrySendError::Full(msg.unwrap())),
        }
    }

    pub(crate) fn send(&self, msg: T, deadline: Deadline) -> Result<(), SendTimeoutError<T>> {
        let mut msg = Some(msg);
        let mut spin = self.senders.spin.start();
        loop {
            match self.send_step(&mut msg) {
                Step::Done(Ok(())) => {
                    spin.done();
                    // We claimed a request instead of exposing an offer, so the slot holds no
                    // offer of ours for parked senders to wait behind: pass their wake-up on.
                    self.notify_sender();
                    return Ok(());
                }
                Step::Done(Err(())) => return Err(SendTimeoutError::Disconnected(msg.unwrap())),
                Step::Expose => {
                    let packet = Packet::new(msg.take());
                    match self.expose(&packet, 0, deadline) {
                        // Slot taken, or a selecting receiver's claim was dropped: retry.
                        None | Some(RETRY) => msg = Some(Self::take_back(&packet)),
                        Some(state) => return self.send_outcome(&packet, state),
                    }
                    continue;
                }
                Step::Wait => {}
            }
            // Another offer is exposed: wait for the slot to clear.
            if deadline.expired() {
                return Err(SendTimeoutError::Timeout(msg.unwrap()));
            }
            if spin.pause() {
                continue;
            }
            // Register with our offer ready in a packet, so that the receiver that takes
            // the exposed offer can expose ours in its place ("Exposing a parked sender's
            // offer"); yield while waiting, then park.
            let packet = Packet::new(msg.take());
            let waiter = Waiter::current();
            self.senders.register_with(
                &waiter,
                FIRST_OP,
                (&packet as *const Packet<T>).cast_mut().cast(),
            );
            // Our packet leaving `WAITING` means it was exposed for us (and already taken,
            // or failed by disconnection). The thread that did that wakes us, and its wake-up
            // carries the packet's state but not the claimer's later store of `COMPLETED`
            // into our wait, which a memory-model-legal stale read could still miss (loom
            // found the hang): so we look at both.
            let exposed = || {
                // ORDERING: Acquire pairs with the Release in `Packet::complete`.
                (packet.state.load(Ordering::Acquire) != WAITING).then_some(COMPLETED)
            };
            // The re-check only looks: once registered, a receiver may expose our packet.
            let would_wait = self.send_would_wait();
            pause::point("zero::send::rechecked");
            let decided = wait_registered(
                &self.senders,
                &waiter,
                deadline,
                &mut spin,
                would_wait,
                exposed,
            );
            if decided == Err(COMPLETED) {
                // A receiver exposed our offer for us: wait for it to be taken, as if we
                // had exposed it ourselves.
                let state = self.wait_exposed(&packet, tagged(&packet, 0), deadline);
                if state != RETRY {
                    return self.send_outcome(&packet, state);
                }
            }
            // Not exposed: the message in the packet is ours again. After a timeout the
            // loop makes one last attempt before reporting it.
            msg = Some(Self::take_back(&packet));
        }
    }

    /// What a send whose offer was exposed returns, given the packet's final state.
    fn send_outcome(&self, packet: &Packet<T>, state: usize) -> Result<(), SendTimeoutError<T>> {
        if state == DONE {
            return Ok(());
        }
        let msg = Self::take_back(packet);
        Err(
            if state == DISCONNECTED || self.disconnected.load(Ordering::SeqCst) {
                SendTimeoutError::Disconnected(msg)
            } else {
                SendTimeoutError::Timeout(msg)
            },
        )
    }

    /// Moves an unclaimed offer's message back out of its packet.
    fn take_back(packet: &Packet<T>) -> T {
        // SAFETY: the packet was never claimed (or was retracted), so the message its owner
        // put in is still there, and the owner (us) takes it once.
        packet.msg.with(|p| unsafe { p.read().assume_init() })
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.recv_step() {
            Step::Done(Ok(msg)) => Ok(msg),
            Step::Done(Err(())) => Err(TryRecvError::Disconnected),
            // No sender exposed: empty slot, or another request.
            Step::Expose | Step::Wait => Err(TryRecvError::Empty),
        }
    }

    pub(crate) fn recv(&self, deadline: Deadline) -> Result<T, RecvTimeoutError> {
        loop {
            // Every attempt looks exactly (`Look`).
            let step = block_on(&self.receivers, deadline, |_| match self.recv_step() {
                Step::Wait => None,
                step => Some(step),
            });
            match step {
                Some(Step::Done(Ok(msg))) => {
                    // As in `send`: we did not expose a request, so parked receivers must not
                    // keep waiting for one of ours to leave.
                    self.receivers.notify_one();
                    return Ok(msg);
                }
                Some(Step::Done(Err(()))) => return Err(RecvTimeoutError::Disconnected),
                None => return Err(RecvTimeoutError::Timeout),
                Some(Step::Wait) => unreachable!(),
                Some(Step::Expose) => {
                    let packet = Packet::new(None);
                    match self.expose(&packet, REQUEST, deadline) {
                        // The slot was taken, or a selecting sender's claim was dropped: retry.
                        None | Some(RETRY) => {}
                        Some(DONE) => {
                            // SAFETY: `DONE` on a request: the claiming sender wrote the
                            // message (Release in `complete`, Acquire in `wait`).
                            return Ok(packet.msg.with(|p| unsafe { p.read().assume_init() }));
                        }
                        Some(state) => {
                            return Err(
                                if state == DISCONNECTED || self.disconnected.load(Ordering::SeqCst)
                                {
                                    RecvTimeoutError::Disconnected
                                } else {
                                    RecvTimeoutError::Timeout
                                },
                            );
                        }
                    }
                }
            }
        }
    }

    /// Tells the watchers that a packet was just exposed: a selection that only watches
    /// (`Select::ready`) waits for the other kind to show up ("Selection"). One load when
    /// nobody watches. Plain waiters need no news: they park behind a packet of their own
    /// kind, and hear when it leaves.
    fn exposed(&self) {
        // Under loom, the exposing CAS's place in the SeqCst order, before the load of
        // `waiters` (waiter.rs, "No lost wake-up").
        seqcst_accesses_ordered();
        self.watchers.notify_one();
    }

    /// Selection: a selecting thread consumed a wake-up of `kind`'s registry without
    /// exposing a packet of that kind: pass it on ("No one parks beside a partner", rule 3).
    /// A watcher's wake-up goes on to the next watcher, which may be watching for the same.
    pub(crate) fn hand_on(&self, kind: usize, watching: bool) {
        if watching {
            self.watchers.notify_one();
        } else if kind == REQUEST {
            self.receivers.notify_one();
        } else {
            self.notify_sender();
        }
    }

    /// The registry where waiters of `kind` park.
    fn registry_of_kind(&self, kind: usize) -> &Registry {
        if kind == REQUEST {
            &self.receivers
        } else {
            &self.senders
        }
    }

    /// Selection: claims the operation of `kind` ([`REQUEST`] to receive, 0 to send) if the
    /// other kind is exposed or the channel is disconnected, without waiting. The exchange
    /// itself is left to [`select_read`](Channel::select_read) or
    /// [`select_write`](Channel::select_write) with the token.
    pub(crate) fn select_try(&self, kind: usize) -> Option<Token> {
        match self.step(kind ^ REQUEST) {
            Step::Done(Err(())) => Some(Token::Disconnected),
            Step::Done(Ok(Taken::Plain(cur))) => Some(Token::Zero {
                packet: cur.cast_const().cast(),
                abandon: Self::abandon_plain,
            }),
            Step::Done(Ok(Taken::Select(packet, cur))) => {
                if kind == REQUEST {
                    // A selecting sender's offer: its owner writes the message once woken.
                    packet.set_reader();
                }
                // A selecting receiver's request: it is woken now and waits for our write.
                packet
                    .waiter
                    .finish(packet.op_for(cur, kind == REQUEST), true);
                self.removed(cur);
                Some(Token::ZeroSelect {
                    packet: Arc::into_raw(packet).cast(),
                    abandon: SelPacket::<T>::abandon,
                })
            }
            Step::Expose | Step::Wait => None,
        }
    }

    /// Selection: whether an operation of `kind` could complete now, without claiming.
    pub(crate) fn select_ready(&self, kind: usize) -> bool {
        if self.disconnected.load(Ordering::SeqCst) {
            return true;
        }
        let cur = self.slot.load(Ordering::SeqCst);
        !cur.is_null() && claimable(cur, kind ^ REQUEST)
    }

    /// Selection: registers a selecting thread's wait for an operation of `kind`, as
    /// operation `op`. With `expose`, an empty slot gets the thread's own packet, which the
    /// other side claims through `waiter` (`Select::select`); without, the thread only
    /// waits to hear of a change (`Select::ready`). `own` tells the thread's own exposures
    /// (in other arms of the same selection) from others'.
    pub(crate) fn select_register(
        &self,
        kind: usize,
        waiter: &Arc<Waiter>,
        op: usize,
        expose: bool,
        own: &dyn Fn(usize) -> bool,
    ) -> Reg {
        loop {
            if self.disconnected.load(Ordering::SeqCst) {
                return Reg::Ready;
            }
            let cur = self.slot.load(Ordering::SeqCst);
            if cur.is_null() && expose {
                let packet = Arc::new(SelPacket::<T>::new(waiter, op, kind));
                let raw = Arc::into_raw(packet.clone());
                let tagged = raw
                    .cast::<u8>()
                    .cast_mut()
                    .wrapping_add(kind | SELECT)
                    .cast::<Packet<T>>();
                // ORDERING: SeqCst, as in `expose`: Release publishes the packet.
                if self
                    .slot
                    .compare_exchange(ptr::null_mut(), tagged, Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
                {
                    self.exposed();
                    return Reg::Exposed(Arc::into_raw(packet).cast());
                }
                // SAFETY: the count made for the slot, which did not take it.
                drop(unsafe { Arc::from_raw(raw) });
                continue;
            }
            if !expose && (cur.is_null() || cur as usize & REQUEST == kind) {
                // Only watching: wait for the other kind to come.
                self.watchers.register(waiter, op);
                return Reg::Watching;
            }
            if is_select(cur)
                && cur as usize & (REQUEST | BOTH) == kind ^ REQUEST
                && own(untagged(cur) as usize)
            {
                // Our own packet of the other kind: make it stand for both operations.
                return self.select_both(cur, kind, op);
            }
            if cur as usize & REQUEST == kind || own(untagged(cur) as usize) {
                // Wait behind our own kind, or beside our own packet.
                self.registry_of_kind(kind).register(waiter, op);
                return Reg::Plain { seen: cur as usize };
            }
            return Reg::Ready; // Another thread's packet of the other kind: ready now.
        }
    }

    /// Selection: a selection waiting to send and to receive on this channel finds its own
    /// packet of the other kind (`cur`) in the slot, and makes it a [`BOTH`] packet that
    /// either kind may claim; `op` is this (second) operation's id, and `kind` its kind.
    /// The registration holds its own strong count of the packet.
    fn select_both(&self, cur: *mut Packet<T>, kind: usize, op: usize) -> Reg {
        let raw = untagged(cur).cast::<SelPacket<T>>();
        // SAFETY: the packet is ours and alive: the other registration holds a count.
        let packet = unsafe { &*raw };
        let both = raw
            .cast::<u8>()
            .cast_mut()
            .wrapping_add(REQUEST | SELECT | BOTH)
            .cast::<Packet<T>>();
        debug_assert_ne!(packet.kind, kind);
        // ORDERING: Relaxed: published by the Release of the CAS below.
        packet.other_op.store(op, Ordering::Relaxed);
        // SAFETY: a count for this registration, of a packet kept alive by the other.
        unsafe { Arc::increment_strong_count(raw) };
        // ORDERING: SeqCst, as every change of the slot; Release publishes `send_op`.
        if self
            .slot
            .compare_exchange(cur, both, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
        {
            // Threads of the packet's old kind may be parked behind it: now they can claim
            // it. And watchers may be watching for either kind.
            self.removed(cur);
            self.exposed();
        }
        // If the CAS failed, a claimer took the packet: our wait is being decided through
        // it; this registration then only holds its count.
        Reg::Exposed(raw.cast())
    }

    /// Selection: the re-check after every registration (waiter.rs, "No lost wake-up"):
    /// whether `reg` must not wait.
    pub(crate) fn select_recheck(&self, kind: usize, reg: &Reg) -> bool {
        if self.disconnected.load(Ordering::SeqCst) {
            return true;
        }
        match *reg {
            // A selecting thread parked behind a packet must look again once the slot
            // changed.
            Reg::Plain { seen } => self.slot.load(Ordering::SeqCst) as usize != seen,
            // A watcher is done once the other kind shows up.
            Reg::Watching => {
                let cur = self.slot.load(Ordering::SeqCst);
                !cur.is_null() && claimable(cur, kind ^ REQUEST)
            }
            // An exposed packet is claimed through the wait: nothing to look at but the
            // flag (as after every exposing CAS: "Disconnection").
            Reg::Exposed(_) | Reg::Ready => false,
        }
    }

    /// Selection: ends a registration. If `selected` (this registration's operation won
    /// the selection), an exposed packet was claimed by the other side, and the token to
    /// complete the operation with is returned.
    pub(crate) fn select_unregister(&self, kind: usize, reg: Reg, selected: bool) -> Option<Token> {
        match reg {
            Reg::Plain { .. } => {
                self.registry_of_kind(kind).leave(selected);
                None
            }
            Reg::Watching => {
                self.watchers.leave(selected);
                None
            }
            Reg::Exposed(raw) => {
                if selected {
                    return Some(Token::ZeroSelect {
                        packet: raw,
                        abandon: SelPacket::<T>::abandon,
                    });
                }
                let with_tag = |tag: usize| {
                    raw.cast::<u8>()
                        .cast_mut()
                        .wrapping_add(tag)
                        .cast::<Packet<T>>()
                };
                // Nobody claimed our wait through this packet: retract it, unless someone
                // took it from the slot and let it go (then the slot's count is theirs), or
                // another of our registrations retracted it (a `BOTH` packet has two).
                for tagged in [with_tag(kind | SELECT), with_tag(REQUEST | SELECT | BOTH)] {
                    if self.take(tagged) {
                        // SAFETY: the slot's strong count, moved to us by `take`.
                        drop(unsafe { Arc::from_raw(raw.cast::<SelPacket<T>>()) });
                        self.removed(tagged);
                        break;
                    }
                }
                // SAFETY: our own strong count, made in `select_register`.
                drop(unsafe { Arc::from_raw(raw.cast::<SelPacket<T>>()) });
                None
            }
            Reg::Ready => None,
        }
    }

    /// Selection: completes a selected receive.
    ///
    /// # Safety
    /// `token` came from this channel's `select_try(REQUEST)` or `select_unregister` for a
    /// receive, and is used once.
    pub(crate) unsafe fn select_read(&self, token: Token) -> Result<T, ()> {
        match token {
            // SAFETY: a plain offer we took from the slot (per the contract).
            Token::Zero { packet, .. } => Ok(unsafe { self.empty_offer(packet.cast_mut().cast()) }),
            Token::ZeroSelect { packet, .. } => {
                // SAFETY: a strong count of a `SelPacket<T>` (per the contract).
                let packet = unsafe { Arc::from_raw(packet.cast::<SelPacket<T>>()) };
                match packet.read_or_disconnected(&self.receivers.spin) {
                    Some(done) => done,
                    // The sending side's selected operation was dropped: receive anew.
                    None => self.recv(Deadline::Never).map_err(|_| ()),
                }
            }
            _ => Err(()),
        }
    }

    /// Selection: completes a selected send.
    ///
    /// # Safety
    /// `token` came from this channel's `select_try(0)` or `select_unregister` for a send,
    /// and is used once.
    pub(crate) unsafe fn select_write(&self, token: Token, msg: T) -> Result<(), T> {
        match token {
            Token::Zero { packet, .. } => {
                // SAFETY: a plain request we took from the slot (per the contract).
                unsafe { self.fill_request(packet.cast_mut().cast(), msg) };
                Ok(())
            }
            Token::ZeroSelect { packet, .. } => {
                // SAFETY: a strong count of a `SelPacket<T>` (per the contract).
                let packet = unsafe { Arc::from_raw(packet.cast::<SelPacket<T>>()) };
                // ORDERING: Acquire pairs with the disconnecting thread's Release.
                if packet.state.load(Ordering::Acquire) == DISCONNECTED {
                    return Err(msg);
                }
                match packet.write(msg) {
                    Ok(()) => Ok(()),
                    // The receiving side's selected operation was dropped: send anew.
                    Err(msg) => self.send(msg, Deadline::Never).map_err(|err| match err {
                        SendTimeoutError::Disconnected(msg) | SendTimeoutError::Timeout(msg) => msg,
                    }),
                }
            }
            Token::Disconnected => Err(msg),
            _ => unreachable!("a token of another flavor"),
        }
    }

    /// A selected operation holding a plain packet was dropped before completing: the
    /// packet's owner is told to try again.
    ///
    /// # Safety
    /// `packet` is a plain packet (untagged) taken from the slot and not completed.
    unsafe fn abandon_plain(packet: *const ()) {
        // SAFETY: per the contract, the owner waits for `state`.
        unsafe { Packet::complete(untagged(packet.cast_mut().cast::<Packet<T>>()), RETRY) };
    }

    /// Either side is gone: refuse every later operation, fail the exposed packet, and wake
    /// every parked thread.
    pub(crate) fn disconnect(&self) {
        if self.disconnected.swap(true, Ordering::SeqCst) {
            return;
        }
        seqcst_accesses_ordered();
        pause::point("zero::disconnect::swapped");
        let cur = self.slot.load(Ordering::SeqCst);
        if !cur.is_null() && self.take(cur) {
            if is_select(cur) {
                // SAFETY: the slot's strong count of the `SelPacket`, moved to us by `take`.
                let packet = unsafe { Arc::from_raw(untagged(cur).cast::<SelPacket<T>>()) };
                // A disconnected channel's operation is ready: select it, failed.
                if packet.waiter.try_claim() {
                    // ORDERING: Release, as a writer's `DONE`: nothing to publish but the
                    // outcome, which the owner reads with Acquire.
                    packet.state.store(DISCONNECTED, Ordering::Release);
                    packet.waiter.finish(packet.op, true);
                }
            } else {
                let packet = untagged(cur);
                // SAFETY: we claimed it; the owner waits for `state`.
                unsafe { Packet::complete(packet, DISCONNECTED) };
            }
        }
        // Both registries: this wakes the packet's kind too (no `removed` needed).
        self.senders.notify_all();
        self.receivers.notify_all();
        self.watchers.notify_all();
    }
}
