//! What the application chooses about its MQTT session, with `mqtt_as`'s defaults.

use crate::time::Duration;
use crate::wire::Will;

/// Session settings. Build with [`Config::new`] and change fields as needed.
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    /// Client identifier (MQTT 3.1.1 §3.1.3.1). Must be unique per broker.
    pub client_id: &'a str,
    /// Keepalive in seconds sent in CONNECT (§3.1.2.10). Default 60.
    pub keepalive: u16,
    /// Send PINGREQ when nothing was sent or received for this long.
    /// `None`: keepalive / 4 (as `mqtt_as`); no pings when keepalive is 0.
    pub ping_interval: Option<Duration>,
    /// Longest wait for any reply (CONNACK, PUBACK, SUBACK, UNSUBACK,
    /// PINGRESP) before retrying or declaring the link dead. Default 10 s.
    pub response_time: Duration,
    /// Republishes of one unacknowledged QoS 1 message on one connection
    /// before the connection is declared dead. Default 4.
    pub max_repubs: u8,
    /// Clean session flag for the first connection after power-up. Default true.
    pub clean_init: bool,
    /// Clean session flag for reconnections. Default true. With
    /// `clean_init = true, clean = false` the first connection discards
    /// whatever the broker kept, then the session persists across outages.
    pub clean: bool,
    /// Last will, published by the broker when this client vanishes (§3.1.2.5).
    pub will: Option<Will<'a>>,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
}

impl<'a> Config<'a> {
    pub const fn new(client_id: &'a str) -> Self {
        Config {
            client_id,
            keepalive: 60,
            ping_interval: None,
            response_time: Duration::from_ticks(10_000),
            max_repubs: 4,
            clean_init: true,
            clean: true,
            will: None,
            username: None,
            password: None,
        }
    }

    /// The interval actually used for pings, in milliseconds (0: never ping).
    pub(crate) fn ping_interval_ms(&self) -> u32 {
        match self.ping_interval {
            Some(d) => d.ticks(),
            None => u32::from(self.keepalive) * 1000 / 4,
        }
    }
}
