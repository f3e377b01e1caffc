//! The resilience suite's rig: a real mosquitto, an independent observer
//! (`mosquitto_sub`, QoS 1, persistent session) on the device's topic, one
//! access point, and one whole simulated device publishing a sequence
//! number with QoS 1 at a steady rate, whatever happens.
//!
//! The publisher is an application, not a test shortcut: when the client's
//! in-flight table is full `publish` is refused (an `Err`, never a silent
//! drop) and the same number is offered again on a later pass, so every
//! number the application produced is one the client accepted. The verdict
//! ([`Rig::verdict`]) compares what the client accepted with what the
//! observer saw: lost = accepted and never seen; duplicates = seen twice.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration as RealDuration;

use limpet::wire::QoS;
use limpet_sim::broker::{Broker, Sub};
use limpet_sim::device::DeviceSpec;
use limpet_sim::gateway::GatewayConfig;
use limpet_sim::link::LinkConfig;
use limpet_sim::radio::ApId;
use limpet_sim::world::{World, WorldConfig};

pub const SSID: &str = "home";
pub const PASSWORD: &[u8] = b"correct horse";
pub const BROKER_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// The application publishing `seq` numbers on `topic`.
pub struct Publisher {
    pub topic: String,
    /// The next number to offer (so `next` numbers were accepted).
    pub next: u32,
    /// World ms between numbers.
    pub every_ms: i64,
    /// When the next number is due (world ms).
    due_ms: i64,
    /// Offers the client refused (table full): offered again later.
    pub refused: u64,
    /// Stop producing after this many.
    pub limit: u32,
}

impl Publisher {
    /// Offers what is due to device `d`.
    pub fn pump(&mut self, w: &mut World, d: usize) {
        while self.next < self.limit && w.ms() >= self.due_ms {
            let payload = self.next.to_string();
            if w.device(d)
                .publish(&self.topic, payload.as_bytes(), QoS::AtLeastOnce)
            {
                self.next += 1;
                self.due_ms += self.every_ms;
            } else {
                self.refused += 1;
                // The table is full: offer it again at the next tick.
                self.due_ms = w.ms() + self.every_ms;
                break;
            }
        }
    }
}

/// What a scenario measured.
#[derive(Debug)]
pub struct Verdict {
    /// Numbers the client accepted.
    pub accepted: u32,
    /// Numbers the broker acknowledged (`Published` events).
    pub acknowledged: u64,
    /// Accepted numbers the observer never saw.
    pub lost: Vec<u32>,
    /// Numbers the observer saw more than once, counted once each extra.
    pub duplicates: usize,
    /// Offers refused because the in-flight table was full.
    pub refused: u64,
    /// Most messages in flight at once (must stay within the table).
    pub max_inflight: usize,
    pub ups: usize,
    pub downs: usize,
}

pub struct Rig {
    pub broker: Broker,
    pub sub: Sub,
    /// More observers (other brokers); the verdict counts what any saw.
    pub extra: Vec<Sub>,
    pub w: World,
    pub ap: ApId,
    pub dev: usize,
    pub publisher: Publisher,
}

/// How a rig is built.
pub struct RigOptions {
    pub origin: u32,
    pub spec: DeviceSpec,
    pub every_ms: i64,
}

impl RigOptions {
    /// Device `dev-<seed>`: keepalive 20 s, persistent session, a message
    /// every 500 ms, its clock starting 10 s before the u32 wrap.
    pub fn new(seed: u64) -> RigOptions {
        let mut spec = DeviceSpec::new(&format!("dev-{seed}"), SSID, PASSWORD, seed);
        spec.keepalive = 20;
        RigOptions {
            origin: u32::MAX - 10_000,
            spec,
            every_ms: 500,
        }
    }
}

impl Rig {
    pub fn new(opts: RigOptions) -> Rig {
        let broker = Broker::start();
        let topic = format!("seq/{}", opts.spec.client_id);
        let sub = Sub::builder(broker.port(), &topic)
            .qos(1)
            .persistent()
            .start();
        assert!(
            sub.wait_ready(RealDuration::from_secs(10)),
            "observer not ready"
        );
        let mut w = World::new(WorldConfig {
            origin: opts.origin,
            ..WorldConfig::default()
        });
        let ap = w.air.add_ap(SSID, PASSWORD, 0.0);
        w.serve("broker.sim", BROKER_VIP, &broker);
        let seed = opts.spec.seed;
        let dev = w
            .add(
                opts.spec,
                LinkConfig::ethernet(seed),
                GatewayConfig::default(),
            )
            .expect("device spec");
        // WiFi plus a path to the broker: 10 ms each way.
        w.link(dev)
            .set_latency(smoltcp::time::Duration::from_millis(10));
        Rig {
            broker,
            sub,
            extra: Vec::new(),
            w,
            ap,
            dev,
            publisher: Publisher {
                topic,
                next: 0,
                every_ms: opts.every_ms,
                due_ms: 0,
                refused: 0,
                limit: u32::MAX,
            },
        }
    }

    /// Starts another broker served as `name` at `vip`, with an observer.
    pub fn add_broker(&mut self, name: &str, vip: Ipv4Addr) -> Broker {
        let broker = Broker::start();
        let sub = Sub::builder(broker.port(), &self.publisher.topic)
            .qos(1)
            .persistent()
            .start();
        assert!(
            sub.wait_ready(RealDuration::from_secs(10)),
            "observer not ready"
        );
        self.w.serve(name, vip, &broker);
        self.extra.push(sub);
        broker
    }

    /// Runs until the device's first MQTT `Up` (60 s of world time at most).
    pub fn up(&mut self) -> i64 {
        let d = self.dev;
        assert!(
            self.w
                .run_until(60_000, |w| !w.device(d).journal.ups.is_empty()),
            "the device never came up: {:?}",
            self.w.device(d).journal
        );
        self.publisher.due_ms = self.w.ms();
        self.w.device(d).journal.ups[0]
    }

    /// Runs `ms` of world time, publishing as due.
    pub fn run(&mut self, ms: i64) {
        self.run_until(ms, |_| false);
    }

    /// Runs until `done` or `ms` of world time passed, publishing as due.
    pub fn run_until(&mut self, ms: i64, mut done: impl FnMut(&mut World) -> bool) -> bool {
        let (d, p) = (self.dev, &mut self.publisher);
        self.w.run_until(ms, |w| {
            p.pump(w, d);
            done(w)
        })
    }

    /// World ms of the first MQTT `Up` at or after `since`, if any.
    pub fn up_after(&mut self, since: i64) -> Option<i64> {
        let d = self.dev;
        self.w
            .device(d)
            .journal
            .ups
            .iter()
            .copied()
            .find(|&u| u >= since)
    }

    /// World ms from `up` to the first QoS 1 completion (PUBACK) after it.
    pub fn first_ack_after(&mut self, up: i64) -> Option<i64> {
        let d = self.dev;
        let j = &self.w.device(d).journal;
        j.published_ms.iter().find(|&&t| t >= up).map(|&t| t - up)
    }

    /// Runs (publishing) until an MQTT `Up` at or after `since`; its time.
    pub fn until_up_after(&mut self, since: i64, limit_ms: i64) -> i64 {
        let d = self.dev;
        let ok = self.run_until(limit_ms, |w| {
            w.device(d).journal.ups.iter().any(|&u| u >= since)
        });
        assert!(
            ok,
            "not up again within {limit_ms} ms after {since}: {:?}",
            self.w.device(d).journal.downs
        );
        self.up_after(since).unwrap()
    }

    /// Stops producing, runs until the broker acknowledged every accepted
    /// number, then waits (real time) for the observer to see them all, and
    /// measures.
    pub fn verdict(&mut self, limit_ms: i64) -> Verdict {
        self.publisher.limit = self.publisher.next;
        let d = self.dev;
        let want = u64::from(self.publisher.next);
        let drained = self.run_until(limit_ms, |w| {
            w.device(d).journal.published >= want && w.device(d).client().session().inflight() == 0
        });
        let accepted = self.publisher.next;
        let deadline = std::time::Instant::now() + RealDuration::from_secs(10);
        let mut seen = BTreeMap::new();
        loop {
            seen.clear();
            let lines = self
                .extra
                .iter()
                .flat_map(|s| s.lines())
                .chain(self.sub.lines());
            for line in lines {
                if let Some(n) = line
                    .strip_prefix(&format!("{} ", self.publisher.topic))
                    .and_then(|v| v.trim().parse::<u32>().ok())
                {
                    *seen.entry(n).or_insert(0usize) += 1;
                }
            }
            if (0..accepted).all(|n| seen.contains_key(&n)) || std::time::Instant::now() > deadline
            {
                break;
            }
            std::thread::sleep(RealDuration::from_millis(20));
        }
        let j = &self.w.device(d).journal;
        let v = Verdict {
            accepted,
            acknowledged: j.published,
            lost: (0..accepted).filter(|n| !seen.contains_key(n)).collect(),
            duplicates: seen.values().map(|&c| c - 1).sum(),
            refused: self.publisher.refused,
            max_inflight: j.max_inflight,
            ups: j.ups.len(),
            downs: j.downs.len(),
        };
        assert!(
            drained,
            "not every accepted message was acknowledged: {v:?}"
        );
        v
    }
}

/// The median of some durations (ms).
pub fn median(v: &mut [i64]) -> i64 {
    v.sort_unstable();
    if v.is_empty() {
        0
    } else {
        v[v.len() / 2]
    }
}
