//! Loom models of the selection protocol (src/select.rs, and its rendezvous part in
//! src/flavors/zero.rs, "Selection"), through the public API. Under loom a `Select` keeps
//! the order its operations were added in (no shuffle), so each model runs the same way
//! every time loom repeats a schedule.

use std::time::Duration;

use crate::common::{model, model_with_bound, party, Ledger};
use loom::thread;
use panama::{
    bounded, unbounded, Receiver, RecvError, Select, SendError, SendTimeoutError, TryRecvError,
};

/// A timeout that, under loom, passes at the thread's first timed park (src/sync.rs, `now`):
/// the selection has registered everywhere by then, so it times out a registered wait.
const TIMEOUT: Duration = Duration::from_secs(3600);

/// Selects a receive on `r1` or `r2` and completes it: the index (0 or 1) and the message.
fn select_recv(r1: &Receiver<usize>, r2: &Receiver<usize>) -> (usize, usize) {
    let mut sel = Select::new();
    let i1 = sel.recv(r1);
    let i2 = sel.recv(r2);
    let op = sel.select();
    let index = op.index();
    let msg = if index == i1 {
        op.recv(r1)
    } else {
        assert_eq!(index, i2);
        op.recv(r2)
    };
    (index, msg.expect("both channels stay connected"))
}

/// A selection of one receive on `r`, completed.
fn selected_recv(r: &Receiver<usize>) -> Result<usize, RecvError> {
    let mut sel = Select::new();
    sel.recv(r);
    sel.select().recv(r)
}

/// A selection of one send of `msg` on `s`, completed.
fn selected_send(s: &panama::Sender<usize>, msg: usize) -> Result<(), SendError<usize>> {
    let mut sel = Select::new();
    sel.send(s);
    sel.select().send(s, msg)
}

/// One selecting thread registered in two registries (a bounded and an unbounded channel)
/// while a sender on each notifies its registry: the two notifications race for the one
/// wait, and exactly one operation completes per selection. The other message stays in its
/// channel, and the second selection gets it. Deadlocks without the re-check after
/// registering.
#[test]
fn one_waiter_two_registries_two_senders() {
    model(|| {
        let (s1, r1) = bounded(1);
        let (s2, r2) = unbounded();
        // Kept, so that a drained channel is not disconnected (a disconnected operation is
        // ready, and the second selection could pick it).
        let _keep = (s1.clone(), s2.clone());
        // Unjoined: main waits on the channels (common.rs, "Late unparks").
        thread::spawn(move || s1.send(0).unwrap());
        thread::spawn(move || s2.send(1).unwrap());
        let (first, msg) = select_recv(&r1, &r2);
        assert_eq!(msg, first, "the message of the selected channel");
        let (second, msg) = select_recv(&r1, &r2);
        assert_eq!(msg, second);
        assert_ne!(first, second, "one message taken twice, the other lost");
        assert_eq!(r1.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(r2.try_recv(), Err(TryRecvError::Empty));
    });
}

/// A selection timing out as a message arrives: either the message is selected and
/// received, or the selection times out and leaves the message in the channel.
#[test]
fn select_timeout_races_send() {
    model(|| {
        let (s, r) = bounded(1);
        thread::spawn(move || s.send(1).unwrap());
        let mut sel = Select::new();
        sel.recv(&r);
        match sel.select_timeout(TIMEOUT) {
            Ok(op) => assert_eq!(op.recv(&r), Ok(1)),
            Err(_) => assert_eq!(r.recv(), Ok(1), "the message left in the channel"),
        }
        assert!(r.try_recv().is_err(), "one message, received once");
    });
}

/// The same race on a rendezvous channel, where the selection's exposed request is what
/// the sender claims: a sender holding the selection's wait (`BUSY`, writing its message)
/// as the deadline passes wins, and the selection receives; otherwise the selection
/// retracts its request and times out, and a plain receive then meets the sender. Fails if
/// `abort` does not wait out `BUSY`: the sender's message goes into a request the selection
/// gave up, and is lost.
#[test]
fn select_timeout_on_rendezvous_races_sender() {
    model(|| {
        let (s, r) = bounded(0);
        let ledger = Ledger::new(2);
        party(&ledger, move |l| {
            s.send(1).unwrap();
            l.sent(1);
        });
        let mut sel = Select::new();
        sel.recv(&r);
        let msg = match sel.select_timeout(TIMEOUT) {
            Ok(op) => op.recv(&r),
            Err(_) => r.recv(),
        };
        ledger.received(msg.unwrap());
        ledger.finish();
    });
}

/// The same race beside a blocked plain receiver: a selection selected as its deadline
/// passes has consumed the notification, so it must take the message then (its last
/// attempt), or that receiver sleeps beside it while the channel stays connected. Deadlocks
/// if the selection returns at its deadline without that attempt. (Bound 1: above it the two
/// receivers spinning on the sender's claimed but unwritten slot, with the sender preempted,
/// exceed loom's branch limit, as in `try_send_takes_slot_during_completion`.)
#[test]
fn select_selected_at_deadline_takes_the_message() {
    model_with_bound(1, || {
        let (s, r) = bounded(1);
        let r2 = r.clone();
        // Kept until the outcome is checked: the other receiver must get the message while
        // the channel is connected, not only when disconnection wakes it.
        let keep = s.clone();
        let (done_s, done_r) = bounded(1);
        thread::spawn(move || s.send(1).unwrap());
        thread::spawn(move || {
            let _ = done_s.send(r2.recv());
        });
        let mut sel = Select::new();
        sel.recv(&r);
        match sel.select_timeout(TIMEOUT) {
            Ok(op) => {
                assert_eq!(op.recv(&r), Ok(1));
                drop(keep);
                assert_eq!(
                    done_r.recv(),
                    Ok(Err(RecvError)),
                    "one message, received once"
                );
            }
            Err(_) => assert_eq!(done_r.recv(), Ok(Ok(1)), "the other receiver's message"),
        }
    });
}

/// Two threads select on one rendezvous channel, one to send and one to receive: the one
/// that exposes a packet is found by the other, they pair, and the message arrives once.
/// Deadlocks if a selection claiming a selecting sender's offer does not record itself as
/// the reader to wake once the message is written.
#[test]
fn two_selecting_threads_pair_on_rendezvous() {
    model(|| {
        let (s, r) = bounded(0);
        let ledger = Ledger::new(2);
        party(&ledger, move |l| {
            let mut sel = Select::new();
            sel.send(&s);
            let op = sel.select();
            op.send(&s, 1).unwrap();
            l.sent(1);
        });
        let mut sel = Select::new();
        sel.recv(&r);
        let op = sel.select();
        ledger.received(op.recv(&r).unwrap());
        ledger.finish();
    });
}

/// A selecting receiver on a rendezvous channel while the last sender tries one send and
/// leaves: the selection completes, with the message if the `try_send` found its packet,
/// with the error otherwise. It never hangs, and the packet it exposed is freed (loom's
/// leak check): fails that check if a retraction leaves its packet in the slot (a
/// selection that saw the flag after exposing its packet, which the disconnecting thread's
/// look at the slot missed), or if the selection does not drop its own count of it.
#[test]
fn selecting_receiver_races_last_sender_drop() {
    model(|| {
        let (s, r) = bounded(0);
        let ledger = Ledger::new(2);
        party(&ledger, move |l| {
            if s.try_send(1).is_ok() {
                l.sent(1);
            }
            drop(s);
        });
        if let Ok(msg) = selected_recv(&r) {
            ledger.received(msg);
        }
        ledger.finish();
    });
}

/// The mirror: a selecting sender on a rendezvous channel while the last receiver tries one
/// receive and leaves. A `try_recv` that claims the selecting sender's offer waits for the
/// message it is owed; otherwise the send fails and hands its message back. Deadlocks if
/// that `try_recv` does not record itself as the reader to wake; leaks as the mirror does.
#[test]
fn selecting_sender_races_last_receiver_drop() {
    model(|| {
        let (s, r) = bounded(0);
        let ledger = Ledger::new(2);
        party(&ledger, move |l| {
            if let Ok(msg) = r.try_recv() {
                l.received(msg);
            }
            drop(r);
        });
        match selected_send(&s, 1) {
            Ok(()) => ledger.sent(1),
            Err(SendError(msg)) => assert_eq!(msg, 1),
        }
        ledger.finish();
    });
}

/// A selecting sender exposed on two rendezvous channels: a receiver claims its offer on
/// one while the other's last receiver leaves, and the disconnection takes its packet on
/// the other. Both must claim the one wait: the winner decides, the loser lets its packet
/// go. If the disconnection decided the wait without claiming it, the selection could
/// report the failed send while the receiver waits for a message that never comes
/// (deadlock; so does a receive that takes the packet without claiming the wait).
#[test]
fn partner_and_disconnection_race_for_one_selection() {
    model(|| {
        let (s1, r1) = bounded(0);
        let (s2, r2) = bounded(0);
        let ledger = Ledger::new(2);
        party(&ledger, move |l| {
            if let Ok(msg) = r1.recv() {
                l.received(msg);
            }
        });
        thread::spawn(move || drop(r2));
        let mut sel = Select::new();
        let i1 = sel.send(&s1);
        let i2 = sel.send(&s2);
        let op = sel.select();
        if op.index() == i1 {
            op.send(&s1, 1).unwrap();
            ledger.sent(1);
        } else {
            assert_eq!(op.index(), i2);
            assert_eq!(op.send(&s2, 2), Err(SendError(2)));
        }
        drop(s1);
        ledger.finish();
    });
}

/// A selecting receiver over a rendezvous channel and a bounded one, while one thread sends
/// on the bounded channel and then on the rendezvous one: if the bounded send wins, the
/// selection retracts its rendezvous packet (or the rendezvous send finds it dead and lets
/// it go), every allocation is freed (loom's leak check), and a plain send/receive pair on
/// the rendezvous channel then meets. Each message arrives once. Fails if a sender takes a
/// selecting thread's packet without claiming its wait: the message goes into a packet
/// whose selection chose the other channel, and is lost.
#[test]
fn losing_rendezvous_registration_retracted_after_a_win() {
    model(|| {
        let (s0, r0) = bounded(0);
        let (s1, r1) = bounded(1);
        let _keep = s1.clone();
        let ledger = Ledger::new(2);
        party(&ledger, move |l| {
            s1.send(1).unwrap();
            l.sent(1);
            s0.send(2).unwrap();
            l.sent(2);
        });
        let (index, msg) = select_recv(&r0, &r1);
        ledger.received(msg);
        assert_eq!(msg, 2 - index, "the message of the selected channel");
        // The other one, by a plain receive.
        ledger.received(if index == 0 { r1.recv() } else { r0.recv() }.unwrap());
        ledger.finish();
    });
}

/// The rule for `try_`: a `try_recv` racing a selecting sender's exposure on a
/// rendezvous channel, beside a blocked plain receiver, which may have seen the offer on
/// its re-check when the `try_recv` takes it. Whoever claims the offer waits for the
/// message the selection then writes; the other receiver leaves once the sender is gone.
/// Every successful send is received once. Deadlocks if a receive claiming a selecting
/// sender's offer does not record itself as the reader, or if a registration that finds
/// its operation ready does not stop the round.
#[test]
fn try_recv_races_selecting_sender_exposure() {
    model(|| {
        let (s, r) = bounded(0);
        let ledger = Ledger::new(3);
        let r2 = r.clone();
        party(&ledger, move |l| {
            selected_send(&s, 1).unwrap();
            l.sent(1);
        });
        party(&ledger, move |l| {
            while let Ok(msg) = r2.recv() {
                l.received(msg);
            }
        });
        if let Ok(msg) = r.try_recv() {
            ledger.received(msg);
        }
        drop(r);
        ledger.finish();
    });
}

/// The rule for timed sends: an expiring `send_timeout` racing a selecting
/// receiver's exposure on a rendezvous channel. The send either meets the selection or
/// retracts its offer (which the selection may have seen as ready); after a timeout a
/// blocking send follows, and the selection receives exactly one of the two messages.
/// Deadlocks if a registration that finds the other side's offer (ready) does not stop the
/// round: the selection parks beside that offer, unregistered.
#[test]
fn expiring_send_races_selecting_receiver_exposure() {
    model(|| {
        let (s, r) = bounded(0);
        let ledger = Ledger::new(2);
        party(&ledger, move |l| match s.send_timeout(1, Duration::ZERO) {
            Ok(()) => l.sent(1),
            Err(SendTimeoutError::Timeout(1)) => {
                s.send(2).unwrap();
                l.sent(2);
            }
            Err(other) => panic!("unexpected {other:?}"),
        });
        ledger.received(selected_recv(&r).unwrap());
        ledger.finish();
    });
}

/// Two selecting receivers on one rendezvous channel and one plain sender: the second
/// selection finds the first one's request exposed and registers behind it; the sender
/// takes one request, and the other selection completes with the error once the sender is
/// gone. The message arrives once; every packet is freed (leaks if a retraction leaves its
/// packet in the slot; deadlocks if a registration that finds its operation ready does not
/// stop the round).
#[test]
fn two_selecting_receivers_one_sender() {
    model(|| {
        let (s, r) = bounded(0);
        let ledger = Ledger::new(3);
        let r2 = r.clone();
        party(&ledger, move |l| {
            if let Ok(msg) = selected_recv(&r2) {
                l.received(msg);
            }
        });
        party(&ledger, move |l| {
            s.send(1).unwrap();
            l.sent(1);
        });
        if let Ok(msg) = selected_recv(&r) {
            ledger.received(msg);
        }
        ledger.finish();
    });
}

/// Two selections crosswise over two rendezvous channels, each a send on one and a receive
/// on the other, so that each may expose a packet in both: they pair on exactly one
/// channel, consistently (each completes the operation the other completed the other side
/// of), and the message arrives once.
#[test]
fn crosswise_selections_pair_once() {
    model(|| {
        let (s1, r1) = bounded(0);
        let (s2, r2) = bounded(0);
        let ledger = Ledger::new(2);
        party(&ledger, move |l| {
            let mut sel = Select::new();
            let a = sel.send(&s1);
            let _b = sel.recv(&r2);
            let op = sel.select();
            if op.index() == a {
                op.send(&s1, 1).unwrap();
                l.sent(1);
            } else {
                l.received(op.recv(&r2).unwrap());
            }
        });
        let mut sel = Select::new();
        let a = sel.recv(&r1);
        let _b = sel.send(&s2);
        let op = sel.select();
        if op.index() == a {
            ledger.received(op.recv(&r1).unwrap());
        } else {
            op.send(&s2, 2).unwrap();
            ledger.sent(2);
        }
        ledger.finish();
    });
}

/// A selection waiting both to send and to receive on one rendezvous channel, in either
/// order, and a plain receiver: the selection's one packet stands for both operations, so
/// the receiver claims it for the send (it never parks behind the selection's request), and
/// the selection never pairs with itself. Deadlocks if the second operation registers
/// beside the first's packet instead of making it a `BOTH` packet (found by a std test:
/// the receiver parked behind the selecting thread's request, which waited for a sender).
#[test]
fn selection_sending_and_receiving_on_one_channel_meets_a_receiver() {
    for recv_first in [false, true] {
        model(move || {
            let (s, r) = bounded::<usize>(0);
            let r2 = r.clone();
            let ledger = Ledger::new(2);
            party(&ledger, move |l| l.received(r2.recv().unwrap()));
            let mut sel = Select::new_biased();
            let (si, ri) = if recv_first {
                let ri = sel.recv(&r);
                (sel.send(&s), ri)
            } else {
                let si = sel.send(&s);
                (si, sel.recv(&r))
            };
            let op = sel.select();
            assert_eq!(
                op.index(),
                si,
                "paired with itself, or received from no sender"
            );
            assert_ne!(op.index(), ri);
            op.send(&s, 0).unwrap();
            ledger.sent(0);
            ledger.finish();
        });
    }
}
