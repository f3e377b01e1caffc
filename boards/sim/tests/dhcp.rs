//! The gateway's DHCP server as smoltcp's DHCP client sees it: leases,
//! renewals, renumbering, many devices, a silent server, a full pool.

mod support;

use std::collections::HashSet;
use std::net::Ipv4Addr;

use limpet_sim::gateway::{GatewayConfig, Network, NetworkConfig};
use limpet_sim::link::LinkConfig;
use smoltcp::time::Duration;
use support::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn network(lease_secs: u32) -> Network {
    Network::new(NetworkConfig {
        lease_secs,
        ..NetworkConfig::default()
    })
}

#[test]
fn a_renewed_lease_keeps_its_address() {
    let net = network(60);
    let mut w = World::one(&net, 31);
    let ip = w.lease(0);
    // Renewals at half the lease: about 30 s, then every 30 s or so.
    w.run_for(SECS(200));
    assert_eq!(w.dev(0).ip(), Some(ip));
    assert_eq!(w.dev(0).configured, 1, "never deconfigured");
    let s = net.dhcp_stats();
    assert!(s.acks >= 4, "{s:?}");
    assert_eq!((s.discovers, s.naks), (1, 0));
}

#[test]
fn renumber_then_reassociation_gives_a_new_address() {
    let net = network(3600);
    let mut w = World::one(&net, 32);
    let before = w.lease(0);
    net.renumber();
    assert!(net.leases().is_empty());
    // The device re-associates (the AP came back) and asks again.
    w.dev(0).reset_dhcp();
    assert!(w.run_until(SECS(30), |w| w.dev(0).ip().is_some_and(|ip| ip != before)));
    let after = w.dev(0).ip().unwrap();
    assert_eq!(net.lease_of(w.dev(0).mac), Some(after));
}

#[test]
fn renumber_naks_the_next_renewal_and_the_device_moves() {
    let net = network(60);
    let mut w = World::one(&net, 33);
    let before = w.lease(0);
    net.renumber();
    // At the renewal (about 30 s) the server NAKs; the client starts over.
    assert!(w.run_until(SECS(60), |w| w.dev(0).ip().is_some_and(|ip| ip != before)));
    assert_eq!(net.dhcp_stats().naks, 1);
    assert_eq!(w.dev(0).configured, 2);
}

#[test]
fn many_devices_on_one_network_get_distinct_leases() {
    let net = network(3600);
    let mut w = World::new(&net);
    for i in 0..20 {
        w.add(LinkConfig::ethernet(40 + i), GatewayConfig::default());
    }
    assert!(w.run_until(SECS(30), |w| w
        .nodes
        .iter()
        .all(|n| n.device.addr.is_some())));
    let ips: HashSet<Ipv4Addr> = w.nodes.iter().map(|n| n.device.ip().unwrap()).collect();
    assert_eq!(ips.len(), 20);
    let pool = 100..200;
    assert!(
        ips.iter().all(|ip| pool.contains(&ip.octets()[3])),
        "{ips:?}"
    );
    let leases = net.leases();
    assert_eq!(leases.len(), 20);
    assert!(leases.iter().all(|l| l.bound));
    for n in &w.nodes {
        assert_eq!(net.lease_of(n.device.mac), n.device.ip());
    }
}

#[test]
fn a_silent_server_gives_no_lease_until_it_answers() {
    let net = network(3600);
    net.set_dhcp_silent(true);
    let mut w = World::one(&net, 34);
    w.run_for(SECS(30));
    assert!(w.dev(0).addr.is_none());
    assert!(net.dhcp_stats().silenced >= 3, "DISCOVER retried");
    net.set_dhcp_silent(false);
    assert!(w.run_until(SECS(15), |w| w.dev(0).addr.is_some()));
}

#[test]
fn a_full_pool_leaves_the_last_device_without_a_lease() {
    let net = Network::new(NetworkConfig {
        pool_size: 2,
        ..NetworkConfig::default()
    });
    let mut w = World::new(&net);
    for i in 0..3 {
        w.add(LinkConfig::ethernet(50 + i), GatewayConfig::default());
    }
    w.run_for(SECS(30));
    let with_lease = w.nodes.iter().filter(|n| n.device.addr.is_some()).count();
    assert_eq!(with_lease, 2);
    assert!(net.dhcp_stats().exhausted > 0);
}
