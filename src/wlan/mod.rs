//! The WLAN controller: the radio's link, kept up by a polled state machine.
//!
//! `mqtt_as` (micropython-mqtt) keeps WiFi up like this, and so does
//! [`Wlan`], without blocking: at start it tries the network the radio
//! stores (the ESP8266 keeps one in flash), then the configured one; each
//! attempt has a connect timeout; a new link must stay connected for a
//! stability window (mqtt_as: 5 s of `isconnected()`) before it is
//! declared up; a link that drops is reported and rejoined after a delay.
//! Beyond mqtt_as: the delay is a decorrelated-jitter backoff that starts
//! over only after a link proved itself; a link flapping inside the window
//! restarts the window instead of failing outright; `Idle`/`Connecting`
//! reports while up are debounced (ESP32 and ESP8266 ports report them for
//! working links), while failure reports end a link at once; every outcome
//! is an event and a counter. [`Wlan`]'s example is the superloop that
//! drives it.
//!
//! - `radio.rs`: the [`Radio`] trait a board's driver implements, and [`Status`].
//! - `config.rs`: [`Config`], [`Credentials`], what is refused ([`ConfigError`]).
//! - `controller.rs`: the machine, [`Wlan`].
//! - `event.rs`: [`WlanEvent`], [`Network`] (stored or configured), [`Reason`].
//! - `counters.rs`: [`Counters`].
//! - `station.rs`: a [`Radio`] over a driver with `async` calls (esp-radio),
//!   polled without an executor: [`station::Station`], [`station::drive`],
//!   [`station::StationRadio`].
//! - `tests.rs`: scenarios over a scripted radio, from several clock origins;
//!   `station_tests.rs`: the async adapter over a scripted station.

mod config;
mod controller;
mod counters;
mod event;
mod radio;
pub mod station;
mod wired;

pub use config::{Config, ConfigError, Credentials};
pub use controller::Wlan;
pub use counters::Counters;
pub use event::{Network, Reason, WlanEvent};
pub use radio::{Radio, Status};
pub use wired::Wired;

#[cfg(test)]
mod station_tests;
#[cfg(test)]
mod tests;
