//! The bridge end to end: host driver → 5-wire link → co-processor firmware
//! (WLAN, smoltcp, MQTT on the sim board) → a real mosquitto, and back;
//! an independent `mosquitto_sub` counts what the host published and
//! `mosquitto_pub` sends what the host must receive.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::{Duration as RealDuration, Instant as RealInstant};

use limpet::bridge::host::{HostConfig, HostEvent};
use limpet::bridge::link::Side;
use limpet::bridge::proto::{self, Outcome};
use limpet::wire::QoS;
use limpet_sim::board::{BoardOptions, SimBoard, PASSWORD, SSID};
use limpet_sim::bridge::{link, CoprocFirmware, HostRole, SimLink};
use limpet_sim::broker::{publish, Sub};
use limpet_sim::wires::Wires;

const UP: &str = "bridge/up";
const DOWN: &str = "bridge/down";

fn coproc_config() -> proto::Config<'static> {
    proto::Config {
        ssid: SSID,
        wifi_password: PASSWORD,
        use_stored: false,
        broker: "broker.sim",
        port: 1883,
        client_id: "bridge-e2e",
        username: None,
        password: None,
        keepalive: 20,
        ping_interval: 0,
        max_repubs: 4,
        clean: false,
        response_time: 5_000,
        will: None,
        time_server: "",
    }
}

/// The host, the wires, the co-processor and the board's world.
struct Rig {
    board: SimBoard,
    wires: Rc<Wires>,
    host_link: SimLink,
    host: HostRole<'static>,
    co: Option<CoprocFirmware>,
    /// The co-processor hangs: not polled, but not reset either.
    hung: bool,
    boots: u32,
    /// What the host received on DOWN, and how often each.
    received: Vec<u32>,
    done: BTreeSet<u16>,
    readies: u32,
    resets: u32,
    subscribed: bool,
}

impl Rig {
    fn new(watchdog_ms: u32) -> Rig {
        let board = SimBoard::start(BoardOptions {
            outages: false,
            ..BoardOptions::default()
        });
        let wires = Wires::new();
        let mut config = HostConfig::new(coproc_config(), 77);
        config.watchdog_ms = watchdog_ms;
        config.ping_ms = watchdog_ms / 4;
        let mut host = HostRole::new(config, wires.reset_pin());
        host.subscribe(DOWN, QoS::AtLeastOnce).unwrap();
        Rig {
            board,
            host_link: link(Side::Host, wires.host_pins()),
            co: Some(CoprocFirmware::boot(&wires, 1)),
            wires,
            host,
            hung: false,
            boots: 1,
            received: Vec::new(),
            done: BTreeSet::new(),
            readies: 0,
            resets: 0,
            subscribed: false,
        }
    }

    fn port(&self) -> u16 {
        self.board.broker_addr().port()
    }

    /// One pass of each superloop, the world run once.
    fn pass(&mut self) {
        let now = self.board.now();
        for _ in 0..8 {
            let _ = self.host_link.poll(now);
            if let Some(e) = self.host.poll(now, &mut self.host_link) {
                match e {
                    HostEvent::Message { payload, .. } => {
                        let n: u32 = std::str::from_utf8(payload).unwrap().parse().unwrap();
                        self.received.push(n);
                    }
                    HostEvent::Done { id, outcome } => {
                        if outcome == Outcome::Granted(QoS::AtLeastOnce) {
                            self.subscribed = true;
                        }
                        self.done.insert(id);
                    }
                    HostEvent::Ready { .. } => self.readies += 1,
                    HostEvent::Reset { .. } => self.resets += 1,
                    _ => {}
                }
            }
            if !self.hung {
                if let Some(co) = &mut self.co {
                    co.pass(&mut self.board, now);
                }
            }
        }
        self.board.sleep_until(Some(now));
        // The reset line: held, the co-processor is off; released, it
        // boots again from nothing.
        if self.wires.in_reset() {
            self.co = None;
            self.hung = false;
        } else if self.co.is_none() {
            self.boots += 1;
            self.co = Some(CoprocFirmware::boot(&self.wires, self.boots));
        }
    }

    /// A crash: all the co-processor's state is gone, it boots again.
    fn crash(&mut self) {
        self.boots += 1;
        self.co = Some(CoprocFirmware::boot(&self.wires, self.boots));
    }

    fn run_until(&mut self, limit: RealDuration, mut done: impl FnMut(&Rig) -> bool) -> bool {
        let start = RealInstant::now();
        while start.elapsed() < limit {
            if done(self) {
                return true;
            }
            self.pass();
        }
        done(self)
    }
}

/// Publishes `n` QoS 1 messages on DOWN from another process, one by one.
fn publish_down(port: u16, n: u32) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for i in 0..n {
            publish(port, DOWN, i.to_string(), 1, false);
        }
    })
}

/// Sends `count` QoS 1 messages each way, calling `fault` each pass with
/// the pass number; checks nothing is lost either way.
fn both_ways(rig: &mut Rig, count: u32, mut fault: impl FnMut(&mut Rig, u64)) {
    let up = Sub::start(rig.port(), UP, 1);
    assert!(up.wait_ready(RealDuration::from_secs(5)));
    assert!(
        rig.run_until(RealDuration::from_secs(60), |r| r.subscribed),
        "no subscription: readies {}",
        rig.readies
    );
    let down = publish_down(rig.port(), count);
    let mut ids = Vec::new();
    let mut next = 0;
    let mut pass = 0u64;
    let start = RealInstant::now();
    loop {
        if next < count {
            if let Ok(id) =
                rig.host
                    .publish(UP, next.to_string().as_bytes(), QoS::AtLeastOnce, false)
            {
                ids.push(id);
                next += 1;
            }
        }
        rig.pass();
        fault(rig, pass);
        pass += 1;
        let distinct: BTreeSet<u32> = rig.received.iter().copied().collect();
        let all_done = next == count && ids.iter().all(|id| rig.done.contains(id));
        if all_done && distinct.len() == count as usize && down.is_finished() {
            break;
        }
        assert!(
            start.elapsed() < RealDuration::from_secs(240),
            "stuck: {} of {count} published, {} done, {} distinct received, {} boots, {} resets",
            next,
            ids.iter().filter(|id| rig.done.contains(id)).count(),
            distinct.len(),
            rig.boots,
            rig.resets
        );
    }
    down.join().unwrap();
    // Everything the host was told is done reached the broker.
    assert!(up.wait_for(count as usize, RealDuration::from_secs(10)));
    // Lines are "topic payload".
    let seen: BTreeSet<u32> = up
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix(UP)?.trim().parse().ok())
        .collect();
    assert_eq!(seen, (0..count).collect(), "lost on the way up");
    let received: BTreeSet<u32> = rig.received.iter().copied().collect();
    assert_eq!(received, (0..count).collect(), "lost on the way down");
    println!(
        "{count} each way in {:.1} s: {} up copies ({} duplicates), {} down copies ({} duplicates), {} boots, {} resets, frames: {:?}",
        start.elapsed().as_secs_f64(),
        up.len(),
        up.len() - count as usize,
        rig.received.len(),
        rig.received.len() - count as usize,
        rig.boots,
        rig.resets,
        rig.host.frames()
    );
}

#[test]
fn given_a_host_and_a_coprocessor_then_qos1_messages_cross_both_ways_through_mosquitto() {
    let mut rig = Rig::new(10_000);
    both_ways(&mut rig, 200, |_, _| {});
    assert_eq!(rig.resets, 0);
}

#[test]
fn given_coprocessor_crashes_then_nothing_is_lost_either_way() {
    let mut rig = Rig::new(10_000);
    let mut crashes = 0;
    both_ways(&mut rig, 200, |rig, pass| {
        // Five crashes, spread over the traffic (after every 35 completed
        // publishes), at whatever point of a pass that is.
        let progress = rig.done.len() + rig.received.len();
        if crashes < 5 && progress >= 70 * (crashes + 1) && pass % 7 == 3 {
            crashes += 1;
            rig.crash();
        }
    });
    assert_eq!(crashes, 5);
}

#[test]
fn given_a_hung_coprocessor_then_the_host_watchdog_resets_it_and_nothing_is_lost() {
    let mut rig = Rig::new(3_000);
    let mut hangs = 0;
    both_ways(&mut rig, 100, |rig, _| {
        // Two hangs, during the traffic.
        let progress = rig.done.len() + rig.received.len();
        if hangs < 2 && !rig.hung && progress >= 60 * (hangs + 1) {
            hangs += 1;
            rig.hung = true;
        }
    });
    assert_eq!(hangs, 2);
    assert!(rig.resets >= 2, "{} resets", rig.resets);
}
