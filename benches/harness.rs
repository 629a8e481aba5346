//! What the criterion bench (`channels.rs`) and the interleaved comparison
//! (`examples/compare.rs`) share: the matrix of cells, one adapter per channel library, and
//! the code that runs one cell once.
//!
//! The matrix is crossbeam-channel's own benchmark matrix:
//!
//! - shapes: `seq` (one thread sends every message, then receives them all), `spsc`, `mpsc`
//!   (4 producers, 1 consumer) and `mpmc` (4 producers, 4 consumers);
//! - flavors: unbounded, bounded(0) (rendezvous), bounded(1) and bounded([`MESSAGES`]),
//!   which never fills;
//! - messages: `usize`, plus one cell, `mpsc/unbounded/256B`, that moves a 256-byte
//!   [`Big`] message (see [`cells`] for why that cell);
//! - selection: four `select/*` cells ([`SelectCase`]), one thread waiting on several
//!   channels with `Select`, for the libraries that have crossbeam-channel's `Select`.
//!
//! Cells nobody can run are left out of [`cells`] and named by [`skipped_cells`]; cells
//! one library cannot express are refused by that library's [`Library::check`]. Both say
//! why, so the skips are printed by whoever runs the matrix.
//!
//! Adding a case is a matter of adding a row:
//! - a shape: a variant of [`Shape`] and a row in [`SHAPES`];
//! - a flavor: a row in [`FLAVORS`];
//! - a message type: an implementation of [`Msg`], a variant of [`Message`] and a cell in
//!   [`cells`];
//! - a library: an implementation of [`Chan`] and a row in [`LIBRARIES`].

use std::fmt;
use std::hint::black_box;
use std::ops::Range;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Messages moved through the channel per run in the criterion bench, split evenly across
/// producers; also the capacity of the bounded flavor that never fills.
pub const MESSAGES: usize = 100_000;

/// A message type: built from its index in the run, and giving that index back so that
/// the receiving side can check that every message arrived exactly once.
pub trait Msg: Send + 'static {
    /// The message for index `i`.
    fn new(i: usize) -> Self;
    /// The index this message was built from.
    fn id(&self) -> usize;
}

/// The common case: one machine word, as in most of crossbeam-channel's matrix.
impl Msg for usize {
    fn new(i: usize) -> Self {
        i
    }
    fn id(&self) -> usize {
        *self
    }
}

/// A 256-byte message, for the cost of moving a payload larger than a cache line
/// through the channel (slots that span lines, copies in and out).
#[derive(Debug)]
pub struct Big([u64; 32]);

impl Msg for Big {
    /// Every word holds the index, so the payload is not a constant the compiler could
    /// build from nothing on the receiving side.
    fn new(i: usize) -> Self {
        Big([i as u64; 32])
    }
    /// The `black_box` makes the whole received value live (it may be read through the
    /// reference), so the compiler cannot narrow the copy out of the channel to the one
    /// word read here.
    fn id(&self) -> usize {
        black_box(self).0[0] as usize
    }
}

/// Which [`Msg`] a cell moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// `usize`.
    Word,
    /// [`Big`].
    Big,
}

impl Message {
    /// The name used in cell names and the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Message::Word => "usize",
            Message::Big => "256B",
        }
    }
}

/// How many threads send and how many receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One thread sends every message, then receives them all: the cost of the operations
    /// without any thread ever waiting or any line moving between cores. Only a channel
    /// that holds every message can do this; see [`skip_reason`].
    Seq,
    /// One producer thread, one consumer thread.
    Spsc,
    /// Four producer threads, one consumer thread.
    Mpsc,
    /// Four producer threads, four consumer threads.
    Mpmc,
    /// A thread waiting on several channels at once with `Select`; see [`SelectCase`].
    Select(SelectCase),
}

/// The shapes of the matrix, in table order.
pub const SHAPES: &[Shape] = &[Shape::Seq, Shape::Spsc, Shape::Mpsc, Shape::Mpmc];

impl Shape {
    /// The name used in cell names and the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Seq => "seq",
            Shape::Spsc => "spsc",
            Shape::Mpsc => "mpsc",
            Shape::Mpmc => "mpmc",
            Shape::Select(_) => "select",
        }
    }

    /// Producer and consumer threads of one channel, or `None` for [`Shape::Seq`], which
    /// spawns none, and for [`Shape::Select`], which has several channels.
    pub fn threads(self) -> Option<(usize, usize)> {
        match self {
            Shape::Seq | Shape::Select(_) => None,
            Shape::Spsc => Some((1, 1)),
            Shape::Mpsc => Some((4, 1)),
            Shape::Mpmc => Some((4, 4)),
        }
    }

    /// Whether this shape receives from more than one handle, which a library with a
    /// single receiver per channel cannot do.
    pub fn needs_clone_rx(self) -> bool {
        self.threads().is_some_and(|(_, consumers)| consumers > 1)
    }
}

/// A `select/*` cell: how many channels one `Select` waits on, of which flavor, and who
/// feeds them. Every case moves `usize` messages, each of `0..messages` exactly once, and
/// checks by count and sum that each was received once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectCase {
    /// `select/unbounded4`: four producer threads, each sending its share into an unbounded
    /// channel of its own; one consumer selects a receive over the four receivers until all
    /// four are disconnected (removing each from the `Select` as it disconnects).
    Unbounded4,
    /// `select/bounded4`: the same over four bounded([`MESSAGES`]) channels, the matrix's
    /// bounded(N) capacity, so they never fill.
    Bounded4,
    /// `select/zero2`: two rendezvous channels A and B and two threads, each selecting both
    /// a send and a receive: the first {send A, recv B}, the second {send B, recv A}. Each
    /// sends half the messages and receives the other's half, dropping an operation from
    /// its `Select` once that half is done.
    Zero2,
    /// `select/many1000`: one receiver selecting a receive over [`MANY_CHANNELS`] unbounded
    /// channels, of which one is fed by a producer thread; the others stay connected and
    /// empty. The `Select` is built once, before the timed part, and reused for every
    /// message.
    Many1000,
}

/// The select cells, in table order.
pub const SELECT_CASES: &[SelectCase] = &[
    SelectCase::Unbounded4,
    SelectCase::Bounded4,
    SelectCase::Zero2,
    SelectCase::Many1000,
];

/// Channels in [`SelectCase::Many1000`].
pub const MANY_CHANNELS: usize = 1_000;

impl SelectCase {
    /// The cell name after `select/`.
    pub fn name(self) -> &'static str {
        match self {
            SelectCase::Unbounded4 => "unbounded4",
            SelectCase::Bounded4 => "bounded4",
            SelectCase::Zero2 => "zero2",
            SelectCase::Many1000 => "many1000",
        }
    }

    /// The flavor of every channel of the case.
    pub fn flavor(self) -> Flavor {
        match self {
            SelectCase::Unbounded4 | SelectCase::Many1000 => Flavor::Unbounded,
            SelectCase::Bounded4 => Flavor::Bounded(MESSAGES),
            SelectCase::Zero2 => Flavor::Bounded(0),
        }
    }

    /// The number the messages of one run must be a multiple of, to split evenly.
    pub fn split(self) -> usize {
        match self {
            SelectCase::Unbounded4 | SelectCase::Bounded4 => 4,
            SelectCase::Zero2 => 2,
            SelectCase::Many1000 => 1,
        }
    }
}

/// The kind of channel under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// An unbounded channel.
    Unbounded,
    /// A channel of this capacity; 0 is a rendezvous channel.
    Bounded(usize),
}

impl Flavor {
    /// The name used in cell names and the CSV (`bounded100000` for bounded([`MESSAGES`])).
    /// The select cells' names do not contain it (their [`SelectCase`] names the flavor).
    pub fn name(self) -> String {
        match self {
            Flavor::Unbounded => "unbounded".to_owned(),
            Flavor::Bounded(cap) => format!("bounded{cap}"),
        }
    }
}

/// The flavors of the matrix, in table order. `Bounded(MESSAGES)` never fills.
pub const FLAVORS: &[Flavor] = &[
    Flavor::Unbounded,
    Flavor::Bounded(0),
    Flavor::Bounded(1),
    Flavor::Bounded(MESSAGES),
];

/// One benchmark: a shape, a flavor and a message type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The threads.
    pub shape: Shape,
    /// The channel.
    pub flavor: Flavor,
    /// What moves through it.
    pub message: Message,
}

impl Cell {
    /// `shape/flavor` for `usize` cells, `shape/flavor/message` otherwise; the criterion
    /// group name, the compare table's row name and the CSV's `cell` column.
    pub fn name(&self) -> String {
        if let Shape::Select(case) = self.shape {
            return format!("select/{}", case.name());
        }
        match self.message {
            Message::Word => format!("{}/{}", self.shape.name(), self.flavor.name()),
            other => format!(
                "{}/{}/{}",
                self.shape.name(),
                self.flavor.name(),
                other.name()
            ),
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Why no library can run `shape` on `flavor` with `messages` per run, if none can.
///
/// `seq` sends every message before receiving any, so on a channel that cannot hold them
/// all (bounded(0), bounded(1)) its one thread would block forever on the first send that
/// finds the channel full. crossbeam-channel's own matrix leaves those cells out too.
pub fn skip_reason(shape: Shape, flavor: Flavor, messages: usize) -> Option<&'static str> {
    match (shape, flavor) {
        (Shape::Seq, Flavor::Bounded(cap)) if cap < messages => Some(
            "one thread sends every message before receiving any, \
             so a channel that cannot hold them all would block forever",
        ),
        _ => None,
    }
}

/// Every runnable cell with [`MESSAGES`] per run, in table order: the shapes × flavors
/// matrix of `usize` cells, minus [`skipped_cells`], then the one 256-byte cell, then the
/// select cells ([`SELECT_CASES`]).
///
/// The 256-byte cell is `mpsc/unbounded`: the most common use of a channel (many
/// producers, one consumer, senders never block), and one where the payload is copied into
/// a slot of the unbounded flavor's blocks and out again under contention. The other
/// candidate, `spsc/bounded(N)`, would allocate a 25 MiB buffer per run: above the 16 MiB
/// `mmap` threshold that [`settle_allocator`] leaves glibc with, so every run would map
/// fresh pages, and whether their faults land in the timed part would depend on whether a
/// library writes its slots when the channel is created or as messages arrive, not on how
/// it moves messages.
pub fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for &shape in SHAPES {
        for &flavor in FLAVORS {
            if skip_reason(shape, flavor, MESSAGES).is_none() {
                cells.push(Cell {
                    shape,
                    flavor,
                    message: Message::Word,
                });
            }
        }
    }
    cells.push(Cell {
        shape: Shape::Mpsc,
        flavor: Flavor::Unbounded,
        message: Message::Big,
    });
    for &case in SELECT_CASES {
        cells.push(Cell {
            shape: Shape::Select(case),
            flavor: case.flavor(),
            message: Message::Word,
        });
    }
    cells
}

/// The shape and flavor pairs left out of [`cells`] (with [`MESSAGES`] per run), with
/// why, for printing.
pub fn skipped_cells() -> Vec<(String, &'static str)> {
    let mut skipped = Vec::new();
    for &shape in SHAPES {
        for &flavor in FLAVORS {
            if let Some(reason) = skip_reason(shape, flavor, MESSAGES) {
                skipped.push((format!("{}/{}", shape.name(), flavor.name()), reason));
            }
        }
    }
    skipped
}

/// One channel library, reduced to what the benchmark needs. The handle types are generic
/// over the message type, so one adapter serves `usize` and [`Big`] alike.
pub trait Chan {
    /// The name of this library (criterion id, compare column, CSV `library`).
    const NAME: &'static str;
    /// The sending handle for messages of type `T`.
    type Tx<T: Msg>: Clone + Send;
    /// The receiving handle for messages of type `T`.
    type Rx<T: Msg>: Send;

    /// A new channel of `flavor`, or `None` if this adapter does not offer that flavor.
    fn new<T: Msg>(flavor: Flavor) -> Option<(Self::Tx<T>, Self::Rx<T>)>;
    /// Another handle on the same receiving side, or `None` if the library has a single
    /// receiver per channel.
    fn clone_rx<T: Msg>(rx: &Self::Rx<T>) -> Option<Self::Rx<T>>;
    /// Sends `value`, blocking while a bounded channel is full.
    fn send<T: Msg>(tx: &Self::Tx<T>, value: T);
    /// The next message, or `None` once the channel is empty and every sender is gone.
    fn recv<T: Msg>(rx: &Self::Rx<T>) -> Option<T>;
    /// Runs one select cell once with this many messages and returns the timed part, or
    /// why this library sits the select cells out.
    const SELECT: Result<fn(SelectCase, usize) -> Duration, &'static str>;
}

/// An adapter for a library with crossbeam-channel's shape of API: `unbounded()`,
/// `bounded(cap)`, cloneable receivers, `send(..).unwrap()` and `recv().ok()`. panama,
/// crossbeam-channel, flume and kanal all have it, so one macro writes their adapters.
macro_rules! mpmc_adapter {
    ($(#[$doc:meta])* $name:ident, $id:literal, $krate:ident, $select:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl Chan for $name {
            const NAME: &'static str = $id;
            type Tx<T: Msg> = $krate::Sender<T>;
            type Rx<T: Msg> = $krate::Receiver<T>;
            fn new<T: Msg>(flavor: Flavor) -> Option<(Self::Tx<T>, Self::Rx<T>)> {
                Some(match flavor {
                    Flavor::Unbounded => $krate::unbounded(),
                    Flavor::Bounded(cap) => $krate::bounded(cap),
                })
            }
            fn clone_rx<T: Msg>(rx: &Self::Rx<T>) -> Option<Self::Rx<T>> {
                Some(rx.clone())
            }
            fn send<T: Msg>(tx: &Self::Tx<T>, value: T) {
                tx.send(value).unwrap();
            }
            fn recv<T: Msg>(rx: &Self::Rx<T>) -> Option<T> {
                rx.recv().ok()
            }
            const SELECT: Result<fn(SelectCase, usize) -> Duration, &'static str> = $select;
        }
    };
}

mpmc_adapter!(
    /// panama, the library under test.
    Panama,
    "panama",
    panama,
    Ok(panama_select::run)
);
mpmc_adapter!(
    /// crossbeam-channel, whose algorithms panama's flavors start from.
    Crossbeam,
    "crossbeam",
    crossbeam_channel,
    Ok(crossbeam_select::run)
);
mpmc_adapter!(
    /// flume.
    Flume,
    "flume",
    flume,
    Err("flume's Selector is another API (closure arms, consumed by `wait`) and not \
         checked here for exactly-once delivery (docs/PERFORMANCE.md, entry 36)")
);
mpmc_adapter!(
    /// kanal.
    Kanal,
    "kanal",
    kanal,
    Err("kanal has no select")
);

/// `std::sync::mpsc::channel`. std's bounded channel, `sync_channel`, has a sender of
/// another type, so it is the separate adapter [`StdSync`]; [`LIBRARIES`] joins the two
/// into one "std" column (see [`check_std`]).
pub struct Std;
impl Chan for Std {
    const NAME: &'static str = "std";
    type Tx<T: Msg> = std::sync::mpsc::Sender<T>;
    type Rx<T: Msg> = std::sync::mpsc::Receiver<T>;
    fn new<T: Msg>(flavor: Flavor) -> Option<(Self::Tx<T>, Self::Rx<T>)> {
        match flavor {
            Flavor::Unbounded => Some(std::sync::mpsc::channel()),
            Flavor::Bounded(_) => None,
        }
    }
    /// std's `Receiver` is not `Clone` (single consumer), so std sits out the mpmc shape.
    fn clone_rx<T: Msg>(_: &Self::Rx<T>) -> Option<Self::Rx<T>> {
        None
    }
    fn send<T: Msg>(tx: &Self::Tx<T>, value: T) {
        tx.send(value).unwrap();
    }
    fn recv<T: Msg>(rx: &Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    const SELECT: Result<fn(SelectCase, usize) -> Duration, &'static str> =
        Err("std::sync::mpsc has no select");
}

/// `std::sync::mpsc::sync_channel`: std's bounded flavor.
pub struct StdSync;
impl Chan for StdSync {
    const NAME: &'static str = "std";
    type Tx<T: Msg> = std::sync::mpsc::SyncSender<T>;
    type Rx<T: Msg> = std::sync::mpsc::Receiver<T>;
    fn new<T: Msg>(flavor: Flavor) -> Option<(Self::Tx<T>, Self::Rx<T>)> {
        match flavor {
            Flavor::Unbounded => None,
            Flavor::Bounded(cap) => Some(std::sync::mpsc::sync_channel(cap)),
        }
    }
    /// Single consumer, as for [`Std`].
    fn clone_rx<T: Msg>(_: &Self::Rx<T>) -> Option<Self::Rx<T>> {
        None
    }
    fn send<T: Msg>(tx: &Self::Tx<T>, value: T) {
        tx.send(value).unwrap();
    }
    fn recv<T: Msg>(rx: &Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    const SELECT: Result<fn(SelectCase, usize) -> Duration, &'static str> =
        Err("std::sync::mpsc has no select");
}

/// One column of the comparison: a library as the runners see it, with its generic
/// adapter(s) already instantiated, so that both runners can walk one list.
#[derive(Clone, Copy)]
pub struct Library {
    /// The column name.
    pub name: &'static str,
    /// `Ok` if this library can run the cell, or why it cannot (printed as the skip).
    pub check: fn(Cell) -> Result<(), &'static str>,
    /// Runs the cell once with this many messages and returns the timed part; only
    /// called after `check` passed.
    pub run: fn(Cell, usize) -> Duration,
}

impl Library {
    /// The column of one adapter.
    pub const fn of<C: Chan>() -> Self {
        Library {
            name: C::NAME,
            check: check::<C>,
            run: run_cell::<C>,
        }
    }
}

/// Every library, panama first. The peers are the ones crossbeam-channel's own
/// benchmarks compare: std, crossbeam-channel, flume, kanal.
pub const LIBRARIES: &[Library] = &[
    Library::of::<Panama>(),
    Library {
        name: "std",
        check: check_std,
        run: run_std,
    },
    Library::of::<Crossbeam>(),
    Library::of::<Flume>(),
    Library::of::<Kanal>(),
];

/// Whether library `C` can run `cell`: it offers the flavor, a second receiving handle if
/// the shape needs one, and a `Select` for the select cells.
fn check<C: Chan>(cell: Cell) -> Result<(), &'static str> {
    if let Shape::Select(_) = cell.shape {
        C::SELECT?;
    }
    let (_, rx) = C::new::<usize>(cell.flavor).ok_or("this flavor is not offered")?;
    if cell.shape.needs_clone_rx() && C::clone_rx(&rx).is_none() {
        return Err("one receiver per channel (Receiver is not Clone), so no mpmc");
    }
    Ok(())
}

/// std as one library: `channel` for the unbounded flavor, `sync_channel` for the bounded
/// ones. Both have a single `Receiver`, so std sits out every mpmc cell.
fn check_std(cell: Cell) -> Result<(), &'static str> {
    match cell.flavor {
        Flavor::Unbounded => check::<Std>(cell),
        Flavor::Bounded(_) => check::<StdSync>(cell),
    }
}

/// Runs a cell on the std adapter that offers its flavor; see [`check_std`].
fn run_std(cell: Cell, messages: usize) -> Duration {
    match cell.flavor {
        Flavor::Unbounded => run_cell::<Std>(cell, messages),
        Flavor::Bounded(_) => run_cell::<StdSync>(cell, messages),
    }
}

/// Runs `cell` once on library `C` with `messages` messages and returns the timed part;
/// see [`run_seq`] and [`run_threads`] for what is timed.
pub fn run_cell<C: Chan>(cell: Cell, messages: usize) -> Duration {
    match cell.message {
        Message::Word => run_typed::<C, usize>(cell, messages),
        Message::Big => run_typed::<C, Big>(cell, messages),
    }
}

fn run_typed<C: Chan, T: Msg>(cell: Cell, messages: usize) -> Duration {
    if let Shape::Select(case) = cell.shape {
        assert_eq!(cell.message, Message::Word, "the select cells move usize");
        let run = C::SELECT.expect("select checked by `Library::check`");
        return run(case, messages);
    }
    match cell.shape.threads() {
        None => run_seq::<C, T>(cell.flavor, messages),
        Some((producers, consumers)) => {
            run_threads::<C, T>(cell.flavor, producers, consumers, messages)
        }
    }
}

/// Checks that the messages received were each of `0..messages` exactly once, by count
/// and by the sum of their ids.
fn check_received(library: &str, messages: usize, count: usize, sum: usize) {
    assert_eq!(count, messages, "{library}: messages lost or duplicated");
    assert_eq!(
        sum,
        messages * (messages - 1) / 2,
        "{library}: wrong values"
    );
}

/// The `seq` shape: on the calling thread, sends `messages` values into a new channel of
/// `flavor`, then receives as many, and returns the time for both loops. The senders
/// stay alive while receiving (as in crossbeam-channel's benchmark), so the receive loop
/// counts messages rather than waiting for a disconnect.
fn run_seq<C: Chan, T: Msg>(flavor: Flavor, messages: usize) -> Duration {
    assert!(
        skip_reason(Shape::Seq, flavor, messages).is_none(),
        "seq needs a channel that holds every message"
    );
    let (tx, rx) = C::new::<T>(flavor).expect("flavor checked by `Library::check`");
    let began = Instant::now();
    for i in 0..messages {
        C::send(&tx, T::new(i));
    }
    let mut sum = 0usize;
    for _ in 0..messages {
        sum += C::recv(&rx)
            .expect("a message was sent for each receive")
            .id();
    }
    let elapsed = began.elapsed();
    check_received(C::NAME, messages, messages, sum);
    drop(tx);
    assert!(C::recv(&rx).is_none(), "{}: a message too many", C::NAME);
    elapsed
}

/// Moves `messages` values through one new channel of `flavor` with `producers` sending
/// and `consumers` receiving threads, checks that each was received exactly once, and
/// returns the time from the first thread leaving the start barrier to the last consumer
/// seeing the channel disconnected (thread spawning and joining are not timed).
fn run_threads<C: Chan, T: Msg>(
    flavor: Flavor,
    producers: usize,
    consumers: usize,
    messages: usize,
) -> Duration {
    assert_eq!(messages % producers, 0, "messages must split evenly");
    let per_producer = messages / producers;
    let (tx, rx) = C::new::<T>(flavor).expect("flavor checked by `Library::check`");
    let mut rxs: Vec<C::Rx<T>> = (1..consumers)
        .map(|_| C::clone_rx(&rx).expect("shape checked by `Library::check`"))
        .collect();
    rxs.push(rx);
    let start = &Barrier::new(producers + consumers);

    thread::scope(|s| {
        let producers: Vec<_> = (0..producers)
            .map(|p| {
                let tx = tx.clone();
                s.spawn(move || {
                    start.wait();
                    let began = Instant::now();
                    for i in p * per_producer..(p + 1) * per_producer {
                        C::send(&tx, T::new(i));
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
                        sum += value.id();
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
        check_received(C::NAME, messages, count, sum);
        last - first
    })
}

/// Writes the select cells' runner for a library with crossbeam-channel's `Select`
/// (`Select::new`, `send`, `recv`, `remove`, `select`, `SelectedOperation::{index, send,
/// recv}`): a module `$module` whose `run` is that library's [`Chan::SELECT`]. The code is
/// the same for every such library; only the crate differs.
macro_rules! select_cells {
    ($(#[$doc:meta])* $module:ident, $id:literal, $krate:ident) => {
        $(#[$doc])*
        mod $module {
            use super::*;
            use $krate::{bounded, unbounded, Receiver, Select, Sender};

            /// Runs `case` once with `messages` messages; returns the timed part.
            pub fn run(case: SelectCase, messages: usize) -> Duration {
                assert_eq!(messages % case.split(), 0, "messages must split evenly");
                match case {
                    SelectCase::Unbounded4 | SelectCase::Bounded4 => {
                        fan_in(case.flavor(), 4, messages)
                    }
                    SelectCase::Zero2 => zero2(messages),
                    SelectCase::Many1000 => many(MANY_CHANNELS, messages),
                }
            }

            fn channel(flavor: Flavor) -> (Sender<usize>, Receiver<usize>) {
                match flavor {
                    Flavor::Unbounded => unbounded(),
                    Flavor::Bounded(cap) => bounded(cap),
                }
            }

            /// `producers` threads, each with a channel of its own; one consumer selects
            /// over the receivers until all are disconnected. Timed from the first thread
            /// leaving the start barrier to the consumer seeing the last disconnection.
            fn fan_in(flavor: Flavor, producers: usize, messages: usize) -> Duration {
                let per_producer = messages / producers;
                let (txs, rxs): (Vec<_>, Vec<_>) = (0..producers).map(|_| channel(flavor)).unzip();
                let start = &Barrier::new(producers + 1);
                thread::scope(|s| {
                    let producers: Vec<_> = txs
                        .into_iter()
                        .enumerate()
                        .map(|(p, tx)| {
                            s.spawn(move || {
                                start.wait();
                                let began = Instant::now();
                                for i in p * per_producer..(p + 1) * per_producer {
                                    tx.send(i).unwrap();
                                }
                                began
                            })
                        })
                        .collect();
                    let consumer = s.spawn(move || {
                        let mut sel = Select::new();
                        for (i, rx) in rxs.iter().enumerate() {
                            assert_eq!(sel.recv(rx), i);
                        }
                        start.wait();
                        let began = Instant::now();
                        let (mut count, mut sum, mut live) = (0usize, 0usize, rxs.len());
                        while live > 0 {
                            let oper = sel.select();
                            let index = oper.index();
                            match oper.recv(&rxs[index]) {
                                Ok(value) => {
                                    count += 1;
                                    sum += value;
                                }
                                Err(_) => {
                                    sel.remove(index);
                                    live -= 1;
                                }
                            }
                        }
                        (began, Instant::now(), count, sum)
                    });
                    let first = producers.into_iter().map(|h| h.join().unwrap()).min().unwrap();
                    let (began, ended, count, sum) = consumer.join().unwrap();
                    check_received($id, messages, count, sum);
                    ended - first.min(began)
                })
            }

            /// One side of `select/zero2`: selects between sending the next of `mine` on
            /// `tx` and receiving on `rx`, removing each operation once its half is done,
            /// until it has sent all of `mine` and received `expect` messages.
            fn exchange(
                start: &Barrier,
                tx: &Sender<usize>,
                rx: &Receiver<usize>,
                mine: Range<usize>,
                expect: usize,
            ) -> (Instant, Instant, usize, usize) {
                let mut sel = Select::new();
                let send = sel.send(tx);
                let recv = sel.recv(rx);
                let mut next = mine.start;
                let (mut count, mut sum) = (0usize, 0usize);
                start.wait();
                let began = Instant::now();
                while next < mine.end || count < expect {
                    let oper = sel.select();
                    if oper.index() == send {
                        oper.send(tx, next).unwrap();
                        next += 1;
                        if next == mine.end {
                            sel.remove(send);
                        }
                    } else {
                        assert_eq!(oper.index(), recv);
                        sum += oper.recv(rx).unwrap();
                        count += 1;
                        if count == expect {
                            sel.remove(recv);
                        }
                    }
                }
                (began, Instant::now(), count, sum)
            }

            /// `select/zero2`; timed from the first thread leaving the start barrier to the
            /// last one done.
            fn zero2(messages: usize) -> Duration {
                let half = messages / 2;
                assert!(half > 0, "each side sends at least one message");
                let (a_tx, a_rx) = bounded(0);
                let (b_tx, b_rx) = bounded(0);
                let start = &Barrier::new(2);
                thread::scope(|s| {
                    let one = s.spawn(|| exchange(start, &a_tx, &b_rx, 0..half, half));
                    let two = s.spawn(|| exchange(start, &b_tx, &a_rx, half..messages, half));
                    let (began1, ended1, count1, sum1) = one.join().unwrap();
                    let (began2, ended2, count2, sum2) = two.join().unwrap();
                    check_received($id, messages, count1 + count2, sum1 + sum2);
                    ended1.max(ended2) - began1.min(began2)
                })
            }

            /// `select/many1000` with `channels` channels, the last one fed; timed from the
            /// first thread leaving the start barrier to the receiver seeing the fed
            /// channel disconnected.
            fn many(channels: usize, messages: usize) -> Duration {
                let (mut txs, rxs): (Vec<_>, Vec<_>) =
                    (0..channels).map(|_| channel(Flavor::Unbounded)).unzip();
                let fed = txs.pop().expect("at least one channel");
                let fed_index = channels - 1;
                let start = &Barrier::new(2);
                let elapsed = thread::scope(|s| {
                    let producer = s.spawn(move || {
                        start.wait();
                        let began = Instant::now();
                        for i in 0..messages {
                            fed.send(i).unwrap();
                        }
                        began
                    });
                    let consumer = s.spawn(|| {
                        // Built once and reused: both libraries' `select` take `&mut self`.
                        let mut sel = Select::new();
                        for (i, rx) in rxs.iter().enumerate() {
                            assert_eq!(sel.recv(rx), i);
                        }
                        start.wait();
                        let began = Instant::now();
                        let (mut count, mut sum) = (0usize, 0usize);
                        loop {
                            let oper = sel.select();
                            let index = oper.index();
                            // Only the fed channel can be ready: the others are empty and
                            // connected (their senders are `txs`, alive until the end).
                            assert_eq!(index, fed_index, "{}: selected an idle channel", $id);
                            match oper.recv(&rxs[index]) {
                                Ok(value) => {
                                    count += 1;
                                    sum += value;
                                }
                                Err(_) => break,
                            }
                        }
                        (began, Instant::now(), count, sum)
                    });
                    let first = producer.join().unwrap();
                    let (began, ended, count, sum) = consumer.join().unwrap();
                    check_received($id, messages, count, sum);
                    ended - first.min(began)
                });
                drop(txs);
                elapsed
            }
        }
    };
}

select_cells!(
    /// The select cells on panama.
    panama_select,
    "panama",
    panama
);
select_cells!(
    /// The select cells on crossbeam-channel.
    crossbeam_select,
    "crossbeam",
    crossbeam_channel
);

/// Puts glibc's allocator in the state it reaches once a process has freed a large block,
/// before any library is measured.
///
/// glibc returns freed heap tops to the OS while its trim threshold is the 128 KiB it
/// starts with, and raises the threshold when a large `mmap`ed block is freed. Criterion
/// frees such blocks in its analysis, so without this the first benchmark of a run (and
/// only that one) ran up to twice as slow as the same code measured later, because its
/// unbounded queue was paying for page faults. Other allocators ignore this.
pub fn settle_allocator() {
    drop(black_box(vec![1u8; 16 << 20]));
}

/// One line describing the machine: the CPU model from `/proc/cpuinfo` where readable,
/// and the parallelism std reports (cores, or the CPU quota if one is set).
pub fn machine_description() -> String {
    let cores = thread::available_parallelism().map_or_else(|_| "?".to_owned(), |n| n.to_string());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!(
        "machine: {model}, {cores} cores (available_parallelism), {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
