//! The channel flavors. Each is a self-contained queue protocol behind the same handles.

pub(crate) mod array;
pub(crate) mod list;
pub(crate) mod zero;

/// Runs `drop_rest`, which drops the messages still queued in a channel being freed; if one
/// message's `Drop` panics, runs it once more while unwinding, so that the messages after it
/// are dropped too. `drop_rest` must resume after the message that panicked (each flavor
/// moves its head past a message before dropping it). A second panic during that unwind
/// aborts, as it does when dropping a `Vec`.
pub(crate) fn drop_resuming(drop_rest: &dyn Fn()) {
    struct Resume<'a>(&'a dyn Fn());
    impl Drop for Resume<'_> {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    let resume = Resume(drop_rest);
    drop_rest();
    std::mem::forget(resume);
}
