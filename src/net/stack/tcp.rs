//! The TCP connection to the broker (MQTT 3.1.1 §4.2: MQTT runs over an
//! ordered, lossless byte stream), and the [`Transport`] the client uses.
//!
//! `connect` starts an attempt between polls and each `poll` advances it
//! (see the module documentation on time): the handshake is bounded by
//! `connect_timeout`, an established connection by `tcp_timeout`. A
//! connection counts as working only once the broker has sent a byte (a
//! proxy or NAT may complete the handshake for a broker that is not
//! there), each one uses a new local port, and `close` lets a DISCONNECT
//! reach the broker before the FIN (§3.14: else the will is published).

use super::{expired, Conn, Stack, StackError, Wan};
use crate::net::Transport;
use crate::time::{Duration, Instant};
use smoltcp::socket::dns;
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, Ipv4Address};

/// First local port; each connection takes the next (RFC 6335 dynamic range).
pub(super) const FIRST_PORT: u16 = 49_152;

/// Longest wait, after `close` with bytes in flight, for the broker to
/// acknowledge them before the socket is reused (ms).
pub(super) const LINGER_MS: u32 = 1_000;

impl Stack<'_> {
    /// Aborts a connection or attempt in progress (not counted as a failure).
    pub(super) fn abort(&mut self, why: StackError) {
        match self.conn {
            Conn::Idle | Conn::Failed(_) => {}
            Conn::Closing { .. } => {
                self.tcp_mut().abort();
                self.conn = Conn::Idle;
            }
            Conn::Resolving { query, .. } => {
                self.sockets
                    .get_mut::<dns::Socket>(self.dns)
                    .cancel_query(query);
                self.conn = Conn::Failed(why);
            }
            Conn::Connecting { .. } | Conn::Open => {
                self.tcp_mut().abort();
                self.conn = Conn::Failed(why);
            }
        }
    }

    /// Starts a connection attempt to the current broker (from `connect`,
    /// between polls: timed from the next poll).
    fn begin(&mut self) -> Result<(), StackError> {
        if !self.link {
            return Err(StackError::LinkDown);
        }
        if self.iface.ipv4_addr().is_none() {
            return Err(StackError::NoAddress);
        }
        let broker = self.config.brokers[self.broker];
        if let Some(addr) = broker.literal().or(self.resolved) {
            self.start_tcp(None, addr);
            return Ok(());
        }
        self.resolve(broker.host)
    }

    /// Starts the handshake; `since`: now if called from `poll`, else `None`.
    pub(super) fn start_tcp(&mut self, since: Option<Instant>, addr: Ipv4Address) {
        let port = self.config.brokers[self.broker].port;
        // A new local port each time: a half-open old connection at the
        // broker's end must not swallow the new one.
        self.local_port = if self.local_port == u16::MAX {
            FIRST_PORT
        } else {
            self.local_port + 1
        };
        let local = self.local_port;
        let timeout = self.config.tcp_timeout;
        let cx = self.iface.context();
        let tcp = self.sockets.get_mut::<tcp::Socket>(self.tcp);
        tcp.abort();
        tcp.set_timeout(Some(smoltcp::time::Duration::from_millis(u64::from(
            timeout.ticks(),
        ))));
        tcp.set_nagle_enabled(false);
        match tcp.connect(cx, (IpAddress::Ipv4(addr), port), local) {
            Ok(()) => self.conn = Conn::Connecting { since },
            Err(_) => self.failed(StackError::Connect),
        }
    }

    /// The handshake: established, refused, or out of time.
    pub(super) fn connecting(&mut self, now: Instant, since: Option<Instant>) {
        match self.tcp_socket().state() {
            tcp::State::Established => {
                self.conn = Conn::Open;
                self.heard = false;
                self.counters.connects = self.counters.connects.wrapping_add(1);
            }
            tcp::State::Closed | tcp::State::TimeWait => {
                self.tcp_mut().abort();
                self.failed(StackError::Connect);
            }
            _ if expired(since, now, self.config.connect_timeout) => {
                self.tcp_mut().abort();
                self.failed(StackError::Connect);
            }
            _ => {}
        }
    }

    /// After a `close` with bytes in flight: the socket is free again once
    /// the broker has them, or after [`LINGER_MS`].
    pub(super) fn closing(&mut self, now: Instant, since: Option<Instant>) {
        let tcp = self.tcp_socket();
        let delivered = tcp.send_queue() == 0
            || matches!(
                tcp.state(),
                tcp::State::Closed | tcp::State::TimeWait | tcp::State::FinWait2
            );
        if delivered || expired(since, now, Duration::from_ticks(LINGER_MS)) {
            self.tcp_mut().abort();
            self.conn = Conn::Idle;
        }
    }
}

impl Transport for Stack<'_> {
    type Error = StackError;

    fn connect(&mut self) -> nb::Result<(), StackError> {
        match self.conn {
            Conn::Open => Ok(()),
            Conn::Failed(e) => {
                self.conn = Conn::Idle;
                Err(nb::Error::Other(e))
            }
            Conn::Resolving { .. } | Conn::Connecting { .. } | Conn::Closing { .. } => {
                Err(nb::Error::WouldBlock)
            }
            Conn::Idle => {
                if matches!(self.wan, Wan::Pending { .. }) {
                    return Err(nb::Error::WouldBlock);
                }
                self.begin().map_err(nb::Error::Other)?;
                match self.conn {
                    Conn::Failed(e) => {
                        self.conn = Conn::Idle;
                        Err(nb::Error::Other(e))
                    }
                    _ => Err(nb::Error::WouldBlock),
                }
            }
        }
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, StackError> {
        if !matches!(self.conn, Conn::Open) {
            return Err(nb::Error::Other(StackError::NotConnected));
        }
        let tcp = self.tcp_mut();
        if !tcp.may_send() {
            return Err(nb::Error::Other(StackError::Closed));
        }
        match tcp.send_slice(data) {
            Ok(0) => Err(nb::Error::WouldBlock),
            Ok(n) => Ok(n),
            Err(_) => Err(nb::Error::Other(StackError::Closed)),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, StackError> {
        if !matches!(self.conn, Conn::Open) {
            return Err(nb::Error::Other(StackError::NotConnected));
        }
        let tcp = self.tcp_mut();
        match tcp.recv_slice(buf) {
            Ok(0) if tcp.may_recv() => Err(nb::Error::WouldBlock),
            Ok(0) => Err(nb::Error::Other(StackError::Closed)),
            Ok(n) => {
                if !self.heard {
                    // The broker is there: the attempts count starts over.
                    self.heard = true;
                    self.failures = 0;
                }
                Ok(n)
            }
            Err(_) => Err(nb::Error::Other(StackError::Closed)),
        }
    }

    fn close(&mut self) {
        match self.conn {
            Conn::Open => {
                let tcp = self.tcp_mut();
                if tcp.send_queue() > 0 && tcp.may_send() {
                    // The last bytes (a DISCONNECT) go out before the FIN;
                    // an abort would throw them away and the broker would
                    // publish the will.
                    tcp.close();
                    self.conn = Conn::Closing { since: None };
                } else {
                    tcp.abort();
                    self.conn = Conn::Idle;
                }
                if !self.heard {
                    // Established but never answered: a proxy or NAT in
                    // front of a broker that is not there.
                    self.abort(StackError::Closed);
                    self.failed(StackError::Closed);
                    self.conn = Conn::Idle;
                }
            }
            // The client gave up on the attempt (its connect timeout).
            Conn::Resolving { .. } | Conn::Connecting { .. } => {
                self.abort(StackError::Connect);
                self.failed(StackError::Connect);
                self.conn = Conn::Idle;
            }
            Conn::Idle | Conn::Failed(_) => self.conn = Conn::Idle,
            Conn::Closing { .. } => {}
        }
    }
}
