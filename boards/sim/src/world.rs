//! A world of simulated devices: one air (access points and radios), one
//! network (DHCP, DNS, the TCP proxy to real brokers), and per device its
//! link and gateway; plus the simulated clock and the loop that drives it.
//!
//! Time: the world counts milliseconds from 0 (smoltcp's clock for the
//! links and gateways); each device sees limpet's wrapping u32 clock,
//! `origin` + world time, so a test can start every device's clock days
//! before the wrap. The loop ([`World::advance`]) jumps to the next deadline
//! of any device, gateway or link, except while a proxied connection to a
//! real broker is open: the broker runs in real time, so time then moves by
//! at most `real_step` per step with a `real_pause` of real sleep, about
//! 50 times faster than real time with the defaults. Outages with no
//! connection open pass in a moment.
//!
//! A step polls every device (one superloop pass each) and every gateway,
//! a few rounds at the same instant, so an exchange inside the simulated
//! network completes without time passing. The radio's association gates
//! each link (`Link::set_attached`), as a real radio carries frames only
//! while associated.

use std::net::Ipv4Addr;
use std::thread;

use limpet::time::Instant;
use smoltcp::time::Instant as SmolInstant;

use crate::broker::Broker;
use crate::device::{millis_until, DeviceSpec, SimDevice, SpecError};
use crate::gateway::{Gateway, GatewayConfig, Network, NetworkConfig};
use crate::link::{Endpoint, Link, LinkConfig, Side};
use crate::radio::{AirConfig, SimAir};

/// How a world runs.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    /// limpet's clock at world time 0 on every device.
    pub origin: u32,
    pub air: AirConfig,
    pub network: NetworkConfig,
    /// Largest step while a broker connection is open, ms.
    pub real_step_ms: u64,
    /// Real sleep per step while a broker connection is open.
    pub real_pause: std::time::Duration,
    /// Largest step when nothing has a deadline, ms.
    pub idle_step_ms: u64,
    /// Polling rounds per step at the same instant.
    pub rounds: usize,
}

impl Default for WorldConfig {
    fn default() -> WorldConfig {
        WorldConfig {
            origin: 0,
            air: AirConfig::default(),
            network: NetworkConfig::default(),
            real_step_ms: 10,
            real_pause: std::time::Duration::from_micros(200),
            idle_step_ms: 1000,
            rounds: 3,
        }
    }
}

/// One device's corner of the world.
pub struct Node {
    pub link: Link,
    pub gateway: Gateway,
    pub device: SimDevice,
    gw_end: Endpoint,
    /// When the device asked for its next pass (world ms).
    due_ms: Option<i64>,
    /// Touched from outside since its last pass (a publish, a change): its
    /// deadline may be stale, so it gets a pass now.
    poked: bool,
}

/// See the module documentation.
pub struct World {
    config: WorldConfig,
    t_ms: i64,
    pub air: SimAir,
    pub network: Network,
    pub nodes: Vec<Node>,
    /// Steps taken.
    pub steps: u64,
}

impl World {
    pub fn new(config: WorldConfig) -> World {
        World {
            air: SimAir::new(config.air),
            network: Network::new(config.network.clone()),
            config,
            t_ms: 0,
            nodes: Vec::new(),
            steps: 0,
        }
    }

    /// Adds a device on a link of its own with a gateway of its own.
    pub fn add(
        &mut self,
        spec: DeviceSpec,
        link: LinkConfig,
        gateway: GatewayConfig,
    ) -> Result<usize, SpecError> {
        let link = Link::new(link);
        let mut gw_end = link.endpoint(Side::Gateway);
        let gateway = Gateway::new(&self.network, gateway, &mut gw_end, self.t());
        let device = SimDevice::new(spec, &self.air, &link)?;
        self.nodes.push(Node {
            link,
            gateway,
            device,
            gw_end,
            due_ms: Some(self.t_ms),
            poked: true,
        });
        Ok(self.nodes.len() - 1)
    }

    /// Serves `broker` as `name` at `vip`:1883 (a DNS record and a proxy
    /// mapping).
    pub fn serve(&self, name: &str, vip: Ipv4Addr, broker: &Broker) {
        self.network.set_record(name, vip);
        self.network.map(vip, 1883, broker.addr());
    }

    /// World time, milliseconds since the world began.
    pub fn ms(&self) -> i64 {
        self.t_ms
    }

    /// World time on smoltcp's clock.
    pub fn t(&self) -> SmolInstant {
        SmolInstant::from_millis(self.t_ms)
    }

    /// The devices' clock (limpet's wrapping milliseconds).
    pub fn now(&self) -> Instant {
        Instant::from_ticks(self.config.origin.wrapping_add(self.t_ms as u32))
    }

    /// Device `i`, for a test or an application to act on (it gets a
    /// pass at the next poll, whatever its deadline said).
    pub fn device(&mut self, i: usize) -> &mut SimDevice {
        self.nodes[i].poked = true;
        &mut self.nodes[i].device
    }

    pub fn link(&self, i: usize) -> &Link {
        &self.nodes[i].link
    }

    /// Resets every proxied connection of device `i` (the path to the
    /// broker breaks: the device gets an RST).
    pub fn gateway_reset(&mut self, i: usize) {
        let t = self.t();
        self.nodes[i].gateway.reset_connections(t);
    }

    /// Polls every device and gateway, `rounds` times at this instant.
    pub fn poll_all(&mut self) {
        let (now, t, t_ms) = (self.now(), self.t(), self.t_ms);
        for round in 0..self.config.rounds {
            for n in &mut self.nodes {
                // A device sleeps until its deadline or a frame for it (as
                // a firmware would); the first round also catches pokes.
                let due = n.due_ms.is_none_or(|d| d <= t_ms)
                    || n.device.next_rx_at().is_some_and(|at| at <= t)
                    || (round == 0 && n.poked);
                if due {
                    n.poked = false;
                    let next = n.device.pass(now, t_ms);
                    n.due_ms = next.map(|at| t_ms + millis_until(now, at) as i64);
                }
                n.link.set_attached(n.device.radio.is_associated());
                n.gateway.poll(t, &mut n.gw_end);
            }
        }
    }

    /// The earliest deadline of anything in the world (world ms), and
    /// whether a proxied connection to a real broker is open.
    pub fn deadline(&mut self) -> (Option<i64>, bool) {
        let t = self.t();
        let mut next: Option<i64> = None;
        let mut real = false;
        let mut take = |at: Option<i64>| {
            if let Some(at) = at {
                next = Some(next.map_or(at, |n: i64| n.min(at)));
            }
        };
        for n in &mut self.nodes {
            take(n.due_ms);
            take(n.device.next_rx_at().map(|i| i.total_millis()));
            take(n.gateway.poll_at(t).map(|i| i.total_millis()));
            take(n.gw_end.next_rx_at().map(|i| i.total_millis()));
            real |= n.gateway.real_connections() > 0;
        }
        (next, real)
    }

    /// Moves time on to the next deadline (at least 1 ms, at most `cap_ms`
    /// of world time; see the module documentation for real brokers).
    pub fn advance(&mut self, cap_ms: i64) {
        let (next, real) = self.deadline();
        let now = self.t_ms;
        let mut to = next
            .unwrap_or(now + self.config.idle_step_ms as i64)
            .max(now + 1);
        if real {
            to = to.min(now + self.config.real_step_ms as i64);
            thread::sleep(self.config.real_pause);
        }
        self.t_ms = to.min(cap_ms).max(now + 1);
        self.steps += 1;
    }

    /// Polls and advances until `done` holds (checked after each poll) or
    /// `limit_ms` of world time passed; true if done.
    pub fn run_until(&mut self, limit_ms: i64, mut done: impl FnMut(&mut World) -> bool) -> bool {
        let end = self.t_ms + limit_ms;
        loop {
            self.poll_all();
            if done(self) {
                return true;
            }
            if self.t_ms >= end {
                return false;
            }
            self.advance(end);
        }
    }

    /// Polls and advances for `ms` of world time.
    pub fn run_for(&mut self, ms: i64) {
        self.run_until(ms, |_| false);
    }
}
