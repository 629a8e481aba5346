//! Hostile and edge-case inputs, for every flavor: capacities too large to allocate, zero
//! timeouts and deadlines in the past, `Duration::MAX` timeouts and far-future deadlines,
//! zero-sized messages, 64 KiB messages (boxed, and moved by value on big stacks), storms
//! of sender and receiver clones, and messages whose `Drop` uses their own channel.
//!
//! Every scenario runs on a thread of its own under a time limit: a hang fails the test
//! instead of stalling the run. No test asserts on speed.
#![cfg(not(loom))]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use panama::{
    bounded, sync_channel, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError,
    Sender, TryRecvError, TrySendError,
};

use common::{addr, join_within, scaled, wait_for, within_limit, SETTLE, STRESS_LIMIT};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

use common::panic_message;
use common::Flavor::{self, Bounded, Unbounded};

/// Every flavor.
const ALL: [Flavor; 4] = [Unbounded, Bounded(1), Bounded(16), Bounded(0)];
/// The flavors that can hold messages.
const BUFFERED: [Flavor; 3] = [Unbounded, Bounded(1), Bounded(16)];

/// Runs `scenario` for each flavor, each on its own thread under [`STRESS_LIMIT`].
fn for_each_flavor(flavors: &[Flavor], scenario: fn(Flavor)) {
    for &flavor in flavors {
        within_limit(
            STRESS_LIMIT,
            move || format!("{flavor:?}"),
            move || scenario(flavor),
        );
    }
}

/// A deadline that has already passed.
fn past() -> Instant {
    let now = Instant::now();
    // On a clock less than a second old, `now` itself has passed by the time it is used.
    now.checked_sub(Duration::from_secs(1)).unwrap_or(now)
}

/// How many times a non-blocking operation is retried, 1 ms apart, while its peer blocks.
const RETRIES: usize = 5_000;

/// A value that counts its drops in a shared counter.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// Capacities too large
// ---------------------------------------------------------------------------------------------

/// `bounded::<T>(cap)` and `sync_channel::<T>(cap)` both panic with exactly `expected`.
#[track_caller]
fn assert_capacity_panics<T>(cap: usize, expected: &str) {
    let type_name = std::any::type_name::<T>();
    for (name, make) in [
        (
            "bounded",
            bounded::<T> as fn(usize) -> (Sender<T>, Receiver<T>),
        ),
        ("sync_channel", sync_channel::<T>),
    ] {
        match catch_unwind(AssertUnwindSafe(|| drop(make(cap)))) {
            Ok(()) => panic!("{name}::<{type_name}>({cap}) did not panic"),
            Err(payload) => {
                let msg = panic_message(&*payload);
                assert!(
                    msg.starts_with(expected),
                    "{name}::<{type_name}>({cap}) panicked with {msg:?}, expected {expected:?}"
                );
            }
        }
    }
}

/// Capacities whose positions cannot be represented: panama's own panic, whatever `T`.
#[test]
#[cfg(target_pointer_width = "64")]
fn capacity_too_large_to_index_panics_with_message() {
    within_limit(STRESS_LIMIT, String::new, || {
        for cap in [
            usize::MAX,
            usize::MAX - 1,
            usize::MAX / 2 + 1,
            usize::MAX / 2,
            isize::MAX as usize,
            1 << 62,
            1 << 61, // the smallest capacity refused up front
        ] {
            let expected = format!("capacity {cap} is too large for a bounded channel");
            assert_capacity_panics::<u8>(cap, &expected);
            assert_capacity_panics::<u64>(cap, &expected);
            assert_capacity_panics::<()>(cap, &expected);
            assert_capacity_panics::<[u8; 65536]>(cap, &expected);
        }
        // Still a working library after the panics.
        let (s, r) = bounded(1);
        s.send(1u8).unwrap();
        assert_eq!(r.recv(), Ok(1));
    });
}

/// Capacities accepted by the index check whose slot array is larger than `isize::MAX`
/// bytes: the allocation of the ring panics (std's "capacity overflow") before allocating
/// anything. Smaller but still impossible capacities (`cap * slot size <= isize::MAX`) do
/// not panic: the allocator fails and the process aborts (not tested here).
#[test]
#[cfg(target_pointer_width = "64")]
fn capacity_overflowing_the_ring_allocation_panics() {
    within_limit(STRESS_LIMIT, String::new, || {
        let expected =
            |cap: usize| format!("cannot allocate a bounded channel of capacity {cap}: ");
        // Slot<u64> and Slot<u8> are 16 bytes: 2^59 slots are 2^63 bytes.
        for cap in [1 << 59, 1 << 60, (1 << 61) - 1] {
            assert_capacity_panics::<u8>(cap, &expected(cap));
            assert_capacity_panics::<u64>(cap, &expected(cap));
        }
        // Slot<()> is 8 bytes: 2^60 slots are 2^63 bytes.
        for cap in [1 << 60, (1 << 61) - 1] {
            assert_capacity_panics::<()>(cap, &expected(cap));
        }
        // Slot<[u8; 65536]> is 65544 bytes.
        for cap in [1 << 48, 1 << 58, (1 << 61) - 1] {
            assert_capacity_panics::<[u8; 65536]>(cap, &expected(cap));
        }
    });
}

/// Buffers that fit in `isize::MAX` bytes but that no allocator grants (16 TiB and more):
/// the failed allocation is a panic with panama's message, not an abort.
#[test]
#[cfg(target_pointer_width = "64")]
#[cfg_attr(
    miri,
    ignore = "Miri reports the huge allocation as unsupported instead of failing it"
)]
fn capacity_beyond_memory_panics() {
    within_limit(STRESS_LIMIT, String::new, || {
        let expected =
            |cap: usize| format!("cannot allocate a bounded channel of capacity {cap}: ");
        for cap in [1 << 40, 1 << 44, 1 << 58] {
            assert_capacity_panics::<u64>(cap, &expected(cap));
        }
        assert_capacity_panics::<()>(1 << 59, &expected(1 << 59));
        assert_capacity_panics::<[u8; 65536]>(1 << 40, &expected(1 << 40));
    });
}

/// A 32-bit target with 64-bit atomics counts positions in 64 bits, so every capacity a
/// `usize` can hold has room for its positions (with 32-bit positions, `1 << 29` and up
/// were refused): an impossible one fails at the ring's allocation, with panama's message.
/// Every slot is at least 8 bytes (its stamp), so these rings exceed `isize::MAX` bytes
/// and fail before anything is allocated.
#[test]
#[cfg(all(target_pointer_width = "32", target_has_atomic = "64"))]
fn capacity_on_32_bit_target_fails_at_allocation() {
    within_limit(STRESS_LIMIT, String::new, || {
        let expected =
            |cap: usize| format!("cannot allocate a bounded channel of capacity {cap}: ");
        for cap in [usize::MAX, usize::MAX - 1, 1 << 31, 1 << 29, 1 << 28] {
            assert_capacity_panics::<u8>(cap, &expected(cap));
            assert_capacity_panics::<u64>(cap, &expected(cap));
            assert_capacity_panics::<()>(cap, &expected(cap));
        }
        let (s, r) = bounded(1);
        s.send(1u8).unwrap();
        assert_eq!(r.recv(), Ok(1));
    });
}

/// Without 64-bit atomics a 32-bit target counts positions in a `usize`, and capacities
/// whose positions would not leave lap bits are refused up front.
#[test]
#[cfg(all(target_pointer_width = "32", not(target_has_atomic = "64")))]
fn capacity_too_large_for_32_bit_positions_panics_with_message() {
    within_limit(STRESS_LIMIT, String::new, || {
        for cap in [usize::MAX, usize::MAX / 2 + 1, 1 << 30, 1 << 29] {
            let expected = format!("capacity {cap} is too large for a bounded channel");
            assert_capacity_panics::<u8>(cap, &expected);
            assert_capacity_panics::<()>(cap, &expected);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Zero timeouts and deadlines in the past
// ---------------------------------------------------------------------------------------------

/// On an empty channel a zero timeout and a past deadline time out, and leave nothing
/// behind: on a rendezvous channel no stale request may take a later `try_send`, and no
/// stale offer may be received later.
#[test]
fn zero_timeout_and_past_deadline_on_empty_channel_time_out() {
    for_each_flavor(&ALL, |flavor| {
        let (s, r) = flavor.make::<u32>();
        for _ in 0..3 {
            assert_eq!(
                r.recv_timeout(Duration::ZERO),
                Err(RecvTimeoutError::Timeout)
            );
            assert_eq!(r.recv_deadline(past()), Err(RecvTimeoutError::Timeout));
        }
        if flavor == Bounded(0) {
            // Nobody waits: a `try_send` must not find a leftover request.
            assert_eq!(s.try_send(7), Err(TrySendError::Full(7)));
            for _ in 0..3 {
                assert_eq!(
                    s.send_timeout(8, Duration::ZERO),
                    Err(SendTimeoutError::Timeout(8))
                );
                assert_eq!(
                    s.send_deadline(9, past()),
                    Err(SendTimeoutError::Timeout(9))
                );
            }
            // ... and a `try_recv` must not find a leftover offer.
            assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        } else {
            // The timed-out receives took nothing: the next message is received normally.
            s.send(1).unwrap();
            assert_eq!(r.len(), 1);
            assert_eq!(r.recv_timeout(Duration::ZERO), Ok(1));
            assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        }
    });
}

/// On a full channel (a rendezvous without a receiver) a zero timeout and a past deadline
/// time out and hand the very same message back; the channel's contents are untouched.
#[test]
fn zero_timeout_and_past_deadline_on_full_channel_hand_message_back() {
    for_each_flavor(&[Bounded(1), Bounded(16), Bounded(0)], |flavor| {
        let cap = flavor.cap().unwrap();
        let (s, r) = flavor.make::<Box<usize>>();
        for i in 0..cap {
            s.send(Box::new(i)).unwrap();
        }
        assert!(s.is_full());
        for attempt in 0..3 {
            let msg = Box::new(1000 + attempt);
            let a = addr(&*msg);
            match s.send_timeout(msg, Duration::ZERO) {
                Err(SendTimeoutError::Timeout(back)) => assert_eq!(addr(&*back), a),
                other => panic!("send_timeout(ZERO) on a full channel: {other:?}"),
            }
            let msg = Box::new(2000 + attempt);
            let a = addr(&*msg);
            match s.send_deadline(msg, past()) {
                Err(SendTimeoutError::Timeout(back)) => assert_eq!(addr(&*back), a),
                other => panic!("send_deadline(past) on a full channel: {other:?}"),
            }
            assert_eq!(s.len(), cap);
        }
        let got: Vec<usize> = r.try_iter().map(|b| *b).collect();
        assert_eq!(got, (0..cap).collect::<Vec<_>>());
        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    });
}

/// On a ready channel a zero timeout or a past deadline still completes the operation:
/// room or a message is there (buffered flavors), or a peer is blocked at the rendezvous.
#[test]
fn zero_timeout_and_past_deadline_on_ready_channel_succeed() {
    for_each_flavor(&BUFFERED, |flavor| {
        let (s, r) = flavor.make::<u32>();
        for i in 0..scaled(10, 100, 100) as u32 {
            if i % 2 == 0 {
                assert_eq!(s.send_timeout(i, Duration::ZERO), Ok(()));
                assert_eq!(r.recv_timeout(Duration::ZERO), Ok(i));
            } else {
                assert_eq!(s.send_deadline(i, past()), Ok(()));
                assert_eq!(r.recv_deadline(past()), Ok(i));
            }
        }
        assert!(r.is_empty());
    });
    // The rendezvous: retry until the peer is parked; every miss must be a timeout.
    within_limit(STRESS_LIMIT, String::new, || {
        let (s, r) = bounded::<Box<u32>>(0);
        let rounds = scaled(2, 10, 10) as u32;
        let sender = thread::spawn(move || {
            for i in 0..2 * rounds {
                s.send(Box::new(i)).unwrap();
            }
            s
        });
        for i in 0..2 * rounds {
            let got = (0..RETRIES)
                .find_map(|_| {
                    let res = if i % 2 == 0 {
                        r.recv_timeout(Duration::ZERO)
                    } else {
                        r.recv_deadline(past())
                    };
                    match res {
                        Ok(v) => Some(v),
                        Err(RecvTimeoutError::Timeout) => {
                            thread::sleep(Duration::from_millis(1));
                            None
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                })
                .expect("never received from the blocked sender");
            assert_eq!(*got, i);
        }
        let s = join_within(sender);
        let receiver = thread::spawn(move || {
            let got: Vec<u32> = (0..2 * rounds).map(|_| *r.recv().unwrap()).collect();
            got
        });
        for i in 0..2 * rounds {
            let mut msg = Box::new(i);
            let a = addr(&*msg);
            let mut sent = false;
            for _ in 0..RETRIES {
                let res = if i % 2 == 0 {
                    s.send_timeout(msg, Duration::ZERO)
                } else {
                    s.send_deadline(msg, past())
                };
                match res {
                    Ok(()) => {
                        sent = true;
                        break;
                    }
                    Err(SendTimeoutError::Timeout(back)) => {
                        assert_eq!(addr(&*back), a, "another message handed back");
                        msg = back;
                        thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            assert!(sent, "never met the blocked receiver");
        }
        assert_eq!(join_within(receiver), (0..2 * rounds).collect::<Vec<_>>());
    });
}

/// On a disconnected channel a zero timeout and a past deadline report the disconnection,
/// not a timeout (after the buffered messages are received), and hand messages back.
#[test]
fn zero_timeout_and_past_deadline_on_disconnected_channel() {
    for_each_flavor(&ALL, |flavor| {
        // Senders gone.
        let (s, r) = flavor.make::<u32>();
        let buffered = flavor.cap().unwrap_or(5).min(5) as u32;
        for i in 0..buffered {
            s.send(i).unwrap();
        }
        drop(s);
        for i in 0..buffered {
            let got = if i % 2 == 0 {
                r.recv_timeout(Duration::ZERO)
            } else {
                r.recv_deadline(past())
            };
            assert_eq!(got, Ok(i));
        }
        for _ in 0..2 {
            assert_eq!(
                r.recv_timeout(Duration::ZERO),
                Err(RecvTimeoutError::Disconnected)
            );
            assert_eq!(r.recv_deadline(past()), Err(RecvTimeoutError::Disconnected));
        }

        // Receivers gone, with the channel full (or a rendezvous).
        let (s, r) = flavor.make::<u32>();
        for i in 0..flavor.cap().unwrap_or(3) as u32 {
            s.send(i).unwrap();
        }
        drop(r);
        for _ in 0..2 {
            assert_eq!(
                s.send_timeout(10, Duration::ZERO),
                Err(SendTimeoutError::Disconnected(10))
            );
            assert_eq!(
                s.send_deadline(11, past()),
                Err(SendTimeoutError::Disconnected(11))
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Duration::MAX timeouts and far-future deadlines
// ---------------------------------------------------------------------------------------------

/// `Duration::MAX` cannot be added to an instant: the channel must not panic computing
/// the deadline, and ready operations return at once.
#[test]
fn duration_max_timeout_on_ready_or_disconnected_channel_returns() {
    assert_eq!(
        Instant::now().checked_add(Duration::MAX),
        None,
        "precondition: now + Duration::MAX overflows"
    );
    for_each_flavor(&ALL, |flavor| {
        let (s, r) = flavor.make::<u32>();
        if flavor == Bounded(0) {
            // Ready: a blocked peer.
            let t = {
                let s = s.clone();
                thread::spawn(move || s.send_timeout(1, Duration::MAX))
            };
            assert_eq!(r.recv_timeout(Duration::MAX), Ok(1));
            assert_eq!(join_within(t), Ok(()));
        } else {
            for i in 0..3 {
                assert_eq!(s.send_timeout(i, Duration::MAX), Ok(()));
                assert_eq!(r.recv_timeout(Duration::MAX), Ok(i));
            }
        }
        let s2 = s.clone();
        drop(s);
        drop(s2);
        assert_eq!(
            r.recv_timeout(Duration::MAX),
            Err(RecvTimeoutError::Disconnected)
        );
        let (s, r) = flavor.make::<u32>();
        drop(r);
        assert_eq!(
            s.send_timeout(5, Duration::MAX),
            Err(SendTimeoutError::Disconnected(5))
        );
    });
}

/// What a blocked operation waits with.
#[derive(Clone, Copy, Debug)]
enum LongWait {
    /// `*_timeout(Duration::MAX)`.
    MaxTimeout,
    /// `*_deadline(now + ~35,000 years)`.
    FarDeadline,
}

fn far_future() -> Instant {
    let now = Instant::now();
    // About 35,000 years: representable on every 64-bit platform std supports.
    now.checked_add(Duration::from_secs(1 << 40))
        .or_else(|| now.checked_add(Duration::from_secs(1 << 30)))
        .expect("no far-future instant")
}

fn recv_long<T>(r: &Receiver<T>, wait: LongWait) -> Result<T, RecvTimeoutError> {
    match wait {
        LongWait::MaxTimeout => r.recv_timeout(Duration::MAX),
        LongWait::FarDeadline => r.recv_deadline(far_future()),
    }
}

fn send_long<T>(s: &Sender<T>, msg: T, wait: LongWait) -> Result<(), SendTimeoutError<T>> {
    match wait {
        LongWait::MaxTimeout => s.send_timeout(msg, Duration::MAX),
        LongWait::FarDeadline => s.send_deadline(msg, far_future()),
    }
}

/// Blocked with `Duration::MAX` (or a far-future deadline), an operation completes when
/// another thread makes it ready, or reports the disconnection when the other side goes.
fn long_waits_are_woken(flavor: Flavor) {
    for wait in [LongWait::MaxTimeout, LongWait::FarDeadline] {
        // A blocked receive, woken by a send.
        let (s, r) = flavor.make::<u32>();
        let started = Arc::new(AtomicBool::new(false));
        let t = {
            let started = Arc::clone(&started);
            thread::spawn(move || {
                started.store(true, Ordering::SeqCst);
                recv_long(&r, wait)
            })
        };
        wait_for(&started);
        thread::sleep(SETTLE);
        s.send(42).unwrap();
        assert_eq!(join_within(t), Ok(42), "{wait:?}");

        // A blocked receive, woken by the disconnection.
        let (s, r) = flavor.make::<u32>();
        let started = Arc::new(AtomicBool::new(false));
        let t = {
            let started = Arc::clone(&started);
            thread::spawn(move || {
                started.store(true, Ordering::SeqCst);
                recv_long(&r, wait)
            })
        };
        wait_for(&started);
        thread::sleep(SETTLE);
        drop(s);
        assert_eq!(
            join_within(t),
            Err(RecvTimeoutError::Disconnected),
            "{wait:?}"
        );

        // A blocked send (full, or nobody at the rendezvous): woken by a receive, then by
        // the disconnection.
        if let Some(cap) = flavor.cap() {
            let (s, r) = flavor.make::<u32>();
            for i in 0..cap as u32 {
                s.send(i).unwrap();
            }
            let started = Arc::new(AtomicBool::new(false));
            let t = {
                let started = Arc::clone(&started);
                let s = s.clone();
                thread::spawn(move || {
                    started.store(true, Ordering::SeqCst);
                    send_long(&s, 99, wait)
                })
            };
            wait_for(&started);
            thread::sleep(SETTLE);
            let first = r.recv().unwrap();
            assert_eq!(first, if cap == 0 { 99 } else { 0 });
            assert_eq!(join_within(t), Ok(()), "{wait:?}");

            let started = Arc::new(AtomicBool::new(false));
            let t = {
                let started = Arc::clone(&started);
                thread::spawn(move || {
                    started.store(true, Ordering::SeqCst);
                    // Full again (or still no receiver waiting).
                    if cap > 0 {
                        while s.try_send(7).is_ok() {}
                    }
                    send_long(&s, 100, wait)
                })
            };
            wait_for(&started);
            thread::sleep(SETTLE);
            drop(r);
            assert_eq!(
                join_within(t),
                Err(SendTimeoutError::Disconnected(100)),
                "{wait:?}"
            );
        }
    }
}

#[test]
fn duration_max_and_far_deadline_waits_are_woken() {
    for_each_flavor(&ALL, long_waits_are_woken);
}

// ---------------------------------------------------------------------------------------------
// Zero-sized messages
// ---------------------------------------------------------------------------------------------

/// `()` through every flavor: lengths, fullness and emptiness are counted exactly, across
/// many laps of a bounded ring and many blocks of an unbounded list.
#[test]
fn unit_messages_are_counted() {
    for_each_flavor(&BUFFERED, |flavor| {
        let (s, r) = flavor.make::<()>();
        let batch = flavor.cap().unwrap_or(scaled(40, 200, 200));
        for lap in 0..scaled(2, 50, 50) {
            // Move the head by a varying amount so batches straddle slots and blocks.
            for _ in 0..lap % 3 {
                s.send(()).unwrap();
                r.recv().unwrap();
            }
            for i in 0..batch {
                assert_eq!(s.len(), i);
                s.send(()).unwrap();
            }
            assert_eq!(r.len(), batch);
            assert!(!r.is_empty());
            if let Some(cap) = flavor.cap() {
                assert!(s.is_full());
                assert_eq!(s.try_send(()), Err(TrySendError::Full(())));
                assert_eq!(
                    s.send_timeout((), Duration::ZERO),
                    Err(SendTimeoutError::Timeout(()))
                );
                assert_eq!(s.len(), cap);
            }
            for i in 0..batch {
                assert_eq!(r.len(), batch - i);
                assert_eq!(r.try_recv(), Ok(()));
            }
            assert!(r.is_empty());
            assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        }
        drop(s);
        assert_eq!(r.recv(), Err(RecvError));
    });
    // The rendezvous: each unit goes through a handoff; the channel always reads empty.
    within_limit(STRESS_LIMIT, String::new, || {
        let n = scaled(20, 1000, 1000);
        let (s, r) = bounded::<()>(0);
        let t = thread::spawn(move || {
            for _ in 0..n {
                s.send(()).unwrap();
            }
        });
        let mut got = 0;
        for () in r.iter() {
            assert_eq!(r.len(), 0);
            got += 1;
        }
        join_within(t);
        assert_eq!(got, n);
    });
}

/// Drop counters for [`Zst`], one per instantiation.
static ZST_DROPS: [AtomicUsize; 4] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

/// A zero-sized message with a `Drop` that counts in `ZST_DROPS[ID]`.
struct Zst<const ID: usize>;

impl<const ID: usize> Drop for Zst<ID> {
    fn drop(&mut self) {
        ZST_DROPS[ID].fetch_add(1, Ordering::SeqCst);
    }
}

/// Zero-sized messages with `Drop`: received ones, handed-back ones and the ones left in
/// the channel are each dropped exactly once.
fn zst_drops<const ID: usize>(flavor: Flavor) {
    assert_eq!(std::mem::size_of::<Zst<ID>>(), 0);
    let drops = || ZST_DROPS[ID].load(Ordering::SeqCst);
    let start = drops();
    let mut created = 0;
    let (s, r) = flavor.make::<Zst<ID>>();
    match flavor.cap() {
        Some(0) => {
            let n = scaled(10, 200, 200);
            let t = {
                let s = s.clone();
                thread::spawn(move || {
                    for _ in 0..n {
                        s.send(Zst).map_err(|_| "send failed").unwrap();
                    }
                })
            };
            for i in 0..n {
                let z = r.recv().unwrap();
                assert_eq!(drops() - start, i);
                drop(z);
            }
            join_within(t);
            created += n;
            // Handed back, then dropped by us.
            let back = s.send_timeout(Zst, Duration::ZERO).unwrap_err();
            created += 1;
            assert_eq!(drops() - start, n);
            drop(back);
            assert_eq!(drops() - start, n + 1);
        }
        cap => {
            let n = cap.unwrap_or(scaled(40, 500, 500));
            for _ in 0..n {
                s.send(Zst).map_err(|_| "send failed").unwrap();
            }
            created += n;
            assert_eq!(s.len(), n);
            assert_eq!(drops(), start, "dropped while queued");
            if cap.is_some() {
                let back = s.try_send(Zst).unwrap_err();
                created += 1;
                drop(back);
                assert_eq!(drops() - start, 1);
            }
            let taken = n / 2;
            for _ in 0..taken {
                drop(r.recv().unwrap());
            }
            assert_eq!(drops() - start, created - n + taken);
            assert_eq!(r.len(), n - taken);
        }
    }
    // The rest go with the channel.
    drop(r);
    let back = s.send(Zst).unwrap_err();
    created += 1;
    drop(back);
    drop(s);
    assert_eq!(
        drops() - start,
        created,
        "{flavor:?}: drops of {created} ZSTs"
    );
}

#[test]
fn zero_sized_messages_with_drop_are_dropped_once() {
    within_limit(STRESS_LIMIT, String::new, || zst_drops::<0>(Unbounded));
    within_limit(STRESS_LIMIT, String::new, || zst_drops::<1>(Bounded(1)));
    within_limit(STRESS_LIMIT, String::new, || zst_drops::<2>(Bounded(16)));
    within_limit(STRESS_LIMIT, String::new, || zst_drops::<3>(Bounded(0)));
}

// ---------------------------------------------------------------------------------------------
// 64 KiB messages
// ---------------------------------------------------------------------------------------------

const KIB64: usize = 64 * 1024;

/// Stack for the threads that move 64 KiB arrays by value.
const BIG_STACK: usize = 8 << 20;

/// Byte `i` of a 256-byte block derived from `seq`: a hash, so stale or foreign bytes are
/// caught.
fn pattern(seq: u64, i: usize) -> u8 {
    let x = (i as u64 ^ seq.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8
}

/// Fills a 64 KiB message: its `seq` in the first 8 bytes, then 256-byte chunks of the
/// `seq` pattern, each chunk marked with its index (so shifted or swapped chunks are caught
/// too). Built by chunk copies, which stay cheap under Miri.
fn fill(buf: &mut [u8; KIB64], seq: u64) {
    let mut block = [0u8; 256];
    for (i, b) in block.iter_mut().enumerate() {
        *b = pattern(seq, i);
    }
    for (c, chunk) in buf.chunks_exact_mut(256).enumerate() {
        chunk.copy_from_slice(&block);
        chunk[8] ^= c as u8;
        chunk[9] ^= (c >> 8) as u8;
    }
    buf[..8].copy_from_slice(&seq.to_le_bytes());
}

/// Checks the content of a 64 KiB message and returns its sequence number.
#[track_caller]
fn check(buf: &[u8; KIB64]) -> u64 {
    let seq = u64::from_le_bytes(buf[..8].try_into().unwrap());
    let mut expected = vec![0u8; KIB64];
    fill((&mut expected[..]).try_into().unwrap(), seq);
    if buf[..] != expected[..] {
        let i = (0..KIB64).find(|&i| buf[i] != expected[i]).unwrap();
        panic!("64 KiB message {seq} corrupted at byte {i}");
    }
    seq
}

fn boxed(seq: u64) -> Box<[u8; KIB64]> {
    let mut b: Box<[u8; KIB64]> = vec![0u8; KIB64].into_boxed_slice().try_into().unwrap();
    fill(&mut b, seq);
    b
}

fn unboxed(seq: u64) -> [u8; KIB64] {
    let mut a = [0u8; KIB64];
    fill(&mut a, seq);
    a
}

fn spawn_big<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> thread::JoinHandle<R> {
    thread::Builder::new()
        .stack_size(BIG_STACK)
        .spawn(f)
        .expect("spawn a big-stack thread")
}

/// A full channel (a rendezvous without a receiver) hands a big message back whole, from
/// `try_send` and from a timed-out `send_timeout`.
fn big_handed_back<M: Send>(flavor: Flavor, make: impl Fn(u64) -> M, seq_of: impl Fn(&M) -> u64) {
    let Some(cap) = flavor.cap() else { return };
    let (s, r) = flavor.make::<M>();
    for seq in 0..cap as u64 {
        s.send(make(seq)).map_err(|_| "send failed").unwrap();
    }
    match s.try_send(make(1000)) {
        Err(TrySendError::Full(back)) => assert_eq!(seq_of(&back), 1000),
        other => panic!("try_send on a full channel: {other:?}"),
    }
    match s.send_timeout(make(1001), Duration::ZERO) {
        Err(SendTimeoutError::Timeout(back)) => assert_eq!(seq_of(&back), 1001),
        other => panic!("send_timeout on a full channel: {other:?}"),
    }
    for seq in 0..cap as u64 {
        assert_eq!(seq_of(&r.try_recv().unwrap()), seq);
    }
}

/// `Box<[u8; 65536]>` through every flavor, producer and consumer on separate threads,
/// content checked; and handed back whole by a full channel.
#[test]
fn boxed_64k_messages_arrive_intact() {
    for_each_flavor(&ALL, |flavor| {
        let n = scaled(2, 32, 128) as u64;
        let (s, r) = flavor.make::<Box<[u8; KIB64]>>();
        let producer = thread::spawn(move || {
            for seq in 0..n {
                s.send(boxed(seq)).unwrap();
            }
        });
        let consumer = thread::spawn(move || {
            let mut next = 0;
            for m in r.iter() {
                assert_eq!(check(&m), next);
                next += 1;
            }
            next
        });
        join_within(producer);
        assert_eq!(join_within(consumer), n);
        big_handed_back(flavor, boxed, |m| check(m));
    });
}

/// `[u8; 65536]` moved by value through every flavor, on threads with 8 MiB stacks,
/// content checked; and handed back whole, by value, by a full channel.
#[test]
fn unboxed_64k_messages_arrive_intact() {
    for_each_flavor(&ALL, |flavor| {
        let n = scaled(1, 32, 128) as u64;
        let scenario = spawn_big(move || {
            let (s, r) = flavor.make::<[u8; KIB64]>();
            let producer = spawn_big(move || {
                for seq in 0..n {
                    s.send(unboxed(seq)).unwrap();
                }
            });
            let consumer = spawn_big(move || {
                let mut next = 0;
                while let Ok(m) = r.recv() {
                    assert_eq!(check(&m), next);
                    next += 1;
                }
                next
            });
            join_within(producer);
            let got = join_within(consumer);
            big_handed_back(flavor, unboxed, check);
            got
        });
        assert_eq!(join_within(scenario), n);
    });
}

// ---------------------------------------------------------------------------------------------
// Clone storms
// ---------------------------------------------------------------------------------------------

/// How many clones a storm creates in all, and on how many threads.
fn storm_size() -> (usize, usize) {
    let threads = scaled(3, 4, 8);
    (scaled(60, 10_000, 10_000) / threads, threads)
}

/// Clones of the sender, created, used and dropped concurrently on several threads, held
/// in batches. `live` counts the senders, decremented just before each drop: when the
/// receiver sees the disconnection it must be zero (not too early), and it must see it
/// (not too late: the hang guard). Every clone sends one message, which must succeed.
fn sender_clone_storm(flavor: Flavor) {
    let (per, threads) = storm_size();
    let batch = 50;
    let (s, r) = flavor.make::<usize>();
    let live = Arc::new(AtomicUsize::new(1));
    let receiver = {
        let live = Arc::clone(&live);
        thread::spawn(move || {
            let mut n = 0;
            loop {
                match r.recv() {
                    Ok(_) => n += 1,
                    Err(RecvError) => {
                        let alive = live.load(Ordering::SeqCst);
                        assert_eq!(alive, 0, "disconnected with {alive} senders alive");
                        return n;
                    }
                }
            }
        })
    };
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            live.fetch_add(1, Ordering::SeqCst);
            let base = s.clone();
            let live = Arc::clone(&live);
            thread::spawn(move || {
                let mut held = Vec::with_capacity(batch);
                for i in 0..per {
                    live.fetch_add(1, Ordering::SeqCst);
                    held.push(base.clone());
                    if held.len() == batch || i + 1 == per {
                        for c in held.drain(..) {
                            assert!(c.same_channel(&base));
                            c.send(i).expect("send failed while senders were alive");
                            live.fetch_sub(1, Ordering::SeqCst);
                            drop(c);
                        }
                    }
                }
                live.fetch_sub(1, Ordering::SeqCst);
                drop(base);
            })
        })
        .collect();
    live.fetch_sub(1, Ordering::SeqCst);
    drop(s);
    for w in workers {
        join_within(w);
    }
    assert_eq!(join_within(receiver), per * threads, "{flavor:?}");
}

#[test]
fn sender_clone_storm_disconnects_exactly_at_the_last_drop() {
    for_each_flavor(&ALL, sender_clone_storm);
}

/// Clones of the receiver, created, used (one `try_recv` each) and dropped concurrently on
/// several threads while a sender keeps sending. The sender's send fails only once every
/// receiver is gone (`live` is zero), and it must fail then (the hang guard). Every message
/// is dropped exactly once: received, handed back, or left in the channel.
fn receiver_clone_storm(flavor: Flavor) {
    let (per, threads) = storm_size();
    let batch = 50;
    let drops = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let (s, r) = flavor.make::<Counted>();
    let live = Arc::new(AtomicUsize::new(1));
    let sender = {
        let live = Arc::clone(&live);
        let drops = Arc::clone(&drops);
        thread::spawn(move || {
            let mut sent = 0;
            loop {
                if flavor == Unbounded && s.len() >= 64 {
                    // Never blocks: pace it, or it floods memory while receivers are slow.
                    thread::sleep(Duration::from_millis(1));
                }
                match s.send(Counted(Arc::clone(&drops))) {
                    Ok(()) => sent += 1,
                    Err(SendError(back)) => {
                        let alive = live.load(Ordering::SeqCst);
                        assert_eq!(alive, 0, "send failed with {alive} receivers alive");
                        drop(back);
                        return sent;
                    }
                }
            }
        })
    };
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            live.fetch_add(1, Ordering::SeqCst);
            let base = r.clone();
            let live = Arc::clone(&live);
            let received = Arc::clone(&received);
            thread::spawn(move || {
                let mut held = Vec::with_capacity(batch);
                for i in 0..per {
                    live.fetch_add(1, Ordering::SeqCst);
                    held.push(base.clone());
                    if held.len() == batch || i + 1 == per {
                        for c in held.drain(..) {
                            assert!(c.same_channel(&base));
                            match c.try_recv() {
                                Ok(m) => {
                                    received.fetch_add(1, Ordering::SeqCst);
                                    drop(m);
                                }
                                Err(TryRecvError::Empty) => {}
                                Err(TryRecvError::Disconnected) => {
                                    panic!("the sender is alive")
                                }
                            }
                            live.fetch_sub(1, Ordering::SeqCst);
                            drop(c);
                        }
                    }
                }
                live.fetch_sub(1, Ordering::SeqCst);
                drop(base);
            })
        })
        .collect();
    live.fetch_sub(1, Ordering::SeqCst);
    drop(r);
    for w in workers {
        join_within(w);
    }
    let sent = join_within(sender);
    let received = received.load(Ordering::SeqCst);
    let context = format!("{flavor:?}: {sent} sent, {received} received");
    // Everything is gone now: each message dropped once (plus the one handed back).
    assert_eq!(drops.load(Ordering::SeqCst), sent + 1, "{context}");
    assert!(received <= sent, "{context}");
    if let Some(cap) = flavor.cap() {
        assert!(
            sent - received <= cap,
            "{context}: more left than the capacity"
        );
    }
}

#[test]
fn receiver_clone_storm_disconnects_exactly_at_the_last_drop() {
    for_each_flavor(&ALL, receiver_clone_storm);
}

// ---------------------------------------------------------------------------------------------
// Messages whose `Drop` uses their own channel
// ---------------------------------------------------------------------------------------------

/// A message that holds a sender of its own channel, and on drop (if `echo`) tries to send
/// a plain message into it, recording the outcome.
struct SelfRef {
    tx: Option<Sender<SelfRef>>,
    echo: bool,
    drops: Arc<AtomicUsize>,
    echoes: Arc<Mutex<Vec<&'static str>>>,
}

impl SelfRef {
    fn new(
        tx: &Sender<SelfRef>,
        echo: bool,
        drops: &Arc<AtomicUsize>,
        echoes: &Arc<Mutex<Vec<&'static str>>>,
    ) -> Self {
        SelfRef {
            tx: Some(tx.clone()),
            echo,
            drops: Arc::clone(drops),
            echoes: Arc::clone(echoes),
        }
    }
}

impl Drop for SelfRef {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        let tx = self.tx.take();
        if self.echo {
            if let Some(tx) = &tx {
                let plain = SelfRef {
                    tx: None,
                    echo: false,
                    drops: Arc::clone(&self.drops),
                    echoes: Arc::clone(&self.echoes),
                };
                let outcome = match tx.try_send(plain) {
                    Ok(()) => "sent",
                    Err(TrySendError::Full(_)) => "full",
                    Err(TrySendError::Disconnected(_)) => "disconnected",
                };
                self.echoes.lock().unwrap().push(outcome);
            }
        }
        // `tx`, possibly the channel's last sender, is dropped here, inside the channel's
        // own discarding of its messages.
        drop(tx);
    }
}

/// Messages carrying senders of their own channel (the user's handles dropped first, so
/// the last senders live inside the queued messages), half of them sending into the
/// channel from their `Drop`: when the last receiver discards them, those sends fail with
/// `Disconnected` (no deadlock, no message slipped into a discarded channel), the last
/// sender's drop inside the discard is harmless, and every message is dropped once.
fn self_referencing_messages(flavor: Flavor) {
    let n = flavor.cap().unwrap_or(scaled(40, 100, 100));
    let drops = Arc::new(AtomicUsize::new(0));
    let echoes = Arc::new(Mutex::new(Vec::new()));
    let (s, r) = flavor.make::<SelfRef>();
    for i in 0..n {
        s.try_send(SelfRef::new(&s, i % 2 == 0, &drops, &echoes))
            .map_err(|_| "buffer: channel full")
            .unwrap();
    }
    drop(s);
    // One received and dropped while the channel is alive: its echo goes in (the receive
    // just made room for it).
    let first = r.recv().unwrap();
    assert!(first.echo);
    drop(first);
    assert_eq!(echoes.lock().unwrap().as_slice(), ["sent"]);
    assert_eq!(r.len(), n, "{flavor:?}: n - 1 queued plus the echo");
    drop(r);
    let echoes = echoes.lock().unwrap();
    // Message 0 echoed while alive; the other even ones (plus none of the plain echo)
    // found the channel disconnected.
    let even = n.div_ceil(2);
    assert_eq!(echoes.len(), even, "{flavor:?}: {echoes:?}");
    assert!(
        echoes[1..].iter().all(|&e| e == "disconnected"),
        "{flavor:?}: {echoes:?}"
    );
    // n messages, the echo sent while alive, and one plain echo per failed try.
    assert_eq!(
        drops.load(Ordering::SeqCst),
        n + 1 + (even - 1),
        "{flavor:?}"
    );
}

#[test]
fn messages_using_their_own_channel_in_drop() {
    for_each_flavor(&BUFFERED, self_referencing_messages);
}
