//! Throughput of `panama::unbounded` beside `std::sync::mpsc::channel`.
//!
//! For one producer and for four producers, each feeding one consumer, this moves a
//! number of `u64` messages (1,000,000 by default) through each kind of channel a few
//! times, alternating the two, and prints the median time per message. Every run checks
//! that the consumer received each value exactly once (by count and sum).
//!
//! ```text
//! cargo run --release --example throughput            # 1,000,000 messages
//! cargo run --release --example throughput -- 5000000 # another count
//! ```
//!
//! This is a quick demonstration, not a benchmark: the comparisons against
//! crossbeam-channel, flume and kanal, with statistics, are the criterion benchmarks in
//! `benches/` (`cd benches && cargo bench`).

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// Timed runs per channel and shape; the median is reported.
const RUNS: usize = 7;
const DEFAULT_MESSAGES: u64 = 1_000_000;

/// The two halves of an unbounded channel, as far as this demo uses them.
trait Channel {
    type Tx: Clone + Send;
    type Rx: Send;
    fn channel() -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, value: u64);
    fn recv(rx: &Self::Rx) -> Option<u64>;
}

struct Std;
impl Channel for Std {
    type Tx = std::sync::mpsc::Sender<u64>;
    type Rx = std::sync::mpsc::Receiver<u64>;
    fn channel() -> (Self::Tx, Self::Rx) {
        std::sync::mpsc::channel()
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("the receiver outlives the senders");
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

struct Panama;
impl Channel for Panama {
    type Tx = panama::Sender<u64>;
    type Rx = panama::Receiver<u64>;
    fn channel() -> (Self::Tx, Self::Rx) {
        panama::unbounded()
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("the receiver outlives the senders");
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

/// Sends `0..messages`, split across `producers` threads, to one consumer on a new
/// channel, checks what arrived, and returns the wall time from the first spawn to the
/// last join.
fn run<C: Channel>(producers: u64, messages: u64) -> Duration {
    let started = Instant::now();
    let (tx, rx) = C::channel();
    let (count, sum) = thread::scope(|s| {
        for p in 0..producers {
            let tx = tx.clone();
            let range = p * messages / producers..(p + 1) * messages / producers;
            s.spawn(move || range.for_each(|value| C::send(&tx, value)));
        }
        // Only the producers hold senders now: the consumer stops when all are done.
        drop(tx);
        let consumer = s.spawn(move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while let Some(value) = C::recv(&rx) {
                count += 1;
                sum += value;
            }
            (count, sum)
        });
        consumer.join().expect("the consumer does not panic")
    });
    let elapsed = started.elapsed();
    assert_eq!(count, messages, "a message was lost or duplicated");
    assert_eq!(sum, messages * (messages - 1) / 2, "a value was corrupted");
    elapsed
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn ns_per_message(time: Duration, messages: u64) -> f64 {
    time.as_nanos() as f64 / messages as f64
}

fn main() -> ExitCode {
    let messages = match std::env::args().nth(1) {
        None => DEFAULT_MESSAGES,
        Some(arg) => {
            match arg.replace('_', "").parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    eprintln!("usage: throughput [MESSAGES]  (a positive count, default {DEFAULT_MESSAGES})");
                    return ExitCode::FAILURE;
                }
            }
        }
    };

    println!("unbounded channels, {messages} u64 messages per run, median of {RUNS} runs");
    println!();
    println!(
        "{:<12} {:>12} {:>14} {:>9}",
        "shape", "std ns/msg", "panama ns/msg", "speedup"
    );
    for (shape, producers) in [("spsc (1:1)", 1), ("mpsc (4:1)", 4)] {
        // One untimed round each, so that neither pays for a cold start.
        run::<Std>(producers, messages);
        run::<Panama>(producers, messages);
        let (mut std_runs, mut panama_runs) = (Vec::new(), Vec::new());
        for round in 0..RUNS {
            // Alternate which goes first, so that neither always runs after the other.
            if round % 2 == 0 {
                std_runs.push(run::<Std>(producers, messages));
                panama_runs.push(run::<Panama>(producers, messages));
            } else {
                panama_runs.push(run::<Panama>(producers, messages));
                std_runs.push(run::<Std>(producers, messages));
            }
        }
        let std_ns = ns_per_message(median(std_runs), messages);
        let panama_ns = ns_per_message(median(panama_runs), messages);
        println!(
            "{shape:<12} {std_ns:>12.1} {panama_ns:>14.1} {:>8.2}x",
            std_ns / panama_ns
        );
    }
    println!();
    println!("every run received each message exactly once (count and sum checked)");
    ExitCode::SUCCESS
}
