//! API-surface tests for the unbounded channel flavor: every public item, every error path,
//! and the blocking/waking behaviour of `recv` and friends.
#![cfg(not(loom))]

mod common;

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use panama::{
    channel, unbounded, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender,
    TryRecvError, TrySendError,
};

use common::SETTLE;

/// A payload type that is neither `Debug`, `Clone` nor `Sync`.
struct Opaque(#[allow(dead_code)] Cell<u32>);

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_send_sync<T: Send + Sync>() {}
fn assert_clone<T: Clone>() {}
fn assert_copy_eq<T: Copy + Clone + PartialEq + Eq>() {}
fn assert_debug<T: fmt::Debug>() {}
fn assert_error<T: Error + Send + Sync + 'static>() {}

// ---------------------------------------------------------------------------------------------
// Static properties
// ---------------------------------------------------------------------------------------------

#[test]
fn static_trait_impls() {
    // Handles are Send + Sync for any T: Send, even when T itself is not Sync.
    assert_send_sync::<Sender<Opaque>>();
    assert_send_sync::<Receiver<Opaque>>();
    assert_send::<Opaque>();
    assert_send_sync::<Sender<i32>>();
    assert_send_sync::<Receiver<String>>();

    // Handles are Clone without T: Clone.
    assert_clone::<Sender<Opaque>>();
    assert_clone::<Receiver<Opaque>>();

    // Handles are Debug without T: Debug.
    assert_debug::<Sender<Opaque>>();
    assert_debug::<Receiver<Opaque>>();

    // Error types: Debug without T: Debug, std::error::Error (so `?` into Box<dyn Error>).
    assert_debug::<SendError<Opaque>>();
    assert_debug::<TrySendError<Opaque>>();
    assert_debug::<SendTimeoutError<Opaque>>();
    assert_error::<SendError<i32>>();
    assert_error::<TrySendError<i32>>();
    assert_error::<SendTimeoutError<i32>>();
    assert_error::<RecvError>();
    assert_error::<TryRecvError>();
    assert_error::<RecvTimeoutError>();

    // Clone/Copy/PartialEq/Eq like crossbeam.
    assert_copy_eq::<SendError<u8>>();
    assert_copy_eq::<TrySendError<u8>>();
    assert_copy_eq::<SendTimeoutError<u8>>();
    assert_copy_eq::<RecvError>();
    assert_copy_eq::<TryRecvError>();
    assert_copy_eq::<RecvTimeoutError>();
    assert_sync::<RecvError>();
}

#[test]
fn handles_debug_without_payload_debug() {
    let (tx, rx) = unbounded::<Opaque>();
    assert!(!format!("{tx:?}").is_empty());
    assert!(!format!("{rx:?}").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Error types
// ---------------------------------------------------------------------------------------------

#[test]
fn send_error_api() {
    let err = SendError(String::from("payload"));
    assert_eq!(err.to_string(), "sending on a disconnected channel");
    let dbg = format!("{:?}", SendError(Opaque(Cell::new(7))));
    assert!(dbg.starts_with("SendError"), "unexpected Debug: {dbg}");
    assert_eq!(err.clone(), SendError(String::from("payload")));
    assert_ne!(err, SendError(String::from("other")));
    assert_eq!(err.0, "payload");
    assert_eq!(err.into_inner(), "payload");

    let copied = SendError(5u8);
    let copy = copied;
    assert_eq!(copied, copy);

    let boxed: Box<dyn Error + Send + Sync> = Box::new(SendError(1u32));
    assert_eq!(boxed.to_string(), "sending on a disconnected channel");
}

#[test]
fn try_send_error_api() {
    let full = TrySendError::Full(1u32);
    let disc = TrySendError::Disconnected(2u32);
    assert!(full.is_full());
    assert!(!full.is_disconnected());
    assert!(disc.is_disconnected());
    assert!(!disc.is_full());
    assert_eq!(full.to_string(), "sending on a full channel");
    assert_eq!(disc.to_string(), "sending on a disconnected channel");
    assert_eq!(full.into_inner(), 1);
    assert_eq!(disc.into_inner(), 2);
    assert_eq!(full, TrySendError::Full(1));
    assert_ne!(full, TrySendError::Disconnected(1));

    let dbg_full = format!("{:?}", TrySendError::Full(Opaque(Cell::new(0))));
    let dbg_disc = format!("{:?}", TrySendError::Disconnected(Opaque(Cell::new(0))));
    assert!(dbg_full.contains("Full"), "unexpected Debug: {dbg_full}");
    assert!(
        dbg_disc.contains("Disconnected"),
        "unexpected Debug: {dbg_disc}"
    );

    let converted: TrySendError<&str> = SendError("x").into();
    assert_eq!(converted, TrySendError::Disconnected("x"));
    assert_eq!(TrySendError::from(SendError(9)).into_inner(), 9);
}

#[test]
fn send_timeout_error_api() {
    let timeout = SendTimeoutError::Timeout(1u32);
    let disc = SendTimeoutError::Disconnected(2u32);
    assert!(timeout.is_timeout());
    assert!(!timeout.is_disconnected());
    assert!(disc.is_disconnected());
    assert!(!disc.is_timeout());
    assert_eq!(timeout.to_string(), "timed out waiting on send operation");
    assert_eq!(disc.to_string(), "sending on a disconnected channel");
    assert_eq!(timeout.into_inner(), 1);
    assert_eq!(disc.into_inner(), 2);
    assert_ne!(timeout, SendTimeoutError::Disconnected(1));

    let dbg = format!("{:?}", SendTimeoutError::Timeout(Opaque(Cell::new(0))));
    assert!(!dbg.is_empty());
    let dbg = format!("{:?}", SendTimeoutError::Disconnected(Opaque(Cell::new(0))));
    assert!(!dbg.is_empty());

    let converted: SendTimeoutError<&str> = SendError("x").into();
    assert_eq!(converted, SendTimeoutError::Disconnected("x"));
    assert_eq!(SendTimeoutError::from(SendError(3)).into_inner(), 3);
}

#[test]
fn recv_error_api() {
    let err = RecvError;
    assert_eq!(
        err.to_string(),
        "receiving on an empty and disconnected channel"
    );
    assert_eq!(format!("{err:?}"), "RecvError");
    assert_eq!(err, RecvError);
    #[allow(clippy::clone_on_copy)]
    let cloned = err.clone();
    assert_eq!(cloned, err);
    assert!(err.source().is_none());

    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Disconnected);
    assert_eq!(
        RecvTimeoutError::from(RecvError),
        RecvTimeoutError::Disconnected
    );
    let t: TryRecvError = RecvError.into();
    assert!(t.is_disconnected());
    let t: RecvTimeoutError = RecvError.into();
    assert!(t.is_disconnected());
}

#[test]
fn try_recv_error_api() {
    let empty = TryRecvError::Empty;
    let disc = TryRecvError::Disconnected;
    assert!(empty.is_empty());
    assert!(!empty.is_disconnected());
    assert!(disc.is_disconnected());
    assert!(!disc.is_empty());
    assert_eq!(empty.to_string(), "receiving on an empty channel");
    assert_eq!(
        disc.to_string(),
        "receiving on an empty and disconnected channel"
    );
    assert_eq!(format!("{empty:?}"), "Empty");
    assert_eq!(format!("{disc:?}"), "Disconnected");
    assert_ne!(empty, disc);
}

#[test]
fn recv_timeout_error_api() {
    let timeout = RecvTimeoutError::Timeout;
    let disc = RecvTimeoutError::Disconnected;
    assert!(timeout.is_timeout());
    assert!(!timeout.is_disconnected());
    assert!(disc.is_disconnected());
    assert!(!disc.is_timeout());
    assert_eq!(
        timeout.to_string(),
        "timed out waiting on receive operation"
    );
    // crossbeam-channel 0.5's exact wording for this variant.
    assert_eq!(disc.to_string(), "channel is empty and disconnected");
    assert_eq!(format!("{timeout:?}"), "Timeout");
    assert_eq!(format!("{disc:?}"), "Disconnected");
    assert_ne!(timeout, disc);
}

#[test]
fn errors_propagate_with_question_mark() {
    fn send_then_fail() -> Result<(), Box<dyn Error>> {
        let (tx, rx) = unbounded::<u32>();
        drop(rx);
        tx.send(1)?;
        Ok(())
    }
    fn recv_then_fail() -> Result<u32, Box<dyn Error + Send + Sync>> {
        let (tx, rx) = unbounded::<u32>();
        drop(tx);
        Ok(rx.recv()?)
    }
    let e = send_then_fail().unwrap_err();
    assert_eq!(e.to_string(), "sending on a disconnected channel");
    let e = recv_then_fail().unwrap_err();
    assert_eq!(
        e.to_string(),
        "receiving on an empty and disconnected channel"
    );
}

// ---------------------------------------------------------------------------------------------
// Basic channel behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn unbounded_send_recv_fifo() {
    let (tx, rx) = unbounded();
    for i in 0..100u32 {
        tx.send(i).unwrap();
    }
    for i in 0..100u32 {
        assert_eq!(rx.recv(), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn channel_is_unbounded() {
    let (tx, rx) = channel::<String>();
    assert_eq!(tx.capacity(), None);
    assert_eq!(rx.capacity(), None);
    tx.send("a".to_string()).unwrap();
    tx.try_send("b".to_string()).unwrap();
    tx.send_timeout("c".to_string(), Duration::from_millis(1))
        .unwrap();
    assert_eq!(rx.recv().unwrap(), "a");
    assert_eq!(rx.try_recv().unwrap(), "b");
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "c");
    assert!(rx.is_empty());
    drop(tx);
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));

    // `channel` and `unbounded` produce the same types.
    let (a, b): (Sender<u8>, Receiver<u8>) = channel();
    let (c, d): (Sender<u8>, Receiver<u8>) = unbounded();
    assert!(!a.same_channel(&c));
    assert!(!b.same_channel(&d));
}

#[test]
fn capacity_full_len_empty() {
    let (tx, rx) = unbounded::<u64>();
    assert_eq!(tx.capacity(), None);
    assert_eq!(rx.capacity(), None);
    assert!(!tx.is_full());
    assert!(!rx.is_full());
    assert!(tx.is_empty());
    assert!(rx.is_empty());
    assert_eq!(tx.len(), 0);
    assert_eq!(rx.len(), 0);

    // Cross several internal blocks.
    let n = if cfg!(miri) { 100 } else { 1000 };
    for i in 0..n {
        tx.send(i).unwrap();
        assert_eq!(tx.len(), (i + 1) as usize);
        assert_eq!(rx.len(), (i + 1) as usize);
        assert!(!tx.is_full());
        assert!(!rx.is_empty());
    }
    for i in 0..n {
        assert_eq!(rx.recv(), Ok(i));
        assert_eq!(rx.len(), (n - i - 1) as usize);
        assert_eq!(tx.len(), (n - i - 1) as usize);
    }
    assert!(tx.is_empty());
    assert!(rx.is_empty());
    assert!(!rx.is_full());

    // Still correct after disconnection.
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    assert_eq!(rx.len(), 2);
    assert!(!rx.is_empty());
    assert!(!rx.is_full());
    assert_eq!(rx.capacity(), None);
    rx.recv().unwrap();
    rx.recv().unwrap();
    assert_eq!(rx.len(), 0);
    assert!(rx.is_empty());
}

#[test]
fn len_after_receiver_dropped() {
    let (tx, rx) = unbounded::<u8>();
    tx.send(1).unwrap();
    drop(rx);
    assert!(tx.send(2).is_err());
    assert!(!tx.is_full());
    assert_eq!(tx.capacity(), None);
    // len must not panic; the precise value after disconnection is unspecified.
    let _ = tx.len();
    let _ = tx.is_empty();
}

#[test]
fn same_channel() {
    let (tx1, rx1) = unbounded::<i32>();
    let (tx2, rx2) = unbounded::<i32>();
    let tx1b = tx1.clone();
    let rx1b = rx1.clone();
    assert!(tx1.same_channel(&tx1));
    assert!(tx1.same_channel(&tx1b));
    assert!(tx1b.same_channel(&tx1));
    assert!(rx1.same_channel(&rx1));
    assert!(rx1.same_channel(&rx1b));
    assert!(rx1b.same_channel(&rx1));
    assert!(!tx1.same_channel(&tx2));
    assert!(!tx2.same_channel(&tx1b));
    assert!(!rx1.same_channel(&rx2));
    assert!(!rx2.same_channel(&rx1b));

    // Clones of clones, and after the original is gone.
    let tx1c = tx1b.clone();
    drop(tx1);
    assert!(tx1c.same_channel(&tx1b));
    drop(rx1);
    assert!(rx1b.clone().same_channel(&rx1b));
}

#[test]
fn try_recv_empty_then_disconnected() {
    let (tx, rx) = unbounded::<u32>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    // Buffered messages are drained before disconnection is reported.
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(1)),
        Err(RecvTimeoutError::Disconnected)
    );
    // Repeated calls keep reporting disconnection.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn disconnect_only_after_last_sender() {
    let (tx, rx) = unbounded::<u32>();
    let tx2 = tx.clone();
    let tx3 = tx2.clone();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx3.send(5).unwrap();
    drop(tx3);
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn send_after_receivers_dropped_returns_message() {
    let (tx, rx) = unbounded::<String>();
    let rx2 = rx.clone();
    drop(rx);
    // One receiver is still alive.
    tx.send("alive".to_string()).unwrap();
    assert_eq!(rx2.recv().unwrap(), "alive");
    drop(rx2);

    let err = tx.send("hello".to_string()).unwrap_err();
    assert_eq!(err, SendError("hello".to_string()));
    assert_eq!(err.into_inner(), "hello");

    match tx.try_send("try".to_string()) {
        Err(TrySendError::Disconnected(m)) => assert_eq!(m, "try"),
        other => panic!("unexpected {other:?}"),
    }
    match tx.send_timeout("timeout".to_string(), Duration::from_secs(10)) {
        Err(SendTimeoutError::Disconnected(m)) => assert_eq!(m, "timeout"),
        other => panic!("unexpected {other:?}"),
    }
    match tx.send_deadline(
        "deadline".to_string(),
        Instant::now() + Duration::from_secs(10),
    ) {
        Err(SendTimeoutError::Disconnected(m)) => assert_eq!(m, "deadline"),
        other => panic!("unexpected {other:?}"),
    }
    // Past deadline on a disconnected channel is still Disconnected, not Timeout.
    let past = Instant::now();
    match tx.send_deadline("past".to_string(), past) {
        Err(SendTimeoutError::Disconnected(m)) => assert_eq!(m, "past"),
        other => panic!("unexpected {other:?}"),
    }
    // And a clone of the sender sees the same.
    let tx2 = tx.clone();
    assert_eq!(tx2.send("x".to_string()).unwrap_err().0, "x");
}

#[test]
fn send_to_disconnected_with_buffered_messages() {
    let (tx, rx) = unbounded::<u32>();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(rx);
    assert_eq!(tx.send(3), Err(SendError(3)));
    assert_eq!(tx.try_send(4), Err(TrySendError::Disconnected(4)));
}

#[test]
fn unbounded_try_send_and_send_timeout_never_full() {
    let (tx, rx) = unbounded::<u32>();
    let n = if cfg!(miri) { 100 } else { 2000 };
    for i in 0..n {
        match i % 4 {
            0 => tx.try_send(i).unwrap(),
            1 => tx.send_timeout(i, Duration::ZERO).unwrap(),
            2 => tx.send_deadline(i, Instant::now()).unwrap(),
            _ => tx.send(i).unwrap(),
        }
    }
    // A deadline in the past still succeeds on an unbounded channel.
    let past = Instant::now();
    thread::sleep(Duration::from_millis(2));
    tx.send_deadline(n, past).unwrap();
    for i in 0..=n {
        assert_eq!(rx.try_recv(), Ok(i));
    }
}

#[test]
fn sender_clone_outlives_original() {
    let (tx, rx) = unbounded::<u32>();
    let tx2 = tx.clone();
    drop(tx);
    tx2.send(1).unwrap();
    let tx3 = tx2.clone();
    drop(tx2);
    tx3.send(2).unwrap();
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    drop(tx3);
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn receiver_clone_outlives_original() {
    let (tx, rx) = unbounded::<u32>();
    tx.send(1).unwrap();
    let rx2 = rx.clone();
    drop(rx);
    tx.send(2).unwrap();
    assert_eq!(rx2.recv(), Ok(1));
    assert_eq!(rx2.recv(), Ok(2));
}

#[test]
fn receivers_share_messages() {
    let (tx, rx1) = unbounded::<u32>();
    let rx2 = rx1.clone();
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    // MPMC: each message goes to exactly one receiver, in FIFO order overall.
    let mut got = Vec::new();
    for i in 0..10 {
        let r = if i % 2 == 0 { &rx1 } else { &rx2 };
        got.push(r.try_recv().unwrap());
    }
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert_eq!(rx1.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
}

// ---------------------------------------------------------------------------------------------
// Iterators
// ---------------------------------------------------------------------------------------------

#[test]
fn iter_blocks_until_disconnect() {
    let (tx, rx) = unbounded::<u32>();
    let n = if cfg!(miri) { 20 } else { 500 };
    let producer = thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
            if i % 50 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
    });
    let got: Vec<u32> = rx.iter().collect();
    producer.join().unwrap();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    // The iterator is fused by disconnection: a new one ends immediately.
    assert_eq!(rx.iter().next(), None);
}

#[test]
fn iter_partial_then_continue() {
    let (tx, rx) = unbounded::<u32>();
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    let first: Vec<u32> = rx.iter().take(4).collect();
    assert_eq!(first, vec![0, 1, 2, 3]);
    drop(tx);
    let rest: Vec<u32> = rx.iter().collect();
    assert_eq!(rest, (4..10).collect::<Vec<_>>());
}

#[test]
fn try_iter_does_not_block() {
    let (tx, rx) = unbounded::<u32>();
    assert_eq!(rx.try_iter().next(), None);
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    // Senders are alive, so try_iter must stop at the first empty observation.
    let got: Vec<u32> = rx.try_iter().collect();
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert_eq!(rx.try_iter().count(), 0);
    tx.send(9).unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![9]);
    drop(tx);
    assert_eq!(rx.try_iter().next(), None);
}

#[test]
fn into_iter_borrowed() {
    let (tx, rx) = unbounded::<u32>();
    for i in 0..40 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let mut got = Vec::new();
    for x in &rx {
        got.push(x);
    }
    assert_eq!(got, (0..40).collect::<Vec<_>>());
    // rx is still usable afterwards.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn into_iter_owned() {
    let (tx, rx) = unbounded::<String>();
    let producer = thread::spawn(move || {
        for i in 0..40 {
            tx.send(i.to_string()).unwrap();
        }
    });
    let mut got = Vec::new();
    for x in rx {
        got.push(x);
    }
    producer.join().unwrap();
    let expected: Vec<String> = (0..40).map(|i: i32| i.to_string()).collect();
    assert_eq!(got, expected);
}

#[test]
fn into_iter_owned_collect() {
    let (tx, rx) = channel::<u8>();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    let v: Vec<u8> = rx.into_iter().collect();
    assert_eq!(v, vec![1, 2]);
}

#[test]
fn iter_with_multiple_receivers_partitions_messages() {
    let (tx, rx) = unbounded::<u32>();
    let n: u32 = if cfg!(miri) { 50 } else { 2000 };
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().collect::<Vec<u32>>())
        })
        .collect();
    drop(rx);
    for i in 0..n {
        tx.send(i).unwrap();
    }
    drop(tx);
    let mut all = Vec::new();
    for c in consumers {
        let part = c.join().unwrap();
        assert!(part.windows(2).all(|w| w[0] < w[1]), "out of order");
        all.extend(part);
    }
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// Timeouts and deadlines
// ---------------------------------------------------------------------------------------------

#[test]
fn recv_timeout_times_out_on_live_empty_channel() {
    let (tx, rx) = unbounded::<u32>();
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    assert!(
        start.elapsed() >= timeout,
        "returned after {:?}",
        start.elapsed()
    );
    // The channel still works afterwards.
    tx.send(3).unwrap();
    assert_eq!(rx.recv_timeout(timeout), Ok(3));
}

#[test]
fn recv_deadline_times_out_on_live_empty_channel() {
    let (_tx, rx) = unbounded::<u32>();
    let deadline = Instant::now() + Duration::from_millis(80);
    assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= deadline);
}

#[test]
fn recv_timeout_disconnected() {
    let (tx, rx) = unbounded::<u32>();
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(1));
    let start = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Err(RecvTimeoutError::Disconnected)
    );
    assert_eq!(
        rx.recv_deadline(Instant::now() + Duration::from_secs(10)),
        Err(RecvTimeoutError::Disconnected)
    );
    // Disconnection is reported immediately, not after the timeout.
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn recv_deadline_in_the_past() {
    let (tx, rx) = unbounded::<u32>();
    let past = Instant::now();
    thread::sleep(Duration::from_millis(2));
    // Empty and live: immediate timeout.
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
    // A ready message is still delivered.
    tx.send(7).unwrap();
    assert_eq!(rx.recv_deadline(past), Ok(7));
    // Empty and disconnected: disconnection wins over timeout.
    drop(tx);
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Disconnected));
}

#[test]
fn zero_timeouts() {
    let (tx, rx) = unbounded::<u32>();
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    tx.send_timeout(1, Duration::ZERO).unwrap();
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
    tx.send_deadline(2, Instant::now()).unwrap();
    assert_eq!(rx.recv_deadline(Instant::now()), Ok(2));
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Disconnected)
    );

    let (tx, rx) = unbounded::<u32>();
    drop(rx);
    assert_eq!(
        tx.send_timeout(3, Duration::ZERO),
        Err(SendTimeoutError::Disconnected(3))
    );
}

#[test]
fn duration_max_send_timeout() {
    let (tx, rx) = unbounded::<u32>();
    tx.send_timeout(1, Duration::MAX).unwrap();
    assert_eq!(rx.recv(), Ok(1));
    drop(rx);
    assert_eq!(
        tx.send_timeout(2, Duration::MAX),
        Err(SendTimeoutError::Disconnected(2))
    );
}

#[test]
fn duration_max_recv_timeout() {
    let (tx, rx) = unbounded::<u32>();
    // Ready message: returns at once.
    tx.send(1).unwrap();
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(1));

    // Empty: must block (not overflow, not time out) until another thread sends.
    let tx2 = tx.clone();
    let sender = thread::spawn(move || {
        thread::sleep(SETTLE);
        tx2.send(2).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(2));
    sender.join().unwrap();

    // Empty: woken by disconnection.
    let sender = thread::spawn(move || {
        thread::sleep(SETTLE);
        drop(tx);
    });
    assert_eq!(
        rx.recv_timeout(Duration::MAX),
        Err(RecvTimeoutError::Disconnected)
    );
    sender.join().unwrap();
}

#[test]
fn large_timeouts_near_max() {
    let (tx, rx) = unbounded::<u32>();
    let big = Duration::from_secs(u64::MAX);
    tx.send_timeout(1, big).unwrap();
    assert_eq!(rx.recv_timeout(big), Ok(1));
    tx.send_timeout(2, Duration::new(u64::MAX, 999_999_999))
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::new(u64::MAX / 2, 5)), Ok(2));
}

#[test]
fn recv_timeout_woken_by_send() {
    let (tx, rx) = unbounded::<u32>();
    let sender = thread::spawn(move || {
        thread::sleep(SETTLE);
        tx.send(42).unwrap();
        tx
    });
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(42));
    assert!(start.elapsed() < Duration::from_secs(30));
    let _tx = sender.join().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Blocking and waking
// ---------------------------------------------------------------------------------------------

#[test]
fn blocked_recv_woken_by_send() {
    let (tx, rx) = unbounded::<u32>();
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let receiver = thread::spawn(move || {
        s.store(1, Ordering::SeqCst);
        let v = rx.recv();
        (v, rx)
    });
    while started.load(Ordering::SeqCst) == 0 {
        thread::yield_now();
    }
    thread::sleep(SETTLE);
    tx.send(5).unwrap();
    let (v, rx) = receiver.join().unwrap();
    assert_eq!(v, Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn blocked_recv_deadline_woken_by_last_sender_drop() {
    let (tx, rx) = unbounded::<u32>();
    let receiver = thread::spawn(move || {
        let start = Instant::now();
        let r = rx.recv_deadline(Instant::now() + Duration::from_secs(60));
        (r, start.elapsed())
    });
    thread::sleep(SETTLE);
    drop(tx);
    let (r, elapsed) = receiver.join().unwrap();
    assert_eq!(r, Err(RecvTimeoutError::Disconnected));
    assert!(elapsed < Duration::from_secs(60));
}

#[test]
fn blocked_recv_not_woken_by_receiver_clone_drop() {
    let (tx, rx) = unbounded::<u32>();
    let rx2 = rx.clone();
    let receiver = thread::spawn(move || rx.recv_timeout(Duration::from_secs(30)));
    thread::sleep(SETTLE);
    drop(rx2);
    thread::sleep(SETTLE);
    tx.send(11).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(11));
}

#[test]
fn handles_can_be_shared_by_reference_across_threads() {
    let (tx, rx) = unbounded::<u32>();
    let per = if cfg!(miri) { 20 } else { 1000 };
    thread::scope(|s| {
        for t in 0..4u32 {
            let tx = &tx;
            s.spawn(move || {
                for i in 0..per {
                    tx.send(t * per + i).unwrap();
                }
            });
        }
    });
    drop(tx);
    let mut all: Vec<u32> = thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let rx = &rx;
                s.spawn(move || rx.iter().collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    all.sort_unstable();
    assert_eq!(all, (0..4 * per).collect::<Vec<_>>());
}
