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
//!
//! One file per step of a connection, in the order they happen: `link`
//! (what the board says of its radio), `dhcp` (the address), `dns` (the
//! broker's address), `tcp` (the handshake, the connection, the
//! [`Transport`]), `failover` (what a failure changes); beside them `wan`
//! (the internet check) and `time` (SNTP). This file holds the types a user
//! sees and the poll loop that drives the steps.

mod clock;
mod config;
mod dhcp;
mod dns;
mod failover;
mod link;
mod tcp;
#[cfg(test)]
mod tests;
#[cfg(feature = "sntp")]
mod time;
mod wan;

pub use config::{Addressing, Broker, StackConfig, StackConfigError};
#[cfg(feature = "sntp")]
pub use time::UdpBuffers;

#[cfg(doc)]
use crate::net::Transport;
use crate::time::{earliest, elapsed, Duration, Instant};
use clock::Clock;
use smoltcp::iface::{Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::Device;
#[cfg(feature = "dhcp")]
use smoltcp::socket::dhcpv4;
use smoltcp::socket::dns::{DnsQuery, QueryHandle};
use smoltcp::socket::tcp as tcp_socket;
use smoltcp::wire::{IpAddress, IpCidr, Ipv4Address, Ipv4Cidr};
use tcp::{FIRST_PORT, LINGER_MS};
use wan::Wan;

/// Packets taken from the device in one [`Stack::poll`], so one superloop
/// pass does bounded work even when a burst arrives.
const PACKETS_PER_POLL: usize = 16;

/// True once `limit` has passed since a request's start (never before the
/// poll that starts it: see the module documentation on time).
fn expired(since: Option<Instant>, now: Instant, limit: Duration) -> bool {
    since.is_some_and(|s| elapsed(s, now) >= limit.ticks())
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

/// Where the connection to the broker stands: the steps of an attempt, then
/// the connection.
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
        let tcp = sockets.add(tcp_socket::Socket::new(
            tcp_socket::SocketBuffer::new(buffers.tcp_rx),
            tcp_socket::SocketBuffer::new(buffers.tcp_tx),
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
        let dns = sockets.add(smoltcp::socket::dns::Socket::new(
            &servers,
            buffers.dns_queries,
        ));
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

    fn tcp_socket(&self) -> &tcp_socket::Socket<'a> {
        self.sockets.get::<tcp_socket::Socket>(self.tcp)
    }

    fn tcp_mut(&mut self) -> &mut tcp_socket::Socket<'a> {
        self.sockets.get_mut::<tcp_socket::Socket>(self.tcp)
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

    /// Advances a connection in progress (the DNS answer, the handshake, the
    /// linger after a close, their timeouts) and a WAN check.
    fn progress(&mut self, now: Instant) {
        match self.conn {
            Conn::Resolving { query, since } => self.resolving(now, query, since),
            Conn::Connecting { since } => self.connecting(now, since),
            Conn::Closing { since } => self.closing(now, since),
            _ => {}
        }
        self.wan_progress(now);
    }
}
