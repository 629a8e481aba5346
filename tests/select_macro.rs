//! The `select!` and `select_biased!` grammar: every arm form, bodies, control flow out of
//! bodies, channel expressions, and 64 arms.
#![cfg(not(loom))]

use std::cell::Cell;
use std::time::Duration;

use panama::{after, bounded, never, select, select_biased, unbounded, RecvError, SendError};

#[test]
fn recv_and_send_arms_with_blocks_and_expressions() {
    let (s, r) = unbounded::<i32>();
    let (full, _keep) = bounded::<i32>(1);
    full.send(0).unwrap();
    s.send(1).unwrap();
    // Expression body with a trailing comma, then a block body without one.
    let got = select! {
        recv(r) -> msg => msg.unwrap(),
        send(full, 2) -> _res => { unreachable!("the channel is full") }
    };
    assert_eq!(got, 1);
    let (s, r) = bounded::<i32>(1);
    let sent = select! {
        send(s, 7) -> res => { res.is_ok() }
    };
    assert!(sent);
    assert_eq!(r.try_recv(), Ok(7));
    // A lone expression arm without a comma.
    s.send(8).unwrap();
    let v = select! { recv(r) -> msg => msg.unwrap() };
    assert_eq!(v, 8);
    // Trailing commas after blocks and after the channel arguments.
    s.send(9).unwrap();
    let v = select! {
        recv(r,) -> msg => { msg.unwrap() },
    };
    assert_eq!(v, 9);
    let ok = select! { send(s, 10,) -> res => res.is_ok(), };
    assert!(ok);
}

#[test]
fn patterns_and_results() {
    let (s, r) = unbounded::<(i32, i32)>();
    s.send((1, 2)).unwrap();
    let sum = select! {
        recv(r) -> msg => match msg { Ok((a, b)) => a + b, Err(RecvError) => -1 },
    };
    assert_eq!(sum, 3);
    drop(s);
    let disconnected = select! { recv(r) -> msg => msg == Err(RecvError) };
    assert!(disconnected);
    let (s, r) = bounded::<i32>(0);
    drop(r);
    let back = select! { send(s, 5) -> res => res };
    assert_eq!(back, Err(SendError(5)));
}

#[test]
fn default_arms() {
    let (s, r) = unbounded::<i32>();
    // Nothing ready: default runs.
    let v = select! {
        recv(r) -> _ => 1,
        default => 2,
    };
    assert_eq!(v, 2);
    // Something ready: default does not run.
    s.send(3).unwrap();
    let v = select! {
        recv(r) -> msg => msg.unwrap(),
        default => 0,
    };
    assert_eq!(v, 3);
    // default(timeout) times out; a block body without a trailing comma.
    let v = select! {
        recv(r) -> _ => 1,
        default(Duration::from_millis(10)) => { 2 }
    };
    assert_eq!(v, 2);
    // Only a default.
    let v = select! { default => 4 };
    assert_eq!(v, 4);
    let v = select! { default(Duration::from_millis(1)) => 5, };
    assert_eq!(v, 5);
    // default first, arms after.
    s.send(6).unwrap();
    let v = select! {
        default(Duration::from_secs(10)) => 0,
        recv(r) -> msg => msg.unwrap(),
    };
    assert_eq!(v, 6);
}

#[test]
fn control_flow_out_of_bodies() {
    let (s, r) = unbounded::<i32>();
    for i in 0..5 {
        s.send(i).unwrap();
    }
    drop(s);
    let mut seen = Vec::new();
    loop {
        select! {
            recv(r) -> msg => match msg {
                Ok(3) => continue,
                Ok(v) => seen.push(v),
                Err(_) => break,
            },
        }
    }
    assert_eq!(seen, [0, 1, 2, 4]);

    fn first_even(r: &panama::Receiver<i32>) -> Option<i32> {
        loop {
            select! {
                recv(r) -> msg => {
                    let v = msg.ok()?;
                    if v % 2 == 0 {
                        return Some(v);
                    }
                }
            }
        }
    }
    let (s, r) = unbounded();
    for v in [1, 3, 4, 5] {
        s.send(v).unwrap();
    }
    assert_eq!(first_even(&r), Some(4));
    drop(s);
    assert_eq!(first_even(&r), None);
}

#[test]
fn channel_expressions() {
    let (s, r) = unbounded::<i32>();
    let r_ref = &r;
    s.send(1).unwrap();
    s.send(2).unwrap();
    s.send(3).unwrap();
    // A local (not moved), a reference, a reference to a reference.
    let a = select! { recv(r) -> m => m.unwrap() };
    let b = select! { recv(r_ref) -> m => m.unwrap() };
    let c = select! { recv(&r_ref) -> m => m.unwrap() };
    assert_eq!((a, b, c), (1, 2, 3));
    // `r` and `s` are still usable: they were borrowed, not moved.
    s.send(4).unwrap();
    assert_eq!(r.recv(), Ok(4));
    // An owned temporary: a timer made in the arm, and a method call.
    let fired = select! {
        recv(after(Duration::from_millis(1))) -> at => at.is_ok(),
    };
    assert!(fired);
    s.send(5).unwrap();
    let v = select! { recv(r.clone()) -> m => m.unwrap() };
    assert_eq!(v, 5);
    let sent = select! { send(s.clone(), 6) -> res => res.is_ok() };
    assert!(sent);
    assert_eq!(r.recv(), Ok(6));
}

#[test]
fn same_channel_in_several_arms() {
    let (s, r) = unbounded::<i32>();
    s.send(1).unwrap();
    let which = select! {
        recv(r) -> m => (1, m.unwrap()),
        recv(r) -> m => (2, m.unwrap()),
    };
    assert_eq!(which.1, 1);
    assert_eq!(r.try_recv(), Err(panama::TryRecvError::Empty));
    let (s, r) = bounded::<i32>(1);
    // A send and a receive on one bounded(1): only the send is ready.
    let sent = select! {
        send(s, 1) -> res => res.is_ok(),
        recv(r) -> _ => false,
    };
    assert!(sent);
    // Now only the receive is.
    let got = select! {
        send(s, 2) -> _ => None,
        recv(r) -> m => m.ok(),
    };
    assert_eq!(got, Some(1));
}

#[test]
fn send_value_evaluated_only_when_selected() {
    let evaluated = Cell::new(0);
    let value = |v: i32| {
        evaluated.set(evaluated.get() + 1);
        v
    };
    let (full_s, _full_r) = bounded::<i32>(1);
    full_s.send(0).unwrap();
    let (s, r) = unbounded::<i32>();
    s.send(1).unwrap();
    let got = select_biased! {
        send(full_s, value(9)) -> _ => None,
        recv(r) -> m => m.ok(),
    };
    assert_eq!(got, Some(1));
    assert_eq!(
        evaluated.get(),
        0,
        "the full channel's message was evaluated"
    );
    let (s2, r2) = unbounded::<i32>();
    select! { send(s2, value(3)) -> res => res.unwrap() }
    assert_eq!(evaluated.get(), 1);
    assert_eq!(r2.recv(), Ok(3));
}

#[test]
fn biased_picks_the_first_ready_arm() {
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2) = unbounded::<i32>();
    let rounds = if cfg!(miri) { 50 } else { 1_000 };
    for _ in 0..rounds {
        s1.send(1).unwrap();
        s2.send(2).unwrap();
        let v = select_biased! {
            recv(r1) -> m => m.unwrap(),
            recv(r2) -> m => m.unwrap(),
        };
        assert_eq!(v, 1);
        assert_eq!(r2.recv(), Ok(2));
    }
}

#[test]
fn unbiased_picks_both() {
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2) = unbounded::<i32>();
    let rounds = if cfg!(miri) { 100 } else { 2_000 };
    let mut firsts = 0;
    for _ in 0..rounds {
        s1.send(1).unwrap();
        s2.send(2).unwrap();
        let v = select! {
            recv(r1) -> m => m.unwrap(),
            recv(r2) -> m => m.unwrap(),
        };
        if v == 1 {
            firsts += 1;
            r2.recv().unwrap();
        } else {
            r1.recv().unwrap();
        }
    }
    // Far from 0 and from `rounds` (a 1-in-2^100 chance to fail by bad luck).
    assert!(
        firsts > rounds / 5 && firsts < rounds * 4 / 5,
        "{firsts}/{rounds}"
    );
}

#[test]
fn never_and_timers_in_arms() {
    let n = never::<i32>();
    let v = select! {
        recv(n) -> _ => 0,
        recv(after(Duration::from_millis(5))) -> _ => 1,
    };
    assert_eq!(v, 1);
}

/// 64 arms, written out through a helper macro that only repeats the arm; the last one is
/// the only ready one.
#[test]
fn sixty_four_arms() {
    let (s, r) = unbounded::<usize>();
    let n = never::<usize>();
    s.send(64).unwrap();
    macro_rules! arms64 {
        ($($i:literal)*) => {
            select! {
                $( recv(n) -> _ => { let _: u32 = $i; 0 } )*
                recv(r) -> m => m.unwrap(),
            }
        };
    }
    let v = arms64!(
        1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63
    );
    assert_eq!(v, 64);
}

/// The macro works where only `panama::select` is imported, next to the caller's own
/// `mod select` and a type named `Select`.
mod only_the_macro {
    use panama::select;

    #[allow(dead_code)]
    mod select {}
    #[allow(dead_code)]
    struct Select;

    #[test]
    fn expands_with_nothing_else_in_scope() {
        let (s, r) = panama::unbounded::<i32>();
        s.send(1).unwrap();
        let v = select! {
            recv(r) -> m => m.unwrap(),
            default => 0,
        };
        assert_eq!(v, 1);
    }
}
