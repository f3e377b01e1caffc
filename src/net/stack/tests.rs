//! Scenarios for the stack over an in-memory network: a device whose packets
//! go to a smoltcp peer (a broker's TCP end) or nowhere (a network gone
//! quiet), driven the way a superloop drives it — `poll(now)` once a pass,
//! the client's transport calls somewhere in between. Only `core` +
//! heapless.

use super::*;
use crate::net::Transport;
use core::cell::RefCell;
use smoltcp::iface::Config as IfaceConfig;
use smoltcp::phy::{DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpProtocol, Ipv4Packet, TcpPacket};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

const MTU: usize = 1500;
type Frame = heapless::Vec<u8, MTU>;

const DEVICE: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
const PEER: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);

/// What the device sent, as the scenarios look at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
    Syn,
    Fin,
    Rst,
    /// A TCP segment carrying bytes.
    Data,
    /// A UDP datagram to port 53.
    Dns,
    Other,
}

fn kind(ip: &[u8]) -> Sent {
    let Ok(p) = Ipv4Packet::new_checked(ip) else {
        return Sent::Other;
    };
    match p.next_header() {
        IpProtocol::Tcp => match TcpPacket::new_checked(p.payload()) {
            Ok(t) if t.rst() => Sent::Rst,
            Ok(t) if t.syn() => Sent::Syn,
            Ok(t) if t.fin() => Sent::Fin,
            Ok(t) if !t.payload().is_empty() => Sent::Data,
            _ => Sent::Other,
        },
        IpProtocol::Udp if p.payload().get(2..4) == Some(&53u16.to_be_bytes()) => Sent::Dns,
        _ => Sent::Other,
    }
}

/// The medium between the device and the peer.
struct Air {
    to_peer: heapless::Deque<Frame, 16>,
    to_device: heapless::Deque<Frame, 16>,
    /// What the device sent: smoltcp time (ms since the stack's first poll)
    /// and kind. Logged even when the air is silent.
    log: heapless::Vec<(i64, Sent), 256>,
    /// The device's packets go nowhere.
    silent: bool,
}

impl Air {
    fn new(silent: bool) -> RefCell<Air> {
        RefCell::new(Air {
            to_peer: heapless::Deque::new(),
            to_device: heapless::Deque::new(),
            log: heapless::Vec::new(),
            silent,
        })
    }
}

/// One end of the air: the device's (`device` true) or the peer's.
struct End<'w> {
    air: &'w RefCell<Air>,
    device: bool,
}

struct Rx(Frame);

impl smoltcp::phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

struct Tx<'w> {
    air: &'w RefCell<Air>,
    device: bool,
    at: smoltcp::time::Instant,
}

impl smoltcp::phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = Frame::new();
        frame.resize(len.min(MTU), 0).unwrap();
        let r = f(&mut frame);
        let mut air = self.air.borrow_mut();
        if self.device {
            let sent = kind(&frame);
            let _ = air.log.push((self.at.total_millis(), sent));
            if !air.silent {
                let _ = air.to_peer.push_back(frame);
            }
        } else {
            let _ = air.to_device.push_back(frame);
        }
        r
    }
}

impl Device for End<'_> {
    type RxToken<'a>
        = Rx
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a>
    where
        Self: 'a;

    fn receive(
        &mut self,
        at: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let mut air = self.air.borrow_mut();
        let frame = if self.device {
            air.to_device.pop_front()?
        } else {
            air.to_peer.pop_front()?
        };
        let tx = Tx {
            air: self.air,
            device: self.device,
            at,
        };
        Some((Rx(frame), tx))
    }

    fn transmit(&mut self, at: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        Some(Tx {
            air: self.air,
            device: self.device,
            at,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        caps
    }
}

/// The stack's storage.
struct Storage<'a> {
    sockets: [SocketStorage<'a>; 4],
    tcp_rx: [u8; 1024],
    tcp_tx: [u8; 1024],
    dns_queries: [Option<DnsQuery>; 1],
}

impl Storage<'_> {
    fn new() -> Self {
        Storage {
            sockets: [SocketStorage::EMPTY; 4],
            tcp_rx: [0; 1024],
            tcp_tx: [0; 1024],
            dns_queries: [const { None }; 1],
        }
    }
}

fn config<'a>(brokers: &'a [Broker<'a>]) -> StackConfig<'a> {
    StackConfig::new(
        Addressing::Static {
            address: Ipv4Cidr::new(DEVICE, 24),
            gateway: None,
            dns: Some(PEER),
        },
        brokers,
    )
}

fn stack<'a>(s: &'a mut Storage<'a>, config: StackConfig<'a>, dev: &mut End<'_>) -> Stack<'a> {
    let iface = Interface::new(
        IfaceConfig::new(HardwareAddress::Ip),
        dev,
        smoltcp::time::Instant::ZERO,
    );
    let buffers = Buffers {
        sockets: &mut s.sockets,
        tcp_rx: &mut s.tcp_rx,
        tcp_tx: &mut s.tcp_tx,
        dns_queries: &mut s.dns_queries,
        #[cfg(feature = "sntp")]
        udp: None,
    };
    Stack::new(config, iface, buffers, 7).unwrap()
}

/// The broker's end: a smoltcp interface with one listening TCP socket.
struct Peer<'a> {
    iface: Interface,
    sockets: SocketSet<'a>,
    tcp: SocketHandle,
}

impl<'a> Peer<'a> {
    fn new(storage: &'a mut Storage<'a>, dev: &mut End<'_>) -> Self {
        let mut iface = Interface::new(
            IfaceConfig::new(HardwareAddress::Ip),
            dev,
            smoltcp::time::Instant::ZERO,
        );
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::Ipv4(Ipv4Cidr::new(PEER, 24)));
        });
        let mut sockets = SocketSet::new(&mut storage.sockets[..]);
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut storage.tcp_rx[..]),
            tcp::SocketBuffer::new(&mut storage.tcp_tx[..]),
        );
        socket.listen(1883).unwrap();
        let tcp = sockets.add(socket);
        Peer {
            iface,
            sockets,
            tcp,
        }
    }

    fn poll(&mut self, smol_ms: i64, dev: &mut End<'_>) {
        let t = smoltcp::time::Instant::from_millis(smol_ms);
        self.iface.poll(t, dev, &mut self.sockets);
    }

    fn send(&mut self, bytes: &[u8]) {
        let s = self.sockets.get_mut::<tcp::Socket>(self.tcp);
        assert_eq!(s.send_slice(bytes), Ok(bytes.len()));
    }
}

/// Clock origins: from 0, either side of 2³¹, just before the u32 wrap.
const ORIGINS: [u32; 3] = [0, (1 << 31) - 3_000, u32::MAX - 3_000];

fn at(origin: u32, ms: u32) -> Instant {
    Instant::from_ticks(origin.wrapping_add(ms))
}

impl<'w> End<'w> {
    fn device(air: &'w RefCell<Air>) -> Self {
        End { air, device: true }
    }

    fn peer(air: &'w RefCell<Air>) -> Self {
        End { air, device: false }
    }
}

/// Runs `scenario` once per clock origin, on a fresh stack (its network
/// open) whose one broker is `host`.
fn each_origin(
    host: &str,
    mut scenario: impl FnMut(u32, &RefCell<Air>, &mut Stack<'_>, &mut End<'_>),
) {
    for o in ORIGINS {
        let air = Air::new(true);
        let mut dev = End::device(&air);
        let brokers = [Broker::new(host, 1883)];
        let mut storage = Storage::new();
        let mut s = stack(&mut storage, config(&brokers), &mut dev);
        scenario(o, &air, &mut s, &mut dev);
    }
}

/// Polls at `now`; the connection the client asked for is still pending.
fn still_pending(s: &mut Stack<'_>, dev: &mut End<'_>, now: Instant) {
    s.poll(now, dev);
    assert_eq!(s.connect(), Err(nb::Error::WouldBlock), "at {now:?}");
}

/// The first time (ms after the origin) the device sent `what`, if it did.
fn first(air: &RefCell<Air>, what: Sent) -> Option<i64> {
    air.borrow()
        .log
        .iter()
        .find(|(_, s)| *s == what)
        .map(|(t, _)| *t)
}

// ------------------------------------------------ time of requests

/// A pass of the superloop took 9 s between the stack's poll and the
/// client's `connect` (flash writes, a slow sensor): the 10 s connect
/// timeout runs from the poll that sends the SYN, not from the poll
/// before the request, so the handshake gets its full 10 s.
#[test]
fn a_connect_timeout_is_measured_from_when_the_request_goes_out_not_from_the_poll_before_it() {
    each_origin("10.0.0.1", |o, air, s, dev| {
        assert_eq!(s.poll(at(o, 0), dev), None);
        // … 9 s of the application's work, then the client asks.
        assert_eq!(s.connect(), Err(nb::Error::WouldBlock));
        assert_eq!(s.next_deadline(at(o, 9_000)), Some(at(o, 9_000)));
        s.poll(at(o, 9_001), dev);
        assert_eq!(first(air, Sent::Syn), Some(9_001), "origin {o}");
        // A pass of 3 s: 12 s after the poll before the request, 3 s after the SYN.
        still_pending(s, dev, at(o, 12_000));
        let deadline = s.next_deadline(at(o, 12_000)).unwrap();
        assert!(deadline <= at(o, 19_001), "origin {o}: {deadline:?}");
        still_pending(s, dev, at(o, 19_000));
        s.poll(at(o, 19_001), dev);
        assert_eq!(
            s.connect(),
            Err(nb::Error::Other(StackError::Connect)),
            "origin {o}"
        );
    });
}

/// The DNS timeout (5 s) runs from the poll that sends the query, however
/// long the pass in which the client asked to connect.
#[test]
fn a_dns_timeout_is_measured_from_when_the_query_goes_out_not_from_the_poll_before_it() {
    each_origin("broker.local", |o, air, s, dev| {
        s.poll(at(o, 0), dev);
        // 4 s into the pass, the client asks.
        assert_eq!(s.connect(), Err(nb::Error::WouldBlock));
        s.poll(at(o, 4_000), dev);
        assert_eq!(first(air, Sent::Dns), Some(4_000), "origin {o}");
        still_pending(s, dev, at(o, 6_000));
        still_pending(s, dev, at(o, 8_999));
        s.poll(at(o, 9_000), dev);
        assert_eq!(
            s.connect(),
            Err(nb::Error::Other(StackError::Dns)),
            "origin {o}"
        );
    });
}

/// A loop that polls the client before the stack asks for a connection
/// before the stack's first poll: its timeout starts with that poll, not
/// at some earlier time the stack never saw (tick 0 is 2³¹ ms away from
/// some clocks).
#[test]
fn a_connection_asked_for_before_the_first_poll_gets_its_whole_timeout() {
    each_origin("10.0.0.1", |o, air, s, dev| {
        // Each pass: the client (the transport calls), then the stack.
        let mut failed_at = None;
        for ms in (0..=12_000).step_by(500) {
            if let Err(nb::Error::Other(e)) = s.connect() {
                assert_eq!(e, StackError::Connect);
                failed_at = Some(ms);
                break;
            }
            s.poll(at(o, ms), dev);
        }
        assert_eq!(first(air, Sent::Syn), Some(0), "origin {o}");
        // Timed out at the poll 10 s after the SYN, reported on the next pass.
        assert_eq!(failed_at, Some(10_500), "origin {o}");
    });
}

/// `check_wan`'s DNS query, asked for late in a long pass, is timed from
/// the poll that sends it.
#[test]
fn a_wan_check_times_out_from_when_its_query_goes_out() {
    each_origin("10.0.0.1", |o, air, s, dev| {
        s.poll(at(o, 0), dev);
        assert_eq!(s.check_wan(), Ok(()));
        s.poll(at(o, 4_500), dev);
        assert_eq!(first(air, Sent::Dns), Some(4_500), "origin {o}");
        s.poll(at(o, 9_499), dev);
        assert_eq!(s.wan_ok(), None, "origin {o}");
        s.poll(at(o, 9_500), dev);
        assert_eq!(s.wan_ok(), Some(false), "origin {o}");
    });
}

/// `close` with a DISCONNECT unacknowledged lingers 1 s for it from the
/// poll that sends the FIN behind it; a long pass before the `close` does
/// not eat into that second (the broker would publish the will).
#[test]
fn a_close_lingers_its_whole_second_after_a_long_pass() {
    for o in ORIGINS {
        let air = Air::new(false);
        let mut dev = End::device(&air);
        let mut peer_dev = End::peer(&air);
        let brokers = [Broker::new("10.0.0.1", 1883)];
        let mut storage = Storage::new();
        let mut peer_storage = Storage::new();
        let mut peer = Peer::new(&mut peer_storage, &mut peer_dev);
        let mut s = stack(&mut storage, config(&brokers), &mut dev);
        let mut ms = 0;
        while s.connect() != Ok(()) {
            assert!(ms < 100, "origin {o}: no connection");
            s.poll(at(o, ms), &mut dev);
            peer.poll(i64::from(ms), &mut peer_dev);
            ms += 1;
        }
        // The broker answers (a CONNACK): the connection counts.
        peer.send(&[0x20, 2, 0, 0]);
        let mut buf = [0u8; 8];
        while s.recv(&mut buf) == Err(nb::Error::WouldBlock) {
            peer.poll(i64::from(ms), &mut peer_dev);
            s.poll(at(o, ms), &mut dev);
            ms += 1;
        }
        // From now on nothing the device sends arrives.
        air.borrow_mut().silent = true;
        let t = ms;
        s.poll(at(o, t), &mut dev);
        assert_eq!(s.send(&[0xE0, 0]), Ok(2)); // DISCONNECT
                                               // … 900 ms of work in the pass, then the client closes.
        s.close();
        for step in (1_000..=3_000).step_by(10) {
            s.poll(at(o, t + step), &mut dev);
        }
        let fin = first(&air, Sent::Fin).unwrap();
        assert_eq!(fin, i64::from(t + 1_000), "origin {o}");
        let rst = first(&air, Sent::Rst).unwrap();
        assert!(
            rst >= fin + i64::from(LINGER_MS),
            "origin {o}: reset {} ms after the FIN",
            rst - fin
        );
    }
}
