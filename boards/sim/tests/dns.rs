//! The gateway's DNS server as smoltcp's DNS client sees it (the client
//! retransmits after 1 s, doubling, and gives up after 10 s).

mod support;

use std::net::Ipv4Addr;

use limpet_sim::gateway::{DnsFault, Network, NetworkConfig};
use limpet_sim::link::Dir;
use smoltcp::time::Duration;
use support::*;

const NAME: &str = "broker.test";
const ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

fn leased() -> World {
    let net = Network::new(NetworkConfig::default());
    net.set_record(NAME, ADDR);
    let mut w = World::one(&net, 21);
    w.lease(0);
    w
}

/// Resolves and returns (result, simulated milliseconds it took).
fn timed(w: &mut World, name: &str) -> (Result<Vec<Ipv4Addr>, ()>, i64) {
    let start = w.now;
    let r = w.resolve(0, name);
    (r, (w.now - start).total_millis() as i64)
}

#[test]
fn a_known_name_resolves_at_once_and_an_unknown_one_is_nxdomain() {
    let mut w = leased();
    let (r, ms) = timed(&mut w, "Broker.Test");
    assert_eq!(r, Ok(vec![ADDR]));
    assert!(ms < 100, "{ms} ms");
    let (r, ms) = timed(&mut w, "nobody.test");
    assert_eq!(r, Err(()));
    assert!(ms < 100, "NXDOMAIN is an answer, not a timeout: {ms} ms");
    let s = w.network.dns_stats();
    assert_eq!((s.queries, s.answered, s.nxdomain), (2, 1, 1));
    assert_eq!(w.network.dns_queries_for(NAME), 1);
}

#[test]
fn nxdomain_fault_fails_every_name() {
    let mut w = leased();
    w.network.set_dns_fault(DnsFault::NxDomain);
    assert_eq!(timed(&mut w, NAME).0, Err(()));
    w.network.set_dns_fault(DnsFault::None);
    assert_eq!(timed(&mut w, NAME).0, Ok(vec![ADDR]));
}

#[test]
fn a_silent_server_makes_the_client_time_out() {
    let mut w = leased();
    w.network.set_dns_fault(DnsFault::Silent);
    let (r, ms) = timed(&mut w, NAME);
    assert_eq!(r, Err(()));
    assert!(ms >= 10_000, "gave up after {ms} ms");
    let s = w.network.dns_stats();
    assert!(s.queries >= 3, "the client retransmitted: {s:?}");
    assert_eq!(s.silenced, s.queries);
    assert_eq!(s.answered, 0);
}

#[test]
fn a_delayed_answer_arrives_after_the_delay() {
    let mut w = leased();
    w.network
        .set_dns_fault(DnsFault::Delay(Duration::from_millis(2500)));
    let (r, ms) = timed(&mut w, NAME);
    assert_eq!(r, Ok(vec![ADDR]));
    assert!((2500..3500).contains(&ms), "answered after {ms} ms");
    // The retransmission at 1 s was counted and held back too.
    let s = w.network.dns_stats();
    assert!(s.queries >= 2 && s.delayed == s.queries, "{s:?}");
}

#[test]
fn an_answer_later_than_the_client_waits_is_a_failure() {
    let mut w = leased();
    w.network
        .set_dns_fault(DnsFault::Delay(Duration::from_secs(12)));
    assert_eq!(timed(&mut w, NAME).0, Err(()));
}

#[test]
fn resolution_survives_a_lossy_link() {
    let mut w = leased();
    for dir in Dir::BOTH {
        w.link(0).update(dir, |f| f.loss = 0.2);
    }
    let ok = (0..10)
        .filter(|_| w.resolve(0, NAME) == Ok(vec![ADDR]))
        .count();
    let lost =
        w.link(0).counters(Dir::Up).dropped.loss + w.link(0).counters(Dir::Down).dropped.loss;
    assert!(lost > 0, "nothing was lost");
    assert!(
        ok >= 8,
        "{ok} of 10 resolved through 20% loss ({lost} frames lost)"
    );
}
