//! The limpet client's network: a non-blocking `TcpStream` the loop can wait
//! on ([`PollTcp`]), plain or with limpet's TLS layer over it ([`Net`]).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration as StdDuration;

use limpet::client::Client;
use limpet::net::Transport;
use limpet::session::Event;
use limpet::time::Instant;

/// What the superloop needs of its network, plain or TLS: one `poll` of the
/// client over it, whether more work waits without the socket, and the
/// readiness wait.
pub trait Net {
    /// `client.poll(now, transport)` over this network.
    fn poll<'c, const N: usize>(
        &mut self,
        client: &'c mut Client<'_, N, 1>,
        now: Instant,
    ) -> Option<Event<'c>>;

    /// Work is waiting that needs no socket event (TLS: ciphertext still
    /// moving): poll again rather than sleep.
    fn busy(&self) -> bool;

    /// Returns when the socket is readable (or writable, if `writable` or
    /// bytes of this network's own wait for it), or after `timeout_ms`;
    /// true if the socket ended the wait.
    fn wait(&self, timeout_ms: i32, writable: bool) -> bool;
}

/// Plain MQTT over TCP.
impl Net for PollTcp {
    fn poll<'c, const N: usize>(
        &mut self,
        client: &'c mut Client<'_, N, 1>,
        now: Instant,
    ) -> Option<Event<'c>> {
        client.poll(now, self)
    }

    fn busy(&self) -> bool {
        false
    }

    fn wait(&self, timeout_ms: i32, writable: bool) -> bool {
        PollTcp::wait(self, timeout_ms, writable)
    }
}

#[cfg(feature = "tls")]
pub use tls::TlsNet;

#[cfg(feature = "tls")]
mod tls {
    use core::future::Future;

    use limpet::net::tls::Tls;

    use super::*;

    /// MQTT over limpet's TLS layer over [`PollTcp`]: the layer's
    /// transport is made for each `poll` (`Tls::over`), so the socket is
    /// free for the wait in between.
    pub struct TlsNet<'m, 'b, F: Future> {
        pub tls: Tls<'m, 'b, F, io::Error>,
        pub tcp: PollTcp,
    }

    impl<F: Future> Net for TlsNet<'_, '_, F> {
        fn poll<'c, const N: usize>(
            &mut self,
            client: &'c mut Client<'_, N, 1>,
            now: Instant,
        ) -> Option<Event<'c>> {
            client.poll(now, &mut self.tls.over(&mut self.tcp))
        }

        fn busy(&self) -> bool {
            self.tls.busy()
        }

        /// Also writable when the socket refused ciphertext: the client
        /// cannot see those bytes (its own went into the layer's pipe).
        fn wait(&self, timeout_ms: i32, writable: bool) -> bool {
            self.tcp.wait(timeout_ms, writable || self.tcp.send_blocked)
        }
    }
}

/// A non-blocking `TcpStream` to one address (as `StdTcp`) that can wait for
/// readiness with `poll(2)`.
pub struct PollTcp {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    /// The last send was refused (the socket's buffer is full).
    send_blocked: bool,
}

impl PollTcp {
    pub fn new(addr: SocketAddr) -> Self {
        PollTcp {
            addr,
            stream: None,
            send_blocked: false,
        }
    }

    /// Returns when the socket is readable (or writable, if `writable`),
    /// or after `timeout_ms`; true if the socket ended the wait.
    pub fn wait(&self, timeout_ms: i32, writable: bool) -> bool {
        let Some(stream) = self.stream.as_ref() else {
            std::thread::sleep(StdDuration::from_millis(timeout_ms as u64));
            return false;
        };
        let mut fd = libc::pollfd {
            fd: stream.as_raw_fd(),
            events: libc::POLLIN | if writable { libc::POLLOUT } else { 0 },
            revents: 0,
        };
        // SAFETY: one valid pollfd, owned by this frame, for the whole call.
        unsafe { libc::poll(&mut fd, 1, timeout_ms) > 0 }
    }

    fn stream(&mut self) -> nb::Result<&mut TcpStream, io::Error> {
        self.stream
            .as_mut()
            .ok_or(nb::Error::Other(ErrorKind::NotConnected.into()))
    }
}

fn classify(e: io::Error) -> nb::Error<io::Error> {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::Interrupted => nb::Error::WouldBlock,
        _ => nb::Error::Other(e),
    }
}

impl Transport for PollTcp {
    type Error = io::Error;

    fn connect(&mut self) -> nb::Result<(), io::Error> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, StdDuration::from_secs(1))?;
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
            self.stream = Some(stream);
            self.send_blocked = false;
        }
        Ok(())
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, io::Error> {
        let sent = match self.stream()?.write(data) {
            Ok(0) => Err(nb::Error::Other(ErrorKind::WriteZero.into())),
            Ok(n) => Ok(n),
            Err(e) => Err(classify(e)),
        };
        self.send_blocked = matches!(sent, Err(nb::Error::WouldBlock));
        sent
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, io::Error> {
        match self.stream()?.read(buf) {
            Ok(0) => Err(nb::Error::Other(ErrorKind::UnexpectedEof.into())),
            Ok(n) => Ok(n),
            Err(e) => Err(classify(e)),
        }
    }

    fn close(&mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}
