//! Channel throughput: panama against std's mpsc, crossbeam-channel, flume and kanal.
//!
//! The matrix is crossbeam-channel's own (see `harness.rs`): shapes `seq`, `spsc`, `mpsc`
//! (4:1) and `mpmc` (4:4) on unbounded, bounded(0), bounded(1) and bounded(100000)
//! channels, moving `usize` messages, plus one `mpsc/unbounded/256B` cell with a 256-byte
//! message, and four `select/*` cells (one thread waiting on several channels with
//! `Select`; panama and crossbeam-channel only, the peers with that API). Every benchmark moves [`MESSAGES`] values through one channel, split evenly
//! across the producers of its shape, and reports throughput in messages. Benchmarks are
//! grouped by cell (`spsc/unbounded`, ...) with one id per library, so one run of this
//! binary compares all libraries under the same conditions:
//!
//! ```text
//! cd benches && cargo bench                  # everything
//! cd benches && cargo bench -- mpsc/         # one shape
//! cd benches && cargo bench -- /panama       # one library
//! ```
//!
//! Skipped, and printed as such when the binary starts: `seq` on bounded(0) and
//! bounded(1) (one thread cannot fill a channel that holds at most one message and then
//! drain it), std in every `mpmc` cell (its `Receiver` is not `Clone`), and std, flume and
//! kanal in the `select/*` cells.
//!
//! Criterion runs each library's iterations back to back, so slow drift on a shared
//! machine lands on whole libraries; `examples/compare.rs` runs the same cells with the
//! libraries interleaved run by run and prints a table of medians.
//!
//! Cells and libraries are rows in `harness.rs` (shared with the compare example).

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use panama_bench::{
    cells, machine_description, settle_allocator, skipped_cells, Cell, Library, LIBRARIES, MESSAGES,
};

/// Registers `library` in `group`, or says why it sits this cell out.
fn bench_library(group: &mut BenchmarkGroup<'_, WallTime>, cell: Cell, library: &Library) {
    if let Err(reason) = (library.check)(cell) {
        eprintln!("skipped {cell}/{}: {reason}", library.name);
        return;
    }
    group.bench_function(library.name, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| (library.run)(cell, MESSAGES)).sum())
    });
}

/// One group: every library on one cell.
fn bench_cell(c: &mut Criterion, cell: Cell) {
    let mut group = c.benchmark_group(cell.name());
    group.throughput(Throughput::Elements(MESSAGES as u64));
    for library in LIBRARIES {
        bench_library(&mut group, cell, library);
    }
    group.finish();
}

fn channels(c: &mut Criterion) {
    eprintln!("{}", machine_description());
    for (cell, reason) in skipped_cells() {
        eprintln!("skipped {cell} (every library): {reason}");
    }
    settle_allocator();
    for cell in cells() {
        bench_cell(c, cell);
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
