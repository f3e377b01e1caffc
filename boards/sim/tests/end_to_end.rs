//! A device's whole path without limpet's client: DHCP lease from the
//! gateway, its DNS, TCP through the proxy to a real mosquitto, and a raw
//! MQTT CONNECT/CONNACK; then what happens when brokers die, move or hang.

mod support;

use std::net::Ipv4Addr;

use limpet_sim::broker::{free_port, Broker};
use limpet_sim::gateway::{GatewayConfig, Network, NetworkConfig};
use limpet_sim::link::{Dir, LinkConfig};
use smoltcp::socket::tcp::State;
use smoltcp::time::Duration;
use smoltcp::wire::IpAddress;
use support::*;

const NAME: &str = "broker.test";
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const VIP2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
const SECS: fn(u64) -> Duration = Duration::from_secs;

/// Connects device 0 to `addr:1883` and does CONNECT/CONNACK; the reply.
fn mqtt_handshake(w: &mut World, addr: Ipv4Addr, id: &str) -> Vec<u8> {
    assert!(
        w.connect(0, addr, 1883, SECS(10)),
        "TCP to {addr} not established"
    );
    w.exchange(0, &mqtt_connect(id), 4, SECS(10))
}

#[test]
fn lease_resolve_connect_and_connack_through_mosquitto() {
    let broker = Broker::start();
    let net = Network::new(NetworkConfig::default());
    net.set_record(NAME, VIP);
    net.map(VIP, 1883, broker.addr());
    let mut w = World::one(&net, 1);

    let ip = w.lease(0);
    assert_eq!(
        ip,
        Ipv4Addr::new(10, 0, 0, 100),
        "first address of the pool"
    );
    assert_eq!(w.dev(0).addr.unwrap().prefix_len(), 24);
    assert_eq!(w.dev(0).dns_servers, vec![Ipv4Addr::new(10, 0, 0, 1)]);
    assert_eq!(net.lease_of(w.dev(0).mac), Some(ip));
    let dhcp = net.dhcp_stats();
    assert_eq!((dhcp.offers, dhcp.acks), (1, 1));

    assert_eq!(w.resolve(0, NAME), Ok(vec![VIP]));
    assert_eq!(net.dns_queries_for(NAME), 1);

    assert_eq!(mqtt_handshake(&mut w, VIP, "sim-e2e"), CONNACK_OK);
    let conns = w.gateway(0).connections();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].device.addr, IpAddress::Ipv4(ip));
    assert_eq!(conns[0].local.addr, IpAddress::Ipv4(VIP));
    assert_eq!(conns[0].broker, broker.addr());
    assert!(conns[0].open);
    // The device's CONNECT reached mosquitto (its log names the client).
    assert!(
        w.run_until(SECS(5), |_| broker.log().contains("sim-e2e")),
        "mosquitto never logged the client:\n{}",
        broker.log()
    );

    // The device closes: the proxy half-closes to the broker, which closes
    // too; nothing is left open on either side.
    w.dev(0).tcp().close();
    assert!(w.run_until(SECS(10), |w| w.gateway(0).real_connections() == 0));
    assert!(w.run_until(SECS(10), |w| matches!(
        w.dev(0).tcp().state(),
        State::Closed | State::TimeWait
    )));
    let p = w.gateway(0).stats().proxy;
    assert_eq!((p.accepted, p.connected, p.device_closed), (1, 1, 1));
    assert_eq!(p.bytes_up, mqtt_connect("sim-e2e").len() as u64);
    assert_eq!(p.bytes_down, 4);
}

#[test]
fn a_dead_broker_refuses_the_syn_with_a_reset() {
    let net = Network::new(NetworkConfig::default());
    // Nothing listens there.
    net.map(VIP, 1883, ([127, 0, 0, 1], free_port()).into());
    let mut w = World::one(&net, 2);
    w.lease(0);
    let start = w.now;
    assert!(!w.connect(0, VIP, 1883, SECS(10)));
    assert_eq!(w.dev(0).tcp().state(), State::Closed);
    assert!(
        w.now - start < SECS(1),
        "refused at once, not timed out: {}",
        w.now - start
    );
    let p = w.gateway(0).stats().proxy;
    assert_eq!((p.accepted, p.connected, p.refused), (1, 0, 1));
    // An unmapped port is refused by the gateway's own stack.
    assert!(!w.connect(0, VIP, 8883, SECS(10)));
    assert_eq!(w.gateway(0).stats().proxy.accepted, 1);
}

#[test]
fn first_broker_dies_and_the_remapped_second_takes_over() {
    let mut first = Broker::start();
    let second = Broker::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 1883, first.addr());
    let mut w = World::one(&net, 3);
    w.lease(0);
    assert_eq!(mqtt_handshake(&mut w, VIP, "sim-takeover"), CONNACK_OK);

    first.kill();
    // The kernel closes the dead broker's socket; the proxy passes it on.
    assert!(
        w.run_until(SECS(10), |w| !w.dev(0).tcp().may_recv()),
        "the device never saw the broker go"
    );
    // The device closes its side too, as a client does on EOF.
    w.dev(0).tcp().close();
    assert!(w.run_until(SECS(5), |w| w.gateway(0).real_connections() == 0));
    let p = w.gateway(0).stats().proxy;
    assert_eq!((p.broker_closed, p.device_closed), (1, 1));

    // Reconnecting to the dead one is refused; after the remap it works.
    assert!(!w.connect(0, VIP, 1883, SECS(10)));
    assert_eq!(net.lookup(VIP, 1883), Some(first.addr()));
    net.map(VIP, 1883, second.addr());
    assert_eq!(mqtt_handshake(&mut w, VIP, "sim-takeover"), CONNACK_OK);
    assert_eq!(w.gateway(0).connections()[0].broker, second.addr());
}

#[test]
fn the_name_resolves_to_a_new_address_mapped_to_another_broker() {
    let one = Broker::start();
    let two = Broker::start();
    let net = Network::new(NetworkConfig::default());
    net.set_record(NAME, VIP);
    net.map(VIP, 1883, one.addr());
    net.map(VIP2, 1883, two.addr());
    let mut w = World::one(&net, 4);
    w.lease(0);
    assert_eq!(w.resolve(0, NAME), Ok(vec![VIP]));
    assert_eq!(mqtt_handshake(&mut w, VIP, "sim-move"), CONNACK_OK);
    w.dev(0).tcp().abort();
    w.run_for(Duration::from_millis(100));

    net.set_record(NAME, VIP2);
    assert_eq!(w.resolve(0, NAME), Ok(vec![VIP2]));
    assert_eq!(mqtt_handshake(&mut w, VIP2, "sim-move"), CONNACK_OK);
    let brokers: Vec<_> = w
        .gateway(0)
        .connections()
        .iter()
        .map(|c| c.broker)
        .collect();
    assert!(brokers.contains(&two.addr()), "{brokers:?}");
    // The first connection (aborted by the device) is gone or going.
    assert!(w.run_until(SECS(70), |w| w.gateway(0).real_connections() == 1));
}

#[test]
fn a_broker_beyond_the_router_is_reached_through_it() {
    let broker = Broker::start();
    let far = Ipv4Addr::new(10, 1, 0, 5); // outside 10.0.0.0/24
    let net = Network::new(NetworkConfig::default());
    net.map(far, 1883, broker.addr());
    let mut w = World::one(&net, 5);
    w.lease(0);
    assert_eq!(mqtt_handshake(&mut w, far, "sim-far"), CONNACK_OK);
}

#[test]
fn a_frozen_broker_accepts_tcp_but_answers_only_once_thawed() {
    let broker = Broker::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 1883, broker.addr());
    let mut w = World::one(&net, 6);
    w.lease(0);
    broker.freeze();
    // The kernel still completes the handshake of a stopped process.
    assert!(w.connect(0, VIP, 1883, SECS(10)));
    let nothing = w.exchange(0, &mqtt_connect("sim-frozen"), 4, SECS(3));
    assert!(nothing.is_empty(), "a frozen broker answered {nothing:?}");
    broker.thaw();
    let reply = w.exchange(0, &[], 4, SECS(10));
    assert_eq!(reply, CONNACK_OK);
}

#[test]
fn device_reconnects_from_a_new_port_while_the_old_flow_lingers() {
    let broker = Broker::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 1883, broker.addr());
    let mut w = World::one(&net, 7);
    w.lease(0);
    assert_eq!(mqtt_handshake(&mut w, VIP, "sim-again"), CONNACK_OK);
    let first_port = w.gateway(0).connections()[0].device.port;
    // The device forgets its connection silently (a reboot, say).
    w.link(0).set_stalled(true);
    w.dev(0).tcp().abort();
    w.run_for(Duration::from_millis(100));
    w.link(0).set_stalled(false);
    assert_eq!(mqtt_handshake(&mut w, VIP, "sim-again"), CONNACK_OK);
    let ports: Vec<u16> = w
        .gateway(0)
        .connections()
        .iter()
        .map(|c| c.device.port)
        .collect();
    assert!(ports.iter().any(|&p| p != first_port), "{ports:?}");
    // mosquitto drops the old session's connection for the new one with the
    // same client id: the old flow closes, the new one stays.
    assert!(w.run_until(SECS(70), |w| w.gateway(0).real_connections() == 1));
    let conns = w.gateway(0).connections();
    assert_ne!(conns[0].device.port, first_port);
    assert_eq!(w.gateway(0).stats().proxy.broker_closed, 1);
}

#[test]
fn ip_medium_link_with_a_static_address() {
    let echo = Echo::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 7, echo.addr);
    let mut w = World::new(&net);
    w.add(LinkConfig::ip(8), GatewayConfig::default());
    assert_eq!(w.dev(0).ip(), Some(Ipv4Addr::new(10, 0, 0, 50)));
    assert!(w.connect(0, VIP, 7, SECS(10)));
    let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    assert_eq!(w.exchange(0, &data, data.len(), SECS(20)), data);
    assert!(w.link(0).counters(Dir::Up).delivered_frames > 2);
}

#[test]
fn a_device_that_never_closes_after_the_broker_did_is_cut_after_the_tcp_timeout() {
    let mut broker = Broker::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 1883, broker.addr());
    let mut w = World::new(&net);
    let gateway = GatewayConfig {
        tcp_timeout: SECS(5),
        ..GatewayConfig::default()
    };
    w.add(LinkConfig::ethernet(9), gateway);
    w.dev(0).tcp().set_timeout(None);
    w.lease(0);
    assert_eq!(mqtt_handshake(&mut w, VIP, "sim-linger"), CONNACK_OK);
    broker.kill();
    assert!(w.run_until(SECS(5), |w| !w.dev(0).tcp().may_recv()));
    let closed_at = w.now;
    // The device sits in CLOSE-WAIT; the gateway gives up after 5 s.
    assert!(w.run_until(SECS(20), |w| w.gateway(0).real_connections() == 0));
    let waited = (w.now - closed_at).total_millis();
    assert!((5000..6000).contains(&waited), "cut after {waited} ms");
    assert_eq!(w.gateway(0).stats().proxy.linger_aborts, 1);
    // The abort's RST reaches the device.
    assert!(w.run_until(SECS(1), |w| w.dev(0).tcp().state() == State::Closed));
}

#[test]
fn unmap_refuses_new_connections_and_keeps_the_open_one() {
    let echo = Echo::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 7, echo.addr);
    let mut w = World::one(&net, 10);
    w.lease(0);
    assert!(w.connect(0, VIP, 7, SECS(10)));
    assert_eq!(net.unmap(VIP, 7), Some(echo.addr));
    assert_eq!(w.exchange(0, b"still", 5, SECS(5)), b"still");
    // A second device socket is needed for a second connection.
    let open = w.dev(0).tcp;
    let mut second = smoltcp::socket::tcp::Socket::new(
        smoltcp::socket::tcp::SocketBuffer::new(vec![0; 1024]),
        smoltcp::socket::tcp::SocketBuffer::new(vec![0; 1024]),
    );
    second.set_timeout(Some(SECS(5)));
    let h = w.dev(0).sockets.add(second);
    w.dev(0).tcp = h;
    assert!(!w.connect(0, VIP, 7, SECS(10)), "an unmapped port accepted");
    w.dev(0).tcp = open;
    assert_eq!(w.exchange(0, b"again", 5, SECS(5)), b"again");
    assert_eq!(w.gateway(0).stats().proxy.accepted, 1);
}

#[test]
fn connections_beyond_the_limit_are_reset() {
    let echo = Echo::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 7, echo.addr);
    let mut w = World::new(&net);
    w.add(
        LinkConfig::ethernet(11),
        GatewayConfig {
            max_connections: 1,
            ..GatewayConfig::default()
        },
    );
    w.lease(0);
    assert!(w.connect(0, VIP, 7, SECS(10)));
    let first = w.dev(0).tcp;
    let h = w.dev(0).sockets.add(smoltcp::socket::tcp::Socket::new(
        smoltcp::socket::tcp::SocketBuffer::new(vec![0; 1024]),
        smoltcp::socket::tcp::SocketBuffer::new(vec![0; 1024]),
    ));
    w.dev(0).tcp = h;
    let start = w.now;
    assert!(!w.connect(0, VIP, 7, SECS(10)));
    assert!(w.now - start < SECS(1), "reset, not timed out");
    assert_eq!(w.gateway(0).stats().proxy.over_limit, 1);
    w.dev(0).tcp = first;
    assert_eq!(w.exchange(0, b"ok", 2, SECS(5)), b"ok");
}

#[test]
fn reset_connections_resets_the_device_and_drops_the_broker_stream() {
    let broker = Broker::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 1883, broker.addr());
    let mut w = World::one(&net, 12);
    w.lease(0);
    assert_eq!(mqtt_handshake(&mut w, VIP, "sim-reset"), CONNACK_OK);
    let now = w.now;
    w.gateway(0).reset_connections(now);
    assert_eq!(w.gateway(0).real_connections(), 0);
    assert!(w.run_until(SECS(1), |w| w.dev(0).tcp().state() == State::Closed));
    // mosquitto sees its client go. Waited for in real time: with no
    // connection open, world time is not paced (World's docs), and five
    // simulated seconds would pass before a busy mosquitto had read the
    // close (CI failed on that once).
    let gone = || {
        let log = broker.log();
        [
            "Client sim-reset closed",
            "Client sim-reset disconnected",
            "Socket error on client sim-reset",
        ]
        .iter()
        .any(|line| log.contains(line))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !gone() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        gone(),
        "mosquitto never saw the client go:\n{}",
        broker.log()
    );
}
