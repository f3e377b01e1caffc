//! What goes between a transport and the client: nothing ([`Plain`]) or a
//! security layer (`net::tls::Tls`, feature `tls`).
//!
//! A [`crate::Device`] owns its IP stack and polls its client over it each
//! pass; a layer turns the stack, lent for that call, into the transport
//! the client sees. The layer keeps its own state (a TLS session) between
//! calls, so it never needs to own or share the stack.

use super::Transport;

/// Turns an inner transport, lent for one call, into the transport the
/// client polls.
pub trait Layer<T: Transport> {
    /// The transport the client sees.
    type Over<'s>: Transport
    where
        Self: 's,
        T: 's;

    /// The client's transport over `inner` for this call.
    fn over<'s>(&'s mut self, inner: &'s mut T) -> Self::Over<'s>;

    /// Work left over from the last call that the next should do at once
    /// (the loop should not sleep).
    fn busy(&self) -> bool {
        false
    }
}

/// No layer: the client talks to the transport itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Plain;

impl<T: Transport> Layer<T> for Plain {
    type Over<'s>
        = &'s mut T
    where
        T: 's;

    fn over<'s>(&'s mut self, inner: &'s mut T) -> &'s mut T {
        inner
    }
}

/// A transport lent by `&mut` is a transport.
impl<T: Transport + ?Sized> Transport for &mut T {
    type Error = T::Error;

    fn connect(&mut self) -> nb::Result<(), T::Error> {
        (**self).connect()
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, T::Error> {
        (**self).send(data)
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, T::Error> {
        (**self).recv(buf)
    }

    fn close(&mut self) {
        (**self).close()
    }

    fn security_failure(error: &T::Error) -> Option<crate::security::SecurityFailure> {
        T::security_failure(error)
    }
}
