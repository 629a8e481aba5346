//! The timer receivers: `after`, `at`, `tick` and `never`, through every `Receiver` method.
//!
//! Timing bounds are one-sided where the answer is exact ("not before the deadline", and
//! the delivered instant, which is computed, not measured) and generous where it is not
//! ("within a second of it"): the machine is shared and noisy. Under Miri the clock is
//! virtual (it moves on about 5 µs per interpreted basic block, and jumps straight to the
//! next timeout when every thread sleeps), so the same durations cost no real time there;
//! only the thread and delivery counts are scaled down.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use panama::{
    after, at, never, tick, Receiver, RecvTimeoutError, Select, SelectTimeoutError, TryRecvError,
};

use common::{scaled, MIRI_TIME_FACTOR};

/// A timer's duration in these tests: long enough that a check right after creating the
/// timer runs before it fires, short enough to keep each test well under a second.
const D: Duration = Duration::from_millis(100);

/// A short timeout, for receives that must time out.
const SHORT: Duration = Duration::from_millis(5);

/// How late a wake-up may be on a loaded machine before the test calls it wrong.
const SLACK: Duration = Duration::from_secs(MIRI_TIME_FACTOR as u64);

/// Asserts that `r` has no message ready, through every non-blocking question.
#[track_caller]
fn assert_not_ready(r: &Receiver<Instant>) {
    assert_eq!(r.len(), 0);
    assert!(r.is_empty());
    assert!(!r.is_full());
    assert_eq!(r.try_iter().next(), None);
}

/// Asserts that `r` has a message ready, through every question that does not take it.
#[track_caller]
fn assert_ready(r: &Receiver<Instant>) {
    assert_eq!(r.len(), 1);
    assert!(!r.is_empty());
    assert!(r.is_full());
}

/// Asserts that `recv_timeout` times out, and not before its timeout.
#[track_caller]
fn assert_times_out<T: std::fmt::Debug>(r: &Receiver<T>) {
    let start = Instant::now();
    assert_eq!(
        r.recv_timeout(SHORT).unwrap_err(),
        RecvTimeoutError::Timeout
    );
    assert!(start.elapsed() >= SHORT);
    let deadline = Instant::now() + SHORT;
    assert_eq!(
        r.recv_deadline(deadline).unwrap_err(),
        RecvTimeoutError::Timeout
    );
    assert!(Instant::now() >= deadline);
}

#[test]
fn after_fires_not_before_its_duration_and_on_time() {
    let before = Instant::now();
    let r = after(D);
    let created = Instant::now();
    assert_eq!(r.capacity(), Some(1));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_not_ready(&r);

    let delivered = r.recv().unwrap();
    let now = Instant::now();
    // The message is the creation instant plus the duration.
    assert!(delivered >= before + D && delivered <= created + D);
    assert!(now >= delivered, "received {:?} early", delivered - now);
    assert!(
        now <= delivered + SLACK,
        "received {:?} late",
        now - delivered
    );

    // Delivered once: empty for ever after, never disconnected, and a timed receive waits
    // out its whole timeout.
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_not_ready(&r);
    assert_times_out(&r);
}

#[test]
fn after_times_out_before_it_fires_then_delivers() {
    let r = after(D);
    let start = Instant::now();
    assert_eq!(r.recv_timeout(SHORT), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= SHORT);
    // A deadline before the delivery times out at the deadline, not at the delivery.
    let deadline = Instant::now() + SHORT;
    assert_eq!(r.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    let now = Instant::now();
    assert!(now >= deadline);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    // A deadline after it gets it.
    let delivered = r.recv_timeout(D + SLACK).unwrap();
    assert!(Instant::now() >= delivered);
    assert!(delivered >= start + D - SHORT); // created just before `start`
}

#[test]
fn at_delivers_the_instant_itself_at_that_instant() {
    let when = Instant::now() + D;
    let r = at(when);
    assert_eq!(r.capacity(), Some(1));
    assert_not_ready(&r);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(r.recv_deadline(when + SLACK), Ok(when));
    let now = Instant::now();
    assert!(now >= when && now <= when + SLACK);
    assert_not_ready(&r);
    assert_times_out(&r);
}

#[test]
fn at_a_past_instant_is_ready_at_once() {
    let past = Instant::now();
    let r = at(past);
    assert_ready(&r);
    assert_eq!(r.try_recv(), Ok(past));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_not_ready(&r);

    // Every receiving method gets it at once, exactly once.
    let start = Instant::now();
    assert_eq!(at(past).recv(), Ok(past));
    assert_eq!(at(past).recv_timeout(Duration::ZERO), Ok(past));
    assert_eq!(at(past).recv_timeout(Duration::MAX), Ok(past));
    assert_eq!(at(past).recv_deadline(past), Ok(past));
    assert!(start.elapsed() < SLACK);
    assert_eq!(at(past).try_iter().collect::<Vec<_>>(), [past]);
    assert_eq!(at(past).iter().next(), Some(past));
    assert_eq!(at(past).into_iter().next(), Some(past));
    let r = at(past);
    assert_eq!((&r).into_iter().next(), Some(past));
    assert_eq!(r.try_iter().next(), None);
}

#[test]
fn at_clones_share_the_one_message() {
    let r = at(Instant::now());
    let r2 = r.clone();
    assert!(r.same_channel(&r2));
    assert_ready(&r2);
    assert!(r.try_recv().is_ok());
    assert_not_ready(&r2);
    assert_eq!(r2.try_recv(), Err(TryRecvError::Empty));
    // A clone made afterwards is the same spent channel.
    assert_eq!(r.clone().try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn after_and_tick_of_an_unrepresentable_duration_never_fire() {
    // `Duration::MAX` overflows `Instant`; 1000 years overflows the tick's count of
    // nanoseconds but not `Instant` on Linux. Neither panics, neither fires.
    let years = Duration::from_secs(1000 * 365 * 24 * 3600);
    for r in [after(Duration::MAX), tick(Duration::MAX), tick(years)] {
        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        assert_times_out(&r);
        assert!(r.is_empty());
        assert_eq!(r.len(), 0);
        // As crossbeam: the receiver is a `never` receiver.
        assert_eq!(r.capacity(), Some(0));
        assert!(r.same_channel(&never()));
    }
    // An `after` that far ahead is representable, and just does not fire yet.
    let r = after(years);
    assert_eq!(r.capacity(), Some(1));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(r.recv_timeout(SHORT), Err(RecvTimeoutError::Timeout));
}

#[test]
fn never_never_delivers_and_never_disconnects() {
    let r = never::<String>();
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_times_out(&r);
    assert_eq!(r.len(), 0);
    assert!(r.is_empty());
    assert!(r.is_full()); // as crossbeam's: capacity 0, like a rendezvous with no sender
    assert_eq!(r.capacity(), Some(0));
    assert_eq!(r.try_iter().next(), None);
    // All `never` receivers are one channel, of whatever type.
    assert!(r.same_channel(&r.clone()));
    assert!(r.same_channel(&never()));
    let (_s, other) = panama::unbounded::<String>();
    assert!(!r.same_channel(&other));
    assert!(!other.same_channel(&r));
    assert_eq!(r.clone().try_recv(), Err(TryRecvError::Empty));
    assert_eq!(format!("{r:?}"), "Receiver { .. }");
    // Usable in a constant.
    const R: Receiver<u8> = never();
    assert_eq!(R.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn same_channel_tells_timers_apart() {
    let when = Instant::now() + D;
    let (a, b) = (at(when), at(when));
    let (t, u) = (tick(D), tick(D));
    assert!(a.same_channel(&a) && a.same_channel(&a.clone()));
    assert!(t.same_channel(&t) && t.same_channel(&t.clone()));
    assert!(
        !a.same_channel(&b),
        "two `at`s for one instant are two channels"
    );
    assert!(!t.same_channel(&u));
    assert!(!a.same_channel(&t) && !t.same_channel(&a));
    assert!(!a.same_channel(&never()) && !never().same_channel(&t));
    let (_s, r) = panama::bounded::<Instant>(1);
    assert!(!r.same_channel(&a) && !t.same_channel(&r));
    for r in [a, t] {
        assert_eq!(format!("{r:?}"), "Receiver { .. }");
    }
}

#[test]
fn tick_delivers_periodically() {
    let before = Instant::now();
    let r = tick(D);
    let created = Instant::now();
    assert_eq!(r.capacity(), Some(1));
    assert_not_ready(&r);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));

    let mut last = before;
    for (i, delivered) in r.iter().take(3).enumerate() {
        let now = Instant::now();
        if i == 0 {
            // The first delivery is a period after the creation.
            assert!(delivered >= before + D && delivered <= created + D);
        } else {
            assert!(delivered >= last + D, "ticks closer than a period");
            assert!(
                delivered <= last + D + SLACK,
                "ticks far more than a period apart"
            );
        }
        assert!(now >= delivered, "received {:?} early", delivered - now);
        assert!(
            now <= delivered + SLACK,
            "received {:?} late",
            now - delivered
        );
        last = delivered;
    }
}

#[test]
fn tick_does_not_queue_missed_deliveries() {
    let r = tick(D);
    thread::sleep(5 * D);
    // Five periods missed: one delivery is ready, not five.
    assert_ready(&r);
    let before = Instant::now();
    let first = r.try_recv().unwrap();
    assert!(first < before);
    // The next one is a period from that receive: not ready at once (or, on a machine
    // stalled for a whole period right here, not before then).
    match r.try_recv() {
        Err(TryRecvError::Empty) => {}
        Ok(late) => assert!(late >= before + D, "a missed delivery was queued"),
        Err(TryRecvError::Disconnected) => panic!("a tick disconnected"),
    }
    let next = r.recv_timeout(D + SLACK).unwrap();
    assert!(next >= before + D);
    assert!(Instant::now() >= next);

    // The same through `try_iter`: one message after two periods.
    thread::sleep(2 * D);
    assert_eq!(r.try_iter().count(), 1);
}

#[test]
fn tick_timeouts_and_clones() {
    let r = tick(D);
    let start = Instant::now();
    // A deadline before the next delivery: a timeout, at the deadline.
    assert_eq!(r.recv_timeout(SHORT), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= SHORT);

    // Clones share the deliveries: one taken through a clone is gone from the original.
    let r2 = r.clone();
    thread::sleep(D);
    assert_ready(&r);
    assert_ready(&r2);
    let got = r2.try_recv().unwrap();
    assert_eq!(r.try_recv().ok().filter(|&t| t == got), None);
    let next = r.recv_timeout(D + SLACK).unwrap();
    assert!(next >= got + D);

    // Dropping the original leaves the clone ticking.
    drop(r);
    let after_drop = r2.into_iter().next().unwrap();
    assert!(after_drop >= next + D);
}

#[test]
fn tick_of_zero_period_is_always_ready() {
    let r = tick(Duration::ZERO);
    let got: Vec<Instant> = r.try_iter().take(3).collect();
    assert_eq!(got.len(), 3);
    assert!(got.windows(2).all(|w| w[0] <= w[1]));
    assert!(r.recv().is_ok());
}

/// Clones of one `tick` on several threads, receiving with `recv`, `recv_timeout` and
/// `try_recv`: every delivery goes to exactly one of them, so no instant is seen twice,
/// and the instants are at least a period apart.
#[test]
fn tick_clones_on_threads_each_get_distinct_deliveries() {
    let threads = scaled(2, 4, 4);
    let each = scaled(3, 8, 8);
    let period = Duration::from_millis(2);
    let r = tick(period);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let r = r.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while got.len() < each {
                    let msg = match i % 3 {
                        0 => r.recv().ok(),
                        1 => r.recv_timeout(SHORT).ok(),
                        _ => r.try_recv().ok(),
                    };
                    got.extend(msg);
                }
                got
            })
        })
        .collect();
    let mut all: Vec<Instant> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all.len(), threads * each);
    for w in all.windows(2) {
        assert!(
            w[1] >= w[0] + period,
            "one delivery received twice, or early"
        );
    }
}

/// Clones of one `at` on several threads, all waiting for it: exactly one gets it, the
/// others time out at their deadline.
#[test]
fn at_clones_on_threads_deliver_once() {
    let threads = scaled(2, 4, 4);
    let when = Instant::now() + D;
    let r = at(when);
    let got = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (r, got, barrier) = (r.clone(), got.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let end = when + Duration::from_millis(100);
                let msg = if i % 2 == 0 {
                    r.recv_deadline(end).ok()
                } else {
                    // Spin on `try_recv`, racing the blocked receivers at `when`.
                    loop {
                        match r.try_recv() {
                            Ok(msg) => break Some(msg),
                            Err(_) if Instant::now() >= end => break None,
                            Err(_) => thread::yield_now(),
                        }
                    }
                };
                if let Some(msg) = msg {
                    assert_eq!(msg, when);
                    assert!(Instant::now() >= when);
                    got.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(got.load(Ordering::SeqCst), 1);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
}

/// Many `at`s due at once, each raced by two threads: each delivered exactly once.
#[test]
fn at_raced_by_two_threads_delivers_once_each() {
    let rounds = scaled(5, 200, 200);
    let past = Instant::now();
    let timers: Vec<Receiver<Instant>> = (0..rounds).map(|_| at(past)).collect();
    let taken = |timers: Vec<Receiver<Instant>>| {
        thread::spawn(move || timers.iter().filter(|r| r.try_recv().is_ok()).count())
    };
    let (a, b) = (taken(timers.clone()), taken(timers.clone()));
    assert_eq!(a.join().unwrap() + b.join().unwrap(), rounds);
    assert!(timers.iter().all(|r| r.try_recv().is_err()));
}

/// The selection hooks, end to end: an `after` as a timeout, a `never` as none, a `tick`
/// seen ready. (Biased selections: an unbiased one seeds its shuffle from `SystemTime`,
/// which Miri's isolation refuses.)
#[test]
fn timers_in_a_selection() {
    let (_s, r) = panama::unbounded::<i32>();
    let start = Instant::now();
    let timeout = after(D);
    let mut sel = Select::new_biased();
    sel.recv(&r);
    let t = sel.recv(&timeout);
    let op = sel.select();
    assert_eq!(op.index(), t);
    let delivered = op.recv(&timeout).unwrap();
    assert!(delivered >= start + D && Instant::now() >= delivered);
    assert!(start.elapsed() <= D + SLACK);

    let none = never::<i32>();
    let mut sel = Select::new_biased();
    sel.recv(&r);
    sel.recv(&none);
    assert!(matches!(sel.select_timeout(SHORT), Err(SelectTimeoutError)));

    let ticker = tick(D);
    let mut sel = Select::new_biased();
    sel.recv(&none);
    let t = sel.recv(&ticker);
    assert_eq!(sel.ready(), t);
    assert!(Instant::now() >= start + D);
    assert!(ticker.try_recv().is_ok());

    // A spent `at` is never selected again.
    let mut sel = Select::new_biased();
    sel.recv(&timeout);
    assert!(sel.try_select().is_err());
}

/// `recv` with no deadline on a spent `at`, on `never` and on a `tick` that will never
/// deliver again blocks for ever: still blocked well after the message would have come.
#[test]
#[cfg_attr(miri, ignore = "leaves threads parked for ever, which Miri reports")]
fn recv_on_a_spent_timer_blocks() {
    let done = Arc::new(AtomicUsize::new(0));
    let spent = at(Instant::now());
    spent.try_recv().unwrap();
    for r in [spent, never(), tick(Duration::MAX)] {
        let done = done.clone();
        // Detached: the thread stays parked until the process exits.
        thread::spawn(move || {
            let _ = r.recv();
            done.fetch_add(1, Ordering::SeqCst);
        });
    }
    thread::sleep(D);
    assert_eq!(done.load(Ordering::SeqCst), 0);
}
