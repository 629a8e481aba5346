//! Helpers shared by the integration tests: timing limits, iteration scaling, hang-proof
//! joins, drop-counting messages, and the MPMC stress harness pieces (message encoding,
//! send/receive modes, exactly-once and per-producer-order checks).
//!
//! Each test file includes this with `mod common;`; not every file uses every helper.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use panama::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError, TrySendError};

/// A short pause used to let another thread block before we act.
pub const SETTLE: Duration = Duration::from_millis(50);

/// How much longer the hang guards below wait under Miri. Miri's clock (with isolation,
/// its default) is virtual: it advances about 5 µs per interpreted basic block, so the slow
/// interpretation of a busy scenario uses up a real-time limit although nothing hangs. A
/// real hang still fails fast: when every thread is blocked, Miri jumps its clock straight
/// to the next timeout, however far away that is.
pub const MIRI_TIME_FACTOR: u32 = if cfg!(miri) { 20 } else { 1 };

/// How long a blocked thread gets to finish after it was woken, before a test calls it hung.
pub const WAKE_LIMIT: Duration = Duration::from_secs(10 * MIRI_TIME_FACTOR as u64);

/// How long a whole stress scenario may run before it counts as hung (they take a few
/// seconds at most).
pub const STRESS_LIMIT: Duration = Duration::from_secs(60 * MIRI_TIME_FACTOR as u64);

/// Picks an iteration count: tiny under Miri, `debug` in unoptimized builds, `release` otherwise.
pub fn scaled(miri: usize, debug: usize, release: usize) -> usize {
    if cfg!(miri) {
        miri
    } else if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

/// The address of a boxed value: proves that a message handed back is the one we sent.
pub fn addr<T>(b: &T) -> usize {
    b as *const T as usize
}

/// Waits until `flag` is set by another thread (which then is about to block).
pub fn wait_for(flag: &AtomicBool) {
    let start = Instant::now();
    while !flag.load(Ordering::SeqCst) {
        assert!(start.elapsed() < WAKE_LIMIT, "helper thread never started");
        thread::yield_now();
    }
}

/// Waits until `counter` reaches `n`, failing the test if that takes too long.
pub fn wait_for_count(counter: &AtomicUsize, n: usize) {
    let start = Instant::now();
    while counter.load(Ordering::SeqCst) < n {
        assert!(
            start.elapsed() < WAKE_LIMIT,
            "count stuck at {} (expected {n})",
            counter.load(Ordering::SeqCst)
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Joins `handle`, failing the test if the thread is still blocked after [`WAKE_LIMIT`]
/// (a missed wake-up) instead of hanging the whole run.
#[track_caller]
pub fn join_within<R>(handle: thread::JoinHandle<R>) -> R {
    let start = Instant::now();
    while !handle.is_finished() {
        assert!(
            start.elapsed() < WAKE_LIMIT,
            "a thread is still blocked after {WAKE_LIMIT:?}: missed wake-up?"
        );
        thread::sleep(Duration::from_millis(1));
    }
    match handle.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Runs `scenario` on a thread of its own and waits for it at most `limit`. A hang
/// (threads parked with nobody left to wake them) fails the test, reporting `progress()`,
/// instead of stalling the run; the stuck threads are left behind for the process to end.
pub fn within_limit<R: Send + 'static>(
    limit: Duration,
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
    match done_rx.recv_timeout(limit) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match runner.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
            "hung: not done after {limit:?} ({}); missed wake-up?",
            progress()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Drop accounting
// ---------------------------------------------------------------------------------------------

/// Per-test drop ledger: one counter per message id, plus totals.
pub struct Ledger {
    pub per_id: Vec<AtomicU8>,
    created: AtomicUsize,
    dropped: AtomicUsize,
}

impl Ledger {
    pub fn new(ids: usize) -> Arc<Self> {
        Arc::new(Ledger {
            per_id: (0..ids).map(|_| AtomicU8::new(0)).collect(),
            created: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
        })
    }

    pub fn make(self: &Arc<Self>, id: usize) -> Tracked {
        self.created.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            ledger: Arc::clone(self),
        }
    }

    pub fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    pub fn drops_of(&self, id: usize) -> u8 {
        self.per_id[id].load(Ordering::SeqCst)
    }

    /// Asserts that ids `0..n` were each dropped exactly once and nothing else was dropped.
    #[track_caller]
    pub fn assert_each_dropped_once(&self, n: usize) {
        for id in 0..n {
            assert_eq!(
                self.drops_of(id),
                1,
                "message {id} dropped wrong number of times"
            );
        }
        assert_eq!(self.dropped(), n);
    }
}

/// A message that records its own drop in a [`Ledger`], and fails on a second drop.
pub struct Tracked {
    pub id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let prev = self.ledger.per_id[self.id].fetch_add(1, Ordering::SeqCst);
        assert_eq!(prev, 0, "message {} dropped twice", self.id);
        self.ledger.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// MPMC stress harness
// ---------------------------------------------------------------------------------------------

/// Packs a producer index and a sequence number into one message.
pub fn encode(producer: usize, seq: usize) -> u64 {
    ((producer as u64) << 32) | seq as u64
}

/// The inverse of [`encode`].
pub fn decode(msg: u64) -> (usize, usize) {
    ((msg >> 32) as usize, (msg & 0xffff_ffff) as usize)
}

/// How producers put messages into the channel. Every mode retries a message it gets back
/// (`Full`, `Timeout`) until it goes in, so every message is sent exactly once.
#[derive(Clone, Copy, Debug)]
pub enum SendMode {
    Blocking,
    /// `try_send`, yielding on `Full`.
    TrySpin,
    /// `send_timeout` of 1 ms.
    Timeout,
    /// `send_timeout` of 1-63 µs, so timeouts constantly race with the other side.
    ShortTimeout,
}

/// How consumers take messages out of the channel.
#[derive(Clone, Copy, Debug)]
pub enum RecvMode {
    Blocking,
    Iter,
    /// `try_recv`, yielding on `Empty`.
    TrySpin,
    /// `recv_timeout` of 1 ms.
    Timeout,
    /// `recv_timeout` of 1-63 µs, so timeouts constantly race with arriving messages.
    ShortTimeout,
}

/// Sends `encode(producer, 0..per)` in order using `mode`, counting completed sends in `sent`.
pub fn produce(tx: &Sender<u64>, producer: usize, per: usize, mode: SendMode, sent: &AtomicUsize) {
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

/// Receives with `mode` until the channel is disconnected; returns what it got, in order.
pub fn consume(rx: &Receiver<u64>, mode: RecvMode) -> Vec<u64> {
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

/// Checks that the consumers' logs hold each of `producers * per` [`encode`]d messages
/// exactly once, each consumer seeing each producer's messages in increasing order.
/// `context` prefixes the failure messages (e.g. `"cap 16: "`).
#[track_caller]
pub fn check_exactly_once_in_order(
    results: &[Vec<u64>],
    producers: usize,
    per: usize,
    context: &str,
) {
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
                    "{context}consumer {c}: producer {p} seq {seq} after {prev} (FIFO violated)"
                );
            }
            last[p] = Some(seq);
            let slot = &mut seen[p * per + seq];
            assert!(!*slot, "{context}message p={p} seq={seq} received twice");
            *slot = true;
            count += 1;
        }
    }
    assert_eq!(count, producers * per, "{context}messages lost");
    assert!(seen.iter().all(|&b| b));
}

// ---------------------------------------------------------------------------------------------
// Large messages
// ---------------------------------------------------------------------------------------------

/// Size of the large test messages.
pub const BIG: usize = 4096;

/// A 4 KiB message carrying `producer` and `seq` in its first 16 bytes and a pseudo-random
/// fill derived from them in the rest.
pub fn big_message(producer: usize, seq: usize) -> [u8; BIG] {
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

/// Checks that `buf` is intact and returns its `(producer, seq)`.
pub fn check_big_message(buf: &[u8; BIG]) -> (usize, usize) {
    let producer = u64::from_le_bytes(buf[..8].try_into().unwrap()) as usize;
    let seq = u64::from_le_bytes(buf[8..16].try_into().unwrap()) as usize;
    assert!(
        buf[..] == big_message(producer, seq)[..],
        "corrupted 4 KiB message from producer {producer} seq {seq}"
    );
    (producer, seq)
}

/// Checks that the consumers' `(producer, seq)` logs hold each of `producers * per` large
/// messages exactly once, each consumer seeing each producer's messages in increasing order.
#[track_caller]
pub fn check_big_ids_exactly_once_in_order(
    results: &[Vec<(usize, usize)>],
    producers: usize,
    per: usize,
) {
    let mut seen = vec![false; producers * per];
    for ids in results {
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
}

/// The channel kinds the per-flavor tests run over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flavor {
    Unbounded,
    /// `bounded(n)`; `Bounded(0)` is the rendezvous channel.
    Bounded(usize),
}

impl Flavor {
    /// A new channel of this kind.
    pub fn make<T>(self) -> (Sender<T>, Receiver<T>) {
        match self {
            Flavor::Unbounded => panama::unbounded(),
            Flavor::Bounded(cap) => panama::bounded(cap),
        }
    }

    /// How many messages the channel can hold (`None`: unbounded).
    pub fn cap(self) -> Option<usize> {
        match self {
            Flavor::Unbounded => None,
            Flavor::Bounded(cap) => Some(cap),
        }
    }
}

/// The text of a panic payload (`""` if it is neither `&str` nor `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::new()
    }
}

/// Runs `producers` x `consumers` over one new channel of `flavor` with about `total`
/// messages ([`produce`] with `send_modes`, [`consume`] with `recv_modes`, each thread taking
/// the modes in turn), within [`STRESS_LIMIT`], then checks that the channel ends
/// disconnected and empty, that every message was received exactly once, and that each
/// consumer saw each producer's messages in increasing order.
#[allow(dead_code)] // Not every test file uses it.
pub fn mpmc_stress(
    flavor: Flavor,
    producers: usize,
    consumers: usize,
    total: usize,
    send_modes: &'static [SendMode],
    recv_modes: &'static [RecvMode],
) {
    let per = total / producers;
    assert!(per > 0);
    let context = match flavor.cap() {
        Some(cap) => format!("cap {cap}: "),
        None => String::from("unbounded: "),
    };
    let sent = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&sent);
    let label = context.clone();
    let results: Vec<Vec<u64>> = within_limit(
        STRESS_LIMIT,
        move || {
            let done = progress.load(Ordering::Relaxed);
            format!("{label}{done} of {} sends completed", producers * per)
        },
        move || {
            let (tx, rx) = flavor.make::<u64>();
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
    check_exactly_once_in_order(&results, producers, per, &context);
}
