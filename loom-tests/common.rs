//! Shared by the loom models: the model runner with CI's default preemption bound.

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
#[allow(dead_code)] // Not every model file uses it.
pub fn model_with_bound<F: Fn() + Sync + Send + 'static>(bound: usize, f: F) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.map_or(bound, |b| b.min(bound)));
    builder.check(f);
}

/// A message that counts its own drops, to check "dropped exactly once".
#[allow(dead_code)] // Not every model file uses it.
pub struct Counted(pub loom::sync::Arc<loom::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, loom::sync::atomic::Ordering::Relaxed);
    }
}
