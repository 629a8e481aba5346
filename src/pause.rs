//! Named pause points, for tests that must hold one thread at an exact line.
//!
//! Some interleavings need one thread preempted between two particular instructions (a
//! re-check and a claim, a look at a flag and a CAS). The OS may do that at any time, but a
//! stress test hits such a window too rarely to be a regression test. Code on those paths
//! calls [`point`] with a name; a test arms that name for one thread with [`arm`], runs the
//! operation on that thread, waits until the thread [`arrived`](Gate::wait_arrived), does
//! what the interleaving needs from other threads, and [`release`](Gate::release)s it.
//!
//! Compiled in only for this crate's own unit tests in std mode (`cfg(all(test,
//! not(loom)))`): in every other build (release, the integration tests' library, loom) a
//! point is an empty inline function, and nothing here is public. Arming is per thread (a
//! thread-local list), so tests running side by side never catch each other's threads, and
//! a point costs an armed thread's own list lookup only. It uses std's atomics and threads
//! directly rather than `crate::sync`'s: it never exists in a loom build.

#[cfg(all(test, not(loom)))]
pub(crate) use imp::{arm, point, Gate};

/// Does nothing: pause points exist only in the crate's own std-mode unit tests.
#[cfg(not(all(test, not(loom))))]
#[inline(always)]
pub(crate) fn point(_name: &'static str) {}

#[cfg(all(test, not(loom)))]
mod imp {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    /// Armed, nobody there yet.
    const ARMED: u8 = 0;
    /// The armed thread is held at the point.
    const ARRIVED: u8 = 1;
    /// The test let it go.
    const RELEASED: u8 = 2;

    /// One arming of one point for one thread: the test's handle on the held thread.
    #[derive(Debug)]
    pub(crate) struct Gate {
        state: AtomicU8,
    }

    impl Gate {
        /// Waits until the armed thread reaches the point; panics after `limit`, naming it.
        pub(crate) fn wait_arrived(&self, name: &str, limit: Duration) {
            let start = Instant::now();
            // ORDERING: Acquire pairs with the held thread's Release: what it did before
            // the point is visible to the test.
            while self.state.load(Ordering::Acquire) == ARMED {
                assert!(
                    start.elapsed() < limit,
                    "no thread reached pause point {name} within {limit:?}"
                );
                thread::sleep(Duration::from_micros(200));
            }
        }

        /// Lets the held thread go on (or, if it has not arrived yet, pass without stopping).
        pub(crate) fn release(&self) {
            // ORDERING: Release pairs with the held thread's Acquire: what the test did
            // while holding it is visible to it when it goes on.
            self.state.store(RELEASED, Ordering::Release);
        }
    }

    thread_local! {
        /// The points armed for this thread, each stopping it once.
        static ARMED_HERE: RefCell<Vec<(&'static str, Arc<Gate>)>> =
            const { RefCell::new(Vec::new()) };
    }

    /// Arms `name` for the calling thread: the next time this thread reaches that point it
    /// stops there until the returned gate is released.
    pub(crate) fn arm(name: &'static str) -> Arc<Gate> {
        let gate = Arc::new(Gate {
            state: AtomicU8::new(ARMED),
        });
        ARMED_HERE.with(|armed| armed.borrow_mut().push((name, gate.clone())));
        gate
    }

    /// A pause point: holds the calling thread here if the point is armed for it.
    pub(crate) fn point(name: &'static str) {
        let gate = ARMED_HERE.with(|armed| {
            let mut armed = armed.borrow_mut();
            let at = armed.iter().position(|(n, _)| *n == name)?;
            Some(armed.remove(at).1)
        });
        let Some(gate) = gate else { return };
        // ORDERING: Release/Acquire pairs with the test's `wait_arrived` and `release`.
        if gate
            .state
            .compare_exchange(ARMED, ARRIVED, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            return; // Released before we got here.
        }
        while gate.state.load(Ordering::Acquire) != RELEASED {
            thread::sleep(Duration::from_micros(200));
        }
    }
}
