//! One transport used from two places: a layer that owns a handle to it
//! (the TLS driver, `net::tls::drive`) and the superloop that must
//! go on polling it (the smoltcp `net::stack::Stack`, whose `poll`
//! moves the frames).
//!
//! [`Shared`] is a `Transport` over a `&RefCell<T>`: each call borrows the
//! transport for its own duration only, so the loop can borrow it in turn
//! (`stack.borrow_mut().poll(now, &mut device)`) between the client's
//! polls. A call that finds it borrowed — which a single-threaded loop
//! never does — is `WouldBlock`, never a panic.

use super::Transport;
use crate::security::SecurityFailure;
use core::cell::RefCell;

/// A [`Transport`] shared through a `RefCell` (see the module).
pub struct Shared<'s, T>(pub &'s RefCell<T>);

impl<T: Transport> Transport for Shared<'_, T> {
    type Error = T::Error;

    fn connect(&mut self) -> nb::Result<(), T::Error> {
        match self.0.try_borrow_mut() {
            Ok(mut t) => t.connect(),
            Err(_) => Err(nb::Error::WouldBlock),
        }
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, T::Error> {
        match self.0.try_borrow_mut() {
            Ok(mut t) => t.send(data),
            Err(_) => Err(nb::Error::WouldBlock),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, T::Error> {
        match self.0.try_borrow_mut() {
            Ok(mut t) => t.recv(buf),
            Err(_) => Err(nb::Error::WouldBlock),
        }
    }

    fn close(&mut self) {
        if let Ok(mut t) = self.0.try_borrow_mut() {
            t.close();
        }
    }

    fn security_failure(error: &T::Error) -> Option<SecurityFailure> {
        T::security_failure(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    /// Counts what reaches it.
    struct Counting {
        sent: usize,
        closed: bool,
    }

    impl Transport for Counting {
        type Error = ();
        fn connect(&mut self) -> nb::Result<(), ()> {
            Ok(())
        }
        fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
            self.sent += data.len();
            Ok(data.len())
        }
        fn recv(&mut self, _: &mut [u8]) -> nb::Result<usize, ()> {
            Err(nb::Error::WouldBlock)
        }
        fn close(&mut self) {
            self.closed = true;
        }
    }

    #[test]
    fn a_shared_transport_is_reachable_in_turn_and_never_panics_while_borrowed() {
        let cell = RefCell::new(Counting {
            sent: 0,
            closed: false,
        });
        let mut shared = Shared(&cell);
        assert_eq!(shared.send(b"abc"), Ok(3));
        // The loop's turn: the transport is borrowed elsewhere.
        {
            let held = cell.borrow_mut();
            assert_eq!(shared.send(b"de"), Err(nb::Error::WouldBlock));
            assert_eq!(shared.connect(), Err(nb::Error::WouldBlock));
            assert_eq!(held.sent, 3);
        }
        assert_eq!(shared.send(b"de"), Ok(2));
        shared.close();
        let c = cell.borrow();
        assert_eq!((c.sent, c.closed), (5, true));
    }
}
