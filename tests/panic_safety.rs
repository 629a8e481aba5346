//! Panic safety, for every flavor: a message whose `Drop` panics while the channel discards
//! its buffer (exactly one panic propagates, the messages before it are dropped exactly
//! once and those after it leaked, as in crossbeam-channel and std), or after it was
//! received (the channel stays usable); a receiving thread that panics while others keep
//! sending (senders carry on, or get their messages back once the last receiver is gone,
//! and every message is accounted for); a thread that panics holding a handle (its clone
//! is dropped by the unwinding, and the other side sees disconnection).
//!
//! Every test runs its scenario on a thread of its own, under a time limit: a missed
//! wake-up fails the test instead of hanging the run.
#![cfg(not(loom))]

mod common;

use std::cell::Cell;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::thread;
use std::time::Duration;

use panama::{Receiver, RecvError, RecvTimeoutError, SendError, Sender, TryRecvError};

use common::{addr, join_within, scaled, wait_for, within_limit, SETTLE, STRESS_LIMIT, WAKE_LIMIT};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

use common::panic_message;
use common::Flavor::{self, Bounded, Unbounded};

/// Every flavor.
const ALL: [Flavor; 4] = [Unbounded, Bounded(1), Bounded(16), Bounded(0)];

/// Every intentional panic's message starts with this, so the hook can keep them quiet.
const INTENTIONAL: &str = "intentional";

thread_local! {
    /// Set while this thread runs a case whose failures are collected and reported later.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Installs (once per process) a panic hook that stays silent for this file's intentional
/// panics (and on a thread running [`quietly`]) and reports every other panic as usual.
fn quiet_intentional_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let quiet = QUIET.with(Cell::get);
            if !quiet && !panic_message(info.payload()).starts_with(INTENTIONAL) {
                default(info);
            }
        }));
    });
}

/// Runs `f`, returning its panic message if it panics (which the hook does not print).
fn quietly(f: impl FnOnce()) -> Result<(), String> {
    QUIET.with(|q| q.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r.map_err(|payload| panic_message(&*payload))
}

/// Runs `f`, expecting it to panic with exactly `expected`.
#[track_caller]
fn expect_panic(expected: &str, f: impl FnOnce()) {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => panic!("expected the panic {expected:?}, but nothing panicked"),
        Err(payload) => assert_eq!(panic_message(&*payload), expected),
    }
}

/// Runs `f`, expecting it not to panic (a panic is reported with its message).
#[track_caller]
fn expect_no_panic(what: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        panic!("{what} panicked: {:?}", panic_message(&*payload));
    }
}

/// Joins a thread that must have panicked with exactly `expected`.
#[track_caller]
fn join_expecting_panic<R: std::fmt::Debug>(handle: thread::JoinHandle<R>, expected: &str) {
    let r = catch_unwind(AssertUnwindSafe(|| join_within(handle)));
    match r {
        Ok(v) => panic!("the thread returned {v:?} instead of panicking with {expected:?}"),
        Err(payload) => assert_eq!(panic_message(&*payload), expected),
    }
}

/// Per-message drop counters, plus how many `Drop`s panicked. Never panics itself, so a
/// double drop during an unwind is counted (and reported) rather than aborting.
struct Drops {
    per_id: Vec<AtomicUsize>,
    exploded: AtomicUsize,
}

impl Drops {
    fn new(ids: usize) -> Arc<Drops> {
        Arc::new(Drops {
            per_id: (0..ids).map(|_| AtomicUsize::new(0)).collect(),
            exploded: AtomicUsize::new(0),
        })
    }

    fn of(&self, id: usize) -> usize {
        self.per_id[id].load(Ordering::SeqCst)
    }

    fn exploded(&self) -> usize {
        self.exploded.load(Ordering::SeqCst)
    }

    /// Asserts that of ids `0..queued`, those up to `last` were each dropped exactly once
    /// and the later ones never (the messages queued after a panicking one are leaked).
    #[track_caller]
    fn assert_once_through(&self, last: usize, queued: usize, context: &str) {
        let wrong: Vec<usize> = (0..queued)
            .filter(|&id| self.of(id) != usize::from(id <= last))
            .collect();
        assert!(
            wrong.is_empty(),
            "{context}: expected ids 0..={last} dropped once and the rest of 0..{queued} never; \
             wrong for ids {} \
             (drop counts {:?})",
            ranges(&wrong),
            wrong.iter().map(|&id| self.of(id)).collect::<Vec<_>>(),
        );
    }

    /// Asserts that each of the ids was dropped exactly once.
    #[track_caller]
    fn assert_each_once(&self, context: &str) {
        let leaked: Vec<usize> = (0..self.per_id.len())
            .filter(|&id| self.of(id) == 0)
            .collect();
        let multi: Vec<usize> = (0..self.per_id.len())
            .filter(|&id| self.of(id) > 1)
            .collect();
        assert!(
            leaked.is_empty() && multi.is_empty(),
            "{context}: {} of {} messages never dropped (leaked), ids {}; \
             {} dropped more than once, ids {}",
            leaked.len(),
            self.per_id.len(),
            ranges(&leaked),
            multi.len(),
            ranges(&multi),
        );
    }
}

/// `[1, 2, 3, 7]` as `"1..=3, 7"`.
fn ranges(ids: &[usize]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        while i + 1 < ids.len() && ids[i + 1] == ids[i] + 1 {
            i += 1;
        }
        out.push(if ids[i] == start {
            start.to_string()
        } else {
            format!("{start}..={}", ids[i])
        });
        i += 1;
    }
    if out.is_empty() {
        "none".to_owned()
    } else {
        out.join(", ")
    }
}

/// A message that counts its drops, and whose first `Drop` panics if `explode` is set
/// (unless the thread is already unwinding: that would abort the test run). It holds its
/// ledger through `L`: an `Arc` by default, a reference in the teardown tests, where the
/// messages after a panicking one are leaked and must own no memory (Miri's leak check).
struct Bomb<L: Deref<Target = Drops> = Arc<Drops>> {
    id: usize,
    explode: bool,
    drops: L,
}

impl Bomb {
    fn new(id: usize, explode: bool, drops: &Arc<Drops>) -> Bomb {
        Bomb {
            id,
            explode,
            drops: Arc::clone(drops),
        }
    }
}

impl<'a> Bomb<&'a Drops> {
    fn borrowing(id: usize, explode: bool, drops: &'a Drops) -> Bomb<&'a Drops> {
        Bomb { id, explode, drops }
    }
}

/// The panic message of bomb `id`.
fn bomb_message(id: usize) -> String {
    format!("{INTENTIONAL}: bomb {id} went off")
}

impl<L: Deref<Target = Drops>> Drop for Bomb<L> {
    fn drop(&mut self) {
        let prev = self.drops.per_id[self.id].fetch_add(1, Ordering::SeqCst);
        if self.explode && prev == 0 && !thread::panicking() {
            self.drops.exploded.fetch_add(1, Ordering::SeqCst);
            panic!("{}", bomb_message(self.id));
        }
    }
}

/// Sends `count` messages and receives them, so the next message sits at a later slot
/// (a later index in a bounded ring, a later slot or block in an unbounded list).
fn advance<T>(s: &Sender<T>, r: &Receiver<T>, count: usize, make: impl Fn() -> T) {
    for _ in 0..count {
        s.try_send(make()).expect("advance: channel full");
        r.try_recv().expect("advance: message missing");
    }
}

// ---------------------------------------------------------------------------------------------
// A. A panicking `Drop` while the channel discards its buffer
// ---------------------------------------------------------------------------------------------

/// Who drops last, when the channel is torn down with messages buffered.
#[derive(Clone, Copy, Debug)]
enum LastHandle {
    /// The sender goes first; the last receiver's drop disposes of the buffer and frees
    /// the channel (the bomb goes off in there).
    Receiver,
    /// The receiver goes first (discarding; the bomb goes off); the sender, dropped later,
    /// frees the channel and whatever the panic left in it.
    Sender,
    /// Two receivers: the first one's drop does nothing; the second is the last handle.
    ClonedReceiver,
}

/// `buffered` messages sit in the channel (after `pre` sent-and-received ones, to move the
/// head), the one at `bomb_at` panics when dropped; the channel is torn down in `order`.
/// Exactly one panic (the bomb's) must come out; the messages before the bomb, and the
/// bomb, must be dropped exactly once, and those after it never (leaked).
fn teardown_with_one_bomb(
    flavor: Flavor,
    pre: usize,
    buffered: usize,
    bomb_at: usize,
    order: LastHandle,
) {
    let context =
        format!("{flavor:?}, {pre} before, bomb at {bomb_at} of {buffered}, last handle {order:?}");
    // One id per buffered message, plus one for a send after the disconnection.
    let drops = Drops::new(buffered + 1);
    let filler = Drops::new(1);
    let (s, r) = flavor.make::<Bomb<&Drops>>();
    advance(&s, &r, pre, || Bomb::borrowing(0, false, &filler));
    for id in 0..buffered {
        s.try_send(Bomb::borrowing(id, id == bomb_at, &drops))
            .expect("buffer: channel full");
    }
    assert_eq!(s.len(), buffered, "{context}");
    let expected = bomb_message(bomb_at);
    match order {
        LastHandle::Receiver => {
            drop(s);
            expect_panic(&expected, move || drop(r));
        }
        LastHandle::Sender => {
            expect_panic(&expected, move || drop(r));
            // The channel is disconnected: a send hands its message back.
            let err = s
                .send(Bomb::borrowing(buffered, false, &drops))
                .unwrap_err();
            assert_eq!(err.0.id, buffered);
            drop(err);
            expect_no_panic("dropping the last sender", move || drop(s));
        }
        LastHandle::ClonedReceiver => {
            let r2 = r.clone();
            drop(r);
            drop(s);
            expect_panic(&expected, move || drop(r2));
        }
    }
    // The messages after the bomb are leaked; the one sent after the disconnection was
    // handed back and dropped (in the other orders, none was sent: count it as dropped).
    if !matches!(order, LastHandle::Sender) {
        drop(Bomb::borrowing(buffered, false, &drops));
    }
    assert_eq!(drops.exploded(), 1, "{context}: bombs gone off");
    drops.assert_once_through(bomb_at, buffered, &context);
    assert_eq!(drops.of(buffered), 1, "{context}: the message handed back");
    assert_eq!(filler.of(0), pre, "{context}: the messages received before");
}

/// Runs [`teardown_with_one_bomb`] for `flavor` and `order` over several head positions
/// (`pre`) and bomb positions, and reports every case that fails (not just the first).
fn teardown_cases(flavor: Flavor, order: LastHandle) {
    quiet_intentional_panics();
    within_limit(STRESS_LIMIT, String::new, move || {
        // Unbounded: more than one 31-slot block, and heads at a block start, in the middle
        // of a block, and on the last slot of one. Bounded: heads at index 0 and wrapped.
        // Under Miri, a subset of the heads and bomb positions.
        let (n, mut pres) = match flavor {
            Unbounded => (scaled(70, 100, 100), vec![0, 31, 20, 30]),
            Bounded(cap) => (cap, vec![0, cap / 2 + 1, 1]),
        };
        pres.truncate(scaled(2, 4, 4));
        let mut positions = vec![0, n - 1, n / 2];
        if flavor == Unbounded {
            positions.extend([30, 31, 62]);
        }
        if cfg!(miri) {
            positions.truncate(if flavor == Unbounded { 5 } else { 2 });
        }
        positions.sort_unstable();
        positions.dedup();
        let mut failures = Vec::new();
        let mut cases = 0;
        for &pre in &pres {
            for &bomb_at in &positions {
                cases += 1;
                if let Err(msg) = quietly(|| teardown_with_one_bomb(flavor, pre, n, bomb_at, order))
                {
                    failures.push(msg);
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {cases} cases failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

macro_rules! teardown_tests {
    ($($name:ident: $flavor:expr, $order:expr;)*) => {$(
        #[test]
        fn $name() {
            teardown_cases($flavor, $order);
        }
    )*};
}

teardown_tests! {
    teardown_panic_unbounded_sender_last: Unbounded, LastHandle::Sender;
    teardown_panic_unbounded_receiver_last: Unbounded, LastHandle::Receiver;
    teardown_panic_unbounded_cloned_receiver_last: Unbounded, LastHandle::ClonedReceiver;
    teardown_panic_bounded1_sender_last: Bounded(1), LastHandle::Sender;
    teardown_panic_bounded1_receiver_last: Bounded(1), LastHandle::Receiver;
    teardown_panic_bounded1_cloned_receiver_last: Bounded(1), LastHandle::ClonedReceiver;
    teardown_panic_bounded16_sender_last: Bounded(16), LastHandle::Sender;
    teardown_panic_bounded16_receiver_last: Bounded(16), LastHandle::Receiver;
    teardown_panic_bounded16_cloned_receiver_last: Bounded(16), LastHandle::ClonedReceiver;
}

/// Two bombs: the first goes off while the last receiver discards the buffer; the second,
/// queued after it, is leaked with the rest, as in crossbeam-channel and std, so it never
/// goes off: the last sender frees the channel (`Channel::drop`) without a panic. (Until
/// issue 15, the channel went on dropping after a panic, as a `Vec` does, and the second
/// bomb went off there; a second panic during the unwind would have aborted.)
fn teardown_with_two_bombs(flavor: Flavor, buffered: usize, first: usize, second: usize) {
    let context = format!("{flavor:?}, bombs at {first} and {second} of {buffered}");
    let drops = Drops::new(buffered);
    let (s, r) = flavor.make::<Bomb<&Drops>>();
    for id in 0..buffered {
        s.try_send(Bomb::borrowing(id, id == first || id == second, &drops))
            .expect("buffer: channel full");
    }
    expect_panic(&bomb_message(first), move || drop(r));
    expect_no_panic("dropping the last sender", move || drop(s));
    assert_eq!(drops.exploded(), 1, "{context}: bombs gone off");
    drops.assert_once_through(first, buffered, &context);
}

#[test]
fn two_panicking_drops_in_teardown_unbounded() {
    quiet_intentional_panics();
    within_limit(STRESS_LIMIT, String::new, || {
        teardown_with_two_bombs(Unbounded, 100, 2, 5);
        teardown_with_two_bombs(Unbounded, 100, 10, 50);
    });
}

#[test]
fn two_panicking_drops_in_teardown_bounded16() {
    quiet_intentional_panics();
    within_limit(STRESS_LIMIT, String::new, || {
        teardown_with_two_bombs(Bounded(16), 16, 2, 5);
        teardown_with_two_bombs(Bounded(16), 16, 0, 1);
    });
}

// ---------------------------------------------------------------------------------------------
// B. A received value whose `Drop` panics
// ---------------------------------------------------------------------------------------------

/// Receives message `id` in a `catch_unwind` and drops it there: the panic (if it is a
/// bomb) must come out of the receiver's own code, nowhere else.
fn recv_and_drop(r: &Receiver<Bomb>, id: usize, bomb: bool) {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let m = r.recv_timeout(WAKE_LIMIT).expect("message missing");
        assert_eq!(m.id, id, "messages out of order");
        drop(m);
    }));
    match (result, bomb) {
        (Ok(()), false) => {}
        (Err(payload), true) => assert_eq!(panic_message(&*payload), bomb_message(id)),
        (Ok(()), true) => panic!("bomb {id} did not go off"),
        (Err(payload), false) => std::panic::resume_unwind(payload),
    }
}

#[test]
fn panicking_drop_of_received_message_leaves_channel_usable() {
    quiet_intentional_panics();
    within_limit(STRESS_LIMIT, String::new, || {
        for flavor in ALL {
            let rounds = scaled(3, 20, 20);
            let per_round = flavor.cap().map_or(40, |c| c.max(1));
            let total = rounds * per_round;
            let drops = Drops::new(total);
            let is_bomb = |id: usize| id % 3 == 1;
            let (s, r) = flavor.make::<Bomb>();
            let sender = {
                let s = s.clone();
                let drops = Arc::clone(&drops);
                thread::spawn(move || {
                    for id in 0..total {
                        s.send(Bomb::new(id, is_bomb(id), &drops)).unwrap();
                    }
                })
            };
            for round in 0..rounds {
                for i in 0..per_round {
                    let id = round * per_round + i;
                    recv_and_drop(&r, id, is_bomb(id));
                    assert_eq!(drops.of(id), 1, "{flavor:?}: message {id}");
                }
            }
            join_within(sender);
            // Still a working channel: both directions, and its counts.
            if flavor != Bounded(0) {
                let extra = Drops::new(1);
                s.send(Bomb::new(0, false, &extra)).unwrap();
                assert_eq!(r.len(), 1, "{flavor:?}");
                assert_eq!(r.try_recv().unwrap().id, 0);
                assert_eq!(r.len(), 0, "{flavor:?}");
                assert_eq!(extra.of(0), 1);
            }
            assert!(matches!(r.try_recv(), Err(TryRecvError::Empty)));
            drop(s);
            assert!(matches!(r.try_recv(), Err(TryRecvError::Disconnected)));
            drop(r);
            drops.assert_each_once(&format!("{flavor:?}"));
            assert_eq!(drops.exploded(), (0..total).filter(|&i| is_bomb(i)).count());
        }
    });
}

// ---------------------------------------------------------------------------------------------
// C. A receiving thread that panics while others keep sending
// ---------------------------------------------------------------------------------------------

/// Flags per message id.
fn flags(n: usize) -> Arc<Vec<AtomicBool>> {
    Arc::new((0..n).map(|_| AtomicBool::new(false)).collect())
}

fn count(flags: &[AtomicBool]) -> usize {
    flags.iter().filter(|f| f.load(Ordering::SeqCst)).count()
}

const RECEIVER_GIVES_UP: &str = "intentional: receiver gives up";

/// The receiver thread that panics: receives `k` messages (marking them received), then
/// one more, and panics while holding it (so it and the receiver are dropped by the
/// unwinding).
fn panicking_receiver(
    r: Receiver<Bomb>,
    k: usize,
    received: Arc<Vec<AtomicBool>>,
    about_to_panic: Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for _ in 0..k {
            let m = r.recv().expect("senders vanished");
            assert!(!received[m.id].swap(true, Ordering::SeqCst));
        }
        let held = r.recv().expect("senders vanished");
        assert!(!received[held.id].swap(true, Ordering::SeqCst));
        about_to_panic.store(true, Ordering::SeqCst);
        panic!("{RECEIVER_GIVES_UP}");
    })
}

/// The only receiver panics midway while `producers` threads keep sending: each send
/// either succeeds or (once the receiver is gone) fails and hands its message back, and
/// then every later send of that sender fails too. In the end every message is exactly one
/// of received, handed back, or dropped in the channel, and dropped exactly once.
fn sole_receiver_panics(flavor: Flavor) {
    let producers = scaled(2, 4, 4);
    let per = scaled(20, 500, 2000);
    let k = scaled(5, 100, 100);
    let total = producers * per;
    let drops = Drops::new(total);
    let received = flags(total);
    let returned = flags(total);
    let about_to_panic = Arc::new(AtomicBool::new(false));
    let (s, r) = flavor.make::<Bomb>();
    let receiver = panicking_receiver(r, k, Arc::clone(&received), Arc::clone(&about_to_panic));
    let senders: Vec<_> = (0..producers)
        .map(|p| {
            let s = s.clone();
            let drops = Arc::clone(&drops);
            let returned = Arc::clone(&returned);
            thread::spawn(move || {
                let mut failed = false;
                for seq in 0..per {
                    let id = p * per + seq;
                    match s.send(Bomb::new(id, false, &drops)) {
                        Ok(()) => assert!(!failed, "a send succeeded after a disconnection"),
                        Err(SendError(m)) => {
                            assert_eq!(m.id, id, "another message handed back");
                            returned[id].store(true, Ordering::SeqCst);
                            failed = true;
                        }
                    }
                }
            })
        })
        .collect();
    drop(s);
    join_expecting_panic(receiver, RECEIVER_GIVES_UP);
    for t in senders {
        join_within(t);
    }
    // Every handle is gone now: the channel has dropped whatever it held.
    let received_n = count(&received);
    let returned_n = count(&returned);
    let mut in_channel = 0;
    for id in 0..total {
        let (got, back) = (
            received[id].load(Ordering::SeqCst),
            returned[id].load(Ordering::SeqCst),
        );
        assert!(
            !(got && back),
            "{flavor:?}: message {id} received AND handed back"
        );
        if !got && !back {
            in_channel += 1;
        }
    }
    let context = format!(
        "{flavor:?}: {received_n} received, {returned_n} handed back, {in_channel} dropped in the channel"
    );
    assert_eq!(received_n, k + 1, "{context}");
    if let Some(cap) = flavor.cap() {
        assert!(in_channel <= cap, "{context}: more than the capacity");
        assert!(returned_n > 0, "{context}: blocked senders were never told");
    }
    drops.assert_each_once(&context);
}

#[test]
fn sole_receiver_panicking_hands_messages_back_to_senders() {
    quiet_intentional_panics();
    for flavor in ALL {
        within_limit(
            STRESS_LIMIT,
            move || format!("{flavor:?}"),
            move || sole_receiver_panics(flavor),
        );
    }
}

/// One of two receivers panics midway while `producers` threads keep sending: no send
/// fails, and the other receiver gets every message the first did not.
fn one_of_two_receivers_panics(flavor: Flavor) {
    let producers = scaled(2, 4, 4);
    let per = scaled(20, 500, 2000);
    let k = scaled(5, 100, 100);
    let total = producers * per;
    let drops = Drops::new(total);
    let received = flags(total);
    let about_to_panic = Arc::new(AtomicBool::new(false));
    let (s, r) = flavor.make::<Bomb>();
    let r2 = r.clone();
    let quitter = panicking_receiver(r, k, Arc::clone(&received), Arc::clone(&about_to_panic));
    // The second receiver starts once the first is panicking: until then the senders
    // block (bounded) or pile up (unbounded), and the first one's exit must not disconnect.
    let stayer = {
        let received = Arc::clone(&received);
        let about_to_panic = Arc::clone(&about_to_panic);
        thread::spawn(move || {
            wait_for(&about_to_panic);
            let mut n = 0;
            for m in r2.iter() {
                assert!(!received[m.id].swap(true, Ordering::SeqCst));
                n += 1;
            }
            n
        })
    };
    let senders: Vec<_> = (0..producers)
        .map(|p| {
            let s = s.clone();
            let drops = Arc::clone(&drops);
            thread::spawn(move || {
                for seq in 0..per {
                    let id = p * per + seq;
                    if s.send(Bomb::new(id, false, &drops)).is_err() {
                        panic!("send {id} failed while a receiver was alive");
                    }
                }
            })
        })
        .collect();
    drop(s);
    join_expecting_panic(quitter, RECEIVER_GIVES_UP);
    for t in senders {
        join_within(t);
    }
    let got = join_within(stayer);
    assert_eq!(
        got,
        total - (k + 1),
        "{flavor:?}: the surviving receiver's share"
    );
    assert_eq!(count(&received), total, "{flavor:?}");
    drops.assert_each_once(&format!("{flavor:?}"));
}

#[test]
fn receiver_panicking_while_another_remains_keeps_senders_going() {
    quiet_intentional_panics();
    for flavor in ALL {
        within_limit(
            STRESS_LIMIT,
            move || format!("{flavor:?}"),
            move || one_of_two_receivers_panics(flavor),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// D. A thread that panics holding a handle
// ---------------------------------------------------------------------------------------------

const SENDER_DIES: &str = "intentional: sender thread dies";
const RECEIVER_DIES: &str = "intentional: receiver thread dies";

/// Three producer threads with sender clones, two of which panic after sending their
/// share; the main thread's sender is dropped first, so one of the unwinding threads drops
/// the last sender. The receiver gets every message in per-producer order, then sees the
/// disconnection.
#[test]
fn panicking_sender_threads_disconnect_when_the_last_clone_unwinds() {
    quiet_intentional_panics();
    for flavor in ALL {
        within_limit(
            STRESS_LIMIT,
            move || format!("{flavor:?}"),
            move || {
                let per = scaled(5, 50, 50);
                let (s, r) = flavor.make::<(usize, usize)>();
                let receiver = thread::spawn(move || {
                    let got: Vec<(usize, usize)> = r.iter().collect();
                    // The iterator ended: the channel is empty and disconnected for good.
                    assert_eq!(r.recv(), Err(RecvError));
                    assert_eq!(
                        r.recv_timeout(Duration::from_millis(1)),
                        Err(RecvTimeoutError::Disconnected)
                    );
                    got
                });
                let producers: Vec<_> = (0..3)
                    .map(|p| {
                        let s = s.clone();
                        thread::spawn(move || {
                            for i in 0..per {
                                s.send((p, i)).unwrap();
                            }
                            if p < 2 {
                                panic!("{SENDER_DIES}");
                            }
                        })
                    })
                    .collect();
                drop(s);
                for (p, t) in producers.into_iter().enumerate() {
                    if p < 2 {
                        join_expecting_panic(t, SENDER_DIES);
                    } else {
                        join_within(t);
                    }
                }
                let got = join_within(receiver);
                for p in 0..3 {
                    let mine: Vec<usize> = got.iter().filter(|m| m.0 == p).map(|m| m.1).collect();
                    assert_eq!(
                        mine,
                        (0..per).collect::<Vec<_>>(),
                        "{flavor:?}: producer {p}"
                    );
                }
                assert_eq!(got.len(), 3 * per);
            },
        );
    }
}

/// The receiver is already blocked in `recv` when the thread holding the last sender
/// panics without sending: the unwinding drop must wake it with a disconnection.
#[test]
fn last_sender_unwinding_wakes_a_blocked_receiver() {
    quiet_intentional_panics();
    for flavor in ALL {
        within_limit(
            STRESS_LIMIT,
            move || format!("{flavor:?}"),
            move || {
                let (s, r) = flavor.make::<u32>();
                let parked = Arc::new(AtomicBool::new(false));
                let receiver = {
                    let parked = Arc::clone(&parked);
                    thread::spawn(move || {
                        parked.store(true, Ordering::SeqCst);
                        r.recv()
                    })
                };
                wait_for(&parked);
                let dying = thread::spawn(move || {
                    let _held = s;
                    thread::sleep(SETTLE);
                    panic!("{SENDER_DIES}");
                });
                join_expecting_panic(dying, SENDER_DIES);
                assert_eq!(join_within(receiver), Err(RecvError), "{flavor:?}");
            },
        );
    }
}

/// A sender is blocked in `send` (full bounded channel, or nobody at the rendezvous) when
/// the thread holding the last receiver panics: the sender must wake and get its message
/// back. On an unbounded channel (sends never block) the next send fails the same way.
#[test]
fn last_receiver_unwinding_hands_a_blocked_senders_message_back() {
    quiet_intentional_panics();
    for flavor in ALL {
        within_limit(
            STRESS_LIMIT,
            move || format!("{flavor:?}"),
            move || {
                let (s, r) = flavor.make::<Box<u64>>();
                for i in 0..flavor.cap().unwrap_or(3) {
                    s.try_send(Box::new(i as u64)).unwrap();
                }
                let send_checked = move |s: &Sender<Box<u64>>| {
                    let msg = Box::new(u64::MAX);
                    let a = addr(&*msg);
                    let back = s
                        .send(msg)
                        .expect_err("the send succeeded with no receiver");
                    assert_eq!(addr(&*back.0), a, "another message handed back");
                    assert_eq!(*back.0, u64::MAX);
                };
                let started = Arc::new(AtomicBool::new(false));
                let blocked_sender = match flavor {
                    Unbounded => None,
                    Bounded(_) => {
                        let s = s.clone();
                        let started = Arc::clone(&started);
                        Some(thread::spawn(move || {
                            started.store(true, Ordering::SeqCst);
                            send_checked(&s);
                        }))
                    }
                };
                if blocked_sender.is_some() {
                    wait_for(&started);
                }
                let dying = thread::spawn(move || {
                    let _held = r;
                    thread::sleep(SETTLE);
                    panic!("{RECEIVER_DIES}");
                });
                join_expecting_panic(dying, RECEIVER_DIES);
                if let Some(t) = blocked_sender {
                    join_within(t);
                }
                send_checked(&s);
            },
        );
    }
}
