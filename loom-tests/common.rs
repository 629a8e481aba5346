//! Shared by the loom models: the model runner with CI's default preemption bound.
//!
//! # Late unparks
//!
//! A notifier may unpark a waiter's thread after that thread has stopped waiting: the waiter
//! found its operation ready on its re-check while the notifier was selecting it. With std
//! that is a stray wake-up, which `park` allows for. Loom 0.7.3 mishandles one case: an
//! `unpark` that reaches a thread blocked in `JoinHandle::join` wakes it from the join, and
//! loom then fails its own assertion `state.notified` (rt/notify.rs:122). Three loom threads
//! and no panama code reproduce it: one unparks main while main joins another. So in a
//! model where a thread both waits on a channel and later joins, that assertion is not a
//! bug in the model's subject. Such models leave threads unjoined instead: loom runs every
//! spawned thread to its end anyway, fails the model if one panics, and reports a deadlock
//! if one never finishes (checked with a throwaway model).

/// Runs `f` under loom. `LOOM_MAX_PREEMPTIONS` wins if set; otherwise the bound is 3, so
/// that the plain `RUSTFLAGS="--cfg loom" cargo test` finishes in bounded time.
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// Like [`model`], for a model whose spin-waits make bound 3 exceed loom's branch limit:
/// uses `bound` unless `LOOM_MAX_PREEMPTIONS` is set lower.
pub fn model_with_bound<F: Fn() + Sync + Send + 'static>(bound: usize, f: F) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.map_or(bound, |b| b.min(bound)));
    builder.check(f);
}

/// A message that counts its own drops, to check "dropped exactly once".
pub struct Counted(pub loom::sync::Arc<loom::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, loom::sync::atomic::Ordering::Relaxed);
    }
}
