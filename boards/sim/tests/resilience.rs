//! The resilience suite: the whole device (simulated radio, WLAN
//! controller, smoltcp, MQTT client) against a real mosquitto, through the
//! faults a device at the edge of WiFi range meets. Each scenario is given /
//! when / then, and each counts with an independent observer
//! (`mosquitto_sub`) what arrived: 0 QoS 1 messages lost, duplicates
//! counted, recovery times measured, the in-flight table within bounds.
//! Every device clock starts 10 s before the u32 millisecond wrap.

mod support;

use support::rig::{median, Rig, RigOptions};

use limpet_sim::device::INFLIGHT;
use limpet_sim::radio::Position;

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
    }
    let v = r.verdict(60_000);
    report("wifi drops", &v, &recoveries);
    assert_sound(&v);
    assert!(
        median(&mut recoveries) <= 1_000,
        "recoveries {recoveries:?}"
    );
}
