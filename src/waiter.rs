//! The waiter registry: where a blocked operation parks and how the other side wakes it.
//!
//! A thread that must wait creates a [`Waiter`] (its per-wait state plus what to wake), and
//! registers it in the [`Registry`] of the side it waits on (receivers wait in the
//! channel's "receivers" registry for a message; senders of a bounded channel wait in the
//! "senders" registry for room). The other side, after changing the channel, calls
//! [`Registry::notify_one`] or, on disconnection, [`Registry::notify_all`].
//!
//! # Implementation notes
//!
//! ## Exactly one winner per wait
//!
//! A waiter's `state` starts at [`WAITING`]. Whoever moves it away from `WAITING` with a
//! compare-and-swap owns the outcome: a notifier stores the operation id it selects
//! (`>= FIRST_OP`), the waiter itself stores [`ABORTED`] when it gives up (timeout, or it
//! found its operation ready on its own). A waiter registered in several registries at once
//! (a thread in `select`, each registration carrying a different operation id) is therefore
//! woken for exactly one operation, and a notification can never be "half delivered" to a
//! waiter that is leaving. An async task will be the same `Waiter` with a `Waker` instead of
//! a `Thread` to wake; nothing else changes.
//!
//! ## Completing a parked operation
//!
//! A waiter may register a *packet* with its node (`register_with`): what a notifier needs to
//! do the waiter's operation for it; a parked sender of a bounded channel offers its message.
//! A notifier that serves its own notification (`notify_one_with`, as the combiner) and
//! selects such a node claims the wait with a CAS from `WAITING` to [`BUSY`] instead of to the
//! operation id, calls the flavor's completion function on the packet, and then stores
//! [`COMPLETED`] (the operation is done: the message is in the channel) or, if the completion
//! found no room after all, the plain operation id (an ordinary wake-up: the waiter tries
//! again). Only then does it wake the waiter. `BUSY` is a claim like any other, so exactly one
//! outcome still wins: a waiter that times out while `BUSY` waits in [`Waiter::abort`] for the
//! outcome instead of taking its packet back while the claimer reads it. The completion is
//! kept short for that reason: the bounded flavor's claims a slot and writes the message,
//! and the receiver it then owes a wake-up is notified after the claim is finished (a
//! notification can make the thread a combiner for as long as requests keep coming). Nothing
//! of the packet is touched after the outcome is stored, because the waiter may return as
//! soon as it sees it.
//!
//! A completion may also carry the operation only a step further ([`Completion::Handed`]:
//! the rendezvous flavor exposes a parked sender's offer). The waiter is then told
//! `COMPLETED` but not woken, since whoever finishes the operation wakes it, and it watches
//! the packet as well as its wait ([`Waiter::wait_or`]). Such a waiter can therefore see its
//! operation finished, and return, while its wait is still `BUSY`: a completion that returns
//! `Handed` must not touch the packet after publishing it, nor use its address (the owner
//! may have returned and put a new packet at the same place on its stack); the claimer's
//! later store of `COMPLETED` only touches the `Waiter`, which the node's `Arc` keeps alive.
//! A completion that sees, after publishing, something the waiter must act on returns
//! [`Completion::HandedWake`]: the waiter is told `COMPLETED` and woken, and acts itself.
//!
//! A combiner without a completion function (a leaving waiter's pass, a notifier that did
//! not pass one) wakes as before. One with it uses it on every node it selects in all its
//! passes, including those serving other threads' requests; the completion works on the
//! whole channel, so whose request a pass serves does not matter.
//!
//! The point is the hand-off on the waker's thread: a receiver that frees a slot refills it
//! at once from a parked sender, so the next receive finds a message even while every sender
//! is descheduled (4 producers on 2 cores), instead of waiting for a woken sender to be
//! scheduled and retry.
//!
//! ## The registry is lock-free, by combining
//!
//! Registration pushes a node onto `incoming`, a Treiber stack (a push is one CAS; nodes are
//! never popped individually, so there is no ABA and no reclamation problem). Serving
//! notifications is done by one thread at a time, the *combiner*: the thread whose increment
//! of `requests` took it from zero. A notifier that finds `requests` non-zero just leaves its
//! request (counted in `notifications`) and returns at once; the running combiner sees that
//! `requests` changed when it tries to reset it to zero, and makes another pass. No notifier
//! ever waits for another thread inside the registry. Two costs of this design, on the slow
//! path only: the combiner runs passes for as long as requests keep arriving (under
//! sustained wake-up traffic one `send` may do others' waking for a while), and wake-ups
//! requested while a combiner is descheduled wait for it to run again.
//!
//! In a pass the combiner takes the whole `incoming` stack with one swap, appends it (oldest
//! first) to `parked`, a FIFO queue only the combiner touches, and walks `parked`: nodes
//! whose waiter has left are freed, and the oldest live waiters are selected and unparked,
//! as many as there are pending notifications (all of them once the registry is closed).
//! Because `parked` is owned by the combiner role, waiters are woken in registration order.
//!
//! A waiter that leaves without being selected (timeout, or it found its operation ready
//! after registering) requests a pass too, with no notification, so that its node is freed
//! promptly: the registry holds at most one node per live waiter plus those not yet swept.
//!
//! ## No lost wake-up (the Dekker pair)
//!
//! Waiter: `waiters += 1` (SeqCst RMW), push its node, `fence(SeqCst)`, re-check the
//! channel, park only if still not ready.
//! Notifier: change the channel with a SeqCst RMW (the list's tail claim, a disconnection
//! mark), then load `waiters` with SeqCst; if non-zero, request a pass.
//!
//! `waiters` counts registrations not yet selected: the combiner takes a waiter's count off
//! when it selects it, so a notifier that reads 0 may have missed a registration only if
//! that waiter is being woken anyway (it re-attempts, and re-registers if that fails), or
//! had its operation completed or handed on by the combiner (then it needs no notification:
//! its operation is done, or in progress in the channel).
//!
//! C++20 puts all SeqCst accesses and fences in one total order `S` that agrees with
//! "coherence-ordered before". Suppose the notifier's load `L` misses the waiter's increment
//! `R` and the waiter's re-check `T` misses the notifier's change `C`. Then `L` precedes `R`
//! in `S` (both SeqCst, `L` reads before `R`); `R` precedes the waiter's fence `F` (program
//! order); `F` precedes `C` (a SeqCst fence that happens before `T`, which reads before the
//! SeqCst `C`); and `C` precedes `L` (program order): a cycle, so one of them sees the other.
//!
//! The pass that consumes the notification starts with `fence(SeqCst)`. The notifier's `C`
//! strongly happens before that fence: through the SeqCst RMWs on `requests` if the pass
//! serves its request, or through the Release increment of `notifications` and the pass's
//! Acquire swap of it if an earlier pass picked the count up. If the pass's swap of
//! `incoming` missed the waiter's node, the pass's fence precedes the waiter's fence in `S`,
//! so `C` does too, and the waiter's re-check sees `C`. Either way nobody sleeps through it.
//!
//! When nobody waits a notifier pays one load of a line nobody writes: no registry traffic,
//! and no fence (on x86 a SeqCst load is a plain load). Loom models SeqCst accesses as
//! acquire/release, so the loom build puts a SeqCst fence right after `C`, in the flavor's
//! code ([`seqcst_accesses_ordered`]); the model then checks the same ordering. The fence
//! sits next to `C` and not before `L`, because there it would also order the writes that
//! follow `C` (a bounded send's stamp store) before `L`, which C++ does not promise: with
//! the fence before `L`, a sender's re-check that read only the stamp, not the head that
//! `C` moved, passed every model; with it after `C`, loom finds its lost wake-up in a
//! second.
//!
//! [`seqcst_accesses_ordered`]: crate::sync::seqcst_accesses_ordered

use std::ptr;
use std::time::Instant;

use crate::spin::{Spin, SpinPolicy};
use crate::sync::thread::{self, Thread};
use crate::sync::{
    fence, now, Arc, AtomicBool, AtomicPtr, AtomicUsize, Backoff, Ordering, UnsafeCell, IS_LOOM,
};

/// `Waiter::state`: still waiting, nobody has claimed this wait yet.
const WAITING: usize = 0;
/// `Waiter::state`: the waiter gave up (timed out, or completed its operation by itself).
const ABORTED: usize = 1;
/// `Waiter::state`: a notifier claimed the wait and is completing the waiter's operation on
/// its behalf (see "Completing a parked operation"); it will store [`COMPLETED`] or the
/// operation id next.
const BUSY: usize = 2;
/// `Waiter::state`: a notifier completed the waiter's operation for it (a parked sender's
/// message was moved into the channel).
pub(crate) const COMPLETED: usize = 3;
/// The smallest operation id a notifier can select. Channel operations use ids from here up.
pub(crate) const FIRST_OP: usize = 4;

/// What a flavor's completion function (see [`Registry::notify_one_with`]) did with a
/// parked waiter's packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Completion {
    /// Nothing (no room after all): the waiter is woken to try again.
    Failed,
    /// The operation is done: the waiter is told so and woken.
    Done,
    /// The operation was carried a step further for the waiter (the rendezvous flavor
    /// exposed its offer) and whoever finishes it will wake the waiter's thread: the waiter
    /// is told so, but not woken now.
    Handed,
    /// As [`Handed`](Completion::Handed), and the waiter is woken now as well: after
    /// publishing, the completion saw something that only the waiter may act on (the
    /// rendezvous flavor: the channel disconnected, so the exposed offer must be taken back,
    /// and only its owner can still name it safely).
    HandedWake,
}

/// How closely an attempt of [`block_on`] must look at the channel.
///
/// A flavor may answer a [`Quick`](Look::Quick) attempt with "wait" as soon as its own
/// slot shows nothing for it, without reading the other side's index to tell an empty
/// (full) channel from an operation in flight or a disconnection: the caller only spins one
/// more step and looks again. An [`Exact`](Look::Exact) attempt must decide: `block_on`
/// makes one before every park (the re-check) and before reporting a timeout, so a quick
/// "wait" never puts a thread to sleep nor ends an operation. (Reading the other side's
/// index while spinning pulls its cache line away from that side's next claim: see the
/// bounded flavor's "Quick looks".)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// While spinning: "wait" may just mean "nothing here yet".
    Quick,
    /// Before parking or giving up: "wait" must mean the operation cannot proceed now.
    Exact,
}

/// When a blocking operation gives up.
#[derive(Clone, Copy, Debug)]
pub enum Deadline {
    /// Wait for as long as it takes.
    Never,
    /// Give up at this instant.
    At(Instant),
}

impl Deadline {
    /// The deadline `timeout` from now; a timeout too large to represent never expires.
    pub(crate) fn after(timeout: std::time::Duration) -> Deadline {
        match now().checked_add(timeout) {
            Some(at) => Deadline::At(at),
            None => Deadline::Never,
        }
    }

    /// Whether the deadline has passed.
    pub(crate) fn expired(self) -> bool {
        match self {
            Deadline::Never => false,
            Deadline::At(at) => now() >= at,
        }
    }
}

/// One blocking operation's wait: who to wake, and which operation (if any) woke it.
#[derive(Debug)]
pub struct Waiter {
    /// [`WAITING`], [`ABORTED`], or the id (`>= FIRST_OP`) of the operation selected.
    state: AtomicUsize,
    /// The parked thread. (An async waiter will hold a `Waker` here instead.)
    thread: Thread,
}

impl Waiter {
    /// A new wait for the current thread.
    pub(crate) fn current() -> Arc<Waiter> {
        Arc::new(Waiter {
            state: AtomicUsize::new(WAITING),
            thread: thread::current(),
        })
    }

    /// Tries to claim this wait for operation `op`. Returns `true` if it was still waiting,
    /// in which case the caller must [`unpark`](Waiter::unpark) it.
    fn try_select(&self, op: usize) -> bool {
        debug_assert!(op >= FIRST_OP);
        // ORDERING: AcqRel. Release publishes what the notifier did before selecting to the
        // waiter's Acquire load in `wait` (or its failed `abort`); Acquire orders the claim
        // after the waiter's registration.
        self.state
            .compare_exchange(WAITING, op, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Wakes the waiter after a successful [`try_select`](Waiter::try_select).
    fn unpark(&self) {
        self.thread.unpark();
    }

    /// Claims this wait so that the caller can complete the waiter's operation for it.
    /// Returns `true` if it was still waiting; the caller must then [`finish`] it.
    ///
    /// [`finish`]: Waiter::finish
    pub(crate) fn try_claim(&self) -> bool {
        // ORDERING: Acquire is not what makes the packet visible: the waiter wrote it before
        // its Release push of the node, which the combiner's Acquire swap of `incoming`
        // read. Nothing Release-stores `WAITING`, so this synchronizes with nothing; kept
        // Acquire to match `try_select`.
        self.state
            .compare_exchange(WAITING, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Ends a claim taken by [`try_claim`](Waiter::try_claim) with `outcome` ([`COMPLETED`]
    /// or an operation id) and, if `wake`, wakes the waiter. The waiter may return, and its
    /// packet go, as soon as the state is stored, so nothing of the packet is touched after.
    pub(crate) fn finish(&self, outcome: usize, wake: bool) {
        debug_assert!(outcome == COMPLETED || outcome >= FIRST_OP);
        // ORDERING: Release: what the claimer did with the packet (moved the message out)
        // happens before the waiter's Acquire load of the state.
        self.state.store(outcome, Ordering::Release);
        if wake {
            self.thread.unpark();
        }
    }

    /// Gives up the wait. Returns `Ok(())` if nobody had selected it, or `Err(outcome)` with
    /// what a notifier decided first: [`COMPLETED`] (the operation was done for us), or the
    /// operation it selected (the caller then owes that operation one more try).
    pub(crate) fn abort(&self) -> Result<(), usize> {
        // ORDERING: Acquire on failure pairs with the notifier's Release in `try_select` or
        // `finish`.
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(BUSY) => Err(self.settled()),
            Err(outcome) => Err(outcome),
        }
    }

    /// Waits out a claim in progress (a notifier completing our operation, which takes it a
    /// few instructions once running) and returns its outcome.
    fn settled(&self) -> usize {
        let backoff = Backoff::new();
        loop {
            // ORDERING: Acquire pairs with the Release in `finish`.
            let state = self.state.load(Ordering::Acquire);
            if state != BUSY {
                return state;
            }
            backoff.snooze();
        }
    }

    /// Parks until a notifier selects this wait or the deadline passes. Returns the
    /// selected operation, or `None` if the deadline passed first (the caller then calls
    /// [`abort`](Waiter::abort), which may still find it selected).
    pub(crate) fn wait(&self, deadline: Deadline) -> Option<usize> {
        self.wait_or(deadline, || None)
    }

    /// [`wait`](Waiter::wait), also returning `elsewhere()`'s outcome once it has one: for
    /// a waiter whose claimer finishes with [`Completion::Handed`], which does not wake it.
    /// Such a waiter is woken later by whoever completes the rest of its operation, and
    /// that thread's wake-up carries what it did (the packet's state), not necessarily the
    /// claimer's store of `COMPLETED`: the waiter must look at both.
    pub(crate) fn wait_or(
        &self,
        deadline: Deadline,
        mut elsewhere: impl FnMut() -> Option<usize>,
    ) -> Option<usize> {
        let mut outcome = None;
        park_until(deadline, || {
            outcome = self.poll().or_else(&mut elsewhere);
            outcome.is_some()
        });
        outcome
    }

    /// Whether a notifier has decided this wait (see [`wait`](Waiter::wait)), without
    /// parking: `Some(outcome)` once it has.
    pub(crate) fn poll(&self) -> Option<usize> {
        // ORDERING: Acquire pairs with the Release of the notifier's `try_select` or `finish`.
        let state = self.state.load(Ordering::Acquire);
        (state != WAITING && state != BUSY).then_some(state)
    }
}

/// Parks the current thread until `done()` holds or the deadline passes; returns whether
/// `done()` held. Whoever makes `done()` true must then unpark this thread. `park` may return
/// spuriously, and an `unpark` that came before it makes it return at once: both come back
/// to the `done()` check.
pub(crate) fn park_until(deadline: Deadline, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        match deadline {
            Deadline::Never => thread::park(),
            Deadline::At(at) => {
                let now = now();
                if now >= at {
                    return false;
                }
                thread::park_timeout(at - now);
            }
        }
    }
}

/// Sleeps until the deadline passes; with [`Deadline::Never`], for ever. For the timer
/// channels, whose waits end only by time: a stray `unpark` (a token left over from an
/// earlier wait of this thread) just parks again.
pub(crate) fn sleep_until(deadline: Deadline) {
    park_until(deadline, || false);
}

/// A registered wait: the waiter and the operation this registration stands for.
struct Node {
    waiter: Arc<Waiter>,
    op: usize,
    /// What a notifier needs to complete the operation for the waiter (a parked sender's
    /// message), or null: see [`Registry::register_with`].
    packet: *mut (),
    next: *mut Node,
}

/// The combiner's FIFO queue of registrations, oldest first.
#[derive(Debug)]
struct Parked {
    head: *mut Node,
    tail: *mut Node,
}

/// Where the waiters of one side of one channel park.
#[derive(Debug)]
pub struct Registry {
    /// Waiters registered and not yet selected nor gone. Notifiers skip the registry when it
    /// is 0.
    waiters: AtomicUsize,
    /// Newly registered nodes, newest first (a Treiber stack; only pushed, and taken whole).
    incoming: AtomicPtr<Node>,
    /// Requests for a pass not yet served. Non-zero exactly while a combiner runs.
    requests: AtomicUsize,
    /// Notifications not yet delivered by a pass.
    notifications: AtomicUsize,
    /// Set (forever) on disconnection: from then on every pass wakes every waiter.
    closed: AtomicBool,
    /// Registrations already moved out of `incoming`. Only the combiner touches it.
    parked: UnsafeCell<Parked>,
    /// How long this side's waiters spin before they park.
    pub(crate) spin: SpinPolicy,
}

// SAFETY: the raw node pointers are owned by the registry; `incoming` is only manipulated
// with atomic operations, and `parked` only by the single combiner (see the module notes).
// Nodes hold `Arc<Waiter>`, which is Send + Sync.
unsafe impl Send for Registry {}
// SAFETY: as above; all shared access goes through atomics or the combiner role.
unsafe impl Sync for Registry {}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry {
            waiters: AtomicUsize::new(0),
            incoming: AtomicPtr::new(ptr::null_mut()),
            requests: AtomicUsize::new(0),
            notifications: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            parked: UnsafeCell::new(Parked {
                head: ptr::null_mut(),
                tail: ptr::null_mut(),
            }),
            spin: SpinPolicy::new(),
        }
    }

    /// Registers `waiter` for operation `op`. The caller must then re-check its operation
    /// and park only if it is still not ready, and must call [`leave`](Registry::leave)
    /// once it stops waiting, whatever the outcome.
    pub(crate) fn register(&self, waiter: &Arc<Waiter>, op: usize) {
        self.register_with(waiter, op, ptr::null_mut());
    }

    /// [`register`](Registry::register), offering `packet` to notifiers that can complete
    /// the operation for the waiter ([`notify_one_with`](Registry::notify_one_with)). The
    /// packet must stay valid until the wait is decided ([`Waiter::wait`] returned a state,
    /// or [`Waiter::abort`] returned), and the waiter must not touch what a claimer may
    /// take from it until then. (A `Handed` wait may end earlier, through the packet itself:
    /// see the module notes.)
    pub(crate) fn register_with(&self, waiter: &Arc<Waiter>, op: usize, packet: *mut ()) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let node = Box::into_raw(Box::new(Node {
            waiter: waiter.clone(),
            op,
            packet,
            next: ptr::null_mut(),
        }));
        let mut head = self.incoming.load(Ordering::Relaxed);
        loop {
            // SAFETY: `node` is ours until the CAS below publishes it.
            unsafe { (*node).next = head };
            // ORDERING: Release publishes the node's fields to the combiner's swap.
            match self.incoming.compare_exchange_weak(
                head,
                node,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => head = current,
            }
        }
        // ORDERING: the waiter's half of the Dekker pair (module notes): orders the push
        // and the `waiters` increment before the caller's re-check of the channel.
        fence(Ordering::SeqCst);
    }

    /// Ends a wait that [`register`](Registry::register) began. `selected` says whether a
    /// notifier selected it; if not, its node is dead: the waiter stops counting in `waiters`
    /// and a pass is requested to free the node. (A selected waiter stopped counting when the
    /// combiner selected it.)
    pub(crate) fn leave(&self, selected: bool) {
        if !selected {
            self.waiters.fetch_sub(1, Ordering::Relaxed);
            self.request_pass(None);
        }
    }

    /// Wakes one waiter, if any is registered. Call after making the channel ready for it.
    #[inline]
    pub fn notify_one(&self) {
        self.notify(None);
    }

    /// [`notify_one`](Registry::notify_one), and if this thread serves the notification
    /// itself, it first offers the selected waiter's packet to `complete`, which says what
    /// it did with it (see "Completing a parked operation").
    #[inline]
    pub(crate) fn notify_one_with(&self, complete: &dyn Fn(*mut ()) -> Completion) {
        self.notify(Some(complete));
    }

    /// The two above: one load when nobody waits.
    #[inline]
    fn notify(&self, complete: Option<&dyn Fn(*mut ()) -> Completion>) {
        // ORDERING: the notifier's half of the Dekker pair (module notes): the caller's
        // change included a SeqCst RMW, and this SeqCst load follows it in the total order.
        // (Under loom the caller put a fence right after that RMW: module notes.)
        if self.waiters.load(Ordering::SeqCst) != 0 {
            self.notify_one_slow(complete);
        }
    }

    /// The part of [`notify`](Registry::notify) for when someone waits.
    #[cold]
    fn notify_one_slow(&self, complete: Option<&dyn Fn(*mut ()) -> Completion>) {
        // ORDERING: Release: a combiner may consume this count in a pass that started
        // before our request below; its Acquire swap of `notifications` then makes our change
        // to the channel (sequenced before this) happen before that pass's fence, which is
        // what the wake-up argument needs (module notes).
        self.notifications.fetch_add(1, Ordering::Release);
        self.request_pass(complete);
    }

    /// Wakes every registered waiter, now and in every later pass. Call on disconnection.
    pub fn notify_all(&self) {
        self.closed.store(true, Ordering::Relaxed);
        // ORDERING: pairs with the waiter's fence in `register`, as in `notify_one`; the
        // `closed` store is read by the combiner after the SeqCst RMWs on `requests`.
        fence(Ordering::SeqCst);
        self.request_pass(None);
    }

    /// Asks for a pass; runs it (and any requested meanwhile) if no combiner is running.
    /// A combiner run here offers the waiters it selects to `complete`, if given.
    fn request_pass(&self, complete: Option<&dyn Fn(*mut ()) -> Completion>) {
        // ORDERING: SeqCst RMWs on `requests` chain every requester to the combiner that
        // serves it (module notes); Acquire in them also hands `parked` from one combiner
        // to the next.
        if self.requests.fetch_add(1, Ordering::SeqCst) == 0 {
            self.combine(complete);
        }
    }

    /// Runs passes until no request is left. Only the thread that took `requests` from 0
    /// calls this, so it alone owns `parked` until it sets `requests` back to 0.
    fn combine(&self, complete: Option<&dyn Fn(*mut ()) -> Completion>) {
        let mut seen = 1;
        loop {
            let notifications = self.notifications.swap(0, Ordering::Acquire);
            self.pass(notifications, complete);
            // ORDERING: SeqCst; Release hands `parked` to the next combiner, and a failure
            // (Acquire) shows us every request, and so every notification, counted so far.
            match self
                .requests
                .compare_exchange(seen, 0, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(current) => seen = current,
            }
        }
    }

    /// One pass: take `incoming`, sweep dead nodes, wake up to `notifications` waiters (all
    /// of them if closed).
    fn pass(&self, mut notifications: usize, complete: Option<&dyn Fn(*mut ()) -> Completion>) {
        // ORDERING: this fence follows, in the total order of SeqCst fences, the fence of
        // every notifier whose request we serve (their requests reached us through the RMWs
        // on `requests`, so their fences happen before this one). A waiter whose fence came
        // before theirs pushed its node before that fence, so the swap below sees the node.
        fence(Ordering::SeqCst);
        // ORDERING: Acquire pairs with the push's Release: the node's fields are visible.
        let mut batch = self.incoming.swap(ptr::null_mut(), Ordering::Acquire);
        let closed = self.closed.load(Ordering::Relaxed);
        self.parked.with_mut(|parked| {
            // SAFETY: only the combiner reaches here, and it owns `parked` (see `combine`).
            let parked = unsafe { &mut *parked };
            // Reverse the batch (newest first) onto the tail of `parked` (oldest first).
            let mut reversed: *mut Node = ptr::null_mut();
            let batch_tail = batch;
            while !batch.is_null() {
                // SAFETY: the swap gave us the batch; its nodes are ours alone.
                let next = unsafe { (*batch).next };
                // SAFETY: as above.
                unsafe { (*batch).next = reversed };
                reversed = batch;
                batch = next;
            }
            if !reversed.is_null() {
                if parked.tail.is_null() {
                    parked.head = reversed;
                } else {
                    // SAFETY: `parked.tail` is a live node owned by the combiner.
                    unsafe { (*parked.tail).next = reversed };
                }
                parked.tail = batch_tail;
            }

            // Walk the queue, unlinking nodes that are dead or that we select.
            let mut prev: *mut Node = ptr::null_mut();
            let mut cur = parked.head;
            while !cur.is_null() {
                // SAFETY: nodes in `parked` are live and owned by the combiner.
                let node = unsafe { &*cur };
                let next = node.next;
                let remove = if closed || notifications > 0 {
                    // Removed either way: selected now, or already gone (it left, or was
                    // selected through another registry).
                    let completer = complete.filter(|_| !closed && !node.packet.is_null());
                    let selected = match completer {
                        Some(_) => node.waiter.try_claim(),
                        None => node.waiter.try_select(node.op),
                    };
                    if selected {
                        // A selected waiter no longer waits: notifiers stop paying for a pass
                        // at once, instead of until it has woken up and left (which takes
                        // a scheduler wake-up, while a sender may send thousands of messages).
                        // Whoever wins the CAS on the waiter's state takes its count off:
                        // here, or the waiter in `leave` if it aborted first.
                        self.waiters.fetch_sub(1, Ordering::Relaxed);
                        match completer {
                            // A failed completion (another thread took the room first) is an
                            // ordinary wake-up: the waiter tries again.
                            Some(complete) => match complete(node.packet) {
                                Completion::Done | Completion::HandedWake => {
                                    node.waiter.finish(COMPLETED, true)
                                }
                                Completion::Handed => node.waiter.finish(COMPLETED, false),
                                Completion::Failed => node.waiter.finish(node.op, true),
                            },
                            None => node.waiter.unpark(),
                        }
                        notifications = notifications.saturating_sub(1);
                    }
                    true
                } else {
                    // ORDERING: Relaxed: a stale WAITING only keeps the node one pass longer.
                    node.waiter.state.load(Ordering::Relaxed) != WAITING
                };
                if remove {
                    if prev.is_null() {
                        parked.head = next;
                    } else {
                        // SAFETY: `prev` is a live node of `parked`.
                        unsafe { (*prev).next = next };
                    }
                    if parked.tail == cur {
                        parked.tail = prev;
                    }
                    // SAFETY: the node is unlinked; it came from `Box::into_raw` in
                    // `register`, and no one else holds a pointer to it.
                    drop(unsafe { Box::from_raw(cur) });
                } else {
                    prev = cur;
                }
                cur = next;
            }
        });
    }
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // No waiter can be registered once the channel is being dropped: every blocking
        // call borrows a handle. Free whatever nodes were not swept yet.
        let incoming = self.incoming.swap(ptr::null_mut(), Ordering::Relaxed);
        let parked = self.parked.with_mut(|p| {
            // SAFETY: `&mut self`: nobody else can touch `parked`.
            unsafe { (*p).head }
        });
        for mut cur in [incoming, parked] {
            while !cur.is_null() {
                // SAFETY: each node came from `Box::into_raw` and is in exactly one list.
                let boxed = unsafe { Box::from_raw(cur) };
                cur = boxed.next;
            }
        }
    }
}

/// Runs `attempt` until it returns `Some`, waiting on `registry` between attempts: first a
/// short spin (as long as the registry's [`SpinPolicy`] has learned pays), then
/// registration, a re-check, and parking. Returns `None` if the deadline passes first.
///
/// `attempt` must return `Some` once the operation completed or can never complete
/// (disconnection), and `None` when it should wait for a notification on `registry`; given
/// [`Look::Quick`] it may also return `None` when it only did not look far enough to tell.
/// The re-check before parking and the attempt before reporting a timeout are
/// [`Look::Exact`]; every other attempt is quick.
#[inline]
pub fn block_on<R>(
    registry: &Registry,
    deadline: Deadline,
    mut attempt: impl FnMut(Look) -> Option<R>,
) -> Option<R> {
    // The first attempt stays in the caller, inlined with the flavor's claim code; only an
    // operation that has to wait pays for a call. (perf: with the attempt behind a call,
    // most of `block_on`'s samples sat on the store of its returned value.)
    if let Some(done) = attempt(Look::Quick) {
        return Some(done);
    }
    wait_on(registry, deadline, attempt)
}

/// Waits out a registration made with a packet ([`Registry::register_with`]) and ends it
/// ([`Registry::leave`]): yields polling the wait while `spin` allows, then parks. Returns
/// `Ok(())` if the waiter withdrew unselected (timeout, or `would_wait` was false: the
/// caller's look at the channel after registering saw it could proceed), so its packet is
/// its own again; or `Err(outcome)` with what a notifier decided ([`COMPLETED`], or the
/// operation id for a plain wake-up). `elsewhere` is as in [`Waiter::wait_or`].
pub(crate) fn wait_registered(
    registry: &Registry,
    waiter: &Waiter,
    deadline: Deadline,
    spin: &mut Spin<'_>,
    would_wait: bool,
    mut elsewhere: impl FnMut() -> Option<usize>,
) -> Result<(), usize> {
    let mut parking = None;
    let mut timed_out = false;
    let decided = if would_wait {
        loop {
            if let Some(outcome) = waiter.poll().or_else(&mut elsewhere) {
                break Err(outcome);
            }
            if deadline.expired() {
                timed_out = true;
                break waiter.abort();
            }
            // Under loom, straight to parking: a model thread that yields here can be left
            // unscheduled by loom 0.7 once the others block or finish (its `Yield` state is
            // not picked when the running thread terminates).
            if !IS_LOOM && spin.snooze() {
                continue;
            }
            parking = Some(spin.park());
            break match waiter.wait_or(deadline, &mut elsewhere) {
                Some(outcome) => Err(outcome),
                None => waiter.abort(),
            };
        }
    } else {
        waiter.abort()
    };
    registry.leave(decided.is_err());
    match parking {
        Some(parking) => spin.parked(parking),
        // Where in the spin a deadline fell says nothing about how long to spin.
        None if timed_out => spin.renew(),
        None => spin.restart(),
    }
    decided
}

/// The waiting part of [`block_on`], after its first attempt failed.
#[inline(never)]
fn wait_on<R>(
    registry: &Registry,
    deadline: Deadline,
    mut attempt: impl FnMut(Look) -> Option<R>,
) -> Option<R> {
    let mut spin = registry.spin.start();
    loop {
        if let Some(done) = attempt(Look::Quick) {
            spin.done();
            return Some(done);
        }
        // Checked before spinning, so that an expired deadline (a zero timeout, a deadline
        // in the past) costs a few attempts, not a whole spin phase. The exact one decides
        // between a timeout and a disconnection the quick ones may not have seen.
        if deadline.expired() {
            return attempt(Look::Exact);
        }
        if spin.snooze() {
            continue;
        }

        let parking = spin.park();
        crate::pause::point("wait_on::register");
        let waiter = Waiter::current();
        registry.register(&waiter, FIRST_OP);
        // The re-check: after `register`'s fence, either we see the other side's change or
        // it sees us registered (module notes). Exact: only a look that reads the other
        // side's state takes part in that handshake.
        if let Some(done) = attempt(Look::Exact) {
            let selected = waiter.abort().is_err();
            registry.leave(selected);
            if selected {
                // A notifier chose us while we completed on our own, so its notification
                // may stand for something we did not take (another thread's message, say).
                // Hand it on, or a waiter still parked could miss it.
                registry.notify_one_slow(None);
            }
            spin.parked(parking);
            return Some(done);
        }
        let selected = match waiter.wait(deadline) {
            Some(_) => true,
            None => waiter.abort().is_err(),
        };
        registry.leave(selected);
        spin.parked(parking);
        if !selected {
            // Timed out. A last attempt, so that a message that arrived right at the
            // deadline is not left behind.
            return attempt(Look::Exact);
        }
    }
}
