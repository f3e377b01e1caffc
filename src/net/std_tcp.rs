//! [`Transport`] over a non-blocking `std::net::TcpStream`, for hosts.
//!
//! Hosts (the tests, the benchmark, a program on a PC) run the client over a
//! real socket without an IP stack of their own. std has no portable
//! non-blocking connect, so [`Transport::connect`] blocks once per attempt,
//! for a bounded time ([`StdTcp::with_connect_timeout`]); every other call
//! returns at once, as the trait requires.

use super::Transport;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A TCP connection to one broker address. `connect` blocks for at most
/// `connect_timeout` (std has no portable non-blocking connect); everything
/// else is non-blocking.
///
/// A PINGREQ sent and a PINGRESP received, with a listener standing in for
/// the broker:
///
/// ```
/// use limpet::net::std_tcp::StdTcp;
/// use limpet::net::Transport;
/// use std::io::{Read, Write};
/// use std::net::TcpListener;
/// use std::time::Duration;
///
/// let broker = TcpListener::bind("127.0.0.1:0")?;
/// let mut tcp = StdTcp::new(broker.local_addr()?).with_connect_timeout(Duration::from_secs(2));
/// nb::block!(tcp.connect())?;
/// let (mut peer, _) = broker.accept()?;
///
/// nb::block!(tcp.send(&[0xC0, 0x00]))?; // PINGREQ (§3.12)
/// let mut got = [0u8; 2];
/// peer.read_exact(&mut got)?;
/// assert_eq!(got, [0xC0, 0x00]);
///
/// peer.write_all(&[0xD0, 0x00])?; // PINGRESP (§3.13)
/// // `recv` says WouldBlock until bytes are there; a real loop does other work.
/// let n = nb::block!(tcp.recv(&mut got))?;
/// assert_eq!(&got[..n], &[0xD0, 0x00][..n]);
///
/// tcp.close();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StdTcp {
    addr: SocketAddr,
    connect_timeout: Duration,
    stream: Option<TcpStream>,
}

impl StdTcp {
    /// A transport to `addr`, not yet connected; `connect` blocks for at most 500 ms.
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

    /// The broker's address.
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
