//! What the controller is told: which networks, how long to wait, how to back off.

use crate::time::{Backoff, Duration};

/// The network the application names (as opposed to the one the radio stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// 1..=32 bytes (IEEE 802.11 allows 0..=32; an empty SSID is the
    /// wildcard of a scan, which nothing can join).
    pub ssid: &'a str,
    /// Empty: an open network (no security), as ESP-IDF and the ESP8266 SDK
    /// read an empty password. Otherwise a WPA/WPA2 passphrase of 8..=63
    /// bytes (IEEE 802.11i; the 64-hex-digit raw PSK form is not accepted,
    /// since drivers disagree on whether they take it).
    pub password: &'a [u8],
}

/// WLAN controller settings. [`Config::new`] and [`Config::stored_only`]
/// give the defaults; change fields as needed, then [`crate::wlan::Wlan::new`]
/// checks them.
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    /// The configured network, tried after the stored one. `None`: the
    /// radio's stored network only.
    pub network: Option<Credentials<'a>>,
    /// Try the radio's stored network first, if it has one (as `mqtt_as`
    /// does on ESP8266). Default true.
    pub use_stored: bool,
    /// Give up on an attempt that has not become `Connected` this long after
    /// it began (mqtt_as: 60 one-second checks). Default 60 s.
    pub connect_timeout: Duration,
    /// A new link must stay `Connected` this long before it is declared up
    /// (mqtt_as checks `isconnected()` for 5 s). Any other status in the
    /// window restarts it once the link is back. Default 5 s.
    pub stability: Duration,
    /// Skip the stability window on the first connection only, to save a
    /// battery device's time awake (mqtt_as's `quick`). Default false.
    pub quick: bool,
    /// While up, an `Idle` or `Connecting` status counts as a drop only once
    /// it has lasted this long (a failure status is a drop at once): ESP32
    /// MicroPython has reported `STAT_CONNECTING` for a link carrying
    /// traffic (micropython#10913), the ESP8266 SDK `STATION_CONNECTING`
    /// during a DHCP renewal (micropython#5261). Default 2 s: at the 1 s
    /// check interval that is three samples in a row, so one stray report
    /// never takes the link down, while a real silent loss is reported long
    /// before an MQTT keepalive would notice it. Zero: no debounce.
    pub debounce: Duration,
    /// How often the status is sampled when nothing else is due (mqtt_as:
    /// once a second). [`crate::wlan::Wlan::next_deadline`] is never later
    /// than this after the last poll while an attempt or a link is alive, so
    /// a superloop that sleeps until then still sees a drop. Default 1 s.
    pub check_interval: Duration,
    /// Delay before the next round after all networks failed, or after a
    /// drop. Default 1 s to 30 s, decorrelated jitter, seed 1 (give each
    /// device its own seed: a MAC address). Starts over from its minimum
    /// after a link proved itself (stayed up for `stability`).
    pub backoff: Backoff,
}

/// Why a configuration can never work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `use_stored` is false and no network is configured: nothing to join.
    NoNetwork,
    /// The configured SSID is empty.
    SsidEmpty,
    /// The configured SSID is longer than 32 bytes.
    SsidTooLong,
    /// The password is neither empty (open network) nor 8..=63 bytes.
    PasswordLength,
    /// `connect_timeout` or `check_interval` is zero.
    ZeroDuration,
    /// A duration is 2^31 ms (24.8 days) or longer: wrapping u32 time could
    /// not tell its end from the past.
    TooLong,
}

const MAX_SSID: usize = 32;
const PASSPHRASE: core::ops::RangeInclusive<usize> = 8..=63;
/// Half the u32 millisecond clock: the longest interval fugit's wrapping
/// comparisons order correctly.
const HALF_RANGE_MS: u32 = 1 << 31;

impl<'a> Config<'a> {
    /// The stored network first, then `ssid`/`password`; defaults elsewhere.
    pub const fn new(ssid: &'a str, password: &'a [u8]) -> Self {
        Self::with(Some(Credentials { ssid, password }))
    }

    /// Only the network the radio has stored.
    pub const fn stored_only() -> Self {
        Self::with(None)
    }

    const fn with(network: Option<Credentials<'a>>) -> Self {
        Config {
            network,
            use_stored: true,
            connect_timeout: Duration::from_ticks(60_000),
            stability: Duration::from_ticks(5_000),
            quick: false,
            debounce: Duration::from_ticks(2_000),
            check_interval: Duration::from_ticks(1_000),
            backoff: Backoff::new(Duration::from_ticks(1_000), Duration::from_ticks(30_000), 1),
        }
    }

    /// Refuses what could never work.
    pub fn check(&self) -> Result<(), ConfigError> {
        match self.network {
            None if !self.use_stored => return Err(ConfigError::NoNetwork),
            None => {}
            Some(c) => {
                if c.ssid.is_empty() {
                    return Err(ConfigError::SsidEmpty);
                }
                if c.ssid.len() > MAX_SSID {
                    return Err(ConfigError::SsidTooLong);
                }
                if !c.password.is_empty() && !PASSPHRASE.contains(&c.password.len()) {
                    return Err(ConfigError::PasswordLength);
                }
            }
        }
        if self.connect_timeout.ticks() == 0 || self.check_interval.ticks() == 0 {
            return Err(ConfigError::ZeroDuration);
        }
        let longest = [
            self.connect_timeout,
            self.stability,
            self.debounce,
            self.check_interval,
        ]
        .iter()
        .map(|d| d.ticks())
        .max()
        .unwrap_or(0);
        if longest >= HALF_RANGE_MS {
            return Err(ConfigError::TooLong);
        }
        Ok(())
    }
}
