//! Small concurrency scenarios, sized so Miri can run them (boxed messages catch leaks and
//! double drops).
#![cfg(not(loom))]

use std::thread;
use std::time::Duration;

/// Two producers, two consumers, enough messages to cross two block boundaries.
#[test]
fn mpmc_2x2_cross_blocks() {
    let (s, r) = panama::unbounded::<Box<usize>>();
    let n = 40; // per producer; 80 > 2 blocks of 31 slots
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let s = s.clone();
            thread::spawn(move || {
                for i in 0..n {
                    s.send(Box::new(p * 1000 + i)).unwrap();
                }
            })
        })
        .collect();
    drop(s);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let r = r.clone();
            thread::spawn(move || r.iter().map(|b| *b).collect::<Vec<_>>())
        })
        .collect();
    drop(r);
    for p in producers {
        p.join().unwrap();
    }
    let mut all: Vec<_> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    all.sort();
    let mut want: Vec<_> = (0..2)
        .flat_map(|p| (0..n).map(move |i| p * 1000 + i))
        .collect();
    want.sort();
    assert_eq!(all, want);
}

/// The last receiver drops (discarding) while producers are still sending across a block.
#[test]
fn receiver_drop_races_senders() {
    let (s, r) = panama::unbounded::<Box<usize>>();
    for i in 0..25 {
        s.send(Box::new(i)).unwrap();
    }
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || {
                for i in 0..10 {
                    if s.send(Box::new(i)).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    let _ = r.try_recv();
    drop(r);
    for p in producers {
        p.join().unwrap();
    }
    drop(s);
}

/// First send (first-block install) races with the last receiver's drop.
#[test]
fn first_block_install_races_receiver_drop() {
    for _ in 0..4 {
        let (s, r) = panama::unbounded::<Box<usize>>();
        let s2 = s.clone();
        let a = thread::spawn(move || {
            let _ = s.send(Box::new(1));
        });
        let b = thread::spawn(move || {
            let _ = s2.send(Box::new(2));
        });
        drop(r);
        a.join().unwrap();
        b.join().unwrap();
    }
}

/// Blocking receivers with timeouts racing sends and the last sender's drop.
#[test]
fn timeouts_race_sends_and_disconnect() {
    let (s, r) = panama::unbounded::<Box<usize>>();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let r = r.clone();
            thread::spawn(move || {
                let mut got = 0;
                loop {
                    match r.recv_timeout(Duration::from_micros(50)) {
                        Ok(_) => got += 1,
                        Err(panama::RecvTimeoutError::Timeout) => {}
                        Err(panama::RecvTimeoutError::Disconnected) => return got,
                    }
                }
            })
        })
        .collect();
    drop(r);
    for i in 0..10 {
        s.send(Box::new(i)).unwrap();
        if i % 3 == 0 {
            thread::yield_now();
        }
    }
    drop(s);
    let total: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(total, 10);
}
