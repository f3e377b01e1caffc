//! The sim board for one firmware: what a real board gives its superloop —
//! a WiFi radio, a network device, a clock, a LED, a console — with the
//! world behind them (access point, gateway, a real broker) run by the
//! board while the firmware sleeps.
//!
//! The firmware (examples/demo.rs) owns its machines (WLAN controller,
//! stack, client) and calls [`SimBoard::sleep_until`] with its next
//! deadline, as a firmware would sleep until a timer or an interrupt; the
//! board runs the simulated world meanwhile and returns at the deadline or
//! when a frame arrives for the device. Time runs `speed` times faster than
//! real time (1 by default: the broker is real).
//!
//! With [`BoardOptions::outages`] the board injects an outage now and then,
//! in turn: out of WiFi range for 20 s, the broker killed for 5 s (a broker
//! the board started), the access point off for 10 s. The console line
//! ([`SimBoard::show`]) says which outage came last and how long the
//! firmware took to be back up after it ended.
//!
//! With [`BoardOptions::tls`] the private broker listens with TLS only: a
//! CA and a certificate for `broker.sim` are made by `openssl` when the
//! board starts (never committed; removed with the board), and the
//! firmware gets the CA from [`SimBoard::tls_ca`], as a real one is given
//! its broker's CA at build time.

use std::io::Write;
use std::net::Ipv4Addr;
use std::time::{Duration as RealDuration, Instant as RealInstant};

use limpet::time::Instant;
use smoltcp::iface::{Config as IfaceConfig, Interface};
use smoltcp::phy::{Device, DeviceCapabilities};
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, HardwareAddress};

use crate::broker::Broker;
use crate::gateway::{Gateway, GatewayConfig, Network, NetworkConfig};
use crate::link::{Endpoint, Link, LinkConfig, Side};
use crate::radio::{AirConfig, ApId, Position, SimAir, SimRadio};

/// The demo network's name and passphrase.
pub const SSID: &str = "limpet-demo";
pub const PASSWORD: &[u8] = b"limpet demo wifi";
/// Where the device stands, metres from the access point (RSSI ≈ -61 dBm).
const HOME: f32 = 5.0;
/// Out of range.
const AWAY: f32 = 500.0;
/// The remote user flips the LED this often (simulated ms).
const LED_EVERY_MS: i64 = 15_000;

/// The TLS broker's CA and certificate, in a folder removed with them.
struct Certs {
    dir: std::path::PathBuf,
    ca: Vec<u8>,
}

impl Certs {
    fn make() -> Certs {
        use limpet_testbroker::certs::{issue, make_ca};
        let dir = std::env::temp_dir().join(format!(
            "limpet-board-tls-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a folder for the test certificates");
        let ca = make_ca(&dir, "ca", "limpet sim board CA");
        let ext = "subjectAltName=DNS:broker.sim,DNS:localhost\nbasicConstraints=CA:FALSE\n";
        issue(&dir, "server", "broker.sim", "ca", ext, None);
        Certs { dir, ca }
    }

    /// mosquitto's listener settings: TLS only, this certificate.
    fn listener(&self) -> String {
        let path = |f: &str| self.dir.join(f).display().to_string();
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            path("ca.pem"),
            path("server.pem"),
            path("server.key")
        )
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the board is set up.
#[derive(Clone, Debug)]
pub struct BoardOptions {
    /// A broker to use (`None`: start a private mosquitto).
    pub broker: Option<std::net::SocketAddr>,
    /// Simulated seconds per real second.
    pub speed: u32,
    /// Inject outages now and then.
    pub outages: bool,
    /// Simulated ms between the end of one outage and the next.
    pub outage_every_ms: i64,
    /// A remote user: publishes `on` / `off` here (QoS 1) every 15 s.
    pub led_topic: Option<&'static str>,
    pub seed: u64,
    /// The private broker speaks TLS only (see the module documentation).
    pub tls: bool,
}

impl Default for BoardOptions {
    fn default() -> BoardOptions {
        BoardOptions {
            broker: None,
            speed: 1,
            outages: true,
            outage_every_ms: 30_000,
            led_topic: None,
            seed: 1,
            tls: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutageKind {
    OutOfRange,
    BrokerKilled,
    AccessPointOff,
}

/// An injected outage (board times, simulated ms).
#[derive(Clone, Copy, Debug)]
pub struct Outage {
    pub kind: OutageKind,
    pub from_ms: i64,
    pub until_ms: i64,
    /// Back up (the firmware's `Up`) this long after it ended.
    pub recovery_ms: Option<i64>,
}

/// What the firmware shows on its console line.
#[derive(Clone, Debug, Default)]
pub struct Status<'a> {
    pub state: &'a str,
    pub rssi: Option<i8>,
    pub reconnects: u32,
    pub messages_in: u64,
    pub messages_out: u64,
    pub led: bool,
}

/// The device's network device: the board's end of the link, on the
/// stack's clock (smoltcp's zero is the stack's first poll).
pub struct NetDevice {
    endpoint: Endpoint,
    offset_ms: Option<i64>,
    world_ms: i64,
}

impl NetDevice {
    fn shift(&mut self, t: SmolInstant) -> SmolInstant {
        let offset = *self
            .offset_ms
            .get_or_insert(self.world_ms - t.total_millis());
        SmolInstant::from_millis(t.total_millis() + offset)
    }
}

impl Device for NetDevice {
    type RxToken<'a>
        = <Endpoint as Device>::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = <Endpoint as Device>::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, t: SmolInstant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let t = self.shift(t);
        self.endpoint.receive(t)
    }

    fn transmit(&mut self, t: SmolInstant) -> Option<Self::TxToken<'_>> {
        let t = self.shift(t);
        self.endpoint.transmit(t)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.endpoint.capabilities()
    }
}

/// See the module documentation.
pub struct SimBoard {
    pub radio: SimRadio,
    pub net: NetDevice,
    air: SimAir,
    ap: ApId,
    link: Link,
    gw_end: Endpoint,
    gateway: Gateway,
    _network: Network,
    broker: Option<Broker>,
    broker_addr: std::net::SocketAddr,
    /// The TLS broker's certificates, when it has them.
    certs: Option<Certs>,
    options: BoardOptions,
    started: RealInstant,
    origin: u32,
    led: bool,
    outage: Option<Outage>,
    next_outage_ms: i64,
    outages: u32,
    was_up: bool,
    next_led_ms: i64,
    led_on: bool,
}

impl SimBoard {
    /// Starts the world: a private mosquitto (unless one is given), the
    /// access point, the gateway, the device's radio and link.
    pub fn start(options: BoardOptions) -> SimBoard {
        let certs = (options.tls && options.broker.is_none()).then(Certs::make);
        let (broker, broker_addr) = match (options.broker, &certs) {
            (Some(addr), _) => (None, addr),
            (None, Some(certs)) => {
                let b = Broker::start_with_config(&certs.listener());
                let addr = b.addr();
                (Some(b), addr)
            }
            (None, None) => {
                let b = Broker::start();
                let addr = b.addr();
                (Some(b), addr)
            }
        };
        let network = Network::new(NetworkConfig::default());
        let vip = Ipv4Addr::new(10, 0, 0, 1);
        network.set_record("broker.sim", vip);
        // The gateway answers SNTP at any address (boards/sim/src/gateway.rs).
        network.set_record("time.sim", vip);
        network.map(vip, 1883, broker_addr);
        let air = SimAir::new(AirConfig {
            seed: options.seed,
            ..AirConfig::default()
        });
        let ap = air.add_ap(SSID, PASSWORD, 0.0);
        let radio = air.add_radio(Position::Fixed(HOME), None);
        let link = Link::new(LinkConfig::ethernet(options.seed));
        link.set_latency(smoltcp::time::Duration::from_millis(5));
        let mut gw_end = link.endpoint(Side::Gateway);
        let gateway = Gateway::new(
            &network,
            GatewayConfig::default(),
            &mut gw_end,
            SmolInstant::ZERO,
        );
        SimBoard {
            radio,
            net: NetDevice {
                endpoint: link.endpoint(Side::Device),
                offset_ms: None,
                world_ms: 0,
            },
            air,
            ap,
            link,
            gw_end,
            gateway,
            _network: network,
            broker,
            broker_addr,
            certs,
            next_outage_ms: options.outage_every_ms,
            options,
            started: RealInstant::now(),
            // The device's clock started long ago: 10 s before it wraps.
            origin: u32::MAX - 10_000,
            led: false,
            outage: None,
            outages: 0,
            was_up: false,
            next_led_ms: LED_EVERY_MS,
            led_on: false,
        }
    }

    /// The broker the world proxies to.
    pub fn broker_addr(&self) -> std::net::SocketAddr {
        self.broker_addr
    }

    /// The CA (DER) that issued the TLS broker's certificate for
    /// `broker.sim`, if the board started one ([`BoardOptions::tls`]).
    pub fn tls_ca(&self) -> Option<&[u8]> {
        self.certs.as_ref().map(|c| c.ca.as_slice())
    }

    /// A smoltcp interface on the board's network device (its MAC address).
    /// Each one starts its own clock at 0 (a firmware that boots again
    /// makes a new one): the device's time shift starts over.
    pub fn interface(&mut self) -> Interface {
        self.net.offset_ms = None;
        let mac = EthernetAddress([0x02, 0x4c, 0x50, 0, 0, self.options.seed as u8]);
        let mut config = IfaceConfig::new(HardwareAddress::Ethernet(mac));
        config.random_seed = self.options.seed;
        Interface::new(config, &mut self.net, SmolInstant::ZERO)
    }

    /// A seed for the firmware's randomness (a chip id).
    pub fn seed(&self) -> u32 {
        self.options.seed as u32
    }

    fn world_ms(&self) -> i64 {
        (self.started.elapsed().as_micros() as i64 * i64::from(self.options.speed)) / 1000
    }

    /// The device's clock: milliseconds that wrap (it started long ago).
    /// Reading it also brings the simulated radio to this instant, so what
    /// the firmware then asks of the radio happens now.
    pub fn now(&mut self) -> Instant {
        let now = self.clock();
        self.radio.poll(now);
        now
    }

    fn clock(&self) -> Instant {
        Instant::from_ticks(self.origin.wrapping_add(self.world_ms() as u32))
    }

    /// The simulated LED.
    pub fn set_led(&mut self, on: bool) {
        self.led = on;
    }

    pub fn led(&self) -> bool {
        self.led
    }

    /// Outages injected so far, and the last one.
    pub fn outages(&self) -> (u32, Option<Outage>) {
        (self.outages, self.outage)
    }

    /// Sleeps until `deadline` (the firmware's next deadline) or until a
    /// frame arrives for the device, running the world meanwhile.
    pub fn sleep_until(&mut self, deadline: Option<Instant>) {
        let now = self.clock();
        let wait_ms = match deadline {
            // Due already (or in the past): just run the world once.
            Some(d) => d
                .checked_duration_since(now)
                .map_or(0, |d| i64::from(d.ticks()).min(100)),
            None => 100,
        };
        let end = self.world_ms() + wait_ms;
        loop {
            let t_ms = self.world_ms();
            self.net.world_ms = t_ms;
            let t = SmolInstant::from_millis(t_ms);
            self.radio
                .poll(Instant::from_ticks(self.origin.wrapping_add(t_ms as u32)));
            self.link.set_attached(self.radio.is_associated());
            self.gateway.poll(t, &mut self.gw_end);
            self.inject(t_ms);
            self.remote_user(t_ms);
            let frame_due = self
                .net
                .endpoint
                .next_rx_at()
                .is_some_and(|at| at.total_millis() <= t_ms);
            if frame_due || t_ms >= end {
                return;
            }
            std::thread::sleep(RealDuration::from_micros(500));
        }
    }

    /// Starts the next outage when it is due, ends the current one when its
    /// time is up (`next_outage_ms` is the one or the other).
    fn inject(&mut self, t_ms: i64) {
        if !self.options.outages || t_ms < self.next_outage_ms {
            return;
        }
        match &mut self.outage {
            Some(o) if o.until_ms == i64::MAX => {
                o.until_ms = t_ms;
                let kind = o.kind;
                self.end_outage(kind);
                self.next_outage_ms = t_ms + self.options.outage_every_ms;
            }
            _ => {
                let kinds = [
                    OutageKind::OutOfRange,
                    OutageKind::BrokerKilled,
                    OutageKind::AccessPointOff,
                ];
                let mut kind = kinds[(self.outages % 3) as usize];
                if kind == OutageKind::BrokerKilled && self.broker.is_none() {
                    kind = OutageKind::AccessPointOff;
                }
                let length = match kind {
                    OutageKind::OutOfRange => 20_000,
                    OutageKind::BrokerKilled => 5_000,
                    OutageKind::AccessPointOff => 10_000,
                };
                self.start_outage(kind);
                self.outages += 1;
                self.outage = Some(Outage {
                    kind,
                    from_ms: t_ms,
                    until_ms: i64::MAX,
                    recovery_ms: None,
                });
                self.next_outage_ms = t_ms + length;
            }
        }
    }

    /// The remote user flipping the LED (a real `mosquitto_pub`), while
    /// the broker is there.
    fn remote_user(&mut self, t_ms: i64) {
        let Some(topic) = self.options.led_topic else {
            return;
        };
        if t_ms < self.next_led_ms {
            return;
        }
        self.next_led_ms = t_ms + LED_EVERY_MS;
        let broker_down = self
            .outage
            .is_some_and(|o| o.kind == OutageKind::BrokerKilled && o.until_ms == i64::MAX);
        if broker_down {
            return;
        }
        self.led_on = !self.led_on;
        let payload = if self.led_on { "on" } else { "off" };
        let mut publish = std::process::Command::new("mosquitto_pub");
        match &self.certs {
            // The certificate names localhost too, for this user.
            Some(certs) => publish
                .args(["-h", "localhost", "--cafile"])
                .arg(certs.dir.join("ca.pem")),
            None => publish.args(["-h", &self.broker_addr.ip().to_string()]),
        };
        let _ = publish
            .args(["-p", &self.broker_addr.port().to_string()])
            .args(["-t", topic, "-q", "1", "-m", payload])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }

    fn start_outage(&mut self, kind: OutageKind) {
        match kind {
            OutageKind::OutOfRange => self.radio.set_position(Position::Fixed(AWAY)),
            OutageKind::BrokerKilled => {
                if let Some(b) = &mut self.broker {
                    b.kill();
                }
            }
            OutageKind::AccessPointOff => self.air.set_present(self.ap, false),
        }
    }

    fn end_outage(&mut self, kind: OutageKind) {
        match kind {
            OutageKind::OutOfRange => self.radio.set_position(Position::Fixed(HOME)),
            OutageKind::BrokerKilled => {
                if let Some(b) = &mut self.broker {
                    b.restart();
                }
            }
            OutageKind::AccessPointOff => self.air.set_present(self.ap, true),
        }
    }

    /// Prints the firmware's status as one console line (rewritten in
    /// place on a terminal), with the board's last outage and the time the
    /// firmware took to be up again after it.
    pub fn show(&mut self, status: &Status<'_>) {
        let up = status.state == "up";
        let t_ms = self.world_ms();
        if let Some(o) = &mut self.outage {
            if up && !self.was_up && o.until_ms != i64::MAX && o.recovery_ms.is_none() {
                o.recovery_ms = Some(t_ms - o.until_ms);
            }
        }
        self.was_up = up;
        let outage = match self.outage {
            None => "none yet".to_string(),
            Some(o) if o.until_ms == i64::MAX => format!("{:?} now", o.kind),
            Some(o) => match o.recovery_ms {
                Some(r) => format!(
                    "{:?} {:.0} s, back in {} ms",
                    o.kind,
                    (o.until_ms - o.from_ms) as f64 / 1000.0,
                    r.max(0)
                ),
                None => format!(
                    "{:?} {:.0} s, recovering",
                    o.kind,
                    (o.until_ms - o.from_ms) as f64 / 1000.0
                ),
            },
        };
        let rssi = status.rssi.map_or("--".to_string(), |r| r.to_string());
        let line = format!(
            "t {:>6.1} s | {:<10} | RSSI {:>3} dBm | reconnects {:>3} | in {:>4} out {:>4} | LED {} | outages {} (last: {})",
            t_ms as f64 / 1000.0,
            status.state,
            rssi,
            status.reconnects,
            status.messages_in,
            status.messages_out,
            if status.led { "on " } else { "off" },
            self.outages,
            outage
        );
        let mut out = std::io::stdout();
        let _ = write!(out, "\r{line:<150}");
        let _ = out.flush();
    }
}
