//! A simulated device: the firmware's three machines — WLAN controller,
//! smoltcp stack, MQTT client — on a simulated radio and link, run one
//! superloop pass at a time.
//!
//! [`SimDevice::pass`] is the pass a firmware runs (examples/demo.rs spells
//! the same steps out as the template to copy):
//!
//! 1. the radio (here: the simulated air catches up to `now`);
//! 2. `wlan.poll`: on `Up` the stack is told the link is up (DHCP starts
//!    on the network just trusted), on `Down` that it is down (the TCP
//!    connection is aborted); the stack starts down, so nothing is sent
//!    before the controller's stability window has passed;
//! 3. `stack.poll` on the network device: a new DHCP address tells the client
//!    the network is back (`network_up`: it retries at once, not after its
//!    backoff);
//! 4. `client.poll` over the stack until it has nothing more to say.
//!
//! The deadline is the earliest of the three machines'. Buffers and the
//! configuration's strings come from the heap, kept in the device's
//! [`Arena`] (the host's stand-in for a firmware's statics) and freed with
//! the device; the library itself allocates nothing.
//!
//! What happened is kept in a [`Journal`] for tests, the demo and the fleet
//! benchmark: ups and downs with their times, messages received, QoS 1/2
//! completions, the in-flight high-water mark.

use limpet::client::Client;
use limpet::device::{DeviceBuffers, DeviceConfig, DeviceEvent};
use limpet::net::stack::{Addressing, Broker, StackConfig, StackCounters, StackEvent};
use limpet::session::{Config, Event, Reason};
use limpet::time::Instant;
use limpet::wire::QoS;
use limpet::wire::Will;
use limpet::wlan::{self, Wlan, WlanEvent};
use smoltcp::iface::{Config as IfaceConfig, Interface, SocketStorage};
use smoltcp::phy::{Device, DeviceCapabilities};
use smoltcp::wire::{EthernetAddress, HardwareAddress, Ipv4Address};

use crate::arena::Arena;
use crate::link::{Endpoint, Link, Side};
use crate::radio::{Position, SimAir, SimRadio};

/// QoS 1/2 messages in flight per device.
pub const INFLIGHT: usize = 8;
/// Subscriptions per device.
pub const SUBSCRIPTIONS: usize = 4;

/// The device's MQTT client, borrowing the device's storage for `'a`.
pub type DeviceClient<'a> = Client<'a, INFLIGHT, SUBSCRIPTIONS>;

/// What a device is: its identity, networks, brokers and sizes.
#[derive(Clone, Debug)]
pub struct DeviceSpec {
    pub client_id: String,
    /// The network the firmware is configured with (`None`: stored only).
    pub network: Option<(String, Vec<u8>)>,
    /// The network the radio has stored (as an ESP8266 keeps one in flash).
    pub stored: Option<(String, Vec<u8>)>,
    /// Metres from the access points' origin (move it later with
    /// `radio.set_position`).
    pub position: f32,
    /// Tried in turn: (host name or dotted quad, port).
    pub brokers: Vec<(String, u16)>,
    pub clean: bool,
    /// Seconds.
    pub keepalive: u16,
    /// Subscribed at start (and after every session loss).
    pub subscribe: Vec<(String, QoS)>,
    /// A retained last will (`offline`) on this topic, if any.
    pub will: Option<String>,
    /// Skip the WLAN stability window on the first connection.
    pub quick: bool,
    /// MQTT receive and transmit buffers, each.
    pub mqtt_buffer: usize,
    /// The in-flight store.
    pub store: usize,
    /// TCP receive and transmit buffers, each.
    pub tcp_buffer: usize,
    /// Seeds everything random of this device (backoffs, ports, TCP).
    pub seed: u64,
    pub mac: EthernetAddress,
}

impl DeviceSpec {
    /// A device on network `ssid`/`password`, brokers `broker.sim:1883`,
    /// keepalive 60 s, persistent session, 1 KiB MQTT and 2 KiB TCP buffers.
    pub fn new(client_id: &str, ssid: &str, password: &[u8], seed: u64) -> DeviceSpec {
        let n = seed as u32;
        DeviceSpec {
            client_id: client_id.to_string(),
            network: Some((ssid.to_string(), password.to_vec())),
            stored: None,
            position: 5.0,
            brokers: vec![("broker.sim".to_string(), 1883)],
            clean: false,
            keepalive: 60,
            subscribe: Vec::new(),
            will: None,
            quick: false,
            mqtt_buffer: 1024,
            store: INFLIGHT * 128,
            tcp_buffer: 2048,
            seed,
            mac: EthernetAddress([0x02, 0x4c, 0x50, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
        }
    }
}

/// A message the device received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub topic: String,
    pub payload: Vec<u8>,
    /// World time, milliseconds.
    pub at_ms: i64,
}

/// What a device went through (world times in milliseconds).
#[derive(Clone, Debug, Default)]
pub struct Journal {
    /// MQTT `Up` events.
    pub ups: Vec<i64>,
    /// MQTT `Down` events and why.
    pub downs: Vec<(i64, Reason)>,
    /// Failed MQTT connection attempts and why.
    pub connect_failures: Vec<(i64, Reason)>,
    /// WLAN `Up` events.
    pub wlan_ups: Vec<i64>,
    /// WLAN `Down` events.
    pub wlan_downs: Vec<i64>,
    /// DHCP addresses taken.
    pub leases: u64,
    /// QoS 1/2 publishes the broker completed (`Published`).
    pub published: u64,
    /// World time of each `Published`.
    pub published_ms: Vec<i64>,
    /// Messages received, oldest first (drain with [`SimDevice::take_received`]).
    pub received: Vec<Received>,
    /// Most QoS 1/2 messages in flight at once.
    pub max_inflight: usize,
}

/// The device's end of its link, on the stack's clock.
///
/// The stack hands smoltcp a clock that starts at 0 at its first poll (its
/// own, from limpet's wrapping milliseconds); the link runs on the world's.
/// This adds the world time of that first poll, so both ends of the link
/// agree on when a frame was sent.
pub struct DeviceEnd {
    endpoint: Endpoint,
    offset: smoltcp::time::Duration,
}

impl DeviceEnd {
    fn world(&self, t: smoltcp::time::Instant) -> smoltcp::time::Instant {
        t + self.offset
    }
}

impl Device for DeviceEnd {
    type RxToken<'a>
        = <Endpoint as Device>::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = <Endpoint as Device>::TxToken<'a>
    where
        Self: 'a;

    fn receive(
        &mut self,
        t: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let t = self.world(t);
        self.endpoint.receive(t)
    }

    fn transmit(&mut self, t: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        let t = self.world(t);
        self.endpoint.transmit(t)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.endpoint.capabilities()
    }
}

/// The device's three machines, as a firmware holds them (borrowing its
/// statics; here, the device's arena).
type Node = limpet::Device<'static, INFLIGHT, SUBSCRIPTIONS>;

/// One simulated device. See the module documentation.
pub struct SimDevice {
    pub radio: SimRadio,
    /// Borrows `storage`: declared before it, so dropped first, and never
    /// handed out as `&mut` (its `'static` must not escape).
    node: Node,
    end: DeviceEnd,
    /// World time of the stack's first poll (its clock's zero).
    started: bool,
    pub journal: Journal,
    spec: DeviceSpec,
    /// The buffers and strings `node` borrows.
    _storage: Arena,
}

/// Why a device could not be built (a configuration that can never work).
#[derive(Debug)]
pub enum SpecError {
    Device(limpet::device::DeviceError),
    Subscribe(limpet::session::RequestError),
}

impl SimDevice {
    /// Builds the device on `link` (its device end) in `air`.
    pub fn new(spec: DeviceSpec, air: &SimAir, link: &Link) -> Result<SimDevice, SpecError> {
        let stored = spec
            .stored
            .as_ref()
            .map(|(s, p)| (s.as_str(), p.as_slice()));
        let radio = air.add_radio(Position::Fixed(spec.position), stored);
        let mut storage = Arena::new();
        // SAFETY (each use of `storage` below): what it lends is borrowed
        // only by `node`, which `SimDevice` drops before `storage`.

        let mut wcfg = match &spec.network {
            Some((ssid, pw)) => {
                let ssid = unsafe { storage.str(ssid) };
                let pw = unsafe { storage.keep(pw.clone()) };
                wlan::Config::new(ssid, pw)
            }
            None => wlan::Config::stored_only(),
        };
        wcfg.quick = spec.quick;
        wcfg.backoff = wcfg.backoff.with_seed(spec.seed as u32 ^ 0x5a5a);

        let mut end = DeviceEnd {
            endpoint: link.endpoint(Side::Device),
            offset: smoltcp::time::Duration::ZERO,
        };
        let mut ic = IfaceConfig::new(HardwareAddress::Ethernet(spec.mac));
        ic.random_seed = spec.seed;
        let iface = Interface::new(ic, &mut end, smoltcp::time::Instant::ZERO);
        let brokers: Vec<Broker<'static>> = spec
            .brokers
            .iter()
            .map(|(h, p)| Broker {
                host: unsafe { storage.str(h) },
                port: *p,
            })
            .collect();
        let brokers = unsafe { storage.keep(brokers) };

        let mut mqtt = Config::new(unsafe { storage.str(&spec.client_id) });
        mqtt.clean = spec.clean;
        mqtt.keepalive = spec.keepalive;
        if let Some(topic) = &spec.will {
            mqtt.will = Some(Will {
                topic: unsafe { storage.str(topic) },
                payload: b"offline",
                qos: QoS::AtLeastOnce,
                retain: true,
            });
        }
        let mut config = DeviceConfig::new(wcfg, StackConfig::new(Addressing::Dhcp, brokers), mqtt);
        config.options.backoff = config.options.backoff.with_seed(spec.seed as u32);
        let buffers = unsafe {
            DeviceBuffers {
                rx: storage.bytes(spec.mqtt_buffer),
                tx: storage.bytes(spec.mqtt_buffer),
                store: storage.bytes(spec.store),
                tcp_rx: storage.bytes(spec.tcp_buffer),
                tcp_tx: storage.bytes(spec.tcp_buffer),
                sockets: storage.keep([SocketStorage::EMPTY; 3]),
                dns_queries: storage.keep([const { None }; 1]),
                udp: None,
            }
        };
        let mut node = Node::with_buffers(config, iface, spec.seed as u32, buffers)
            .map_err(SpecError::Device)?;
        for (filter, qos) in &spec.subscribe {
            node.subscribe(unsafe { storage.str(filter) }, *qos)
                .map_err(SpecError::Subscribe)?;
        }
        Ok(SimDevice {
            radio,
            node,
            end,
            started: false,
            journal: Journal::default(),
            spec,
            _storage: storage,
        })
    }

    pub fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    /// One superloop pass at limpet time `now`, world time `world_ms`.
    /// Returns when the device wants its next pass (limpet time).
    pub fn pass(&mut self, now: Instant, world_ms: i64) -> Option<Instant> {
        if !self.started {
            self.started = true;
            self.end.offset = smoltcp::time::Duration::from_millis(world_ms as u64);
        }
        // 1. The radio.
        self.radio.poll(now);
        // 2.-4. WLAN, stack and client, each event handled as it comes,
        // until none has anything more to say.
        while let Some(event) = self.node.poll(now, &mut self.radio, &mut self.end) {
            let j = &mut self.journal;
            match event {
                DeviceEvent::Wlan(WlanEvent::Up(_)) => j.wlan_ups.push(world_ms),
                DeviceEvent::Wlan(WlanEvent::Down(_)) => j.wlan_downs.push(world_ms),
                DeviceEvent::Network(StackEvent::Configured(_)) => j.leases += 1,
                DeviceEvent::Mqtt(Event::Up { .. }) => j.ups.push(world_ms),
                DeviceEvent::Mqtt(Event::Down(r)) => j.downs.push((world_ms, r)),
                DeviceEvent::Mqtt(Event::ConnectFailed(r)) => {
                    j.connect_failures.push((world_ms, r))
                }
                DeviceEvent::Mqtt(Event::Message(m)) => j.received.push(Received {
                    topic: m.topic.to_string(),
                    payload: m.payload.to_vec(),
                    at_ms: world_ms,
                }),
                DeviceEvent::Mqtt(Event::Published(_)) => {
                    j.published += 1;
                    j.published_ms.push(world_ms);
                }
                _ => {}
            }
        }
        let inflight = self.node.client().session().inflight();
        self.journal.max_inflight = self.journal.max_inflight.max(inflight);
        self.next_deadline(now)
    }

    /// The earliest deadline of the three machines (limpet time).
    pub fn next_deadline(&mut self, now: Instant) -> Option<Instant> {
        self.node.next_deadline(now)
    }

    /// The WLAN controller.
    pub fn wlan(&self) -> &Wlan<'_> {
        self.node.wlan()
    }

    /// The IP stack's counters. (The stack itself is not handed out: its
    /// type cannot shrink the `'static` of the borrows it holds.)
    pub fn stack_counters(&mut self) -> StackCounters {
        *self.node.stack().counters()
    }

    /// The address the stack has, if any.
    pub fn address(&mut self) -> Option<Ipv4Address> {
        self.node.stack().address()
    }

    /// The MQTT client.
    pub fn client(&mut self) -> &DeviceClient<'_> {
        self.node.client()
    }

    /// Whether the MQTT session is up.
    pub fn is_connected(&self) -> bool {
        self.node.is_connected()
    }

    /// Ends the session with a DISCONNECT (no will), as a firmware does
    /// before it sleeps.
    pub fn disconnect(&mut self) {
        self.node.client().disconnect();
    }

    /// When the link has a frame for this device (world time).
    pub fn next_rx_at(&self) -> Option<smoltcp::time::Instant> {
        self.end.endpoint.next_rx_at()
    }

    /// Messages received since the last call.
    pub fn take_received(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.journal.received)
    }

    /// Queues a QoS 1 publish; false if the in-flight table is full.
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> bool {
        self.node.publish(topic, payload, qos, false).is_ok()
    }
}

/// Milliseconds from `now` until `at` (0 if due), on limpet's wrapping clock.
pub fn millis_until(now: Instant, at: Instant) -> u64 {
    match at.checked_duration_since(now) {
        Some(d) => u64::from(d.ticks()),
        None => 0,
    }
}
