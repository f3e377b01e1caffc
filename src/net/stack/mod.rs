//! The device's IP stack: a [`Transport`] over a smoltcp 0.14 `Interface`,
//! with DHCPv4 or a static address, polled DNS with a timeout, one TCP
//! connection to the broker, and a list of brokers tried in turn.
//!
//! The board owns the network device (`smoltcp::phy::Device`) and calls
//! [`Stack::poll`] once per superloop pass; the MQTT client uses the stack
//! as its transport. Nothing blocks: `connect` starts (or continues) the
//! steps a connection needs — an address from DHCP, the broker's address from
//! the answer cache or a DNS query, the TCP handshake — and says
//! `WouldBlock` until they are done, or gives the error that ended them.
//!
//! Resilience beyond mqtt_as (which resolves once, and blocks):
//! - the DNS query has a timeout; the answer is cached and asked again after
//!   `resolve_after` failed connections (the broker's name may point
//!   elsewhere now);
//! - after `failover_after` failures in a row the next broker of the list is
//!   tried;
//! - a connection counts as working only once the broker has sent a byte (a
//!   proxy or NAT may complete the handshake for a broker that is not there);
//! - each connection uses a new local port; a lost lease, a new address or
//!   [`Stack::link_down`] aborts the connection at once;
//! - [`Stack::check_wan`] asks a configurable DNS server whether the
//!   internet is reachable (mqtt_as's `wan_ok`, whose server is hard-coded).
//!
//! Time: [`Stack::poll`] is the only method given `now`; the [`Transport`]
//! methods (and [`Stack::check_wan`]) are called between polls, at a moment
//! the stack cannot know — the pass may have run for seconds since the last
//! poll, and a loop may call the client before the stack. So a request made
//! between polls is not stamped with the last poll's time (which would
//! start its timeout up to a whole pass early: a handshake could be given
//! up before its SYN was ever sent). It is stamped by the next poll, the
//! one that sends its first packet (the SYN, the DNS query, the FIN behind
//! a DISCONNECT), and its timeout runs from there: the network gets the
//! whole timeout, and the error comes at most one pass after the timeout
//! ends. `next_deadline` is `now` while a request waits for that poll.
//!
//! Storage is the caller's ([`Buffers`]): no allocation.

mod clock;
mod config;
#[cfg(test)]
mod tests;
#[cfg(feature = "sntp")]
mod time;

pub use config::{Addressing, Broker, StackConfig, StackConfigError};
#[cfg(feature = "sntp")]
pub use time::UdpBuffers;

use crate::net::Transport;
use crate::time::{earliest, elapsed, Duration, Instant};
use clock::Clock;
use smoltcp::iface::{Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::Device;
#[cfg(feature = "dhcp")]
use smoltcp::socket::dhcpv4;
use smoltcp::socket::dns::{self, DnsQuery, GetQueryResultError, QueryHandle};
use smoltcp::socket::tcp;
use smoltcp::wire::{DnsQueryType, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr};

/// Packets taken from the device in one [`Stack::poll`], so one superloop
/// pass does bounded work even when a burst arrives.
const PACKETS_PER_POLL: usize = 16;

/// First local port; each connection takes the next (RFC 6335 dynamic range).
const FIRST_PORT: u16 = 49_152;

/// Longest wait, after `close` with bytes in flight, for the broker to
/// acknowledge them before the socket is reused (ms).
const LINGER_MS: u32 = 1_000;

/// True once `limit` has passed since a request's start (never before the
/// poll that starts it: see the module documentation on time).
fn expired(since: Option<Instant>, now: Instant, limit: Duration) -> bool {
    since.is_some_and(|s| elapsed(s, now) >= limit.ticks())
}

/// The first IPv4 address of a DNS answer.
fn first_ipv4(addrs: &[IpAddress]) -> Option<Ipv4Address> {
    addrs.iter().find_map(|a| match a {
        IpAddress::Ipv4(v4) => Some(*v4),
        #[allow(unreachable_patterns)]
        _ => None,
    })
}

/// Storage the stack runs in, all the caller's.
pub struct Buffers<'a> {
    /// Room for the stack's sockets: 2 (DNS, TCP), 3 with DHCP.
    pub sockets: &'a mut [SocketStorage<'a>],
    /// TCP receive buffer: bytes from the broker not yet read (e.g. 2 KiB).
    pub tcp_rx: &'a mut [u8],
    /// TCP send buffer: bytes to the broker not yet acknowledged (e.g. 2 KiB).
    pub tcp_tx: &'a mut [u8],
    /// DNS queries in progress at once: 1 is enough.
    pub dns_queries: &'a mut [Option<DnsQuery>],
    /// A UDP socket for the time ([`Stack::request_time`]; one more socket
    /// slot), or none (feature `sntp`).
    #[cfg(feature = "sntp")]
    pub udp: Option<UdpBuffers<'a>>,
}

/// Why a connection attempt (or a connection) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// No IP address (no DHCP lease yet).
    NoAddress,
    /// The radio's link is down ([`Stack::link_down`]) and not up again.
    LinkDown,
    /// No DNS server to ask (none in the lease, none configured).
    NoDnsServer,
    /// The DNS query failed or timed out, or gave no IPv4 address.
    Dns,
    /// The TCP handshake was refused or timed out.
    Connect,
    /// The connection was closed or reset, or the stack aborted it (lease
    /// lost, address changed, link down).
    Closed,
    /// `send`/`recv` without a connection.
    NotConnected,
}

/// What [`Stack::poll`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackEvent {
    /// An address from DHCP (new, or changed: any connection was aborted).
    Configured(Ipv4Cidr),
    /// The lease was lost (any connection was aborted).
    Deconfigured,
}

/// Totals since power-up; they wrap at `u32::MAX`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackCounters {
    /// DNS queries started for a broker's name.
    pub dns_queries: u32,
    /// DNS queries that failed, timed out or gave no IPv4 address.
    pub dns_failures: u32,
    /// TCP handshakes completed.
    pub connects: u32,
    /// Attempts and connections that failed before the broker sent anything.
    pub connect_failures: u32,
    /// Moves to the next broker of the list.
    pub failovers: u32,
    /// DHCP leases taken (first ones and changes).
    pub leases: u32,
}

#[derive(Clone, Copy)]
enum Conn {
    Idle,
    /// `since`: the poll that sent the query (`None` until then; see the
    /// module documentation on time), likewise for the other states.
    Resolving {
        query: QueryHandle,
        since: Option<Instant>,
    },
    Connecting {
        since: Option<Instant>,
    },
    Open,
    /// `close` with bytes still unacknowledged (a DISCONNECT): FIN after
    /// them, and the next connection waits until the broker has them or
    /// [`LINGER_MS`] passed.
    Closing {
        since: Option<Instant>,
    },
    /// The attempt ended; the next `connect` reports it.
    Failed(StackError),
}

#[derive(Clone, Copy)]
enum Wan {
    Idle,
    Pending {
        query: QueryHandle,
        since: Option<Instant>,
    },
    Done(bool),
}

/// The IP stack; see the module documentation.
///
/// A board builds it over its network device's `Interface`, polls it once
/// per superloop pass, and hands it to the client as its [`Transport`].
/// Here the device is smoltcp's loopback and nothing listens on the
/// broker's port, so the attempt ends with [`StackError::Connect`]:
///
/// ```
/// use limpet::net::stack::{Addressing, Broker, Buffers, Stack, StackConfig, StackError};
/// use limpet::net::Transport;
/// use limpet::time::{Duration, Instant};
/// use smoltcp::iface::{Config, Interface, SocketStorage};
/// use smoltcp::phy::{Loopback, Medium};
/// use smoltcp::wire::{HardwareAddress, Ipv4Address, Ipv4Cidr};
///
/// // The board's part: its device and an interface over it.
/// let mut device = Loopback::new(Medium::Ip);
/// let iface = Interface::new(
///     Config::new(HardwareAddress::Ip),
///     &mut device,
///     smoltcp::time::Instant::ZERO,
/// );
///
/// // The application's part: settings and storage, no allocation.
/// static BROKERS: [Broker; 1] = [Broker::new("127.0.0.1", 1883)];
/// let addressing = Addressing::Static {
///     address: Ipv4Cidr::new(Ipv4Address::new(127, 0, 0, 1), 8),
///     gateway: None,
///     dns: None,
/// };
/// let mut sockets = [SocketStorage::EMPTY; 2]; // TCP and DNS
/// let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
/// let mut dns_queries = [None];
/// let buffers = Buffers {
///     sockets: &mut sockets,
///     tcp_rx: &mut rx,
///     tcp_tx: &mut tx,
///     dns_queries: &mut dns_queries,
///     #[cfg(feature = "sntp")]
///     udp: None,
/// };
/// let config = StackConfig::new(addressing, &BROKERS);
/// let mut stack = Stack::new(config, iface, buffers, 0x5EED).unwrap();
///
/// // The superloop: the client asks for a connection, the stack's poll
/// // makes progress on it, `next_deadline` says when to poll again.
/// let mut now = Instant::from_ticks(0);
/// let outcome = loop {
///     match stack.connect() {
///         Err(nb::Error::WouldBlock) => {}
///         other => break other,
///     }
///     stack.poll(now, &mut device);
///     let next = stack.next_deadline(now).unwrap_or(now + Duration::from_ticks(100));
///     now = if next > now { next } else { now + Duration::from_ticks(1) };
/// };
/// assert_eq!(outcome, Err(nb::Error::Other(StackError::Connect)));
/// assert_eq!(stack.counters().connect_failures, 1);
/// ```
pub struct Stack<'a> {
    iface: Interface,
    sockets: SocketSet<'a>,
    tcp: SocketHandle,
    dns: SocketHandle,
    #[cfg(feature = "dhcp")]
    dhcp: Option<SocketHandle>,
    config: StackConfig<'a>,
    clock: Clock,
    conn: Conn,
    /// The broker of the list now in use, and its address once resolved.
    broker: usize,
    resolved: Option<Ipv4Address>,
    /// Failures in a row with the current broker.
    failures: u8,
    /// The connection has received bytes: the broker is really there.
    heard: bool,
    local_port: u16,
    /// DNS servers of the lease (or the static configuration).
    dns_server: Option<Ipv4Address>,
    wan: Wan,
    /// The last poll stopped with packets left in the device.
    busy: bool,
    /// The board's link is up (see [`Stack::link_down`]).
    link: bool,
    /// The time socket and query ([`Stack::request_time`]).
    #[cfg(feature = "sntp")]
    udp: Option<SocketHandle>,
    #[cfg(feature = "sntp")]
    time: time::TimeQuery<'a>,
    counters: StackCounters,
}

impl<'a> Stack<'a> {
    /// A stack over `iface` (made by the board for its device: hardware
    /// address, random seed). `seed` varies the first local port between
    /// devices (a MAC address, a chip id).
    pub fn new(
        config: StackConfig<'a>,
        mut iface: Interface,
        buffers: Buffers<'a>,
        seed: u32,
    ) -> Result<Self, StackConfigError> {
        config.check()?;
        let mut sockets = SocketSet::new(buffers.sockets);
        let tcp = sockets.add(tcp::Socket::new(
            tcp::SocketBuffer::new(buffers.tcp_rx),
            tcp::SocketBuffer::new(buffers.tcp_tx),
        ));
        #[cfg(feature = "dhcp")]
        let mut dhcp = None;
        let dns_server = match config.addressing {
            #[cfg(feature = "dhcp")]
            Addressing::Dhcp => {
                dhcp = Some(sockets.add(dhcpv4::Socket::new()));
                None
            }
            Addressing::Static {
                address,
                gateway,
                dns,
            } => {
                iface.update_ip_addrs(|addrs| {
                    addrs.clear();
                    let _ = addrs.push(IpCidr::Ipv4(address));
                });
                if let Some(gw) = gateway {
                    let _ = iface.routes_mut().add_default_ipv4_route(gw);
                }
                dns
            }
        };
        let servers: heapless::Vec<IpAddress, 1> =
            dns_server.map(IpAddress::Ipv4).into_iter().collect();
        let dns = sockets.add(dns::Socket::new(&servers, buffers.dns_queries));
        #[cfg(feature = "sntp")]
        let udp = buffers.udp.map(|b| {
            sockets.add(smoltcp::socket::udp::Socket::new(
                smoltcp::socket::udp::PacketBuffer::new(b.rx_meta, b.rx),
                smoltcp::socket::udp::PacketBuffer::new(b.tx_meta, b.tx),
            ))
        });
        Ok(Stack {
            iface,
            sockets,
            tcp,
            dns,
            #[cfg(feature = "dhcp")]
            dhcp,
            config,
            clock: Clock::new(),
            conn: Conn::Idle,
            broker: 0,
            resolved: None,
            failures: 0,
            heard: false,
            local_port: FIRST_PORT + (seed % 4096) as u16,
            dns_server,
            wan: Wan::Idle,
            busy: false,
            link: true,
            #[cfg(feature = "sntp")]
            udp,
            #[cfg(feature = "sntp")]
            time: time::TimeQuery::Idle,
            counters: StackCounters::default(),
        })
    }

    /// Totals since power-up (see [`StackCounters`]).
    pub fn counters(&self) -> &StackCounters {
        &self.counters
    }

    /// The device's IPv4 address, if it has one.
    pub fn address(&self) -> Option<Ipv4Address> {
        self.iface.ipv4_addr()
    }

    /// The broker of the list in use (the one the next connection goes to).
    pub fn broker(&self) -> &Broker<'a> {
        &self.config.brokers[self.broker]
    }

    /// True while a TCP connection to the broker is established.
    pub fn is_connected(&self) -> bool {
        matches!(self.conn, Conn::Open) && self.tcp_socket().is_active()
    }

    fn tcp_socket(&self) -> &tcp::Socket<'a> {
        self.sockets.get::<tcp::Socket>(self.tcp)
    }

    fn tcp_mut(&mut self) -> &mut tcp::Socket<'a> {
        self.sockets.get_mut::<tcp::Socket>(self.tcp)
    }

    /// Moves packets between the device and the sockets (at most 16 in),
    /// follows DHCP, and advances a connection in progress. Call once per
    /// superloop pass.
    pub fn poll<D: Device + ?Sized>(&mut self, now: Instant, device: &mut D) -> Option<StackEvent> {
        self.clock.advance(now);
        self.stamp(now);
        let t = self.clock.smol();
        self.iface.poll_maintenance(t);
        let mut taken = 0;
        while taken < PACKETS_PER_POLL {
            use smoltcp::iface::PollIngressSingleResult;
            match self.iface.poll_ingress_single(t, device, &mut self.sockets) {
                PollIngressSingleResult::None => break,
                _ => taken += 1,
            }
        }
        self.busy = taken == PACKETS_PER_POLL;
        self.iface.poll_egress(t, device, &mut self.sockets);
        let event = self.dhcp_event();
        self.progress(now);
        #[cfg(feature = "sntp")]
        self.time_progress(now);
        event
    }

    /// Requests made since the last poll start now: their first packet
    /// leaves in this poll (see the module documentation on time).
    fn stamp(&mut self, now: Instant) {
        match &mut self.conn {
            Conn::Resolving { since, .. }
            | Conn::Connecting { since }
            | Conn::Closing { since } => {
                since.get_or_insert(now);
            }
            _ => {}
        }
        if let Wan::Pending { since, .. } = &mut self.wan {
            since.get_or_insert(now);
        }
    }

    /// True if a request is waiting for the poll that starts it.
    fn unstamped(&self) -> bool {
        let conn = match self.conn {
            Conn::Resolving { since, .. }
            | Conn::Connecting { since }
            | Conn::Closing { since } => since.is_none(),
            _ => false,
        };
        conn || matches!(self.wan, Wan::Pending { since: None, .. })
    }

    /// When `poll` must run again if no packet arrives: never before `now`;
    /// `now` if the last poll left packets in the device, or a request
    /// waits for a poll to send it.
    pub fn next_deadline(&mut self, now: Instant) -> Option<Instant> {
        if self.busy || self.unstamped() {
            return Some(now);
        }
        let t = self.clock.smol();
        let smol = self
            .iface
            .poll_at(t, &self.sockets)
            .map(|at| self.clock.limpet_at(at));
        let timer = match self.conn {
            Conn::Resolving { since, .. } => since.map(|s| s + self.config.dns_timeout),
            Conn::Connecting { since } => since.map(|s| s + self.config.connect_timeout),
            Conn::Closing { since } => since.map(|s| s + Duration::from_ticks(LINGER_MS)),
            _ => None,
        };
        let wan = match self.wan {
            Wan::Pending { since, .. } => since.map(|s| s + self.config.dns_timeout),
            _ => None,
        };
        #[cfg(feature = "sntp")]
        let wan = earliest(wan, self.time_deadline());
        earliest(earliest(smol, timer), wan).map(|d| if d < now { now } else { d })
    }

    /// The radio's link went down (or is not trusted yet: a board with a
    /// WLAN controller calls this before its first `Up`): the connection is
    /// aborted at once, a DHCP lease is given up (the network that comes
    /// back may be another), and `connect` fails with
    /// [`StackError::LinkDown`] until [`Stack::link_up`]. A new stack's link
    /// is up (a wired or serial board has nothing to wait for).
    pub fn link_down(&mut self) {
        self.abort(StackError::Closed);
        self.link = false;
        #[cfg(feature = "dhcp")]
        if let Some(dhcp) = self.dhcp {
            self.sockets.get_mut::<dhcpv4::Socket>(dhcp).reset();
            self.deconfigure();
        }
    }

    /// The radio's link is up (again): connections may start; after a
    /// `link_down`, DHCP starts over at once, on the network just joined (a
    /// static address needs nothing). Idempotent: a link already up keeps
    /// its lease and its connection.
    pub fn link_up(&mut self) {
        if self.link {
            return;
        }
        self.link = true;
        #[cfg(feature = "dhcp")]
        if let Some(dhcp) = self.dhcp {
            self.sockets.get_mut::<dhcpv4::Socket>(dhcp).reset();
        }
    }

    /// The link is up (see [`Stack::link_down`]).
    pub fn is_link_up(&self) -> bool {
        self.link
    }

    #[cfg(not(feature = "dhcp"))]
    fn dhcp_event(&mut self) -> Option<StackEvent> {
        None
    }

    #[cfg(feature = "dhcp")]
    fn dhcp_event(&mut self) -> Option<StackEvent> {
        let dhcp = self.dhcp?;
        let event = self.sockets.get_mut::<dhcpv4::Socket>(dhcp).poll()?;
        match event {
            dhcpv4::Event::Configured(lease) => {
                let address = lease.address;
                let router = lease.router;
                let dns = lease.dns_servers.first().copied();
                if self.iface.ipv4_addr() != Some(address.address()) {
                    // Whatever ran over the old address is dead.
                    self.abort(StackError::Closed);
                }
                self.iface.update_ip_addrs(|addrs| {
                    addrs.clear();
                    let _ = addrs.push(IpCidr::Ipv4(address));
                });
                match router {
                    Some(r) => {
                        let _ = self.iface.routes_mut().add_default_ipv4_route(r);
                    }
                    None => {
                        self.iface.routes_mut().remove_default_ipv4_route();
                    }
                }
                self.dns_server = dns;
                self.set_dns_servers(dns);
                self.counters.leases = self.counters.leases.wrapping_add(1);
                Some(StackEvent::Configured(address))
            }
            dhcpv4::Event::Deconfigured => {
                self.abort(StackError::Closed);
                self.deconfigure();
                Some(StackEvent::Deconfigured)
            }
        }
    }

    #[cfg(feature = "dhcp")]
    fn deconfigure(&mut self) {
        self.iface.update_ip_addrs(|addrs| addrs.clear());
        self.iface.routes_mut().remove_default_ipv4_route();
        self.dns_server = None;
        self.set_dns_servers(None);
    }

    fn set_dns_servers(&mut self, server: Option<Ipv4Address>) {
        let servers: heapless::Vec<IpAddress, 1> =
            server.map(IpAddress::Ipv4).into_iter().collect();
        self.sockets
            .get_mut::<dns::Socket>(self.dns)
            .update_servers(&servers);
    }

    /// Aborts a connection or attempt in progress (not counted as a failure).
    fn abort(&mut self, why: StackError) {
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

    /// Advances a connection in progress: the DNS answer, the handshake,
    /// their timeouts; and a WAN check.
    fn progress(&mut self, now: Instant) {
        match self.conn {
            Conn::Resolving { query, since } => {
                let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
                match dns.get_query_result(query) {
                    Ok(addrs) => {
                        let v4 = first_ipv4(&addrs);
                        match v4 {
                            Some(addr) => {
                                self.resolved = Some(addr);
                                // The SYN leaves in this poll's egress: timed from now.
                                self.start_tcp(Some(now), addr);
                            }
                            None => self.failed(StackError::Dns),
                        }
                    }
                    Err(GetQueryResultError::Pending) => {
                        if expired(since, now, self.config.dns_timeout) {
                            dns.cancel_query(query);
                            self.failed(StackError::Dns);
                        }
                    }
                    Err(GetQueryResultError::Failed) => self.failed(StackError::Dns),
                }
            }
            Conn::Connecting { since } => match self.tcp_socket().state() {
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
            },
            Conn::Closing { since } => {
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
            _ => {}
        }
        self.wan_progress(now);
    }

    /// Counts a failure with the current broker: forget its address after
    /// `resolve_after`, move to the next one after `failover_after`.
    fn failed(&mut self, why: StackError) {
        self.conn = Conn::Failed(why);
        if why == StackError::Dns {
            self.counters.dns_failures = self.counters.dns_failures.wrapping_add(1);
        }
        self.counters.connect_failures = self.counters.connect_failures.wrapping_add(1);
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.config.resolve_after {
            self.resolved = None;
        }
        if self.failures >= self.config.failover_after && self.config.brokers.len() > 1 {
            self.broker = (self.broker + 1) % self.config.brokers.len();
            self.resolved = None;
            self.failures = 0;
            self.counters.failovers = self.counters.failovers.wrapping_add(1);
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
        if self.dns_server.is_none() {
            return Err(StackError::NoDnsServer);
        }
        let cx = self.iface.context();
        let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
        match dns.start_query(cx, broker.host, DnsQueryType::A) {
            Ok(query) => {
                self.counters.dns_queries = self.counters.dns_queries.wrapping_add(1);
                self.conn = Conn::Resolving { query, since: None };
                Ok(())
            }
            Err(_) => {
                self.failed(StackError::Dns);
                Err(StackError::Dns)
            }
        }
    }

    /// Starts the handshake; `since`: now if called from `poll`, else `None`.
    fn start_tcp(&mut self, since: Option<Instant>, addr: Ipv4Address) {
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

    /// Asks the WAN DNS server (`StackConfig::wan_server`, else the lease's)
    /// for `StackConfig::wan_name`; [`Stack::wan_ok`] gives the answer. Not
    /// while a broker's name is being resolved (`Err(WouldBlock)`).
    pub fn check_wan(&mut self) -> nb::Result<(), StackError> {
        if matches!(self.conn, Conn::Resolving { .. }) || matches!(self.wan, Wan::Pending { .. }) {
            return Err(nb::Error::WouldBlock);
        }
        if self.iface.ipv4_addr().is_none() {
            return Err(nb::Error::Other(StackError::NoAddress));
        }
        let server = self
            .config
            .wan_server
            .or(self.dns_server)
            .ok_or(nb::Error::Other(StackError::NoDnsServer))?;
        self.set_dns_servers(Some(server));
        let cx = self.iface.context();
        let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
        let started = dns.start_query(cx, self.config.wan_name, DnsQueryType::A);
        match started {
            Ok(query) => {
                self.wan = Wan::Pending { query, since: None };
                Ok(())
            }
            Err(_) => {
                let lease = self.dns_server;
                self.set_dns_servers(lease);
                Err(nb::Error::Other(StackError::Dns))
            }
        }
    }

    /// The answer of the last [`Stack::check_wan`]: `None` while pending (or
    /// none asked), then once `Some(true)` (the WAN DNS server answered with
    /// an address) or `Some(false)`.
    pub fn wan_ok(&mut self) -> Option<bool> {
        match self.wan {
            Wan::Done(ok) => {
                self.wan = Wan::Idle;
                Some(ok)
            }
            _ => None,
        }
    }

    fn wan_progress(&mut self, now: Instant) {
        let Wan::Pending { query, since } = self.wan else {
            return;
        };
        let dns = self.sockets.get_mut::<dns::Socket>(self.dns);
        let done = match dns.get_query_result(query) {
            Ok(addrs) => Some(!addrs.is_empty()),
            Err(GetQueryResultError::Failed) => Some(false),
            Err(GetQueryResultError::Pending) => {
                if expired(since, now, self.config.dns_timeout) {
                    dns.cancel_query(query);
                    Some(false)
                } else {
                    None
                }
            }
        };
        if let Some(ok) = done {
            self.wan = Wan::Done(ok);
            let lease = self.dns_server;
            self.set_dns_servers(lease);
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
