//! Async code driven by a superloop: a library whose API is a future (a WiFi
//! driver's connect, embedded-tls' record layer) runs inside one future that
//! never ends, and the superloop polls it once per pass with a waker that
//! does nothing ([`poll_once`]); the future waits on state in `Cell`s, which
//! the next pass finds changed. [`first`] lets it wait on two things at once.
//! No executor, no heap, no `unsafe`.

use core::future::{poll_fn, Future};
use core::pin::{pin, Pin};
use core::task::{Context, Poll, Waker};

/// Polls `future` once with a waker that does nothing.
pub(crate) fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match future.poll(&mut cx) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Which of two futures finished first ([`first`]).
pub(crate) enum Either<A, B> {
    First(A),
    Second(B),
}

/// The first of `a` and `b` to finish; the other is dropped.
pub(crate) async fn first<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::First(x));
        }
        if let Poll::Ready(y) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Second(y));
        }
        Poll::Pending
    })
    .await
}
