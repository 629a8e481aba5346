//! Channel throughput: panama against std's mpsc, crossbeam-channel, flume and kanal.
//!
//! Every benchmark moves [`MESSAGES`] `usize` values through one channel, split evenly
//! across the producers of its shape, and reports throughput in messages. Benchmarks are
//! grouped by shape and flavor (`spsc/unbounded`, ...) with one id per library, so one run
//! of this binary compares all libraries under the same conditions:
//!
//! ```text
//! cd benches && cargo bench                  # everything
//! cd benches && cargo bench -- mpsc/         # one shape
//! cd benches && cargo bench -- /panama       # one library
//! ```
//!
//! Adding a case is a matter of adding a row:
//! - a shape: a row in [`SHAPES`];
//! - a flavor: a row in [`FLAVORS`];
//! - a library: an implementation of [`Chan`] and a line in [`bench_flavor_shape`].

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

/// Messages moved through the channel per iteration, split evenly across producers.
const MESSAGES: usize = 100_000;

/// How many threads send and how many receive.
#[derive(Clone, Copy)]
struct Shape {
    name: &'static str,
    producers: usize,
    consumers: usize,
}

impl Shape {
    const fn new(name: &'static str, producers: usize, consumers: usize) -> Self {
        Shape {
            name,
            producers,
            consumers,
        }
    }
}

const SHAPES: &[Shape] = &[
    Shape::new("spsc", 1, 1),
    Shape::new("mpsc", 4, 1),
    Shape::new("mpmc", 4, 4),
];

/// The kind of channel under test.
#[derive(Clone, Copy)]
enum Flavor {
    Unbounded,
    /// A channel of this capacity; 0 is a rendezvous channel.
    Bounded(usize),
}

impl Flavor {
    fn name(self) -> String {
        match self {
            Flavor::Unbounded => "unbounded".to_owned(),
            Flavor::Bounded(cap) => format!("bounded{cap}"),
        }
    }
}

/// The flavors benchmarked. `Bounded(MESSAGES)` never fills.
const FLAVORS: &[Flavor] = &[
    Flavor::Unbounded,
    Flavor::Bounded(0),
    Flavor::Bounded(1),
    Flavor::Bounded(MESSAGES),
];

/// One channel library, reduced to what the benchmark needs.
trait Chan {
    /// The benchmark id of this library.
    const NAME: &'static str;
    type Tx: Clone + Send;
    type Rx: Send;

    /// A new channel of `flavor`, or `None` if this adapter does not offer that flavor.
    fn new(flavor: Flavor) -> Option<(Self::Tx, Self::Rx)>;
    /// Another handle on the same receiving side, or `None` if the library has a single
    /// receiver per channel.
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx>;
    /// Sends `value`, blocking while a bounded channel is full.
    fn send(tx: &Self::Tx, value: usize);
    /// The next message, or `None` once the channel is empty and every sender is gone.
    fn recv(rx: &Self::Rx) -> Option<usize>;
}

struct Panama;
impl Chan for Panama {
    const NAME: &'static str = "panama";
    type Tx = panama::Sender<usize>;
    type Rx = panama::Receiver<usize>;
    fn new(flavor: Flavor) -> Option<(Self::Tx, Self::Rx)> {
        match flavor {
            Flavor::Unbounded => Some(panama::unbounded()),
            Flavor::Bounded(cap) => Some(panama::bounded(cap)),
        }
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, value: usize) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<usize> {
        rx.recv().ok()
    }
}

/// `std::sync::mpsc::channel`. std's bounded channel, `sync_channel`, has a sender of
/// another type, so it is the separate adapter [`StdSync`].
struct Std;
impl Chan for Std {
    const NAME: &'static str = "std";
    type Tx = std::sync::mpsc::Sender<usize>;
    type Rx = std::sync::mpsc::Receiver<usize>;
    fn new(flavor: Flavor) -> Option<(Self::Tx, Self::Rx)> {
        match flavor {
            Flavor::Unbounded => Some(std::sync::mpsc::channel()),
            Flavor::Bounded(_) => None,
        }
    }
    /// std's `Receiver` is not `Clone` (single consumer), so std sits out the mpmc shape.
    fn clone_rx(_: &Self::Rx) -> Option<Self::Rx> {
        None
    }
    fn send(tx: &Self::Tx, value: usize) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<usize> {
        rx.recv().ok()
    }
}

/// `std::sync::mpsc::sync_channel`: std's bounded flavor.
struct StdSync;
impl Chan for StdSync {
    const NAME: &'static str = "std";
    type Tx = std::sync::mpsc::SyncSender<usize>;
    type Rx = std::sync::mpsc::Receiver<usize>;
    fn new(flavor: Flavor) -> Option<(Self::Tx, Self::Rx)> {
        match flavor {
            Flavor::Unbounded => None,
            Flavor::Bounded(cap) => Some(std::sync::mpsc::sync_channel(cap)),
        }
    }
    /// Single consumer, as for [`Std`].
    fn clone_rx(_: &Self::Rx) -> Option<Self::Rx> {
        None
    }
    fn send(tx: &Self::Tx, value: usize) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<usize> {
        rx.recv().ok()
    }
}

struct Crossbeam;
impl Chan for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Tx = crossbeam_channel::Sender<usize>;
    type Rx = crossbeam_channel::Receiver<usize>;
    fn new(flavor: Flavor) -> Option<(Self::Tx, Self::Rx)> {
        Some(match flavor {
            Flavor::Unbounded => crossbeam_channel::unbounded(),
            Flavor::Bounded(cap) => crossbeam_channel::bounded(cap),
        })
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, value: usize) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<usize> {
        rx.recv().ok()
    }
}

struct Flume;
impl Chan for Flume {
    const NAME: &'static str = "flume";
    type Tx = flume::Sender<usize>;
    type Rx = flume::Receiver<usize>;
    fn new(flavor: Flavor) -> Option<(Self::Tx, Self::Rx)> {
        Some(match flavor {
            Flavor::Unbounded => flume::unbounded(),
            Flavor::Bounded(cap) => flume::bounded(cap),
        })
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, value: usize) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<usize> {
        rx.recv().ok()
    }
}

struct Kanal;
impl Chan for Kanal {
    const NAME: &'static str = "kanal";
    type Tx = kanal::Sender<usize>;
    type Rx = kanal::Receiver<usize>;
    fn new(flavor: Flavor) -> Option<(Self::Tx, Self::Rx)> {
        Some(match flavor {
            Flavor::Unbounded => kanal::unbounded(),
            Flavor::Bounded(cap) => kanal::bounded(cap),
        })
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn send(tx: &Self::Tx, value: usize) {
        tx.send(value).unwrap();
    }
    fn recv(rx: &Self::Rx) -> Option<usize> {
        rx.recv().ok()
    }
}

/// Whether library `C` can run `shape` on a channel of `flavor`.
fn supports<C: Chan>(flavor: Flavor, shape: Shape) -> bool {
    C::new(flavor).is_some_and(|(_, rx)| shape.consumers == 1 || C::clone_rx(&rx).is_some())
}

/// Moves [`MESSAGES`] values through one new channel of `flavor` with `shape`'s threads,
/// checks that each was received exactly once, and returns the time from the first thread
/// leaving the start barrier to the last consumer seeing the channel disconnected (thread
/// spawning and joining are not timed).
fn run_once<C: Chan>(flavor: Flavor, shape: Shape) -> Duration {
    assert_eq!(MESSAGES % shape.producers, 0, "messages must split evenly");
    let per_producer = MESSAGES / shape.producers;
    let (tx, rx) = C::new(flavor).expect("flavor checked by `supports`");
    let mut rxs: Vec<C::Rx> = (1..shape.consumers)
        .map(|_| C::clone_rx(&rx).expect("shape checked by `supports`"))
        .collect();
    rxs.push(rx);
    let start = &Barrier::new(shape.producers + shape.consumers);

    thread::scope(|s| {
        let producers: Vec<_> = (0..shape.producers)
            .map(|p| {
                let tx = tx.clone();
                s.spawn(move || {
                    start.wait();
                    let began = Instant::now();
                    for value in p * per_producer..(p + 1) * per_producer {
                        C::send(&tx, value);
                    }
                    began
                })
            })
            .collect();
        // The producers hold the only senders now, so the consumers see a disconnect once
        // every producer is done.
        drop(tx);
        let consumers: Vec<_> = rxs
            .into_iter()
            .map(|rx| {
                s.spawn(move || {
                    start.wait();
                    let began = Instant::now();
                    let (mut count, mut sum) = (0usize, 0usize);
                    while let Some(value) = C::recv(&rx) {
                        count += 1;
                        sum += value;
                    }
                    (began, Instant::now(), count, sum)
                })
            })
            .collect();

        let mut first = producers
            .into_iter()
            .map(|h| h.join().unwrap())
            .min()
            .unwrap();
        let (mut last, mut count, mut sum) = (first, 0, 0);
        for handle in consumers {
            let (began, ended, n, part) = handle.join().unwrap();
            first = first.min(began);
            last = last.max(ended);
            count += n;
            sum += part;
        }
        assert_eq!(count, MESSAGES, "{}: messages lost or duplicated", C::NAME);
        assert_eq!(
            sum,
            MESSAGES * (MESSAGES - 1) / 2,
            "{}: wrong values",
            C::NAME
        );
        last - first
    })
}

/// Registers library `C` in `group`, unless it cannot run this flavor and shape.
fn bench_library<C: Chan>(group: &mut BenchmarkGroup<'_, WallTime>, flavor: Flavor, shape: Shape) {
    if !supports::<C>(flavor, shape) {
        return;
    }
    group.bench_function(C::NAME, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_once::<C>(flavor, shape)).sum())
    });
}

/// One group: every library on one flavor and shape.
fn bench_flavor_shape(c: &mut Criterion, flavor: Flavor, shape: Shape) {
    let mut group = c.benchmark_group(format!("{}/{}", shape.name, flavor.name()));
    group.throughput(Throughput::Elements(MESSAGES as u64));
    bench_library::<Panama>(&mut group, flavor, shape);
    bench_library::<Std>(&mut group, flavor, shape);
    bench_library::<StdSync>(&mut group, flavor, shape);
    bench_library::<Crossbeam>(&mut group, flavor, shape);
    bench_library::<Flume>(&mut group, flavor, shape);
    bench_library::<Kanal>(&mut group, flavor, shape);
    group.finish();
}

/// Puts glibc's allocator in the state it reaches once a process has freed a large block,
/// before any library is measured.
///
/// glibc returns freed heap tops to the OS while its trim threshold is the 128 KiB it
/// starts with, and raises the threshold when a large `mmap`ed block is freed. Criterion
/// frees such blocks in its analysis, so without this the first benchmark of a run (and
/// only that one) ran up to twice as slow as the same code measured later, because its
/// unbounded queue was paying for page faults. Other allocators ignore this.
fn settle_allocator() {
    drop(black_box(vec![1u8; 16 << 20]));
}

fn channels(c: &mut Criterion) {
    settle_allocator();
    for &flavor in FLAVORS {
        for &shape in SHAPES {
            bench_flavor_shape(c, flavor, shape);
        }
    }
}

criterion_group! {
    name = benches;
    // Modest sampling so that the whole suite runs in a few minutes on 2 cores; the
    // command line (`--sample-size`, `--measurement-time`, ...) overrides these.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = channels
}
criterion_main!(benches);
