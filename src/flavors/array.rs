//! The bounded flavor: a ring buffer of stamped slots, allocated once.
//!
//! The algorithm is Dmitry Vyukov's bounded MPMC queue (also the basis of crossbeam-channel's
//! array flavor), written anew here, with disconnection and parking added.
//!
//! # Implementation notes
//!
//! ## Positions and stamps
//!
//! `head` and `tail` hold a *position*: `lap * one_lap + index`, where `index < cap` is the
//! slot and `one_lap` is a power of two above `2 * cap`, so that bit `mark_bit = one_lap / 2`
//! sits between the index and the lap. On the tail, `mark_bit` means *disconnected*.
//!
//! Each slot has a `stamp` saying whose turn it is:
//! - `stamp == p` (a tail position): the slot is empty, waiting for the sender that claims
//!   position `p`;
//! - `stamp == p + 1` (a head position `p`): the slot holds the message for the receiver that
//!   claims position `p`.
//!
//! A send claims position `t` when the slot's stamp is `t`, by a CAS of the tail to the next
//! position, writes the message and stores `t + 1`. A receive claims position `h` when the
//! stamp is `h + 1`, by a CAS of the head, reads the message and stores `h + one_lap`: the
//! position the same slot has on the next lap, which is what the next sender expects.
//!
//! If the stamp is one lap behind (`stamp + one_lap == t + 1` for a sender), the slot still
//! holds last lap's message: the channel is full if the head is a whole lap behind the tail.
//! Symmetrically a receiver that finds `stamp == h` compares with the tail to tell empty
//! from a send that claimed the slot but has not finished writing (it then waits a moment).
//!
//! Positions and stamps are [`Index`]es (`sync.rs`): 64 bits wherever the target has 64-bit
//! atomics, 32-bit targets included, and `usize` elsewhere. A position comes back only when
//! the counter wraps, after `2^bits / one_lap` laps of `cap` operations: between 2^62 and
//! 2^63 operations with 64 bits (1,400 to 2,900 years at 10^8 a second), but 2^30 to 2^31
//! with 32 bits (11 to 21 seconds). A sender that loaded tail `t` and stamp `t`, then stalled
//! for that long, would find `t` again, and its CAS would claim a slot that may hold an
//! unread message; a receiver likewise. Slot numbers and `cap` stay `usize`, converted from
//! a position only after masking it below `cap` (`slot_index`).
//!
//! ## Invariants
//! 1. A slot's message is initialized exactly while its stamp is a head position plus one.
//! 2. The stamp's Release store after writing (or reading) pairs with the Acquire load by
//!    the next claimant, so it sees the message (or the emptied slot).
//! 3. Only the thread whose CAS moved the head (tail) past a position touches that
//!    position's slot, until it stores the next stamp.
//! 4. No position recurs while a thread can still hold it from an earlier load, so a claim
//!    CAS that succeeds proves the index has not moved since that load. With 64-bit indices
//!    this holds outright; with 32-bit ones, only for loads less than 2^30 operations old
//!    (docs/DESIGN.md, "Known limitations").
//!
//! ## Waiting
//!
//! Receivers park in `receivers` when empty, senders in `senders` when full. A send wakes one
//! receiver after publishing, a receive wakes one sender after freeing a slot. The claim CAS
//! on the tail (head) is the SeqCst RMW the wake-up handshake of `waiter.rs` relies on.
//!
//! ## Quick looks
//!
//! A blocking send's attempts during its pause steps only look at its slot: a slot that
//! still holds last lap's message is reported as `Wait` at once, without reading the head to
//! tell a full ring from a receive in flight on that slot. A blocking receive's attempts
//! while it spins do the same with a slot that holds no message for them, without reading
//! the tail (`Look::Quick`, waiter.rs). Such a `Wait` only makes the caller spin a step and
//! look again. The exact look, which reads the other side's index and waits out an
//! operation in flight on the slot, is made by `try_*`, by the look before reporting a
//! timeout, by a receive's re-check after registering (the look the wake-up handshake
//! relies on; a sender's re-check, `send_would_wait`, reads the head too), and by a send
//! once its pause steps are over, before it registers. That last one matters: a receive in
//! flight looks like `Wait` to a quick look but like room to `send_would_wait`, so a sender
//! with only quick looks would register and withdraw over and over until it finished.
//!
//! So a quick look never makes a thread park nor ends an operation, and each spin phase
//! ends in an exact look. That includes a disconnection of the senders, whose mark is on
//! the tail: a receiver waiting on an empty ring notices it at its re-check, after its spin
//! phase, instead of on its first attempt.
//!
//! The reason is the other side's cache line. A sender spinning on a full ring that reads
//! the head on every look keeps a shared copy of the receivers' line, so each receive's head
//! CAS must first take that line back; the same holds for a waiting receiver and the tail.
//! With one slot that is on the critical path of every message, both ways: quick looks took
//! spsc bounded(1) from about 260 to about 115 ns per message (docs/PERFORMANCE.md, entry 24).
//!
//! ## Completing a parked send
//!
//! A sender that finds the ring full spins briefly on the ring (pause steps only), then
//! moves its message into a packet on its own stack and registers it with its wait
//! (`waiter.rs`, "Completing a parked operation"); it then yields for a while polling its
//! wait, and parks. A receive that frees a slot and finds senders waiting claims the oldest
//! one's wait and sends its message for it (`complete_parked_send`: a normal claim of the
//! tail, the message moved out of the packet) before waking it, and after the registry pass
//! notifies the receivers once per message it sent that way. So the
//! ring is refilled by the thread that emptied it, and a sender that was descheduled does
//! not hold up the receivers. If the completion finds the ring full again (a spinning sender
//! took the slot first), the sender is just woken and tries again.
//!
//! The registered sender's re-check must not claim a slot, because a receiver may be
//! reading its packet at that moment: `send_would_wait` only looks. Seeing room, the sender
//! withdraws its wait (`abort`); only if that succeeds is the message its own again.
//! Otherwise the wait's outcome decides: completed (the send is done) or woken (the packet
//! was not touched). Disconnection wakes senders without completing, so each one finds the
//! mark on its retry and gets its message back.

use std::cell::Cell;
use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::flavors::{drop_or_leak, Writers};
use crate::select::Token as SelToken;
use crate::sync::{
    index_from_usize, index_to_usize, seqcst_accesses_ordered, AtomicIndex, Backoff, Index,
    Ordering, UnsafeCell,
};
use crate::waiter::{
    block_on, wait_registered, Completion, Deadline, Look, Registry, Waiter, COMPLETED, FIRST_OP,
};

/// One place in the ring.
struct Slot<T> {
    /// See "Positions and stamps".
    stamp: AtomicIndex,
    /// Initialized exactly while `stamp` is a head position plus one.
    msg: UnsafeCell<MaybeUninit<T>>,
}

/// A claimed slot, to write (send) or read (receive) next.
struct Token {
    /// The slot's place in the buffer.
    index: usize,
    /// The stamp to store when done.
    stamp: Index,
}

/// Why no slot could be claimed.
enum Busy {
    /// Full (for a send) or empty (for a receive).
    Wait,
    /// Disconnected: for a send, every receiver is gone; for a receive, the channel is also
    /// empty and every sender is gone.
    Disconnected,
}

/// The bounded channel.
pub(crate) struct Channel<T> {
    /// Where receivers claim.
    head: CachePadded<AtomicIndex>,
    /// Where senders claim; `mark_bit` set means disconnected.
    tail: CachePadded<AtomicIndex>,
    buffer: Box<[Slot<T>]>,
    cap: usize,
    one_lap: Index,
    mark_bit: Index,
    /// Receivers parked on an empty channel.
    receivers: Registry,
    /// Senders parked on a full channel.
    senders: Registry,
}

// SAFETY: messages of type `T` cross threads through the slots, so `T: Send` is required;
// every slot is accessed only by the thread that claimed it (invariant 3), and the rest of
// the state is atomics.
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Channel<T> {
    /// A channel of capacity `cap >= 1`.
    ///
    /// # Panics
    /// If `cap` is 0 or so large that its positions cannot be represented.
    pub(crate) fn with_capacity(cap: usize) -> Channel<T> {
        assert!(cap > 0, "capacity must be positive");
        // `one_lap` must exceed `2 * cap` (room for the index and the mark bit) and leave
        // lap bits above it. Where positions are 64-bit and `usize` narrower (a 32-bit
        // target with 64-bit atomics), every `usize` capacity passes; an impossible one
        // then fails at the allocation below.
        let mark_bit = index_from_usize(cap)
            .checked_add(1)
            .and_then(Index::checked_next_power_of_two)
            .filter(|m| *m <= Index::MAX / 4)
            .unwrap_or_else(|| panic!("capacity {cap} is too large for a bounded channel"));
        let one_lap = mark_bit * 2;
        // `try_reserve_exact`, so that a buffer the allocator refuses is a panic the caller
        // can catch and read, not an abort.
        let mut buffer = Vec::new();
        if let Err(err) = buffer.try_reserve_exact(cap) {
            panic!("cannot allocate a bounded channel of capacity {cap}: {err}");
        }
        buffer.extend((0..cap).map(|i| Slot {
            // Slot `i` waits for the sender of position `i` on lap 0.
            stamp: AtomicIndex::new(index_from_usize(i)),
            msg: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        let buffer = buffer.into_boxed_slice();
        Channel {
            head: CachePadded::new(AtomicIndex::new(0)),
            tail: CachePadded::new(AtomicIndex::new(0)),
            buffer,
            cap,
            one_lap,
            mark_bit,
            receivers: Registry::new(),
            senders: Registry::new(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// The slot of position `pos` (its index, below `cap`).
    #[inline]
    fn slot_index(&self, pos: Index) -> usize {
        // Below `mark_bit`, and below `cap` for every position the channel stores, so it
        // fits a `usize`. (A corrupt value would only fail the buffer's bounds check.)
        index_to_usize(pos & (self.mark_bit - 1))
    }

    /// The position after `pos`: the next index, or index 0 of the next lap.
    #[inline]
    fn next_position(&self, pos: Index) -> Index {
        let index = self.slot_index(pos);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Claims a slot to send into. A quick `look` reports a slot still holding last lap's
    /// message as `Wait` without reading the head ("Quick looks").
    #[inline]
    fn start_send(&self, look: Look) -> Result<Token, Busy> {
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(Busy::Disconnected);
            }
            let index = self.slot_index(tail);
            let slot = &self.buffer[index];
            // ORDERING: Acquire pairs with the receiver's Release store of the stamp: once we
            // see the slot emptied, its previous message has been moved out.
            let stamp = slot.stamp.load(Ordering::Acquire);

            if stamp == tail {
                // Our turn: claim the position.
                // ORDERING: SeqCst, the RMW the wake-up handshake relies on (waiter.rs).
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next_position(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // Under loom, the claim's place in the SeqCst order (waiter.rs).
                        seqcst_accesses_ordered();
                        return Ok(Token {
                            index,
                            stamp: tail + 1,
                        });
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1
                || stamp.wrapping_add(self.one_lap) == tail
            {
                // The slot still belongs to last lap: its message is unread, or not even
                // written yet. Full, if the head is a whole lap behind. If the head has moved,
                // a receiver is copying that message out: wait for it rather than park,
                // because our re-check after registering must have seen the head move
                // (waiter.rs: the handshake rests on the head's SeqCst RMW). All of this is
                // for an exact look; a quick one says `Wait` without reading the head.
                if look == Look::Quick {
                    return Err(Busy::Wait);
                }
                let head = self.head.load(Ordering::SeqCst);
                if head.wrapping_add(self.one_lap) == tail {
                    return Err(Busy::Wait);
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // We read a stale tail (another sender claimed this position): reload.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Writes `msg` into a slot claimed by `start_send`.
    ///
    /// # Safety
    /// `token` came from `start_send` on this channel and is used once.
    #[inline]
    unsafe fn write(&self, token: Token, msg: T) {
        let slot = &self.buffer[token.index];
        slot.msg.with_mut(|p| {
            // SAFETY: the claim gives us the slot alone, and it is empty (invariants 1, 3).
            unsafe { p.write(MaybeUninit::new(msg)) }
        });
        // ORDERING: Release publishes the message to the receiver's Acquire of the stamp.
        slot.stamp.store(token.stamp, Ordering::Release);
    }

    /// Claims a slot to receive from. A quick `look` reports a slot without a message for us
    /// as `Wait` without reading the tail, so it sees no disconnection ("Quick looks").
    #[inline]
    fn start_recv(&self, look: Look) -> Result<Token, Busy> {
        let backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let index = self.slot_index(head);
            let slot = &self.buffer[index];
            // ORDERING: Acquire pairs with the sender's Release store of the stamp: once we
            // see the slot full, its message is visible.
            let stamp = slot.stamp.load(Ordering::Acquire);

            if stamp == head + 1 {
                // A message for us: claim the position.
                // ORDERING: SeqCst, the RMW the wake-up handshake relies on (waiter.rs).
                match self.head.compare_exchange_weak(
                    head,
                    self.next_position(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // Under loom, the claim's place in the SeqCst order (waiter.rs).
                        seqcst_accesses_ordered();
                        return Ok(Token {
                            index,
                            stamp: head.wrapping_add(self.one_lap),
                        });
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if stamp == head || stamp.wrapping_add(self.one_lap) == head + 1 {
                // No message for us yet (the slot is empty, or last lap's receiver is still
                // copying out). Empty if the tail is here too. If not, a sender has claimed
                // the position and is writing: wait for it rather than park, because our
                // re-check after registering has seen the tail move (waiter.rs). All of this
                // is for an exact look; a quick one says `Wait` without reading the tail.
                if look == Look::Quick {
                    return Err(Busy::Wait);
                }
                let tail = self.tail.load(Ordering::SeqCst);
                if tail & !self.mark_bit == head {
                    return Err(if tail & self.mark_bit != 0 {
                        Busy::Disconnected
                    } else {
                        Busy::Wait
                    });
                }
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // We read a stale head (another receiver took this position): reload.
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Reads the message out of a slot claimed by `start_recv`.
    ///
    /// # Safety
    /// `token` came from `start_recv` on this channel and is used once.
    #[inline]
    unsafe fn read(&self, token: Token) -> T {
        let slot = &self.buffer[token.index];
        // SAFETY: the claim gives us the slot alone, and it holds a message (invariants 1, 3).
        let msg = slot.msg.with(|p| unsafe { p.read().assume_init() });
        // ORDERING: Release says the slot is empty again, to the next sender's Acquire.
        slot.stamp.store(token.stamp, Ordering::Release);
        msg
    }

    /// Completes a send whose slot is claimed: writes, then wakes a receiver.
    #[inline]
    fn finish_send(&self, token: Token, msg: T) {
        // SAFETY: `token` is fresh from `start_send`.
        unsafe { self.write(token, msg) };
        self.receivers.notify_one();
    }

    /// Completes a receive whose slot is claimed: reads, then wakes a sender.
    #[inline]
    fn finish_recv(&self, token: Token) -> T {
        // SAFETY: `token` is fresh from `start_recv`.
        let msg = unsafe { self.read(token) };
        // Messages sent for parked senders; each owes the receivers a notification, given
        // after the registry pass so that no sender's wait stays claimed while this thread
        // notifies (which can make it the receivers' combiner for a while).
        let completed = Cell::new(0usize);
        self.senders.notify_one_with(&|packet| {
            // SAFETY: the senders registry only holds packets registered by
            // `send_waiting`, and the registry calls this only on a wait it claimed.
            let completion = unsafe { self.complete_parked_send(packet) };
            if completion == Completion::Done {
                completed.set(completed.get() + 1);
            }
            completion
        });
        for _ in 0..completed.get() {
            self.receivers.notify_one();
        }
        msg
    }

    /// Sends without blocking.
    #[inline]
    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        match self.start_send(Look::Exact) {
            Ok(token) => {
                self.finish_send(token, msg);
                Ok(())
            }
            Err(Busy::Wait) => Err(TrySendError::Full(msg)),
            Err(Busy::Disconnected) => Err(TrySendError::Disconnected(msg)),
        }
    }

    /// Sends, parking while the channel is full, until `deadline`.
    #[inline]
    pub(crate) fn send(&self, msg: T, deadline: Deadline) -> Result<(), SendTimeoutError<T>> {
        match self.start_send(Look::Quick) {
            Ok(token) => {
                self.finish_send(token, msg);
                Ok(())
            }
            Err(Busy::Disconnected) => Err(SendTimeoutError::Disconnected(msg)),
            Err(Busy::Wait) => self.send_waiting(msg, deadline),
        }
    }

    /// The rest of [`send`](Channel::send) once the channel was found full: spin, then park
    /// with the message offered to receivers ("Completing a parked send").
    #[inline(never)]
    fn send_waiting(&self, mut msg: T, deadline: Deadline) -> Result<(), SendTimeoutError<T>> {
        let mut spin = self.senders.spin.start();
        let mut look = Look::Quick;
        loop {
            match self.start_send(look) {
                Ok(token) => {
                    spin.done();
                    self.finish_send(token, msg);
                    return Ok(());
                }
                Err(Busy::Disconnected) => return Err(SendTimeoutError::Disconnected(msg)),
                Err(Busy::Wait) => {}
            }
            if deadline.expired() {
                // Only an exact look may report the timeout ("Quick looks").
                if look == Look::Exact {
                    return Err(SendTimeoutError::Timeout(msg));
                }
                look = Look::Exact;
                continue;
            }
            // Spin on the channel only while a receiver running on another core may free a
            // slot any moment; after that, yield with the message already offered, so that a
            // receiver can complete the send while we are off the core.
            if spin.pause() {
                continue;
            }
            // One exact look before registering: it waits out a receive in flight on our
            // slot, which a quick look reports as `Wait` and the re-check below as room, so
            // that quick looks alone would register and withdraw until that receive is done.
            if look == Look::Quick {
                look = Look::Exact;
                continue;
            }

            let packet = UnsafeCell::new(MaybeUninit::new(msg));
            let waiter = Waiter::current();
            self.senders.register_with(
                &waiter,
                FIRST_OP,
                (&packet as *const UnsafeCell<MaybeUninit<T>>)
                    .cast_mut()
                    .cast(),
            );
            // The re-check, after `register_with`'s fence (waiter.rs). It must not claim a
            // slot: a receiver may be moving our message out of the packet right now. If it
            // sees room (or a disconnection), we withdraw and try again from the top.
            let would_wait = self.send_would_wait();
            let decided = wait_registered(
                &self.senders,
                &waiter,
                deadline,
                &mut spin,
                would_wait,
                || None,
            );
            if decided == Err(COMPLETED) {
                // A receiver moved the message into the channel for us.
                return Ok(());
            }
            // SAFETY: the wait is decided and nobody completed it, so no receiver took the
            // message: it is still in the packet, and ours again.
            msg = packet.with(|p| unsafe { p.read().assume_init() });
            // Woken, withdrawn or timed out: the loop tries again, and after a timeout those
            // attempts (a quick one, then an exact one) are the last before reporting it (so
            // room made right at the deadline is not left unused). `wait_registered` began
            // a new spin phase, whose pause steps look quickly again.
            look = Look::Quick;
        }
    }

    /// Whether a send would find the channel full right now (and not disconnected), without
    /// claiming anything: the parked sender's re-check.
    fn send_would_wait(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        if tail & self.mark_bit != 0 {
            return false;
        }
        let slot = &self.buffer[self.slot_index(tail)];
        // ORDERING: Acquire as in `start_send` (pairs with the receiver's Release store of
        // the stamp), though only the value matters here: nothing is read through it.
        let stamp = slot.stamp.load(Ordering::Acquire);
        if stamp.wrapping_add(self.one_lap) != tail + 1 && stamp.wrapping_add(self.one_lap) != tail
        {
            // Room (or a stale tail): try again rather than park.
            return false;
        }
        // Full only if the head is a whole lap behind; if it moved, a receiver is freeing
        // the slot (as in `start_send`).
        self.head.load(Ordering::SeqCst).wrapping_add(self.one_lap) == tail
    }

    /// Completes a parked sender's send for it, called by a receiver that just freed a slot
    /// (`Registry::notify_one_with`): claims a slot and moves the message out of the
    /// sender's packet into it. The caller then owes the receivers a notification. Returns
    /// `Failed`, touching nothing, if the channel is full again (another sender took the
    /// room) or disconnected.
    ///
    /// # Safety
    /// `packet` is the `UnsafeCell<MaybeUninit<T>>` a sender of this channel registered in
    /// `send_waiting`, and the caller claimed its wait.
    unsafe fn complete_parked_send(&self, packet: *mut ()) -> Completion {
        let Ok(token) = self.start_send(Look::Exact) else {
            return Completion::Failed;
        };
        let packet = packet.cast::<UnsafeCell<MaybeUninit<T>>>().cast_const();
        // SAFETY: per the contract the packet holds the sender's message, and the claim on
        // its wait makes us the only one to read it; the sender keeps the packet alive until
        // the claim is finished.
        let msg = unsafe { (*packet).with(|p| p.read().assume_init()) };
        // SAFETY: `token` is fresh from `start_send`.
        unsafe { self.write(token, msg) };
        Completion::Done
    }

    /// Receives without blocking.
    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.start_recv(Look::Exact) {
            Ok(token) => Ok(self.finish_recv(token)),
            Err(Busy::Wait) => Err(TryRecvError::Empty),
            Err(Busy::Disconnected) => Err(TryRecvError::Disconnected),
        }
    }

    /// Receives, parking while the channel is empty, until `deadline`.
    #[inline]
    pub(crate) fn recv(&self, deadline: Deadline) -> Result<T, RecvTimeoutError> {
        let claimed = block_on(&self.receivers, deadline, |look| {
            match self.start_recv(look) {
                Ok(token) => Some(Ok(token)),
                Err(Busy::Disconnected) => Some(Err(())),
                Err(Busy::Wait) => None,
            }
        });
        match claimed {
            Some(Ok(token)) => Ok(self.finish_recv(token)),
            Some(Err(())) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// The number of messages in the channel (exact when no operation is in flight).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            // A consistent snapshot: the tail did not move while we read the head.
            if self.tail.load(Ordering::SeqCst) == tail {
                return self.len_between(head, tail & !self.mark_bit);
            }
        }
    }

    fn len_between(&self, head: Index, tail: Index) -> usize {
        let hix = self.slot_index(head);
        let tix = self.slot_index(tail);
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.cap - hix + tix
        } else if tail == head {
            0
        } else {
            self.cap
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len() == self.cap
    }

    /// Whether either side has left (the tail's mark).
    fn is_disconnected(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    /// Selection: claims a receive if a message is there (or the channel is disconnected).
    pub(crate) fn select_try_recv(&self) -> Option<SelToken> {
        match self.start_recv(Look::Exact) {
            Ok(Token { index, stamp }) => Some(SelToken::Array { index, stamp }),
            Err(Busy::Disconnected) => Some(SelToken::Disconnected),
            Err(Busy::Wait) => None,
        }
    }

    /// Selection: claims a slot to send into if there is room (or reports disconnection).
    pub(crate) fn select_try_send(&self) -> Option<SelToken> {
        match self.start_send(Look::Exact) {
            Ok(Token { index, stamp }) => Some(SelToken::Array { index, stamp }),
            Err(Busy::Disconnected) => Some(SelToken::Disconnected),
            Err(Busy::Wait) => None,
        }
    }

    /// Selection: whether a receive could complete now, without claiming. Reads the tail
    /// (in `len`): the re-check of the wake-up handshake (waiter.rs).
    pub(crate) fn recv_ready(&self) -> bool {
        !self.is_empty() || self.is_disconnected()
    }

    /// Selection: whether a send could complete now, without claiming. Reads the head (in
    /// `len`): the re-check of the wake-up handshake.
    pub(crate) fn send_ready(&self) -> bool {
        self.len() < self.cap || self.is_disconnected()
    }

    /// Selection: the registry receivers (`true`) or senders wait in.
    pub(crate) fn registry(&self, receivers: bool) -> &Registry {
        if receivers {
            &self.receivers
        } else {
            &self.senders
        }
    }

    /// Selection: completes a claimed receive.
    ///
    /// # Safety
    /// `token` came from [`select_try_recv`](Channel::select_try_recv) on this channel and
    /// is used once.
    pub(crate) unsafe fn select_read(&self, token: SelToken) -> Result<T, ()> {
        match token {
            SelToken::Array { index, stamp } => Ok(self.finish_recv(Token { index, stamp })),
            _ => Err(()),
        }
    }

    /// Selection: completes a claimed send.
    ///
    /// # Safety
    /// `token` came from [`select_try_send`](Channel::select_try_send) on this channel and
    /// is used once.
    pub(crate) unsafe fn select_write(&self, token: SelToken, msg: T) -> Result<(), T> {
        match token {
            SelToken::Array { index, stamp } => {
                self.finish_send(Token { index, stamp }, msg);
                Ok(())
            }
            _ => Err(msg),
        }
    }

    /// The last sender left: mark the tail, wake every parked receiver.
    pub(crate) fn disconnect_senders(&self) {
        if self.tail.fetch_or(self.mark_bit, Ordering::SeqCst) & self.mark_bit == 0 {
            self.receivers.notify_all();
        }
    }

    /// The last receiver left: mark the tail (sends fail from now on), wake every parked
    /// sender so it gets its message back, and drop the messages still queued.
    pub(crate) fn disconnect_receivers(&self) {
        if self.tail.fetch_or(self.mark_bit, Ordering::SeqCst) & self.mark_bit == 0 {
            self.senders.notify_all();
            self.discard_all_messages();
        }
    }

    /// Drops every queued message. Runs once, in the thread that dropped the last receiver,
    /// so the head does not move; sends that claimed a slot before the mark are waited for.
    /// If a message's `Drop` panics, the panic propagates and the messages after it are
    /// leaked ([`drop_or_leak`]).
    fn discard_all_messages(&self) {
        drop_or_leak(
            // SAFETY: no receiver is left, and the tail is marked: every position in
            // `head..tail` was claimed by a send that has written it or will.
            || unsafe { self.drop_queued(Writers::MayBeWriting) },
            || self.leak_queued(),
        );
    }
}

impl<T> Channel<T> {
    /// Drops the messages still queued, moving the head past each one before its `Drop`
    /// runs, so that if that `Drop` panics, [`leak_queued`](Channel::leak_queued) gives up
    /// the ones after it and never touches that one again.
    ///
    /// # Safety
    /// No receiver is left (nobody else moves the head or reads a slot) and the tail is
    /// final; every position in `head..tail` holds a written message, or, with
    /// `Writers::MayBeWriting`, will once its send finishes writing.
    unsafe fn drop_queued(&self, writers: Writers) {
        let tail = self.tail.load(Ordering::SeqCst) & !self.mark_bit;
        let backoff = Backoff::new();
        loop {
            let head = self.head.load(Ordering::Relaxed);
            if head == tail {
                return;
            }
            let slot = &self.buffer[self.slot_index(head)];
            if writers == Writers::MayBeWriting {
                // ORDERING: Acquire pairs with the sender's Release stamp store.
                while slot.stamp.load(Ordering::Acquire) != head + 1 {
                    backoff.snooze();
                }
            }
            // SAFETY: per the contract, the slot holds position `head`'s message (its stamp
            // says so, or every send is done), which nobody else will read: we move the head
            // past it next.
            let msg = slot.msg.with(|p| unsafe { p.read().assume_init() });
            slot.stamp
                .store(head.wrapping_add(self.one_lap), Ordering::Release);
            self.head.store(self.next_position(head), Ordering::Release);
            drop(msg);
        }
    }

    /// After a message's `Drop` panicked in [`drop_queued`](Channel::drop_queued): leaves
    /// the messages after it in their slots, never to be dropped (leaked), and the channel
    /// empty. The ring is freed with the channel, once every handle (and so every send
    /// still writing a leaked slot) is gone.
    fn leak_queued(&self) {
        let tail = self.tail.load(Ordering::SeqCst) & !self.mark_bit;
        self.head.store(tail, Ordering::Release);
    }
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        drop_or_leak(
            // SAFETY: `&mut self`: every handle is gone, so no operation is in flight and
            // every position in `head..tail` holds a written message.
            || unsafe { self.drop_queued(Writers::Done) },
            || self.leak_queued(),
        );
    }
}

#[cfg(all(test, not(loom), target_has_atomic = "64"))]
mod tests {
    use super::*;

    /// A channel of capacity `cap` whose positions start at lap `lap`, as if that many laps
    /// of messages had already passed through it.
    fn starting_at_lap(cap: usize, lap: Index) -> Channel<u64> {
        let channel = Channel::with_capacity(cap);
        let start = lap * channel.one_lap;
        channel.head.store(start, Ordering::Relaxed);
        channel.tail.store(start, Ordering::Relaxed);
        for (i, slot) in channel.buffer.iter().enumerate() {
            slot.stamp
                .store(start + index_from_usize(i), Ordering::Relaxed);
        }
        channel
    }

    /// Positions and stamps run past 2^32, where a 32-bit position would wrap: full and
    /// empty are still told apart, messages keep their order, the length stays right, and
    /// the head holds the whole position. On a 64-bit target this checks the arithmetic at
    /// large positions; on a 32-bit one with 64-bit atomics (i686), also that positions are
    /// 64-bit.
    #[test]
    fn positions_run_past_32_bits() {
        for cap in [1, 3, 16] {
            let one_lap = Channel::<u64>::with_capacity(cap).one_lap;
            let boundary: Index = 1 << 32;
            let channel = starting_at_lap(cap, boundary / one_lap - 2);
            let (mut sent, mut received) = (0u64, 0u64);
            for round in 0..8 {
                // Alternately fill the ring and move half a lap, so that full, empty and
                // partly full states fall on both sides of the boundary.
                let burst = if round % 2 == 0 { cap } else { cap / 2 + 1 };
                for _ in 0..burst {
                    channel.try_send(sent).unwrap();
                    sent += 1;
                }
                assert_eq!(channel.len() as u64, sent - received);
                if burst == cap {
                    assert!(channel.is_full());
                    assert_eq!(
                        channel.try_send(u64::MAX),
                        Err(TrySendError::Full(u64::MAX))
                    );
                }
                for _ in 0..burst {
                    assert_eq!(channel.try_recv(), Ok(received));
                    received += 1;
                }
                assert!(channel.is_empty());
                assert_eq!(channel.try_recv(), Err(TryRecvError::Empty));
            }
            let head = channel.head.load(Ordering::Relaxed);
            assert_eq!(head, channel.tail.load(Ordering::Relaxed));
            assert!(
                head > boundary,
                "cap {cap}: head {head} is not past {boundary}"
            );
            channel.disconnect_senders();
            assert_eq!(channel.try_recv(), Err(TryRecvError::Disconnected));
        }
    }
}
