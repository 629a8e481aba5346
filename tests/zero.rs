//! Zero-capacity (rendezvous) channels, `bounded(0)` / `sync_channel(0)`: a send completes
//! only when a receiver takes the message, `try_send`/`try_recv` succeed only against a
//! blocked peer, timeouts hand the message back exactly once, disconnection wakes the other
//! side; plus drop accounting, MPMC stress and a timeout storm.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use panama::{
    bounded, sync_channel, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError,
    Sender, TryRecvError, TrySendError,
};

use common::{
    addr, big_message, check_big_ids_exactly_once_in_order, check_big_message, join_within,
    mpmc_stress, scaled, wait_for_count, within_limit, Flavor, Ledger, RecvMode, SendMode, Tracked,
    BIG, MIRI_TIME_FACTOR, SETTLE, STRESS_LIMIT, WAKE_LIMIT,
};

/// How many times a non-blocking operation is retried, 1 ms apart, while its peer blocks.
const RETRIES: usize = 5_000;

/// Checks what a zero-capacity channel always reports, whatever is going on.
#[track_caller]
fn assert_rendezvous_state<T>(tx: &Sender<T>, rx: &Receiver<T>) {
    for (cap, len, empty, full) in [
        (tx.capacity(), tx.len(), tx.is_empty(), tx.is_full()),
        (rx.capacity(), rx.len(), rx.is_empty(), rx.is_full()),
    ] {
        assert_eq!(cap, Some(0));
        assert_eq!(len, 0);
        assert!(empty, "a zero-capacity channel is always empty");
        assert!(full, "a zero-capacity channel is always full");
    }
}

/// Retries `try_send` until a blocked receiver takes the message.
fn try_send_until_taken<T>(tx: &Sender<T>, mut msg: T) {
    for _ in 0..RETRIES {
        match tx.try_send(msg) {
            Ok(()) => return,
            Err(TrySendError::Full(m)) => msg = m,
            Err(TrySendError::Disconnected(_)) => panic!("receiver vanished"),
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!("try_send never met the blocked receiver");
}

/// Retries `try_recv` until it takes the message of a blocked sender.
fn try_recv_until_taken<T>(rx: &Receiver<T>) -> T {
    for _ in 0..RETRIES {
        match rx.try_recv() {
            Ok(m) => return m,
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => panic!("sender vanished"),
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!("try_recv never met the blocked sender");
}

// ---------------------------------------------------------------------------------------------
// Capacity, length, fullness
// ---------------------------------------------------------------------------------------------

#[test]
fn capacity_len_empty_full() {
    let (tx, rx) = bounded::<u32>(0);
    assert_rendezvous_state(&tx, &rx);
    let (tx2, rx2) = sync_channel::<u32>(0);
    assert_rendezvous_state(&tx2, &rx2);
}

#[test]
fn state_while_a_sender_is_blocked() {
    let (tx, rx) = bounded::<u32>(0);
    let sender = {
        let tx = tx.clone();
        thread::spawn(move || tx.send(1))
    };
    thread::sleep(SETTLE);
    // A message offered by a blocked sender is not "in" the channel.
    assert_rendezvous_state(&tx, &rx);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(join_within(sender), Ok(()));
    assert_rendezvous_state(&tx, &rx);
}

#[test]
fn state_while_a_receiver_is_blocked() {
    let (tx, rx) = bounded::<u32>(0);
    let receiver = {
        let rx = rx.clone();
        thread::spawn(move || rx.recv())
    };
    thread::sleep(SETTLE);
    assert_rendezvous_state(&tx, &rx);
    tx.send(2).unwrap();
    assert_eq!(join_within(receiver), Ok(2));
    assert_rendezvous_state(&tx, &rx);
}

#[test]
fn state_after_disconnection() {
    let (tx, rx) = bounded::<u32>(0);
    let tx2 = tx.clone();
    drop(tx);
    assert_rendezvous_state(&tx2, &rx);
    let (tx, rx) = bounded::<u32>(0);
    let rx2 = rx.clone();
    drop(rx);
    assert_rendezvous_state(&tx, &rx2);
    drop(rx2);
    assert_eq!(tx.capacity(), Some(0));
    assert_eq!(tx.len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Non-blocking operations
// ---------------------------------------------------------------------------------------------

#[test]
fn try_send_full_without_receiver() {
    let (tx, rx) = bounded::<Box<u64>>(0);
    for i in 0..10 {
        let msg = Box::new(i);
        let at = addr(&*msg);
        match tx.try_send(msg) {
            Err(TrySendError::Full(m)) => {
                assert_eq!(*m, i);
                assert_eq!(addr(&*m), at, "a different message came back");
            }
            other => panic!("expected Full, got {other:?}"),
        }
    }
    // A receiver that exists but is not waiting does not count either.
    let rx2 = rx.clone();
    assert!(tx.try_send(Box::new(0)).unwrap_err().is_full());
    drop(rx2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn try_recv_empty_without_sender() {
    let (tx, rx) = bounded::<u32>(0);
    for _ in 0..10 {
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
    let tx2 = tx.clone();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn try_send_succeeds_when_receiver_blocked_in_recv() {
    let (tx, rx) = bounded::<u32>(0);
    let receiver = thread::spawn(move || {
        let r = rx.recv();
        (r, rx)
    });
    try_send_until_taken(&tx, 5);
    let (r, rx) = join_within(receiver);
    assert_eq!(r, Ok(5));
    // Nobody is waiting any more.
    assert_eq!(tx.try_send(6), Err(TrySendError::Full(6)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn try_send_succeeds_when_receiver_blocked_in_recv_timeout() {
    let (tx, rx) = bounded::<String>(0);
    let receiver = thread::spawn(move || rx.recv_timeout(Duration::from_secs(60)));
    try_send_until_taken(&tx, "hello".to_string());
    assert_eq!(join_within(receiver), Ok("hello".to_string()));
}

#[test]
fn try_recv_succeeds_when_sender_blocked_in_send() {
    let (tx, rx) = bounded::<u32>(0);
    let done = Arc::new(AtomicBool::new(false));
    let sender = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let r = tx.send(9);
            done.store(true, Ordering::SeqCst);
            (r, tx)
        })
    };
    thread::sleep(SETTLE);
    assert!(
        !done.load(Ordering::SeqCst),
        "send returned with no receiver"
    );
    assert_eq!(try_recv_until_taken(&rx), 9);
    let (r, tx) = join_within(sender);
    assert_eq!(r, Ok(()));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
}

#[test]
fn try_recv_succeeds_when_sender_blocked_in_send_timeout() {
    let (tx, rx) = bounded::<String>(0);
    let sender = thread::spawn(move || tx.send_timeout("hi".to_string(), Duration::from_secs(60)));
    assert_eq!(try_recv_until_taken(&rx), "hi");
    assert_eq!(join_within(sender), Ok(()));
}

#[test]
fn expired_deadlines_still_pair_with_a_blocked_peer() {
    // A zero timeout does not wait, but a peer already blocked is ready now.
    let (tx, rx) = bounded::<u32>(0);
    let sender = {
        let tx = tx.clone();
        thread::spawn(move || tx.send(1))
    };
    let mut got = None;
    for _ in 0..RETRIES {
        match rx.recv_timeout(Duration::ZERO) {
            Ok(m) => {
                got = Some(m);
                break;
            }
            Err(RecvTimeoutError::Timeout) => thread::sleep(Duration::from_millis(1)),
            Err(RecvTimeoutError::Disconnected) => panic!("sender vanished"),
        }
    }
    assert_eq!(got, Some(1));
    assert_eq!(join_within(sender), Ok(()));

    let receiver = thread::spawn(move || rx.recv());
    let mut msg = 2;
    let mut sent = false;
    for _ in 0..RETRIES {
        match tx.send_timeout(msg, Duration::ZERO) {
            Ok(()) => {
                sent = true;
                break;
            }
            Err(SendTimeoutError::Timeout(m)) => msg = m,
            Err(SendTimeoutError::Disconnected(_)) => panic!("receiver vanished"),
        }
        thread::sleep(Duration::from_millis(1));
    }
    assert!(sent, "send_timeout(0) never met the blocked receiver");
    assert_eq!(join_within(receiver), Ok(2));
}

// ---------------------------------------------------------------------------------------------
// Blocking: the rendezvous
// ---------------------------------------------------------------------------------------------

/// Spawns a receiver that sleeps, raises `taken`, then receives: a send that returns must
/// find the flag raised, since the message can only have been taken after it.
fn late_receiver(rx: Receiver<u32>, taken: &Arc<AtomicBool>) -> thread::JoinHandle<u32> {
    let taken = Arc::clone(taken);
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        taken.store(true, Ordering::SeqCst);
        rx.recv().unwrap()
    })
}

#[test]
fn send_blocks_until_receiver_takes_it() {
    let (tx, rx) = bounded::<u32>(0);
    let taken = Arc::new(AtomicBool::new(false));
    // Before the spawn: the receiver's 100 ms start when its thread does.
    let start = Instant::now();
    let receiver = late_receiver(rx, &taken);
    tx.send(7).unwrap();
    assert!(
        taken.load(Ordering::SeqCst),
        "send returned before the receiver took the message"
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(join_within(receiver), 7);
}

#[test]
fn send_timeout_blocks_until_receiver_takes_it() {
    let (tx, rx) = bounded::<u32>(0);
    let taken = Arc::new(AtomicBool::new(false));
    let receiver = late_receiver(rx.clone(), &taken);
    tx.send_timeout(8, Duration::from_secs(30)).unwrap();
    assert!(taken.load(Ordering::SeqCst), "send_timeout returned early");
    assert_eq!(join_within(receiver), 8);

    let taken = Arc::new(AtomicBool::new(false));
    let receiver = late_receiver(rx, &taken);
    tx.send_deadline(9, Instant::now() + Duration::from_secs(30))
        .unwrap();
    assert!(taken.load(Ordering::SeqCst), "send_deadline returned early");
    assert_eq!(join_within(receiver), 9);
}

#[test]
fn send_returns_only_after_receive() {
    let (tx, rx) = bounded::<u32>(0);
    let sender = thread::spawn(move || {
        let r = tx.send(1);
        (r, tx)
    });
    thread::sleep(SETTLE);
    assert!(!sender.is_finished(), "send returned with no receiver");
    thread::sleep(SETTLE);
    assert!(!sender.is_finished(), "send returned with no receiver");
    assert_eq!(rx.recv(), Ok(1));
    let (r, _tx) = join_within(sender);
    assert_eq!(r, Ok(()));
}

#[test]
fn recv_blocks_until_sender_sends() {
    let (tx, rx) = bounded::<u32>(0);
    let offered = Arc::new(AtomicBool::new(false));
    // Before the spawn: the sender's 100 ms start when its thread does.
    let start = Instant::now();
    let sender = {
        let offered = Arc::clone(&offered);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            offered.store(true, Ordering::SeqCst);
            tx.send(3).unwrap();
        })
    };
    assert_eq!(rx.recv(), Ok(3));
    assert!(offered.load(Ordering::SeqCst));
    assert!(start.elapsed() >= Duration::from_millis(100));
    join_within(sender);
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn recv_timeout_succeeds_with_late_sender() {
    let (tx, rx) = bounded::<u32>(0);
    let sender = thread::spawn(move || {
        thread::sleep(SETTLE);
        tx.send(4).unwrap();
        thread::sleep(SETTLE);
        tx.send(5).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(4));
    assert_eq!(
        rx.recv_deadline(Instant::now() + Duration::from_secs(30)),
        Ok(5)
    );
    join_within(sender);
}

#[test]
fn each_recv_completes_exactly_one_blocked_sender() {
    let (tx, rx) = bounded::<usize>(0);
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
    assert_eq!(
        done.load(Ordering::SeqCst),
        0,
        "a send completed with no receiver"
    );
    let mut got = Vec::new();
    for k in 1..=senders {
        got.push(
            rx.recv_timeout(WAKE_LIMIT)
                .expect("a blocked sender was never let through"),
        );
        wait_for_count(&done, k);
        thread::sleep(Duration::from_millis(10));
        assert_eq!(
            done.load(Ordering::SeqCst),
            k,
            "a send completed with no receiver"
        );
    }
    for h in handles {
        join_within(h);
    }
    got.sort_unstable();
    assert_eq!(got, (0..senders).collect::<Vec<_>>());
}

/// Several senders are parked; one receiver then takes their messages back to back, with
/// no pause for a woken sender to come back first. Every sender must get through.
#[test]
fn blocked_senders_drained_back_to_back_by_one_receiver() {
    let senders = 8;
    let (tx, rx) = bounded::<usize>(0);
    let handles: Vec<_> = (0..senders)
        .map(|i| {
            let tx = tx.clone();
            thread::spawn(move || tx.send(i))
        })
        .collect();
    drop(tx);
    thread::sleep(SETTLE);
    let mut got = Vec::new();
    for _ in 0..senders {
        match rx.recv_timeout(WAKE_LIMIT) {
            Ok(v) => got.push(v),
            Err(e) => panic!(
                "received {} of {senders} messages, then `{e}` with {} senders still blocked",
                got.len(),
                senders - got.len()
            ),
        }
    }
    got.sort_unstable();
    assert_eq!(got, (0..senders).collect::<Vec<_>>());
    for h in handles {
        assert_eq!(join_within(h), Ok(()));
    }
}

/// Several receivers are parked; one sender then hands them messages back to back. Every
/// receiver must get one.
#[test]
fn blocked_receivers_fed_back_to_back_by_one_sender() {
    let receivers = 8;
    let (tx, rx) = bounded::<usize>(0);
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
            panic!(
                "sent {i} of {receivers} messages, then `{e}` with {} receivers still blocked",
                receivers - i
            );
        }
    }
    let mut got: Vec<usize> = handles
        .into_iter()
        .map(|h| join_within(h).unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..receivers).collect::<Vec<_>>());
}

/// Many senders with one message each arrive at once on a channel with two receivers:
/// most of them park behind each other's offers, and all must get through.
#[test]
fn crowd_of_one_shot_senders() {
    let rounds = scaled(3, 100, 300);
    let senders = 16;
    let rounds_done = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&rounds_done);
    within_limit(
        Duration::from_secs(20) * MIRI_TIME_FACTOR,
        move || {
            format!(
                "{} of {rounds} rounds done",
                progress.load(Ordering::SeqCst)
            )
        },
        move || {
            for _ in 0..rounds {
                let (tx, rx) = bounded::<usize>(0);
                let results: Vec<Vec<usize>> = thread::scope(|s| {
                    for i in 0..senders {
                        let tx = tx.clone();
                        s.spawn(move || tx.send(i).unwrap());
                    }
                    drop(tx);
                    let handles: Vec<_> = (0..2)
                        .map(|_| {
                            let rx = rx.clone();
                            s.spawn(move || rx.iter().collect::<Vec<_>>())
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect()
                });
                let mut all: Vec<usize> = results.into_iter().flatten().collect();
                all.sort_unstable();
                assert_eq!(all, (0..senders).collect::<Vec<_>>());
                rounds_done.fetch_add(1, Ordering::SeqCst);
            }
        },
    );
}

/// The mirror image: many receivers that take one message each, fed by two senders.
#[test]
fn crowd_of_one_shot_receivers() {
    let rounds = scaled(3, 100, 300);
    let receivers = 16;
    let rounds_done = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&rounds_done);
    within_limit(
        Duration::from_secs(20) * MIRI_TIME_FACTOR,
        move || {
            format!(
                "{} of {rounds} rounds done",
                progress.load(Ordering::SeqCst)
            )
        },
        move || {
            for _ in 0..rounds {
                let (tx, rx) = bounded::<usize>(0);
                let got: Vec<usize> = thread::scope(|s| {
                    for half in 0..2 {
                        let tx = tx.clone();
                        s.spawn(move || {
                            for i in 0..receivers / 2 {
                                tx.send(half * receivers / 2 + i).unwrap();
                            }
                        });
                    }
                    drop(tx);
                    let handles: Vec<_> = (0..receivers)
                        .map(|_| {
                            let rx = rx.clone();
                            s.spawn(move || rx.recv().unwrap())
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect()
                });
                let mut got = got;
                got.sort_unstable();
                assert_eq!(got, (0..receivers).collect::<Vec<_>>());
                rounds_done.fetch_add(1, Ordering::SeqCst);
            }
        },
    );
}

#[test]
fn sync_channel_zero_is_a_rendezvous() {
    let (tx, rx): (Sender<u32>, Receiver<u32>) = sync_channel(0);
    assert_rendezvous_state(&tx, &rx);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let taken = Arc::new(AtomicBool::new(false));
    let receiver = late_receiver(rx.clone(), &taken);
    tx.send(2).unwrap();
    assert!(
        taken.load(Ordering::SeqCst),
        "send returned before the receive"
    );
    assert_eq!(join_within(receiver), 2);
    assert_eq!(
        tx.send_timeout(3, Duration::from_millis(20)),
        Err(SendTimeoutError::Timeout(3))
    );
    drop(rx);
    assert_eq!(tx.send(4), Err(SendError(4)));
}

// ---------------------------------------------------------------------------------------------
// Timeouts and deadlines
// ---------------------------------------------------------------------------------------------

#[test]
fn send_timeout_without_receiver_returns_same_message() {
    let (tx, _rx) = bounded::<Box<u64>>(0);
    let timeout = Duration::from_millis(80);
    let msg = Box::new(11);
    let at = addr(&*msg);
    let start = Instant::now();
    match tx.send_timeout(msg, timeout) {
        Err(SendTimeoutError::Timeout(m)) => {
            assert_eq!(*m, 11);
            assert_eq!(addr(&*m), at, "a different message came back");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= timeout, "timed out early, after {elapsed:?}");
    assert!(elapsed < timeout + WAKE_LIMIT, "took {elapsed:?}");
}

#[test]
fn send_deadline_without_receiver_returns_same_message() {
    let (tx, _rx) = bounded::<String>(0);
    let deadline = Instant::now() + Duration::from_millis(60);
    assert_eq!(
        tx.send_deadline("late".to_string(), deadline),
        Err(SendTimeoutError::Timeout("late".to_string()))
    );
    assert!(Instant::now() >= deadline);
}

#[test]
fn recv_timeout_without_sender_times_out() {
    let (_tx, rx) = bounded::<u32>(0);
    let timeout = Duration::from_millis(80);
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    let elapsed = start.elapsed();
    assert!(elapsed >= timeout, "timed out early, after {elapsed:?}");
    assert!(elapsed < timeout + WAKE_LIMIT, "took {elapsed:?}");
    let deadline = Instant::now() + Duration::from_millis(30);
    assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= deadline);
}

#[test]
fn zero_timeout_and_past_deadline_are_prompt() {
    let (tx, rx) = bounded::<u32>(0);
    let past = Instant::now();
    thread::sleep(Duration::from_millis(2));
    let start = Instant::now();
    for i in 0..100 {
        assert_eq!(
            tx.send_timeout(i, Duration::ZERO),
            Err(SendTimeoutError::Timeout(i))
        );
        assert_eq!(tx.send_deadline(i, past), Err(SendTimeoutError::Timeout(i)));
        assert_eq!(
            rx.recv_timeout(Duration::ZERO),
            Err(RecvTimeoutError::Timeout)
        );
        assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(30),
        "400 expired operations took {elapsed:?}"
    );
}

#[test]
fn duration_max_send_timeout() {
    let (tx, rx) = bounded::<u32>(0);
    let receiver = {
        let rx = rx.clone();
        thread::spawn(move || {
            thread::sleep(SETTLE);
            rx.recv()
        })
    };
    assert_eq!(tx.send_timeout(1, Duration::MAX), Ok(()));
    assert_eq!(join_within(receiver), Ok(1));

    // Woken by the last receiver's drop, message back.
    let sender = {
        let tx = tx.clone();
        thread::spawn(move || tx.send_timeout(2, Duration::MAX))
    };
    thread::sleep(SETTLE);
    assert!(!sender.is_finished());
    drop(rx);
    assert_eq!(join_within(sender), Err(SendTimeoutError::Disconnected(2)));
    assert_eq!(
        tx.send_timeout(3, Duration::MAX),
        Err(SendTimeoutError::Disconnected(3))
    );
}

#[test]
fn duration_max_recv_timeout() {
    let (tx, rx) = bounded::<u32>(0);
    let sender = {
        let tx = tx.clone();
        thread::spawn(move || {
            thread::sleep(SETTLE);
            tx.send(1)
        })
    };
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(1));
    assert_eq!(join_within(sender), Ok(()));

    let dropper = thread::spawn(move || {
        thread::sleep(SETTLE);
        drop(tx);
    });
    assert_eq!(
        rx.recv_timeout(Duration::MAX),
        Err(RecvTimeoutError::Disconnected)
    );
    join_within(dropper);
    assert_eq!(
        rx.recv_timeout(Duration::new(u64::MAX, 999_999_999)),
        Err(RecvTimeoutError::Disconnected)
    );
}

// ---------------------------------------------------------------------------------------------
// Disconnection
// ---------------------------------------------------------------------------------------------

#[test]
fn sends_fail_after_last_receiver_dropped() {
    let (tx, rx) = bounded::<String>(0);
    let rx2 = rx.clone();
    drop(rx);
    assert_eq!(
        tx.try_send("still full".to_string()),
        Err(TrySendError::Full("still full".to_string()))
    );
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
    // Disconnection wins over an expired deadline.
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
fn receives_fail_after_last_sender_dropped() {
    let (tx, rx) = bounded::<u32>(0);
    let tx2 = tx.clone();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx2);
    let start = Instant::now();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Err(RecvTimeoutError::Disconnected)
    );
    let past = Instant::now();
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Disconnected));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(rx.iter().next(), None);
}

#[test]
fn blocked_send_woken_with_message_when_last_receiver_drops() {
    let (tx, rx) = bounded::<Box<u64>>(0);
    let rx2 = rx.clone();
    let msg = Box::new(21);
    let at = addr(&*msg);
    let sender = thread::spawn(move || tx.send(msg));
    thread::sleep(SETTLE);
    drop(rx);
    // A receiver is still alive: the sender keeps waiting.
    thread::sleep(SETTLE);
    assert!(!sender.is_finished(), "woken by a receiver clone's drop");
    drop(rx2);
    let m = sender
        .join()
        .unwrap()
        .expect_err("send succeeded with no receiver")
        .into_inner();
    assert_eq!(*m, 21);
    assert_eq!(addr(&*m), at, "a different message came back");
}

// ---------------------------------------------------------------------------------------------
// Drop accounting
// ---------------------------------------------------------------------------------------------

#[test]
fn failed_sends_hand_message_back_undropped() {
    let ledger = Ledger::new(7);
    let (tx, rx) = bounded::<Tracked>(0);
    let m0 = tx.try_send(ledger.make(0)).unwrap_err().into_inner();
    let m1 = tx
        .send_timeout(ledger.make(1), Duration::from_millis(5))
        .unwrap_err()
        .into_inner();
    let m2 = tx
        .send_deadline(ledger.make(2), Instant::now())
        .unwrap_err()
        .into_inner();
    assert_eq!(
        ledger.dropped(),
        0,
        "the channel dropped a rejected message"
    );
    drop(rx);
    let m3 = tx.send(ledger.make(3)).unwrap_err().into_inner();
    let m4 = tx.try_send(ledger.make(4)).unwrap_err().into_inner();
    let m5 = tx
        .send_timeout(ledger.make(5), Duration::from_secs(1))
        .unwrap_err()
        .into_inner();
    let m6 = tx
        .send_deadline(ledger.make(6), Instant::now())
        .unwrap_err()
        .into_inner();
    let ids: Vec<usize> = [&m0, &m1, &m2, &m3, &m4, &m5, &m6]
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, (0..7).collect::<Vec<_>>());
    assert_eq!(ledger.dropped(), 0);
    drop(tx);
    assert_eq!(ledger.dropped(), 0);
    drop((m0, m1, m2, m3, m4, m5, m6));
    ledger.assert_each_dropped_once(7);
}

#[test]
fn blocked_senders_get_messages_back_on_receiver_drop() {
    let senders = 4;
    let ledger = Ledger::new(senders);
    let (tx, rx) = bounded::<Tracked>(0);
    let handles: Vec<_> = (0..senders)
        .map(|id| {
            let tx = tx.clone();
            let ledger = Arc::clone(&ledger);
            thread::spawn(move || {
                let m = match tx.send(ledger.make(id)) {
                    Err(e) => e.into_inner(),
                    Ok(()) => panic!("send with no receiver taking it succeeded"),
                };
                assert_eq!(m.id, id);
                m
            })
        })
        .collect();
    thread::sleep(SETTLE);
    drop(rx);
    let returned: Vec<Tracked> = handles.into_iter().map(|h| join_within(h)).collect();
    assert_eq!(ledger.dropped(), 0);
    drop(tx);
    assert_eq!(ledger.dropped(), 0);
    drop(returned);
    ledger.assert_each_dropped_once(senders);
}

#[test]
fn channel_keeps_no_message() {
    // Whatever happened on the channel, dropping its handles drops nothing: a message is
    // always either with a sender or with a receiver.
    let ledger = Ledger::new(3);
    let (tx, rx) = bounded::<Tracked>(0);
    let receiver = {
        let rx = rx.clone();
        thread::spawn(move || rx.recv().unwrap())
    };
    tx.send(ledger.make(0)).unwrap();
    let got = join_within(receiver);
    let back = tx
        .send_timeout(ledger.make(1), Duration::from_millis(5))
        .unwrap_err()
        .into_inner();
    let full = tx.try_send(ledger.make(2)).unwrap_err().into_inner();
    drop(tx);
    drop(rx);
    assert_eq!(ledger.dropped(), 0);
    assert_eq!((got.id, back.id, full.id), (0, 1, 2));
    drop((got, back, full));
    ledger.assert_each_dropped_once(3);
}

#[test]
fn receivers_leave_mid_stream_every_message_dropped_once() {
    let producers = 4;
    let per = scaled(50, 2_000, 10_000);
    let ledger = Ledger::new(producers * per);
    let progress = Arc::clone(&ledger);
    within_limit(
        STRESS_LIMIT,
        move || format!("{} messages dropped", progress.dropped()),
        move || {
            let (tx, rx) = bounded::<Tracked>(0);
            thread::scope(|s| {
                for p in 0..producers {
                    let tx = tx.clone();
                    let ledger = Arc::clone(&ledger);
                    s.spawn(move || {
                        for i in 0..per {
                            let id = p * per + i;
                            let msg = ledger.make(id);
                            let back = match i % 3 {
                                0 => tx.send(msg).err().map(|e| e.into_inner()),
                                1 => tx
                                    .send_timeout(msg, Duration::from_micros(50))
                                    .err()
                                    .map(|e| e.into_inner()),
                                _ => tx.try_send(msg).err().map(|e| e.into_inner()),
                            };
                            if let Some(m) = back {
                                assert_eq!(m.id, id, "a failed send handed back another message");
                            }
                        }
                    });
                }
                drop(tx);
                for c in 0..3 {
                    let rx = rx.clone();
                    s.spawn(move || {
                        // Each consumer takes a different share, then drops its receiver.
                        for _ in 0..per / 4 * (c + 1) {
                            match rx.recv() {
                                Ok(m) => drop(m),
                                Err(RecvError) => break,
                            }
                        }
                    });
                }
                drop(rx);
            });
            ledger.assert_each_dropped_once(producers * per);
        },
    );
}

// ---------------------------------------------------------------------------------------------
// MPMC stress
// ---------------------------------------------------------------------------------------------

/// [`mpmc_stress`] over the rendezvous channel.
fn mpmc(
    producers: usize,
    consumers: usize,
    total: usize,
    send_modes: &'static [SendMode],
    recv_modes: &'static [RecvMode],
) {
    mpmc_stress(
        Flavor::Bounded(0),
        producers,
        consumers,
        total,
        send_modes,
        recv_modes,
    );
}

#[test]
fn mpmc_4x4_blocking() {
    mpmc(
        4,
        4,
        scaled(200, 100_000, 200_000),
        &[SendMode::Blocking],
        &[RecvMode::Blocking],
    );
}

#[test]
fn mpmc_4x4_mixed_modes() {
    mpmc(
        4,
        4,
        scaled(200, 50_000, 100_000),
        &[
            SendMode::Blocking,
            SendMode::TrySpin,
            SendMode::Timeout,
            SendMode::ShortTimeout,
        ],
        &[
            RecvMode::Blocking,
            RecvMode::Iter,
            RecvMode::TrySpin,
            RecvMode::Timeout,
        ],
    );
}

#[test]
fn mpmc_short_timeouts_on_both_sides() {
    mpmc(
        3,
        3,
        scaled(150, 30_000, 60_000),
        &[
            SendMode::ShortTimeout,
            SendMode::ShortTimeout,
            SendMode::Blocking,
        ],
        &[
            RecvMode::ShortTimeout,
            RecvMode::ShortTimeout,
            RecvMode::Blocking,
        ],
    );
}

#[test]
fn oversubscribed_16x16() {
    mpmc(
        16,
        16,
        scaled(160, 32_000, 64_000),
        &[SendMode::Blocking, SendMode::Timeout],
        &[RecvMode::Blocking, RecvMode::Timeout],
    );
}

/// Senders with very short `send_timeout`s race receivers with short `recv_timeout`s. Each
/// message is offered once: it must end up either received exactly once (and then its send
/// returned `Ok`) or handed back to its sender exactly once (and then never received).
#[test]
fn timeout_storm_every_message_received_or_returned_exactly_once() {
    let producers = 4;
    let consumers = 4;
    let per = scaled(50, 5_000, 20_000);
    let n = producers * per;
    let ledger = Ledger::new(n);
    let progress = Arc::clone(&ledger);
    within_limit(
        STRESS_LIMIT,
        move || format!("{} messages dropped", progress.dropped()),
        move || {
            let sent_ok: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
            let returned: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
            let received: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
            let (tx, rx) = bounded::<Tracked>(0);
            thread::scope(|s| {
                for p in 0..producers {
                    let tx = tx.clone();
                    let (ledger, sent_ok, returned) = (&ledger, &sent_ok, &returned);
                    s.spawn(move || {
                        for seq in 0..per {
                            let id = p * per + seq;
                            // Mostly 0-40 µs, now and then 1 ms so that plenty of messages get through.
                            let timeout = if seq % 8 == 7 {
                                Duration::from_millis(1)
                            } else {
                                Duration::from_micros((seq * 7 % 41) as u64)
                            };
                            match tx.send_timeout(ledger.make(id), timeout) {
                                Ok(()) => {
                                    sent_ok[id].fetch_add(1, Ordering::SeqCst);
                                }
                                Err(SendTimeoutError::Timeout(m)) => {
                                    assert_eq!(m.id, id, "another message came back");
                                    returned[id].fetch_add(1, Ordering::SeqCst);
                                }
                                Err(SendTimeoutError::Disconnected(_)) => {
                                    panic!("receivers vanished")
                                }
                            }
                        }
                    });
                }
                drop(tx);
                for c in 0..consumers {
                    let rx = rx.clone();
                    let received = &received;
                    s.spawn(move || {
                        let mut last: Vec<Option<usize>> = vec![None; producers];
                        let mut micros = c as u64;
                        let mut calls = 0u32;
                        loop {
                            micros = (micros + 13) % 30;
                            calls += 1;
                            if calls % 64 == 0 {
                                // Step away now and then, so offers expire while exposed.
                                thread::sleep(Duration::from_micros(200));
                            }
                            match rx.recv_timeout(Duration::from_micros(micros)) {
                                Ok(m) => {
                                    let (p, seq) = (m.id / per, m.id % per);
                                    if let Some(prev) = last[p] {
                                        assert!(seq > prev, "producer {p}: seq {seq} after {prev}");
                                    }
                                    last[p] = Some(seq);
                                    received[m.id].fetch_add(1, Ordering::SeqCst);
                                }
                                Err(RecvTimeoutError::Timeout) => {}
                                Err(RecvTimeoutError::Disconnected) => break,
                            }
                        }
                    });
                }
                drop(rx);
            });
            let mut got = 0;
            for id in 0..n {
                let (ok, back, recv) = (
                    sent_ok[id].load(Ordering::SeqCst),
                    returned[id].load(Ordering::SeqCst),
                    received[id].load(Ordering::SeqCst),
                );
                assert_eq!(
                    (ok, back, recv),
                    if recv == 1 { (1, 0, 1) } else { (0, 1, 0) },
                    "message {id}: send ok {ok}, returned {back}, received {recv}"
                );
                got += recv as usize;
            }
            assert!(got > 0, "no message got through the storm");
            assert!(got < n, "no send timed out in the storm");
            ledger.assert_each_dropped_once(n);
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Zero-sized and large messages
// ---------------------------------------------------------------------------------------------

#[test]
fn zero_sized_messages() {
    let (tx, rx) = bounded::<()>(0);
    assert_rendezvous_state(&tx, &rx);
    assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(
        tx.send_timeout((), Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(()))
    );

    let producers = 4;
    let per = scaled(50, 5_000, 20_000);
    let received = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&received);
    within_limit(
        STRESS_LIMIT,
        move || {
            format!(
                "{} zero-sized messages received",
                progress.load(Ordering::SeqCst)
            )
        },
        move || {
            thread::scope(|s| {
                for _ in 0..producers {
                    let tx = tx.clone();
                    s.spawn(move || {
                        for _ in 0..per {
                            tx.send(()).unwrap();
                        }
                    });
                }
                for _ in 0..4 {
                    let rx = rx.clone();
                    let received = &*received;
                    s.spawn(move || {
                        for () in rx.iter() {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
                drop(tx);
                drop(rx);
            });
            assert_eq!(received.load(Ordering::SeqCst), producers * per);
        },
    );
}

#[test]
fn zero_sized_messages_with_drop_are_dropped_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Zst;
    impl Drop for Zst {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (tx, rx) = bounded::<Zst>(0);
    let back = tx.try_send(Zst).unwrap_err().into_inner();
    assert_eq!(DROPS.load(Ordering::SeqCst), 0);
    drop(back);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
    let receiver = thread::spawn(move || {
        let m = rx.recv().unwrap();
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
        drop(m);
    });
    tx.send(Zst).unwrap();
    join_within(receiver);
    assert_eq!(DROPS.load(Ordering::SeqCst), 2);
}

#[test]
fn large_4k_messages() {
    let producers = 2;
    let per = scaled(4, 2_000, 10_000);
    within_limit(
        STRESS_LIMIT,
        move || String::from("4 KiB messages"),
        move || {
            let (tx, rx) = bounded::<[u8; BIG]>(0);
            let results: Vec<Vec<(usize, usize)>> = thread::scope(|s| {
                for p in 0..producers {
                    let tx = tx.clone();
                    s.spawn(move || {
                        for seq in 0..per {
                            if seq % 2 == 0 {
                                tx.send(big_message(p, seq)).unwrap();
                            } else {
                                let mut msg = big_message(p, seq);
                                loop {
                                    match tx.send_timeout(msg, Duration::from_micros(20)) {
                                        Ok(()) => break,
                                        Err(SendTimeoutError::Timeout(m)) => {
                                            assert_eq!(check_big_message(&m), (p, seq));
                                            msg = m;
                                        }
                                        Err(SendTimeoutError::Disconnected(_)) => {
                                            panic!("receivers vanished")
                                        }
                                    }
                                }
                            }
                        }
                    });
                }
                drop(tx);
                let handles: Vec<_> = (0..2)
                    .map(|_| {
                        let rx = rx.clone();
                        s.spawn(move || {
                            let mut ids = Vec::new();
                            while let Ok(buf) = rx.recv() {
                                ids.push(check_big_message(&buf));
                            }
                            ids
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            check_big_ids_exactly_once_in_order(&results, producers, per);
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Ping-pong
// ---------------------------------------------------------------------------------------------

#[test]
fn ping_pong_over_two_rendezvous_channels() {
    let rounds = scaled(50, 5_000, 20_000);
    within_limit(
        STRESS_LIMIT,
        move || String::from("ping-pong"),
        move || {
            let (ping_tx, ping_rx) = bounded::<usize>(0);
            let (pong_tx, pong_rx) = bounded::<usize>(0);
            let echo = thread::spawn(move || {
                let mut n = 0;
                for v in ping_rx.iter() {
                    pong_tx.send(v * 2 + 1).unwrap();
                    n += 1;
                }
                n
            });
            for i in 0..rounds {
                ping_tx.send(i).unwrap();
                assert_eq!(pong_rx.recv(), Ok(i * 2 + 1));
            }
            drop(ping_tx);
            assert_eq!(join_within(echo), rounds);
            assert_eq!(pong_rx.recv(), Err(RecvError));
        },
    );
}

/// Many senders with short timeouts and one receiver: each receive that takes an offer
/// exposes the next parked sender's offer for it, while those senders keep timing out and
/// retracting, so an exposure made for a sender races its timeout all the time. Each
/// message must arrive once, in its producer's order; a timed-out send gets its own back.
#[test]
fn short_timeout_senders_one_receiver() {
    mpmc(
        6,
        1,
        scaled(60, 30_000, 150_000),
        &[SendMode::ShortTimeout],
        &[RecvMode::Blocking],
    );
}
