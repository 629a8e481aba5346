//! Every library on every cell of the bench matrix, interleaved run by run, as one table.
//!
//! ```text
//! cargo run --release --manifest-path benches/Cargo.toml --example compare
//! cargo run --release --manifest-path benches/Cargo.toml --example compare -- \
//!     --rounds 25 --filter mpsc/ --csv /tmp/compare.csv
//! python3 scripts/chart.py /tmp/compare.csv docs/compare.svg
//! ```
//!
//! Why not just criterion (`cargo bench`): criterion measures one library's iterations
//! back to back, then the next library's. On a shared 2-core VM the background load
//! drifts over seconds, so a library can win a cell because the machine was quiet while it
//! ran. Here each round runs every cell once per library, in an order that changes from
//! round to round and from cell to cell (see [`order`]), so drift spreads over all
//! libraries alike; the median over the rounds then drops the runs that a burst of load hit.
//!
//! Printed: one row per cell (the cells and adapters are `harness.rs`'s, shared with the
//! criterion bench), the median ns per message of each library, the fastest peer, and
//! panama's median divided by that peer's; under the table, the geometric mean of those
//! ratios over all cells (below 1: panama is faster than the best peer, on average).
//! `--csv` also writes each median with the minimum and maximum run.
//!
//! Runs per cell are sized so that the default run (15 rounds) takes a minute or two on the
//! 2-core machine: [`MESSAGES`] messages per run, except on bounded(0) and bounded(1),
//! where std, crossbeam and flume park and wake a thread for almost every message, and on
//! `select/many1000`, where one `select` may look at a thousand channels; see
//! [`messages_for`]. The `select/*` cells run on panama and crossbeam-channel only.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use panama_bench::{
    cells, machine_description, settle_allocator, skipped_cells, Cell, Flavor, SelectCase, Shape,
    LIBRARIES, MANY_CHANNELS, MESSAGES,
};

/// Rounds when `--rounds` is not given: odd, so the median is one run. 15 rather than
/// fewer because the bounded(0) and bounded(1) runs spread by up to 10x between their fastest
/// and slowest round on the shared VM, and the rounds are cheap: 9 of them took 46 s there
/// while other jobs kept both cores busy.
const DEFAULT_ROUNDS: usize = 15;

/// Messages per run on the channels that hold at most one message.
const SMALL_CAP_MESSAGES: usize = 20_000;

/// Messages per run of `select/many1000`, where each `select` may try every one of the
/// [`MANY_CHANNELS`] receivers before finding the fed one.
const MANY_MESSAGES: usize = 10_000;

const USAGE: &str = "\
usage: compare [--rounds N] [--filter SUBSTR] [--library NAME] [--csv PATH]

  --rounds N       runs of each library on each cell; the median is reported (default 15)
  --filter SUBSTR  only the cells whose name contains SUBSTR (e.g. mpsc/, bounded0, 256B,
                   select; /bounded for the bounded cells, since unbounded contains bounded,
                   and that includes select/bounded4)
  --library NAME   only this library (repeatable), e.g. to profile one under perf
  --csv PATH       also write the results as CSV to PATH";

/// The command line.
struct Options {
    rounds: usize,
    filter: Option<String>,
    libraries: Vec<String>,
    csv: Option<String>,
}

/// Parses the command line by hand (the bench package depends on nothing but the
/// libraries under test and criterion). `Ok(None)` means `--help` was asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        rounds: DEFAULT_ROUNDS,
        filter: None,
        libraries: Vec::new(),
        csv: None,
    };
    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--rounds" => {
                let text = value()?;
                options.rounds = match text.parse() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--rounds wants a positive number, not {text:?}")),
                };
            }
            "--filter" => options.filter = Some(value()?),
            "--library" => {
                let name = value()?;
                if !LIBRARIES.iter().any(|library| library.name == name) {
                    return Err(format!("no library named {name:?}"));
                }
                options.libraries.push(name);
            }
            "--csv" => options.csv = Some(value()?),
            "-h" | "--help" => return Ok(None),
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(Some(options))
}

/// Messages per run for `cell`: [`MESSAGES`], or [`SMALL_CAP_MESSAGES`] on bounded(0) and
/// bounded(1) (`select/zero2` included), or [`MANY_MESSAGES`] on `select/many1000`.
///
/// On those two flavors std's `sync_channel`, crossbeam and flume park and wake a thread
/// for nearly every message: 2-45 us per message on the shared 2-core VM, so with 100,000
/// messages there one round took 30 s (one std spsc/bounded0 run alone 4.6 s) against 3-9 s
/// with 20,000. Each message pays for its own hand-off there, so the shorter runs should
/// not change the per-message figure, and each still lasts tens of milliseconds. Both counts split evenly over 4 producers; bounded(N)
/// keeps N = [`MESSAGES`], so it still never fills.
fn messages_for(cell: Cell) -> usize {
    if cell.shape == Shape::Select(SelectCase::Many1000) {
        return MANY_MESSAGES;
    }
    match cell.flavor {
        Flavor::Bounded(cap) if cap <= 1 => SMALL_CAP_MESSAGES,
        _ => MESSAGES,
    }
}

/// The median of `samples` (sorted in place): the middle one, or the mean of the two
/// middle ones.
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    }
}

/// The order in which the `n` libraries run cell number `cell` in `round`: position `p`
/// runs library `(start + p * step) % n`.
///
/// `start` moves on by one every round (and from one cell to the next), so over any `n`
/// rounds at one step each library runs once in each position: none is always first after
/// another cell's runs, or always last. `step` (coprime with `n`, so every library runs)
/// changes every `n` rounds; with step `s` library `l` runs right after library `l - s`,
/// so the steps vary who runs just before whom, in case one library leaves the caches or
/// the allocator in a state that helps or hurts the next. With 5 libraries, 15 rounds use
/// steps 1, 2 and 3, and 20 rounds all four.
fn order(round: usize, cell: usize, n: usize) -> impl Iterator<Item = usize> {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let steps: Vec<usize> = (1..n.max(2)).filter(|&s| gcd(s, n) == 1).collect();
    let step = steps[(round / n) % steps.len()];
    let start = round + cell;
    (0..n).map(move |p| (start + p * step) % n)
}

/// One library's results on one cell.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(samples: &mut [f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let median = median(samples);
        Some(Stats {
            median,
            min: samples[0],
            max: samples[samples.len() - 1],
        })
    }
}

/// The fastest peer on a cell (by median) and panama's median over its.
fn best_peer(row: &[Option<Stats>]) -> Option<(&'static str, f64)> {
    let panama = row[0].as_ref()?.median;
    let (name, best) = LIBRARIES
        .iter()
        .zip(row)
        .skip(1)
        .filter_map(|(library, stats)| Some((library.name, stats.as_ref()?.median)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    Some((name, panama / best))
}

/// Prints the table of medians, one row per cell, and returns the geometric mean of the
/// panama / best peer ratios with the number of cells it covers (`None` if no cell had
/// both).
fn print_table(cells: &[Cell], stats: &[Vec<Option<Stats>>]) -> Option<(f64, i32)> {
    let width = cells
        .iter()
        .map(|cell| cell.name().len())
        .max()
        .unwrap_or(0)
        .max("cell".len());
    let mut header = format!("{:<width$}", "cell");
    for library in LIBRARIES {
        let _ = write!(header, " {:>10}", library.name);
    }
    let _ = write!(header, "  {:<10} {:>12}", "best peer", "panama/best");
    println!("{header}");
    println!("{}", "-".repeat(header.len()));

    let mut log_sum = 0.0;
    let mut ratios = 0;
    for (cell, row) in cells.iter().zip(stats) {
        let mut line = format!("{:<width$}", cell.name());
        for stats in row {
            match stats {
                Some(stats) => {
                    let _ = write!(line, " {:>10.1}", stats.median);
                }
                None => {
                    let _ = write!(line, " {:>10}", "-");
                }
            }
        }
        if let Some((name, ratio)) = best_peer(row) {
            let _ = write!(line, "  {name:<10} {ratio:>12.2}");
            log_sum += ratio.ln();
            ratios += 1;
        }
        println!("{line}");
    }
    (ratios > 0).then(|| ((log_sum / f64::from(ratios)).exp(), ratios))
}

/// Writes one CSV row per (cell, library) that ran.
fn write_csv(
    path: &str,
    cells: &[Cell],
    stats: &[Vec<Option<Stats>>],
    rounds: usize,
) -> std::io::Result<()> {
    let mut out =
        String::from("cell,shape,flavor,message,library,median_ns_per_msg,min,max,rounds\n");
    for (cell, row) in cells.iter().zip(stats) {
        for (library, stats) in LIBRARIES.iter().zip(row) {
            if let Some(s) = stats {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{:.3},{:.3},{:.3},{rounds}",
                    cell.name(),
                    cell.shape.name(),
                    cell.flavor.name(),
                    cell.message.name(),
                    library.name,
                    s.median,
                    s.min,
                    s.max,
                );
            }
        }
    }
    std::fs::write(path, out)
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("compare: {error}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let began = Instant::now();

    let cells: Vec<Cell> = cells()
        .into_iter()
        .filter(|cell| {
            options
                .filter
                .as_ref()
                .is_none_or(|filter| cell.name().contains(filter.as_str()))
        })
        .collect();
    if cells.is_empty() {
        let filter = options.filter.as_deref().unwrap_or_default();
        eprintln!("compare: no cell name contains {filter:?}");
        return ExitCode::FAILURE;
    }

    println!("{}", machine_description());
    println!(
        "{} rounds; per run: {MESSAGES} messages ({SMALL_CAP_MESSAGES} on bounded0, \
         bounded1 and select/zero2, {MANY_MESSAGES} on select/many1000 over \
         {MANY_CHANNELS} channels), split evenly over the producers; median ns per message",
        options.rounds
    );
    println!("std = std::sync::mpsc::channel on unbounded, sync_channel(n) on bounded(n)");
    for (cell, reason) in skipped_cells() {
        println!("skipped {cell} (every library): {reason}");
    }
    // Which libraries run each cell, decided once; the skips are printed.
    let runs: Vec<Vec<bool>> = cells
        .iter()
        .map(|&cell| {
            LIBRARIES
                .iter()
                .map(|library| match (library.check)(cell) {
                    Ok(())
                        if !options.libraries.is_empty()
                            && !options.libraries.iter().any(|name| name == library.name) =>
                    {
                        false
                    }
                    Ok(()) => true,
                    Err(reason) => {
                        println!("skipped {cell}/{}: {reason}", library.name);
                        false
                    }
                })
                .collect()
        })
        .collect();
    println!();

    settle_allocator();
    // One short untimed pass: thread stacks, code pages and the allocator's pools are
    // then warm for every library before round 1, not just for the ones that run late.
    for (&cell, runs) in cells.iter().zip(&runs) {
        let warm_up = messages_for(cell) / 10 / 4 * 4;
        for (library, _) in LIBRARIES.iter().zip(runs).filter(|(_, &run)| run) {
            (library.run)(cell, warm_up);
        }
    }

    // samples[cell][library]: ns per message, one per round.
    let mut samples: Vec<Vec<Vec<f64>>> = cells
        .iter()
        .map(|_| vec![Vec::with_capacity(options.rounds); LIBRARIES.len()])
        .collect();
    let n = LIBRARIES.len();
    for round in 0..options.rounds {
        for (index, (&cell, runs)) in cells.iter().zip(&runs).enumerate() {
            let messages = messages_for(cell);
            for library in order(round, index, n) {
                if runs[library] {
                    let elapsed = (LIBRARIES[library].run)(cell, messages);
                    samples[index][library].push(elapsed.as_nanos() as f64 / messages as f64);
                }
            }
        }
        eprintln!(
            "round {}/{} done, {:.0} s elapsed",
            round + 1,
            options.rounds,
            began.elapsed().as_secs_f64()
        );
    }

    let stats: Vec<Vec<Option<Stats>>> = samples
        .iter_mut()
        .map(|row| row.iter_mut().map(|s| Stats::of(s)).collect())
        .collect();
    let geomean = print_table(&cells, &stats);
    println!();
    match geomean {
        Some((g, count)) => {
            let cells = if count == 1 { "cell" } else { "cells" };
            println!("geometric mean of panama / best peer over {count} {cells}: {g:.2}")
        }
        None => println!("geometric mean of panama / best peer: no cell with both"),
    }
    if let Some(path) = &options.csv {
        if let Err(error) = write_csv(path, &cells, &stats, options.rounds) {
            eprintln!("compare: writing {path}: {error}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    println!("total wall time: {:.0} s", began.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
