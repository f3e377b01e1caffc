//! The resilience suite: the whole device (simulated radio, WLAN
//! controller, smoltcp, MQTT client) against a real mosquitto, through the
//! faults a device at the edge of WiFi range meets. Each scenario is given /
//! when / then, and each counts with an independent observer
//! (`mosquitto_sub`) what arrived: 0 QoS 1 messages lost, duplicates
//! counted, recovery times measured, the in-flight table within bounds.
//! Every device clock starts 10 s before the u32 millisecond wrap.

mod support;

use support::rig::{median, Rig, RigOptions, PASSWORD, SSID};

use limpet::wire::QoS;
use limpet::wlan::Network;
use limpet_sim::broker::publish;
use limpet_sim::device::INFLIGHT;
use limpet_sim::gateway::DnsFault;
use limpet_sim::link::Dir;
use limpet_sim::radio::Position;
use std::net::Ipv4Addr;
use std::time::Duration as RealDuration;

/// Prints the figures of a scenario, so `--nocapture` shows them.
fn report(name: &str, v: &support::rig::Verdict, recoveries: &[i64]) {
    println!(
        "{name}: accepted {} acknowledged {} lost {} duplicates {} refused {} max in flight {} ups {} downs {} recoveries {:?} ms",
        v.accepted, v.acknowledged, v.lost.len(), v.duplicates, v.refused, v.max_inflight, v.ups, v.downs, recoveries
    );
}

fn assert_sound(v: &support::rig::Verdict) {
    assert!(v.lost.is_empty(), "lost {:?}", v.lost);
    assert!(v.max_inflight <= INFLIGHT);
    assert!(v.accepted > 0);
}

/// Given a device publishing QoS 1 every 500 ms, when it is out of the
/// access point's range for 2 s, 30 s and 10 min (longer than the 20 s keepalive), then
/// every message arrives; a 2 s gap is ridden out without a WLAN drop (the
/// radio's beacon timeout is 6 s); after the longer ones the MQTT session
/// is back within 1 s of the WLAN stability window passing.
#[test]
fn wifi_drops_of_2s_30s_and_10min_while_publishing() {
    let mut r = Rig::new(RigOptions::new(1));
    r.up();
    r.run(5_000);
    let mut recoveries = Vec::new();
    let mut firsts = Vec::new();
    for (i, gap) in [2_000i64, 30_000, 600_000].into_iter().enumerate() {
        let wlan_downs = r.w.device(r.dev).journal.wlan_downs.len();
        // Out of range and back (the AP itself stays up).
        r.w.device(r.dev)
            .radio
            .set_position(Position::Fixed(1_000.0));
        r.run(gap);
        r.w.device(r.dev).radio.set_position(Position::Fixed(5.0));
        let back = r.w.ms();
        if i == 0 {
            r.run(10_000);
            assert_eq!(
                r.w.device(r.dev).journal.wlan_downs.len(),
                wlan_downs,
                "a 2 s gap must not take the WLAN down"
            );
            continue;
        }
        let d = r.dev;
        assert!(
            r.run_until(120_000, |w| w
                .device(d)
                .journal
                .wlan_ups
                .iter()
                .any(|&u| u >= back)),
            "WLAN not back"
        );
        let wlan_up = *r.w.device(d).journal.wlan_ups.last().unwrap();
        let up = r.until_up_after(wlan_up, 30_000);
        recoveries.push(up - wlan_up);
        r.run(5_000);
        firsts.push(r.first_ack_after(up).expect("a queued message delivered"));
    }
    let v = r.verdict(60_000);
    report("wifi drops", &v, &recoveries);
    println!(
        "wifi drops: first queued QoS 1 acknowledged {firsts:?} ms after Up (round trip 20 ms)"
    );
    assert!(firsts.iter().all(|&f| f <= 100), "{firsts:?}");
    assert_sound(&v);
    assert!(
        median(&mut recoveries) <= 1_000,
        "recoveries {recoveries:?}"
    );
}

/// Given a publishing device, when the broker is SIGKILLed, stays down 3 s
/// and restarts on the same port (no persistence), 20 times, then every
/// message arrives and the session is back within a median of 1 s of each
/// restart.
#[test]
fn broker_killed_and_restarted_20_times() {
    let mut r = Rig::new(RigOptions::new(2));
    r.up();
    r.run(3_000);
    let mut recoveries = Vec::new();
    let mut firsts = Vec::new();
    for _ in 0..20 {
        r.broker.kill();
        r.run(3_000);
        r.broker.restart();
        // The observer reconnects and subscribes again before the device
        // may publish into the new broker (world time stands still meanwhile).
        assert!(
            r.sub.wait_ready(RealDuration::from_secs(10)),
            "observer not back"
        );
        let back = r.w.ms();
        let up = r.until_up_after(back, 30_000);
        recoveries.push(up - back);
        // Up long enough to prove itself (Options::stable_after, 10 s), so
        // each outage starts from the short delays, as separate outages do.
        r.run(11_000);
        firsts.push(r.first_ack_after(up).expect("a queued message delivered"));
    }
    let v = r.verdict(60_000);
    report("broker kills", &v, &recoveries);
    println!("broker kills: first QoS 1 acknowledged {firsts:?} ms after Up (round trip 20 ms)");
    assert!(median(&mut firsts) <= 100, "{firsts:?}");
    assert_sound(&v);
    assert!(v.downs >= 20);
    assert!(
        median(&mut recoveries) <= 1_000,
        "recoveries {recoveries:?}"
    );
}

/// Given a publishing device, when the broker is SIGSTOPped (hung: its
/// sockets stay open, nothing is answered) for 40 s, 5 times, then the
/// keepalive notices each time, and after SIGCONT every message arrives.
#[test]
fn broker_hung_5_times() {
    let mut r = Rig::new(RigOptions::new(3));
    r.up();
    r.run(3_000);
    let mut recoveries = Vec::new();
    for _ in 0..5 {
        let downs = r.w.device(r.dev).journal.downs.len();
        r.broker.freeze();
        r.run(40_000);
        let noticed = r.w.device(r.dev).journal.downs.len() > downs;
        r.broker.thaw();
        assert!(
            noticed,
            "a hung broker went unnoticed for 40 s (keepalive 20 s)"
        );
        assert!(
            r.sub.wait_ready(RealDuration::from_secs(10)),
            "observer not back"
        );
        let back = r.w.ms();
        let up = r.until_up_after(back, 60_000);
        recoveries.push(up - back);
        r.run(3_000);
    }
    let v = r.verdict(60_000);
    report("broker hangs", &v, &recoveries);
    assert_sound(&v);
}

/// Given a publishing device, when 20 % of frames are lost each way for 10
/// minutes, then every message arrives (TCP and QoS 1 retransmission).
#[test]
fn twenty_percent_loss_each_way_for_10_minutes() {
    let mut r = Rig::new(RigOptions::new(4));
    r.up();
    for dir in [Dir::Up, Dir::Down] {
        r.w.link(r.dev).update(dir, |f| f.loss = 0.2);
    }
    r.run(600_000);
    for dir in [Dir::Up, Dir::Down] {
        r.w.link(r.dev).update(dir, |f| f.loss = 0.0);
    }
    let v = r.verdict(120_000);
    report("20% loss", &v, &[]);
    assert_sound(&v);
    // At a message every 500 ms, most of the 10 minutes' worth got through.
    assert!(v.accepted > 600, "only {} accepted", v.accepted);
}

/// Given a publishing device, when the path silently stops forwarding in
/// both directions (half-open TCP: no RST, no FIN, the radio still
/// associated), then the keepalive notices within 1.5 keepalive periods,
/// and once the path forwards again everything arrives.
#[test]
fn half_open_tcp_is_noticed_by_the_keepalive() {
    let mut r = Rig::new(RigOptions::new(5));
    r.up();
    r.run(3_000);
    let stalled = r.w.ms();
    let downs = r.w.device(r.dev).journal.downs.len();
    r.w.link(r.dev).set_stalled(true);
    let d = r.dev;
    let noticed = r.run_until(30_000, |w| w.device(d).journal.downs.len() > downs);
    assert!(
        noticed,
        "half-open link not noticed within 30 s (keepalive 20 s)"
    );
    let (at, reason) = r.w.device(d).journal.downs[downs];
    println!("half-open noticed after {} ms: {reason:?}", at - stalled);
    r.run(20_000);
    r.w.link(r.dev).set_stalled(false);
    let back = r.w.ms();
    let up = r.until_up_after(back, 60_000);
    let v = r.verdict(60_000);
    report("half-open", &v, &[up - back]);
    assert_sound(&v);
}

/// Given a publishing device, when its access point goes away and comes
/// back on a renumbered network (every lease changes), then the device
/// joins again, takes the new address, and every message arrives.
#[test]
fn access_point_returns_with_a_different_lease() {
    let mut r = Rig::new(RigOptions::new(6));
    r.up();
    r.run(3_000);
    let before = r.w.device(r.dev).address().expect("an address");
    r.w.air.set_present(r.ap, false);
    r.w.network.renumber();
    r.run(30_000);
    r.w.air.set_present(r.ap, true);
    let back = r.w.ms();
    let d = r.dev;
    assert!(r.run_until(120_000, |w| w
        .device(d)
        .journal
        .wlan_ups
        .iter()
        .any(|&u| u >= back)));
    let wlan_up = *r.w.device(d).journal.wlan_ups.last().unwrap();
    let up = r.until_up_after(wlan_up, 30_000);
    let after = r.w.device(d).address().expect("an address");
    assert_ne!(
        before, after,
        "the renumbered network gave the same address"
    );
    r.run(3_000);
    let v = r.verdict(60_000);
    report("AP back, new lease", &v, &[up - wlan_up]);
    assert_sound(&v);
}

/// Given a device whose broker address is cached, when the broker's old
/// address stops answering and DNS is silent for a while, then the device
/// asks DNS again (after failed connects), survives the timeouts, and once
/// DNS answers with the broker's new address it connects there.
#[test]
fn dns_times_out_then_the_name_resolves_to_a_new_address() {
    let mut r = Rig::new(RigOptions::new(7));
    r.up();
    r.run(3_000);
    let queries = r.w.device(r.dev).stack_counters().dns_queries;
    // The broker moves: its old address refuses, DNS goes silent.
    r.w.network.unmap(support::rig::BROKER_VIP, 1883);
    r.w.network.set_dns_fault(DnsFault::Silent);
    r.w.network
        .set_record("broker.sim", Ipv4Addr::new(10, 0, 0, 7));
    r.w.network
        .map(Ipv4Addr::new(10, 0, 0, 7), 1883, r.broker.addr());
    // Make the device notice: the old connection is cut.
    r.w.gateway_reset(r.dev);
    r.run(30_000);
    let c = r.w.device(r.dev).stack_counters();
    assert!(c.dns_failures > 0, "no DNS timeout seen: {c:?}");
    r.w.network.set_dns_fault(DnsFault::None);
    let back = r.w.ms();
    let up = r.until_up_after(back, 60_000);
    let c = r.w.device(r.dev).stack_counters();
    assert!(c.dns_queries > queries + 1, "{c:?}");
    r.run(3_000);
    let v = r.verdict(60_000);
    report("DNS silent, broker moved", &v, &[up - back]);
    println!("stack counters {c:?}");
    assert_sound(&v);
}

/// Given a device with two brokers in its list, when the first one dies
/// for good, then after `failover_after` failed connects the device moves
/// to the second, and every message arrives at one or the other.
#[test]
fn first_broker_dies_and_the_second_takes_over() {
    let mut opts = RigOptions::new(8);
    opts.spec.brokers.push(("backup.sim".to_string(), 1883));
    let mut r = Rig::new(opts);
    let _backup = r.add_broker("backup.sim", Ipv4Addr::new(10, 0, 0, 2));
    r.up();
    r.run(3_000);
    r.broker.kill();
    let killed = r.w.ms();
    let up = r.until_up_after(killed, 120_000);
    let c = r.w.device(r.dev).stack_counters();
    assert_eq!(c.failovers, 1, "{c:?}");
    r.run(5_000);
    let v = r.verdict(60_000);
    report("failover", &v, &[up - killed]);
    assert_sound(&v);
}

/// Given a wrong password for the configured network while the network the
/// radio has stored works, then the device comes up on the stored one; and
/// the reverse: a stale stored password, the configured one right, up on
/// the configured one. Both publish without loss.
#[test]
fn wrong_password_on_one_network_while_the_other_works() {
    for (stored, configured, expect) in [
        (PASSWORD, &b"wrong password"[..], Network::Stored),
        (&b"stale password"[..], PASSWORD, Network::Configured),
    ] {
        let mut opts = RigOptions::new(if expect == Network::Stored { 9 } else { 10 });
        opts.spec.stored = Some((SSID.to_string(), stored.to_vec()));
        opts.spec.network = Some((SSID.to_string(), configured.to_vec()));
        let mut r = Rig::new(opts);
        r.up();
        assert_eq!(r.w.device(r.dev).wlan().network(), Some(expect));
        r.run(5_000);
        let v = r.verdict(30_000);
        report(&format!("up on {expect:?}"), &v, &[]);
        assert_sound(&v);
        let c = *r.w.device(r.dev).wlan().counters();
        if expect == Network::Configured {
            assert!(c.wrong_password > 0, "{c:?}");
        }
    }
}

/// Given a device subscribed with QoS 1 on a persistent session, when five
/// messages are published to it while it is out of range, then all five
/// arrive after it returns; with a clean session, none do.
#[test]
fn messages_sent_while_away_arrive_on_a_persistent_session_only() {
    for clean in [false, true] {
        let mut opts = RigOptions::new(if clean { 12 } else { 11 });
        let cmd = format!("cmd/{}", opts.spec.client_id);
        opts.spec.subscribe = vec![(cmd.clone(), QoS::AtLeastOnce)];
        opts.spec.clean = clean;
        let mut r = Rig::new(opts);
        r.up();
        let d = r.dev;
        assert!(r.run_until(10_000, |w| w
            .device(d)
            .client()
            .session()
            .subscriptions()
            .count()
            == 1));
        r.run(2_000);
        r.w.device(d).take_received();
        r.w.device(d).radio.set_position(Position::Fixed(1_000.0));
        let downs = r.w.device(d).journal.wlan_downs.len();
        assert!(r.run_until(30_000, |w| w.device(d).journal.wlan_downs.len() > downs));
        for i in 0..5 {
            publish(r.broker.port(), &cmd, format!("away {i}"), 1, false);
        }
        r.run(60_000);
        r.w.device(d).radio.set_position(Position::Fixed(5.0));
        let back = r.w.ms();
        r.until_up_after(back, 120_000);
        r.run(10_000);
        // The subscription works in both cases: a message sent now arrives.
        publish(r.broker.port(), &cmd, "back", 1, false);
        r.run(5_000);
        let mut got: Vec<String> =
            r.w.device(d)
                .take_received()
                .into_iter()
                .filter(|m| m.topic == cmd)
                .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
                .collect();
        println!("clean {clean}: received {got:?}");
        assert_eq!(got.pop().as_deref(), Some("back"), "{got:?}");
        if clean {
            assert!(got.is_empty(), "a clean session got {got:?}");
        } else {
            let mut want: Vec<String> = (0..5).map(|i| format!("away {i}")).collect();
            let mut unique = got.clone();
            unique.sort();
            unique.dedup();
            want.sort();
            assert_eq!(unique, want);
        }
        let v = r.verdict(30_000);
        assert_sound(&v);
    }
}

/// Given a device publishing QoS 1 twenty times a second with two brokers
/// in its list, when the faults of the scenarios above take turns (out of
/// range 2 s and 30 s, a broker killed and restarted, 20 % loss for a
/// minute, a half-open path, the access point gone with the network
/// renumbered and DNS silent), with 20 s of calm after each, until 10,000
/// messages were produced, then none is lost.
#[test]
fn ten_thousand_qos1_messages_through_combined_chaos() {
    let mut opts = RigOptions::new(20);
    opts.every_ms = 50;
    opts.spec.brokers.push(("backup.sim".to_string(), 1883));
    let mut r = Rig::new(opts);
    let _backup = r.add_broker("backup.sim", Ipv4Addr::new(10, 0, 0, 2));
    r.up();
    let d = r.dev;
    let mut round = 0;
    while r.publisher.next < 10_000 {
        match round % 6 {
            0 | 1 => {
                r.w.device(d).radio.set_position(Position::Fixed(1_000.0));
                r.run(if round % 6 == 0 { 2_000 } else { 30_000 });
                r.w.device(d).radio.set_position(Position::Fixed(5.0));
            }
            2 => {
                r.broker.kill();
                r.run(3_000);
                r.broker.restart();
                assert!(r.sub.wait_ready(RealDuration::from_secs(10)));
            }
            3 => {
                for dir in [Dir::Up, Dir::Down] {
                    r.w.link(d).update(dir, |f| f.loss = 0.2);
                }
                r.run(60_000);
                for dir in [Dir::Up, Dir::Down] {
                    r.w.link(d).update(dir, |f| f.loss = 0.0);
                }
            }
            4 => {
                r.w.link(d).set_stalled(true);
                r.run(30_000);
                r.w.link(d).set_stalled(false);
            }
            _ => {
                r.w.air.set_present(r.ap, false);
                r.w.network.renumber();
                r.w.network.set_dns_fault(DnsFault::Silent);
                r.run(10_000);
                r.w.air.set_present(r.ap, true);
                r.run(10_000);
                r.w.network.set_dns_fault(DnsFault::None);
            }
        }
        r.run(20_000);
        round += 1;
    }
    let v = r.verdict(120_000);
    report(&format!("chaos ({round} rounds)"), &v, &[]);
    assert_sound(&v);
    assert!(v.accepted >= 10_000);
}
