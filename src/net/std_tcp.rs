//! [`Transport`] over a non-blocking `std::net::TcpStream`, for hosts.

use super::Transport;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A TCP connection to one broker address. `connect` blocks for at most
/// `connect_timeout` (std has no portable non-blocking connect); everything
/// else is non-blocking.
pub struct StdTcp {
    addr: SocketAddr,
    connect_timeout: Duration,
    stream: Option<TcpStream>,
}

impl StdTcp {
    pub fn new(addr: SocketAddr) -> Self {
        StdTcp {
            addr,
            connect_timeout: Duration::from_millis(500),
            stream: None,
        }
    }

    /// Upper bound on how long one `connect` call may block.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn classify(e: io::Error) -> nb::Error<io::Error> {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::Interrupted => nb::Error::WouldBlock,
        _ => nb::Error::Other(e),
    }
}

impl Transport for StdTcp {
    type Error = io::Error;

    fn connect(&mut self) -> nb::Result<(), io::Error> {
        if self.stream.is_some() {
            return Ok(());
        }
        let stream = TcpStream::connect_timeout(&self.addr, self.connect_timeout)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        self.stream = Some(stream);
        Ok(())
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, io::Error> {
        let stream = self
            .stream
            .as_mut()
            .ok_or(nb::Error::Other(not_connected()))?;
        match stream.write(data) {
            Ok(0) => Err(nb::Error::Other(ErrorKind::WriteZero.into())),
            Ok(n) => Ok(n),
            Err(e) => Err(classify(e)),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, io::Error> {
        let stream = self
            .stream
            .as_mut()
            .ok_or(nb::Error::Other(not_connected()))?;
        match stream.read(buf) {
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

fn not_connected() -> io::Error {
    ErrorKind::NotConnected.into()
}
