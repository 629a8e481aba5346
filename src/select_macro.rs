//! The `select!` and `select_biased!` macros: `Select` written as a `match`-like block.
//!
//! # Implementation notes
//!
//! `__panama_select!` is a token muncher with one rule per arm form: each step takes one
//! whole arm (its operation, pattern and body, with or without a trailing comma) off the
//! input and appends it, normalized, to an accumulator, so 64 arms cost 64 expansion levels
//! (the default recursion limit is 128). Each step also adds two identifiers of its own,
//! `chan` and `index`: every step is a separate expansion, so hygiene makes each arm's pair
//! distinct from the others' even though they are spelled alike. The last step generates
//! the code: bind each channel expression once by reference (an owned temporary such as
//! `after(d)` lives to the end of the block), add the operations to a `Select`, select (or
//! try, or time out, for `default`), and run the chosen arm's body in an `if` chain, in the
//! caller's scope, so `break`, `continue`, `return` and `?` in a body act on the caller.
//! Only public items are used, through `$crate`, so the caller needs no import but the
//! macro and no `unsafe`.

/// Waits on several channel operations and runs the body of the one that completes.
///
/// Arms are `recv(r) -> msg => body` (`msg` is the `Result<T, RecvError>` of the receive),
/// `send(s, value) -> res => body` (`res` is the `Result<(), SendError<T>>`; `value` is only
/// evaluated if this send is selected), and at most one of `default => body` (run if no
/// operation is ready now) or `default(timeout) => body` (run if none becomes ready within
/// the `Duration`). Bodies are blocks or expressions; a comma follows an expression body,
/// and is optional after a block and after the last arm. The channel expressions may be
/// references or owned values (e.g. `recv(after(d))`), and one channel may appear in
/// several arms.
///
/// When several operations are ready, one of them is chosen at random; see
/// [`select_biased!`](crate::select_biased!) for the first in order. Without `default`, it blocks until one is
/// ready. An operation on a disconnected channel is ready, and completes with the error.
///
#[doc = crate::doctest!()]
/// use std::thread;
/// use std::time::Duration;
/// use panama::{after, select, unbounded};
///
/// let (s1, r1) = unbounded();
/// let (s2, r2) = unbounded::<i32>();
/// thread::spawn(move || s1.send(10).unwrap());
///
/// select! {
///     recv(r1) -> msg => assert_eq!(msg, Ok(10)),
///     recv(r2) -> msg => panic!("unexpected {:?}", msg),
///     recv(after(Duration::from_secs(10))) -> _ => panic!("timed out"),
/// }
/// # drop(s2);
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__panama_select!(@parse new () () $($tokens)*)
    };
}

/// [`select!`], but when several operations are ready it picks the first one in the order
/// of the arms.
///
#[doc = crate::doctest!()]
/// use panama::{select_biased, unbounded};
///
/// let (s1, r1) = unbounded();
/// let (s2, r2) = unbounded();
/// s1.send(1).unwrap();
/// s2.send(2).unwrap();
///
/// let first = select_biased! {
///     recv(r1) -> msg => msg.unwrap(),
///     recv(r2) -> msg => msg.unwrap(),
/// };
/// assert_eq!(first, 1);
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($tokens:tt)*) => {
        $crate::__panama_select!(@parse new_biased () () $($tokens)*)
    };
}

/// The implementation of [`select!`] and [`select_biased!`]; not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! __panama_select {
    // ---- Parsing: one arm per step. The accumulators are `(arms)` and `(default)`. ----

    // `recv(r) -> pat => body`
    (@parse $new:ident ($($arms:tt)*) $default:tt
        recv($r:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new ($($arms)* (recv chan index ($r) ($res) $body)) $default $($rest)*)
    };
    (@parse $new:ident ($($arms:tt)*) $default:tt
        recv($r:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new ($($arms)* (recv chan index ($r) ($res) $body)) $default $($rest)*)
    };
    (@parse $new:ident ($($arms:tt)*) $default:tt
        recv($r:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new ($($arms)* (recv chan index ($r) ($res) { $body })) $default $($rest)*)
    };
    (@parse $new:ident ($($arms:tt)*) $default:tt
        recv($r:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::__panama_select!(@parse $new ($($arms)* (recv chan index ($r) ($res) { $body })) $default)
    };

    // `send(s, value) -> pat => body`
    (@parse $new:ident ($($arms:tt)*) $default:tt
        send($s:expr, $m:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new ($($arms)* (send chan index ($s) ($m) ($res) $body)) $default $($rest)*)
    };
    (@parse $new:ident ($($arms:tt)*) $default:tt
        send($s:expr, $m:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new ($($arms)* (send chan index ($s) ($m) ($res) $body)) $default $($rest)*)
    };
    (@parse $new:ident ($($arms:tt)*) $default:tt
        send($s:expr, $m:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new ($($arms)* (send chan index ($s) ($m) ($res) { $body })) $default $($rest)*)
    };
    (@parse $new:ident ($($arms:tt)*) $default:tt
        send($s:expr, $m:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::__panama_select!(@parse $new ($($arms)* (send chan index ($s) ($m) ($res) { $body })) $default)
    };

    // `default => body` and `default(timeout) => body`, at most one of them.
    (@parse $new:ident $arms:tt ($($default:tt)+) default $($rest:tt)*) => {
        compile_error!("there can be only one `default` arm in a `select!` block")
    };
    (@parse $new:ident $arms:tt () default => $body:block, $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new $arms (now $body) $($rest)*)
    };
    (@parse $new:ident $arms:tt () default => $body:block $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new $arms (now $body) $($rest)*)
    };
    (@parse $new:ident $arms:tt () default => $body:expr, $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new $arms (now { $body }) $($rest)*)
    };
    (@parse $new:ident $arms:tt () default => $body:expr) => {
        $crate::__panama_select!(@parse $new $arms (now { $body }))
    };
    (@parse $new:ident $arms:tt () default($t:expr $(,)?) => $body:block, $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new $arms ((timeout $t) $body) $($rest)*)
    };
    (@parse $new:ident $arms:tt () default($t:expr $(,)?) => $body:block $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new $arms ((timeout $t) $body) $($rest)*)
    };
    (@parse $new:ident $arms:tt () default($t:expr $(,)?) => $body:expr, $($rest:tt)*) => {
        $crate::__panama_select!(@parse $new $arms ((timeout $t) { $body }) $($rest)*)
    };
    (@parse $new:ident $arms:tt () default($t:expr $(,)?) => $body:expr) => {
        $crate::__panama_select!(@parse $new $arms ((timeout $t) { $body }))
    };

    // ---- The end of the input. ----
    (@parse $new:ident () ()) => {
        compile_error!("empty `select!` block")
    };
    (@parse $new:ident ($($arms:tt)*) $default:tt) => {
        $crate::__panama_select!(@generate $new ($($arms)*) $default)
    };
    // Anything else is malformed.
    (@parse $new:ident $arms:tt $default:tt recv $($rest:tt)*) => {
        compile_error!("expected `recv(receiver) -> pattern => body`")
    };
    (@parse $new:ident $arms:tt $default:tt send $($rest:tt)*) => {
        compile_error!("expected `send(sender, message) -> pattern => body`")
    };
    (@parse $new:ident $arms:tt $default:tt default $($rest:tt)*) => {
        compile_error!("expected `default => body` or `default(timeout) => body`")
    };
    (@parse $new:ident $arms:tt $default:tt $($rest:tt)+) => {
        compile_error!("expected `recv(..)`, `send(..)` or `default` at the start of an arm")
    };

    // ---- Code generation. ----
    (@generate $new:ident ($($arm:tt)*) $default:tt) => {{
        $( $crate::__panama_select!(@bind $arm); )*
        #[allow(unused_mut)]
        let mut __panama_sel = $crate::Select::$new();
        $( $crate::__panama_select!(@add __panama_sel $arm); )*
        $crate::__panama_select!(@run __panama_sel ($($arm)*) $default)
    }};

    // Each channel expression, evaluated once, borrowed without moving it.
    (@bind (recv $chan:ident $index:ident ($r:expr) $res:tt $body:tt)) => {
        let $chan: &$crate::Receiver<_> = &$r;
    };
    (@bind (send $chan:ident $index:ident ($s:expr) $m:tt $res:tt $body:tt)) => {
        let $chan: &$crate::Sender<_> = &$s;
    };

    (@add $sel:ident (recv $chan:ident $index:ident $r:tt $res:tt $body:tt)) => {
        let $index = $sel.recv($chan);
    };
    (@add $sel:ident (send $chan:ident $index:ident $s:tt $m:tt $res:tt $body:tt)) => {
        let $index = $sel.send($chan);
    };

    (@run $sel:ident $arms:tt ()) => {{
        let __panama_oper = $sel.select();
        $crate::__panama_select!(@dispatch __panama_oper $arms)
    }};
    (@run $sel:ident $arms:tt (now $body:block)) => {
        match $sel.try_select() {
            ::core::result::Result::Ok(__panama_oper) => {
                $crate::__panama_select!(@dispatch __panama_oper $arms)
            }
            ::core::result::Result::Err(_) => $body,
        }
    };
    (@run $sel:ident $arms:tt ((timeout $t:expr) $body:block)) => {
        match $sel.select_timeout($t) {
            ::core::result::Result::Ok(__panama_oper) => {
                $crate::__panama_select!(@dispatch __panama_oper $arms)
            }
            ::core::result::Result::Err(_) => $body,
        }
    };

    // The chosen arm: complete its operation, bind its pattern, run its body. A flat
    // `match` (one expansion per arm, side by side) rather than a nested `if` chain, which
    // would cost one expansion level per arm on top of the parsing.
    (@dispatch $oper:ident ($($arm:tt)*)) => {
        match $oper.index() {
            $(
                __panama_i if __panama_i == $crate::__panama_select!(@index $arm) => {
                    $crate::__panama_select!(@complete $oper $arm)
                }
            )*
            _ => ::core::unreachable!("`select!` chose an operation it did not add"),
        }
    };
    (@index (recv $chan:ident $index:ident $($rest:tt)*)) => {
        $index
    };
    (@index (send $chan:ident $index:ident $($rest:tt)*)) => {
        $index
    };
    (@complete $oper:ident (recv $chan:ident $index:ident $r:tt ($res:pat) $body:block)) => {{
        let $res = $oper.recv($chan);
        $body
    }};
    (@complete $oper:ident (send $chan:ident $index:ident $s:tt ($m:expr) ($res:pat) $body:block)) => {{
        let $res = $oper.send($chan, $m);
        $body
    }};
}
