//! Multi-producer multi-consumer stress tests for the bounded flavor: exactly-once delivery
//! and per-producer FIFO order at capacities 1, 16 and 1024, oversubscription, every
//! send/receive method mixed, disconnection races, drop accounting under load, and ping-pong.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use panama::{
    bounded, Receiver, RecvError, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};

/// Picks an iteration count: tiny under Miri, `debug` in unoptimized builds, `release` otherwise.
fn scaled(miri: usize, debug: usize, release: usize) -> usize {
    if cfg!(miri) {
        miri
    } else if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

/// How long one stress scenario may run before it counts as hung (they take a few seconds
/// at most).
const STRESS_LIMIT: Duration = Duration::from_secs(60);

/// Runs `scenario` on a thread of its own and waits for it at most [`STRESS_LIMIT`]. A hang
/// (threads parked with nobody left to wake them) fails the test, reporting `progress()`,
/// instead of stalling the run; the stuck threads are left behind for the process to end.
fn within_limit<R: Send + 'static>(
    progress: impl Fn() -> String,
    scenario: impl FnOnce() -> R + Send + 'static,
) -> R {
    // std's channel watches ours: it does not depend on the code under test.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let runner = thread::spawn(move || {
        let r = scenario();
        let _ = done_tx.send(());
        r
    });
    match done_rx.recv_timeout(STRESS_LIMIT) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match runner.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
            "hung: not done after {STRESS_LIMIT:?} ({}); missed wake-up?",
            progress()
        ),
    }
}

fn encode(producer: usize, seq: usize) -> u64 {
    ((producer as u64) << 32) | seq as u64
}

fn decode(msg: u64) -> (usize, usize) {
    ((msg >> 32) as usize, (msg & 0xffff_ffff) as usize)
}

/// How producers put messages into the channel. Every mode retries a message it gets back
/// (`Full`, `Timeout`) until it goes in, so every message is sent exactly once.
#[derive(Clone, Copy, Debug)]
enum SendMode {
    Blocking,
    /// `try_send`, yielding on `Full`.
    TrySpin,
    /// `send_timeout` of 1 ms.
    Timeout,
    /// `send_timeout` of 1-63 µs, so timeouts constantly race with receives making room.
    ShortTimeout,
}

/// How consumers take messages out of the channel.
#[derive(Clone, Copy, Debug)]
enum RecvMode {
    Blocking,
    Iter,
    /// `try_recv`, yielding on `Empty`.
    TrySpin,
    /// `recv_timeout` of 1 ms.
    Timeout,
    /// `recv_timeout` of 1-63 µs, so timeouts constantly race with arriving messages.
    ShortTimeout,
}

fn produce(tx: &Sender<u64>, producer: usize, per: usize, mode: SendMode, sent: &AtomicUsize) {
    let mut micros = 1;
    for seq in 0..per {
        if seq > 0 {
            sent.fetch_add(1, Ordering::Relaxed);
        }
        let mut msg = encode(producer, seq);
        match mode {
            SendMode::Blocking => tx.send(msg).unwrap(),
            SendMode::TrySpin => loop {
                match tx.try_send(msg) {
                    Ok(()) => break,
                    Err(TrySendError::Full(m)) => {
                        assert_eq!(m, msg, "try_send handed back another message");
                        msg = m;
                        thread::yield_now();
                    }
                    Err(TrySendError::Disconnected(_)) => panic!("receivers vanished"),
                }
            },
            SendMode::Timeout | SendMode::ShortTimeout => loop {
                let timeout = match mode {
                    SendMode::Timeout => Duration::from_millis(1),
                    _ => Duration::from_micros(micros),
                };
                micros = micros % 63 + 1;
                match tx.send_timeout(msg, timeout) {
                    Ok(()) => break,
                    Err(SendTimeoutError::Timeout(m)) => {
                        assert_eq!(m, msg, "send_timeout handed back another message");
                        msg = m;
                    }
                    Err(SendTimeoutError::Disconnected(_)) => panic!("receivers vanished"),
                }
            },
        }
    }
    sent.fetch_add(1, Ordering::Relaxed);
}

fn consume(rx: &Receiver<u64>, mode: RecvMode) -> Vec<u64> {
    let mut got = Vec::new();
    let mut micros = 1;
    match mode {
        RecvMode::Blocking => {
            while let Ok(m) = rx.recv() {
                got.push(m);
            }
        }
        RecvMode::Iter => got.extend(rx.iter()),
        RecvMode::TrySpin => loop {
            match rx.try_recv() {
                Ok(m) => got.push(m),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
            }
        },
        RecvMode::Timeout | RecvMode::ShortTimeout => loop {
            let timeout = match mode {
                RecvMode::Timeout => Duration::from_millis(1),
                _ => Duration::from_micros(micros),
            };
            micros = micros % 63 + 1;
            match rx.recv_timeout(timeout) {
                Ok(m) => got.push(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        },
    }
    got
}

/// Runs `producers` x `consumers` over one `bounded(cap)` channel with about `total`
/// messages, then checks that every message was received exactly once, and that each
/// consumer saw each producer's messages in increasing order.
fn mpmc(
    cap: usize,
    producers: usize,
    consumers: usize,
    total: usize,
    send_modes: &'static [SendMode],
    recv_modes: &'static [RecvMode],
) {
    let per = total / producers;
    assert!(per > 0);
    let sent = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&sent);
    let results: Vec<Vec<u64>> = within_limit(
        move || {
            let done = progress.load(Ordering::Relaxed);
            format!("cap {cap}: {done} of {} sends completed", producers * per)
        },
        move || {
            let (tx, rx) = bounded::<u64>(cap);
            let results = thread::scope(|s| {
                for p in 0..producers {
                    let tx = tx.clone();
                    let sent = &*sent;
                    let mode = send_modes[p % send_modes.len()];
                    s.spawn(move || produce(&tx, p, per, mode, sent));
                }
                drop(tx);
                let handles: Vec<_> = (0..consumers)
                    .map(|c| {
                        let rx = rx.clone();
                        let mode = recv_modes[c % recv_modes.len()];
                        s.spawn(move || consume(&rx, mode))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            });
            assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
            assert!(rx.is_empty());
            results
        },
    );

    let mut seen = vec![false; producers * per];
    let mut count = 0;
    for (c, got) in results.iter().enumerate() {
        let mut last: Vec<Option<usize>> = vec![None; producers];
        for &m in got {
            let (p, seq) = decode(m);
            assert!(p < producers && seq < per, "corrupt message {m:#x}");
            if let Some(prev) = last[p] {
                assert!(
                    seq > prev,
                    "cap {cap}: consumer {c}: producer {p} seq {seq} after {prev} (FIFO violated)"
                );
            }
            last[p] = Some(seq);
            let slot = &mut seen[p * per + seq];
            assert!(!*slot, "cap {cap}: message p={p} seq={seq} received twice");
            *slot = true;
            count += 1;
        }
    }
    assert_eq!(count, producers * per, "cap {cap}: messages lost");
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
        scaled(400, 200_000, 500_000),
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
        scaled(400, 100_000, 300_000),
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
        scaled(400, 400_000, 1_000_000),
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
        scaled(400, 200_000, 500_000),
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
        scaled(2_000, 400_000, 1_000_000),
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
        scaled(2_000, 200_000, 1_000_000),
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
        scaled(300, 60_000, 300_000),
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
        scaled(400, 50_000, 200_000),
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
        scaled(400, 50_000, 200_000),
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
        scaled(320, 100_000, 200_000),
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
        scaled(320, 50_000, 100_000),
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

/// Counts drops per message id.
struct Ledger {
    per_id: Vec<AtomicU8>,
}

/// A message that records its drop in a [`Ledger`], and fails on a second drop.
struct Tracked {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let prev = self.ledger.per_id[self.id].fetch_add(1, Ordering::SeqCst);
        assert_eq!(prev, 0, "message {} dropped twice", self.id);
    }
}

/// Producers push tracked messages while consumers receive some and then leave: every
/// message is dropped exactly once, whether a consumer received it, the channel discarded
/// it, or a failed send handed it back.
#[test]
fn receivers_leave_mid_stream_every_message_dropped_once() {
    within_limit(
        move || String::from("receivers_leave_mid_stream_every_message_dropped_once"),
        move || {
            let producers = 4;
            let per = scaled(100, 10_000, 100_000);
            for cap in [1usize, 16] {
                let ledger = Arc::new(Ledger {
                    per_id: (0..producers * per).map(|_| AtomicU8::new(0)).collect(),
                });
                let received = AtomicUsize::new(0);
                let (tx, rx) = bounded::<Tracked>(cap);
                thread::scope(|s| {
                    for p in 0..producers {
                        let tx = tx.clone();
                        let ledger = Arc::clone(&ledger);
                        s.spawn(move || {
                            for i in 0..per {
                                let id = p * per + i;
                                let msg = Tracked {
                                    id,
                                    ledger: Arc::clone(&ledger),
                                };
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
        move || String::from("zero_sized_messages_4x4_cap1"),
        move || {
            let producers = 4;
            let per = scaled(100, 15_000, 50_000);
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

const BIG: usize = 4096;

fn big_message(producer: usize, seq: usize) -> [u8; BIG] {
    let mut buf = [0u8; BIG];
    buf[..8].copy_from_slice(&(producer as u64).to_le_bytes());
    buf[8..16].copy_from_slice(&(seq as u64).to_le_bytes());
    let mut x = ((seq as u32) ^ ((producer as u32) << 24)).wrapping_mul(0x9e37_79b9) | 1;
    for b in &mut buf[16..] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = (x >> 8) as u8;
    }
    buf
}

fn check_big_message(buf: &[u8; BIG]) -> (usize, usize) {
    let producer = u64::from_le_bytes(buf[..8].try_into().unwrap()) as usize;
    let seq = u64::from_le_bytes(buf[8..16].try_into().unwrap()) as usize;
    assert!(
        buf[..] == big_message(producer, seq)[..],
        "corrupted 4 KiB message from producer {producer} seq {seq}"
    );
    (producer, seq)
}

#[test]
fn large_4k_messages_3x3_cap4() {
    within_limit(
        move || String::from("large_4k_messages_3x3_cap4"),
        move || {
            let producers = 3;
            let per = scaled(20, 2_000, 20_000);
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
            let mut seen = vec![false; producers * per];
            for ids in &results {
                let mut last = vec![None; producers];
                for &(p, seq) in ids {
                    assert!(p < producers && seq < per);
                    if let Some(prev) = last[p] {
                        assert!(seq > prev, "FIFO violated for producer {p}");
                    }
                    last[p] = Some(seq);
                    assert!(!seen[p * per + seq], "duplicate 4 KiB message");
                    seen[p * per + seq] = true;
                }
            }
            assert!(seen.iter().all(|&b| b), "lost 4 KiB messages");
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Ping-pong
// ---------------------------------------------------------------------------------------------

#[test]
fn ping_pong_over_two_bounded1() {
    within_limit(
        move || String::from("ping_pong_over_two_bounded1"),
        move || {
            let rounds = scaled(100, 20_000, 100_000);
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
        move || String::from("ping_pong_over_two_bounded1_with_timeouts"),
        move || {
            let rounds = scaled(100, 10_000, 50_000);
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
