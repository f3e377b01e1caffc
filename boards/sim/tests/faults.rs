//! Each link fault, seen end to end through the gateway: a device with a
//! DHCP lease and a TCP connection through the proxy to a real echo server
//! on 127.0.0.1.

mod support;

use std::net::Ipv4Addr;

use limpet_sim::gateway::{GatewayConfig, Network, NetworkConfig};
use limpet_sim::link::{Dir, LinkConfig};
use smoltcp::socket::tcp::State;
use smoltcp::time::Duration;
use support::*;

const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
const SECS: fn(u64) -> Duration = Duration::from_secs;

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// A world with one device whose link has `link`, and an echo server.
fn world(link: LinkConfig, gateway: GatewayConfig) -> (World, Echo) {
    let echo = Echo::start();
    let net = Network::new(NetworkConfig::default());
    net.map(VIP, 7, echo.addr);
    let mut w = World::new(&net);
    w.add(link, gateway);
    (w, echo)
}

fn connected(link: LinkConfig) -> (World, Echo) {
    let (mut w, echo) = world(link, GatewayConfig::default());
    w.lease(0);
    assert!(w.connect(0, VIP, 7, SECS(10)));
    (w, echo)
}

#[test]
fn loss_both_ways_delays_but_every_byte_arrives() {
    let (mut w, _echo) = world(LinkConfig::ethernet(11), GatewayConfig::default());
    for dir in Dir::BOTH {
        w.link(0).update(dir, |f| f.loss = 0.1);
    }
    assert!(
        w.run_until(SECS(120), |w| w.dev(0).addr.is_some()),
        "no lease through 10% loss"
    );
    assert!(w.connect(0, VIP, 7, SECS(60)));
    let data = pattern(8000);
    assert_eq!(w.exchange(0, &data, data.len(), SECS(120)), data);
    let lost =
        w.link(0).counters(Dir::Up).dropped.loss + w.link(0).counters(Dir::Down).dropped.loss;
    assert!(lost > 0, "nothing was lost");
}

#[test]
fn corrupted_frames_are_dropped_by_the_receivers_checksums() {
    let (mut w, _echo) = world(LinkConfig::ethernet(12), GatewayConfig::default());
    // Every frame up is corrupted: the DHCP DISCOVERs reach the gateway's
    // interface and die there, never reaching the DHCP server.
    w.link(0).update(Dir::Up, |f| f.corrupt = 1.0);
    w.run_for(SECS(25));
    let up = w.link(0).counters(Dir::Up);
    assert!(
        up.delivered_frames >= 2 && up.corrupted == up.delivered_frames,
        "{up:?}"
    );
    let dhcp = w.network.dhcp_stats();
    assert_eq!((dhcp.discovers, dhcp.ignored), (0, 0), "{dhcp:?}");
    assert!(w.dev(0).addr.is_none());

    // A fifth of the frames corrupted each way: TCP retransmits, and what
    // comes back is exactly what was sent (no corrupted segment accepted).
    for dir in Dir::BOTH {
        w.link(0).update(dir, |f| f.corrupt = 0.2);
    }
    assert!(w.run_until(SECS(120), |w| w.dev(0).addr.is_some()));
    assert!(w.connect(0, VIP, 7, SECS(60)));
    let data = pattern(8000);
    assert_eq!(w.exchange(0, &data, data.len(), SECS(120)), data);
    let corrupted = w.link(0).counters(Dir::Up).corrupted + w.link(0).counters(Dir::Down).corrupted;
    assert!(
        corrupted > up.corrupted,
        "no corruption during the transfer"
    );
}

#[test]
fn outage_passes_nothing_and_tcp_recovers_after_it() {
    let (mut w, _echo) = connected(LinkConfig::ethernet(13));
    w.link(0).set_up(false);
    assert!(!w.nodes[0].gw_end.carrier());
    let data = pattern(500);
    let during = w.exchange(0, &data, data.len(), SECS(5));
    assert!(during.is_empty());
    assert!(w.link(0).counters(Dir::Up).dropped.down > 0);
    w.link(0).set_up(true);
    assert_eq!(w.exchange(0, &[], data.len(), SECS(30)), data);
}

#[test]
fn detached_radio_blocks_dhcp_until_attached() {
    let (mut w, _echo) = world(LinkConfig::ethernet(14), GatewayConfig::default());
    w.link(0).set_attached(false);
    w.run_for(SECS(20));
    assert!(w.dev(0).addr.is_none());
    assert!(w.link(0).counters(Dir::Up).dropped.detached > 0);
    assert_eq!(w.network.dhcp_stats().discovers, 0);
    w.link(0).set_attached(true);
    // smoltcp retries DISCOVER every 10 s.
    assert!(w.run_until(SECS(15), |w| w.dev(0).addr.is_some()));
}

#[test]
fn half_open_stall_times_the_device_out_while_the_gateway_flow_stays() {
    let (mut w, echo) = connected(LinkConfig::ethernet(15));
    let first_port = w.gateway(0).connections()[0].device.port;
    w.link(0).set_stalled(true);
    assert!(w.nodes[0].gw_end.carrier() && w.dev(0).endpoint.carrier());
    // The device's data goes nowhere; its TCP timeout (20 s) gives up.
    let lost = w.exchange(0, &pattern(100), 100, SECS(40));
    assert!(lost.is_empty());
    assert_eq!(w.dev(0).tcp().state(), State::Closed);
    assert!(w.link(0).counters(Dir::Up).dropped.stalled > 0);
    // The gateway had nothing in flight: its flow to the broker is still
    // open, as a real broker's would be until its keepalive.
    assert_eq!(w.gateway(0).real_connections(), 1);
    // Unstalled, the device reconnects from a new port: a second flow.
    w.link(0).set_stalled(false);
    assert!(w.connect(0, VIP, 7, SECS(10)));
    let data = pattern(300);
    assert_eq!(w.exchange(0, &data, data.len(), SECS(10)), data);
    let ports: Vec<u16> = w
        .gateway(0)
        .connections()
        .iter()
        .map(|c| c.device.port)
        .collect();
    assert_eq!(ports.len(), 2, "{ports:?}");
    assert!(ports.contains(&first_port));
    assert_eq!(echo.accepted.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[test]
fn stall_down_times_out_the_gateway_side_and_drops_the_broker_stream() {
    let gateway = GatewayConfig {
        tcp_timeout: SECS(5),
        ..GatewayConfig::default()
    };
    let (mut w, _echo) = world(LinkConfig::ethernet(16), gateway);
    w.lease(0);
    assert!(w.connect(0, VIP, 7, SECS(10)));
    // Up still passes: the echo's answer is stuck in the gateway's socket,
    // unacknowledged, until the gateway's 5 s timeout aborts it.
    w.link(0).update(Dir::Down, |f| f.stalled = true);
    assert!(w.dev(0).tcp().send_slice(&pattern(200)).is_ok());
    assert!(w.run_until(SECS(30), |w| w.gateway(0).real_connections() == 0));
    let p = w.gateway(0).stats().proxy;
    assert_eq!(p.device_gone, 1, "{p:?}");
    assert_eq!(p.bytes_down, 200);
}

#[test]
fn bandwidth_limit_paces_a_transfer() {
    let data = pattern(20_000);
    let time_it = |bandwidth: Option<u64>| {
        let (mut w, _echo) = connected(LinkConfig::ethernet(17));
        w.link(0).update(Dir::Up, |f| f.bandwidth = bandwidth);
        let start = w.now;
        assert_eq!(w.exchange(0, &data, data.len(), SECS(60)), data);
        (w.now - start).total_millis()
    };
    let unlimited = time_it(None);
    let limited = time_it(Some(10_000));
    // 20 000 bytes plus headers at 10 000 B/s: just over 2 s.
    assert!(unlimited < 1000, "unlimited took {unlimited} ms");
    assert!((2000..3000).contains(&limited), "10 kB/s took {limited} ms");
}

#[test]
fn a_full_queue_drops_frames_and_tcp_still_delivers() {
    let mut link = LinkConfig::ethernet(18);
    link.queue_frames = 2;
    let (mut w, _echo) = connected(link);
    w.link(0).update(Dir::Up, |f| f.bandwidth = Some(20_000));
    let data = pattern(12_000);
    assert_eq!(w.exchange(0, &data, data.len(), SECS(120)), data);
    assert!(w.link(0).counters(Dir::Up).dropped.queue_full > 0);
}

#[test]
fn latency_delays_every_round_trip() {
    let (mut w, _echo) = world(LinkConfig::ethernet(19), GatewayConfig::default());
    w.link(0).set_latency(Duration::from_millis(100));
    let start = w.now;
    w.lease(0);
    // DISCOVER, OFFER, REQUEST, ACK: four crossings.
    assert!(
        (w.now - start).total_millis() >= 400,
        "lease in {}",
        w.now - start
    );
    let start = w.now;
    assert!(w.connect(0, VIP, 7, SECS(10)));
    // ARP, ARP reply, SYN, SYN-ACK.
    assert!(
        (w.now - start).total_millis() >= 400,
        "connect in {}",
        w.now - start
    );
    let start = w.now;
    assert_eq!(w.exchange(0, b"ping", 4, SECS(10)), b"ping");
    let rtt = (w.now - start).total_millis();
    assert!((200..400).contains(&rtt), "echo in {rtt} ms");
}
