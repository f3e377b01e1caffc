//! What the application chooses about its MQTT session, with `mqtt_as`'s
//! defaults, and the checks that refuse a configuration that can never work.
//!
//! The protocol version is a field ([`Protocol`]): one client type speaks
//! either. Without the `mqtt5` feature [`Protocol`] has the one variant
//! [`Protocol::V311`] and takes no byte, and nothing of MQTT 5.0 is built.

use crate::time::Duration;
use crate::wire::topic::{check_name, check_text, TopicError, MAX_STRING};
use crate::wire::Will;

/// The MQTT version a session speaks, chosen per configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// MQTT 3.1.1 (protocol level 4), the default.
    #[default]
    V311,
    /// MQTT 5.0 (protocol level 5; feature `mqtt5`): properties, reason
    /// codes, the server's limits honoured (see `Session::server`).
    #[cfg(feature = "mqtt5")]
    V5,
}

/// Session settings. Build with [`Config::new`] and change fields as needed.
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    /// The MQTT version to speak. Default [`Protocol::V311`].
    pub protocol: Protocol,
    /// Client identifier (MQTT 3.1.1 §3.1.3.1). Must be unique per broker.
    /// An empty id asks the broker to assign one, which §3.1.3.1 allows only
    /// with a clean session (`clean_init` and `clean` both true). In MQTT
    /// 5.0 any session may start with an empty id: the id the server
    /// assigns (§3.2.2.3.7) is kept and used for the next connections.
    pub client_id: &'a str,
    /// Keepalive in seconds sent in CONNECT (§3.1.2.10). Default 60.
    pub keepalive: u16,
    /// Send PINGREQ when nothing was sent or received for this long.
    /// `None`: keepalive / 4 (as `mqtt_as`); no pings when keepalive is 0.
    /// Must be at most the keepalive, or the broker drops the client.
    pub ping_interval: Option<Duration>,
    /// Longest wait for any reply (CONNACK, PUBACK, PUBREC, PUBCOMP, SUBACK,
    /// UNSUBACK, PINGRESP) with nothing received at all, before retrying or
    /// declaring the link dead. Default 10 s; 1 ms ..= 24.8 days.
    pub response_time: Duration,
    /// Republishes of the oldest unanswered message on one quiet connection
    /// before the connection is declared dead. Default 4.
    pub max_repubs: u8,
    /// Connections the broker may close while the same request (a PUBLISH,
    /// SUBSCRIBE or UNSUBSCRIBE) is the oldest one it has not answered,
    /// before that request is dropped and reported (`Event::Rejected`): a
    /// broker that refuses a topic by disconnecting (an ACL on some brokers)
    /// would otherwise get it first on every connection, forever, and
    /// nothing behind it would ever get through. Default 3; 0 never gives up.
    /// At most 15.
    pub max_rejections: u8,
    /// Clean session flag for the first connection after power-up. Default true.
    pub clean_init: bool,
    /// Clean session flag for reconnections. Default true. With
    /// `clean_init = true, clean = false` the first connection discards
    /// whatever the broker kept, then the session persists across outages.
    ///
    /// MQTT 5.0 separates the two halves of 3.1.1's flag: Clean Start is
    /// `clean_init` / `clean` as above (§3.1.2.4), and the session outlives
    /// a connection for `Config::session_expiry` seconds when `clean` is
    /// false, not at all when it is true (§3.1.2.11.2). So `clean_init =
    /// true, clean = false` needs no extra connection in 5.0: the first
    /// CONNECT both discards the old session and starts a lasting one.
    pub clean: bool,
    /// MQTT 5.0: how long the broker keeps a persistent session (`clean =
    /// false`) after its connection ends, in seconds (Session Expiry
    /// Interval, §3.1.2.11.2). Default `u32::MAX`, "never expires": what a
    /// 3.1.1 persistent session is. A device that sleeps sets it a little
    /// longer than its sleep, so a device that never comes back does not
    /// leave its session with the broker for ever. Unused with `clean =
    /// true` (the session ends with the connection: 0 is sent, as absence).
    #[cfg(feature = "mqtt5")]
    pub session_expiry: u32,
    /// Last will, published by the broker when this client vanishes (§3.1.2.5).
    pub will: Option<Will<'a>>,
    /// User name for the broker's authentication (§3.1.3.4).
    pub username: Option<&'a str>,
    /// Only with a username (§3.1.2.9).
    pub password: Option<&'a [u8]>,
}

/// Why a configuration was refused. Nothing was set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The client id is not a string a broker accepts (§1.5.3).
    ClientId(TopicError),
    /// An empty client id needs a clean session (§3.1.3.1 [MQTT-3.1.3-7]).
    EmptyClientIdNeedsCleanSession,
    /// The will topic is not a valid topic name (§3.1.2.5, §4.7).
    WillTopic(TopicError),
    /// The will message is longer than 65,535 bytes (§3.1.3.3).
    WillTooLong,
    /// The username is not a string a broker accepts, or the password is
    /// longer than 65,535 bytes.
    Credentials,
    /// A password without a username (§3.1.2.9 [MQTT-3.1.2-22]).
    PasswordWithoutUsername,
    /// `response_time` is 0 or longer than 24.8 days (the wrap-safe limit).
    ResponseTime,
    /// The ping interval is 0 while the keepalive is not, or longer than the
    /// keepalive (the broker would drop the client, §3.1.2.10).
    PingInterval,
    /// `max_rejections` is over 15.
    MaxRejections,
    /// The CONNECT packet does not fit the transmit buffer.
    ConnectTooLarge,
    /// The receive buffer is shorter than the 16 bytes any useful packet needs.
    RxTooSmall,
    /// The in-flight store cannot hold even a minimal QoS 1 PUBLISH per slot.
    StoreTooSmall,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "MQTT configuration refused: {self:?}")
    }
}

impl core::error::Error for ConfigError {}

/// Longest interval that compares correctly across the u32 millisecond wrap.
pub(crate) const MAX_INTERVAL_MS: u32 = i32::MAX as u32;

impl<'a> Config<'a> {
    /// `client_id`'s session with `mqtt_as`'s defaults: keepalive 60 s,
    /// pings every 15 s, response time 10 s, 4 republishes, 3 strikes
    /// before a give-up, a clean session, no will, no credentials.
    pub const fn new(client_id: &'a str) -> Self {
        Config {
            protocol: Protocol::V311,
            client_id,
            keepalive: 60,
            ping_interval: None,
            response_time: Duration::from_ticks(10_000),
            max_repubs: 4,
            max_rejections: 3,
            clean_init: true,
            clean: true,
            #[cfg(feature = "mqtt5")]
            session_expiry: u32::MAX,
            will: None,
            username: None,
            password: None,
        }
    }

    /// True when the session speaks MQTT 5.0.
    pub(crate) fn is_v5(&self) -> bool {
        match self.protocol {
            Protocol::V311 => false,
            #[cfg(feature = "mqtt5")]
            Protocol::V5 => true,
        }
    }

    /// The interval actually used for pings, in milliseconds (0: never ping).
    pub(crate) fn ping_interval_ms(&self) -> u32 {
        match self.ping_interval {
            Some(d) => d.ticks(),
            None => u32::from(self.keepalive) * 1000 / 4,
        }
    }

    /// Refuses what can never work: strings a broker must or may reject,
    /// an empty id with a persistent session, timers that cannot run.
    pub fn check(&self) -> Result<(), ConfigError> {
        check_text(self.client_id).map_err(ConfigError::ClientId)?;
        // MQTT 5.0 keeps the id the server assigns (§3.2.2.3.7).
        if self.client_id.is_empty() && !(self.clean && self.clean_init) && !self.is_v5() {
            return Err(ConfigError::EmptyClientIdNeedsCleanSession);
        }
        if let Some(will) = &self.will {
            check_name(will.topic)
                .and_then(|()| check_text(will.topic))
                .map_err(ConfigError::WillTopic)?;
            if will.payload.len() > MAX_STRING {
                return Err(ConfigError::WillTooLong);
            }
        }
        match (self.username, self.password) {
            (None, Some(_)) => return Err(ConfigError::PasswordWithoutUsername),
            (Some(user), password) => {
                let long = password.is_some_and(|p| p.len() > MAX_STRING);
                if check_text(user).is_err() || long {
                    return Err(ConfigError::Credentials);
                }
            }
            (None, None) => {}
        }
        let response = self.response_time.ticks();
        if response == 0 || response > MAX_INTERVAL_MS {
            return Err(ConfigError::ResponseTime);
        }
        let ping = self.ping_interval_ms();
        let keepalive_ms = u32::from(self.keepalive) * 1000;
        if (self.keepalive > 0 && (ping == 0 || ping > keepalive_ms)) || ping > MAX_INTERVAL_MS {
            return Err(ConfigError::PingInterval);
        }
        if self.max_rejections > 15 {
            return Err(ConfigError::MaxRejections);
        }
        Ok(())
    }
}
