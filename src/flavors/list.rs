//! The unbounded flavor: a linked list of fixed-size blocks of slots.
//!
//! The algorithm is the block-list queue that crossbeam-channel's unbounded flavor made
//! popular (a variant of Michael-Scott's queue with many slots per node), written anew here
//! with its own reclamation and disconnection details.
//!
//! # Implementation notes
//!
//! ## Positions
//!
//! Every message gets a *position*, a number that only grows. Position `p` lives in lap
//! `p / LAP` at offset `p % LAP`. Offsets `0..BLOCK_CAP` are the slots of one block; the
//! last offset, `BLOCK_CAP`, is not a slot but a sentinel that means "the next block is being
//! installed": a thread that reads it waits a moment for the installer to move on.
//!
//! `tail.index` and `head.index` hold a position shifted left by one (`SHIFT`); the freed low
//! bit is a flag:
//! - on the tail, [`MARK_BIT`] means *disconnected* (set by the last sender or the last
//!   receiver leaving);
//! - on the head, [`MARK_BIT`] means *the head block is not the tail block*, so a receiver
//!   need not read the tail (a line the senders keep writing) to know a slot is claimed.
//!
//! The index words are [`Index`]es (`sync.rs`): 64 bits wherever the target has 64-bit
//! atomics, 32-bit targets included, and `usize` elsewhere. A 64-bit word holds 2^63
//! positions before it wraps, which no channel reaches (about 2,900 years at 10^8 messages
//! a second); a 32-bit one only 2^31, about 21 seconds at that rate. Claiming, below, needs
//! the index never to come back to a value a stalled thread loaded. Offsets (below `LAP`)
//! and the slots' states (three values) stay `usize`: neither grows with the channel's
//! history.
//!
//! ## Claiming
//!
//! A sender claims position `p` with a CAS of `tail.index` from `p` to `p + 1`; a receiver
//! claims with a CAS of `head.index`, after checking that `head < tail`. Neither dereferences
//! the block pointer it loaded until its CAS has succeeded: success proves the index did not
//! move (it never comes back to an old value, see "Positions"), so the block (which holds a
//! still-unfinished slot, the one just claimed) is alive. Where indices are 32-bit, a
//! thread stalled between its load and its CAS while the index moved on by a multiple of
//! 2^31 positions would find its old value again, and claim through a block pointer that
//! may be freed (docs/DESIGN.md, "Known limitations").
//!
//! The sender that claims the last slot of a block installs the next block (allocated before
//! the claim, so the window in which others see the sentinel is a few stores long), then
//! moves the tail past the sentinel with `fetch_add`, which keeps a concurrent disconnection
//! mark. The receiver that claims the last slot waits for that block's `next` and moves the
//! head likewise.
//!
//! ## Slots and reclamation
//!
//! A slot's `state` goes `0` → [`WRITE`] (the message is in place) → `WRITE |` [`READ`] (the
//! receiver has moved it out). Each step has exactly one author, the slot's sender and then
//! its reader, and the reader writes only after seeing `WRITE`; so both steps are plain
//! Release stores, not read-modify-writes. A receiver reads only after seeing `WRITE`, so it
//! never sees a half-written message.
//!
//! A block is freed once every one of its slots has been read, never while a reader is
//! still copying a message out:
//! 1. The reader of the block's last slot *reclaims* it after reading its message. By then
//!    every slot of the block has been claimed by some receiver, so no thread will claim one
//!    again, and the head has moved on to the next block.
//! 2. Reclaiming looks at the other slots' states (Acquire loads). If every one has `READ`,
//!    every reader is done (its `READ` store is its last access to the block), and the
//!    block is freed.
//! 3. Otherwise some reader is still copying (or its sender still writing). The block goes
//!    onto the channel's *deferred* stack (a CAS push), and the readers of the remaining
//!    slots are not told: they just store `READ` and leave. A later reclaimer (the first
//!    whose look at the stack finds it non-empty) takes the whole stack (one swap), frees
//!    the blocks that are now fully read, and pushes the others back. The last receiver's
//!    drop frees whatever is still on the stack (every receive has finished by then), and
//!    so does `Drop`.
//!
//! So a reader's only reclamation work is one plain store, and only one thread per block
//! ever decides about it: its reclaimer, or later whoever took it off the stack. (An earlier
//! version handed the decision between readers with a `fetch_or` on every slot, two locked
//! instructions per message; see docs/PERFORMANCE.md.) The stack is pushed one block at a
//! time and emptied whole, so it has no ABA problem: a push links its block to whatever the
//! top is when its CAS succeeds.
//!
//! "Frees" means *retires*: the block becomes the channel's `spare` if that is empty (a CAS
//! from null), and is deallocated otherwise. A sender that needs a block takes the spare
//! (a swap to null) and resets its atomics before installing it. Each side first looks at
//! the spare with a plain load and skips an RMW that looks as if it would fail (a swap of
//! null, a CAS onto a full spare). The look may be stale; that only costs a reuse, since
//! only the RMW transfers ownership.
//!
//! Reuse is free-then-allocate with the channel as the allocator: the Release CAS and the
//! Acquire swap order the last reader's accesses before the new owner's, and every argument
//! above about a block's lifetime holds as for a fresh allocation, since nobody can hold a
//! pointer to a retired block. In a steady stream this saves an allocator round trip per
//! block, and keeps the senders from always allocating fresh memory while the receivers'
//! thread caches fill up.
//!
//! Memory held is therefore one partly used block, at most one spare, the blocks still
//! holding messages, and the deferred blocks: those whose last slot was read while a reader
//! of another slot was still busy. A deferred block waits for a later reclaimer (or for the
//! last receiver to leave, if no more blocks are read), however soon its last reader
//! finishes.
//! Blocks are deferred independently: a receiver stalled mid-copy (preempted, say) keeps
//! its own block alive, not the blocks after it. So the stack holds at most one block per
//! receive that was in progress when a later block was reclaimed.
//!
//! ## Disconnection
//!
//! The last sender marks the tail and wakes every parked receiver: receivers drain what is
//! left and then report disconnection. The last receiver marks the tail too (senders then
//! fail and get their message back) and drops every message still queued, waiting for sends
//! that had already claimed a slot to finish writing it. Afterwards `tail.block` may dangle
//! (the head side freed it); it is never dereferenced again, because every sender checks the
//! tail's mark before anything else.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

use crossbeam_utils::CachePadded;

use crate::error::{RecvTimeoutError, TryRecvError};
use crate::flavors::{drop_or_leak, Writers};
use crate::select::Token as SelToken;
use crate::sync::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use crate::sync::{
    count_to_usize, index_from_usize, index_to_usize, seqcst_accesses_ordered, AtomicIndex,
    AtomicPtr, AtomicUsize, Backoff, Index, Ordering, UnsafeCell, IS_LOOM,
};
use crate::waiter::{block_on, Deadline, Registry};

/// Positions per lap: one block of slots plus the sentinel. Tiny under loom so that models
/// cross block boundaries.
const LAP: usize = if IS_LOOM { 3 } else { 32 };
/// Slots per block.
const BLOCK_CAP: usize = LAP - 1;
/// How far positions are shifted to make room for [`MARK_BIT`].
const SHIFT: usize = 1;
/// Tail: the channel is disconnected. Head: the head block is not the tail block.
const MARK_BIT: Index = 1;

/// The offset within its lap of the position an index word holds: a slot of the block, or
/// `BLOCK_CAP` for the sentinel.
#[inline(always)]
fn offset_of(index: Index) -> usize {
    // The remainder is below `LAP`, a `usize`.
    index_to_usize((index >> SHIFT) % index_from_usize(LAP))
}

/// The lap (the block, counted from the first) of the position an index word holds.
#[inline(always)]
fn lap_of(index: Index) -> Index {
    (index >> SHIFT) / index_from_usize(LAP)
}

/// Slot state: the message has been written.
const WRITE: usize = 1;
/// Slot state: the message has been read out.
const READ: usize = 2;

/// One message's place.
struct Slot<T> {
    /// Initialized from the sender's `WRITE` store until the reader moves it out. The
    /// reader then stores `READ`, except in a block's last slot (its reader reclaims the
    /// block instead) and in the drains at disconnection and drop, which free the block.
    msg: UnsafeCell<MaybeUninit<T>>,
    /// `0`, then `WRITE`, then `WRITE | READ`.
    state: AtomicUsize,
}

impl<T> Slot<T> {
    /// Waits until the sender that claimed this slot has written it.
    fn wait_write(&self) {
        let backoff = Backoff::new();
        // ORDERING: Acquire pairs with the Release store of `WRITE` in `write`: the message
        // bytes are visible once the bit is.
        while self.state.load(Ordering::Acquire) & WRITE == 0 {
            backoff.snooze();
        }
    }
}

/// A block of slots, linked to the next one.
struct Block<T> {
    /// The next block, installed by the sender that claimed this block's last slot.
    next: AtomicPtr<Block<T>>,
    /// The block below this one on the channel's deferred stack. Meaningful only while
    /// the block is on it: a push writes it first, so a reused block needs no reset.
    deferred_next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    const LAYOUT: Layout = Layout::new::<Block<T>>();

    /// Allocates a block on the heap and initializes its atomics in place. The messages are
    /// left uninitialized, so a block of large messages is never built on the stack.
    fn alloc() -> *mut Block<T> {
        // SAFETY: the layout has non-zero size (it holds at least one atomic).
        let block = unsafe { alloc(Self::LAYOUT) }.cast::<Block<T>>();
        if block.is_null() {
            handle_alloc_error(Self::LAYOUT);
        }
        // SAFETY: `block` is a fresh allocation of the right layout; we initialize every field
        // that has a meaning before reading it (the `MaybeUninit` messages need none).
        unsafe {
            ptr::addr_of_mut!((*block).next).write(AtomicPtr::new(ptr::null_mut()));
            ptr::addr_of_mut!((*block).deferred_next).write(AtomicPtr::new(ptr::null_mut()));
            let slots = ptr::addr_of_mut!((*block).slots).cast::<Slot<T>>();
            for i in 0..BLOCK_CAP {
                let slot = slots.add(i);
                ptr::addr_of_mut!((*slot).state).write(AtomicUsize::new(0));
                ptr::addr_of_mut!((*slot).msg).write(UnsafeCell::new(MaybeUninit::uninit()));
            }
        }
        block
    }

    /// Frees a block allocated by [`Block::alloc`].
    ///
    /// # Safety
    /// `block` came from `Block::alloc`, every message in it has been moved out or dropped,
    /// and no other thread will touch it again.
    unsafe fn free(block: *mut Block<T>) {
        // SAFETY: per the contract; dropping in place runs no message destructor (they are
        // `MaybeUninit`), only the atomics' and cells' (which matter under loom).
        unsafe {
            ptr::drop_in_place(block);
            dealloc(block.cast::<u8>(), Self::LAYOUT);
        }
    }

    /// Waits until the next block is installed, and returns it.
    ///
    /// # Safety
    /// `block` is alive (the caller holds a claimed, unread slot of it).
    unsafe fn wait_next(block: *mut Block<T>) -> *mut Block<T> {
        let backoff = Backoff::new();
        loop {
            // SAFETY: per the contract.
            // ORDERING: Acquire pairs with the installer's Release store of `next`, making
            // the new block's initialized fields visible.
            let next = unsafe { (*block).next.load(Ordering::Acquire) };
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Whether every slot but the last has been read. If so, no reader of those slots will
    /// touch the block again, and the caller (who owns the reclamation of the block and has
    /// read the last slot, or got the block from someone who had) may free it.
    ///
    /// # Safety
    /// The caller owns the reclamation of `block` (see "Slots and reclamation"), so the
    /// block is alive.
    unsafe fn all_read(block: *mut Block<T>) -> bool {
        // The last slot is not checked: its reader is the reclaimer, done before it starts.
        for i in 0..BLOCK_CAP - 1 {
            // SAFETY: per the contract.
            let slot = unsafe { &(*block).slots[i] };
            // ORDERING: Acquire pairs with the reader's Release store of `READ`: every
            // reader's accesses to the block happen before the caller frees or reuses it.
            // (Not Relaxed loads and one Acquire fence: ThreadSanitizer does not model
            // fences and reports the free as a race. On x86 both are plain loads.)
            if slot.state.load(Ordering::Acquire) & READ == 0 {
                return false;
            }
        }
        true
    }

    /// Makes a block that was fully used look freshly allocated again.
    ///
    /// # Safety
    /// The caller owns `block` exclusively (it came out of `Channel::spare`).
    unsafe fn reset(block: *mut Block<T>) {
        // SAFETY: exclusive ownership per the contract. Plain stores suffice: the block is
        // published again only by the Release stores that install it.
        unsafe {
            (*block).next.store(ptr::null_mut(), Ordering::Relaxed);
            for slot in &(*block).slots {
                slot.state.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// One end of the queue: a position and the block it is in.
struct Position<T> {
    /// The position shifted left by [`SHIFT`], and [`MARK_BIT`].
    index: AtomicIndex,
    block: AtomicPtr<Block<T>>,
}

impl<T> Position<T> {
    /// The index, then the block. The block pointer may only be dereferenced after a CAS of
    /// the index succeeds (module notes).
    fn load(&self) -> (Index, *mut Block<T>) {
        // ORDERING: Acquire on the index pairs with the Release that moved it onto a new
        // block (`fetch_add` past the sentinel, or the head's store), so the block pointer
        // read next is that index's block or a newer one.
        let index = self.index.load(Ordering::Acquire);
        let block = self.block.load(Ordering::Acquire);
        (index, block)
    }
}

/// A slot claimed by `start_send` or `start_recv`, to be written or read next.
struct Token<T> {
    block: *mut Block<T>,
    offset: usize,
}

/// The unbounded channel.
pub(crate) struct Channel<T> {
    /// Where receivers claim. On its own cache line, away from the senders' tail.
    head: CachePadded<Position<T>>,
    /// Where senders claim.
    tail: CachePadded<Position<T>>,
    /// Receivers parked waiting for a message.
    receivers: Registry,
    /// One block the receivers finished with, kept for the next block a sender needs.
    /// In a steady stream senders then reuse the blocks receivers free, instead of each
    /// thread's allocator cache filling on one side and missing on the other (which sent
    /// the senders to fresh, page-faulting memory). Holds at most one block.
    spare: CachePadded<AtomicPtr<Block<T>>>,
    /// The top of the deferred stack: blocks whose last slot was read while another slot's
    /// reader was still busy, linked by `deferred_next` (see "Slots and reclamation").
    deferred: CachePadded<AtomicPtr<Block<T>>>,
    _marker: PhantomData<T>,
}

// SAFETY: messages of type `T` move between threads through the channel, so `T: Send` is
// required; the channel's own shared state is only accessed through atomics and through
// slots whose ownership the claiming protocol makes exclusive.
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

/// What `try_recv`-like claiming found when no message could be claimed.
enum Claim<T> {
    /// A slot is claimed; read it with [`Channel::read`].
    Ready(Token<T>),
    /// No message now.
    Empty,
    /// No message and no sender left.
    Disconnected,
}

impl<T> Channel<T> {
    pub(crate) fn new() -> Channel<T> {
        Channel {
            head: CachePadded::new(Position {
                index: AtomicIndex::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
            }),
            tail: CachePadded::new(Position {
                index: AtomicIndex::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
            }),
            receivers: Registry::new(),
            spare: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            deferred: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            _marker: PhantomData,
        }
    }

    /// A block ready to install: the spare one if there is one, else a new one.
    fn new_block(&self) -> *mut Block<T> {
        // A plain load first, so that a channel whose spare is empty (one that only grows,
        // like a burst sent before any receive) pays no locked instruction here. A spare
        // retired just after this load waits for the next block.
        let block = if self.spare.load(Ordering::Relaxed).is_null() {
            ptr::null_mut()
        } else {
            // ORDERING: Acquire pairs with the Release in `retire`: every reader's accesses
            // to the block happen before our reuse (they were ordered before the retiring
            // thread by its Acquire loads in `all_read`, and, for a block that was deferred,
            // by the stack's Release push and Acquire take). The swap, not the load, is what
            // makes the block ours: it may find the spare taken by another sender meanwhile.
            self.spare.swap(ptr::null_mut(), Ordering::Acquire)
        };
        if block.is_null() {
            Block::alloc()
        } else {
            // SAFETY: the swap made the spare ours alone.
            unsafe { Block::reset(block) };
            block
        }
    }

    /// Gives up a block nobody uses any more: keeps it as the spare, or frees it.
    ///
    /// # Safety
    /// As [`Block::free`].
    unsafe fn retire(&self, block: *mut Block<T>) {
        // A plain load first: if a spare is already kept (as while a burst drains), the
        // block is freed without a locked instruction. If the look is stale (the spare was
        // taken since), a reuse is missed, nothing worse. If it sees none, the CAS decides.
        // ORDERING: Release publishes our (and, through the Acquire loads in `all_read`,
        // every reader's) last accesses to the next owner's Acquire swap in `new_block`.
        if !self.spare.load(Ordering::Relaxed).is_null()
            || self
                .spare
                .compare_exchange(ptr::null_mut(), block, Ordering::Release, Ordering::Relaxed)
                .is_err()
        {
            // SAFETY: per the contract.
            unsafe { Block::free(block) };
        }
    }

    /// Called by the reader of `block`'s last slot once it has its message: frees the block
    /// if all its other slots are read, or defers it; and first retries the blocks deferred
    /// earlier.
    ///
    /// # Safety
    /// The caller read `block`'s last slot (so owns its reclamation) and touches the block
    /// no more.
    unsafe fn reclaim(&self, block: *mut Block<T>) {
        // A plain load first: the stack is empty unless readers were preempted or slow, and
        // an empty stack costs no write to its line. A block pushed just after this load
        // waits for the next reclaimer.
        if !self.deferred.load(Ordering::Relaxed).is_null() {
            // ORDERING: Acquire pairs with the Release of each push in `free_or_defer`, making the
            // pusher's `deferred_next` store (and its ownership) ours.
            let mut earlier = self.deferred.swap(ptr::null_mut(), Ordering::Acquire);
            while !earlier.is_null() {
                // SAFETY: taking the stack made us the owner of every block on it.
                let below = unsafe { (*earlier).deferred_next.load(Ordering::Relaxed) };
                // SAFETY: we own the block's reclamation.
                unsafe { self.free_or_defer(earlier) };
                earlier = below;
            }
        }
        // SAFETY: per the contract.
        unsafe { self.free_or_defer(block) };
    }

    /// Retires `block` if every slot is read, else pushes it on the deferred stack.
    ///
    /// # Safety
    /// The caller owns the reclamation of `block`, and gives it up.
    unsafe fn free_or_defer(&self, block: *mut Block<T>) {
        // SAFETY: we own the block's reclamation, so it is alive.
        if unsafe { Block::all_read(block) } {
            // SAFETY: every reader is done with it (the Acquire loads in `all_read`), and no one
            // else can reach it: the head has left it and it is on no stack.
            unsafe { self.retire(block) };
        } else {
            let mut top = self.deferred.load(Ordering::Relaxed);
            loop {
                // SAFETY: we own the block until the CAS below publishes it.
                unsafe { (*block).deferred_next.store(top, Ordering::Relaxed) };
                // ORDERING: Release publishes our `deferred_next` store (and our accesses to
                // the block) to the Acquire swap in `reclaim` or `free_deferred` that takes
                // it.
                match self.deferred.compare_exchange_weak(
                    top,
                    block,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(current) => top = current,
                }
            }
        }
    }

    /// Claims a slot for a send. Returns `None` if the channel is disconnected.
    #[inline]
    fn start_send(&self) -> Option<Token<T>> {
        let backoff = Backoff::new();
        let (mut tail, mut block) = self.tail.load();
        let mut next_block: *mut Block<T> = ptr::null_mut();

        let token = loop {
            if tail & MARK_BIT != 0 {
                break None;
            }
            let offset = offset_of(tail);

            // Another sender is installing the next block: wait for it.
            if offset == BLOCK_CAP {
                backoff.snooze();
                (tail, block) = self.tail.load();
                continue;
            }

            // About to claim the last slot: allocate the next block before claiming, so the
            // sentinel window stays short.
            if offset + 1 == BLOCK_CAP && next_block.is_null() {
                next_block = self.new_block();
            }

            // The very first send installs the first block (an idle channel allocates none).
            if block.is_null() {
                let new = if next_block.is_null() {
                    self.new_block()
                } else {
                    std::mem::replace(&mut next_block, ptr::null_mut())
                };
                // ORDERING: Release publishes the block's initialization to the Acquire
                // loads of `tail.block`/`head.block`.
                if self
                    .tail
                    .block
                    .compare_exchange(block, new, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    // A swap, not a store: `discard_all_messages` may swap the head block
                    // concurrently, and an RMW here keeps the two ordered, so exactly one of
                    // it and `Drop` sees (and frees) this block.
                    let _old = self.head.block.swap(new, Ordering::Release);
                    debug_assert!(_old.is_null());
                    block = new;
                } else {
                    next_block = new; // Lost the race: keep it for later or free it below.
                    (tail, block) = self.tail.load();
                    continue;
                }
            }

            let new_tail = tail + (1 << SHIFT);
            // ORDERING: SeqCst so that a receiver's emptiness check after its fence (in
            // `Registry::register`) sees this claim or the sender sees the receiver waiting
            // (see waiter.rs). Acquire on failure as for the first load.
            match self.tail.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // Under loom, the claim's place in the SeqCst order (waiter.rs).
                    seqcst_accesses_ordered();
                    if offset + 1 == BLOCK_CAP {
                        // We claimed the last slot: install the next block. Nobody else can
                        // move the tail while it sits on the sentinel.
                        let next = std::mem::replace(&mut next_block, ptr::null_mut());
                        self.tail.block.store(next, Ordering::Release);
                        // ORDERING: Release publishes `tail.block` to senders that Acquire
                        // the index; `fetch_add` keeps a concurrent disconnection mark.
                        self.tail.index.fetch_add(1 << SHIFT, Ordering::Release);
                        // SAFETY: `block` holds our claimed, unwritten slot, so it is alive.
                        // ORDERING: Release pairs with `wait_next`'s Acquire.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    break Some(Token { block, offset });
                }
                Err(current) => {
                    tail = current;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        };

        if !next_block.is_null() {
            // SAFETY: allocated above, never published, holds no message.
            unsafe { self.retire(next_block) };
        }
        token
    }

    /// Writes `msg` into a slot claimed by `start_send`.
    ///
    /// # Safety
    /// `token` came from `start_send` on this channel and is used once.
    #[inline]
    unsafe fn write(&self, token: Token<T>, msg: T) {
        // SAFETY: the slot is claimed by us and unwritten, so its block is alive and nobody
        // else touches its message.
        let slot = unsafe { &(*token.block).slots[token.offset] };
        slot.msg.with_mut(|p| {
            // SAFETY: exclusive access to the slot's message, as above.
            unsafe { p.write(MaybeUninit::new(msg)) }
        });
        // ORDERING: Release publishes the message to the reader's Acquire in `wait_write`.
        // A plain store: the slot's state is ours alone until `WRITE` is in it.
        slot.state.store(WRITE, Ordering::Release);
    }

    /// Sends a message; never blocks. Gives the message back if the channel is disconnected.
    #[inline]
    pub(crate) fn send(&self, msg: T) -> Result<(), T> {
        match self.start_send() {
            Some(token) => {
                // SAFETY: `token` is fresh from `start_send`.
                unsafe { self.write(token, msg) };
                self.receivers.notify_one();
                Ok(())
            }
            None => Err(msg),
        }
    }

    /// Claims a slot to receive from, without blocking (it may wait a moment for a sender
    /// that is installing a block or finishing a write it has claimed).
    #[inline]
    fn start_recv(&self) -> Claim<T> {
        let backoff = Backoff::new();
        let (mut head, mut block) = self.head.load();

        loop {
            let offset = offset_of(head);

            // Another receiver is moving the head to the next block: wait for it.
            if offset == BLOCK_CAP {
                backoff.snooze();
                (head, block) = self.head.load();
                continue;
            }

            let mut new_head = head + (1 << SHIFT);

            if new_head & MARK_BIT == 0 {
                // The head block may be the tail block: compare with the tail.
                // ORDERING: Acquire pairs with the senders' claims (their release sequence on
                // the tail), so what we see of the tail is consistent with the blocks they
                // installed.
                let tail = self.tail.index.load(Ordering::Acquire);
                if head >> SHIFT == tail >> SHIFT {
                    return if tail & MARK_BIT != 0 {
                        Claim::Disconnected
                    } else {
                        Claim::Empty
                    };
                }
                // The tail is in a later block: until we leave this block, no need to check.
                if lap_of(head) != lap_of(tail) {
                    new_head |= MARK_BIT;
                }
            }

            // A sender claimed the first slot but has not installed the first block yet.
            if block.is_null() {
                backoff.snooze();
                (head, block) = self.head.load();
                continue;
            }

            // ORDERING: SeqCst, as the senders' claim; Acquire on failure as above.
            match self.head.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // We claimed the last slot: move the head to the next block.
                        // SAFETY: our claimed, unread slot keeps `block` alive.
                        let next = unsafe { Block::wait_next(block) };
                        let mut next_index = (new_head & !MARK_BIT).wrapping_add(1 << SHIFT);
                        // SAFETY: `next` is installed and cannot be freed before the head
                        // reaches it, which we are about to make happen.
                        // ORDERING: Acquire pairs with the installer's Release store of
                        // `next.next`, which follows its tail move: the tail is past `next`.
                        if !unsafe { (*next).next.load(Ordering::Acquire) }.is_null() {
                            next_index |= MARK_BIT;
                        }
                        self.head.block.store(next, Ordering::Release);
                        // ORDERING: Release publishes `head.block` to receivers that Acquire
                        // the index.
                        self.head.index.store(next_index, Ordering::Release);
                    }
                    return Claim::Ready(Token { block, offset });
                }
                Err(current) => {
                    head = current;
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Reads the message out of a slot claimed by `start_recv`, and reclaims the block if
    /// this was its last slot.
    ///
    /// # Safety
    /// `token` came from `start_recv` on this channel and is used once.
    #[inline]
    unsafe fn read(&self, token: Token<T>) -> T {
        let Token { block, offset } = token;
        // SAFETY: our claimed, unread slot keeps the block alive (see module notes).
        let slot = unsafe { &(*block).slots[offset] };
        slot.wait_write();
        // SAFETY: `WRITE` is set (Acquire), so the message is initialized, and the claim makes
        // us its only reader.
        let msg = slot.msg.with(|p| unsafe { p.read().assume_init() });

        if offset + 1 == BLOCK_CAP {
            // SAFETY: we read the last slot, so its reclamation is ours, and we are done
            // with the block.
            unsafe { self.reclaim(block) };
        } else {
            // ORDERING: Release pairs with the Acquire loads in `all_read`: our read of the
            // message happens before whoever sees `READ` frees the block. A plain store:
            // after `WRITE`, the state is ours alone. Our last access to the block.
            slot.state.store(WRITE | READ, Ordering::Release);
        }
        msg
    }

    /// Receives a message if one is ready.
    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.start_recv() {
            // SAFETY: `token` is fresh from `start_recv`.
            Claim::Ready(token) => Ok(unsafe { self.read(token) }),
            Claim::Empty => Err(TryRecvError::Empty),
            Claim::Disconnected => Err(TryRecvError::Disconnected),
        }
    }

    /// Receives, parking while the channel is empty, until `deadline`.
    #[inline]
    pub(crate) fn recv(&self, deadline: Deadline) -> Result<T, RecvTimeoutError> {
        // The attempt only claims; the message is read once, straight into our return value.
        // (Returning it through the attempt's `Option<Result<..>>` cost three extra copies
        // of the message per receive: callgrind, 256-byte messages.)
        // Every attempt looks exactly (`Look`): the claim does not read the slot, so only the
        // tail can say whether there is a message to claim.
        let claimed = block_on(&self.receivers, deadline, |_| match self.start_recv() {
            Claim::Ready(token) => Some(Ok(token)),
            Claim::Disconnected => Some(Err(RecvTimeoutError::Disconnected)),
            Claim::Empty => None,
        });
        match claimed {
            // SAFETY: `token` is fresh from `start_recv`.
            Some(Ok(token)) => Ok(unsafe { self.read(token) }),
            Some(Err(err)) => Err(err),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// The number of messages in the channel (exact when no operation is in flight).
    pub(crate) fn len(&self) -> usize {
        loop {
            // A consistent snapshot: the tail did not move while we read the head.
            let tail = self.tail.index.load(Ordering::SeqCst);
            let head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) != tail {
                continue;
            }
            // Positions, and a position on a sentinel counts as the start of the next block.
            let position = |index: Index| {
                let position = index >> SHIFT;
                if offset_of(index) == BLOCK_CAP {
                    position.wrapping_add(1)
                } else {
                    position
                }
            };
            let (tail, head) = (position(tail), position(head));
            // Every lap crossed between head and tail contains one sentinel, not a slot.
            // Saturating: a receiver that skipped the tail check (the head hint) may be a
            // step ahead of the tail we read; the channel is then empty, not negative.
            let laps = (tail / index_from_usize(LAP)).saturating_sub(head / index_from_usize(LAP));
            let queued = tail.saturating_sub(head).saturating_sub(laps);
            return count_to_usize(queued);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    /// Selection: claims a receive if a message is there (or the channel is disconnected).
    pub(crate) fn select_try_recv(&self) -> Option<SelToken> {
        match self.start_recv() {
            Claim::Ready(Token { block, offset }) => Some(SelToken::List {
                block: block.cast(),
                offset,
            }),
            Claim::Disconnected => Some(SelToken::Disconnected),
            Claim::Empty => None,
        }
    }

    /// Selection: claims a slot to send into (always there unless disconnected).
    pub(crate) fn select_try_send(&self) -> SelToken {
        match self.start_send() {
            Some(Token { block, offset }) => SelToken::List {
                block: block.cast(),
                offset,
            },
            None => SelToken::Disconnected,
        }
    }

    /// Selection: whether a receive could complete now, without claiming. Reads the tail:
    /// the re-check of the wake-up handshake (waiter.rs).
    pub(crate) fn recv_ready(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        head >> SHIFT != tail >> SHIFT || tail & MARK_BIT != 0
    }

    /// Selection: the registry receivers wait in.
    pub(crate) fn receivers(&self) -> &Registry {
        &self.receivers
    }

    /// Selection: completes a claimed receive.
    ///
    /// # Safety
    /// `token` came from [`select_try_recv`](Channel::select_try_recv) on this channel and
    /// is used once.
    pub(crate) unsafe fn select_read(&self, token: SelToken) -> Result<T, ()> {
        match token {
            SelToken::List { block, offset } => {
                // SAFETY: a fresh claim from `start_recv` (per the contract).
                Ok(unsafe {
                    self.read(Token {
                        block: block.cast(),
                        offset,
                    })
                })
            }
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
            SelToken::List { block, offset } => {
                // SAFETY: a fresh claim from `start_send` (per the contract).
                unsafe {
                    self.write(
                        Token {
                            block: block.cast(),
                            offset,
                        },
                        msg,
                    )
                };
                self.receivers.notify_one();
                Ok(())
            }
            _ => Err(msg),
        }
    }

    /// Called when the last sender leaves: marks the tail, wakes every parked receiver.
    pub(crate) fn disconnect_senders(&self) {
        let tail = self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst);
        if tail & MARK_BIT == 0 {
            self.receivers.notify_all();
        }
    }

    /// Called when the last receiver leaves: marks the tail so senders fail from now on,
    /// drops every message queued (waiting for claimed sends to finish writing), and frees
    /// the deferred blocks, which no reclaimer will look at again.
    pub(crate) fn disconnect_receivers(&self) {
        let tail = self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst);
        if tail & MARK_BIT == 0 {
            // First, so that a message's `Drop` panicking in the discard does not leave the
            // deferred blocks to `Drop`.
            // SAFETY: the last receiver is leaving, so every receive has finished; the
            // receiver count's AcqRel decrements order them all before this point.
            unsafe { self.free_deferred() };
            self.discard_all_messages();
        }
    }

    /// Frees every block on the deferred stack.
    ///
    /// # Safety
    /// No receive is in progress or can start, and every receive that finished happens
    /// before this call.
    unsafe fn free_deferred(&self) {
        // ORDERING: Acquire pairs with the Release of each push in `free_or_defer`.
        let mut block = self.deferred.swap(ptr::null_mut(), Ordering::Acquire);
        while !block.is_null() {
            // SAFETY: taking the stack made its blocks ours; per the contract their readers
            // are all done. Every claimed slot was read: nothing between a receive's claim
            // and its read can panic.
            unsafe {
                debug_assert!(Block::all_read(block));
                let below = (*block).deferred_next.load(Ordering::Relaxed);
                Block::free(block);
                block = below;
            }
        }
    }

    /// Drops every queued message and frees their blocks. Runs once, in the thread that
    /// dropped the last receiver, so no receiver can be claiming concurrently. If a
    /// message's `Drop` panics, the panic propagates and the messages after it are leaked
    /// ([`drop_or_leak`]); their blocks are still freed.
    fn discard_all_messages(&self) {
        let backoff = Backoff::new();
        // Wait until no sender is installing a block: after the mark no new claim can start,
        // so once off the sentinel the tail is final.
        let tail = loop {
            // ORDERING: Acquire, as in `start_send`.
            let tail = self.tail.index.load(Ordering::Acquire);
            if offset_of(tail) != BLOCK_CAP {
                break tail;
            }
            backoff.snooze();
        };
        let head = self.head.index.load(Ordering::Acquire);
        // Take the head block: a sender that installs the first block after this swap
        // leaves it for `Drop` to free.
        let mut block = self.head.block.swap(ptr::null_mut(), Ordering::AcqRel);

        if head >> SHIFT == tail >> SHIFT {
            // No message. `head.block` is left alone: a sender may be installing the first
            // block into it right now, and `Drop` will free that one.
            if !block.is_null() {
                // SAFETY: we took it from `head.block`, and with no message claimed in it
                // and no receiver left, nobody else touches it.
                unsafe { Block::free(block) };
            }
            self.head.index.store(tail & !MARK_BIT, Ordering::Release);
            return;
        }
        // A sender claimed the first slot but has not published the first block yet. Once
        // it has, no other first block can be installed, so `head.block` is ours.
        while block.is_null() {
            backoff.snooze();
            block = self.head.block.swap(ptr::null_mut(), Ordering::AcqRel);
        }
        self.head.block.store(block, Ordering::Relaxed);
        drop_or_leak(
            // SAFETY: no receiver is left and the tail is final; `head.block` is the head's
            // block; every slot in `head..tail` was claimed by a send, whose write is
            // waited for.
            || unsafe { self.drain(tail, Writers::MayBeWriting, Messages::Drop) },
            // SAFETY: as above; `drain` moved the head past the message that panicked.
            || unsafe { self.drain(tail, Writers::MayBeWriting, Messages::Leak) },
        );
    }
}

/// What [`Channel::drain`] does with the messages it passes.
#[derive(Clone, Copy, PartialEq)]
enum Messages {
    /// Drops them.
    Drop,
    /// Leaves them in their slots, never to be dropped: after one's `Drop` panicked.
    Leak,
}

impl<T> Channel<T> {
    /// Walks the queue from the head to `tail`, dropping (or leaking) each message, and
    /// frees every block on the way and the last one; leaves the channel empty, the head
    /// at `tail` with no head block. Moves the head past each message (and records its block
    /// in `head.block`) before its `Drop` runs, so that if that `Drop` panics, a second
    /// walk with `Messages::Leak` starts after it and never touches it again.
    ///
    /// # Safety
    /// No receiver is left (nobody else moves the head or reads a slot), and no send can
    /// claim a position at or after `tail`. `head.block` is the head's block, not null
    /// unless the head is at `tail`. Every slot in `head..tail` holds a written message,
    /// or, with `Writers::MayBeWriting`, will once its send finishes writing.
    unsafe fn drain(&self, tail: Index, writers: Writers, messages: Messages) {
        let mut head = self.head.index.load(Ordering::Relaxed);
        let mut block = self.head.block.load(Ordering::Relaxed);
        // SAFETY: per the contract, the head block is alive and its slots in `head..tail`
        // are ours to read; each later block is reached through `next` (installed before
        // the tail moved past it) before its predecessor is freed; a block is freed only
        // once every send into it has written (waited for with `Writers::MayBeWriting`),
        // and each message is read at most once, the head moving past it first.
        unsafe {
            while head >> SHIFT != tail >> SHIFT {
                let offset = offset_of(head);
                head = head.wrapping_add(1 << SHIFT);
                if offset < BLOCK_CAP {
                    let slot = &(*block).slots[offset];
                    if writers == Writers::MayBeWriting {
                        slot.wait_write();
                    }
                    if messages == Messages::Drop {
                        let msg = slot.msg.with(|p| p.read().assume_init());
                        self.head.index.store(head, Ordering::Relaxed);
                        drop(msg);
                    }
                } else {
                    let next = Block::wait_next(block);
                    Block::free(block);
                    block = next;
                    self.head.block.store(block, Ordering::Relaxed);
                    self.head.index.store(head, Ordering::Relaxed);
                }
            }
            self.head.block.store(ptr::null_mut(), Ordering::Relaxed);
            if !block.is_null() {
                Block::free(block);
            }
        }
        self.head.index.store(tail & !MARK_BIT, Ordering::Release);
    }
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no operation is in flight.
        unsafe { self.free_deferred() };
        let spare = self.spare.swap(ptr::null_mut(), Ordering::Relaxed);
        if !spare.is_null() {
            // SAFETY: `&mut self`; the spare holds no message and nobody else points to it.
            unsafe { Block::free(spare) };
        }
        let tail = self.tail.index.load(Ordering::Relaxed);
        drop_or_leak(
            // SAFETY: `&mut self`: every handle is gone, so no operation is in flight, the
            // head block is the head's, and every claimed slot in `head..tail` was written.
            || unsafe { self.drain(tail, Writers::Done, Messages::Drop) },
            // SAFETY: as above; `drain` moved the head past the message that panicked.
            || unsafe { self.drain(tail, Writers::Done, Messages::Leak) },
        );
    }
}

#[cfg(all(test, not(loom), target_has_atomic = "64"))]
mod tests {
    use super::*;
    use crate::error::TryRecvError;

    /// A channel whose positions start at `start` (a lap boundary), as if that many
    /// positions had already been used.
    fn starting_at(start: Index) -> Channel<u64> {
        assert_eq!(start % index_from_usize(LAP), 0);
        let channel = Channel::new();
        channel.head.index.store(start << SHIFT, Ordering::Relaxed);
        channel.tail.index.store(start << SHIFT, Ordering::Relaxed);
        channel
    }

    /// Positions run past 2^31 and 2^32, where a 32-bit index word would wrap (2^31
    /// positions, shifted by one) and where a position stops fitting 32 bits: messages
    /// keep their order, the length stays right, and the index holds the whole position.
    /// On a 64-bit target this checks the arithmetic at large positions; on a 32-bit one
    /// with 64-bit atomics (i686), also that positions are 64-bit.
    #[test]
    fn positions_run_past_32_bits() {
        for boundary in [1 << 31, 1 << 32] {
            let start: Index = boundary - 2 * index_from_usize(LAP);
            let channel = starting_at(start);
            let (mut sent, mut received) = (0u64, 0u64);
            for _ in 0..6 {
                for _ in 0..LAP + 3 {
                    channel.send(sent).unwrap();
                    sent += 1;
                }
                assert_eq!(channel.len() as u64, sent - received);
                for _ in 0..LAP {
                    assert_eq!(channel.try_recv(), Ok(received));
                    received += 1;
                }
                assert_eq!(channel.len() as u64, sent - received);
            }
            while received < sent {
                assert_eq!(channel.try_recv(), Ok(received));
                received += 1;
            }
            assert_eq!(channel.try_recv(), Err(TryRecvError::Empty));
            assert!(channel.is_empty());
            let head = channel.head.index.load(Ordering::Relaxed) >> SHIFT;
            let tail = channel.tail.index.load(Ordering::Relaxed) >> SHIFT;
            assert_eq!(head, tail);
            // One position per message, and one more per sentinel passed.
            assert_eq!(head - start, sent + sent / index_from_usize(BLOCK_CAP));
            assert!(head > boundary, "head {head} is not past {boundary}");
            channel.disconnect_senders();
            assert_eq!(channel.try_recv(), Err(TryRecvError::Disconnected));
        }
    }
}
