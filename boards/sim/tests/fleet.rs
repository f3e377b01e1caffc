//! Many devices, one network, one mosquitto: each device (link + gateway)
//! leases, resolves, connects through its gateway's proxy and gets a
//! CONNACK. `fleet_cost` (ignored; run it alone) measures what a device
//! costs:
//!
//! ```text
//! LIMPET_SIM_FLEET=1000 cargo test -p limpet-sim --release --test fleet fleet_cost -- --ignored --nocapture
//! ```
//!
//! (`LIMPET_SIM_FLEET_GATEWAY=small` for 2 KiB TCP buffers and one listener.)

mod support;

use std::net::Ipv4Addr;
use std::time::Instant as Real;

use limpet_sim::broker::Broker;
use limpet_sim::gateway::{GatewayConfig, Network, NetworkConfig};
use limpet_sim::link::LinkConfig;
use smoltcp::socket::dns::QueryHandle;
use smoltcp::socket::tcp::State;
use smoltcp::time::Duration;
use support::*;

const NAME: &str = "broker.test";
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

enum Phase {
    Lease,
    Resolve(QueryHandle),
    Connect,
    Handshake { sent: bool, got: Vec<u8> },
    Done,
}

/// A network for `n` devices: a /16 with a pool of 4n.
fn network(n: usize) -> Network {
    Network::new(NetworkConfig {
        prefix_len: 16,
        pool_start: Ipv4Addr::new(10, 0, 1, 1),
        pool_size: 4 * n as u32,
        ..NetworkConfig::default()
    })
}

/// Drives every device of `w` to a CONNACK; true if all got there.
fn bring_up(w: &mut World, limit: Duration) -> bool {
    let mut phases: Vec<Phase> = (0..w.nodes.len()).map(|_| Phase::Lease).collect();
    let ok = w.run_until(limit, |w| {
        for (i, phase) in phases.iter_mut().enumerate() {
            let d = &mut w.nodes[i].device;
            let next = match phase {
                Phase::Lease => d.addr.map(|_| Phase::Resolve(d.start_query(NAME))),
                Phase::Resolve(q) => match d.query_result(*q) {
                    Some(Ok(addrs)) => {
                        assert_eq!(addrs, vec![VIP]);
                        d.connect(VIP, 1883);
                        Some(Phase::Connect)
                    }
                    Some(Err(())) => panic!("device {i} could not resolve"),
                    None => None,
                },
                Phase::Connect => match d.tcp().state() {
                    State::Established => Some(Phase::Handshake {
                        sent: false,
                        got: Vec::new(),
                    }),
                    State::SynSent | State::SynReceived => None,
                    other => panic!("device {i}: TCP {other}"),
                },
                Phase::Handshake { sent, got } => {
                    let s = d.tcp();
                    if !*sent {
                        let connect = mqtt_connect(&format!("sim-fleet-{i}"));
                        assert_eq!(s.send_slice(&connect), Ok(connect.len()));
                        *sent = true;
                    }
                    let mut buf = [0; 16];
                    if let Ok(n) = s.recv_slice(&mut buf) {
                        got.extend_from_slice(&buf[..n]);
                    }
                    (got.len() >= 4).then(|| {
                        assert_eq!(got[..], CONNACK_OK, "device {i}");
                        Phase::Done
                    })
                }
                Phase::Done => None,
            };
            if let Some(p) = next {
                *phase = p;
            }
        }
        phases.iter().all(|p| matches!(p, Phase::Done))
    });
    ok
}

fn fleet(n: usize, gateway: GatewayConfig) -> (Broker, Network, World) {
    let broker = Broker::start();
    let net = network(n);
    net.set_record(NAME, VIP);
    net.map(VIP, 1883, broker.addr());
    let mut w = World::new(&net);
    for i in 0..n {
        w.add(LinkConfig::ethernet(1000 + i as u64), gateway.clone());
    }
    (broker, net, w)
}

#[test]
fn twenty_devices_connect_to_one_mosquitto() {
    let (_broker, net, mut w) = fleet(20, GatewayConfig::default());
    assert!(bring_up(&mut w, Duration::from_secs(60)));
    assert_eq!(net.leases().len(), 20);
    assert_eq!(net.dns_stats().answered, 20);
    let connected: u64 = w
        .nodes
        .iter()
        .map(|n| n.gateway.stats().proxy.connected)
        .sum();
    assert_eq!(connected, 20);
    let open: usize = w.nodes.iter().map(|n| n.gateway.real_connections()).sum();
    assert_eq!(open, 20);
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
#[ignore = "a measurement: run it alone, see the module docs"]
fn fleet_cost() {
    let n: usize = std::env::var("LIMPET_SIM_FLEET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // One configuration per process: RSS after freeing a first fleet
    // would hide the second one's cost.
    let (label, gateway) = match std::env::var("LIMPET_SIM_FLEET_GATEWAY").as_deref() {
        Ok("small") => (
            "small gateway (2 KiB TCP buffers, 1 listener)",
            GatewayConfig {
                tcp_buffer: 2048,
                listeners_per_port: 1,
                ..GatewayConfig::default()
            },
        ),
        _ => (
            "default gateway (4 KiB TCP buffers, 2 listeners)",
            GatewayConfig::default(),
        ),
    };
    {
        let rss0 = rss_kib();
        let t0 = Real::now();
        let (broker, net, mut w) = fleet(n, gateway);
        let built = t0.elapsed();
        let rss1 = rss_kib();
        let t1 = Real::now();
        let sim0 = w.now;
        assert!(
            bring_up(&mut w, Duration::from_secs(120)),
            "not all {n} connected"
        );
        let up = t1.elapsed();
        let rss2 = rss_kib();
        assert_eq!(net.leases().len(), n);
        // Idle polling: everyone connected, nothing to send.
        let rounds = 50;
        let t2 = Real::now();
        for _ in 0..rounds {
            w.poll_all();
        }
        let per_poll = t2.elapsed() / (rounds * 3 * n as u32);
        let buffers: usize = w.nodes.iter().map(|n| n.gateway.buffer_bytes()).sum();
        println!(
            "--- {n} devices, {label}, against one {}",
            broker.kind().name()
        );
        println!(
            "built in {built:?}; RSS {} KiB per device after build, {} KiB after connecting",
            (rss1 - rss0) / n as u64,
            (rss2 - rss0) / n as u64
        );
        println!(
            "gateway socket buffers {} KiB per device; all connected in {up:?} real, {} simulated, {} steps",
            buffers / n / 1024,
            w.now - sim0,
            w.steps
        );
        println!("idle poll (device interface + gateway) {per_poll:?} per device");
        drop(w);
    }
}
