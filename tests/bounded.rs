//! Behaviour of the bounded flavor (`bounded(cap)` / `sync_channel(cap)` with `cap >= 1`):
//! fullness, blocking and waking of senders and receivers, timeouts, disconnection, lap
//! wrap-around of the ring, zero-sized and large messages, and drop accounting.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use panama::{
    bounded, sync_channel, unbounded, Receiver, RecvError, RecvTimeoutError, SendError,
    SendTimeoutError, Sender, TryRecvError, TrySendError,
};

use common::{
    addr, join_within, scaled, wait_for, wait_for_count, Ledger, Tracked, SETTLE, WAKE_LIMIT,
};

/// Checks `len`, `is_empty`, `is_full` and `capacity` on both handles.
#[track_caller]
fn assert_state<T>(tx: &Sender<T>, rx: &Receiver<T>, len: usize, cap: usize) {
    assert_eq!(tx.capacity(), Some(cap));
    assert_eq!(rx.capacity(), Some(cap));
    assert_eq!(tx.len(), len, "Sender::len");
    assert_eq!(rx.len(), len, "Receiver::len");
    assert_eq!(tx.is_empty(), len == 0, "Sender::is_empty at len {len}");
    assert_eq!(rx.is_empty(), len == 0, "Receiver::is_empty at len {len}");
    assert_eq!(tx.is_full(), len == cap, "Sender::is_full at len {len}");
    assert_eq!(rx.is_full(), len == cap, "Receiver::is_full at len {len}");
}

// ---------------------------------------------------------------------------------------------
// Capacity, length, fullness
// ---------------------------------------------------------------------------------------------

#[test]
fn capacity_len_full_empty() {
    for cap in [1usize, 3, 16] {
        let (tx, rx) = bounded::<usize>(cap);
        assert_state(&tx, &rx, 0, cap);
        // Several rounds, each starting at a different ring index (the head moves by one
        // per round), so the length is also computed with the tail index behind the head's.
        let mut next_send = 0;
        let mut next_recv = 0;
        for round in 0..cap + 3 {
            for len in 1..=cap {
                tx.try_send(next_send).unwrap();
                next_send += 1;
                assert_state(&tx, &rx, len, cap);
            }
            assert_eq!(tx.try_send(usize::MAX), Err(TrySendError::Full(usize::MAX)));
            assert_state(&tx, &rx, cap, cap);
            for len in (0..cap).rev() {
                assert_eq!(rx.try_recv(), Ok(next_recv));
                next_recv += 1;
                assert_state(&tx, &rx, len, cap);
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            // Shift the phase: one message in and out.
            tx.send(next_send).unwrap();
            next_send += 1;
            assert_state(&tx, &rx, 1, cap);
            assert_eq!(rx.recv(), Ok(next_recv), "round {round}");
            next_recv += 1;
            assert_state(&tx, &rx, 0, cap);
        }
    }
}

#[test]
fn len_with_wrapped_indices() {
    // Keep the channel partly full while the positions go round many laps: the length must
    // stay exact whichever of head and tail index is ahead.
    for cap in [1usize, 3, 16] {
        let (tx, rx) = bounded::<usize>(cap);
        // Under Miri, only the lags at both ends (the middle ones cost most of the time).
        for lag in (0..cap).filter(|&lag| !cfg!(miri) || lag <= 1 || lag + 2 >= cap) {
            for i in 0..lag {
                tx.send(i).unwrap();
            }
            for i in 0..3 * cap + 1 {
                tx.send(lag + i).unwrap();
                assert_state(&tx, &rx, lag + 1, cap);
                assert_eq!(rx.recv(), Ok(i));
                assert_state(&tx, &rx, lag, cap);
            }
            while rx.try_recv().is_ok() {}
            assert_state(&tx, &rx, 0, cap);
        }
    }
}

#[test]
fn capacity_after_disconnection() {
    let (tx, rx) = bounded::<u8>(3);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    // Receivers still see the buffered messages, exactly counted.
    assert_eq!(rx.capacity(), Some(3));
    assert_eq!(rx.len(), 2);
    assert!(!rx.is_empty());
    assert!(!rx.is_full());
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.len(), 0);
    assert!(rx.is_empty());

    let (tx, rx) = bounded::<u8>(2);
    tx.send(1).unwrap();
    drop(rx);
    assert_eq!(tx.capacity(), Some(2));
    // The precise length after the receivers left is unspecified; it must not panic.
    let _ = (tx.len(), tx.is_empty(), tx.is_full());
}

#[test]
#[should_panic]
fn capacity_too_large_panics() {
    let _ = bounded::<u8>(usize::MAX);
}

#[test]
fn same_channel_and_flavors() {
    let (tx, rx) = bounded::<u8>(2);
    let (utx, urx) = unbounded::<u8>();
    let (tx2, rx2) = bounded::<u8>(2);
    assert!(tx.same_channel(&tx.clone()));
    assert!(rx.same_channel(&rx.clone()));
    assert!(!tx.same_channel(&tx2));
    assert!(!rx.same_channel(&rx2));
    // Different flavors are never the same channel.
    assert!(!tx.same_channel(&utx));
    assert!(!utx.same_channel(&tx));
    assert!(!rx.same_channel(&urx));
    assert!(!urx.same_channel(&rx));
    assert!(!format!("{tx:?}").is_empty());
    assert!(!format!("{rx:?}").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Non-blocking sends and receives
// ---------------------------------------------------------------------------------------------

#[test]
fn fifo_within_capacity() {
    let (tx, rx) = bounded::<u32>(16);
    for i in 0..16 {
        tx.send(i).unwrap();
    }
    for i in 0..16 {
        assert_eq!(rx.recv(), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn try_send_full_hands_message_back() {
    let (tx, rx) = bounded::<Box<u64>>(2);
    tx.try_send(Box::new(1)).unwrap();
    tx.try_send(Box::new(2)).unwrap();
    let msg = Box::new(3);
    let at = addr(&*msg);
    match tx.try_send(msg) {
        Err(TrySendError::Full(m)) => {
            assert_eq!(*m, 3);
            assert_eq!(addr(&*m), at, "a different message came back");
        }
        other => panic!("expected Full, got {other:?}"),
    }
    // Full is not sticky: a receive makes room for exactly one more.
    assert_eq!(*rx.recv().unwrap(), 1);
    tx.try_send(Box::new(3)).unwrap();
    assert!(matches!(
        tx.try_send(Box::new(4)),
        Err(TrySendError::Full(_))
    ));
    assert_eq!(*rx.recv().unwrap(), 2);
    assert_eq!(*rx.recv().unwrap(), 3);
    assert!(rx.try_recv().unwrap_err().is_empty());
}

#[test]
fn try_send_on_full_disconnected_channel_reports_disconnected() {
    let (tx, rx) = bounded::<u32>(1);
    tx.send(1).unwrap();
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    drop(rx);
    assert_eq!(tx.try_send(2), Err(TrySendError::Disconnected(2)));
    assert_eq!(tx.send(3), Err(SendError(3)));
    assert_eq!(
        tx.send_timeout(4, Duration::from_millis(10)),
        Err(SendTimeoutError::Disconnected(4))
    );
}

#[test]
fn try_recv_empty_then_disconnected() {
    let (tx, rx) = bounded::<u32>(4);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    // Buffered messages are drained before disconnection is reported.
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(1)),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn receivers_drain_full_channel_after_senders_gone() {
    for cap in [1usize, 3, 16] {
        let (tx, rx) = bounded::<usize>(cap);
        let tx2 = tx.clone();
        for i in 0..cap {
            tx.send(i).unwrap();
        }
        drop(tx);
        // One sender left: still connected, still full.
        assert_eq!(tx2.try_send(cap), Err(TrySendError::Full(cap)));
        drop(tx2);
        assert!(rx.is_full());
        let rx2 = rx.clone();
        let got: Vec<usize> = rx2.iter().collect();
        assert_eq!(got, (0..cap).collect::<Vec<_>>());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }
}

#[test]
fn sends_fail_after_last_receiver_dropped() {
    let (tx, rx) = bounded::<String>(2);
    let rx2 = rx.clone();
    drop(rx);
    // One receiver is still alive.
    tx.send("alive".to_string()).unwrap();
    assert_eq!(rx2.recv().unwrap(), "alive");
    drop(rx2);

    assert_eq!(
        tx.send("send".to_string()),
        Err(SendError("send".to_string()))
    );
    assert_eq!(
        tx.try_send("try".to_string()),
        Err(TrySendError::Disconnected("try".to_string()))
    );
    assert_eq!(
        tx.send_timeout("timeout".to_string(), Duration::from_secs(10)),
        Err(SendTimeoutError::Disconnected("timeout".to_string()))
    );
    assert_eq!(
        tx.send_deadline(
            "deadline".to_string(),
            Instant::now() + Duration::from_secs(10)
        ),
        Err(SendTimeoutError::Disconnected("deadline".to_string()))
    );
    // A past deadline on a disconnected channel is Disconnected, not Timeout.
    let past = Instant::now();
    thread::sleep(Duration::from_millis(2));
    assert_eq!(
        tx.send_deadline("past".to_string(), past),
        Err(SendTimeoutError::Disconnected("past".to_string()))
    );
    assert_eq!(
        tx.send_timeout("zero".to_string(), Duration::ZERO),
        Err(SendTimeoutError::Disconnected("zero".to_string()))
    );
}

#[test]
fn disconnect_only_after_last_sender() {
    let (tx, rx) = bounded::<u32>(2);
    let tx2 = tx.clone();
    let tx3 = tx2.clone();
    drop(tx);
    drop(tx2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx3.send(5).unwrap();
    drop(tx3);
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn receivers_share_messages_in_order() {
    let (tx, rx1) = bounded::<u32>(4);
    let rx2 = rx1.clone();
    let mut got = Vec::new();
    for round in 0..5 {
        for i in 0..4 {
            tx.send(round * 4 + i).unwrap();
        }
        for i in 0..4 {
            let r = if i % 2 == 0 { &rx1 } else { &rx2 };
            got.push(r.try_recv().unwrap());
        }
    }
    assert_eq!(got, (0..20).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// sync_channel
// ---------------------------------------------------------------------------------------------

#[test]
fn sync_channel_behaves_like_bounded() {
    for cap in [1usize, 3, 16] {
        let (tx, rx): (Sender<usize>, Receiver<usize>) = sync_channel(cap);
        assert_state(&tx, &rx, 0, cap);
        for i in 0..cap {
            tx.send(i).unwrap();
            assert_state(&tx, &rx, i + 1, cap);
        }
        assert_eq!(tx.try_send(cap), Err(TrySendError::Full(cap)));
        assert_eq!(
            tx.send_timeout(cap, Duration::from_millis(5)),
            Err(SendTimeoutError::Timeout(cap))
        );

        // A blocked sender is let through by a receive.
        let sender = {
            let tx = tx.clone();
            thread::spawn(move || tx.send(cap))
        };
        thread::sleep(SETTLE);
        assert!(
            !sender.is_finished(),
            "send on a full sync_channel returned"
        );
        assert_eq!(rx.recv(), Ok(0));
        assert_eq!(join_within(sender), Ok(()));
        assert_state(&tx, &rx, cap, cap);

        drop(tx);
        let rest: Vec<usize> = rx.iter().collect();
        assert_eq!(rest, (1..=cap).collect::<Vec<_>>());
        assert_eq!(rx.recv(), Err(RecvError));
    }

    let (tx, rx) = sync_channel::<u8>(1);
    drop(rx);
    assert_eq!(tx.send(1), Err(SendError(1)));
}

// ---------------------------------------------------------------------------------------------
// Timeouts and deadlines
// ---------------------------------------------------------------------------------------------

#[test]
fn send_timeout_on_full_returns_same_message() {
    let (tx, rx) = bounded::<Box<u64>>(1);
    tx.send(Box::new(0)).unwrap();
    let timeout = Duration::from_millis(80);
    let msg = Box::new(42);
    let at = addr(&*msg);
    let start = Instant::now();
    match tx.send_timeout(msg, timeout) {
        Err(SendTimeoutError::Timeout(m)) => {
            assert_eq!(*m, 42);
            assert_eq!(addr(&*m), at, "a different message came back");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= timeout, "timed out early, after {elapsed:?}");
    assert!(elapsed < timeout + WAKE_LIMIT, "took {elapsed:?}");
    // The channel is unchanged.
    assert_eq!(rx.len(), 1);
    assert_eq!(*rx.recv().unwrap(), 0);
    assert!(rx.is_empty());
}

#[test]
fn send_deadline_on_full_returns_same_message() {
    let (tx, rx) = bounded::<String>(2);
    tx.send("a".into()).unwrap();
    tx.send("b".into()).unwrap();
    let deadline = Instant::now() + Duration::from_millis(60);
    assert_eq!(
        tx.send_deadline("c".into(), deadline),
        Err(SendTimeoutError::Timeout("c".to_string()))
    );
    assert!(Instant::now() >= deadline);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn zero_timeout_and_past_deadline_on_full_channel_are_prompt() {
    let (tx, rx) = bounded::<u32>(1);
    tx.send(0).unwrap();
    let past = Instant::now();
    thread::sleep(Duration::from_millis(2));
    let start = Instant::now();
    for i in 0..100 {
        assert_eq!(
            tx.send_timeout(i, Duration::ZERO),
            Err(SendTimeoutError::Timeout(i))
        );
        assert_eq!(tx.send_deadline(i, past), Err(SendTimeoutError::Timeout(i)));
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(30),
        "200 expired sends took {elapsed:?}"
    );
    assert_eq!(rx.len(), 1);

    // With room, an expired deadline still sends.
    assert_eq!(rx.recv(), Ok(0));
    tx.send_timeout(1, Duration::ZERO).unwrap();
    assert_eq!(rx.recv_deadline(past), Ok(1));
    tx.send_deadline(2, past).unwrap();
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(2));
}

#[test]
fn zero_timeout_and_past_deadline_on_empty_channel_are_prompt() {
    let (_tx, rx) = bounded::<u32>(4);
    let past = Instant::now();
    thread::sleep(Duration::from_millis(2));
    let start = Instant::now();
    for _ in 0..100 {
        assert_eq!(
            rx.recv_timeout(Duration::ZERO),
            Err(RecvTimeoutError::Timeout)
        );
        assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(30),
        "200 expired receives took {elapsed:?}"
    );
}

#[test]
fn recv_timeout_on_empty_times_out() {
    let (tx, rx) = bounded::<u32>(2);
    let timeout = Duration::from_millis(80);
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= timeout);
    let deadline = Instant::now() + Duration::from_millis(30);
    assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= deadline);
    tx.send(1).unwrap();
    assert_eq!(rx.recv_timeout(timeout), Ok(1));
}

#[test]
fn duration_max_send_timeout() {
    let (tx, rx) = bounded::<u32>(1);
    // Room: returns at once.
    tx.send_timeout(1, Duration::MAX).unwrap();
    // Full: must block (not overflow, not time out) until a receive makes room.
    let sender = {
        let tx = tx.clone();
        thread::spawn(move || tx.send_timeout(2, Duration::MAX))
    };
    thread::sleep(SETTLE);
    assert!(
        !sender.is_finished(),
        "send_timeout(MAX) on a full channel returned"
    );
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(join_within(sender), Ok(()));
    assert_eq!(rx.recv(), Ok(2));

    // Huge but not MAX timeouts behave the same.
    tx.send_timeout(3, Duration::new(u64::MAX, 999_999_999))
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(u64::MAX)), Ok(3));

    // Full: woken by the last receiver's drop, message back.
    tx.send(4).unwrap();
    let sender = {
        let tx = tx.clone();
        thread::spawn(move || tx.send_timeout(5, Duration::MAX))
    };
    thread::sleep(SETTLE);
    drop(rx);
    assert_eq!(join_within(sender), Err(SendTimeoutError::Disconnected(5)));
    assert_eq!(
        tx.send_timeout(6, Duration::MAX),
        Err(SendTimeoutError::Disconnected(6))
    );
}

#[test]
fn duration_max_recv_timeout() {
    let (tx, rx) = bounded::<u32>(2);
    tx.send(1).unwrap();
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(1));

    let sender = {
        let tx = tx.clone();
        thread::spawn(move || {
            thread::sleep(SETTLE);
            tx.send(2).unwrap();
        })
    };
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(2));
    join_within(sender);

    let dropper = thread::spawn(move || {
        thread::sleep(SETTLE);
        drop(tx);
    });
    assert_eq!(
        rx.recv_timeout(Duration::MAX),
        Err(RecvTimeoutError::Disconnected)
    );
    join_within(dropper);
}

#[test]
fn send_timeout_succeeds_when_room_is_made() {
    let (tx, rx) = bounded::<u32>(1);
    tx.send(1).unwrap();
    let receiver = thread::spawn(move || {
        thread::sleep(SETTLE);
        let first = rx.recv().unwrap();
        (first, rx)
    });
    let start = Instant::now();
    assert_eq!(tx.send_timeout(2, Duration::from_secs(30)), Ok(()));
    assert!(start.elapsed() < Duration::from_secs(30));
    let (first, rx) = join_within(receiver);
    assert_eq!(first, 1);
    assert_eq!(rx.recv(), Ok(2));
}

// ---------------------------------------------------------------------------------------------
// Blocking and waking
// ---------------------------------------------------------------------------------------------

#[test]
fn blocked_send_woken_by_recv() {
    for cap in [1usize, 3] {
        let (tx, rx) = bounded::<usize>(cap);
        for i in 0..cap {
            tx.send(i).unwrap();
        }
        let started = Arc::new(AtomicBool::new(false));
        let sender = {
            let started = Arc::clone(&started);
            thread::spawn(move || {
                started.store(true, Ordering::SeqCst);
                let r = tx.send(cap);
                (r, tx)
            })
        };
        wait_for(&started);
        thread::sleep(SETTLE);
        assert!(!sender.is_finished(), "send on a full channel returned");
        assert_eq!(rx.recv(), Ok(0));
        let (r, tx) = join_within(sender);
        assert_eq!(r, Ok(()));
        assert!(tx.is_full());
        for i in 1..=cap {
            assert_eq!(rx.recv(), Ok(i));
        }
    }
}

#[test]
fn blocked_send_not_let_through_by_failed_operations() {
    let (tx, rx) = bounded::<u32>(1);
    tx.send(1).unwrap();
    let sender = {
        let tx = tx.clone();
        thread::spawn(move || tx.send(2))
    };
    thread::sleep(SETTLE);
    // Operations that take nothing out must not let the blocked sender through.
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(
        tx.send_timeout(4, Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(4))
    );
    let rx2 = rx.clone();
    drop(rx2);
    thread::sleep(SETTLE);
    assert!(!sender.is_finished());
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(join_within(sender), Ok(()));
    assert_eq!(rx.recv(), Ok(2));
    assert!(rx.is_empty());
}

#[test]
fn each_recv_lets_one_blocked_sender_through() {
    let (tx, rx) = bounded::<usize>(1);
    tx.send(usize::MAX).unwrap();
    let senders = 4;
    let done = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..senders)
        .map(|i| {
            let tx = tx.clone();
            let done = Arc::clone(&done);
            thread::spawn(move || {
                tx.send(i).unwrap();
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    thread::sleep(SETTLE);
    assert_eq!(done.load(Ordering::SeqCst), 0);
    let mut got = vec![rx.recv().unwrap()];
    for k in 1..=senders {
        // The receive above made room for exactly one sender; the channel is full again
        // once it is through, so no other sender can complete.
        wait_for_count(&done, k);
        thread::sleep(Duration::from_millis(10));
        assert_eq!(
            done.load(Ordering::SeqCst),
            k,
            "too many senders got through"
        );
        assert!(rx.is_full());
        got.push(rx.recv().unwrap());
    }
    for h in handles {
        join_within(h);
    }
    assert_eq!(got[0], usize::MAX);
    got.remove(0);
    got.sort_unstable();
    assert_eq!(got, (0..senders).collect::<Vec<_>>());
    assert!(rx.is_empty());
}

#[test]
fn blocked_send_woken_with_message_when_last_receiver_drops() {
    let (tx, rx) = bounded::<Box<u64>>(1);
    tx.send(Box::new(0)).unwrap();
    let rx2 = rx.clone();
    let msg = Box::new(7);
    let at = addr(&*msg);
    let sender = thread::spawn(move || {
        let r = tx.send(msg);
        (r, tx)
    });
    thread::sleep(SETTLE);
    drop(rx);
    // A receiver is still alive: the sender keeps waiting.
    thread::sleep(SETTLE);
    assert!(!sender.is_finished(), "woken by a receiver clone's drop");
    drop(rx2);
    let (r, tx) = join_within(sender);
    let m = r.expect_err("send succeeded with no receiver").into_inner();
    assert_eq!(*m, 7);
    assert_eq!(addr(&*m), at, "a different message came back");
    assert!(tx.send(Box::new(8)).is_err());
}

/// Several senders are parked on a full channel; one receiver then empties it back to back,
/// with no pause for a woken sender to come back first. Every sender must get through.
#[test]
fn blocked_senders_drained_back_to_back_by_one_receiver() {
    for cap in [1usize, 2] {
        let senders = 8;
        let (tx, rx) = bounded::<usize>(cap);
        for i in 0..cap {
            tx.send(senders + i).unwrap();
        }
        let handles: Vec<_> = (0..senders)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(i))
            })
            .collect();
        drop(tx);
        thread::sleep(SETTLE);
        let mut got = Vec::new();
        for _ in 0..senders + cap {
            match rx.recv_timeout(WAKE_LIMIT) {
                Ok(v) => got.push(v),
                Err(e) => panic!(
                    "cap {cap}: received {} of {} messages, then `{e}`",
                    got.len(),
                    senders + cap
                ),
            }
        }
        got.sort_unstable();
        assert_eq!(got, (0..senders + cap).collect::<Vec<_>>());
        for h in handles {
            assert_eq!(join_within(h), Ok(()));
        }
        assert_eq!(rx.recv(), Err(RecvError));
    }
}

/// Several receivers are parked on an empty channel; one sender then sends back to back.
/// Every receiver must get a message.
#[test]
fn blocked_receivers_fed_back_to_back_by_one_sender() {
    for cap in [1usize, 2] {
        let receivers = 8;
        let (tx, rx) = bounded::<usize>(cap);
        let handles: Vec<_> = (0..receivers)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv())
            })
            .collect();
        drop(rx);
        thread::sleep(SETTLE);
        for i in 0..receivers {
            if let Err(e) = tx.send_timeout(i, WAKE_LIMIT) {
                panic!("cap {cap}: sent {i} of {receivers} messages, then `{e}`");
            }
        }
        let mut got: Vec<usize> = handles
            .into_iter()
            .map(|h| join_within(h).unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..receivers).collect::<Vec<_>>());
    }
}

#[test]
fn blocked_recv_woken_by_send() {
    let (tx, rx) = bounded::<u32>(2);
    let started = Arc::new(AtomicBool::new(false));
    let receiver = {
        let started = Arc::clone(&started);
        thread::spawn(move || {
            started.store(true, Ordering::SeqCst);
            let v = rx.recv();
            (v, rx)
        })
    };
    wait_for(&started);
    thread::sleep(SETTLE);
    assert!(!receiver.is_finished());
    tx.send(5).unwrap();
    let (v, rx) = join_within(receiver);
    assert_eq!(v, Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn iterators() {
    let (tx, rx) = bounded::<usize>(2);
    let n = scaled(50, 2_000, 2_000);
    let producer = thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    // `iter` blocks until each message arrives and ends on disconnection.
    let got: Vec<usize> = rx.iter().collect();
    join_within(producer);
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    assert_eq!(rx.iter().next(), None);

    let (tx, rx) = bounded::<usize>(3);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(rx.try_iter().next(), None);
    tx.send(3).unwrap();
    drop(tx);
    assert_eq!(rx.into_iter().collect::<Vec<_>>(), [3]);
}

// ---------------------------------------------------------------------------------------------
// Lap wrap-around
// ---------------------------------------------------------------------------------------------

#[test]
fn lap_wrap_around_single_thread_interleaved() {
    let n = scaled(300, 1_000_000, 1_000_000);
    let (tx, rx) = bounded::<usize>(3);
    let mut next_send = 0;
    let mut next_recv = 0;
    let mut step = 0usize;
    while next_recv < n {
        // Bursts of 1, 2, 3 messages (3 fills the channel), then drain down to a lag of
        // 0, 1 or 2, so head and tail meet every index on every lap.
        let burst = 1 + step % 3;
        let keep = (step / 3) % 3;
        while tx.len() < burst.max(keep) && next_send < n {
            tx.try_send(next_send).unwrap();
            next_send += 1;
        }
        if tx.len() == 3 && next_send < n {
            assert_eq!(tx.try_send(next_send), Err(TrySendError::Full(next_send)));
        }
        let target = if next_send == n {
            0
        } else {
            keep.min(rx.len())
        };
        while rx.len() > target {
            assert_eq!(rx.try_recv(), Ok(next_recv));
            next_recv += 1;
        }
        step += 1;
    }
    assert_eq!(next_send, n);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn lap_wrap_around_one_producer_one_consumer() {
    let n = scaled(300, 1_000_000, 1_000_000);
    let (tx, rx) = bounded::<usize>(3);
    let producer = thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    for i in 0..n {
        let got = rx.recv().unwrap();
        assert_eq!(got, i, "out of order");
    }
    join_within(producer);
    assert_eq!(rx.recv(), Err(RecvError));
}

// ---------------------------------------------------------------------------------------------
// Zero-sized and large messages
// ---------------------------------------------------------------------------------------------

#[test]
fn zero_sized_messages_fill_the_channel() {
    let (tx, rx) = bounded::<()>(2);
    assert_state(&tx, &rx, 0, 2);
    tx.try_send(()).unwrap();
    assert_state(&tx, &rx, 1, 2);
    tx.send(()).unwrap();
    assert_state(&tx, &rx, 2, 2);
    assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));
    assert_eq!(
        tx.send_timeout((), Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(()))
    );
    assert_eq!(rx.recv(), Ok(()));
    assert_state(&tx, &rx, 1, 2);
    tx.try_send(()).unwrap();
    assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));

    // Many laps of zero-sized messages keep the count exact.
    for _ in 0..scaled(100, 10_000, 10_000) {
        assert_eq!(rx.try_recv(), Ok(()));
        tx.try_send(()).unwrap();
        assert_state(&tx, &rx, 2, 2);
    }
    drop(tx);
    assert_eq!(rx.iter().count(), 2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn zero_sized_messages_across_threads() {
    let n = scaled(200, 50_000, 200_000);
    let (tx, rx) = bounded::<()>(2);
    let producer = thread::spawn(move || {
        for _ in 0..n {
            tx.send(()).unwrap();
        }
    });
    assert_eq!(rx.iter().count(), n);
    join_within(producer);
}

const BIG: usize = 4096;

fn big_message(seq: usize) -> [u8; BIG] {
    let mut buf = [0u8; BIG];
    buf[..8].copy_from_slice(&(seq as u64).to_le_bytes());
    let mut x = (seq as u32).wrapping_mul(2_654_435_761) | 1;
    for b in &mut buf[8..] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    buf
}

#[track_caller]
fn check_big_message(buf: &[u8; BIG], expected_seq: usize) {
    let seq = u64::from_le_bytes(buf[..8].try_into().unwrap()) as usize;
    assert_eq!(seq, expected_seq, "4 KiB message out of order");
    assert!(
        buf[..] == big_message(seq)[..],
        "corrupted 4 KiB message {seq}"
    );
}

#[test]
fn large_4k_messages_single_thread() {
    let cap = 3;
    let (tx, rx) = bounded::<[u8; BIG]>(cap);
    let mut next_recv = 0;
    let n = scaled(8, 600, 600);
    for seq in 0..n {
        if tx.is_full() {
            assert!(tx.try_send(big_message(seq)).unwrap_err().is_full());
            check_big_message(&rx.recv().unwrap(), next_recv);
            next_recv += 1;
        }
        tx.send(big_message(seq)).unwrap();
        if seq % 5 == 0 {
            check_big_message(&rx.recv().unwrap(), next_recv);
            next_recv += 1;
        }
    }
    drop(tx);
    for buf in rx.iter() {
        check_big_message(&buf, next_recv);
        next_recv += 1;
    }
    assert_eq!(next_recv, n);
}

#[test]
fn large_4k_messages_across_threads() {
    let n = scaled(8, 5_000, 20_000);
    let (tx, rx) = bounded::<[u8; BIG]>(2);
    let producer = thread::spawn(move || {
        for seq in 0..n {
            tx.send(big_message(seq)).unwrap();
        }
    });
    for seq in 0..n {
        check_big_message(&rx.recv().unwrap(), seq);
    }
    join_within(producer);
    assert_eq!(rx.recv(), Err(RecvError));
}

// ---------------------------------------------------------------------------------------------
// Drop accounting
// ---------------------------------------------------------------------------------------------

/// Which side of the channel goes last.
#[derive(Clone, Copy, Debug)]
enum LastHandle {
    Sender,
    Receiver,
}

/// Builds a channel of capacity `cap` whose head sits at ring index `offset % cap` (after
/// `offset` messages went through) and which then holds `held` tracked messages with ids
/// `0..held`; the messages that went through are not tracked.
fn channel_holding(
    ledger: &Arc<Ledger>,
    cap: usize,
    offset: usize,
    held: usize,
) -> (Sender<Tracked>, Receiver<Tracked>) {
    assert!(held <= cap);
    let (tx, rx) = bounded(cap);
    let passed = Ledger::new(offset);
    for id in 0..offset {
        tx.send(passed.make(id)).unwrap();
        drop(rx.recv().unwrap());
    }
    passed.assert_each_dropped_once(offset);
    for id in 0..held {
        tx.send(ledger.make(id)).unwrap();
    }
    assert_eq!(tx.len(), held);
    (tx, rx)
}

#[test]
fn buffered_messages_dropped_once_when_channel_goes() {
    for cap in [1usize, 3, 16] {
        for offset in [0, 1, cap - 1, cap, 2 * cap + 1] {
            for held in [0, 1, cap / 2, cap] {
                for last in [LastHandle::Sender, LastHandle::Receiver] {
                    let ledger = Ledger::new(cap);
                    let (tx, rx) = channel_holding(&ledger, cap, offset, held);
                    match last {
                        LastHandle::Sender => {
                            drop(rx);
                            // Buffered messages go with the last receiver (panama's documented
                            // behaviour), even while a sender is still alive.
                            assert_eq!(
                                ledger.dropped(),
                                held,
                                "cap {cap} offset {offset}: not dropped at receiver drop"
                            );
                            drop(tx);
                        }
                        LastHandle::Receiver => {
                            drop(tx);
                            assert_eq!(
                                ledger.dropped(),
                                0,
                                "dropped messages while a receiver lives"
                            );
                            drop(rx);
                        }
                    }
                    ledger.assert_each_dropped_once(held);
                }
            }
        }
    }
}

#[test]
fn partially_received_then_dropped() {
    let cap = 16;
    for (received, last) in [
        (1, LastHandle::Sender),
        (5, LastHandle::Receiver),
        (11, LastHandle::Sender),
        (15, LastHandle::Receiver),
    ] {
        let ledger = Ledger::new(cap);
        let (tx, rx) = channel_holding(&ledger, cap, 7, cap);
        let mut held = Vec::new();
        for id in 0..received {
            let m = rx.recv().unwrap();
            assert_eq!(m.id, id);
            held.push(m);
        }
        // Receiving hands ownership out; nothing is dropped yet.
        assert_eq!(ledger.dropped(), 0);
        match last {
            LastHandle::Sender => {
                drop(rx);
                drop(tx);
            }
            LastHandle::Receiver => {
                drop(tx);
                drop(rx);
            }
        }
        assert_eq!(ledger.dropped(), cap - received);
        for id in 0..received {
            assert_eq!(ledger.drops_of(id), 0);
        }
        drop(held);
        ledger.assert_each_dropped_once(cap);
    }
}

#[test]
fn clones_keep_buffered_messages_until_last_receiver() {
    let ledger = Ledger::new(4);
    let (tx, rx) = bounded(4);
    for id in 0..4 {
        tx.send(ledger.make(id)).unwrap();
    }
    let rx2 = rx.clone();
    drop(rx);
    drop(tx);
    assert_eq!(ledger.dropped(), 0);
    assert_eq!(rx2.recv().unwrap().id, 0);
    assert_eq!(ledger.dropped(), 1);
    drop(rx2);
    ledger.assert_each_dropped_once(4);
}

#[test]
fn received_via_every_method_dropped_once() {
    let ledger = Ledger::new(6);
    let (tx, rx) = bounded(6);
    for id in 0..6 {
        tx.send(ledger.make(id)).unwrap();
    }
    drop(rx.recv().unwrap());
    drop(rx.try_recv().unwrap());
    drop(rx.recv_timeout(Duration::from_secs(1)).unwrap());
    drop(
        rx.recv_deadline(Instant::now() + Duration::from_secs(1))
            .unwrap(),
    );
    drop(rx.try_iter().next().unwrap());
    drop(rx.iter().next().unwrap());
    assert_eq!(ledger.dropped(), 6);
    drop(tx);
    drop(rx);
    ledger.assert_each_dropped_once(6);
}

#[test]
fn failed_sends_hand_message_back() {
    let ledger = Ledger::new(10);
    let (tx, rx) = bounded(1);
    tx.send(ledger.make(0)).unwrap();

    // Full.
    let m1 = match tx.try_send(ledger.make(1)) {
        Err(TrySendError::Full(m)) => m,
        Err(TrySendError::Disconnected(_)) => panic!("live channel reported Disconnected"),
        Ok(()) => panic!("try_send succeeded on a full channel"),
    };
    let m2 = match tx.send_timeout(ledger.make(2), Duration::from_millis(5)) {
        Err(SendTimeoutError::Timeout(m)) => m,
        Err(SendTimeoutError::Disconnected(_)) => panic!("live channel reported Disconnected"),
        Ok(()) => panic!("send_timeout succeeded on a full channel"),
    };
    let m3 = match tx.send_deadline(ledger.make(3), Instant::now()) {
        Err(SendTimeoutError::Timeout(m)) => m,
        other => panic!("expected Timeout, got ok={}", other.is_ok()),
    };
    assert_eq!((m1.id, m2.id, m3.id), (1, 2, 3));
    assert_eq!(
        ledger.dropped(),
        0,
        "the channel dropped a rejected message"
    );

    // Disconnected (the buffered message 0 is dropped with the receiver).
    drop(rx);
    assert_eq!(ledger.dropped(), 1);
    let m4 = tx.send(ledger.make(4)).unwrap_err().into_inner();
    let m5 = tx.try_send(ledger.make(5)).unwrap_err().into_inner();
    let m6 = tx
        .send_timeout(ledger.make(6), Duration::from_secs(1))
        .unwrap_err()
        .into_inner();
    let m7 = tx
        .send_deadline(ledger.make(7), Instant::now())
        .unwrap_err()
        .into_inner();
    assert_eq!((m4.id, m5.id, m6.id, m7.id), (4, 5, 6, 7));
    assert_eq!(ledger.dropped(), 1);
    drop(tx);
    assert_eq!(ledger.dropped(), 1);
    drop((m1, m2, m3, m4, m5, m6, m7));
    ledger.assert_each_dropped_once(8);
}

#[test]
fn blocked_senders_get_messages_back_on_receiver_drop() {
    let senders = 4;
    let ledger = Ledger::new(2 + senders);
    let (tx, rx) = bounded(2);
    tx.send(ledger.make(0)).unwrap();
    tx.send(ledger.make(1)).unwrap();
    let handles: Vec<_> = (0..senders)
        .map(|i| {
            let tx = tx.clone();
            let ledger = Arc::clone(&ledger);
            thread::spawn(move || {
                let id = 2 + i;
                let m = match tx.send(ledger.make(id)) {
                    Err(e) => e.into_inner(),
                    Ok(()) => panic!("send to a full channel with no receiver succeeded"),
                };
                assert_eq!(m.id, id);
                assert_eq!(ledger.drops_of(id), 0);
                m
            })
        })
        .collect();
    thread::sleep(SETTLE);
    assert_eq!(ledger.dropped(), 0);
    drop(rx);
    let returned: Vec<Tracked> = handles.into_iter().map(|h| join_within(h)).collect();
    // Only the two buffered messages were dropped, by the channel.
    assert_eq!(ledger.dropped(), 2);
    drop(tx);
    assert_eq!(ledger.dropped(), 2);
    drop(returned);
    ledger.assert_each_dropped_once(2 + senders);
}

#[test]
fn receiver_dropped_while_senders_active() {
    let producers = 4;
    let per = scaled(50, 5_000, 20_000);
    for cap in [1usize, 7] {
        let ledger = Ledger::new(producers * per);
        let (tx, rx) = bounded(cap);
        let handles: Vec<_> = (0..producers)
            .map(|p| {
                let tx = tx.clone();
                let ledger = Arc::clone(&ledger);
                thread::spawn(move || {
                    for i in 0..per {
                        let id = p * per + i;
                        let r = if i % 2 == 0 {
                            tx.send(ledger.make(id)).map_err(|e| e.into_inner())
                        } else {
                            tx.send_timeout(ledger.make(id), Duration::from_millis(1))
                                .map_err(|e| e.into_inner())
                        };
                        if let Err(m) = r {
                            // The message comes back to us; we drop it here.
                            assert_eq!(m.id, id);
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        // Receive (and drop) some, then drop the receiver while senders are blocked.
        for _ in 0..per / 4 {
            drop(rx.recv().unwrap());
        }
        drop(rx);
        for h in handles {
            join_within(h);
        }
        assert_eq!(ledger.created(), producers * per);
        ledger.assert_each_dropped_once(producers * per);
    }
}

#[test]
fn drop_both_sides_concurrently() {
    let rounds = scaled(5, 300, 300);
    for round in 0..rounds {
        let cap = 1 + round % 8;
        let ledger = Ledger::new(cap);
        let (tx, rx) = channel_holding(&ledger, cap, round % 5, cap - round % 2);
        let held = cap - round % 2;
        let a = thread::spawn(move || drop(tx));
        let b = thread::spawn(move || drop(rx));
        join_within(a);
        join_within(b);
        ledger.assert_each_dropped_once(held);
    }
}

#[test]
fn empty_channel_drop_drops_nothing() {
    let ledger = Ledger::new(1);
    let (tx, rx) = bounded::<Tracked>(4);
    drop(rx);
    drop(tx);
    assert_eq!(ledger.created(), 0);
    assert_eq!(ledger.dropped(), 0);
}

#[test]
fn zero_sized_messages_dropped_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Zst;
    impl Drop for Zst {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (tx, rx) = bounded::<Zst>(2);
    tx.send(Zst).unwrap();
    tx.send(Zst).unwrap();
    // A rejected message is handed back, not dropped by the channel.
    let back = tx.try_send(Zst).unwrap_err().into_inner();
    assert_eq!(DROPS.load(Ordering::SeqCst), 0);
    drop(back);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
    drop(rx.recv().unwrap());
    assert_eq!(DROPS.load(Ordering::SeqCst), 2);
    tx.send(Zst).unwrap();
    drop(tx);
    assert_eq!(DROPS.load(Ordering::SeqCst), 2);
    drop(rx);
    assert_eq!(DROPS.load(Ordering::SeqCst), 4);
}
