//! The loom models, one module per protocol, in one test binary.
//!
//! One binary rather than one per file: `cargo test` runs test binaries one after another
//! and each binary's tests on every core, so with a binary per file the longest model of
//! each file kept one core busy while the other idled, and the loom stage took the sum of
//! those longest models. In one binary the long models run side by side with the rest.
//! The modules keep the names the binaries had, so a model is still called, for example,
//! `loom_array::lap_wrap_around_two_producers`.
//!
//! Outside loom this compiles to nothing.
#![cfg(loom)]

mod common;

#[path = "array.rs"]
mod loom_array;
#[path = "counter.rs"]
mod loom_counter;
#[path = "list.rs"]
mod loom_list;
#[path = "list_races.rs"]
mod loom_list_races;
#[path = "select.rs"]
mod loom_select;
#[path = "waiter.rs"]
mod loom_waiter;
#[path = "zero.rs"]
mod loom_zero;
