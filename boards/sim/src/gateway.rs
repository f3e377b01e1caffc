//! The network behind the access point: a smoltcp `Interface` on the
//! link's gateway end that answers DHCP (UDP 67), DNS (UDP 53), SNTP (UDP 123) and
//! proxies TCP to real brokers on 127.0.0.1.
//!
//! Two types:
//!
//! - [`Network`]: what all devices share, a cheap-to-clone handle the test
//!   keeps: the DHCP pool and leases ([`Network::renumber`]), the DNS table
//!   and its failure modes ([`Network::set_record`], [`Network::set_dns_fault`]),
//!   and the proxy's mappings from virtual (address, port) to real brokers
//!   ([`Network::map`]), all changeable at run time. Counters for DHCP and
//!   DNS live here.
//! - [`Gateway`]: one per device link (one device per access-point port, no
//!   broadcast fan-out, O(1) work per device per poll): its own smoltcp
//!   interface and sockets, the device's proxied connections and their
//!   counters. A fleet is N links, N gateways and one `Network`.
//!
//! Addresses are virtual: the LAN (by default 10.0.0.0/24, gateway 10.0.0.1,
//! pool from 10.0.0.100) and any mapped broker address exist only inside the
//! smoltcp interfaces. The gateway interface runs in smoltcp's AnyIP mode,
//! so it answers ARP for, and accepts packets to, any address: a mapping
//! needs no interface address, and a broker address can be in the LAN or
//! beyond the router. The only real sockets are the proxy's, and
//! [`Network::map`] only accepts loopback targets.
//!
//! # Time
//!
//! Simulated time is the caller's: every `poll` takes `now`
//! ([`smoltcp::time::Instant`]; [`crate::link::to_smoltcp`] converts limpet's).
//! DHCP leases, DNS delays, the connect timeout and all of smoltcp's timers
//! follow it. The brokers and the proxy's std sockets run in real time, so a
//! test with a broker in the loop drives it like this, each step:
//!
//! 1. Poll the device's interface and [`Gateway::poll`] (which also moves
//!    bytes between the proxied std sockets and smoltcp) a few times at the
//!    same `now` (three rounds are plenty: frames cross the link in the
//!    same round when there is no latency).
//! 2. Let the test act (send, connect, start a query, change a fault).
//! 3. Ask for deadlines afresh, after the test acted: the device
//!    interface's `poll_at`, [`Gateway::poll_at`], and both endpoints'
//!    [`Endpoint::next_rx_at`].
//! 4. Advance `now` to the earliest of them, but by at least a tick (1 ms):
//!    a deadline of `now` also means "a real event is pending" (a connect
//!    to the broker under way). While [`Gateway::real_connections`] is
//!    non-zero, advance by at most a small step (10 ms) and sleep a little
//!    real time (200 µs) per step, so a broker's answer is picked up at a
//!    plausible simulated time.
//!
//! Idle spans (lease waits, outages with no connection open) then pass in a
//! few steps; with a broker connection open simulated time runs about
//! step/sleep = 50 times faster than real time. `boards/sim/tests/support`
//! is such a loop.
//!
//! # Cost
//!
//! Memory per gateway, defaults: the smoltcp interface and socket set (a few
//! KiB), DHCP and DNS UDP buffers (6 KiB), and one TCP socket with two
//! `tcp_buffer` (4 KiB) buffers per listener (`listeners_per_port`, 2) and
//! per open connection: 30 KiB of socket buffers for one mapping and one
//! connection, 14 KiB with 2 KiB buffers and one listener. Measured
//! (`tests/fleet.rs`, `fleet_cost`, release, 1000 devices against one
//! mosquitto, device side included): 48 KiB of RSS per connected device with
//! the defaults, 29 KiB with the small settings; an idle poll of a device
//! interface plus its gateway about 0.7 µs. An idle poll takes no lock.

mod dhcp;
mod dns;
mod ntp;
mod proxy;

pub use dhcp::{DhcpStats, Lease, OFFER_HOLD_SECS};
pub use dns::{DnsFault, DnsStats};
pub use proxy::{Connection, ProxyStats};

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::phy::{Device, Medium};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, DHCP_CLIENT_PORT,
    DHCP_SERVER_PORT,
};

use crate::link::Endpoint;
use dhcp::DhcpServer;
use dns::DnsTable;
use proxy::Proxy;

/// The shared network's configuration.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The gateway's address: router, DHCP server and DNS server.
    pub gateway: Ipv4Addr,
    /// The LAN's prefix length.
    pub prefix_len: u8,
    /// First address of the DHCP pool.
    pub pool_start: Ipv4Addr,
    /// Addresses in the pool (keep it above twice the devices for
    /// [`Network::renumber`] to give everyone a new address).
    pub pool_size: u32,
    /// Lease time offered, in seconds.
    pub lease_secs: u32,
    /// TTL of DNS answers, in seconds.
    pub dns_ttl: u32,
}

impl Default for NetworkConfig {
    /// 10.0.0.1/24, pool 10.0.0.100–10.0.0.199, 1-hour leases, 60 s TTL.
    fn default() -> NetworkConfig {
        NetworkConfig {
            gateway: Ipv4Addr::new(10, 0, 0, 1),
            prefix_len: 24,
            pool_start: Ipv4Addr::new(10, 0, 0, 100),
            pool_size: 100,
            lease_secs: 3600,
            dns_ttl: 60,
        }
    }
}

struct NetState {
    config: NetworkConfig,
    dhcp: DhcpServer,
    dns: DnsTable,
    /// (virtual address, port) → real broker.
    map: Vec<(Ipv4Addr, u16, SocketAddr)>,
}

/// What every gateway of one network shares (a cheap-to-clone handle).
#[derive(Clone)]
pub struct Network {
    state: Arc<Mutex<NetState>>,
    /// Bumped on every change to the mappings, read without the lock.
    map_generation: Arc<AtomicU64>,
}

impl Network {
    /// A network with an empty DNS table and no mappings.
    pub fn new(config: NetworkConfig) -> Network {
        let dhcp = DhcpServer::new(
            config.gateway,
            config.prefix_len,
            config.pool_start,
            config.pool_size,
            config.lease_secs,
        );
        let dns = DnsTable::new(config.dns_ttl);
        Network {
            state: Arc::new(Mutex::new(NetState {
                config,
                dhcp,
                dns,
                map: Vec::new(),
            })),
            map_generation: Arc::new(AtomicU64::new(0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, NetState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The configuration it was made with.
    pub fn config(&self) -> NetworkConfig {
        self.lock().config.clone()
    }

    // --- DHCP -----------------------------------------------------------

    /// Forgets every lease: renewals are NAKed and each client's next lease
    /// is a different address ("the AP comes back with a new lease").
    pub fn renumber(&self) {
        self.lock().dhcp.renumber();
    }

    /// Current leases and outstanding offers. Expired ones are dropped
    /// lazily, at the next DHCP message (the network has no clock of its own).
    pub fn leases(&self) -> Vec<Lease> {
        self.lock().dhcp.leases().to_vec()
    }

    /// The bound address of the client with this hardware address (see
    /// [`Network::leases`] about expiry).
    pub fn lease_of(&self, mac: EthernetAddress) -> Option<Ipv4Addr> {
        self.lock()
            .dhcp
            .leases()
            .iter()
            .find(|l| l.mac == mac && l.bound)
            .map(|l| l.addr)
    }

    /// Lease time for leases granted or renewed from now on.
    pub fn set_lease_secs(&self, secs: u32) {
        self.lock().dhcp.set_lease_secs(secs);
    }

    /// A silent DHCP server answers nothing (the device never gets a lease).
    pub fn set_dhcp_silent(&self, silent: bool) {
        self.lock().dhcp.silent = silent;
    }

    /// DHCP counters.
    pub fn dhcp_stats(&self) -> DhcpStats {
        self.lock().dhcp.stats
    }

    // --- DNS ------------------------------------------------------------

    /// `name` (case-insensitive, trailing dot optional) resolves to `addr`.
    pub fn set_record(&self, name: &str, addr: Ipv4Addr) {
        self.lock().dns.set_record(name, addr);
    }

    /// `name` no longer resolves (NXDOMAIN); its old address, if any.
    pub fn remove_record(&self, name: &str) -> Option<Ipv4Addr> {
        self.lock().dns.remove_record(name)
    }

    /// What `name` resolves to now.
    pub fn record(&self, name: &str) -> Option<Ipv4Addr> {
        self.lock().dns.record(name)
    }

    /// The DNS server's failure mode, for queries from now on.
    pub fn set_dns_fault(&self, fault: DnsFault) {
        self.lock().dns.fault = fault;
    }

    /// Queries for `name` so far (well-formed ones, answered or not).
    pub fn dns_queries_for(&self, name: &str) -> u64 {
        self.lock().dns.queries_for(name)
    }

    /// DNS counters.
    pub fn dns_stats(&self) -> DnsStats {
        self.lock().dns.stats
    }

    // --- proxy mappings -------------------------------------------------

    /// TCP to `addr:port` is proxied to `real` from now on (replacing any
    /// earlier mapping of `addr:port`). Connections already open keep their
    /// broker. Panics unless `real` is a loopback address: the proxy's
    /// traffic stays on this machine.
    pub fn map(&self, addr: Ipv4Addr, port: u16, real: SocketAddr) {
        assert!(
            real.ip().is_loopback(),
            "the proxy only connects to loopback brokers, not {real}"
        );
        assert!(port != 0, "port 0");
        let mut s = self.lock();
        s.map.retain(|m| (m.0, m.1) != (addr, port));
        s.map.push((addr, port, real));
        self.map_generation.fetch_add(1, Ordering::Release);
    }

    /// Stops proxying `addr:port` (new SYNs get an RST); the old target.
    pub fn unmap(&self, addr: Ipv4Addr, port: u16) -> Option<SocketAddr> {
        let mut s = self.lock();
        let i = s.map.iter().position(|m| (m.0, m.1) == (addr, port))?;
        let old = s.map.remove(i).2;
        self.map_generation.fetch_add(1, Ordering::Release);
        Some(old)
    }

    /// Where `addr:port` is proxied to now.
    pub fn lookup(&self, addr: Ipv4Addr, port: u16) -> Option<SocketAddr> {
        self.lock()
            .map
            .iter()
            .find(|m| (m.0, m.1) == (addr, port))
            .map(|m| m.2)
    }

    fn map_generation(&self) -> u64 {
        self.map_generation.load(Ordering::Acquire)
    }

    fn mapped_endpoints(&self) -> Vec<(Ipv4Addr, u16)> {
        self.lock().map.iter().map(|m| (m.0, m.1)).collect()
    }
}

/// One gateway's configuration.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The gateway's MAC address (Ethernet links).
    pub mac: EthernetAddress,
    /// Seed of the interface's PRNG (TCP sequence numbers, IP ids).
    pub seed: u64,
    /// Size of each of a TCP socket's two buffers.
    pub tcp_buffer: usize,
    /// Listening sockets kept per mapping (smoltcp has no accept queue).
    pub listeners_per_port: usize,
    /// Most connections at once (open, connecting or closing); a SYN beyond
    /// that gets an RST.
    pub max_connections: usize,
    /// smoltcp's timeout for the gateway's TCP sockets (unacknowledged data
    /// for this long aborts), also the most a closing connection may take.
    pub tcp_timeout: Duration,
    /// How long a SYN waits for the broker to accept before an RST.
    pub connect_timeout: Duration,
    /// Frames taken from the link per poll.
    pub ingress_budget: usize,
    /// Delayed DNS responses held at once ([`DnsFault::Delay`]).
    pub dns_delayed_max: usize,
}

impl Default for GatewayConfig {
    fn default() -> GatewayConfig {
        GatewayConfig {
            mac: EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]),
            seed: 1,
            tcp_buffer: 4096,
            listeners_per_port: 2,
            max_connections: 4,
            tcp_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            ingress_budget: 32,
            dns_delayed_max: 8,
        }
    }
}

/// What one gateway did beyond what [`Network`] counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// The TCP proxy.
    pub proxy: ProxyStats,
    /// DHCP replies that did not fit the socket's transmit buffer.
    pub dhcp_tx_full: u64,
    /// DNS responses that did not fit the socket's transmit buffer.
    pub dns_tx_full: u64,
}

struct Delayed {
    due: Instant,
    to: udp::UdpMetadata,
    bytes: Vec<u8>,
}

/// The gateway of one link. See the module documentation.
pub struct Gateway {
    network: Network,
    config: GatewayConfig,
    iface: Interface,
    sockets: SocketSet<'static>,
    dhcp: SocketHandle,
    dns: SocketHandle,
    ntp: SocketHandle,
    delayed: VecDeque<Delayed>,
    proxy: Proxy,
    dhcp_tx_full: u64,
    dns_tx_full: u64,
}

/// Egress rounds per poll (each sends what every socket has ready).
const EGRESS_ROUNDS: usize = 16;

impl Gateway {
    /// A gateway on `device` (normally the link's [`Side::Gateway`](crate::link::Side)
    /// endpoint; its medium decides Ethernet or bare IP), serving `network`.
    pub fn new<D: Device + ?Sized>(
        network: &Network,
        config: GatewayConfig,
        device: &mut D,
        now: Instant,
    ) -> Gateway {
        let net = network.config();
        let hw = match device.capabilities().medium {
            Medium::Ethernet => HardwareAddress::Ethernet(config.mac),
            _ => HardwareAddress::Ip,
        };
        let mut ic = Config::new(hw);
        ic.random_seed = config.seed;
        let mut iface = Interface::new(ic, device, now);
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(net.gateway), net.prefix_len))
                .expect("one address")
        });
        iface.set_any_ip(true);
        let mut sockets = SocketSet::new(Vec::new());
        let mut dhcp = udp_socket(4, 2048);
        dhcp.bind(DHCP_SERVER_PORT).expect("bind 67");
        let dhcp = sockets.add(dhcp);
        let mut dns = udp_socket(4, 1024);
        dns.bind(53).expect("bind 53");
        let dns = sockets.add(dns);
        let mut ntp = udp_socket(4, 512);
        ntp.bind(123).expect("bind 123");
        let ntp = sockets.add(ntp);
        Gateway {
            network: network.clone(),
            config,
            iface,
            sockets,
            dhcp,
            dns,
            ntp,
            delayed: VecDeque::new(),
            proxy: Proxy::default(),
            dhcp_tx_full: 0,
            dns_tx_full: 0,
        }
    }

    /// The network it serves.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Polls on the link's gateway endpoint: [`Gateway::poll_device`], with
    /// the link's next delivery merged into the deadline.
    pub fn poll(&mut self, now: Instant, endpoint: &mut Endpoint) -> Option<Instant> {
        let next = self.poll_device(now, endpoint);
        earliest(next, endpoint.next_rx_at())
    }

    /// One bounded round: at most `ingress_budget` frames in; DHCP and DNS
    /// requests answered; delayed DNS responses due sent; the proxy's
    /// connects checked and its bytes moved both ways (as far as buffers
    /// allow); at most 16 egress rounds out. Returns when to poll again
    /// (simulated time; `now` also when a real connect is pending). Frames
    /// still queued in `device` are not in it ([`Gateway::poll`] adds them).
    pub fn poll_device<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        device: &mut D,
    ) -> Option<Instant> {
        self.proxy
            .prepare(&mut self.sockets, &self.network, &self.config);
        for _ in 0..self.config.ingress_budget {
            if self
                .iface
                .poll_ingress_single(now, device, &mut self.sockets)
                == PollIngressSingleResult::None
            {
                break;
            }
        }
        self.serve_dhcp(now);
        self.serve_dns(now);
        self.serve_ntp();
        self.proxy
            .poll(now, &mut self.sockets, &self.network, &self.config);
        for _ in 0..EGRESS_ROUNDS {
            if self.iface.poll_egress(now, device, &mut self.sockets) == PollResult::None {
                break;
            }
        }
        self.poll_at(now)
    }

    /// When to poll again (what [`Gateway::poll_device`] returns), without
    /// polling: e.g. after the test acted between polls. Frames queued in
    /// the link are not in it ([`Endpoint::next_rx_at`]).
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let next = self.iface.poll_at(now, &self.sockets);
        let next = earliest(next, self.delayed.front().map(|d| d.due));
        earliest(next, self.proxy.poll_at(now))
    }

    /// Proxied connections with a real stream (connecting or open): while
    /// non-zero, real bytes may arrive at any moment (see the module docs).
    pub fn real_connections(&self) -> usize {
        self.proxy.real_connections()
    }

    /// The proxied connections.
    pub fn connections(&self) -> Vec<Connection> {
        self.proxy.connections(&self.sockets)
    }

    /// Aborts every proxied connection: RST to the device, the broker
    /// streams dropped (a gateway that lost its NAT table).
    pub fn reset_connections(&mut self, now: Instant) {
        self.proxy.reset_all(now, &mut self.sockets, &self.config);
    }

    /// This gateway's counters.
    pub fn stats(&self) -> GatewayStats {
        GatewayStats {
            proxy: self.proxy.stats,
            dhcp_tx_full: self.dhcp_tx_full,
            dns_tx_full: self.dns_tx_full,
        }
    }

    /// Bytes of socket buffers this gateway holds (TCP and UDP payload
    /// storage), the bulk of its memory.
    pub fn buffer_bytes(&self) -> usize {
        use smoltcp::socket::Socket;
        self.sockets
            .iter()
            .map(|(_, s)| match s {
                Socket::Tcp(t) => t.recv_capacity() + t.send_capacity(),
                Socket::Udp(u) => u.payload_recv_capacity() + u.payload_send_capacity(),
                #[allow(unreachable_patterns)]
                _ => 0,
            })
            .sum()
    }

    fn serve_dhcp(&mut self, now: Instant) {
        let socket = self.sockets.get_mut::<udp::Socket>(self.dhcp);
        let mut out = [0; dhcp::MAX_REPLY];
        while let Ok((payload, _from)) = socket.recv() {
            let reply = self.network.lock().dhcp.handle(now, payload, &mut out);
            if let Some(len) = reply {
                // Broadcast: the client has no address yet (or is about to
                // lose it); smoltcp's client takes replies to any address.
                let to = IpEndpoint::new(IpAddress::Ipv4(Ipv4Addr::BROADCAST), DHCP_CLIENT_PORT);
                if socket.send_slice(&out[..len], to).is_err() {
                    self.dhcp_tx_full += 1;
                }
            }
        }
    }

    /// Time requests to any address, answered from the address asked.
    fn serve_ntp(&mut self) {
        let socket = self.sockets.get_mut::<udp::Socket>(self.ntp);
        while let Ok((request, from)) = socket.recv() {
            if let Some(reply) = ntp::answer(request) {
                let _ = socket.send_slice(&reply, from);
            }
        }
    }

    fn serve_dns(&mut self, now: Instant) {
        let socket = self.sockets.get_mut::<udp::Socket>(self.dns);
        // Delayed responses that are due (kept in order of due time).
        while self.delayed.front().is_some_and(|d| d.due <= now) {
            let d = self.delayed.pop_front().expect("front");
            if socket.send_slice(&d.bytes, d.to).is_err() {
                self.dns_tx_full += 1;
            }
        }
        let mut out = [0; dns::MAX_MESSAGE];
        while let Ok((query, from)) = socket.recv() {
            // Reply from the address the query went to, to where it came from.
            let outcome = self.network.lock().dns.handle(query, &mut out);
            match outcome {
                dns::Outcome::Now(len) => {
                    if socket.send_slice(&out[..len], from).is_err() {
                        self.dns_tx_full += 1;
                    }
                }
                dns::Outcome::Later(len, delay) => {
                    if self.delayed.len() >= self.config.dns_delayed_max {
                        self.network.lock().dns.stats.delay_overflow += 1;
                        continue;
                    }
                    let due = now + delay;
                    let at = self.delayed.partition_point(|d| d.due <= due);
                    self.delayed.insert(
                        at,
                        Delayed {
                            due,
                            to: from,
                            bytes: out[..len].to_vec(),
                        },
                    );
                }
                dns::Outcome::Nothing => {}
            }
        }
    }
}

// Gateways, networks and links can move to another thread.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Gateway>();
    send::<Network>();
    send::<Endpoint>();
};

fn udp_socket(packets: usize, bytes: usize) -> udp::Socket<'static> {
    udp::Socket::new(
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; packets], vec![0; bytes]),
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; packets], vec![0; bytes]),
    )
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
