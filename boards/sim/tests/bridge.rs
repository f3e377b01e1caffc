//! The bridge end to end: host driver → 5-wire link → co-processor firmware
//! (WLAN, smoltcp, MQTT on the sim board) → a real mosquitto, and back;
//! an independent `mosquitto_sub` counts what the host published and
//! `mosquitto_pub` sends what the host must receive
//! (`limpet_sim::bridge::both_ways`).

use std::collections::BTreeSet;
use std::time::Duration;

use limpet::bridge::proto;
use limpet::wire::{QoS, Will};
use limpet_sim::board::BoardOptions;
use limpet_sim::bridge::{both_ways, publish_down, Rig};
use limpet_sim::broker::{Broker, Sub};

#[test]
fn given_a_host_and_a_coprocessor_then_qos1_messages_cross_both_ways_through_mosquitto() {
    let mut rig = Rig::new(10_000, 1);
    both_ways(&mut rig, 200, |_, _| {});
    assert_eq!(rig.resets, 0);
}

#[test]
fn given_coprocessor_crashes_then_nothing_is_lost_either_way() {
    let mut rig = Rig::new(10_000, 1);
    let mut crashes = 0;
    both_ways(&mut rig, 200, |rig, pass| {
        // Five crashes, spread over the traffic (after every 35 completed
        // publishes), at whatever point of a pass that is.
        let progress = rig.done.len() + rig.received.len();
        if crashes < 5 && progress >= 70 * (crashes + 1) && pass % 7 == 3 {
            crashes += 1;
            rig.board.crash();
        }
    });
    assert_eq!(crashes, 5);
}

#[test]
fn given_a_hung_coprocessor_then_the_host_watchdog_resets_it_and_nothing_is_lost() {
    let mut rig = Rig::new(3_000, 1);
    let mut hangs = 0;
    both_ways(&mut rig, 100, |rig, _| {
        // Two hangs, during the traffic.
        let progress = rig.done.len() + rig.received.len();
        if hangs < 2 && !rig.board.hung && progress >= 60 * (hangs + 1) {
            hangs += 1;
            rig.board.hung = true;
        }
    });
    assert_eq!(hangs, 2);
    assert!(rig.resets >= 2, "{} resets", rig.resets);
}

#[test]
fn given_line_noise_of_1e_4_then_nothing_is_lost_either_way() {
    let mut rig = Rig::new(10_000, 1);
    rig.board.wires.set_bit_error_rate(1e-4, 7);
    both_ways(&mut rig, 200, |_, _| {});
    let (flips, _) = rig.board.wires.flips();
    assert!(flips > 10, "{flips} flips");
    assert!(rig.host.frames().bad + rig.board.co.as_ref().unwrap().role().frames().bad > 0);
}

#[test]
fn given_a_host_that_stops_reading_for_a_minute_while_the_broker_floods_it_then_it_gets_everything_after(
) {
    // 10 simulated seconds per real second: the minute takes six.
    let mut rig = Rig::new(120_000, 10);
    assert!(rig.run_until(Duration::from_secs(30), |r| r.subscribed));
    rig.host_stopped = true;
    let flood = publish_down(rig.port(), 300);
    let stopped_at = rig.board.now();
    while limpet::time::Duration::from_ticks(60_000)
        > rig.board.now().checked_duration_since(stopped_at).unwrap()
    {
        rig.pass();
    }
    flood.join().unwrap();
    // The co-processor held what the host had credit for and stopped
    // reading: the link is still, nothing was dropped.
    let co = rig.board.co.as_ref().unwrap();
    assert_eq!(co.role().counters().too_large, 0);
    assert!(
        co.role().counters().messages_in <= 4,
        "{:?}",
        co.role().counters()
    );
    assert!(rig.host_link.still_for(rig.board.now()) > 50_000);
    rig.host_stopped = false;
    assert!(
        rig.run_until(Duration::from_secs(60), |r| {
            r.received.iter().collect::<BTreeSet<_>>().len() == 300
        }),
        "{} of 300",
        rig.received.iter().collect::<BTreeSet<_>>().len()
    );
}

#[test]
fn given_a_time_server_then_the_host_gets_the_right_time_through_sntp() {
    let mut rig = Rig::new(10_000, 1);
    assert!(rig.run_until(Duration::from_secs(60), |r| r.subscribed));
    let id = rig.host.get_time();
    assert!(rig.run_until(Duration::from_secs(10), |r| !r.times.is_empty()));
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (answered, unix) = rig.times[0];
    assert_eq!(answered, id);
    let unix = unix.expect("a time");
    assert!(unix.abs_diff(real) <= 2, "{unix} vs {real}");
    // Asked again: answered from the time known, as fast as a round trip.
    let again = rig.host.get_time();
    assert!(rig.run_until(Duration::from_secs(5), |r| r.times.len() == 2));
    assert_eq!(rig.times[1].0, again);
    assert!(rig.times[1].1.unwrap().abs_diff(real) <= 2);
}

#[test]
fn given_wifi_outages_then_nothing_is_lost_either_way() {
    // The board takes the co-processor out of range (20 s) and switches the
    // access point off (10 s) in turn, 10 s apart, at 5x speed, while the
    // host publishes every 60 ms (simulated): the traffic spans both. The
    // broker is the test's, so the board does not kill it (mosquitto_pub
    // would fail while it is down).
    let broker = Broker::start();
    let mut rig = Rig::on(
        10_000,
        BoardOptions {
            broker: Some(broker.addr()),
            speed: 5,
            outages: true,
            outage_every_ms: 10_000,
            ..BoardOptions::default()
        },
    );
    rig.pace_ms = 60;
    both_ways(&mut rig, 600, |_, _| {});
    let (outages, _) = rig.board.sim.outages();
    assert!(outages >= 2, "{outages} outages");
    println!("{outages} outages");
}

#[test]
fn given_a_broker_that_hangs_twice_then_nothing_is_lost_either_way() {
    // SIGSTOP for 6 s, twice, while messages flow both ways (the test's
    // broker, so the test can stop it; mosquitto_pub waits out a hang).
    let broker = Broker::start();
    let mut rig = Rig::on(
        10_000,
        BoardOptions {
            broker: Some(broker.addr()),
            outages: false,
            ..BoardOptions::default()
        },
    );
    let (mut frozen, mut hangs) = (None::<std::time::Instant>, 0);
    both_ways(&mut rig, 300, |rig, _| {
        let progress = rig.done.len() + rig.received.len();
        match frozen {
            None if hangs < 2 && progress >= 200 * (hangs + 1) => {
                broker.freeze();
                frozen = Some(std::time::Instant::now());
                hangs += 1;
            }
            Some(t) if t.elapsed() > Duration::from_secs(6) => {
                broker.thaw();
                frozen = None;
            }
            _ => {}
        }
    });
    assert_eq!(hangs, 2);
}

#[test]
fn given_a_will_then_it_is_set_again_after_a_coprocessor_reboot() {
    // The will goes with the configuration the host replays: after a
    // reboot the co-processor's new connection carries it, so when that
    // co-processor then hangs the broker publishes it.
    let coproc = proto::Config {
        keepalive: 4,
        will: Some(Will {
            topic: "bridge/will",
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        ..limpet_sim::bridge::coproc_config()
    };
    // A watchdog slow enough to let the broker see the hang first.
    let mut rig = Rig::configured(
        120_000,
        BoardOptions {
            outages: false,
            ..BoardOptions::default()
        },
        coproc,
    );
    let will = Sub::start(rig.port(), "bridge/will", 1);
    assert!(will.wait_ready(Duration::from_secs(5)));
    assert!(rig.run_until(Duration::from_secs(60), |r| r.subscribed));
    rig.board.crash();
    rig.subscribed = false;
    assert!(
        rig.run_until(Duration::from_secs(60), |r| r.subscribed),
        "not back"
    );
    assert_eq!(rig.readies, 2);
    assert!(will.is_empty(), "no will while it runs: {:?}", will.lines());
    // It hangs: 1.5 keepalives later the broker gives up on it.
    rig.board.hung = true;
    assert!(
        rig.run_until(Duration::from_secs(15), |_| !will.is_empty()),
        "no will"
    );
    assert_eq!(will.lines(), ["bridge/will offline"]);
}
