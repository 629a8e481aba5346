//! The channel flavors. Each is a self-contained queue protocol behind the same handles;
//! the timer flavors (`at`, `tick`, `never`) are receivers only, with no queue.

pub(crate) mod array;
pub(crate) mod at;
pub(crate) mod list;
pub(crate) mod never;
pub(crate) mod tick;
pub(crate) mod zero;

/// Whether a send may still be writing a slot it claimed while a flavor drops its queue.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Writers {
    /// The last receiver's discard: a send that claimed a slot before the disconnection
    /// mark may still be writing it (or installing the next block); it is waited for.
    MayBeWriting,
    /// `Drop`: every handle is gone, so every send has finished.
    Done,
}

/// Runs `drop_all`, which drops the messages still queued in a channel (the last receiver's
/// discard, or the channel's `Drop`). If one message's `Drop` panics, runs `leak_rest` while
/// that panic unwinds, and lets the panic go on to the caller.
///
/// `drop_all` must move the channel's head past a message before dropping it, so that
/// `leak_rest` starts after the message that panicked. `leak_rest` must give up the
/// messages from there on without dropping them (they are leaked), leave the channel empty
/// (so that nothing drops them later), free the channel's memory it can free without
/// touching them, and not panic. So the first panic reaches the caller, no message is
/// dropped twice, and none is dropped during the unwind, where a second panicking `Drop`
/// would abort the process. crossbeam-channel and std's mpsc do the same (the first panic
/// propagates; the messages after it are leaked).
pub(crate) fn drop_or_leak(drop_all: impl FnOnce(), leak_rest: impl FnOnce()) {
    /// Runs its closure if dropped, which happens only while `drop_all` unwinds.
    struct OnUnwind<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for OnUnwind<F> {
        fn drop(&mut self) {
            if let Some(leak_rest) = self.0.take() {
                leak_rest();
            }
        }
    }
    let guard = OnUnwind(Some(leak_rest));
    drop_all();
    std::mem::forget(guard);
}
