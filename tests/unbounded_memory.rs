//! Heap usage of the unbounded flavor, measured by a counting global allocator: memory stays
//! bounded while messages flow, blocks are freed while draining (not only at drop), and
//! dropping the channel gives everything back.
//!
//! The allocator counter is process-global, so this file is a plain program
//! (`harness = false` in Cargo.toml: no libtest threads allocating alongside), and its
//! phases run one after another.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

use std::thread;

use panama::unbounded;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{live, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    // Under loom the channel's atomics are loom's, usable only inside a model.
    if !cfg!(loom) {
        channel_memory_is_bounded_and_reclaimed();
        println!("test channel_memory_is_bounded_and_reclaimed ... ok");
    }
}

const MIB: isize = 1 << 20;

fn channel_memory_is_bounded_and_reclaimed() {
    let total: u64 = if cfg!(miri) { 2_000 } else { 1_000_000 };
    let round: u64 = if cfg!(miri) { 200 } else { 10_000 };

    // Warm up anything std initializes lazily on the first thread spawn, so it is not
    // mistaken for channel memory below.
    thread::spawn(|| ()).join().unwrap();

    let before_channel = live();
    let (tx, rx) = unbounded::<u64>();
    let baseline = live();

    // Phase 1: rounds of "send `round`, receive `round`" on one thread.
    let mut peak = 0;
    let mut sent = 0;
    while sent < total {
        for i in 0..round {
            tx.send(sent + i).unwrap();
        }
        peak = peak.max(live() - baseline);
        for i in 0..round {
            assert_eq!(rx.try_recv(), Ok(sent + i));
        }
        sent += round;
    }
    let after_rounds = live() - baseline;
    assert!(
        after_rounds < MIB,
        "after {total} messages in rounds of {round}, channel holds {after_rounds} bytes (peak {peak})"
    );

    // Phase 2: a producer thread and a consumer thread running concurrently. Plain
    // spawn + join (not scoped threads) so each thread has fully exited, thread-locals and
    // all, before we measure.
    let producer = {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 0..total {
                tx.send(i).unwrap();
            }
        })
    };
    let consumer = {
        let rx = rx.clone();
        thread::spawn(move || {
            for i in 0..total {
                assert_eq!(rx.recv(), Ok(i));
            }
        })
    };
    producer.join().unwrap();
    consumer.join().unwrap();
    let after_concurrent = live() - baseline;
    assert!(
        after_concurrent < MIB,
        "after a concurrent run of {total} messages, channel holds {after_concurrent} bytes"
    );

    // Phase 3: a large backlog, then drain it. The backlog must really be on the heap (this
    // also proves the counting allocator sees the channel's allocations) and draining must
    // free blocks as it goes, while the channel is still alive.
    for i in 0..total {
        tx.send(i).unwrap();
    }
    let backlog = live() - baseline;
    let payload = (total as usize * std::mem::size_of::<u64>()) as isize;
    assert!(
        backlog >= payload,
        "{total} queued u64s occupy only {backlog} bytes: allocator not counting?"
    );
    for i in 0..total {
        assert_eq!(rx.recv(), Ok(i));
    }
    let after_drain = live() - baseline;
    assert!(
        after_drain < MIB,
        "after draining a backlog of {total} ({backlog} bytes), channel still holds {after_drain} bytes"
    );

    // Phase 4: a backlog left in the channel is freed when the channel is dropped.
    for i in 0..total / 10 {
        tx.send(i).unwrap();
    }
    assert!(live() - baseline > 0);
    drop(tx);
    drop(rx);
    let leaked = live() - before_channel;
    eprintln!(
        "channel bytes: after rounds {after_rounds} (peak {peak}), after concurrent \
         {after_concurrent}, backlog {backlog}, after drain {after_drain}, after drop {leaked}"
    );
    assert!(
        leaked <= 0,
        "dropping the channel left {leaked} bytes allocated (live {}, before channel {before_channel})",
        live()
    );
}
