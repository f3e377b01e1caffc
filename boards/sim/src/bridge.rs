//! The bridge on the sim board: a co-processor firmware — the bridge role's
//! superloop over the board's radio and network — on the simulated wires,
//! for the host driver on their other end.
//!
//! [`CoprocFirmware`] is what a co-processor's firmware runs (a real one
//! keeps its buffers in statics; here they are in an [`Arena`] per boot,
//! freed with it, as a reboot wipes RAM): phase 1 answers the host until it gives the
//! settings; phase 2 builds the WLAN controller, the IP stack and the MQTT
//! client from them and runs them with the role. Each boot starts from
//! nothing but its boot counter, like a chip after reset.
//!
//! [`Rig`] puts a host and a co-processor on one board for the end-to-end
//! tests and benchmarks; [`both_ways`] runs QoS 1 traffic each way through
//! it with faults and checks nothing is lost.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::{Duration as RealDuration, Instant as RealInstant};

use limpet::bridge::coproc::{Coproc, Settings};
use limpet::bridge::host::{Host, HostConfig, HostEvent};
use limpet::bridge::link::{Link, Side};
use limpet::bridge::proto::{self, Outcome, TimeError};
use limpet::device::{DeviceBuffers, DeviceConfig, DeviceEvent};
use limpet::net::stack::{Addressing, Broker, StackConfig, UdpBuffers};
use limpet::time::Instant;
use limpet::wire::QoS;
use limpet::wlan::{self, Network, WlanEvent};
use smoltcp::iface::SocketStorage;
use smoltcp::socket::udp::PacketMetadata;

use crate::arena::Arena;
use crate::board::{BoardOptions, SimBoard, PASSWORD, SSID};
use crate::broker::{publish, Sub};
use crate::wires::{Pins, ResetOut, WireIn, WireOut, Wires};

/// The largest frame payload both ends use.
pub const FRAME: usize = 255;
/// Frames in flight each way.
pub const WINDOW: usize = 4;
/// The co-processor client's in-flight table (credits for host publishes).
pub const INFLIGHT: usize = 8;
/// Subscriptions.
pub const SUBSCRIPTIONS: usize = 8;

pub type SimLink = Link<WireIn, WireIn, WireOut, WireOut>;
pub type CoprocRole<'a> = Coproc<'a, FRAME, WINDOW, INFLIGHT, SUBSCRIPTIONS>;
pub type HostRole<'a> = Host<'a, ResetOut, FRAME, WINDOW, INFLIGHT, SUBSCRIPTIONS>;

/// One side's link engine on its pins.
pub fn link(side: Side, (ck_in, d_in, ck_out, d_out): Pins) -> SimLink {
    match Link::new(side, ck_in, d_in, ck_out, d_out) {
        Ok(link) => link,
        Err(_) => unreachable!("sim pins never fail"),
    }
}

/// The network side, built from the host's settings: the WLAN controller,
/// the stack and the client the role drives.
type Machines = limpet::Device<'static, INFLIGHT, SUBSCRIPTIONS>;

/// The co-processor's firmware, one boot of it.
pub struct CoprocFirmware {
    pub link: SimLink,
    /// `role`, `machines` and `settings` borrow `statics`: declared before
    /// it, so dropped first, and never handed out as `&mut` (their
    /// `'static` must not escape).
    role: CoprocRole<'static>,
    machines: Option<Machines>,
    settings: Option<&'static Settings<FRAME>>,
    pub boot: u32,
    /// This boot's "statics": what a reboot wipes.
    statics: Arena,
}

impl CoprocFirmware {
    /// Boots: its link on the co-processor's pins, nothing else yet.
    pub fn boot(wires: &Rc<Wires>, boot: u32) -> CoprocFirmware {
        let mut statics = Arena::new();
        // SAFETY: borrowed only by `role`, dropped before `statics`.
        let filters = unsafe { statics.bytes(512) };
        CoprocFirmware {
            link: link(Side::Coproc, wires.coproc_pins()),
            role: Coproc::new(boot, filters),
            machines: None,
            settings: None,
            boot,
            statics,
        }
    }

    /// The bridge role (its counters, frames).
    pub fn role(&self) -> &CoprocRole<'_> {
        &self.role
    }

    /// One superloop pass.
    pub fn pass(&mut self, board: &mut SimBoard, now: Instant) {
        let _ = self.link.poll(now);
        let Some(m) = &mut self.machines else {
            if let Some(settings) = self.role.configure(now, &mut self.link) {
                // SAFETY: borrowed only by fields dropped before `statics`.
                let settings: &'static Settings<FRAME> = unsafe { self.statics.keep(settings) };
                self.settings = Some(settings);
                match unsafe { build(settings, board, self.boot, &mut self.statics) } {
                    Some(m) => self.machines = Some(m),
                    // Settings that can never work: the host is told.
                    None => self.role.config_failed(),
                }
            }
            return;
        };
        // WLAN and stack, wired by the device; the role drives the client.
        while let Some(event) = m.poll_network(now, &mut board.radio, &mut board.net) {
            match event {
                DeviceEvent::Wlan(WlanEvent::Up(network)) => {
                    self.role.wifi(Some(network == Network::Stored))
                }
                DeviceEvent::Wlan(WlanEvent::Down(_)) => self.role.wifi(None),
                _ => {}
            }
        }
        let (client, stack) = m.parts();
        self.role.poll(now, &mut self.link, client, stack);
        // The host asked for the time: SNTP through the stack.
        if let Some(settings) = self.settings {
            if self.role.time_wanted() {
                stack.request_time(now, settings.config().time_server);
            }
        }
        if let Some(answer) = stack.time() {
            self.role.time_answer(answer, now);
        }
    }
}

/// The machines a configured co-processor runs, from the host's settings.
///
/// # Safety
/// The machines must be dropped before `statics` (they borrow it).
unsafe fn build(
    settings: &'static Settings<FRAME>,
    board: &mut SimBoard,
    boot: u32,
    statics: &mut Arena,
) -> Option<Machines> {
    let c = settings.config();
    let mut wcfg = wlan::Config::new(c.ssid, c.wifi_password);
    wcfg.use_stored = c.use_stored;
    let brokers = unsafe {
        statics.keep([Broker {
            host: c.broker,
            port: c.port,
        }])
    };
    let seed = board.seed() ^ boot.wrapping_mul(0x9E37_79B9);
    let mut config = DeviceConfig::new(
        wcfg,
        StackConfig::new(Addressing::Dhcp, brokers),
        settings.mqtt(),
    );
    config.options.backoff = config.options.backoff.with_seed(seed);
    let buffers = unsafe {
        DeviceBuffers {
            rx: statics.bytes(512),
            tx: statics.bytes(512),
            store: statics.bytes(INFLIGHT * 300),
            tcp_rx: statics.bytes(2048),
            tcp_tx: statics.bytes(2048),
            sockets: statics.keep([SocketStorage::EMPTY; 4]),
            dns_queries: statics.keep([None; 1]),
            udp: Some(UdpBuffers {
                rx_meta: statics.keep([PacketMetadata::EMPTY; 2]),
                rx: statics.bytes(128),
                tx_meta: statics.keep([PacketMetadata::EMPTY; 2]),
                tx: statics.bytes(128),
            }),
        }
    };
    Machines::with_buffers(config, board.interface(), seed, buffers).ok()
}

/// The topic the rig's host publishes on, and the one it subscribes to.
pub const UP: &str = "bridge/up";
pub const DOWN: &str = "bridge/down";

// ---------------------------------------------------------------- the rig
//
// A host and a co-processor on one board, for the end-to-end tests and
// benchmarks: the host's superloop and the firmware's, a pass each in turn.

/// What the rig's host tells its co-processor: the board's network, its
/// broker, a fixed client id and a persistent session.
pub fn coproc_config() -> proto::Config<'static> {
    proto::Config {
        use_stored: false,
        keepalive: 20,
        response_time: 5_000,
        time_server: "time.sim",
        ..proto::Config::new(SSID, PASSWORD, "broker.sim", "bridge-e2e")
    }
}

/// The host, the wires, the co-processor and the board's world.
/// The host's side of the sim board: five wires to a co-processor that the
/// board runs — [`CoprocFirmware`] on a [`SimBoard`], with its access
/// point, gateway and broker — while the host's firmware runs. The reset
/// line works: held, the co-processor is off; released, it boots again
/// from nothing (its boot counter kept, as in RTC memory).
pub struct HostBoard {
    pub sim: SimBoard,
    pub wires: Rc<Wires>,
    pub co: Option<CoprocFirmware>,
    /// The co-processor hangs: not run, but not reset either.
    pub hung: bool,
    pub boots: u32,
}

impl HostBoard {
    pub fn start(options: BoardOptions) -> HostBoard {
        let wires = Wires::new();
        HostBoard {
            sim: SimBoard::start(options),
            co: Some(CoprocFirmware::boot(&wires, 1)),
            wires,
            hung: false,
            boots: 1,
        }
    }

    /// The host's four link pins.
    pub fn link_pins(&self) -> Pins {
        self.wires.host_pins()
    }

    /// The host's reset output to the co-processor.
    pub fn reset_pin(&self) -> ResetOut {
        self.wires.reset_pin()
    }

    /// The host's clock (the board's).
    pub fn now(&mut self) -> Instant {
        self.sim.now()
    }

    pub fn broker_addr(&self) -> std::net::SocketAddr {
        self.sim.broker_addr()
    }

    /// One pass of the co-processor's firmware, if it runs.
    pub fn run_coprocessor(&mut self, now: Instant) {
        if !self.hung {
            if let Some(co) = &mut self.co {
                co.pass(&mut self.sim, now);
            }
        }
    }

    /// The world runs once (access point, gateway, broker proxy) and the
    /// reset line takes effect.
    pub fn step(&mut self, now: Instant) {
        self.sim.sleep_until(Some(now));
        if self.wires.in_reset() {
            self.co = None;
            self.hung = false;
        } else if self.co.is_none() {
            self.boots += 1;
            self.co = Some(CoprocFirmware::boot(&self.wires, self.boots));
        }
    }

    /// A crash: all the co-processor's state is gone, it boots again.
    pub fn crash(&mut self) {
        self.boots += 1;
        self.co = Some(CoprocFirmware::boot(&self.wires, self.boots));
    }
}

/// The co-processor's side of the sim board, for a co-processor firmware
/// written out in full (examples/bridge_coproc.rs): its radio and network
/// are the [`SimBoard`]'s, and the host on the other end of the wires —
/// the host driver with a small application: a reading published every
/// 5 s, the LED topic subscribed — is run by the board.
pub struct CoprocBoard {
    pub sim: SimBoard,
    wires: Rc<Wires>,
    host_link: SimLink,
    host: HostRole<'static>,
    next_reading: Option<Instant>,
    /// What the host saw, for the console.
    pub host_log: Vec<String>,
}

/// The topics of the board's host application.
pub const HOST_READING: &str = "limpet/bridge/temperature";
pub const HOST_LED: &str = "limpet/bridge/led";

impl CoprocBoard {
    pub fn start(options: BoardOptions) -> CoprocBoard {
        let wires = Wires::new();
        let mut config = coproc_config();
        config.client_id = "limpet-coproc";
        let mut host = HostRole::new(HostConfig::new(config, 5), wires.reset_pin());
        let _ = host.subscribe(HOST_LED, QoS::AtLeastOnce);
        CoprocBoard {
            sim: SimBoard::start(options),
            host_link: link(Side::Host, wires.host_pins()),
            wires,
            host,
            next_reading: None,
            host_log: Vec::new(),
        }
    }

    /// The co-processor's four link pins.
    pub fn link_pins(&self) -> Pins {
        self.wires.coproc_pins()
    }

    pub fn now(&mut self) -> Instant {
        self.sim.now()
    }

    pub fn broker_addr(&self) -> std::net::SocketAddr {
        self.sim.broker_addr()
    }

    /// Whether the host holds the co-processor in reset (its watchdog):
    /// a firmware would restart from nothing.
    pub fn in_reset(&self) -> bool {
        self.wires.in_reset()
    }

    /// One pass of the host's firmware, then the world runs once.
    pub fn step(&mut self, now: Instant) {
        let _ = self.host_link.poll(now);
        let line = match self.host.poll(now, &mut self.host_link) {
            Some(HostEvent::Ready { boot, .. }) => {
                Some(format!("host: co-processor ready (boot {boot})"))
            }
            Some(HostEvent::Message { topic, payload, .. }) => Some(format!(
                "host: {topic} = {}",
                String::from_utf8_lossy(payload)
            )),
            Some(HostEvent::Done { id, outcome }) => Some(format!("host: #{id} {outcome:?}")),
            Some(HostEvent::Status(s)) => Some(format!("host: status {s:?}")),
            Some(HostEvent::Reset { n }) => Some(format!("host: reset the co-processor ({n})")),
            _ => None,
        };
        self.host_log.extend(line);
        let due = *self.next_reading.get_or_insert(now);
        if now >= due {
            self.next_reading = Some(now + limpet::time::Duration::from_ticks(5_000));
            let _ = self
                .host
                .publish(HOST_READING, b"21.5", QoS::AtLeastOnce, false);
        }
        self.sim.sleep_until(Some(now));
    }
}

/// A host driver on a [`HostBoard`], publishing on [`UP`] and subscribed
/// to [`DOWN`], recording what happened.
pub struct Rig {
    pub board: HostBoard,
    pub host_link: SimLink,
    pub host: HostRole<'static>,
    /// The host's superloop stops (a slow or busy host).
    pub host_stopped: bool,
    /// Simulated ms between two publishes of [`both_ways`] (0: as fast as
    /// the host takes them).
    pub pace_ms: u32,
    /// What the host received on DOWN, and how often each.
    pub received: Vec<u32>,
    pub done: BTreeSet<u16>,
    pub readies: u32,
    pub resets: u32,
    pub subscribed: bool,
    /// Time answers: request id, Unix seconds or why not.
    pub times: Vec<(u16, Result<u64, TimeError>)>,
}

impl Rig {
    /// A rig whose host resets a silent co-processor after `watchdog_ms`,
    /// on a board running `speed` times faster than real time.
    pub fn new(watchdog_ms: u32, speed: u32) -> Rig {
        Rig::on(
            watchdog_ms,
            BoardOptions {
                outages: false,
                speed,
                ..BoardOptions::default()
            },
        )
    }

    /// The same on a board set up as `options` say (outages, a broker).
    pub fn on(watchdog_ms: u32, options: BoardOptions) -> Rig {
        Rig::configured(watchdog_ms, options, coproc_config())
    }

    /// The same with the co-processor told `coproc` (a will, a keepalive).
    pub fn configured(
        watchdog_ms: u32,
        options: BoardOptions,
        coproc: proto::Config<'static>,
    ) -> Rig {
        let board = HostBoard::start(options);
        let mut config = HostConfig::new(coproc, 77);
        config.watchdog_ms = watchdog_ms;
        config.ping_ms = watchdog_ms / 4;
        let mut host = HostRole::new(config, board.reset_pin());
        host.subscribe(DOWN, QoS::AtLeastOnce).unwrap();
        Rig {
            host_link: link(Side::Host, board.link_pins()),
            board,
            host,
            host_stopped: false,
            pace_ms: 0,
            received: Vec::new(),
            done: BTreeSet::new(),
            readies: 0,
            resets: 0,
            subscribed: false,
            times: Vec::new(),
        }
    }

    pub fn port(&self) -> u16 {
        self.board.broker_addr().port()
    }

    /// One pass of each superloop (8 link turns), the world run once.
    pub fn pass(&mut self) {
        let now = self.board.now();
        for _ in 0..8 {
            if !self.host_stopped {
                self.host_pass(now);
            }
            self.board.run_coprocessor(now);
        }
        self.board.step(now);
    }

    fn host_pass(&mut self, now: Instant) {
        let _ = self.host_link.poll(now);
        match self.host.poll(now, &mut self.host_link) {
            Some(HostEvent::Message { payload, .. }) => {
                let n: u32 = std::str::from_utf8(payload)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .expect("the rig's messages on DOWN are numbers");
                self.received.push(n);
            }
            Some(HostEvent::Done { id, outcome }) => {
                if outcome == Outcome::Granted(QoS::AtLeastOnce) {
                    self.subscribed = true;
                }
                self.done.insert(id);
            }
            Some(HostEvent::Ready { .. }) => self.readies += 1,
            Some(HostEvent::Reset { .. }) => self.resets += 1,
            Some(HostEvent::Time { id, unix }) => self.times.push((id, unix)),
            _ => {}
        }
    }

    pub fn run_until(&mut self, limit: RealDuration, mut done: impl FnMut(&Rig) -> bool) -> bool {
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
pub fn publish_down(port: u16, n: u32) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for i in 0..n {
            publish(port, DOWN, i.to_string(), 1, false);
        }
    })
}

/// Sends `count` QoS 1 messages each way (the host's paced by
/// [`Rig::pace_ms`]), calling `fault` each pass with the pass number; panics
/// if anything is lost either way, and prints the copies and duplicates.
pub fn both_ways(rig: &mut Rig, count: u32, mut fault: impl FnMut(&mut Rig, u64)) {
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
    let mut next_publish = rig.board.now();
    let start = RealInstant::now();
    loop {
        let now = rig.board.now();
        if next < count && now >= next_publish {
            if let Ok(id) =
                rig.host
                    .publish(UP, next.to_string().as_bytes(), QoS::AtLeastOnce, false)
            {
                ids.push(id);
                next += 1;
                next_publish = now + limpet::time::Duration::from_ticks(rig.pace_ms);
            }
        }
        rig.pass();
        fault(rig, pass);
        pass += 1;
        // Checked now and then: the sets grow with the traffic.
        if !pass.is_multiple_of(64) {
            continue;
        }
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
            rig.board.boots,
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
        rig.board.boots,
        rig.resets,
        rig.host.frames()
    );
}
