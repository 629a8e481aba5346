//! Fast, lock-free, model-checked multi-producer multi-consumer channels.
//!
//! panama is a drop-in replacement for [crossbeam-channel] 0.5 and for
//! [`std::sync::mpsc`]: the same functions, handles, methods and error types, with the same
//! behaviour on disconnection and timeouts.
//!
//! # Hello, world
//!
#![cfg_attr(not(panama_loom), doc = "```")]
#![cfg_attr(panama_loom, doc = "```ignore")]
//! use std::thread;
//!
//! let (s, r) = panama::unbounded();
//! thread::spawn(move || s.send("Hello, world!").unwrap());
//! assert_eq!(r.recv(), Ok("Hello, world!"));
//! ```
//!
//! # Flavors
//!
//! - [`unbounded`] (std's name: [`channel`]): never full; memory grows with the messages
//!   queued and is given back as they are received.
//! - [`bounded`] (std's name: [`sync_channel`]): holds at most a fixed number of messages;
//!   with capacity 0, a rendezvous.
//! - Timers, receivers only: [`after`] and [`at`] deliver one [`Instant`] at a deadline,
//!   [`tick`] one every period, and [`never`](fn@never) nothing ever.
//!
//! [`Instant`]: std::time::Instant
//!
//! # Sharing and disconnection
//!
//! Both [`Sender`] and [`Receiver`] can be cloned and sent to other threads. When every
//! sender is gone, receivers get the messages left and then [`RecvError`]. When every
//! receiver is gone, the messages left are dropped and sends fail with [`SendError`],
//! which hands the message back.
//!
//! If the `Drop` of a message left in the channel panics while the last receiver (or the
//! last handle) is dropped, that panic propagates out of the handle's `drop`, and the
//! messages queued after that one are leaked: never dropped, so never dropped twice or
//! during the unwind, where a second panicking `Drop` would abort the process. The channel
//! is left empty and disconnected, and its own memory is still freed. crossbeam-channel
//! and [`std::sync::mpsc`] do the same: the first panic propagates, the rest are leaked.
//!
//! # Blocking
//!
//! A blocked operation spins briefly, then parks its thread; the other side unparks it.
//! There is no lock on any path. Timeouts as large as [`Duration::MAX`] wait forever.
//!
//! [crossbeam-channel]: https://docs.rs/crossbeam-channel/0.5
//! [`Duration::MAX`]: std::time::Duration::MAX
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

/// The opening fence of a doc example: ignored in a loom build, where the library's atomics
/// only work inside a loom model (build.rs explains `panama_loom`).
#[cfg(not(panama_loom))]
macro_rules! doctest {
    () => {
        "```"
    };
}
#[cfg(panama_loom)]
macro_rules! doctest {
    () => {
        "```ignore"
    };
}
pub(crate) use doctest;

mod channel;
mod counter;
mod error;
mod flavors;
mod pause;
mod select;
mod select_macro;
mod spin;
mod sync;
mod waiter;

pub use crate::channel::{
    after, at, bounded, channel, never, sync_channel, tick, unbounded, IntoIter, Iter, Receiver,
    Sender, TryIter,
};
pub use crate::error::{
    ReadyTimeoutError, RecvError, RecvTimeoutError, SelectTimeoutError, SendError,
    SendTimeoutError, TryReadyError, TryRecvError, TrySelectError, TrySendError,
};
pub use crate::select::{Select, SelectedOperation};

/// Internals that the loom models in `loom-tests/` drive directly. Only in loom builds.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::sync::seqcst_accesses_ordered;
    pub use crate::waiter::{block_on, Deadline, Look, Registry, Waiter};
}

/// The README's examples, compiled and run as doctests (not in a loom build).
#[cfg(all(doctest, not(panama_loom)))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
