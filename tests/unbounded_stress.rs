//! Multi-producer multi-consumer stress tests for the unbounded flavor: exactly-once delivery,
//! per-producer FIFO order, oversubscription, zero-sized and large messages, and ping-pong.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use panama::{unbounded, RecvTimeoutError, TryRecvError};

use common::{
    check_big_ids_exactly_once_in_order, consume, encode, mpmc_stress, scaled, Flavor, RecvMode,
    SendMode,
};

/// [`mpmc_stress`] over an unbounded channel, with blocking sends.
fn mpmc(producers: usize, consumers: usize, total: usize, modes: &'static [RecvMode]) {
    mpmc_stress(
        Flavor::Unbounded,
        producers,
        consumers,
        total,
        &[SendMode::Blocking],
        modes,
    );
}

#[test]
fn mpmc_4x2_blocking() {
    mpmc(
        4,
        2,
        scaled(200, 1_000_000, 1_000_000),
        &[RecvMode::Blocking],
    );
}

#[test]
fn mpmc_4x4_mixed_recv_modes() {
    mpmc(
        4,
        4,
        scaled(200, 1_000_000, 1_000_000),
        &[
            RecvMode::Blocking,
            RecvMode::Iter,
            RecvMode::TrySpin,
            RecvMode::Timeout,
        ],
    );
}

#[test]
fn mpmc_short_timeouts_race_with_sends() {
    mpmc(
        2,
        4,
        scaled(200, 500_000, 500_000),
        &[
            RecvMode::ShortTimeout,
            RecvMode::ShortTimeout,
            RecvMode::Blocking,
        ],
    );
}

/// Disconnection racing with receivers that are just going to sleep: no receiver may miss
/// the wake-up and hang.
#[test]
fn disconnect_races_with_blocking_recv() {
    let rounds = scaled(20, 1_000, 1_000);
    for round in 0..rounds {
        let (tx, rx) = unbounded::<u32>();
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
}

/// A single message racing with a receiver that is just going to sleep.
#[test]
fn send_races_with_blocking_recv() {
    let rounds = scaled(20, 2_000, 2_000);
    for round in 0..rounds {
        let (tx, rx) = unbounded::<usize>();
        let receiver = thread::spawn(move || rx.recv());
        if round % 3 == 0 {
            thread::yield_now();
        }
        tx.send(round).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(round));
    }
}

#[test]
fn spsc_blocking() {
    mpmc(
        1,
        1,
        scaled(200, 1_000_000, 1_000_000),
        &[RecvMode::Blocking],
    );
}

#[test]
fn mpsc_8x1_iter() {
    mpmc(8, 1, scaled(200, 1_000_000, 1_000_000), &[RecvMode::Iter]);
}

#[test]
fn oversubscribed_16x16_blocking() {
    mpmc(
        16,
        16,
        scaled(160, 1_000_000, 1_000_000),
        &[RecvMode::Blocking],
    );
}

#[test]
fn oversubscribed_16x16_timeouts() {
    mpmc(
        16,
        16,
        scaled(160, 500_000, 500_000),
        &[RecvMode::Timeout, RecvMode::Blocking],
    );
}

/// Producers send in bursts separated by short sleeps, so consumers repeatedly go to sleep
/// in `recv` and must be woken by the next burst.
#[test]
fn bursty_producers_wake_sleeping_consumers() {
    let producers = 4;
    let bursts = scaled(5, 200, 200);
    let burst = 37;
    let (tx, rx) = unbounded::<u64>();
    let results: Vec<Vec<u64>> = thread::scope(|s| {
        for p in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                let mut seq = 0;
                for _ in 0..bursts {
                    for _ in 0..burst {
                        tx.send(encode(p, seq)).unwrap();
                        seq += 1;
                    }
                    thread::sleep(Duration::from_micros(200));
                }
            });
        }
        drop(tx);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || consume(&rx, RecvMode::Blocking))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = results.into_iter().flatten().collect();
    all.sort_unstable();
    let mut expected: Vec<u64> = (0..producers)
        .flat_map(|p| (0..bursts * burst).map(move |seq| encode(p, seq)))
        .collect();
    expected.sort_unstable();
    assert_eq!(all.len(), expected.len());
    assert!(all == expected, "received set differs from sent set");
}

#[test]
fn zero_sized_messages() {
    let producers = 4;
    let consumers = 4;
    let per = scaled(50, 250_000, 250_000);
    let (tx, rx) = unbounded::<()>();
    let received = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                for _ in 0..per {
                    tx.send(()).unwrap();
                }
            });
        }
        drop(tx);
        for c in 0..consumers {
            let rx = rx.clone();
            let received = &received;
            s.spawn(move || {
                let mut n = 0;
                if c % 2 == 0 {
                    while rx.recv().is_ok() {
                        n += 1;
                    }
                } else {
                    loop {
                        match rx.try_recv() {
                            Ok(()) => n += 1,
                            Err(TryRecvError::Empty) => thread::yield_now(),
                            Err(TryRecvError::Disconnected) => break,
                        }
                    }
                }
                received.fetch_add(n, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(received.load(Ordering::SeqCst), producers * per);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.len(), 0);
}

#[test]
fn zero_sized_len_tracking() {
    let n = scaled(50, 5_000, 5_000);
    let (tx, rx) = unbounded::<()>();
    for i in 0..n {
        tx.send(()).unwrap();
        assert_eq!(rx.len(), i + 1);
    }
    for i in 0..n {
        rx.recv().unwrap();
        assert_eq!(tx.len(), n - i - 1);
    }
    assert!(rx.is_empty());
}

const BIG: usize = 4096;

fn big_message(producer: usize, seq: usize) -> [u8; BIG] {
    let mut buf = [0u8; BIG];
    buf[..8].copy_from_slice(&(producer as u64).to_le_bytes());
    buf[8..16].copy_from_slice(&(seq as u64).to_le_bytes());
    let mut x = (seq as u32).wrapping_mul(2_654_435_761) ^ producer as u32;
    for b in &mut buf[16..] {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        *b = (x >> 16) as u8;
    }
    buf
}

fn check_big_message(buf: &[u8; BIG]) -> (usize, usize) {
    let producer = u64::from_le_bytes(buf[..8].try_into().unwrap()) as usize;
    let seq = u64::from_le_bytes(buf[8..16].try_into().unwrap()) as usize;
    let expected = big_message(producer, seq);
    assert!(
        buf[..] == expected[..],
        "corrupted 4 KiB message from producer {producer} seq {seq}"
    );
    (producer, seq)
}

#[test]
fn large_4k_messages() {
    let producers = 3;
    let consumers = 2;
    // Under Miri, 33 messages: just over one block of the list (31 slots).
    let per = scaled(11, 3_000, 20_000);
    let (tx, rx) = unbounded::<[u8; BIG]>();
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
        let handles: Vec<_> = (0..consumers)
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
}

#[test]
fn large_messages_boxed_strings() {
    // Heap-owning messages: exercises moves of non-Copy values through the slots.
    let n = scaled(50, 100_000, 100_000);
    let (tx, rx) = unbounded::<(usize, String)>();
    let consumer = thread::spawn(move || {
        let mut next = 0;
        for (i, s) in rx {
            assert_eq!(i, next);
            assert_eq!(s, format!("message number {i}"));
            next += 1;
        }
        next
    });
    for i in 0..n {
        tx.send((i, format!("message number {i}"))).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), n);
}

#[test]
fn ping_pong() {
    let rounds = scaled(50, 20_000, 50_000);
    let (ping_tx, ping_rx) = unbounded::<usize>();
    let (pong_tx, pong_rx) = unbounded::<usize>();
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
    assert_eq!(pong_rx.recv(), Err(panama::RecvError));
}

#[test]
fn ping_pong_with_timeouts() {
    let rounds = scaled(50, 10_000, 30_000);
    let (ping_tx, ping_rx) = unbounded::<usize>();
    let (pong_tx, pong_rx) = unbounded::<usize>();
    let echo = thread::spawn(move || loop {
        match ping_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(v) => pong_tx.send(v + 1).unwrap(),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => panic!("echo thread timed out"),
        }
    });
    for i in 0..rounds {
        ping_tx.send(i).unwrap();
        assert_eq!(pong_rx.recv_timeout(Duration::from_secs(30)), Ok(i + 1));
    }
    drop(ping_tx);
    echo.join().unwrap();
}

/// A token passed around a ring of threads: every hop parks one thread and wakes another.
#[test]
fn token_ring() {
    let threads = 8;
    let laps = scaled(10, 3_000, 5_000);
    let channels: Vec<_> = (0..threads).map(|_| unbounded::<usize>()).collect();
    let hops = Arc::new(AtomicUsize::new(0));
    thread::scope(|s| {
        for i in 1..threads {
            let rx = channels[i].1.clone();
            let tx = channels[(i + 1) % threads].0.clone();
            let hops = Arc::clone(&hops);
            s.spawn(move || {
                for v in rx.iter() {
                    hops.fetch_add(1, Ordering::Relaxed);
                    if tx.send(v + 1).is_err() {
                        break;
                    }
                }
            });
        }
        let (tx0, _) = &channels[1];
        let (_, rx0) = &channels[0];
        let mut v = 0;
        for _ in 0..laps {
            tx0.send(v).unwrap();
            v = rx0.recv().unwrap();
        }
        assert_eq!(v, laps * (threads - 1));
        // Tear down: dropping every handle disconnects the ring.
        drop(channels);
    });
    assert_eq!(hops.load(Ordering::Relaxed), laps * (threads - 1));
}

/// Senders are cloned and dropped on the fly while consumers block; the channel only
/// disconnects when the very last clone goes.
#[test]
fn churning_sender_clones() {
    let waves = scaled(5, 500, 1_000);
    let per_wave = 4;
    let msgs = 25;
    let (tx, rx) = unbounded::<u64>();
    let total = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..2 {
            let rx = rx.clone();
            let total = &total;
            s.spawn(move || {
                let n = rx.iter().count();
                total.fetch_add(n, Ordering::SeqCst);
            });
        }
        let mut prev = tx;
        for _ in 0..waves {
            let next = prev.clone();
            let hs: Vec<_> = (0..per_wave)
                .map(|_| {
                    let t = prev.clone();
                    s.spawn(move || {
                        for i in 0..msgs {
                            t.send(i).unwrap();
                        }
                    })
                })
                .collect();
            drop(prev);
            for h in hs {
                h.join().unwrap();
            }
            prev = next;
        }
        drop(prev);
    });
    assert_eq!(
        total.load(Ordering::SeqCst),
        waves * per_wave * msgs as usize
    );
}
