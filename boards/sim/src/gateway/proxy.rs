//! The TCP proxy: smoltcp connections from the device, each spliced to a
//! non-blocking `std::net::TcpStream` to a real broker on 127.0.0.1.
//!
//! - smoltcp has no accept queue: every mapped (address, port) keeps
//!   [`GatewayConfig::listeners_per_port`](super::GatewayConfig) sockets in
//!   LISTEN, replenished in the same poll as one is taken, so a device that
//!   reconnects (from a new local port) finds one.
//! - The handshake waits for the broker: listening sockets have
//!   `pause_synack`, so a SYN leaves the socket in SYN-RECEIVED without an
//!   answer while the gateway connects to the broker (non-blocking). Broker
//!   reached: the SYN-ACK goes out. Broker refused: the socket is aborted and
//!   the device gets an RST, as behind a NAT router. No answer within the
//!   connect timeout: aborted too. (A device whose SYN times out first
//!   retransmits it to the same socket.)
//! - Bytes are moved straight between the smoltcp socket's buffers and the
//!   kernel's: device data is written from the socket's receive buffer as
//!   far as the stream takes it, broker data read into the free part of the
//!   socket's transmit buffer. No other buffer, so nothing is dropped:
//!   backpressure closes the device's TCP window, or leaves bytes in the
//!   kernel until the device's side has room.
//! - Closing: broker EOF → FIN to the device; broker error → RST to the
//!   device; device FIN → `shutdown(Write)` to the broker; device RST or the
//!   gateway socket's timeout → the stream is dropped (the broker sees a
//!   FIN). A closing socket that does not finish within the TCP timeout is
//!   aborted, so nothing lingers.
//! - Remapping affects new connections only; established ones keep their
//!   broker (as NAT flows do). A removed mapping's listeners are closed.
//! - The gateway terminates TCP: the device's data is acknowledged when it
//!   reaches the gateway, not the broker.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::Instant;
use smoltcp::wire::{IpAddress, IpEndpoint};

use super::{GatewayConfig, Network};

/// What the proxy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// SYNs taken by a listening socket.
    pub accepted: u64,
    /// Broker reached: the device's handshake was completed.
    pub connected: u64,
    /// Broker refused the connection (the device got an RST).
    pub refused: u64,
    /// No answer from the broker within the connect timeout (RST).
    pub connect_timeouts: u64,
    /// SYN refused because the gateway had `max_connections` (RST).
    pub over_limit: u64,
    /// SYN whose mapping was removed before it was served (RST).
    pub unmapped: u64,
    /// The device gave up its SYN (RST) while the broker was being reached.
    pub abandoned: u64,
    /// Broker closed (EOF): FIN to the device.
    pub broker_closed: u64,
    /// Broker connection failed (read/write error): RST to the device.
    pub broker_reset: u64,
    /// Device closed its side (FIN): `shutdown(Write)` to the broker.
    pub device_closed: u64,
    /// Device side ended without the broker closing (RST, timeout, abort):
    /// the stream was dropped.
    pub device_gone: u64,
    /// Closing sockets aborted for taking longer than the TCP timeout.
    pub linger_aborts: u64,
    /// Bytes from the device written to brokers.
    pub bytes_up: u64,
    /// Bytes from brokers queued to the device.
    pub bytes_down: u64,
}

/// A proxied connection, as [`Gateway::connections`](super::Gateway::connections) reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The device's address and port.
    pub device: IpEndpoint,
    /// The virtual (address, port) it connected to.
    pub local: IpEndpoint,
    /// The real broker it is spliced to.
    pub broker: SocketAddr,
    /// True once the broker was reached.
    pub open: bool,
}

enum Phase {
    /// Waiting for the non-blocking connect to the broker.
    Connecting { deadline: Instant },
    /// Shuttling bytes.
    Open,
}

struct Conn {
    handle: SocketHandle,
    stream: TcpStream,
    broker: SocketAddr,
    phase: Phase,
    /// `shutdown(Write)` sent to the broker after the device's FIN.
    up_closed: bool,
    /// The broker's EOF was seen (FIN queued to the device).
    down_closed: bool,
    /// Set once either side closed (to that moment plus the TCP timeout):
    /// the rest must finish by then or the connection is aborted.
    linger_until: Option<Instant>,
}

enum Verdict {
    Keep,
    /// Done with the stream; the socket finishes closing on its own.
    Drain,
    /// The SYN was withdrawn: the socket is listening again.
    Relisten,
}

#[derive(Default)]
pub(crate) struct Proxy {
    /// (socket, endpoint) of sockets in LISTEN.
    listeners: Vec<(SocketHandle, IpEndpoint)>,
    conns: Vec<Conn>,
    /// Sockets closing without a stream, and when to give up on them.
    draining: Vec<(SocketHandle, Instant)>,
    /// Closed sockets, ready to listen again.
    spare: Vec<SocketHandle>,
    /// The mappings listened on, and the network's generation they are from.
    mapped: Vec<(Ipv4Addr, u16)>,
    generation: Option<u64>,
    pub(crate) stats: ProxyStats,
}

impl Proxy {
    /// Listeners for every mapping, before frames come in (so a SYN in the
    /// very first poll after a `map` finds one).
    pub(crate) fn prepare(
        &mut self,
        sockets: &mut SocketSet<'static>,
        network: &Network,
        config: &GatewayConfig,
    ) {
        self.sync_mappings(sockets, network);
        self.replenish(sockets, config);
    }

    pub(crate) fn poll(
        &mut self,
        now: Instant,
        sockets: &mut SocketSet<'static>,
        network: &Network,
        config: &GatewayConfig,
    ) {
        self.sync_mappings(sockets, network);
        self.take_syns(now, sockets, network, config);
        self.replenish(sockets, config);
        let mut i = 0;
        while i < self.conns.len() {
            match self.service(i, now, sockets, config) {
                Verdict::Keep => i += 1,
                Verdict::Drain => {
                    let c = self.conns.swap_remove(i);
                    self.draining.push((c.handle, now + config.tcp_timeout));
                }
                Verdict::Relisten => {
                    let c = self.conns.swap_remove(i);
                    let ep = sockets.get::<tcp::Socket>(c.handle).listen_endpoint();
                    let addr = match ep.addr {
                        Some(IpAddress::Ipv4(a)) => a,
                        _ => Ipv4Addr::UNSPECIFIED,
                    };
                    self.listeners
                        .push((c.handle, IpEndpoint::new(addr.into(), ep.port)));
                }
            }
        }
        // Closing sockets: overdue ones are aborted; closed ones are reused
        // once their RST is out (smoltcp then forgets the remote end), or
        // when overdue (e.g. the RST waits for an ARP reply that never comes).
        let mut still = Vec::with_capacity(self.draining.len());
        for (h, give_up) in self.draining.drain(..) {
            let s = sockets.get_mut::<tcp::Socket>(h);
            let overdue = now >= give_up;
            if s.state() != State::Closed && overdue {
                s.abort();
                self.stats.linger_aborts += 1;
            } else if s.state() == State::Closed && (s.remote_endpoint().is_none() || overdue) {
                self.spare.push(h);
            } else {
                still.push((h, give_up));
            }
        }
        self.draining = still;
    }

    /// When the proxy needs a poll: `now` while a connect is pending (a real
    /// event, not a simulated one), else the earliest linger deadline.
    pub(crate) fn poll_at(&self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for c in &self.conns {
            match c.phase {
                Phase::Connecting { .. } => consider(now),
                Phase::Open => {
                    if let Some(t) = c.linger_until {
                        consider(t);
                    }
                }
            }
        }
        for &(_, t) in &self.draining {
            consider(t);
        }
        next
    }

    pub(crate) fn real_connections(&self) -> usize {
        self.conns.len()
    }

    pub(crate) fn connections(&self, sockets: &SocketSet<'static>) -> Vec<Connection> {
        self.conns
            .iter()
            .filter_map(|c| {
                let s = sockets.get::<tcp::Socket>(c.handle);
                Some(Connection {
                    device: s.remote_endpoint()?,
                    local: s.local_endpoint()?,
                    broker: c.broker,
                    open: matches!(c.phase, Phase::Open),
                })
            })
            .collect()
    }

    /// Aborts every proxied connection (RST to the device, the streams dropped).
    pub(crate) fn reset_all(
        &mut self,
        now: Instant,
        sockets: &mut SocketSet<'static>,
        config: &GatewayConfig,
    ) {
        for c in self.conns.drain(..) {
            sockets.get_mut::<tcp::Socket>(c.handle).abort();
            self.draining.push((c.handle, now + config.tcp_timeout));
        }
    }

    /// Follows the network's mappings: listeners of removed ones are closed.
    fn sync_mappings(&mut self, sockets: &mut SocketSet<'static>, network: &Network) {
        let generation = network.map_generation();
        if self.generation == Some(generation) {
            return;
        }
        self.generation = Some(generation);
        self.mapped = network.mapped_endpoints();
        let mapped = &self.mapped;
        let spare = &mut self.spare;
        self.listeners.retain(|&(h, ep)| {
            let keep = match ep.addr {
                IpAddress::Ipv4(a) => mapped.contains(&(a, ep.port)),
                #[allow(unreachable_patterns)]
                _ => false,
            };
            if !keep {
                sockets.get_mut::<tcp::Socket>(h).abort();
                spare.push(h);
            }
            keep
        });
    }

    /// Listeners that got a SYN become connections (or are refused).
    fn take_syns(
        &mut self,
        now: Instant,
        sockets: &mut SocketSet<'static>,
        network: &Network,
        config: &GatewayConfig,
    ) {
        let mut i = 0;
        while i < self.listeners.len() {
            let (h, ep) = self.listeners[i];
            let s = sockets.get_mut::<tcp::Socket>(h);
            if s.state() == State::Listen {
                i += 1;
                continue;
            }
            self.listeners.swap_remove(i);
            if s.state() == State::Closed {
                self.spare.push(h);
                continue;
            }
            self.stats.accepted += 1;
            let target = match ep.addr {
                IpAddress::Ipv4(a) => network.lookup(a, ep.port),
                #[allow(unreachable_patterns)]
                _ => None,
            };
            let refuse = |s: &mut tcp::Socket, counter: &mut u64| {
                s.abort();
                *counter += 1;
            };
            let Some(broker) = target else {
                refuse(s, &mut self.stats.unmapped);
                self.draining.push((h, now + config.tcp_timeout));
                continue;
            };
            if self.conns.len() + self.draining.len() >= config.max_connections {
                refuse(s, &mut self.stats.over_limit);
                self.draining.push((h, now + config.tcp_timeout));
                continue;
            }
            match connect(broker) {
                Ok(stream) => self.conns.push(Conn {
                    handle: h,
                    stream,
                    broker,
                    phase: Phase::Connecting {
                        deadline: now + config.connect_timeout,
                    },
                    up_closed: false,
                    down_closed: false,
                    linger_until: None,
                }),
                Err(_) => {
                    refuse(s, &mut self.stats.refused);
                    self.draining.push((h, now + config.tcp_timeout));
                }
            }
        }
    }

    /// Keeps `listeners_per_port` sockets listening on every mapping.
    fn replenish(&mut self, sockets: &mut SocketSet<'static>, config: &GatewayConfig) {
        for &(addr, port) in &self.mapped {
            let ep = IpEndpoint::new(addr.into(), port);
            let mut have = self.listeners.iter().filter(|l| l.1 == ep).count();
            while have < config.listeners_per_port {
                let h = match self.spare.pop() {
                    Some(h) => h,
                    None => sockets.add(new_socket(config)),
                };
                let s = sockets.get_mut::<tcp::Socket>(h);
                if s.listen(ep).is_err() {
                    // Not closed after all: leave it to drain.
                    self.draining.push((h, Instant::ZERO));
                    continue;
                }
                self.listeners.push((h, ep));
                have += 1;
            }
        }
    }

    fn service(
        &mut self,
        i: usize,
        now: Instant,
        sockets: &mut SocketSet<'static>,
        config: &GatewayConfig,
    ) -> Verdict {
        let stats = &mut self.stats;
        let c = &mut self.conns[i];
        let s = sockets.get_mut::<tcp::Socket>(c.handle);
        if c.linger_until.is_some_and(|t| now >= t) {
            // One side closed a TCP timeout ago and the other never did.
            s.abort();
            stats.linger_aborts += 1;
            return Verdict::Drain;
        }
        if let Phase::Connecting { deadline } = c.phase {
            match s.state() {
                State::Listen => {
                    stats.abandoned += 1;
                    return Verdict::Relisten;
                }
                State::Closed => {
                    stats.abandoned += 1;
                    return Verdict::Drain;
                }
                _ => {}
            }
            match connect_status(&c.stream) {
                Some(Ok(())) => {
                    s.pause_synack(false);
                    c.phase = Phase::Open;
                    stats.connected += 1;
                }
                Some(Err(_)) => {
                    s.abort();
                    stats.refused += 1;
                    return Verdict::Drain;
                }
                None if now >= deadline => {
                    s.abort();
                    stats.connect_timeouts += 1;
                    return Verdict::Drain;
                }
                None => return Verdict::Keep,
            }
        }

        // Device → broker, straight from the socket's receive buffer.
        let mut broken = false;
        while s.can_recv() {
            let stream = &mut c.stream;
            match s.recv(|buf| match stream.write(buf) {
                Ok(n) => (n, Ok(n)),
                Err(e) => (0, Err(e)),
            }) {
                Ok(Ok(0)) => {
                    broken = true;
                    break;
                }
                Ok(Ok(n)) => stats.bytes_up += n as u64,
                Ok(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(_)) | Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        // The device's FIN, once its data is through.
        if !broken
            && !c.up_closed
            && s.recv_queue() == 0
            && matches!(
                s.state(),
                State::CloseWait | State::LastAck | State::Closing | State::TimeWait
            )
        {
            let _ = c.stream.shutdown(Shutdown::Write);
            c.up_closed = true;
            c.linger_until.get_or_insert(now + config.tcp_timeout);
            stats.device_closed += 1;
        }
        // Broker → device, straight into the socket's transmit buffer.
        while !broken && !c.down_closed && s.can_send() {
            let stream = &mut c.stream;
            match s.send(|buf| match stream.read(buf) {
                Ok(n) => (n, Ok(n)),
                Err(e) => (0, Err(e)),
            }) {
                Ok(Ok(0)) => {
                    c.down_closed = true;
                    c.linger_until.get_or_insert(now + config.tcp_timeout);
                    s.close();
                    stats.broker_closed += 1;
                }
                Ok(Ok(n)) => stats.bytes_down += n as u64,
                Ok(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(_)) | Err(_) => broken = true,
            }
        }
        if broken {
            s.abort();
            stats.broker_reset += 1;
            c.linger_until.get_or_insert(now + config.tcp_timeout);
            return Verdict::Drain;
        }
        if matches!(s.state(), State::Closed | State::TimeWait) {
            if !c.down_closed {
                stats.device_gone += 1;
            }
            return Verdict::Drain;
        }
        if c.up_closed && c.down_closed {
            return Verdict::Drain;
        }
        Verdict::Keep
    }
}

/// A gateway-side TCP socket: the handshake waits for the broker, no Nagle
/// (brokers set TCP_NODELAY), a timeout so nothing retransmits forever.
fn new_socket(config: &GatewayConfig) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; config.tcp_buffer]),
        tcp::SocketBuffer::new(vec![0; config.tcp_buffer]),
    );
    s.pause_synack(true);
    s.set_nagle_enabled(false);
    s.set_timeout(Some(config.tcp_timeout));
    s
}

/// Starts a non-blocking connect to `broker`.
fn connect(broker: SocketAddr) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(broker),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    match socket.connect(&broker.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}

/// `Some(Ok)` once connected, `Some(Err)` if the connect failed, `None` while pending.
fn connect_status(stream: &TcpStream) -> Option<io::Result<()>> {
    match stream.take_error() {
        Ok(Some(e)) | Err(e) => return Some(Err(e)),
        Ok(None) => {}
    }
    match stream.peer_addr() {
        Ok(_) => Some(Ok(())),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
        Err(e) => Some(Err(e)),
    }
}
