//! Host ⇄ co-processor messages: one message per frame payload
//! ([`super::frame`] delivers payloads whole, in order, exactly once).
//!
//! What the original bridge carried as text lines, as compact binary
//! messages: a type byte, then fixed-width big-endian integers and
//! length-prefixed strings and bytes (the MQTT §1.5 encodings, through the
//! crate's neutral byte cursors: `fields`). Decoding validates every field once
//! — UTF-8 text, QoS 0..=2, topic names and filters by MQTT §4.7, no bytes
//! left over — so a message from the other side can be used without further
//! checks, and nothing in it can panic either role.
//!
//! The conversation, in short:
//! - the host opens with [`HostMsg::Hello`]; the co-processor answers
//!   [`CoprocMsg::Ready`] with its boot counter, so the host knows when the
//!   co-processor restarted and must replay its configuration, its
//!   subscriptions and its unacknowledged publishes;
//! - [`HostMsg::Config`]: WiFi, broker, MQTT settings, will, time server;
//! - publishes and (un)subscriptions carry a host-chosen `id`, completed by
//!   [`CoprocMsg::Done`] — for QoS 1 and 2 only after the broker's
//!   acknowledgement;
//! - incoming messages carry a co-processor id the host confirms with
//!   [`HostMsg::Delivered`]; only then does the co-processor acknowledge the
//!   broker (end-to-end QoS 1);
//! - credits bound what is in flight each way ([`HostMsg::Credit`],
//!   [`CoprocMsg::Credit`]): a slow host makes the co-processor stop reading
//!   from the broker instead of overflowing;
//! - status events, time (SNTP), counters, and a ping for the host's
//!   watchdog.

mod fields;

use crate::wire::topic::{check_filter, check_name};
use crate::wire::{QoS, Will};
use fields::{Reader, Writer};

/// This protocol's version (in `Hello` and `Ready`).
pub const VERSION: u8 = 1;

/// What the host sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostMsg<'a> {
    /// Opens the conversation (again after a co-processor restart): the
    /// largest message the host takes.
    Hello {
        /// The host's protocol version ([`VERSION`]).
        version: u8,
        /// The largest message, in bytes, the host takes (its frame payload).
        max_message: u16,
    },
    /// The co-processor's settings (answered by `Status`: `WillAccepted`
    /// and `Running`, or `ConfigRejected`).
    Config(Config<'a>),
    /// A message for the broker (completed by `Done` with its `id`).
    Publish(Publish<'a>),
    /// Subscribe to a filter (completed by `Done`: `Granted` or why not).
    Subscribe {
        /// The host's request id, echoed in `Done`.
        id: u16,
        /// A topic filter (MQTT §4.7).
        filter: &'a str,
        /// The maximum QoS asked for (MQTT §3.8.3.1).
        qos: QoS,
    },
    /// Unsubscribe from a filter (completed by `Done`).
    Unsubscribe {
        /// The host's request id, echoed in `Done`.
        id: u16,
        /// A topic filter the host subscribed to (MQTT §4.7).
        filter: &'a str,
    },
    /// The host has incoming message `id`.
    Delivered {
        /// The co-processor's id of the `Message`.
        id: u16,
    },
    /// The time, from the configured server (answered by `Time`).
    GetTime {
        /// The host's request id, echoed in `Time`.
        id: u16,
    },
    /// The co-processor's counters (answered by `Stats`).
    GetStats,
    /// The host takes `n` more incoming messages.
    Credit {
        /// Messages added to the co-processor's allowance.
        n: u16,
    },
    /// The watchdog's probe (answered by `Pong`).
    Ping,
}

/// What the co-processor sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoprocMsg<'a> {
    /// The answer to `Hello`: `boot` counts the co-processor's starts.
    Ready {
        /// The co-processor's protocol version ([`VERSION`]).
        version: u8,
        /// The co-processor's start count: a new value means it restarted.
        boot: u32,
        /// The largest message, in bytes, the co-processor takes.
        max_message: u16,
    },
    /// News of the co-processor, its WiFi or its broker connection.
    Status(Status),
    /// A host request with this id is complete.
    Done {
        /// The host's request id (`Publish`, `Subscribe`, `Unsubscribe`).
        id: u16,
        /// How it ended.
        outcome: Outcome,
    },
    /// An incoming message; the host confirms it with `Delivered { id }`.
    Message(Publish<'a>),
    /// The answer to `GetTime`: seconds since 1970-01-01 UTC, or why not.
    Time {
        /// The id of the host's `GetTime`.
        id: u16,
        /// Seconds since 1970-01-01 UTC, or why the time is unknown.
        unix: Result<u64, TimeError>,
    },
    /// The answer to `GetStats`.
    Stats(Stats),
    /// The co-processor takes `n` more publishes.
    Credit {
        /// Publishes added to the host's allowance.
        n: u16,
    },
    /// The answer to `Ping`.
    Pong,
}

/// A message either way. `id` is the sender's; `topic` a valid topic name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publish<'a> {
    /// The sender's id, for the answer (`Done`, or `Delivered`).
    pub id: u16,
    /// The topic name (MQTT §4.7: no wildcards).
    pub topic: &'a str,
    /// The application message, as it goes to or came from the broker.
    pub payload: &'a [u8],
    /// The quality of service (MQTT §4.3).
    pub qos: QoS,
    /// The broker keeps it for future subscribers (MQTT §3.3.1.3).
    pub retain: bool,
}

/// The co-processor's settings (mqtt_as's config dictionary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config<'a> {
    /// The WiFi network to join (after the stored one, if `use_stored`).
    pub ssid: &'a str,
    /// Its passphrase; empty for an open network.
    pub wifi_password: &'a [u8],
    /// Try the network the co-processor has stored first.
    pub use_stored: bool,
    /// The broker's host name or dotted quad.
    pub broker: &'a str,
    /// The broker's TCP port (1883: MQTT without TLS).
    pub port: u16,
    /// The MQTT client identifier (MQTT §3.1.3.1); fixed, so the broker
    /// keeps the session across the co-processor's restarts.
    pub client_id: &'a str,
    /// The CONNECT user name (MQTT §3.1.3.4), if any.
    pub username: Option<&'a str>,
    /// The CONNECT password (MQTT §3.1.3.5), if any.
    pub password: Option<&'a [u8]>,
    /// Seconds.
    pub keepalive: u16,
    /// Seconds; 0: the client's default (keepalive / 4).
    pub ping_interval: u16,
    /// Republishes of the oldest unanswered message on one quiet connection
    /// before it is declared dead.
    pub max_repubs: u8,
    /// Clean session on reconnections (the first connection is always
    /// persistent for a bridge, so its QoS 1 state survives restarts).
    pub clean: bool,
    /// Milliseconds.
    pub response_time: u32,
    /// The message the broker publishes when the co-processor's connection
    /// ends without a DISCONNECT (MQTT §3.1.2.5), if any.
    pub will: Option<Will<'a>>,
    /// SNTP server, name or dotted quad; empty: none.
    pub time_server: &'a str,
}

impl<'a> Config<'a> {
    /// A configuration with mqtt_as's defaults for the rest: the stored
    /// network tried first, port 1883, keepalive 60 s with the client's
    /// ping interval, 4 republishes, a persistent session, a 10 s response
    /// time; no credentials, will or time server.
    pub const fn new(
        ssid: &'a str,
        wifi_password: &'a [u8],
        broker: &'a str,
        client_id: &'a str,
    ) -> Self {
        Config {
            ssid,
            wifi_password,
            use_stored: true,
            broker,
            port: 1883,
            client_id,
            username: None,
            password: None,
            keepalive: 60,
            ping_interval: 0,
            max_repubs: 4,
            clean: false,
            response_time: 10_000,
            will: None,
            time_server: "",
        }
    }
}

/// What the co-processor reports (the original bridge's status values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// WiFi up on the stored network.
    WifiUpStored,
    /// WiFi up on the network in the configuration.
    WifiUpSpecified,
    /// The WiFi link went down.
    WifiDown,
    /// Neither network could be joined.
    NoNetwork,
    /// Connected to the broker (CONNACK accepted).
    BrokerUp,
    /// The broker connection was lost; the co-processor reconnects.
    BrokerDown,
    /// The configuration (and will) was accepted.
    WillAccepted,
    /// Configured and running.
    Running,
    /// The co-processor hit a fault it cannot recover from by itself (a
    /// filter arena filled with filters the host let go of): the host
    /// resets it at once.
    Failed,
    /// The configuration can never work (the detail is in the counters).
    ConfigRejected,
}

/// How a host request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Published (QoS 1/2: acknowledged by the broker), or unsubscribed.
    Ok,
    /// Subscribed with this QoS.
    Granted(QoS),
    /// The broker refused the subscription.
    Refused,
    /// The broker kept closing the connection on it; given up.
    Rejected,
    /// It can never succeed (a bad topic, too large): refused at once.
    Invalid,
}

/// Why there is no time (SNTP's reasons, carried to the host).
pub use crate::net::sntp::TimeError;

/// The co-processor's counters (all wrap at `u32::MAX`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// The co-processor's start count (as in `Ready`).
    pub boot: u32,
    /// Seconds since it started.
    pub uptime_s: u32,
    /// WiFi links lost.
    pub wifi_drops: u32,
    /// Broker connections lost.
    pub reconnects: u32,
    /// Host publishes the broker acknowledged (QoS 1 and 2).
    pub messages_out: u32,
    /// Broker messages handed to the host.
    pub messages_in: u32,
    /// Frames from the host refused (bad CRC, cut, wrong length).
    pub frame_errors: u32,
    /// Bytes of RAM the co-processor's stack has used at most.
    pub stack_high_water: u32,
}

/// What is wrong with a message from the other side (its bug, another
/// version of this protocol, or line damage the frame CRC let through).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoError {
    /// The message ends inside a field.
    Truncated,
    /// Bytes after the message's last field.
    TrailingBytes,
    /// The type byte names no message this side takes (another version's
    /// message, or one meant for the other side).
    UnknownKind(u8),
    /// A QoS other than 0, 1 or 2.
    BadQoS,
    /// Flag bits this version does not define are set.
    ReservedFlags,
    /// Text that is not UTF-8, or holds U+0000.
    BadText,
    /// A topic name or filter that breaks MQTT §4.7.
    BadTopic,
    /// A code this version does not define (a status, an outcome, a time
    /// error) or a boolean other than 0 or 1.
    BadValue,
}

/// Why a message was not written (nothing is sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer is too small for the message.
    BufferTooSmall,
    /// A text or bytes field over 65,535 bytes.
    TooLong,
    /// A topic name or filter that breaks MQTT §4.7: the other side would
    /// refuse the message.
    BadTopic,
}

// Type bytes. Host messages use 0x01.., co-processor messages 0x81..: a
// message sent the wrong way fails to decode.
mod kind {
    pub const HELLO: u8 = 0x01;
    pub const CONFIG: u8 = 0x02;
    pub const PUBLISH: u8 = 0x03;
    pub const SUBSCRIBE: u8 = 0x04;
    pub const UNSUBSCRIBE: u8 = 0x05;
    pub const DELIVERED: u8 = 0x06;
    pub const GET_TIME: u8 = 0x07;
    pub const GET_STATS: u8 = 0x08;
    pub const CREDIT_TO_COPROC: u8 = 0x09;
    pub const PING: u8 = 0x0A;

    pub const READY: u8 = 0x81;
    pub const STATUS: u8 = 0x82;
    pub const DONE: u8 = 0x83;
    pub const MESSAGE: u8 = 0x84;
    pub const TIME: u8 = 0x85;
    pub const STATS: u8 = 0x86;
    pub const CREDIT_TO_HOST: u8 = 0x87;
    pub const PONG: u8 = 0x88;
}

impl<'a> HostMsg<'a> {
    /// Writes the message into `out`; its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(out);
        self.write(&mut w)?;
        Ok(w.position())
    }

    /// Bytes [`HostMsg::encode`] needs.
    pub fn encoded_len(&self) -> usize {
        let mut w = Writer::counter();
        let _ = self.write(&mut w);
        w.position()
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match *self {
            HostMsg::Hello {
                version,
                max_message,
            } => {
                w.u8(kind::HELLO)?;
                w.u8(version)?;
                w.u16(max_message)
            }
            HostMsg::Config(ref c) => {
                w.u8(kind::CONFIG)?;
                write_config(w, c)
            }
            HostMsg::Publish(ref p) => {
                w.u8(kind::PUBLISH)?;
                write_publish(w, p)
            }
            HostMsg::Subscribe { id, filter, qos } => {
                check_filter(filter).map_err(|_| EncodeError::BadTopic)?;
                w.u8(kind::SUBSCRIBE)?;
                w.u16(id)?;
                w.str(filter)?;
                w.u8(qos as u8)
            }
            HostMsg::Unsubscribe { id, filter } => {
                check_filter(filter).map_err(|_| EncodeError::BadTopic)?;
                w.u8(kind::UNSUBSCRIBE)?;
                w.u16(id)?;
                w.str(filter)
            }
            HostMsg::Delivered { id } => {
                w.u8(kind::DELIVERED)?;
                w.u16(id)
            }
            HostMsg::GetTime { id } => {
                w.u8(kind::GET_TIME)?;
                w.u16(id)
            }
            HostMsg::GetStats => w.u8(kind::GET_STATS),
            HostMsg::Credit { n } => {
                w.u8(kind::CREDIT_TO_COPROC)?;
                w.u16(n)
            }
            HostMsg::Ping => w.u8(kind::PING),
        }
    }

    /// Reads one whole message (validated; see the module documentation).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, ProtoError> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8()? {
            kind::HELLO => HostMsg::Hello {
                version: r.u8()?,
                max_message: r.u16()?,
            },
            kind::CONFIG => HostMsg::Config(read_config(&mut r)?),
            kind::PUBLISH => HostMsg::Publish(read_publish(&mut r)?),
            kind::SUBSCRIBE => {
                let id = r.u16()?;
                let filter = read_filter(&mut r)?;
                HostMsg::Subscribe {
                    id,
                    filter,
                    qos: read_qos(&mut r)?,
                }
            }
            kind::UNSUBSCRIBE => HostMsg::Unsubscribe {
                id: r.u16()?,
                filter: read_filter(&mut r)?,
            },
            kind::DELIVERED => HostMsg::Delivered { id: r.u16()? },
            kind::GET_TIME => HostMsg::GetTime { id: r.u16()? },
            kind::GET_STATS => HostMsg::GetStats,
            kind::CREDIT_TO_COPROC => HostMsg::Credit { n: r.u16()? },
            kind::PING => HostMsg::Ping,
            k => return Err(ProtoError::UnknownKind(k)),
        };
        r.end()?;
        Ok(msg)
    }
}

impl<'a> CoprocMsg<'a> {
    /// Writes the message into `out`; its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(out);
        self.write(&mut w)?;
        Ok(w.position())
    }

    /// Bytes [`CoprocMsg::encode`] needs.
    pub fn encoded_len(&self) -> usize {
        let mut w = Writer::counter();
        let _ = self.write(&mut w);
        w.position()
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match *self {
            CoprocMsg::Ready {
                version,
                boot,
                max_message,
            } => {
                w.u8(kind::READY)?;
                w.u8(version)?;
                w.u32(boot)?;
                w.u16(max_message)
            }
            CoprocMsg::Status(s) => {
                w.u8(kind::STATUS)?;
                w.u8(status_code(s))
            }
            CoprocMsg::Done { id, outcome } => {
                w.u8(kind::DONE)?;
                w.u16(id)?;
                let code = match outcome {
                    Outcome::Ok => 0,
                    Outcome::Granted(q) => 0x10 | q as u8,
                    Outcome::Refused => 1,
                    Outcome::Rejected => 2,
                    Outcome::Invalid => 3,
                };
                w.u8(code)
            }
            CoprocMsg::Message(ref p) => {
                w.u8(kind::MESSAGE)?;
                write_publish(w, p)
            }
            CoprocMsg::Time { id, unix } => {
                w.u8(kind::TIME)?;
                w.u16(id)?;
                match unix {
                    Ok(t) => {
                        w.u8(0)?;
                        w.u64(t)
                    }
                    Err(e) => w.u8(match e {
                        TimeError::NoServer => 1,
                        TimeError::NoNetwork => 2,
                        TimeError::Timeout => 3,
                        TimeError::BadReply => 4,
                    }),
                }
            }
            CoprocMsg::Stats(ref s) => {
                w.u8(kind::STATS)?;
                for v in stats_fields(s) {
                    w.u32(v)?;
                }
                Ok(())
            }
            CoprocMsg::Credit { n } => {
                w.u8(kind::CREDIT_TO_HOST)?;
                w.u16(n)
            }
            CoprocMsg::Pong => w.u8(kind::PONG),
        }
    }

    /// Reads one whole message (validated; see the module documentation).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, ProtoError> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8()? {
            kind::READY => CoprocMsg::Ready {
                version: r.u8()?,
                boot: r.u32()?,
                max_message: r.u16()?,
            },
            kind::STATUS => CoprocMsg::Status(status_from(r.u8()?)?),
            kind::DONE => {
                let id = r.u16()?;
                let outcome = match r.u8()? {
                    0 => Outcome::Ok,
                    1 => Outcome::Refused,
                    2 => Outcome::Rejected,
                    3 => Outcome::Invalid,
                    c @ 0x10..=0x12 => {
                        Outcome::Granted(QoS::from_bits(c & 3).ok_or(ProtoError::BadValue)?)
                    }
                    _ => return Err(ProtoError::BadValue),
                };
                CoprocMsg::Done { id, outcome }
            }
            kind::MESSAGE => CoprocMsg::Message(read_publish(&mut r)?),
            kind::TIME => {
                let id = r.u16()?;
                let unix = match r.u8()? {
                    0 => Ok(r.u64()?),
                    1 => Err(TimeError::NoServer),
                    2 => Err(TimeError::NoNetwork),
                    3 => Err(TimeError::Timeout),
                    4 => Err(TimeError::BadReply),
                    _ => return Err(ProtoError::BadValue),
                };
                CoprocMsg::Time { id, unix }
            }
            kind::STATS => {
                let mut v = [0u32; STATS_FIELDS];
                for x in &mut v {
                    *x = r.u32()?;
                }
                CoprocMsg::Stats(stats_from(v))
            }
            kind::CREDIT_TO_HOST => CoprocMsg::Credit { n: r.u16()? },
            kind::PONG => CoprocMsg::Pong,
            k => return Err(ProtoError::UnknownKind(k)),
        };
        r.end()?;
        Ok(msg)
    }
}

fn write_publish(w: &mut Writer<'_>, p: &Publish<'_>) -> Result<(), EncodeError> {
    check_name(p.topic).map_err(|_| EncodeError::BadTopic)?;
    w.u16(p.id)?;
    w.str(p.topic)?;
    w.u8(p.qos as u8 | if p.retain { 0x80 } else { 0 })?;
    // The payload is the rest of the message: no length prefix, so it may be
    // as long as the frame allows.
    w.bytes(p.payload)
}

fn read_publish<'a>(r: &mut Reader<'a>) -> Result<Publish<'a>, ProtoError> {
    let id = r.u16()?;
    let topic = r.str()?;
    check_name(topic).map_err(|_| ProtoError::BadTopic)?;
    let flags = r.u8()?;
    if flags & 0x7C != 0 {
        return Err(ProtoError::ReservedFlags);
    }
    let qos = QoS::from_bits(flags & 3).ok_or(ProtoError::BadQoS)?;
    Ok(Publish {
        id,
        topic,
        qos,
        retain: flags & 0x80 != 0,
        payload: r.rest(),
    })
}

fn read_filter<'a>(r: &mut Reader<'a>) -> Result<&'a str, ProtoError> {
    let filter = r.str()?;
    check_filter(filter).map_err(|_| ProtoError::BadTopic)?;
    Ok(filter)
}

fn read_qos(r: &mut Reader<'_>) -> Result<QoS, ProtoError> {
    QoS::from_bits(r.u8()?).ok_or(ProtoError::BadQoS)
}

// Config flags.
const USE_STORED: u8 = 0x01;
const CLEAN: u8 = 0x02;
const HAS_USERNAME: u8 = 0x04;
const HAS_PASSWORD: u8 = 0x08;
const HAS_WILL: u8 = 0x10;

fn write_config(w: &mut Writer<'_>, c: &Config<'_>) -> Result<(), EncodeError> {
    let mut flags = 0;
    if c.use_stored {
        flags |= USE_STORED;
    }
    if c.clean {
        flags |= CLEAN;
    }
    if c.username.is_some() {
        flags |= HAS_USERNAME;
    }
    if c.password.is_some() {
        flags |= HAS_PASSWORD;
    }
    if c.will.is_some() {
        flags |= HAS_WILL;
    }
    w.u8(flags)?;
    w.str(c.ssid)?;
    w.binary(c.wifi_password)?;
    w.str(c.broker)?;
    w.u16(c.port)?;
    w.str(c.client_id)?;
    if let Some(u) = c.username {
        w.str(u)?;
    }
    if let Some(p) = c.password {
        w.binary(p)?;
    }
    w.u16(c.keepalive)?;
    w.u16(c.ping_interval)?;
    w.u8(c.max_repubs)?;
    w.u32(c.response_time)?;
    if let Some(will) = &c.will {
        check_name(will.topic).map_err(|_| EncodeError::BadTopic)?;
        w.str(will.topic)?;
        w.binary(will.payload)?;
        w.u8(will.qos as u8)?;
        w.u8(u8::from(will.retain))?;
    }
    w.str(c.time_server)
}

fn read_config<'a>(r: &mut Reader<'a>) -> Result<Config<'a>, ProtoError> {
    let flags = r.u8()?;
    if flags & !(USE_STORED | CLEAN | HAS_USERNAME | HAS_PASSWORD | HAS_WILL) != 0 {
        return Err(ProtoError::ReservedFlags);
    }
    let ssid = r.str()?;
    let wifi_password = r.binary()?;
    let broker = r.str()?;
    let port = r.u16()?;
    let client_id = r.str()?;
    let username = if flags & HAS_USERNAME != 0 {
        Some(r.str()?)
    } else {
        None
    };
    let password = if flags & HAS_PASSWORD != 0 {
        Some(r.binary()?)
    } else {
        None
    };
    let keepalive = r.u16()?;
    let ping_interval = r.u16()?;
    let max_repubs = r.u8()?;
    let response_time = r.u32()?;
    let will = if flags & HAS_WILL != 0 {
        let topic = r.str()?;
        check_name(topic).map_err(|_| ProtoError::BadTopic)?;
        Some(Will {
            topic,
            payload: r.binary()?,
            qos: read_qos(r)?,
            retain: r.bool()?,
        })
    } else {
        None
    };
    Ok(Config {
        ssid,
        wifi_password,
        use_stored: flags & USE_STORED != 0,
        broker,
        port,
        client_id,
        username,
        password,
        keepalive,
        ping_interval,
        max_repubs,
        clean: flags & CLEAN != 0,
        response_time,
        will,
        time_server: r.str()?,
    })
}

const STATUS_CODES: [Status; 10] = [
    Status::WifiUpStored,
    Status::WifiUpSpecified,
    Status::WifiDown,
    Status::NoNetwork,
    Status::BrokerUp,
    Status::BrokerDown,
    Status::WillAccepted,
    Status::Running,
    Status::Failed,
    Status::ConfigRejected,
];

fn status_code(s: Status) -> u8 {
    STATUS_CODES.iter().position(|&x| x == s).unwrap_or(0) as u8
}

fn status_from(code: u8) -> Result<Status, ProtoError> {
    STATUS_CODES
        .get(usize::from(code))
        .copied()
        .ok_or(ProtoError::BadValue)
}

const STATS_FIELDS: usize = 8;

fn stats_fields(s: &Stats) -> [u32; STATS_FIELDS] {
    [
        s.boot,
        s.uptime_s,
        s.wifi_drops,
        s.reconnects,
        s.messages_out,
        s.messages_in,
        s.frame_errors,
        s.stack_high_water,
    ]
}

fn stats_from(v: [u32; STATS_FIELDS]) -> Stats {
    Stats {
        boot: v[0],
        uptime_s: v[1],
        wifi_drops: v[2],
        reconnects: v[3],
        messages_out: v[4],
        messages_in: v[5],
        frame_errors: v[6],
        stack_high_water: v[7],
    }
}

#[cfg(test)]
mod tests;
