//! A whole networked device in one value: WLAN controller → IP stack →
//! MQTT client (feature `smoltcp`).
//!
//! Every WiFi firmware wires the same three machines the same way: the
//! controller's `Up` lets the stack send (its stability window has passed),
//! its `Down` aborts the TCP connection, a new DHCP address tells the client
//! to retry at once instead of waiting out its backoff, and the superloop
//! sleeps until the earliest of three deadlines. [`Device`] is that wiring,
//! written once: built from one [`Resources`] value, polled once per pass
//! with the board's radio and network device, with one
//! [`Device::next_deadline`] and one event type. The machines stay public
//! ([`crate::wlan::Wlan`], [`crate::net::stack::Stack`],
//! [`crate::client::Client`]) for firmware that composes them differently,
//! and reachable here through [`Device::wlan`], [`Device::stack`] and
//! [`Device::client`].
//!
//! One pass does bounded work: [`Device::poll`] polls the machines in order
//! and returns the first event; the loop handles it and calls again at once,
//! and sleeps only when `poll` returned `None` — until the deadline or a
//! frame from the network device (which also carries the ACK that makes
//! room for bytes waiting to be sent).
//!
//! Events may be acted on in the loop: after the last use of what an event
//! borrows, the device is free again, so `Up` can be answered with a
//! publish (a message's payload is copied first if the reply carries it).
//!
//! A transport layer (TLS) goes between the stack and the client: the
//! client only sees a [`crate::net::Transport`].
//!
//! ```
//! # #[cfg(feature = "dhcp")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use limpet::device::{Device, DeviceConfig, DeviceEvent, Resources};
//! use limpet::net::stack::{Addressing, Broker, StackConfig};
//! use limpet::session::{Config, Event};
//! use limpet::wire::QoS;
//! use limpet::wlan;
//! # use limpet::time::Instant;
//! # use smoltcp::iface::{Config as IfaceConfig, Interface};
//! # use smoltcp::phy::{self, DeviceCapabilities, Medium};
//! # use smoltcp::wire::{EthernetAddress, HardwareAddress};
//! # /// A network device on which nothing ever arrives (a board's own here).
//! # struct Quiet;
//! # struct Tx;
//! # impl phy::TxToken for Tx {
//! #     fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R { f(&mut [0; 1514][..len]) }
//! # }
//! # impl phy::RxToken for Tx {
//! #     fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R { f(&[]) }
//! # }
//! # impl phy::Device for Quiet {
//! #     type RxToken<'a> = Tx;
//! #     type TxToken<'a> = Tx;
//! #     fn receive(&mut self, _: smoltcp::time::Instant) -> Option<(Tx, Tx)> { None }
//! #     fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<Tx> { Some(Tx) }
//! #     fn capabilities(&self) -> DeviceCapabilities {
//! #         let mut c = DeviceCapabilities::default();
//! #         c.medium = Medium::Ethernet;
//! #         c.max_transmission_unit = 1514;
//! #         c
//! #     }
//! # }
//! # struct Board { radio: NoRadio, net: Quiet, ms: u32 }
//! # struct NoRadio;
//! # impl wlan::Radio for NoRadio {
//! #     fn has_stored(&mut self) -> bool { false }
//! #     fn connect_stored(&mut self) {}
//! #     fn connect(&mut self, _: &str, _: &[u8]) {}
//! #     fn disconnect(&mut self) {}
//! #     fn status(&mut self) -> wlan::Status { wlan::Status::Connecting }
//! #     fn rssi(&mut self) -> Option<i8> { None }
//! # }
//! # impl Board {
//! #     fn now(&mut self) -> Instant { self.ms += 100; Instant::from_ticks(self.ms) }
//! #     fn sleep_until(&mut self, _: Option<Instant>) {}
//! # }
//! # let mut net = Quiet;
//! # let hw = HardwareAddress::Ethernet(EthernetAddress([2, 0, 0, 0, 0, 1]));
//! # let interface = Interface::new(IfaceConfig::new(hw), &mut net, smoltcp::time::Instant::ZERO);
//! # let mut board = Board { radio: NoRadio, net, ms: 0 };
//! static BROKERS: [Broker<'static>; 1] = [Broker { host: "broker.example", port: 1883 }];
//!
//! let config = DeviceConfig::new(
//!     wlan::Config::new("my-ssid", b"my-passphrase"),
//!     StackConfig::new(Addressing::Dhcp, &BROKERS),
//!     Config::new("sensor-7"),
//! );
//! let mut resources: Resources = Resources::new();   // a `static` in firmware
//! let mut device: Device<'_, 4, 4> = Device::new(config, interface, 7, &mut resources)?;
//! device.subscribe("sensor-7/cmd", QoS::AtLeastOnce)?;
//!
//! # for _ in 0..100 {
//! let now = board.now();
//! match device.poll(now, &mut board.radio, &mut board.net) {
//!     Some(DeviceEvent::Mqtt(Event::Up { .. })) => {
//!         device.publish("sensor-7/status", b"online", QoS::AtLeastOnce, true)?;
//!     }
//!     Some(DeviceEvent::Mqtt(Event::Message(m))) => { /* m.topic, m.payload */ }
//!     Some(_) => {}                                   // WLAN, DHCP, Down, Published, ...
//!     None => board.sleep_until(device.next_deadline(now)), // or a frame arrives
//! }
//! # }
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "dhcp"))]
//! # fn main() {}
//! ```

mod event;
mod resources;

pub use event::DeviceEvent;
pub use resources::{DeviceBuffers, Resources};

use crate::client::{Client, Options};
use crate::net::stack::{Buffers, Stack, StackConfig, StackConfigError, StackEvent};
use crate::net::{Layer, Plain};
use crate::session::{self, RequestError, Token};
use crate::time::{earliest, Instant};
use crate::wire::QoS;
use crate::wlan::{self, Radio, Wlan, WlanEvent};
use smoltcp::iface::Interface;

/// What a device is configured with: its network, its brokers, its MQTT
/// session and its reconnection behaviour.
#[derive(Clone, Copy, Debug)]
pub struct DeviceConfig<'a> {
    /// The WLAN controller's: networks, timeouts, stability window.
    pub wlan: wlan::Config<'a>,
    /// The IP stack's: addressing, the brokers, DNS and TCP timeouts.
    pub network: StackConfig<'a>,
    /// The MQTT session's: client id, keepalive, will, clean session.
    pub mqtt: session::Config<'a>,
    /// The client's reconnection backoff and timeouts.
    pub options: Options,
}

impl<'a> DeviceConfig<'a> {
    /// The three configurations, with the client's default [`Options`].
    pub fn new(
        wlan: wlan::Config<'a>,
        network: StackConfig<'a>,
        mqtt: session::Config<'a>,
    ) -> Self {
        DeviceConfig {
            wlan,
            network,
            mqtt,
            options: Options::default(),
        }
    }
}

/// Why a device could not be built: a configuration that can never work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The WLAN configuration.
    Wlan(wlan::ConfigError),
    /// The stack's configuration.
    Network(StackConfigError),
    /// The MQTT configuration (or buffers too small for it).
    Mqtt(session::ConfigError),
}

impl core::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "device configuration refused: {self:?}")
    }
}

impl core::error::Error for DeviceError {}

/// The WLAN controller, the IP stack and the MQTT client of one device:
/// `N` QoS 1/2 messages in flight, `S` subscriptions, `R` incoming QoS 2
/// ids (see [`Client`]); `L`, what goes between the stack and the client
/// ([`Plain`]: nothing; TLS with [`Device::with_layer`]).
pub struct Device<'a, const N: usize, const S: usize, const R: usize = 32, L = Plain> {
    wlan: Wlan<'a>,
    stack: Stack<'a>,
    client: Client<'a, N, S, R>,
    layer: L,
}

impl<'a, const N: usize, const S: usize, const R: usize> Device<'a, N, S, R> {
    /// A device over `interface` (the board's smoltcp interface for its
    /// network device), with its storage in `resources`. `seed` varies the
    /// stack's first local port between devices (a MAC address, a chip id).
    /// Nothing is sent until the WLAN controller trusts the link.
    pub fn new<const MQTT: usize, const STORE: usize, const TCP: usize>(
        config: DeviceConfig<'a>,
        interface: Interface,
        seed: u32,
        resources: &'a mut Resources<'a, MQTT, STORE, TCP>,
    ) -> Result<Self, DeviceError> {
        Self::with_buffers(config, interface, seed, resources.buffers())
    }

    /// [`Device::new`] with storage the caller lays out itself (sizes
    /// chosen at run time, or buffers in different memories).
    pub fn with_buffers(
        config: DeviceConfig<'a>,
        interface: Interface,
        seed: u32,
        buffers: DeviceBuffers<'a>,
    ) -> Result<Self, DeviceError> {
        let wlan = Wlan::new(config.wlan).map_err(DeviceError::Wlan)?;
        let DeviceBuffers {
            rx,
            tx,
            store,
            tcp_rx,
            tcp_tx,
            sockets,
            dns_queries,
            #[cfg(feature = "sntp")]
            udp,
        } = buffers;
        let buffers = Buffers {
            sockets,
            tcp_rx,
            tcp_tx,
            dns_queries,
            #[cfg(feature = "sntp")]
            udp,
        };
        let mut stack =
            Stack::new(config.network, interface, buffers, seed).map_err(DeviceError::Network)?;
        stack.link_down();
        let client =
            Client::new(config.mqtt, config.options, rx, tx, store).map_err(DeviceError::Mqtt)?;
        Ok(Device {
            wlan,
            stack,
            client,
            layer: Plain,
        })
    }

    /// The same device with `layer` between its stack and its client: TLS
    /// (`net::tls::Tls`, feature `tls`), whose pinned driver lives in the
    /// caller's frame or a `static`.
    pub fn with_layer<L: Layer<Stack<'a>>>(self, layer: L) -> Device<'a, N, S, R, L> {
        Device {
            wlan: self.wlan,
            stack: self.stack,
            client: self.client,
            layer,
        }
    }
}

impl<'a, const N: usize, const S: usize, const R: usize, L: Layer<Stack<'a>>>
    Device<'a, N, S, R, L>
{
    /// One pass: polls the WLAN controller with `radio`, the stack with
    /// `netdev`, then the client, and returns the first event (the others
    /// wait for the next call, which the loop makes at once). `None`: sleep
    /// until [`Device::next_deadline`] or until a frame arrives.
    pub fn poll<Rd, D>(
        &mut self,
        now: Instant,
        radio: &mut Rd,
        netdev: &mut D,
    ) -> Option<DeviceEvent<'_>>
    where
        Rd: Radio,
        D: smoltcp::phy::Device + ?Sized,
    {
        if let Some(event) = self.poll_network(now, radio, netdev) {
            return Some(event);
        }
        self.poll_client(now)
    }

    /// The client's part of a pass. Kept out of line: the stack's poll and
    /// the client's each need a large frame, and inlined into one function
    /// they add up instead of taking turns (1.2 KB more stack on lx106).
    #[inline(never)]
    fn poll_client(&mut self, now: Instant) -> Option<DeviceEvent<'_>> {
        let mut transport = self.layer.over(&mut self.stack);
        self.client.poll(now, &mut transport).map(DeviceEvent::Mqtt)
    }

    /// [`Device::poll`] without the client: the WLAN controller and the
    /// stack, wired together, for a composition that drives the client
    /// itself (the bridge's co-processor role polls it over [`Device::parts`]).
    pub fn poll_network<Rd, D>(
        &mut self,
        now: Instant,
        radio: &mut Rd,
        netdev: &mut D,
    ) -> Option<DeviceEvent<'static>>
    where
        Rd: Radio,
        D: smoltcp::phy::Device + ?Sized,
    {
        if let Some(event) = self.wlan.poll(now, radio) {
            match event {
                WlanEvent::Up(_) => self.stack.link_up(),
                WlanEvent::Down(_) => self.stack.link_down(),
                WlanEvent::AttemptFailed(..) => {}
            }
            return Some(DeviceEvent::Wlan(event));
        }
        if let Some(event) = self.stack.poll(now, netdev) {
            if let StackEvent::Configured(_) = event {
                // The network is back: retry at once, not after the backoff.
                self.client.network_up(now);
            }
            return Some(DeviceEvent::Network(event));
        }
        None
    }

    /// The client and the stack it runs over, both at once.
    pub fn parts(&mut self) -> (&mut Client<'a, N, S, R>, &mut Stack<'a>) {
        (&mut self.client, &mut self.stack)
    }

    /// The earliest of the three machines' deadlines: when to poll again if
    /// no frame arrives. Never before `now`.
    pub fn next_deadline(&mut self, now: Instant) -> Option<Instant> {
        if self.layer.busy() {
            return Some(now);
        }
        earliest(
            earliest(self.wlan.next_deadline(now), self.stack.next_deadline(now)),
            self.client.next_deadline(now),
        )
    }

    /// Publishes a message ([`Client::publish`]).
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<Token>, RequestError> {
        self.client.publish(topic, payload, qos, retain)
    }

    /// Subscribes now or once connected ([`Client::subscribe`]).
    pub fn subscribe(&mut self, filter: &'a str, qos: QoS) -> Result<(), RequestError> {
        self.client.subscribe(filter, qos)
    }

    /// Unsubscribes ([`Client::unsubscribe`]).
    pub fn unsubscribe(&mut self, filter: &'a str) -> Result<(), RequestError> {
        self.client.unsubscribe(filter)
    }

    /// True while the MQTT connection is established.
    pub fn is_connected(&self) -> bool {
        self.client.is_connected()
    }

    /// The MQTT client: counters, `disconnect`, `save`, everything else.
    pub fn client(&mut self) -> &mut Client<'a, N, S, R> {
        &mut self.client
    }

    /// The WLAN controller: `is_up`, `rssi`, counters.
    pub fn wlan(&self) -> &Wlan<'a> {
        &self.wlan
    }

    /// The IP stack: address, broker in use, counters, `check_wan`.
    pub fn stack(&mut self) -> &mut Stack<'a> {
        &mut self.stack
    }
}
