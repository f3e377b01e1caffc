//! The simulation board: a limpet device's whole network on the host, for
//! tests, the demo and benchmarks — the same superloop a firmware runs, over
//! simulated hardware, against a real broker.
//!
//! - [`radio`]: a simulated WiFi radio implementing `limpet::wlan::Radio`:
//!   access points that appear and vanish, association delay, wrong
//!   password, RSSI following a scripted distance.
//! - [`link`]: a virtual Ethernet link between the device's smoltcp
//!   interface and the gateway's, with latency, seeded loss, corruption,
//!   outages, half-open stalls and bandwidth limits.
//! - [`gateway`]: the network behind the access point: a smoltcp interface
//!   that answers DHCP and DNS and terminates each TCP connection, proxying
//!   it to a real broker on 127.0.0.1.
//! - [`bridge`]: a co-processor firmware (the bridge role over the board's
//!   radio and network) for the host driver on the wires.
//! - [`wires`]: the bridge's five wires between a host and a co-processor,
//!   as embedded-hal pins, with bit errors, a stuck clock and reset.
//! - [`limpet_testbroker`] (re-exported as [`broker`]): real brokers started on free
//!   ports, with SIGKILL, SIGSTOP and restart.
//!
//! Time is the test's: every part takes `now` as an argument, so a test can
//! run minutes of simulated outage in a moment.

pub use limpet_testbroker as broker;

pub mod arena;
pub mod board;
pub mod bridge;
pub mod device;
pub mod gateway;
pub mod link;
pub mod radio;
pub mod slip;
pub mod wires;
pub mod world;

/// The README's code, compiled as this crate's doc tests (they can use the
/// sim board, as the README's device snippet does).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeSnippets;
