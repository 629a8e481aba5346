//! The classic Go concurrency programs, written with `select!`: ping-pong, the prime sieve,
//! fan-in, timeouts and quit channels. Each checks its whole output, so a selection that
//! loses, duplicates or misroutes a message fails it.
#![cfg(not(loom))]

use std::thread;
use std::time::Duration;

use panama::{after, bounded, never, select, tick, unbounded, Receiver, Sender};

/// Scaled down under Miri, which runs every thread on one simulated core.
const ROUNDS: usize = if cfg!(miri) { 20 } else { 1_000 };

/// Two players hit a ball (a counter) back and forth over one rendezvous channel each
/// way, until it has been hit `ROUNDS` times; a quit channel would stop them early.
#[test]
fn ping_pong() {
    fn player(hit: Sender<usize>, ball: Receiver<usize>, quit: Receiver<()>) -> Vec<usize> {
        let mut log = Vec::new();
        loop {
            select! {
                recv(ball) -> b => match b {
                    Ok(b) if b < ROUNDS => {
                        log.push(b);
                        if hit.send(b + 1).is_err() {
                            return log;
                        }
                    }
                    // The last hit, or the other player left: its sender is gone.
                    _ => return log,
                },
                recv(quit) -> _ => return log,
            }
        }
    }
    let (to_pong, from_ping) = bounded(0);
    let (to_ping, from_pong) = bounded(0);
    let (quit_s, quit_r) = bounded::<()>(0);
    let quit_r2 = quit_r.clone();
    let serve = to_ping.clone();
    let ping = thread::spawn(move || player(to_pong, from_pong, quit_r));
    let pong = thread::spawn(move || player(to_ping, from_ping, quit_r2));
    serve.send(0).unwrap();
    drop(serve);
    let ping = ping.join().unwrap();
    let pong = pong.join().unwrap();
    drop(quit_s);
    // The hits alternate and count up by one: ping got the even ones, pong the odd ones.
    assert_eq!(ping, (0..ROUNDS).step_by(2).collect::<Vec<_>>());
    assert_eq!(pong, (1..ROUNDS).step_by(2).collect::<Vec<_>>());
}

/// The quit channel of a player that waits forever: it returns when told to.
#[test]
fn quit_stops_a_waiting_player() {
    let (_keep, ball) = bounded::<usize>(0);
    let (quit_s, quit_r) = bounded::<()>(0);
    let player = thread::spawn(move || {
        select! {
            recv(ball) -> _ => false,
            recv(quit_r) -> _ => true,
        }
    });
    quit_s.send(()).unwrap();
    assert!(player.join().unwrap());
}

/// The concurrent prime sieve: a chain of filter threads, each passing on what its prime
/// does not divide, every hop a rendezvous; a quit channel in every `select!` stops them.
#[test]
fn prime_sieve() {
    let count = if cfg!(miri) { 8 } else { 30 };
    let (quit_s, quit_r) = bounded::<()>(0);
    let (gen_s, gen_r) = bounded::<u64>(0);
    let q = quit_r.clone();
    let mut threads = vec![thread::spawn(move || {
        let mut n = 2;
        loop {
            select! {
                send(gen_s, n) -> res => if res.is_err() { return },
                recv(q) -> _ => return,
            }
            n += 1;
        }
    })];
    let mut primes = Vec::new();
    let mut input = gen_r;
    for _ in 0..count {
        let prime = input.recv().unwrap();
        primes.push(prime);
        let (s, r) = bounded::<u64>(0);
        let q = quit_r.clone();
        let from = input;
        threads.push(thread::spawn(move || loop {
            select! {
                recv(from) -> n => match n {
                    Ok(n) if n % prime != 0 => select! {
                        send(s, n) -> res => if res.is_err() { return },
                        recv(q) -> _ => return,
                    },
                    Ok(_) => {}
                    Err(_) => return,
                },
                recv(q) -> _ => return,
            }
        }));
        input = r;
    }
    drop(quit_s);
    drop(input);
    for t in threads {
        t.join().unwrap();
    }
    let expected: Vec<u64> = (2..)
        .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .take(count)
        .collect();
    assert_eq!(primes, expected);
}

/// Fan-in: four producers on channels of different flavors, one consumer selecting over
/// all of them until each has disconnected; every message arrives exactly once, each
/// producer's in order.
#[test]
fn fan_in() {
    let n = ROUNDS;
    let (s0, r0) = unbounded::<(usize, usize)>();
    let (s1, r1) = bounded(1);
    let (s2, r2) = bounded(8);
    let (s3, r3) = bounded(0);
    let producers: Vec<_> = [s0, s1, s2, s3]
        .into_iter()
        .enumerate()
        .map(|(id, s)| {
            thread::spawn(move || {
                for i in 0..n {
                    s.send((id, i)).unwrap();
                }
            })
        })
        .collect();
    let mut next = [0usize; 4];
    let mut open = [true; 4];
    let mut record = |msg: Result<(usize, usize), _>, k: usize, open: &mut [bool; 4]| match msg {
        Ok((id, i)) => {
            assert_eq!(id, k);
            assert_eq!(i, next[k], "producer {k} out of order");
            next[k] += 1;
        }
        Err(_) => open[k] = false,
    };
    // A disconnected channel's arm is always ready: stop selecting it once it has said so.
    let never_r = never();
    while open.iter().any(|&o| o) {
        let (a, b, c, d) = (
            if open[0] { &r0 } else { &never_r },
            if open[1] { &r1 } else { &never_r },
            if open[2] { &r2 } else { &never_r },
            if open[3] { &r3 } else { &never_r },
        );
        select! {
            recv(a) -> m => record(m, 0, &mut open),
            recv(b) -> m => record(m, 1, &mut open),
            recv(c) -> m => record(m, 2, &mut open),
            recv(d) -> m => record(m, 3, &mut open),
        }
    }
    assert_eq!(next, [n; 4]);
    for p in producers {
        p.join().unwrap();
    }
}

/// Timeouts: a slow server answers too late for a client's `after` timer, then in time
/// for the next; `default(timeout)` does the same without a timer channel.
#[test]
fn timeouts() {
    let (req_s, req_r) = unbounded::<Duration>();
    let (resp_s, resp_r) = unbounded::<&str>();
    let server = thread::spawn(move || {
        for delay in req_r {
            thread::sleep(delay);
            if resp_s.send("done").is_err() {
                return;
            }
        }
    });
    req_s.send(Duration::from_millis(300)).unwrap();
    let timed_out = select! {
        recv(resp_r) -> _ => false,
        recv(after(Duration::from_millis(20))) -> _ => true,
    };
    assert!(timed_out);
    // The late answer is still delivered, once.
    assert_eq!(resp_r.recv(), Ok("done"));
    req_s.send(Duration::ZERO).unwrap();
    let answer = select! {
        recv(resp_r) -> msg => msg.ok(),
        default(Duration::from_secs(30)) => None,
    };
    assert_eq!(answer, Some("done"));
    let nothing = select! {
        recv(resp_r) -> msg => msg.ok(),
        default(Duration::from_millis(10)) => None,
    };
    assert_eq!(nothing, None);
    drop(req_s);
    server.join().unwrap();
}

/// Quit channels: a worker counts ticks and jobs until told to quit, then reports; the
/// quit arm wins even while jobs keep coming.
#[test]
fn quit_channel() {
    let (jobs_s, jobs_r) = unbounded::<u32>();
    let (quit_s, quit_r) = bounded::<()>(0);
    let (done_s, done_r) = bounded::<(u32, usize)>(1);
    let ticker = tick(Duration::from_millis(1));
    let worker = thread::spawn(move || {
        let mut sum = 0;
        let mut ticks = 0;
        loop {
            select! {
                recv(jobs_r) -> job => sum += job.unwrap(),
                recv(ticker) -> _ => ticks += 1,
                recv(quit_r) -> _ => {
                    // Finish the jobs already queued, then report.
                    sum += jobs_r.try_iter().sum::<u32>();
                    done_s.send((sum, ticks)).unwrap();
                    return;
                }
            }
        }
    });
    let jobs = if cfg!(miri) { 10 } else { 1_000 };
    for i in 0..jobs {
        jobs_s.send(i).unwrap();
    }
    thread::sleep(Duration::from_millis(5));
    quit_s.send(()).unwrap();
    let (sum, _ticks) = done_r.recv().unwrap();
    assert_eq!(sum, (0..jobs).sum::<u32>());
    worker.join().unwrap();
}
