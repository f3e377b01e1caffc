//! What the sim board's integration tests share: a minimal device (a smoltcp
//! interface with DHCP, DNS and TCP sockets, no MQTT client), a world of
//! devices, links and gateways on one network with the stepping loop the
//! gateway's docs describe, a real echo server on 127.0.0.1, and raw MQTT
//! CONNECT/CONNACK bytes.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use limpet_sim::gateway::{Gateway, GatewayConfig, Network};
use limpet_sim::link::{Endpoint, Link, LinkConfig, Side};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::dns::{self, GetQueryResultError, QueryHandle};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    DnsQueryType, EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Cidr,
};

/// Smallest advance of simulated time per step.
pub const TICK: Duration = Duration::from_millis(1);
/// Largest advance while a proxied connection is open (real bytes may come).
pub const REAL_STEP: Duration = Duration::from_millis(10);
/// Real pause per step while a proxied connection is open.
pub const REAL_PAUSE: std::time::Duration = std::time::Duration::from_micros(200);
/// Largest advance when nobody has a deadline.
pub const IDLE_STEP: Duration = Duration::from_secs(1);

pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The device under test, minus limpet: DHCP client, DNS socket, one TCP socket.
pub struct TestDevice {
    pub mac: EthernetAddress,
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
    pub endpoint: Endpoint,
    pub dhcp: Option<SocketHandle>,
    pub dns: SocketHandle,
    pub tcp: SocketHandle,
    /// The address DHCP configured, if any.
    pub addr: Option<Ipv4Cidr>,
    /// DNS servers DHCP gave.
    pub dns_servers: Vec<Ipv4Addr>,
    /// DHCP (re)configurations seen.
    pub configured: u32,
    next_port: u16,
}

impl TestDevice {
    /// A device that asks DHCP for its address (Ethernet links).
    pub fn new(link: &Link, mac: EthernetAddress, seed: u64, now: Instant) -> TestDevice {
        TestDevice::build(link, HardwareAddress::Ethernet(mac), mac, seed, now, None)
    }

    /// A device with a static address and gateway (any medium; on a
    /// `Medium::Ip` link there is no DHCP).
    pub fn new_static(
        link: &Link,
        addr: Ipv4Cidr,
        router: Ipv4Addr,
        seed: u64,
        now: Instant,
    ) -> TestDevice {
        let hw = match link.medium() {
            smoltcp::phy::Medium::Ethernet => HardwareAddress::Ethernet(mac(0xfff0)),
            _ => HardwareAddress::Ip,
        };
        TestDevice::build(link, hw, mac(0xfff0), seed, now, Some((addr, router)))
    }

    fn build(
        link: &Link,
        hw: HardwareAddress,
        mac: EthernetAddress,
        seed: u64,
        now: Instant,
        fixed: Option<(Ipv4Cidr, Ipv4Addr)>,
    ) -> TestDevice {
        let mut endpoint = link.endpoint(Side::Device);
        let mut config = Config::new(hw);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut endpoint, now);
        let mut sockets = SocketSet::new(Vec::new());
        // Static devices have no DHCP socket (it needs Ethernet).
        let dhcp = match fixed {
            None => Some(sockets.add(dhcpv4::Socket::new())),
            Some((addr, router)) => {
                iface.update_ip_addrs(|a| a.push(IpCidr::Ipv4(addr)).unwrap());
                iface.routes_mut().add_default_ipv4_route(router).unwrap();
                None
            }
        };
        let dns = sockets.add(dns::Socket::new(&[], vec![None]));
        let mut tcp = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 4096]),
            tcp::SocketBuffer::new(vec![0; 4096]),
        );
        tcp.set_timeout(Some(Duration::from_secs(20)));
        let tcp = sockets.add(tcp);
        TestDevice {
            mac,
            iface,
            sockets,
            endpoint,
            dhcp,
            dns,
            tcp,
            addr: fixed.map(|f| f.0),
            dns_servers: Vec::new(),
            configured: 0,
            next_port: 49152 + (seed % 1000) as u16,
        }
    }

    /// When the device needs a poll (its interface or the link).
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        earliest(
            self.iface.poll_at(now, &self.sockets),
            self.endpoint.next_rx_at(),
        )
    }

    /// One poll; applies DHCP events.
    pub fn poll(&mut self, now: Instant) {
        self.iface.poll(now, &mut self.endpoint, &mut self.sockets);
        // Some(Some(config)) configured, Some(None) deconfigured.
        let event = self.dhcp.and_then(|h| {
            self.sockets
                .get_mut::<dhcpv4::Socket>(h)
                .poll()
                .map(|e| match e {
                    dhcpv4::Event::Configured(c) => Some((
                        c.address,
                        c.router,
                        c.dns_servers.iter().copied().collect::<Vec<_>>(),
                    )),
                    dhcpv4::Event::Deconfigured => None,
                })
        });
        match event {
            Some(Some((address, router, dns_servers))) => {
                self.iface.update_ip_addrs(|a| {
                    a.clear();
                    a.push(IpCidr::Ipv4(address)).unwrap();
                });
                match router {
                    Some(r) => {
                        self.iface.routes_mut().add_default_ipv4_route(r).unwrap();
                    }
                    None => {
                        self.iface.routes_mut().remove_default_ipv4_route();
                    }
                }
                let servers: Vec<IpAddress> =
                    dns_servers.iter().map(|&s| IpAddress::Ipv4(s)).collect();
                self.sockets
                    .get_mut::<dns::Socket>(self.dns)
                    .update_servers(&servers);
                self.dns_servers = dns_servers;
                self.addr = Some(address);
                self.configured += 1;
            }
            Some(None) => {
                self.iface.update_ip_addrs(|a| a.clear());
                self.iface.routes_mut().remove_default_ipv4_route();
                self.addr = None;
            }
            None => {}
        }
    }

    pub fn ip(&self) -> Option<Ipv4Addr> {
        self.addr.map(|c| c.address())
    }

    /// Drops the lease and starts DHCP over (what a device does after
    /// re-associating).
    pub fn reset_dhcp(&mut self) {
        let h = self.dhcp.expect("a DHCP device");
        self.sockets.get_mut::<dhcpv4::Socket>(h).reset();
    }

    pub fn start_query(&mut self, name: &str) -> QueryHandle {
        let cx = self.iface.context();
        self.sockets
            .get_mut::<dns::Socket>(self.dns)
            .start_query(cx, name, DnsQueryType::A)
            .expect("start query")
    }

    /// `None` while pending; `Some(Err)` on failure.
    pub fn query_result(&mut self, q: QueryHandle) -> Option<Result<Vec<Ipv4Addr>, ()>> {
        match self
            .sockets
            .get_mut::<dns::Socket>(self.dns)
            .get_query_result(q)
        {
            Ok(addrs) => Some(Ok(addrs
                .iter()
                .map(|a| match a {
                    IpAddress::Ipv4(v4) => *v4,
                })
                .collect())),
            Err(GetQueryResultError::Pending) => None,
            Err(GetQueryResultError::Failed) => Some(Err(())),
        }
    }

    pub fn tcp(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.tcp)
    }

    /// Connects the TCP socket from a fresh local port.
    pub fn connect(&mut self, addr: Ipv4Addr, port: u16) {
        self.next_port = self.next_port.checked_add(1).unwrap_or(49152);
        let local = self.next_port;
        let cx = self.iface.context();
        self.sockets
            .get_mut::<tcp::Socket>(self.tcp)
            .connect(cx, IpEndpoint::new(IpAddress::Ipv4(addr), port), local)
            .expect("connect");
    }
}

/// One device's corner: its link, its gateway, the device itself.
pub struct Node {
    pub link: Link,
    pub device: TestDevice,
    pub gw_end: Endpoint,
    pub gateway: Gateway,
}

/// Devices, links and gateways on one network, and the simulated clock.
pub struct World {
    pub now: Instant,
    pub network: Network,
    pub nodes: Vec<Node>,
    /// Steps taken so far.
    pub steps: u64,
}

pub fn mac(n: u16) -> EthernetAddress {
    let [hi, lo] = n.to_be_bytes();
    EthernetAddress([0x02, 0x00, 0x00, 0x01, hi, lo])
}

impl World {
    pub fn new(network: &Network) -> World {
        World {
            now: Instant::from_secs(1),
            network: network.clone(),
            nodes: Vec::new(),
            steps: 0,
        }
    }

    /// A world with one device on an Ethernet link with `seed`.
    pub fn one(network: &Network, seed: u64) -> World {
        let mut w = World::new(network);
        w.add(LinkConfig::ethernet(seed), GatewayConfig::default());
        w
    }

    /// Adds a device (MAC from its index) with its link and gateway.
    pub fn add(&mut self, link: LinkConfig, gateway: GatewayConfig) -> usize {
        let i = self.nodes.len();
        let seed = link.seed;
        let link = Link::new(link);
        let mut gw_end = link.endpoint(Side::Gateway);
        let gateway = Gateway::new(&self.network, gateway, &mut gw_end, self.now);
        let seed = seed.wrapping_add(i as u64);
        let device = match link.medium() {
            smoltcp::phy::Medium::Ethernet => {
                TestDevice::new(&link, mac(i as u16 + 1), seed, self.now)
            }
            // No DHCP without Ethernet: 10.0.0.50 + i, static.
            _ => TestDevice::new_static(
                &link,
                Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 50 + i as u8), 24),
                self.network.config().gateway,
                seed,
                self.now,
            ),
        };
        self.nodes.push(Node {
            link,
            device,
            gw_end,
            gateway,
        });
        i
    }

    pub fn dev(&mut self, i: usize) -> &mut TestDevice {
        &mut self.nodes[i].device
    }

    pub fn link(&self, i: usize) -> &Link {
        &self.nodes[i].link
    }

    pub fn gateway(&mut self, i: usize) -> &mut Gateway {
        &mut self.nodes[i].gateway
    }

    /// Polls everything a few times at `now`.
    pub fn poll_all(&mut self) {
        let now = self.now;
        for _ in 0..3 {
            for n in &mut self.nodes {
                n.device.poll(now);
                n.gateway.poll(now, &mut n.gw_end);
            }
        }
    }

    /// The earliest deadline of all devices, gateways and links, and
    /// whether a proxied connection is open (asked after the test acted).
    pub fn deadline(&mut self) -> (Option<Instant>, bool) {
        let now = self.now;
        let mut next = None;
        let mut real = false;
        for n in &mut self.nodes {
            next = earliest(next, n.device.poll_at(now));
            next = earliest(next, n.gateway.poll_at(now));
            next = earliest(next, n.gw_end.next_rx_at());
            real |= n.gateway.real_connections() > 0;
        }
        (next, real)
    }

    /// Advances `now` as the gateway's docs describe, to `cap` at most.
    pub fn advance(&mut self, cap: Instant) {
        let (next, real) = self.deadline();
        let now = self.now;
        let mut to = next.unwrap_or(now + IDLE_STEP).max(now + TICK);
        if real {
            to = to.min(now + REAL_STEP);
            thread::sleep(REAL_PAUSE);
        }
        self.now = to.min(cap).max(now + TICK);
        self.steps += 1;
    }

    /// One poll and one advance.
    pub fn step(&mut self) {
        self.poll_all();
        let cap = self.now + IDLE_STEP;
        self.advance(cap);
    }

    /// Polls and advances until `done` (checked after each poll, before
    /// time moves on) or until `limit` of simulated time passed; true if done.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut World) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.poll_all();
            if done(self) {
                return true;
            }
            if self.now >= end {
                return false;
            }
            self.advance(end);
        }
    }

    /// Polls and advances for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    /// Runs until device `i` has a DHCP lease (panics after 30 s simulated).
    pub fn lease(&mut self, i: usize) -> Ipv4Addr {
        assert!(
            self.run_until(Duration::from_secs(30), |w| w.nodes[i]
                .device
                .addr
                .is_some()),
            "device {i} got no lease"
        );
        self.nodes[i].device.ip().unwrap()
    }

    /// Resolves `name` on device `i`: its result within 30 s simulated.
    pub fn resolve(&mut self, i: usize, name: &str) -> Result<Vec<Ipv4Addr>, ()> {
        let q = self.nodes[i].device.start_query(name);
        let mut result = None;
        assert!(
            self.run_until(Duration::from_secs(30), |w| {
                result = w.nodes[i].device.query_result(q);
                result.is_some()
            }),
            "query for {name} never ended"
        );
        result.unwrap()
    }

    /// Connects device `i`'s TCP socket and waits for the outcome: true if
    /// established, false if the connection was refused (closed) or not
    /// established within `limit`.
    pub fn connect(&mut self, i: usize, addr: Ipv4Addr, port: u16, limit: Duration) -> bool {
        self.nodes[i].device.connect(addr, port);
        self.run_until(limit, |w| {
            let s = w.nodes[i].device.tcp();
            s.state() != tcp::State::SynSent && s.state() != tcp::State::SynReceived
        });
        self.nodes[i].device.tcp().state() == tcp::State::Established
    }

    /// Sends all of `data` on device `i`'s TCP socket and collects `expect`
    /// bytes back, within `limit` simulated; what came back.
    pub fn exchange(&mut self, i: usize, data: &[u8], expect: usize, limit: Duration) -> Vec<u8> {
        let mut sent = 0;
        let mut got = Vec::new();
        self.run_until(limit, |w| {
            let s = w.nodes[i].device.tcp();
            if sent < data.len() && s.can_send() {
                sent += s.send_slice(&data[sent..]).unwrap_or(0);
            }
            while s.can_recv() {
                let mut buf = [0; 2048];
                match s.recv_slice(&mut buf) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(_) => break,
                }
            }
            got.len() >= expect || !s.is_active()
        });
        got
    }
}

/// A real TCP echo server on 127.0.0.1 (a thread per connection), for
/// byte-level tests through the proxy. Stops on drop.
pub struct Echo {
    pub addr: SocketAddr,
    pub accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    pub fn start() -> Echo {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (s, a) = (stop.clone(), accepted.clone());
        let thread = thread::spawn(move || {
            let mut workers = Vec::new();
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        a.fetch_add(1, Ordering::Relaxed);
                        let s = s.clone();
                        workers.push(thread::spawn(move || echo(stream, &s)));
                    }
                    Err(_) => thread::sleep(std::time::Duration::from_millis(1)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        Echo {
            addr,
            accepted,
            stop,
            thread: Some(thread),
        }
    }
}

fn echo(mut stream: TcpStream, stop: &AtomicBool) {
    stream
        .set_read_timeout(Some(std::time::Duration::from_millis(20)))
        .unwrap();
    let mut buf = [0; 4096];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return,
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An MQTT 3.1.1 CONNECT: clean session, keepalive 60 s, `client_id`.
pub fn mqtt_connect(client_id: &str) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    assert!(body.len() < 128);
    let mut p = vec![0x10, body.len() as u8];
    p.extend_from_slice(&body);
    p
}

/// CONNACK, session not present, accepted.
pub const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
pub mod rig;
