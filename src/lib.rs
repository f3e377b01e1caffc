//! limpet: resilient MQTT 3.1.1 for tiny devices, with no allocator.
//!
//! A Rust re-imagining of Peter Hinch's `mqtt_as`: a client that recovers by
//! itself from WiFi and broker outages, with true QoS 1 and keepalive pings
//! that detect dead links. Every part is a plain-data state machine driven by
//! `poll(now, ...)` from the application's superloop; nothing blocks, reads a
//! clock or allocates. Capacity is chosen at compile time (const generics) or
//! given as caller buffers.
//!
//! Layers, bottom up (what each knows; `tests/layers.rs` checks that none
//! names a layer above it):
//! - [`time`], [`crc`] and the private `bytes` cursor: milliseconds and
//!   deadlines ([`time::reached`], [`time::Backoff`]), CRCs, bounds-checked
//!   byte fields; they know no protocol and no other layer.
//! - [`slip`]: SLIP (RFC 1055) frames on a serial byte stream, with one
//!   rule for a bad escape; knows no other layer and nothing of what the
//!   frames carry.
//! - [`wire`]: MQTT 3.1.1 bytes ⇄ borrowed packet views.
//! - [`session`]: MQTT rules (CONNECT, keepalive, QoS 1 and 2 both ways,
//!   subscriptions, saving a session), sans-IO.
//! - [`net`]: the non-blocking [`net::Transport`] trait (+ a std adapter).
//! - [`client`]: the session over a transport: reconnect with backoff, events, counters.
//! - `device` (feature `smoltcp`): WLAN controller → stack → client in one
//!   value, from one resources value, with one `poll` and one deadline.
//! - [`wlan`]: joining and keeping a WiFi network over a board's `Radio`;
//!   knows time and backoff, never IP or MQTT.
//! - [`bridge`]: MQTT for a chip without a network, through a co-processor:
//!   the host side (`host`, `link`, `uart`, `frame`, `proto`) knows pipes,
//!   frames and its own messages, never the MQTT session or client; only
//!   `bridge::coproc`, the co-processor's role, drives a [`client::Client`].
//!
//! What a firmware types first is re-exported here: [`Client`], [`Options`],
//! [`Config`], [`Event`], [`QoS`], [`Instant`], and with the `smoltcp`
//! feature `Device`, `DeviceConfig`, `DeviceEvent` and `Resources`.
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]
// On bare metal (scripts/isa-test, nightly) the unit tests are collected by
// custom_test_frameworks and run by boards/qemu-test under QEMU; each test
// module there makes `#[test]` mean `#[test_case]`.
#![cfg_attr(all(test, target_os = "none"), feature(custom_test_frameworks))]
#![cfg_attr(all(test, target_os = "none"), test_runner(limpet_qemu_test::run))]

#[cfg(feature = "std")]
extern crate std;

pub mod bridge;
mod bytes;
pub mod client;
pub mod crc;
#[cfg(feature = "smoltcp")]
pub mod device;
pub mod net;
mod polled;
pub mod security;
pub mod session;
pub mod slip;
pub mod time;
pub mod wire;
pub mod wlan;

pub use client::{Client, Options};
#[cfg(feature = "smoltcp")]
pub use device::{Device, DeviceConfig, DeviceEvent, Resources};
pub use session::{Config, Event};
pub use time::{Duration, Instant};
pub use wire::QoS;
