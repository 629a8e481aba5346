//! A long randomized stress run ("soak") of every channel flavor.
//!
//! Until the time is up, this runs rounds. Each round draws from a seeded PRNG a flavor
//! (`unbounded`, `bounded(0)`, `bounded(1)`, or `bounded(k)` with k in 2..=64), 1 to 8
//! producers and 1 to 8 consumers (more threads than cores), a message count, and for each
//! thread a mix of operations: blocking `send`/`recv`, `try_send`/`try_recv` loops,
//! `send_timeout`/`recv_timeout` and the deadline forms with short random timeouts (0 to
//! 2 ms, zero included), and the `iter`, `try_iter` and owning iterators. Some rounds stop
//! consumers early, so that senders see the channel disconnect and get their message back;
//! some stop producers early.
//!
//! Every message carries its producer, its sequence number, a checksum, and a guard whose
//! `Drop` counts it. After each round the soak checks that:
//!
//! - each message sent successfully was received exactly once, or else dropped inside the
//!   channel exactly once, and a message handed back by a failed send was neither;
//! - every message created was dropped exactly once (no leak, no double drop);
//! - each consumer saw each producer's messages in the order they were sent, intact;
//! - errors mean what they say: an unbounded channel is never full, a timeout never expires
//!   early, a disconnection is final, `len()` never exceeds the capacity, and while some
//!   receiver stays until the end no send fails and no message is dropped unread;
//! - no thread hangs: a watchdog ends the process, with diagnostics, if one round runs longer
//!   than its limit.
//!
//! ```text
//! cargo run --release --example soak -- --seconds 60               # a fresh seed
//! cargo run --release --example soak -- --seconds 60 --seed 0x2a   # the same rounds again
//! cargo run --release --example soak -- --seconds 60 --seed 0x2a --round 17
//! ```
//!
//! The seed is printed at the start. A seed fixes the sequence of round configurations and
//! every thread's choice of operations (not the thread interleaving); `--round R` repeats
//! round `R` of that sequence, to chase a failure it printed. `--watchdog S` sets the hang
//! limit per round (default 60 s). Exit status: 0 if every check passed, 1 if a check
//! failed, 2 for bad arguments, 3 if the watchdog saw a round hang.

use std::fmt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use panama::{
    Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};

/// The largest number of messages one round plans (drawn log-uniformly from 1 up to this).
const MAX_MESSAGES: u64 = 200_000;
/// The same for rendezvous rounds, where every message is a hand-off between two threads.
const MAX_MESSAGES_ZERO: u64 = 30_000;
const MAX_PRODUCERS: u64 = 8;
const MAX_CONSUMERS: u64 = 8;
const MAX_THREADS: usize = (MAX_PRODUCERS + MAX_CONSUMERS) as usize;
/// How often the main thread prints a progress line.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// At most this many failure details are kept per thread and per round check.
const MAX_DETAILS: usize = 8;

// ---------------------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, fast, and good enough to pick configurations and operations.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`), by a widening multiply.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// Roughly log-uniform in `1..=max`: small and large counts are equally likely.
    fn log_uniform(&mut self, max: u64) -> u64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((max as f64).powf(unit) as u64).clamp(1, max)
    }

    /// An index into `weights`, with probability proportional to its weight.
    fn pick(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut at = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if at < u64::from(w) {
                return i;
            }
            at -= u64::from(w);
        }
        unreachable!("the weights sum to more than the draw")
    }

    /// A short timeout for the timed operations: zero a quarter of the time, else up to 2 ms.
    fn timeout(&mut self) -> Duration {
        match self.below(4) {
            0 => Duration::ZERO,
            1 => Duration::from_micros(self.range(1, 50)),
            _ => Duration::from_micros(self.range(1, 2000)),
        }
    }
}

/// The SplitMix64 finalizer: a bijective scramble of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The payload check of message `seq` from `producer` in the round seeded `round_seed`.
fn checksum(round_seed: u64, producer: u32, seq: u32) -> u64 {
    mix(round_seed ^ (u64::from(producer) << 32 | u64::from(seq)))
}

// ---------------------------------------------------------------------------------------
// Watchdog and thread monitor

/// An operation, as shown in the watchdog's report of what each thread is doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Op {
    Idle,
    Starting,
    Send,
    TrySend,
    SendTimeout,
    SendDeadline,
    Recv,
    TryRecv,
    RecvTimeout,
    RecvDeadline,
    Iter,
    TryIter,
    IntoIter,
    Yield,
    Done,
}

const OPS: [Op; 15] = [
    Op::Idle,
    Op::Starting,
    Op::Send,
    Op::TrySend,
    Op::SendTimeout,
    Op::SendDeadline,
    Op::Recv,
    Op::TryRecv,
    Op::RecvTimeout,
    Op::RecvDeadline,
    Op::Iter,
    Op::TryIter,
    Op::IntoIter,
    Op::Yield,
    Op::Done,
];

/// The operations a producer draws from, in the order of its weights.
const SEND_OPS: [Op; 4] = [Op::Send, Op::TrySend, Op::SendTimeout, Op::SendDeadline];
/// The operations a consumer draws from, in the order of its weights.
const RECV_OPS: [Op; 7] = [
    Op::Recv,
    Op::TryRecv,
    Op::RecvTimeout,
    Op::RecvDeadline,
    Op::Iter,
    Op::TryIter,
    Op::IntoIter,
];

/// What one round thread is doing, for the watchdog.
#[derive(Debug)]
struct Slot {
    op: AtomicU8,
    /// Operations completed.
    progress: AtomicU64,
}

impl Slot {
    fn set(&self, op: Op) {
        self.op.store(op as u8, Ordering::Relaxed);
    }

    fn bump(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    fn op(&self) -> Op {
        OPS[usize::from(self.op.load(Ordering::Relaxed))]
    }
}

/// The round in progress, as the watchdog sees it.
#[derive(Debug)]
struct Monitor {
    start: Instant,
    active: AtomicBool,
    round: AtomicU64,
    /// Milliseconds since `start` at which the current round began.
    round_started: AtomicU64,
    /// The current round's configuration and replay command.
    plan: Mutex<String>,
    /// The current round's producers and consumers (slots `0..producers`, then the rest).
    producers: AtomicU64,
    consumers: AtomicU64,
    slots: Vec<Slot>,
}

fn monitor() -> &'static Monitor {
    static MONITOR: OnceLock<Monitor> = OnceLock::new();
    MONITOR.get_or_init(|| Monitor {
        start: Instant::now(),
        active: AtomicBool::new(false),
        round: AtomicU64::new(0),
        round_started: AtomicU64::new(0),
        plan: Mutex::new(String::new()),
        producers: AtomicU64::new(0),
        consumers: AtomicU64::new(0),
        slots: (0..MAX_THREADS)
            .map(|_| Slot {
                op: AtomicU8::new(Op::Idle as u8),
                progress: AtomicU64::new(0),
            })
            .collect(),
    })
}

impl Monitor {
    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn begin(&self, round: u64, plan: String, producers: usize, consumers: usize) {
        for slot in &self.slots[..producers + consumers] {
            slot.set(Op::Starting);
            slot.progress.store(0, Ordering::Relaxed);
        }
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) = plan;
        self.producers.store(producers as u64, Ordering::SeqCst);
        self.consumers.store(consumers as u64, Ordering::SeqCst);
        self.round.store(round, Ordering::SeqCst);
        self.round_started.store(self.now_ms(), Ordering::SeqCst);
        self.active.store(true, Ordering::SeqCst);
    }

    fn end(&self) {
        self.active.store(false, Ordering::SeqCst);
    }

    fn snapshot(&self, threads: usize) -> Vec<(Op, u64)> {
        self.slots[..threads]
            .iter()
            .map(|slot| (slot.op(), slot.progress.load(Ordering::Relaxed)))
            .collect()
    }
}

/// Ends the process if one round runs longer than `limit`, after printing what each thread
/// was doing (twice, a second apart, to tell a deadlock from a crawl).
fn watchdog(limit: Duration) {
    let m = monitor();
    loop {
        thread::sleep(Duration::from_millis(250));
        let round = m.round.load(Ordering::SeqCst);
        if !m.active.load(Ordering::SeqCst) {
            continue;
        }
        let started = m.round_started.load(Ordering::SeqCst);
        let running = m.now_ms().saturating_sub(started);
        if running < limit.as_millis() as u64 || m.round.load(Ordering::SeqCst) != round {
            continue;
        }
        let plan = m.plan.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let producers = m.producers.load(Ordering::SeqCst) as usize;
        let threads = producers + m.consumers.load(Ordering::SeqCst) as usize;
        let before = m.snapshot(threads);
        thread::sleep(Duration::from_secs(1));
        let after = m.snapshot(threads);
        if !m.active.load(Ordering::SeqCst) || m.round.load(Ordering::SeqCst) != round {
            continue; // it finished after all
        }
        eprintln!();
        eprintln!(
            "HANG: round {round} has run for {:.1} s (limit {} s)",
            running as f64 / 1e3,
            limit.as_secs()
        );
        eprintln!("{plan}");
        eprintln!("threads (current operation, operations completed 1 s apart):");
        for (i, ((op, p0), (_, p1))) in before.iter().zip(&after).enumerate() {
            let who = if i < producers {
                format!("producer {i}")
            } else {
                format!("consumer {}", i - producers)
            };
            eprintln!("  {who:<12} {:<13} {p0} -> {p1}", format!("{op:?}"));
        }
        std::process::exit(3);
    }
}

// ---------------------------------------------------------------------------------------
// Messages and their accounting

/// Added to a message's mark each time it is dropped.
const DROPPED: u16 = 1;
/// Added to a message's mark when it is dropped while still in the channel (unclaimed).
const IN_CHANNEL: u16 = 1 << 8;

/// A producer's record of how each message's last send ended.
const SENT: u8 = 1;
const HANDED_BACK: u8 = 2;

/// Shared per-round counters that message guards update as they drop.
#[derive(Debug)]
struct Tracker {
    drops: AtomicU64,
    dropped_in_channel: AtomicU64,
    /// One per planned message: `DROPPED` and `IN_CHANNEL` added up.
    marks: Vec<AtomicU16>,
}

/// Counts its message's drop. A message nobody claimed (neither a consumer that received
/// it nor a producer that got it back) can only be dropped by the channel.
#[derive(Debug)]
struct Guard<'t> {
    tracker: &'t Tracker,
    index: usize,
    claimed: bool,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let t = self.tracker;
        t.drops.fetch_add(1, Ordering::Relaxed);
        let mark = if self.claimed {
            DROPPED
        } else {
            t.dropped_in_channel.fetch_add(1, Ordering::Relaxed);
            DROPPED + IN_CHANNEL
        };
        t.marks[self.index].fetch_add(mark, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Msg<'t> {
    producer: u32,
    seq: u32,
    check: u64,
    guard: Guard<'t>,
}

// ---------------------------------------------------------------------------------------
// Round plans

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flavor {
    Unbounded,
    Bounded(usize),
}

impl Flavor {
    fn channel<T>(self) -> (Sender<T>, Receiver<T>) {
        match self {
            Flavor::Unbounded => panama::unbounded(),
            Flavor::Bounded(cap) => panama::bounded(cap),
        }
    }

    fn capacity(self) -> Option<usize> {
        match self {
            Flavor::Unbounded => None,
            Flavor::Bounded(cap) => Some(cap),
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flavor::Unbounded => f.write_str("unbounded"),
            Flavor::Bounded(cap) => write!(f, "bounded({cap})"),
        }
    }
}

#[derive(Clone, Debug)]
struct ProducerPlan {
    seed: u64,
    /// Messages planned, with sequence numbers `0..count`.
    count: u32,
    /// Stop (and drop the sender) after creating this many, if set.
    stop_at: Option<u32>,
    /// Weights of `SEND_OPS`.
    weights: [u32; 4],
    /// After a send times out or finds the channel full, give the message up (instead of
    /// retrying it) one time in this many.
    give_up_one_in: Option<u64>,
    start_delay: Duration,
}

#[derive(Clone, Debug)]
struct ConsumerPlan {
    seed: u64,
    /// Stop (and drop the receiver) after receiving this many, if set.
    quota: Option<u64>,
    /// Weights of `RECV_OPS`.
    weights: [u32; 7],
    start_delay: Duration,
}

#[derive(Clone, Debug)]
struct RoundPlan {
    round: u64,
    seed: u64,
    flavor: Flavor,
    producers: Vec<ProducerPlan>,
    consumers: Vec<ConsumerPlan>,
}

impl RoundPlan {
    fn new(seed: u64, round: u64) -> RoundPlan {
        let round_seed = mix(seed ^ mix(round.wrapping_add(1)));
        let mut rng = Rng::new(round_seed);
        let flavor = match rng.below(4) {
            0 => Flavor::Unbounded,
            1 => Flavor::Bounded(0),
            2 => Flavor::Bounded(1),
            _ => Flavor::Bounded(rng.range(2, 64) as usize),
        };
        let rendezvous = flavor == Flavor::Bounded(0);
        let n_producers = rng.range(1, MAX_PRODUCERS);
        let n_consumers = rng.range(1, MAX_CONSUMERS);
        let total = rng.log_uniform(if rendezvous {
            MAX_MESSAGES_ZERO
        } else {
            MAX_MESSAGES
        });
        // 0-3: everyone runs to the end; 4: some consumers stop early; 5: all consumers
        // stop early; 6: some producers stop early; 7: some of both.
        let scenario = rng.below(8);
        let all_consumers_stop = scenario == 5;
        let some_consumers_stop = scenario == 4 || scenario == 7;
        let some_producers_stop = scenario >= 6;
        let give_up_one_in = match rng.below(4) {
            0 => Some(rng.range(2, 64)),
            _ => None,
        };

        let per_producer = total.div_ceil(n_producers);
        let producers = (0..n_producers)
            .map(|_| {
                let count = if rng.one_in(16) {
                    0
                } else {
                    rng.range(per_producer / 2, per_producer + per_producer / 2)
                        .max(1)
                } as u32;
                let stop_at = (some_producers_stop && rng.one_in(2))
                    .then(|| rng.range(0, u64::from(count)) as u32);
                let mut weights = send_weights(&mut rng);
                if rendezvous && weights[0] + weights[2] + weights[3] == 0 {
                    // A rendezvous needs one side to wait; never let both only poll.
                    weights[0] = 1;
                }
                ProducerPlan {
                    seed: rng.next_u64(),
                    count,
                    stop_at,
                    weights,
                    give_up_one_in,
                    start_delay: start_delay(&mut rng),
                }
            })
            .collect::<Vec<_>>();

        let planned: u64 = producers.iter().map(|p| u64::from(p.count)).sum();
        let per_consumer = planned.div_ceil(n_consumers).max(1);
        let consumers = (0..n_consumers)
            .map(|_| {
                let stops = all_consumers_stop || (some_consumers_stop && rng.one_in(2));
                let quota = stops.then(|| rng.range(0, per_consumer * 3 / 2));
                let mut weights = recv_weights(&mut rng);
                if rendezvous && weights[1] + weights[5] == weights.iter().sum::<u32>() {
                    weights[0] = 1;
                }
                ConsumerPlan {
                    seed: rng.next_u64(),
                    quota,
                    weights,
                    start_delay: start_delay(&mut rng),
                }
            })
            .collect();

        RoundPlan {
            round,
            seed: round_seed,
            flavor,
            producers,
            consumers,
        }
    }

    fn planned(&self) -> u64 {
        self.producers.iter().map(|p| u64::from(p.count)).sum()
    }
}

/// Weights of `SEND_OPS` in one of a few styles.
fn send_weights(rng: &mut Rng) -> [u32; 4] {
    match rng.below(6) {
        0 => [1, 0, 0, 0], // blocking sends only
        1 => [0, 1, 0, 0], // a try_send loop
        2 => [0, 0, 1, 1], // timeouts and deadlines only
        3 => [4, 1, 1, 1], // mostly blocking
        _ => loop {
            let w = [0, 0, 0, 0].map(|_: u32| rng.below(4) as u32);
            if w.iter().sum::<u32>() > 0 {
                break w;
            }
        },
    }
}

/// Weights of `RECV_OPS` in one of a few styles.
fn recv_weights(rng: &mut Rng) -> [u32; 7] {
    match rng.below(7) {
        0 => [1, 0, 0, 0, 0, 0, 0], // blocking recv only
        1 => [0, 4, 0, 0, 0, 1, 0], // a try_recv / try_iter loop
        2 => [0, 0, 1, 1, 0, 0, 0], // timeouts and deadlines only
        3 => [0, 0, 0, 0, 4, 2, 1], // iterators
        4 => [4, 1, 1, 1, 1, 1, 0], // mostly blocking
        _ => loop {
            let mut w = [0; 7].map(|_: u32| rng.below(4) as u32);
            w[6] = rng.below(2) as u32; // the owning iterator ends the thread's mix
            if w.iter().sum::<u32>() > 0 {
                break w;
            }
        },
    }
}

fn start_delay(rng: &mut Rng) -> Duration {
    if rng.one_in(4) {
        Duration::from_micros(rng.range(0, 2000))
    } else {
        Duration::ZERO
    }
}

impl fmt::Display for RoundPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "round {} (round seed {:#018x}): {}, {} producers, {} consumers, {} messages planned",
            self.round,
            self.seed,
            self.flavor,
            self.producers.len(),
            self.consumers.len(),
            self.planned()
        )?;
        for (i, p) in self.producers.iter().enumerate() {
            write!(f, "  producer {i}: {} messages", p.count)?;
            if let Some(stop) = p.stop_at {
                write!(f, ", stops after {stop}")?;
            }
            write!(f, ", weights send/try/timeout/deadline {:?}", p.weights)?;
            if let Some(n) = p.give_up_one_in {
                write!(f, ", gives up 1 in {n} full/timed-out sends")?;
            }
            if !p.start_delay.is_zero() {
                write!(f, ", starts after {:?}", p.start_delay)?;
            }
            writeln!(f)?;
        }
        for (i, c) in self.consumers.iter().enumerate() {
            write!(f, "  consumer {i}: ")?;
            match c.quota {
                Some(q) => write!(f, "stops after {q} messages")?,
                None => write!(f, "runs to disconnection")?,
            }
            write!(
                f,
                ", weights recv/try/timeout/deadline/iter/try_iter/into_iter {:?}",
                c.weights
            )?;
            if !c.start_delay.is_zero() {
                write!(f, ", starts after {:?}", c.start_delay)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// A round's threads

/// Failures seen by one thread or one check: a count and the first few details.
#[derive(Default, Debug)]
struct Faults {
    count: u64,
    details: Vec<String>,
}

impl Faults {
    fn add(&mut self, detail: impl FnOnce() -> String) {
        self.count += 1;
        if self.details.len() < MAX_DETAILS {
            self.details.push(detail());
        }
    }

    fn absorb(&mut self, other: Faults) {
        self.count += other.count;
        for d in other.details {
            if self.details.len() < MAX_DETAILS {
                self.details.push(d);
            }
        }
    }
}

/// What every thread of a round shares.
#[derive(Debug)]
struct Round<'a> {
    plan: &'a RoundPlan,
    tracker: Tracker,
    /// The index in `tracker.marks` of each producer's message 0.
    offsets: Vec<usize>,
}

impl Round<'_> {
    fn message(&self, producer: usize, seq: u32) -> Msg<'_> {
        Msg {
            producer: producer as u32,
            seq,
            check: checksum(self.plan.seed, producer as u32, seq),
            guard: Guard {
                tracker: &self.tracker,
                index: self.offsets[producer] + seq as usize,
                claimed: false,
            },
        }
    }
}

#[derive(Default, Debug)]
struct ProducerReport {
    /// Messages `0..created` were created.
    created: u32,
    /// For each created message, `SENT` or `HANDED_BACK` (its last send failed).
    fates: Vec<u8>,
    sent: u64,
    /// Failed sends (each hands its message back), whether the message was retried or not.
    handbacks: u64,
    /// Messages handed back and not retried: the channel disconnected, or given up.
    given_up: u64,
    saw_disconnect: bool,
    faults: Faults,
}

/// Why a send handed its message back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Refusal {
    Full,
    Timeout,
    Disconnected,
}

fn produce<'t>(
    id: usize,
    round: &'t Round<'_>,
    tx: Sender<Msg<'t>>,
    slot: &Slot,
) -> ProducerReport {
    let plan = &round.plan.producers[id];
    let flavor = round.plan.flavor;
    let mut rng = Rng::new(plan.seed);
    let mut report = ProducerReport::default();
    if !plan.start_delay.is_zero() {
        thread::sleep(plan.start_delay);
    }
    let limit = plan.stop_at.unwrap_or(plan.count);
    'messages: for seq in 0..limit {
        let mut msg = round.message(id, seq);
        report.created = seq + 1;
        loop {
            let op = SEND_OPS[rng.pick(&plan.weights)];
            slot.set(op);
            let outcome = match op {
                Op::Send => tx
                    .send(msg)
                    .map_err(|SendError(m)| (m, Refusal::Disconnected)),
                Op::TrySend => tx.try_send(msg).map_err(|e| match e {
                    TrySendError::Full(m) => (m, Refusal::Full),
                    TrySendError::Disconnected(m) => (m, Refusal::Disconnected),
                }),
                _ => {
                    let timeout = rng.timeout();
                    let start = Instant::now();
                    let result = if op == Op::SendTimeout {
                        tx.send_timeout(msg, timeout)
                    } else {
                        tx.send_deadline(msg, start + timeout)
                    };
                    result.map_err(|e| match e {
                        SendTimeoutError::Timeout(m) => {
                            let waited = start.elapsed();
                            if waited < timeout {
                                report.faults.add(|| {
                                    format!("producer {id}: {op:?} of {timeout:?} timed out after {waited:?}")
                                });
                            }
                            (m, Refusal::Timeout)
                        }
                        SendTimeoutError::Disconnected(m) => (m, Refusal::Disconnected),
                    })
                }
            };
            slot.bump();
            let (mut back, refusal) = match outcome {
                Ok(()) => {
                    report.sent += 1;
                    report.fates.push(SENT);
                    continue 'messages;
                }
                Err(refused) => refused,
            };
            report.handbacks += 1;
            if (back.producer, back.seq) != (id as u32, seq) {
                report.faults.add(|| {
                    format!(
                        "producer {id}: a failed {op:?} of message {seq} handed back message {}:{}",
                        back.producer, back.seq
                    )
                });
            }
            if refusal != Refusal::Disconnected && flavor == Flavor::Unbounded {
                report.faults.add(|| {
                    format!("producer {id}: {op:?} on an unbounded channel failed with {refusal:?}")
                });
            }
            if refusal == Refusal::Disconnected {
                back.guard.claimed = true;
                report.given_up += 1;
                report.fates.push(HANDED_BACK);
                report.saw_disconnect = true;
                drop(back);
                // A disconnection is final: the next message must be refused as well.
                if seq + 1 < limit {
                    let next = round.message(id, seq + 1);
                    report.created = seq + 2;
                    slot.set(Op::TrySend);
                    match tx.try_send(next) {
                        Err(TrySendError::Disconnected(mut m)) => {
                            m.guard.claimed = true;
                            report.handbacks += 1;
                            report.given_up += 1;
                            report.fates.push(HANDED_BACK);
                        }
                        Err(TrySendError::Full(mut m)) => {
                            report.faults.add(|| {
                                format!("producer {id}: try_send after a disconnection found the channel full, not disconnected")
                            });
                            m.guard.claimed = true;
                            report.handbacks += 1;
                            report.given_up += 1;
                            report.fates.push(HANDED_BACK);
                        }
                        Ok(()) => {
                            report.faults.add(|| {
                                format!("producer {id}: try_send succeeded after a send saw the channel disconnected")
                            });
                            report.sent += 1;
                            report.fates.push(SENT);
                        }
                    }
                }
                break 'messages;
            }
            if plan.give_up_one_in.is_some_and(|n| rng.one_in(n)) {
                back.guard.claimed = true;
                report.given_up += 1;
                report.fates.push(HANDED_BACK);
                continue 'messages;
            }
            msg = back;
            if op == Op::TrySend || rng.one_in(4) {
                // A polling loop on two cores with up to sixteen threads: let others run.
                slot.set(Op::Yield);
                thread::yield_now();
            }
        }
    }
    slot.set(Op::Done);
    report
}

#[derive(Default, Debug)]
struct ConsumerReport {
    /// The mark index of every message received, in order.
    received: Vec<u32>,
    /// Whether this consumer saw the channel empty and disconnected (it ran to the end).
    saw_disconnect: bool,
    /// Messages from one producer seen out of order.
    fifo: Faults,
    /// Messages whose payload did not match their producer and sequence number.
    corrupt: Faults,
    /// Other wrong results: early timeouts, messages after disconnection, `len()` too big.
    faults: Faults,
}

struct Consumer<'r, 'p> {
    id: usize,
    round: &'r Round<'p>,
    slot: &'r Slot,
    /// The last sequence number seen from each producer.
    last: Vec<Option<u32>>,
    report: ConsumerReport,
}

impl Consumer<'_, '_> {
    fn take(&mut self, mut msg: Msg<'_>) {
        msg.guard.claimed = true;
        self.slot.bump();
        let id = self.id;
        let plan = self.round.plan;
        let p = msg.producer as usize;
        let intact = p < plan.producers.len()
            && msg.seq < plan.producers[p].count
            && msg.check == checksum(plan.seed, msg.producer, msg.seq)
            && msg.guard.index == self.round.offsets[p] + msg.seq as usize;
        if !intact {
            self.report.corrupt.add(|| {
                format!(
                    "consumer {id}: corrupt message: producer {}, seq {}, check {:#x}, index {}",
                    msg.producer, msg.seq, msg.check, msg.guard.index
                )
            });
            return;
        }
        if let Some(prev) = self.last[p] {
            if msg.seq <= prev {
                self.report.fifo.add(|| {
                    format!(
                        "consumer {id}: producer {p}'s message {} arrived after its message {prev}",
                        msg.seq
                    )
                });
            }
        }
        self.last[p] = Some(msg.seq);
        self.report.received.push(msg.guard.index as u32);
    }

    fn check_len<T>(&mut self, rx: &Receiver<T>) {
        let len = rx.len();
        if let Some(cap) = self.round.plan.flavor.capacity() {
            if len > cap {
                let id = self.id;
                self.report
                    .faults
                    .add(|| format!("consumer {id}: len() {len} exceeds the capacity {cap}"));
            }
        }
    }

    fn timed_out(&mut self, op: Op, timeout: Duration, start: Instant) {
        let waited = start.elapsed();
        if waited < timeout {
            let id = self.id;
            self.report
                .faults
                .add(|| format!("consumer {id}: {op:?} of {timeout:?} timed out after {waited:?}"));
        }
    }
}

fn consume(id: usize, round: &Round<'_>, rx: Receiver<Msg<'_>>, slot: &Slot) -> ConsumerReport {
    let plan = &round.plan.consumers[id];
    let mut rng = Rng::new(plan.seed);
    let mut c = Consumer {
        id,
        round,
        slot,
        last: vec![None; round.plan.producers.len()],
        report: ConsumerReport::default(),
    };
    if !plan.start_delay.is_zero() {
        thread::sleep(plan.start_delay);
    }
    let quota = plan.quota.unwrap_or(u64::MAX);
    let received = |c: &Consumer<'_, '_>| c.report.received.len() as u64 + c.report.corrupt.count;
    let mut owned_iter = false;
    while received(&c) < quota {
        let op = RECV_OPS[rng.pick(&plan.weights)];
        slot.set(op);
        if rng.one_in(32) {
            c.check_len(&rx);
        }
        match op {
            Op::Recv => match rx.recv() {
                Ok(m) => c.take(m),
                Err(RecvError) => {
                    c.report.saw_disconnect = true;
                    break;
                }
            },
            Op::TryRecv => match rx.try_recv() {
                Ok(m) => c.take(m),
                Err(TryRecvError::Empty) => {
                    slot.set(Op::Yield);
                    thread::yield_now();
                }
                Err(TryRecvError::Disconnected) => {
                    c.report.saw_disconnect = true;
                    break;
                }
            },
            Op::RecvTimeout | Op::RecvDeadline => {
                let timeout = rng.timeout();
                let start = Instant::now();
                let result = if op == Op::RecvTimeout {
                    rx.recv_timeout(timeout)
                } else {
                    rx.recv_deadline(start + timeout)
                };
                match result {
                    Ok(m) => c.take(m),
                    Err(RecvTimeoutError::Timeout) => c.timed_out(op, timeout, start),
                    Err(RecvTimeoutError::Disconnected) => {
                        c.report.saw_disconnect = true;
                        break;
                    }
                }
            }
            Op::Iter => {
                let want = rng.range(1, 64).min(quota - received(&c));
                let mut got = 0;
                for m in rx.iter().take(want as usize) {
                    c.take(m);
                    got += 1;
                }
                if got < want {
                    // `iter` ends early only once the channel is empty and disconnected.
                    c.report.saw_disconnect = true;
                    break;
                }
            }
            Op::TryIter => {
                let want = rng.range(1, 64).min(quota - received(&c));
                let mut got = 0;
                for m in rx.try_iter().take(want as usize) {
                    c.take(m);
                    got += 1;
                }
                if got == 0 {
                    // `try_iter` ends alike on an empty and on a disconnected channel; a
                    // consumer that only polls this way must ask which it was, or spin on.
                    slot.set(Op::TryRecv);
                    match rx.try_recv() {
                        Ok(m) => c.take(m),
                        Err(TryRecvError::Empty) => {
                            slot.set(Op::Yield);
                            thread::yield_now();
                        }
                        Err(TryRecvError::Disconnected) => {
                            c.report.saw_disconnect = true;
                            break;
                        }
                    }
                }
            }
            _ => {
                owned_iter = true;
                break;
            }
        }
    }
    if owned_iter {
        // The owning iterator takes the receiver for the rest of this consumer's life.
        slot.set(Op::IntoIter);
        let want = quota - received(&c);
        let mut got = 0;
        for m in rx
            .into_iter()
            .take(usize::try_from(want).unwrap_or(usize::MAX))
        {
            c.take(m);
            got += 1;
        }
        c.report.saw_disconnect = got < want;
    } else {
        if c.report.saw_disconnect {
            // A disconnection is final: nothing can arrive after it.
            slot.set(Op::TryRecv);
            match rx.try_recv() {
            Err(TryRecvError::Disconnected) => {}
            Err(TryRecvError::Empty) => c.report.faults.add(|| {
                format!("consumer {id}: try_recv returned Empty after the channel reported disconnection")
            }),
            Ok(m) => {
                let (p, seq) = (m.producer, m.seq);
                c.report.faults.add(|| {
                    format!("consumer {id}: message {p}:{seq} arrived after the channel reported disconnection")
                });
                c.take(m);
            }
        }
        }
        // Without a disconnection, the quota is reached: the receiver goes early.
        drop(rx);
    }
    slot.set(Op::Done);
    c.report
}

// ---------------------------------------------------------------------------------------
// Running and checking a round

/// A thread's report, or `None` (and a fault) if it panicked.
fn joined<T>(
    handle: thread::ScopedJoinHandle<'_, T>,
    what: &str,
    id: usize,
    panics: &mut Faults,
) -> Option<T> {
    match handle.join() {
        Ok(report) => Some(report),
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panics.add(|| format!("{what} {id} panicked: {text}"));
            None
        }
    }
}

/// Counts across rounds.
#[derive(Default, Debug)]
struct Totals {
    rounds: u64,
    rounds_by_flavor: [u64; 4],
    moved: u64,
    dropped_in_channel: u64,
    handbacks: u64,
    given_up: u64,
    checks: u64,
    failures: u64,
    /// The longest round so far, and its index.
    slowest: (Duration, u64),
}

/// Runs one round and its checks; prints the details of any failure.
fn run_round(plan: &RoundPlan, totals: &mut Totals, replay: &str) {
    let planned = plan.planned() as usize;
    let mut offsets = Vec::with_capacity(plan.producers.len());
    let mut next = 0;
    for p in &plan.producers {
        offsets.push(next);
        next += p.count as usize;
    }
    let round = Round {
        plan,
        tracker: Tracker {
            drops: AtomicU64::new(0),
            dropped_in_channel: AtomicU64::new(0),
            marks: (0..planned).map(|_| AtomicU16::new(0)).collect(),
        },
        offsets,
    };
    let slots = &monitor().slots;
    let n_producers = plan.producers.len();
    let mut checks: Vec<(&str, Faults)> = Vec::new();

    let (tx, rx) = plan.flavor.channel::<Msg<'_>>();
    let mut capacity = Faults::default();
    for (who, cap) in [("sender", tx.capacity()), ("receiver", rx.capacity())] {
        if cap != plan.flavor.capacity() {
            capacity.add(|| format!("{who} capacity() is {cap:?}"));
        }
    }
    checks.push(("capacity", capacity));

    let mut panics = Faults::default();
    let (producers, consumers) = thread::scope(|s| {
        let round = &round;
        let spawn_producers = || {
            (0..n_producers)
                .map(|id| {
                    let tx = tx.clone();
                    let slot = &slots[id];
                    thread::Builder::new()
                        .name(format!("producer {id}"))
                        .spawn_scoped(s, move || produce(id, round, tx, slot))
                        .expect("spawn a producer")
                })
                .collect::<Vec<_>>()
        };
        let spawn_consumers = || {
            (0..plan.consumers.len())
                .map(|id| {
                    let rx = rx.clone();
                    let slot = &slots[n_producers + id];
                    thread::Builder::new()
                        .name(format!("consumer {id}"))
                        .spawn_scoped(s, move || consume(id, round, rx, slot))
                        .expect("spawn a consumer")
                })
                .collect::<Vec<_>>()
        };
        // Alternate which side starts first.
        let (ps, cs) = if plan.round % 2 == 0 {
            let ps = spawn_producers();
            (ps, spawn_consumers())
        } else {
            let cs = spawn_consumers();
            (spawn_producers(), cs)
        };
        drop((tx, rx));
        let producers: Vec<ProducerReport> = ps
            .into_iter()
            .enumerate()
            .filter_map(|(id, h)| joined(h, "producer", id, &mut panics))
            .collect();
        let consumers: Vec<ConsumerReport> = cs
            .into_iter()
            .enumerate()
            .filter_map(|(id, h)| joined(h, "consumer", id, &mut panics))
            .collect();
        (producers, consumers)
    });
    // Every handle is gone now: the channel, and whatever was left in it, has been dropped.
    let complete = producers.len() == n_producers && consumers.len() == plan.consumers.len();
    checks.push(("no thread panicked", panics));
    let (mut producers, mut consumers) = (producers, consumers);

    let t = &round.tracker;
    let drops = t.drops.load(Ordering::Relaxed);
    let in_channel = t.dropped_in_channel.load(Ordering::Relaxed);
    let created: u64 = producers.iter().map(|p| u64::from(p.created)).sum();
    let sent: u64 = producers.iter().map(|p| p.sent).sum();
    let given_up: u64 = producers.iter().map(|p| p.given_up).sum();
    let handbacks: u64 = producers.iter().map(|p| p.handbacks).sum();
    let received: u64 = consumers.iter().map(|c| c.received.len() as u64).sum();
    let corrupt: u64 = consumers.iter().map(|c| c.corrupt.count).sum();

    let (mut fifo, mut payload, mut results) = Default::default();
    for p in &mut producers {
        Faults::absorb(&mut results, std::mem::take(&mut p.faults));
    }
    for c in &mut consumers {
        Faults::absorb(&mut fifo, std::mem::take(&mut c.fifo));
        Faults::absorb(&mut payload, std::mem::take(&mut c.corrupt));
        Faults::absorb(&mut results, std::mem::take(&mut c.faults));
    }
    checks.push(("per-producer FIFO order at each consumer", fifo));
    checks.push(("payloads intact", payload));
    checks.push((
        "results mean what they say (unbounded never full, no early timeout, final disconnection, len <= capacity)",
        results,
    ));

    if complete {
        let mut counts = Faults::default();
        if drops != created {
            counts.add(|| format!("{created} messages created but {drops} drops counted"));
        }
        if sent != received + corrupt + in_channel {
            counts.add(|| {
                format!("{sent} sent successfully != {received} received + {in_channel} dropped in the channel")
            });
        }
        if created != sent + given_up {
            counts.add(|| {
                format!("{created} created != {sent} sent + {given_up} handed back and not retried")
            });
        }
        checks.push((
            "counts: drops == created, sent == received + dropped in channel",
            counts,
        ));

        // Each message on its own: created ones dropped exactly once, and either sent and
        // then received or dropped in the channel exactly once, or handed back and neither.
        let mut times_received = vec![0u32; planned];
        for c in &consumers {
            for &i in &c.received {
                times_received[i as usize] += 1;
            }
        }
        let mut each = Faults::default();
        for (p, report) in producers.iter().enumerate() {
            if report.fates.len() != report.created as usize {
                each.add(|| {
                    format!(
                        "producer {p}: {} fates recorded for {} messages",
                        report.fates.len(),
                        report.created
                    )
                });
            }
            for seq in 0..plan.producers[p].count {
                let i = round.offsets[p] + seq as usize;
                let mark = t.marks[i].load(Ordering::Relaxed);
                let (dropped, in_chan) = (mark & 0xff, mark >> 8);
                let got = times_received[i];
                let fate = report.fates.get(seq as usize).copied();
                let ok = match fate {
                    None => dropped == 0 && in_chan == 0 && got == 0,
                    Some(SENT) => dropped == 1 && u32::from(in_chan) + got == 1,
                    Some(_) => dropped == 1 && in_chan == 0 && got == 0,
                };
                if !ok {
                    let fate = match fate {
                        None => "never created",
                        Some(SENT) => "sent successfully",
                        Some(_) => "handed back by a failed send",
                    };
                    each.add(|| {
                        format!("message {p}:{seq} ({fate}): received {got} times, dropped {dropped} times, {in_chan} of them in the channel")
                    });
                }
            }
        }
        checks.push((
            "each message received or dropped in the channel exactly once",
            each,
        ));

        // While some receiver stays to the end, no send may fail and nothing may be dropped
        // unread; if moreover no producer stops early, every planned message arrives.
        let mut kept = Faults::default();
        if consumers.iter().any(|c| c.saw_disconnect) {
            if in_channel != 0 {
                kept.add(|| format!("{in_channel} messages dropped in the channel although a receiver drained it to disconnection"));
            }
            for (p, report) in producers.iter().enumerate() {
                if report.saw_disconnect {
                    kept.add(|| format!("producer {p}: a send failed as disconnected although a receiver stayed to the end"));
                }
            }
            let planned_sent = plan.producers.iter().all(|p| p.stop_at.is_none())
                && plan.producers.iter().all(|p| p.give_up_one_in.is_none());
            if planned_sent && received != planned as u64 {
                kept.add(|| format!("{received} of {planned} messages received with every thread running to the end"));
            }
        }
        checks.push(("a receiver that stays to the end gets everything", kept));
    }

    totals.rounds += 1;
    totals.rounds_by_flavor[match plan.flavor {
        Flavor::Unbounded => 0,
        Flavor::Bounded(0) => 1,
        Flavor::Bounded(1) => 2,
        Flavor::Bounded(_) => 3,
    }] += 1;
    totals.moved += received;
    totals.dropped_in_channel += in_channel;
    totals.handbacks += handbacks;
    totals.given_up += given_up;
    let failed: Vec<&(&str, Faults)> = checks.iter().filter(|(_, f)| f.count > 0).collect();
    totals.checks += (checks.len() - failed.len()) as u64;
    if !failed.is_empty() {
        totals.failures += failed.len() as u64;
        println!();
        println!("FAIL {plan}");
        println!(
            "  created {created}, sent {sent}, received {received}, dropped in channel {in_channel}, handed back {handbacks} (not retried {given_up}), drops {drops}"
        );
        for (name, faults) in failed {
            println!("  check failed: {name} ({} faults)", faults.count);
            for d in &faults.details {
                println!("    {d}");
            }
        }
        println!("  replay: {replay} --round {}", plan.round);
    }
}

// ---------------------------------------------------------------------------------------
// Arguments and the main loop

#[derive(Debug)]
struct Args {
    seconds: u64,
    seed: Option<u64>,
    round: Option<u64>,
    watchdog: u64,
}

const USAGE: &str =
    "usage: soak [--seconds N] [--seed S] [--round R] [--watchdog SECS]   (numbers may be 0x hex)";

fn parse_number(text: &str) -> Option<u64> {
    let text = text.replace('_', "");
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 60,
        seed: None,
        round: None,
        watchdog: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number =
            parse_number(&value).ok_or_else(|| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--seconds" => args.seconds = number,
            "--seed" => args.seed = Some(number),
            "--round" => args.round = Some(number),
            "--watchdog" if number > 0 => args.watchdog = number,
            _ => return Err(format!("unknown argument {flag} {value}")),
        }
    }
    Ok(args)
}

fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    mix(nanos ^ u64::from(std::process::id()).rotate_left(32))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let seed = args.seed.unwrap_or_else(fresh_seed);
    let m = monitor();
    let replay = format!(
        "cargo run --release --example soak -- --seconds {} --seed {seed:#x}",
        args.seconds
    );
    println!(
        "soak: seed {seed:#x}, {} s, watchdog {} s per round{}",
        args.seconds,
        args.watchdog,
        args.round
            .map_or(String::new(), |r| format!(", repeating round {r}"))
    );
    match args.round {
        Some(r) => println!("replay: {replay} --round {r}"),
        None => println!("replay: {replay}"),
    }
    let limit = Duration::from_secs(args.watchdog);
    thread::spawn(move || watchdog(limit));

    let budget = Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut last_progress = started;
    let mut totals = Totals::default();
    let progress = |totals: &Totals, elapsed: Duration| {
        format!(
            "{:.1} s, rounds {}, messages moved {}, dropped in channel {}, \
             returned by failed sends {} ({} not retried), checks passed {}, failures={}",
            elapsed.as_secs_f64(),
            totals.rounds,
            totals.moved,
            totals.dropped_in_channel,
            totals.handbacks,
            totals.given_up,
            totals.checks,
            totals.failures,
        )
    };
    let mut index = 0;
    while started.elapsed() < budget {
        let plan = RoundPlan::new(seed, args.round.unwrap_or(index));
        let described = format!("{plan}replay: {replay} --round {}", plan.round);
        m.begin(
            plan.round,
            described,
            plan.producers.len(),
            plan.consumers.len(),
        );
        let round_started = Instant::now();
        run_round(&plan, &mut totals, &replay);
        m.end();
        totals.slowest = totals.slowest.max((round_started.elapsed(), plan.round));
        index += 1;
        if totals.failures > 0 {
            break;
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            println!("progress: {}", progress(&totals, started.elapsed()));
        }
    }
    let [unbounded, zero, one, k] = totals.rounds_by_flavor;
    println!(
        "rounds by flavor: unbounded {unbounded}, bounded(0) {zero}, bounded(1) {one}, bounded(2..=64) {k}; \
         slowest round {:.2} s (round {})",
        totals.slowest.0.as_secs_f64(),
        totals.slowest.1
    );
    println!("summary: {}", progress(&totals, started.elapsed()));
    if totals.failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
