//! The outage scenario shared by `tests/outages.rs` (asserts nothing is lost)
//! and `examples/bench_outages.rs` (reports the figures).
//!
//! A device publishes QoS 1 sequence numbers every `period` to a real
//! mosquitto; the broker is SIGKILLed and restarted `cycles` times while it
//! runs. An independent mosquitto_sub records what the broker delivered. The
//! device's network is switched off from the kill until that observer has
//! resubscribed, so every message the broker accepts has someone to go to: a
//! gap in the observer's sequence can only be a message the client lost.
//! (mosquitto runs without persistence, so a message it acknowledged and had
//! not yet written to the observer when killed would also be lost — by the
//! broker, in a window of microseconds.)
//!
//! The device speaks MQTT 3.1.1 ([`run`]) or 5.0 ([`run_speaking`], feature
//! `mqtt5`); the observer speaks 3.1.1 either way, which does not change
//! what it sees of the device's messages.
//!
//! A stop asked for by a signal ([`super::stop`], the benchmark's Ctrl-C)
//! ends the run after the current cycle, its figures partial.

use super::device::{speaking, Device, Ev};
use super::{Broker, Sub};
use limpet::client::Options;
use limpet::session::{Config, Counters, Protocol, RequestError};
use limpet::wire::QoS;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

pub struct Plan {
    pub cycles: u32,
    /// Between two publishes.
    pub period: Duration,
    /// Broker up, publishing, before each kill.
    pub up_for: Duration,
    /// Broker dead before each restart.
    pub down_for: Duration,
    pub options: Options,
    /// When the device's network comes back, tell the client
    /// (`Client::network_up`), as a WLAN controller's up event would.
    pub network_hint: bool,
}

#[derive(Debug)]
pub struct Report {
    pub published: u32,
    /// Sequence numbers the observer never saw.
    pub lost: Vec<u32>,
    /// Deliveries beyond the first of the same sequence number.
    pub duplicates: u32,
    /// From the moment the broker was reachable again to the device's `Up`.
    pub reconnect_ms: Vec<u64>,
    /// Messages `publish` refused with `Full` at least once (the in-flight
    /// table held 4 during an outage); the application kept them and retried.
    pub deferred: u32,
    /// Kills that struck while QoS 1 messages were sent but not yet acknowledged.
    pub kills_in_flight: u32,
    pub counters: Counters,
    pub elapsed: Duration,
}

impl Report {
    pub fn median_reconnect_ms(&self) -> Option<u64> {
        let mut v = self.reconnect_ms.clone();
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    }
}

const TOPIC: &str = "outage/seq";
const LONG: Duration = Duration::from_secs(20);

struct Run {
    dev: Device,
    next_seq: u32,
    /// Messages the application still has to hand to the client (publish was `Full`).
    backlog: VecDeque<u32>,
    next_publish: Instant,
    deferred: u32,
    /// The head of the backlog has already been counted as deferred.
    head_deferred: bool,
}

impl Run {
    /// One superloop pass: poll the client, publish when due.
    fn tick(&mut self, period: Duration, publishing: bool) {
        self.dev.poll();
        if publishing && Instant::now() >= self.next_publish {
            self.backlog.push_back(self.next_seq);
            self.next_seq += 1;
            self.next_publish += period;
        }
        while let Some(&seq) = self.backlog.front() {
            let payload = seq.to_string();
            match self
                .dev
                .client
                .publish(TOPIC, payload.as_bytes(), QoS::AtLeastOnce, false)
            {
                Ok(_) => {
                    self.backlog.pop_front();
                    self.head_deferred = false;
                }
                Err(RequestError::Full) => {
                    if !self.head_deferred {
                        self.deferred += 1;
                        self.head_deferred = true;
                    }
                    break;
                }
                Err(e) => panic!("publish refused: {e:?}"),
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }

    fn run_for(&mut self, d: Duration, period: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.tick(period, true);
        }
    }
}

/// The scenario with a device speaking MQTT 3.1.1.
pub fn run(plan: &Plan) -> Report {
    run_speaking(plan, Protocol::V311)
}

/// The scenario with a device speaking `protocol`.
pub fn run_speaking(plan: &Plan, protocol: Protocol) -> Report {
    let started = Instant::now();
    let mut broker = Broker::start();
    let observer = Sub::builder(broker.port(), TOPIC).qos(1).start();
    let mut config = speaking(Config::new("outage-device"), protocol);
    config.keepalive = 10;
    let dev = Device::with_options(config, broker.addr(), 1024, 1024, 4 * 64, plan.options);
    let mut run = Run {
        dev,
        next_seq: 0,
        backlog: VecDeque::new(),
        next_publish: Instant::now(),
        deferred: 0,
        head_deferred: false,
    };
    assert!(run.dev.up(LONG), "device never came up: {}", broker.log());

    let mut reconnect_ms = Vec::new();
    let mut kills_in_flight = 0;
    for cycle in (0..plan.cycles).take_while(|_| !super::stop::requested()) {
        run.run_for(plan.up_for, plan.period);
        // Every other cycle the broker hangs first (SIGSTOP), so the PUBLISH
        // written next is certainly unacknowledged when it dies. Otherwise it
        // dies right after the PUBLISH is written: it may have received,
        // delivered and acknowledged it, or not (a retransmission then makes
        // a duplicate, which QoS 1 allows).
        if cycle % 2 == 0 {
            broker.freeze();
        }
        run.next_publish = Instant::now();
        run.tick(plan.period, true);
        run.dev.poll();
        if run.dev.client.session().inflight() > 0 {
            kills_in_flight += 1;
        }
        broker.kill();
        run.dev.tcp.up = false;
        run.run_for(plan.down_for, plan.period);
        broker.restart();
        // Keep the device running while the observer resubscribes.
        std::thread::scope(|s| {
            let ready = s.spawn(|| observer.wait_ready(LONG));
            while !ready.is_finished() {
                run.tick(plan.period, true);
            }
            assert!(ready.join().unwrap(), "observer did not come back");
        });
        run.dev.tcp.up = true;
        let opened = Instant::now();
        if plan.network_hint {
            let now = run.dev.now();
            run.dev.client.network_up(now);
        }
        let end = opened + LONG;
        let before = run.dev.log.len();
        while !run.dev.log[before..]
            .iter()
            .any(|e| matches!(e, Ev::Up { .. }))
        {
            assert!(
                Instant::now() < end,
                "no reconnection: {:?}",
                &run.dev.log[before..]
            );
            run.tick(plan.period, true);
        }
        reconnect_ms.push(opened.elapsed().as_millis() as u64);
    }

    // Stop publishing; let everything in flight be acknowledged.
    let end = Instant::now() + LONG;
    while !run.backlog.is_empty() || run.dev.client.session().inflight() > 0 {
        assert!(Instant::now() < end, "messages stuck in flight");
        run.tick(plan.period, false);
    }
    let published = run.next_seq;
    observer.wait_for(published as usize, Duration::from_secs(5));

    let mut seen: BTreeMap<u32, u32> = BTreeMap::new();
    for line in observer.lines() {
        let seq = line
            .strip_prefix(TOPIC)
            .and_then(|rest| rest.trim().parse::<u32>().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        *seen.entry(seq).or_default() += 1;
    }
    Report {
        published,
        lost: (0..published).filter(|s| !seen.contains_key(s)).collect(),
        duplicates: seen.values().map(|n| n - 1).sum(),
        reconnect_ms,
        deferred: run.deferred,
        kills_in_flight,
        counters: *run.dev.client.counters(),
        elapsed: started.elapsed(),
    }
}
