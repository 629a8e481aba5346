//! Blocking and disconnection behaviour that every flavor shares, each test run on
//! unbounded, bounded(0) (rendezvous), bounded(1) and a larger bounded channel. Before
//! a sender can block, a bounded channel is filled to capacity with fillers.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use panama::{RecvError, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError};

use common::{join_within, scaled, Flavor, Ledger, SETTLE, WAKE_LIMIT};

/// Every flavor.
const ALL: [Flavor; 4] = [
    Flavor::Unbounded,
    Flavor::Bounded(0),
    Flavor::Bounded(1),
    Flavor::Bounded(3),
];

/// The flavors whose senders can block.
const BOUNDED: [Flavor; 3] = [Flavor::Bounded(0), Flavor::Bounded(1), Flavor::Bounded(3)];

/// Fills a bounded channel to capacity (nothing for bounded(0)), so that the next send
/// blocks; returns how many fillers went in.
fn fill<T>(flavor: Flavor, tx: &Sender<T>, filler: impl Fn() -> T) -> usize {
    let cap = flavor.cap().expect("only bounded channels fill up");
    for _ in 0..cap {
        tx.send(filler()).unwrap();
    }
    cap
}

#[test]
fn blocked_recv_woken_by_last_sender_drop() {
    for flavor in ALL {
        let (tx, rx) = flavor.make::<u32>();
        let tx2 = tx.clone();
        let receiver = thread::spawn(move || rx.recv());
        thread::sleep(SETTLE);
        drop(tx);
        // One sender is still alive: the receiver must keep waiting.
        thread::sleep(SETTLE);
        assert!(
            !receiver.is_finished(),
            "{flavor:?}: woken by a sender clone's drop"
        );
        drop(tx2);
        assert_eq!(join_within(receiver), Err(RecvError), "{flavor:?}");
    }
}

/// A deadline that has already passed still reports a disconnection, not a timeout: the
/// attempt that gives up must look at the whole channel (the bounded flavor's quick looks
/// at a slot do not see the senders' mark on the tail).
#[test]
fn expired_deadline_reports_disconnection() {
    for flavor in ALL {
        let (tx, rx) = flavor.make::<u32>();
        drop(tx);
        assert_eq!(
            rx.recv_timeout(Duration::ZERO),
            Err(RecvTimeoutError::Disconnected),
            "{flavor:?}"
        );
        assert_eq!(
            rx.recv_deadline(Instant::now()),
            Err(RecvTimeoutError::Disconnected),
            "{flavor:?}"
        );
    }
    for flavor in BOUNDED {
        let (tx, rx) = flavor.make::<u32>();
        fill(flavor, &tx, || 0);
        drop(rx);
        assert_eq!(
            tx.send_timeout(7, Duration::ZERO),
            Err(SendTimeoutError::Disconnected(7)),
            "{flavor:?}"
        );
    }
}

#[test]
fn many_blocked_receivers_woken_by_last_sender_drop() {
    for flavor in ALL {
        let (tx, rx) = flavor.make::<u32>();
        let receivers: Vec<_> = (0..6)
            .map(|i| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let start = Instant::now();
                    let r = match i % 4 {
                        0 => rx.recv().map_err(RecvTimeoutError::from),
                        1 => rx.recv_timeout(Duration::MAX),
                        2 => rx.recv_timeout(Duration::from_secs(60)),
                        _ => rx.recv_deadline(Instant::now() + Duration::from_secs(60)),
                    };
                    (r, start.elapsed())
                })
            })
            .collect();
        drop(rx);
        thread::sleep(SETTLE);
        // A clone dropped first must not wake them.
        let tx2 = tx.clone();
        drop(tx);
        thread::sleep(Duration::from_millis(10));
        drop(tx2);
        for r in receivers {
            let (r, elapsed) = join_within(r);
            assert_eq!(r, Err(RecvTimeoutError::Disconnected), "{flavor:?}");
            assert!(elapsed < Duration::from_secs(60), "{flavor:?}");
        }
    }
}

#[test]
fn many_blocked_receivers_each_get_one_message() {
    for flavor in ALL {
        let (tx, rx) = flavor.make::<u32>();
        let n = 6;
        let receivers: Vec<_> = (0..n)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv())
            })
            .collect();
        thread::sleep(SETTLE);
        for i in 0..n {
            // May block while the receivers have not yet taken earlier messages.
            tx.send_timeout(i, WAKE_LIMIT)
                .unwrap_or_else(|e| panic!("{flavor:?}: no receiver took message {i}: {e:?}"));
        }
        let mut got: Vec<u32> = receivers
            .into_iter()
            .map(|r| join_within(r).unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "{flavor:?}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "{flavor:?}");
    }
}

#[test]
fn blocked_send_timeout_woken_with_message_when_last_receiver_drops() {
    for flavor in BOUNDED {
        let (tx, rx) = flavor.make::<String>();
        fill(flavor, &tx, || "filler".to_string());
        let sender = thread::spawn(move || {
            let start = Instant::now();
            let r = tx.send_timeout("blocked".to_string(), Duration::from_secs(60));
            (r, start.elapsed())
        });
        thread::sleep(SETTLE);
        drop(rx);
        let (r, elapsed) = join_within(sender);
        assert_eq!(
            r,
            Err(SendTimeoutError::Disconnected("blocked".to_string())),
            "{flavor:?}"
        );
        assert!(elapsed < Duration::from_secs(60), "{flavor:?}");
    }
}

#[test]
fn many_blocked_senders_woken_by_last_receiver_drop() {
    for flavor in BOUNDED {
        let (tx, rx) = flavor.make::<String>();
        fill(flavor, &tx, || "filler".to_string());
        let senders: Vec<_> = (0..6)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let msg = format!("sender {i}");
                    let r = match i % 4 {
                        0 => tx
                            .send(msg)
                            .map_err(|e| SendTimeoutError::Disconnected(e.0)),
                        1 => tx.send_timeout(msg, Duration::MAX),
                        2 => tx.send_timeout(msg, Duration::from_secs(60)),
                        _ => tx.send_deadline(msg, Instant::now() + Duration::from_secs(60)),
                    };
                    (i, r)
                })
            })
            .collect();
        drop(tx);
        thread::sleep(SETTLE);
        // A clone dropped first must not wake them.
        let rx2 = rx.clone();
        drop(rx);
        thread::sleep(Duration::from_millis(10));
        drop(rx2);
        for s in senders {
            let (i, r) = join_within(s);
            assert_eq!(
                r,
                Err(SendTimeoutError::Disconnected(format!("sender {i}"))),
                "{flavor:?}"
            );
        }
    }
}

#[test]
fn received_messages_dropped_once_by_receiver() {
    for flavor in ALL {
        let n = scaled(20, 500, 2_000);
        let ledger = Ledger::new(n);
        let (tx, rx) = flavor.make();
        let producer = {
            let ledger = Arc::clone(&ledger);
            thread::spawn(move || {
                for id in 0..n {
                    tx.send(ledger.make(id)).unwrap();
                }
            })
        };
        for (expected, m) in rx.iter().enumerate() {
            assert_eq!(m.id, expected, "{flavor:?}");
            // The message is the receiver's now; the channel kept no copy.
            assert_eq!(ledger.drops_of(expected), 0, "{flavor:?}");
            drop(m);
            assert_eq!(ledger.drops_of(expected), 1, "{flavor:?}");
        }
        join_within(producer);
        drop(rx);
        ledger.assert_each_dropped_once(n);
    }
}
