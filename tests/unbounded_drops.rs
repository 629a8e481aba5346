//! Drop accounting for the unbounded flavor: every message the channel accepts is dropped
//! exactly once, either by whoever received it or by the channel when its last handle goes.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use panama::{unbounded, SendTimeoutError, TrySendError};

use common::{Ledger, Tracked};

/// Enough messages to span many internal blocks.
fn many() -> usize {
    if cfg!(miri) {
        100
    } else {
        1000
    }
}

#[test]
fn unreceived_messages_dropped_when_sender_dropped_last() {
    let n = many();
    let ledger = Ledger::new(n);
    let (tx, rx) = unbounded();
    for i in 0..n {
        tx.send(ledger.make(i)).unwrap();
    }
    assert_eq!(ledger.dropped(), 0);
    drop(rx);
    drop(tx);
    ledger.assert_each_dropped_once(n);
}

#[test]
fn unreceived_messages_dropped_when_receiver_dropped_last() {
    let n = many();
    let ledger = Ledger::new(n);
    let (tx, rx) = unbounded();
    for i in 0..n {
        tx.send(ledger.make(i)).unwrap();
    }
    drop(tx);
    assert_eq!(
        ledger.dropped(),
        0,
        "channel dropped messages while a receiver lives"
    );
    drop(rx);
    ledger.assert_each_dropped_once(n);
}

#[test]
fn partially_received_then_dropped() {
    let n = many();
    for (received, sender_first) in [(1, true), (n / 3, false), (n / 2 + 7, true), (n - 1, false)] {
        let ledger = Ledger::new(n);
        let (tx, rx) = unbounded();
        for i in 0..n {
            tx.send(ledger.make(i)).unwrap();
        }
        let mut held = Vec::new();
        for i in 0..received {
            let m = rx.recv().unwrap();
            assert_eq!(m.id, i);
            held.push(m);
        }
        // Receiving hands ownership out; nothing is dropped yet.
        assert_eq!(ledger.dropped(), 0);
        if sender_first {
            drop(tx);
            drop(rx);
        } else {
            drop(rx);
            drop(tx);
        }
        assert_eq!(ledger.dropped(), n - received);
        for id in 0..received {
            assert_eq!(ledger.drops_of(id), 0);
        }
        drop(held);
        ledger.assert_each_dropped_once(n);
    }
}

#[test]
fn clones_keep_messages_alive_until_last_handle() {
    let n = many();
    let ledger = Ledger::new(n);
    let (tx, rx) = unbounded();
    let tx2 = tx.clone();
    let rx2 = rx.clone();
    for i in 0..n {
        let sender = if i % 2 == 0 { &tx } else { &tx2 };
        sender.send(ledger.make(i)).unwrap();
    }
    drop(tx);
    drop(rx);
    assert_eq!(ledger.dropped(), 0);
    drop(tx2);
    assert_eq!(ledger.dropped(), 0);
    // Drain a few through the surviving receiver clone.
    for i in 0..10 {
        assert_eq!(rx2.recv().unwrap().id, i);
    }
    assert_eq!(ledger.dropped(), 10);
    drop(rx2);
    ledger.assert_each_dropped_once(n);
}

#[test]
fn received_messages_dropped_once_by_receiver() {
    let n = many();
    let ledger = Ledger::new(n);
    let (tx, rx) = unbounded();
    for i in 0..n {
        tx.send(ledger.make(i)).unwrap();
    }
    drop(tx);
    let mut count = 0;
    for (expected, m) in rx.iter().enumerate() {
        assert_eq!(m.id, expected);
        assert_eq!(ledger.dropped(), count);
        drop(m);
        count += 1;
        assert_eq!(ledger.dropped(), count);
    }
    assert_eq!(count, n);
    drop(rx);
    ledger.assert_each_dropped_once(n);
}

#[test]
fn received_via_every_method_dropped_once() {
    let ledger = Ledger::new(5);
    let (tx, rx) = unbounded();
    for i in 0..5 {
        tx.send(ledger.make(i)).unwrap();
    }
    drop(rx.recv().unwrap());
    drop(rx.try_recv().unwrap());
    drop(rx.recv_timeout(Duration::from_secs(1)).unwrap());
    drop(rx.try_iter().next().unwrap());
    drop(rx.iter().next().unwrap());
    drop(tx);
    drop(rx);
    ledger.assert_each_dropped_once(5);
}

#[test]
fn failed_send_hands_message_back() {
    let ledger = Ledger::new(4);
    let (tx, rx) = unbounded();
    drop(rx);

    let err = tx.send(ledger.make(0)).unwrap_err();
    assert_eq!(ledger.dropped(), 0, "channel dropped a rejected message");
    let m = err.into_inner();
    assert_eq!(m.id, 0);

    let m1 = match tx.try_send(ledger.make(1)) {
        Err(TrySendError::Disconnected(m)) => m,
        Err(TrySendError::Full(_)) => panic!("unbounded channel reported Full"),
        Ok(()) => panic!("send succeeded on disconnected channel"),
    };
    let m2 = match tx.send_timeout(ledger.make(2), Duration::from_secs(1)) {
        Err(SendTimeoutError::Disconnected(m)) => m,
        Err(SendTimeoutError::Timeout(_)) => panic!("unbounded channel reported Timeout"),
        Ok(()) => panic!("send succeeded on disconnected channel"),
    };
    let m3 = tx
        .send_deadline(ledger.make(3), std::time::Instant::now())
        .unwrap_err()
        .into_inner();
    assert_eq!((m1.id, m2.id, m3.id), (1, 2, 3));
    assert_eq!(ledger.dropped(), 0);
    drop(tx);
    assert_eq!(ledger.dropped(), 0);
    drop((m, m1, m2, m3));
    ledger.assert_each_dropped_once(4);
}

#[test]
fn empty_channel_drop_drops_nothing() {
    let ledger = Ledger::new(1);
    let (tx, rx) = unbounded::<Tracked>();
    drop(tx);
    drop(rx);
    assert_eq!(ledger.dropped(), 0);
    assert_eq!(ledger.created(), 0);
}

#[test]
fn receiver_dropped_while_senders_active() {
    let producers = 4;
    let per = if cfg!(miri) { 80 } else { 20_000 };
    let ledger = Ledger::new(producers * per);
    let (tx, rx) = unbounded();

    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            let ledger = Arc::clone(&ledger);
            thread::spawn(move || {
                for i in 0..per {
                    if let Err(e) = tx.send(ledger.make(p * per + i)) {
                        // The message comes back to us; we drop it here.
                        let m = e.into_inner();
                        assert_eq!(m.id, p * per + i);
                        drop(m);
                    }
                }
            })
        })
        .collect();
    drop(tx);

    // Receive (and drop) a few, then drop the receiver mid-stream.
    for _ in 0..per / 4 {
        drop(rx.recv().unwrap());
    }
    drop(rx);
    for h in handles {
        h.join().unwrap();
    }
    // All handles are gone now: every created message was dropped exactly once.
    assert_eq!(ledger.created(), producers * per);
    ledger.assert_each_dropped_once(producers * per);
}

#[test]
fn receiver_dropped_while_senders_active_with_receiver_clones() {
    let producers = 2;
    let per = if cfg!(miri) { 200 } else { 20_000 };
    let ledger = Ledger::new(producers * per);
    let (tx, rx) = unbounded();
    let stop = Arc::new(AtomicBool::new(false));

    let producer_handles: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            let ledger = Arc::clone(&ledger);
            thread::spawn(move || {
                for i in 0..per {
                    // Rejected messages are dropped right here by the Err value.
                    let _ = tx.send(ledger.make(p * per + i));
                }
            })
        })
        .collect();
    drop(tx);

    let consumer_handles: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match rx.recv_timeout(Duration::from_millis(1)) {
                        Ok(m) => drop(m),
                        Err(e) if e.is_disconnected() => break,
                        Err(_) => {}
                    }
                }
            })
        })
        .collect();
    drop(rx);
    thread::sleep(Duration::from_millis(5));
    stop.store(true, Ordering::SeqCst);
    for h in consumer_handles {
        h.join().unwrap();
    }
    for h in producer_handles {
        h.join().unwrap();
    }
    assert_eq!(ledger.created(), producers * per);
    ledger.assert_each_dropped_once(producers * per);
}

#[test]
fn drop_both_sides_concurrently() {
    let rounds = if cfg!(miri) { 5 } else { 200 };
    for round in 0..rounds {
        let n = 50 + round % 40;
        let ledger = Ledger::new(n);
        let (tx, rx) = unbounded();
        for i in 0..n {
            tx.send(ledger.make(i)).unwrap();
        }
        let a = thread::spawn(move || drop(tx));
        let b = thread::spawn(move || drop(rx));
        a.join().unwrap();
        b.join().unwrap();
        ledger.assert_each_dropped_once(n);
    }
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
    let n = many();
    let (tx, rx) = unbounded();
    for _ in 0..n {
        tx.send(Zst).unwrap();
    }
    for _ in 0..10 {
        drop(rx.recv().unwrap());
    }
    assert_eq!(DROPS.load(Ordering::SeqCst), 10);
    drop(rx);
    drop(tx);
    assert_eq!(DROPS.load(Ordering::SeqCst), n);
}
