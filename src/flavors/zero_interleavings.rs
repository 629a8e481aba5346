//! Regression tests for the rendezvous flavor's lost wake-ups (issue 14), driven through
//! exact interleavings with pause points (`crate::pause`): each test holds a thread at a
//! named line, as a preemption there would, does what the other threads did in the bad
//! schedule, and then checks that nobody is left asleep beside a partner.
//!
//! Liveness is checked with generous limits (a blocked operation has a 30 s deadline and the
//! test waits 10 s for it): on the fixed code each step takes microseconds; on the old code
//! the operation stayed blocked until its deadline.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::pause::{self, Gate};
use crate::{bounded, SendTimeoutError, TryRecvError};

/// How long a test waits for a held thread to arrive, or for an operation to finish.
const LIMIT: Duration = Duration::from_secs(10);
/// The deadline of the operations that must not be left blocked.
const LONG: Duration = Duration::from_secs(30);

/// Spawns `f` on a thread that first arms `points` (each stops it once); returns the
/// thread's handle and a gate per point, in order.
fn spawn_armed<R: Send + 'static>(
    points: &'static [&'static str],
    f: impl FnOnce() -> R + Send + 'static,
) -> (JoinHandle<R>, Vec<Arc<Gate>>) {
    let (gates_tx, gates_rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let gates: Vec<_> = points.iter().map(|&p| pause::arm(p)).collect();
        gates_tx.send(gates).unwrap();
        f()
    });
    (handle, gates_rx.recv().unwrap())
}

/// Holds until the gate's thread is at `name`, then lets it go on.
fn pass(gate: &Gate, name: &str) {
    gate.wait_arrived(name, LIMIT);
    gate.release();
}

/// The result `f`'s thread sends, within [`LIMIT`], or a panic with `what`.
fn within<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("{what} still blocked after {LIMIT:?}"))
}

/// How the offer that receiver R2's re-check saw disappears before R2's claim.
#[derive(Clone, Copy)]
enum Vanish {
    /// Another receiver takes it with `try_recv`.
    TakenByTryRecv,
    /// Its sender's deadline has passed and it retracts it.
    Retracted,
}

/// Interleaving 1 of issue 14: R1 is exposed; R2 spins on R1's request and is held before it
/// registers; the sender serves R1 and exposes offer X; R2 registers, and its re-check sees
/// X and is held before its claim; X vanishes; R2's claim fails. R2 must not park there:
/// the next send (S3) exposes an offer and would wait for R2 forever, and R2 for it.
fn receiver_recheck_loses_offer(vanish: Vanish) {
    let (s, r) = bounded::<u32>(0);

    let r1 = r.clone();
    let (r1_thread, gates) = spawn_armed(&["zero::expose::exposed"], move || r1.recv());
    pass(&gates[0], "R1 exposing its request");

    let r2 = r.clone();
    let (r2_thread, r2_gates) =
        spawn_armed(&["wait_on::register", "zero::step::claim"], move || {
            r2.recv_timeout(LONG)
        });
    r2_gates[0].wait_arrived("R2 before registering", LIMIT);

    // Serve R1: R2 is not registered yet, so this wakes nobody.
    s.send(1).unwrap();
    assert_eq!(r1_thread.join().unwrap(), Ok(1));

    // S2 exposes offer X.
    let s2 = s.clone();
    let (s2_thread, s2_gates) = spawn_armed(&["zero::expose::exposed"], move || match vanish {
        Vanish::TakenByTryRecv => s2.send_timeout(2, LONG),
        Vanish::Retracted => s2.send_timeout(2, Duration::ZERO),
    });
    s2_gates[0].wait_arrived("S2 exposing its offer", LIMIT);

    // R2 registers; its re-check sees X and stops before claiming it.
    r2_gates[0].release();
    r2_gates[1].wait_arrived("R2 before its claim", LIMIT);

    // X vanishes.
    match vanish {
        Vanish::TakenByTryRecv => {
            s2_gates[0].release();
            assert_eq!(r.try_recv(), Ok(2));
            assert_eq!(s2_thread.join().unwrap(), Ok(()));
        }
        Vanish::Retracted => {
            s2_gates[0].release();
            assert_eq!(s2_thread.join().unwrap(), Err(SendTimeoutError::Timeout(2)));
        }
    }

    // R2's claim fails. Then S3 sends: the two must meet.
    r2_gates[1].release();
    let s3 = s.clone();
    let s3_thread = thread::spawn(move || s3.send_timeout(3, LONG));
    let got = within("R2, with S3's offer to take,", move || {
        r2_thread.join().unwrap()
    });
    assert_eq!(got, Ok(3));
    assert_eq!(s3_thread.join().unwrap(), Ok(()));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn receiver_recheck_loses_offer_to_try_recv() {
    receiver_recheck_loses_offer(Vanish::TakenByTryRecv);
}

#[test]
fn receiver_recheck_loses_offer_to_its_senders_timeout() {
    receiver_recheck_loses_offer(Vanish::Retracted);
}

/// Interleaving 2 of issue 14: S1's deadline has passed, so it retracts its offer and, as
/// the senders' combiner, exposes parked S2's offer for it. The last receiver leaves
/// between the combiner's look at the disconnection flag and its exposing CAS. S2 must be
/// woken and get its message back, not be left "handed" with nobody to complete it.
#[test]
fn combiner_exposes_parked_offer_as_last_receiver_leaves() {
    let (s1, r) = bounded::<u32>(0);
    let s2 = s1.clone();

    let (s1_thread, s1_gates) = spawn_armed(
        &["zero::expose::exposed", "zero::expose_parked_offer::cas"],
        move || s1.send_timeout(1, Duration::ZERO),
    );
    s1_gates[0].wait_arrived("S1 exposing its offer", LIMIT);

    // S2 finds S1's offer, registers with its own, re-checks: it will park.
    let (s2_thread, s2_gates) =
        spawn_armed(&["zero::send::rechecked"], move || s2.send_timeout(2, LONG));
    pass(&s2_gates[0], "S2 after its re-check");

    // S1 retracts; its notification exposes S2's offer, and stops before the CAS.
    s1_gates[0].release();
    s1_gates[1].wait_arrived("S1 exposing S2's offer", LIMIT);
    drop(r);
    s1_gates[1].release();

    // S1 reports what it finds when it returns, after the disconnection: either way its
    // message comes back.
    assert!(matches!(
        s1_thread.join().unwrap(),
        Err(SendTimeoutError::Timeout(1) | SendTimeoutError::Disconnected(1))
    ));
    let got = within("S2, on a disconnected channel,", move || {
        s2_thread.join().unwrap()
    });
    assert_eq!(got, Err(SendTimeoutError::Disconnected(2)));
}

/// The mirror of interleaving 1 on the senders' side: a sender's re-check sees a request
/// that `try_send` takes before the sender's claim. Its re-check only looks, so it must
/// then expose its offer for the next receiver rather than park.
#[test]
fn sender_claim_loses_request_to_try_send() {
    let (s, r) = bounded::<u32>(0);

    let r1 = r.clone();
    let (r1_thread, gates) = spawn_armed(&["zero::expose::exposed"], move || r1.recv());
    pass(&gates[0], "R1 exposing its request");

    let s2 = s.clone();
    let (s2_thread, s2_gates) =
        spawn_armed(&["zero::step::claim"], move || s2.send_timeout(2, LONG));
    s2_gates[0].wait_arrived("S2 before its claim", LIMIT);
    s.try_send(1).unwrap();
    assert_eq!(r1_thread.join().unwrap(), Ok(1));
    s2_gates[0].release();

    let got = within("R3, with S2 sending,", move || r.recv_timeout(LONG));
    assert_eq!(got, Ok(2));
    assert_eq!(s2_thread.join().unwrap(), Ok(()));
}

/// The exposure made on a parked sender's behalf must not use the packet's address once it
/// has published it. S1's retraction exposes B's offer X as the senders' combiner and is
/// held before its look at the flag; a receiver takes X, so B's first send returns (its
/// wait still claimed by S1), and B's second send exposes a new offer, which in a release
/// build sits at X's address on B's stack. The last receiver leaves, held between its flag
/// swap and its look at the slot; S1 then sees the flag. A combiner that took the offer
/// back by a CAS on X's address here removed B's *new* offer, and B waited forever: the
/// disconnection then found the slot empty. (A debug build puts the two packets at
/// different addresses, so there the test passes either way; the release-build runs, under
/// ThreadSanitizer in CI, are the ones that catch it.)
#[test]
fn combiner_does_not_retract_an_offer_by_a_reused_address() {
    let (s1, r) = bounded::<u32>(0);
    let s2 = s1.clone();

    let (s1_thread, s1_gates) = spawn_armed(
        &[
            "zero::expose::exposed",
            "zero::expose_parked_offer::exposed",
        ],
        move || s1.send_timeout(1, Duration::ZERO),
    );
    s1_gates[0].wait_arrived("S1 exposing its offer", LIMIT);

    let (first_tx, first_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (b_thread, b_gates) = spawn_armed(
        &["zero::send::rechecked", "zero::expose::exposed"],
        move || {
            first_tx.send(s2.send_timeout(2, LONG)).unwrap();
            go_rx.recv().unwrap();
            s2.send_timeout(3, LONG)
        },
    );
    pass(&b_gates[0], "B after its re-check");

    // S1 retracts its offer and, as the combiner, exposes B's; held before the flag look.
    s1_gates[0].release();
    s1_gates[1].wait_arrived("S1 after exposing B's offer", LIMIT);

    // A receiver takes B's offer: B's first send returns while S1 still holds its wait.
    assert_eq!(r.recv(), Ok(2));
    assert_eq!(first_rx.recv_timeout(LIMIT).unwrap(), Ok(()));
    go_tx.send(()).unwrap();
    pass(&b_gates[1], "B exposing its second offer");

    // The last receiver leaves, held after its flag swap; S1 looks at the flag meanwhile.
    let (d_thread, d_gates) = spawn_armed(&["zero::disconnect::swapped"], move || drop(r));
    d_gates[0].wait_arrived("the last receiver after its flag swap", LIMIT);
    s1_gates[1].release();
    assert!(matches!(
        s1_thread.join().unwrap(),
        Err(SendTimeoutError::Timeout(1) | SendTimeoutError::Disconnected(1))
    ));
    d_gates[0].release();
    d_thread.join().unwrap();

    let got = within("B's second send, on a disconnected channel,", move || {
        b_thread.join().unwrap()
    });
    assert_eq!(got, Err(SendTimeoutError::Disconnected(3)));
}
