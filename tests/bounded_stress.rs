//! Multi-producer multi-consumer stress tests for the bounded flavor: exactly-once delivery
//! and per-producer FIFO order at capacities 1, 16 and 1024, oversubscription, every
//! send/receive method mixed, disconnection races, drop accounting under load, and ping-pong.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use panama::{bounded, RecvError, RecvTimeoutError, SendTimeoutError, TryRecvError};

use common::{
    big_message, check_big_ids_exactly_once_in_order, check_big_message, mpmc_stress, scaled,
    within_limit, Flavor, Ledger, RecvMode, SendMode, Tracked, BIG, STRESS_LIMIT,
};

/// [`mpmc_stress`] over `bounded(cap)`.
fn mpmc(
    cap: usize,
    producers: usize,
    consumers: usize,
    total: usize,
    send_modes: &'static [SendMode],
    recv_modes: &'static [RecvMode],
) {
    mpmc_stress(
        Flavor::Bounded(cap),
        producers,
        consumers,
        total,
        send_modes,
        recv_modes,
    );
}

const ALL_SEND_MODES: [SendMode; 4] = [
    SendMode::Blocking,
    SendMode::TrySpin,
    SendMode::Timeout,
    SendMode::ShortTimeout,
];

const ALL_RECV_MODES: [RecvMode; 4] = [
    RecvMode::Blocking,
    RecvMode::Iter,
    RecvMode::TrySpin,
    RecvMode::Timeout,
];

#[test]
fn cap1_4x4_blocking() {
    mpmc(
        1,
        4,
        4,
        scaled(60, 200_000, 500_000),
        &[SendMode::Blocking],
        &[RecvMode::Blocking],
    );
}

#[test]
fn cap1_4x4_mixed_modes() {
    mpmc(
        1,
        4,
        4,
        scaled(60, 100_000, 300_000),
        &ALL_SEND_MODES,
        &ALL_RECV_MODES,
    );
}

#[test]
fn cap16_4x4_blocking() {
    mpmc(
        16,
        4,
        4,
        scaled(60, 400_000, 1_000_000),
        &[SendMode::Blocking],
        &[RecvMode::Blocking],
    );
}

#[test]
fn cap16_4x4_mixed_modes() {
    mpmc(
        16,
        4,
        4,
        scaled(60, 200_000, 500_000),
        &ALL_SEND_MODES,
        &ALL_RECV_MODES,
    );
}

#[test]
fn cap1024_4x4_blocking() {
    mpmc(
        1024,
        4,
        4,
        scaled(200, 400_000, 1_000_000),
        &[SendMode::Blocking],
        &[RecvMode::Blocking],
    );
}

#[test]
fn cap1024_4x4_mixed_modes() {
    mpmc(
        1024,
        4,
        4,
        scaled(200, 200_000, 1_000_000),
        &ALL_SEND_MODES,
        &ALL_RECV_MODES,
    );
}

/// Short timeouts on both sides, so parked senders and receivers keep timing out while the
/// other side is about to wake them.
#[test]
fn cap1_short_timeouts_on_both_sides() {
    mpmc(
        1,
        3,
        3,
        scaled(60, 60_000, 300_000),
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
fn cap1_many_producers_one_consumer() {
    mpmc(
        1,
        8,
        1,
        scaled(60, 50_000, 200_000),
        &[SendMode::Blocking, SendMode::Timeout],
        &[RecvMode::Iter],
    );
}

#[test]
fn cap1_one_producer_many_consumers() {
    mpmc(
        1,
        1,
        8,
        scaled(60, 50_000, 200_000),
        &[SendMode::Blocking],
        &[RecvMode::Blocking, RecvMode::Timeout],
    );
}

#[test]
fn oversubscribed_16x16_cap1() {
    mpmc(
        1,
        16,
        16,
        scaled(80, 100_000, 200_000),
        &[SendMode::Blocking],
        &[RecvMode::Blocking],
    );
}

#[test]
fn oversubscribed_16x16_cap1_mixed_modes() {
    mpmc(
        1,
        16,
        16,
        scaled(80, 50_000, 100_000),
        &ALL_SEND_MODES,
        &ALL_RECV_MODES,
    );
}

// ---------------------------------------------------------------------------------------------
// Disconnection races
// ---------------------------------------------------------------------------------------------

/// The last receiver's drop racing with senders that are just going to sleep on a full
/// channel: every sender must wake up with its own message.
#[test]
fn receiver_drop_races_with_blocking_send() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("receiver_drop_races_with_blocking_send"),
        move || {
            let rounds = scaled(20, 500, 1_000);
            for round in 0..rounds {
                let (tx, rx) = bounded::<usize>(1);
                tx.send(usize::MAX).unwrap();
                let senders: Vec<_> = (0..2)
                    .map(|i| {
                        let tx = tx.clone();
                        thread::spawn(move || {
                            let msg = round * 2 + i;
                            let r = if i == 0 {
                                tx.send(msg)
                                    .map_err(|e| SendTimeoutError::Disconnected(e.0))
                            } else {
                                tx.send_timeout(msg, Duration::from_secs(60))
                            };
                            assert_eq!(r, Err(SendTimeoutError::Disconnected(msg)));
                        })
                    })
                    .collect();
                drop(tx);
                if round % 2 == 0 {
                    thread::yield_now();
                }
                drop(rx);
                for s in senders {
                    s.join().unwrap();
                }
            }
        },
    );
}

/// The last sender's drop racing with receivers that are just going to sleep.
#[test]
fn sender_drop_races_with_blocking_recv() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("sender_drop_races_with_blocking_recv"),
        move || {
            let rounds = scaled(20, 500, 1_000);
            for round in 0..rounds {
                let (tx, rx) = bounded::<u32>(1 + round % 3);
                let receivers: Vec<_> = (0..2)
                    .map(|i| {
                        let rx = rx.clone();
                        thread::spawn(move || {
                            if i == 0 {
                                rx.recv().map_err(RecvTimeoutError::from)
                            } else {
                                rx.recv_timeout(Duration::from_secs(60))
                            }
                        })
                    })
                    .collect();
                drop(rx);
                if round % 2 == 0 {
                    thread::yield_now();
                }
                drop(tx);
                for r in receivers {
                    assert_eq!(r.join().unwrap(), Err(RecvTimeoutError::Disconnected));
                }
            }
        },
    );
}

/// A receive racing with a sender that is just going to sleep on a full channel.
#[test]
fn recv_races_with_blocking_send() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("recv_races_with_blocking_send"),
        move || {
            let rounds = scaled(20, 1_000, 2_000);
            let (tx, rx) = bounded::<usize>(1);
            for round in 0..rounds {
                tx.send(round * 2).unwrap();
                let sender = {
                    let tx = tx.clone();
                    thread::spawn(move || tx.send(round * 2 + 1))
                };
                if round % 3 == 0 {
                    thread::yield_now();
                }
                assert_eq!(rx.recv(), Ok(round * 2));
                assert_eq!(rx.recv(), Ok(round * 2 + 1));
                sender.join().unwrap().unwrap();
            }
        },
    );
}

/// A send racing with a receiver that is just going to sleep on an empty channel.
#[test]
fn send_races_with_blocking_recv() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("send_races_with_blocking_recv"),
        move || {
            let rounds = scaled(20, 1_000, 2_000);
            for round in 0..rounds {
                let (tx, rx) = bounded::<usize>(1);
                let receiver = thread::spawn(move || rx.recv());
                if round % 3 == 0 {
                    thread::yield_now();
                }
                tx.send(round).unwrap();
                assert_eq!(receiver.join().unwrap(), Ok(round));
            }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Drop accounting under load
// ---------------------------------------------------------------------------------------------

/// Producers push tracked messages while consumers receive some and then leave: every
/// message is dropped exactly once, whether a consumer received it, the channel discarded
/// it, or a failed send handed it back.
#[test]
fn receivers_leave_mid_stream_every_message_dropped_once() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("receivers_leave_mid_stream_every_message_dropped_once"),
        move || {
            let producers = 4;
            let per = scaled(50, 10_000, 100_000);
            for cap in [1usize, 16] {
                let ledger = Ledger::new(producers * per);
                let received = AtomicUsize::new(0);
                let (tx, rx) = bounded::<Tracked>(cap);
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
                                    assert_eq!(
                                        m.id, id,
                                        "a failed send handed back another message"
                                    );
                                }
                            }
                        });
                    }
                    drop(tx);
                    for c in 0..3 {
                        let rx = rx.clone();
                        let received = &received;
                        s.spawn(move || {
                            // Each consumer takes a different share, then drops its receiver.
                            let quota = per / 2 * (c + 1);
                            for _ in 0..quota {
                                match rx.recv() {
                                    Ok(m) => drop(m),
                                    Err(RecvError) => break,
                                }
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                    drop(rx);
                });
                assert!(received.load(Ordering::Relaxed) > 0);
                for (id, n) in ledger.per_id.iter().enumerate() {
                    assert_eq!(
                        n.load(Ordering::SeqCst),
                        1,
                        "cap {cap}: message {id} dropped wrong number of times"
                    );
                }
            }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Zero-sized and large messages
// ---------------------------------------------------------------------------------------------

#[test]
fn zero_sized_messages_4x4_cap1() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("zero_sized_messages_4x4_cap1"),
        move || {
            let producers = 4;
            let per = scaled(40, 15_000, 50_000);
            let (tx, rx) = bounded::<()>(1);
            let received = AtomicUsize::new(0);
            thread::scope(|s| {
                for p in 0..producers {
                    let tx = tx.clone();
                    s.spawn(move || {
                        for _ in 0..per {
                            if p % 2 == 0 {
                                tx.send(()).unwrap();
                            } else {
                                while let Err(e) = tx.try_send(()) {
                                    assert!(e.is_full());
                                    thread::yield_now();
                                }
                            }
                        }
                    });
                }
                drop(tx);
                for _ in 0..4 {
                    let rx = rx.clone();
                    let received = &received;
                    s.spawn(move || {
                        received.fetch_add(rx.iter().count(), Ordering::SeqCst);
                    });
                }
            });
            assert_eq!(received.load(Ordering::SeqCst), producers * per);
            assert_eq!(rx.len(), 0);
            assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        },
    );
}

#[test]
fn large_4k_messages_3x3_cap4() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("large_4k_messages_3x3_cap4"),
        move || {
            let producers = 3;
            let per = scaled(4, 2_000, 20_000);
            let (tx, rx) = bounded::<[u8; BIG]>(4);
            let results: Vec<Vec<(usize, usize)>> = thread::scope(|s| {
                for p in 0..producers {
                    let tx = tx.clone();
                    s.spawn(move || {
                        for seq in 0..per {
                            tx.send(big_message(p, seq)).unwrap();
                        }
                    });
                }
                drop(tx);
                let handles: Vec<_> = (0..3)
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
fn ping_pong_over_two_bounded1() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("ping_pong_over_two_bounded1"),
        move || {
            let rounds = scaled(50, 20_000, 100_000);
            let (ping_tx, ping_rx) = bounded::<usize>(1);
            let (pong_tx, pong_rx) = bounded::<usize>(1);
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
            assert_eq!(echo.join().unwrap(), rounds);
            assert_eq!(pong_rx.recv(), Err(RecvError));
        },
    );
}

#[test]
fn ping_pong_over_two_bounded1_with_timeouts() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("ping_pong_over_two_bounded1_with_timeouts"),
        move || {
            let rounds = scaled(50, 10_000, 50_000);
            let (ping_tx, ping_rx) = bounded::<usize>(1);
            let (pong_tx, pong_rx) = bounded::<usize>(1);
            let echo = thread::spawn(move || loop {
                match ping_rx.recv_timeout(Duration::from_secs(30)) {
                    Ok(v) => pong_tx
                        .send_timeout(v + 1, Duration::from_secs(30))
                        .unwrap(),
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => panic!("echo thread timed out"),
                }
            });
            for i in 0..rounds {
                ping_tx.send_timeout(i, Duration::from_secs(30)).unwrap();
                assert_eq!(pong_rx.recv_timeout(Duration::from_secs(30)), Ok(i + 1));
            }
            drop(ping_tx);
            echo.join().unwrap();
        },
    );
}

/// Several pairs of threads ping-ponging at once, so the hand-offs contend for the cores
/// and parking is frequent.
#[test]
fn ping_pong_pairs_in_parallel() {
    within_limit(
        STRESS_LIMIT,
        move || String::from("ping_pong_pairs_in_parallel"),
        move || {
            let pairs = 4;
            let rounds = scaled(50, 5_000, 20_000);
            thread::scope(|s| {
                for _ in 0..pairs {
                    let (ping_tx, ping_rx) = bounded::<usize>(1);
                    let (pong_tx, pong_rx) = bounded::<usize>(1);
                    s.spawn(move || {
                        for v in ping_rx.iter() {
                            pong_tx.send(v + 1).unwrap();
                        }
                    });
                    s.spawn(move || {
                        for i in 0..rounds {
                            ping_tx.send(i).unwrap();
                            assert_eq!(pong_rx.recv(), Ok(i + 1));
                        }
                    });
                }
            });
        },
    );
}

/// Many senders with short timeouts and one consumer: the consumer moves parked senders'
/// messages into the ring on nearly every receive, while those senders keep timing out, so
/// a completion and a timeout race all the time. Each message must still arrive once, in
/// its producer's order, and a timed-out send must hand back its own message.
#[test]
fn cap1_short_timeout_senders_one_consumer() {
    mpmc(
        1,
        6,
        1,
        scaled(60, 60_000, 300_000),
        &[SendMode::ShortTimeout],
        &[RecvMode::Blocking],
    );
}
