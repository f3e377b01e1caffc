//! What the [`super::Tls`] facade and the [`super::drive`] future share.
//!
//! The driver touches no transport: it reads and writes ciphertext in two
//! pipes here and asks for the inner transport to be connected or closed;
//! the facade does that with whatever transport it is given for the call
//! ([`Mailbox::pump`]) — the smoltcp stack a `Device` owns, a socket, a
//! modem — and moves the ciphertext. The plaintext crosses in two more
//! pipes, and the application's commands, the session's phase and the
//! reason it ended in `Cell`s.

use core::cell::{Cell, RefCell};
use core::future::poll_fn;
use core::task::Poll;

use super::failure::Error;
use super::pipe::Pipe;
use crate::net::Transport;

/// What the application asked for (facade → driver).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Command {
    None,
    Connect,
    Close,
}

/// Where the TLS session is (driver → facade).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Phase {
    Idle,
    Connecting,
    Up,
    Down,
}

/// The inner transport, as the driver asked for it and the facade made it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Link {
    /// Not connected, nothing asked.
    Closed,
    /// The driver asked for a connection; the facade calls `connect`.
    Connecting,
    /// Connected: ciphertext moves.
    Up,
    /// The inner transport failed (its error in `inner_error`).
    Failed,
    /// The driver asked for a close; the facade calls `close`.
    Closing,
}

/// What the [`super::Tls`] facade and the [`super::drive`] future share:
/// commands one way, the phase and the failure the other, and the pipes.
pub struct Mailbox<'b, E> {
    pub(super) command: Cell<Command>,
    pub(super) phase: Cell<Phase>,
    pub(super) failure: Cell<Option<Error<E>>>,
    /// Unix seconds from [`Mailbox::set_time`], over `Config::with_time`.
    pub(super) time: Cell<Option<u64>>,
    /// Plaintext from the client, and to it.
    pub(super) tx: RefCell<Pipe<'b>>,
    pub(super) rx: RefCell<Pipe<'b>>,
    /// Ciphertext to the network, and from it.
    pub(super) to_net: RefCell<Pipe<'b>>,
    pub(super) from_net: RefCell<Pipe<'b>>,
    pub(super) link: Cell<Link>,
    pub(super) inner_error: Cell<Option<E>>,
}

impl<'b, E> Mailbox<'b, E> {
    /// A mailbox over two caller buffers, each split in halves: `plain`
    /// for the plaintext pipes (to the TLS layer and from it) and `cipher`
    /// for the ciphertext ones (to the network and from it). A few hundred
    /// bytes each is plenty: the records themselves live in
    /// [`super::drive`]'s buffers; smaller pipes only take more passes.
    pub fn new(plain: &'b mut [u8], cipher: &'b mut [u8]) -> Self {
        let (tx, rx) = plain.split_at_mut(plain.len() / 2);
        let (to_net, from_net) = cipher.split_at_mut(cipher.len() / 2);
        Mailbox {
            command: Cell::new(Command::None),
            phase: Cell::new(Phase::Idle),
            failure: Cell::new(None),
            time: Cell::new(None),
            tx: RefCell::new(Pipe::new(tx)),
            rx: RefCell::new(Pipe::new(rx)),
            to_net: RefCell::new(Pipe::new(to_net)),
            from_net: RefCell::new(Pipe::new(from_net)),
            link: Cell::new(Link::Closed),
            inner_error: Cell::new(None),
        }
    }

    /// The current unix time (seconds, UTC), e.g. from SNTP, for the next
    /// handshakes' validity checks; replaces `Config::with_time`'s. Keep it
    /// current (a few minutes off only shifts the dates that much).
    pub fn set_time(&self, unix_seconds: u64) {
        self.time.set(Some(unix_seconds));
    }

    /// The driver waits for the application's next command.
    pub(super) async fn command(&self) {
        poll_fn(|_| match self.command.get() {
            Command::None => Poll::Pending,
            _ => Poll::Ready(()),
        })
        .await
    }

    /// The driver's connect of the inner transport: waits for a close it
    /// asked for to be done, then for the facade's `connect`.
    pub(super) async fn connect_inner(&self) -> Result<(), Option<E>> {
        poll_fn(|_| match self.link.get() {
            Link::Closing => Poll::Pending,
            _ => Poll::Ready(()),
        })
        .await;
        for pipe in [&self.tx, &self.rx, &self.to_net, &self.from_net] {
            if let Ok(mut p) = pipe.try_borrow_mut() {
                p.clear();
            }
        }
        self.inner_error.set(None);
        self.link.set(Link::Connecting);
        poll_fn(|_| match self.link.get() {
            Link::Up => Poll::Ready(Ok(())),
            Link::Failed => Poll::Ready(Err(self.inner_error.take())),
            Link::Connecting => Poll::Pending,
            Link::Closed | Link::Closing => Poll::Ready(Err(None)),
        })
        .await
    }

    /// The driver is done with the inner transport: the facade closes it.
    pub(super) fn close_inner(&self) {
        if self.link.get() != Link::Closed {
            self.link.set(Link::Closing);
        }
    }

    fn fail(&self, e: E) {
        self.inner_error.set(Some(e));
        self.link.set(Link::Failed);
    }

    /// The facade's half: does what the driver asked of `inner` (connect,
    /// close) and moves ciphertext both ways as far as `inner` and the
    /// pipes allow. Whether anything happened.
    pub(super) fn pump<T: Transport<Error = E> + ?Sized>(&self, inner: &mut T) -> bool {
        let mut moved = false;
        match self.link.get() {
            Link::Connecting => match inner.connect() {
                Ok(()) => {
                    self.link.set(Link::Up);
                    moved = true;
                }
                Err(nb::Error::WouldBlock) => return false,
                Err(nb::Error::Other(e)) => {
                    self.fail(e);
                    return true;
                }
            },
            Link::Closing => {
                inner.close();
                self.link.set(Link::Closed);
                return true;
            }
            Link::Up => {}
            Link::Closed | Link::Failed => return false,
        }
        // A failure sending does not end the pump: what the peer sent
        // before it hung up (an alert, say) is read first.
        let mut failed = None;
        if let Ok(mut out) = self.to_net.try_borrow_mut() {
            while !out.is_empty() {
                match inner.send(out.data()) {
                    // Ok(0) counts as "would block" (no progress).
                    Ok(0) | Err(nb::Error::WouldBlock) => break,
                    Ok(n) => {
                        out.consume(n);
                        moved = true;
                    }
                    Err(nb::Error::Other(e)) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
        }
        if let Ok(mut from) = self.from_net.try_borrow_mut() {
            loop {
                let room = from.space();
                if room.is_empty() {
                    break;
                }
                let room_len = room.len();
                match inner.recv(room) {
                    Ok(0) | Err(nb::Error::WouldBlock) => break,
                    Ok(n) => {
                        from.commit(n.min(room_len));
                        moved = true;
                    }
                    Err(nb::Error::Other(e)) => {
                        failed = failed.or(Some(e));
                        break;
                    }
                }
            }
        }
        if let Some(e) = failed {
            self.fail(e);
            return true;
        }
        moved
    }
}
