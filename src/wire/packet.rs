//! The fourteen MQTT 3.1.1 control packets (§3) as borrowed views.
//!
//! Decoding validates every field once ([`Packet::decode`]); what it returns
//! can be read without further checks. Two choices beyond the letter of the
//! spec, both so that every accepted packet re-encodes to the same bytes:
//! - a Topic Name (PUBLISH, and the Will Topic of CONNECT) must be non-empty
//!   and free of the wildcards `+` and `#` (§4.7.3, [MQTT-3.3.2-2]); a Topic
//!   Filter must be non-empty with its wildcards placed as §4.7.1 requires
//!   (see [`super::topic`]). Either failing is
//!   [`DecodeError::BadPayload`](super::DecodeError::BadPayload).
//! - DUP on a QoS 0 PUBLISH ([MQTT-3.3.1-2]) is tolerated both ways: decoded
//!   as sent, encoded as given.
//!
//! This file holds the packets as types; each direction is a file of its
//! own, so a reader finds a rule where it is enforced and a firmware links
//! only the direction it uses: [`decode`] (bytes in, validated once),
//! [`encode`] (packets out, validated before anything is written) and
//! [`lists`] (the topic lists of SUBSCRIBE and UNSUBSCRIBE, read the same
//! way whether the caller gave them or they were decoded).

mod decode;
pub(super) mod encode;
pub(super) mod lists;
#[cfg(test)]
mod tests;

pub use encode::encode_short;

use super::{PacketType, QoS};

/// One MQTT control packet. Fields borrow either the receive buffer (after
/// [`Packet::decode`]) or the caller's data (before [`Packet::encode`]).
///
/// A QoS 1 PUBLISH encoded, then received in two steps: the fixed header
/// says how long the packet is, then the whole packet is decoded.
///
/// ```
/// use limpet::wire::{Frame, Packet, Publish, QoS};
///
/// let sent = Packet::Publish(Publish {
///     dup: false,
///     qos: QoS::AtLeastOnce,
///     retain: false,
///     topic: "home/kitchen/temp",
///     pid: Some(7),
///     payload: b"21.5",
/// });
/// let mut buf = [0u8; 64];
/// let n = sent.encode(&mut buf).unwrap();
/// assert_eq!(sent.encoded_len(), Ok(n));
///
/// // The first bytes are enough to know how many more to wait for (§2.2.3).
/// let frame = Frame::parse(&buf[..2]).unwrap().unwrap();
/// assert_eq!(frame.len(), n);
/// // The whole packet decodes to what was sent; its fields borrow `buf`.
/// let received = Packet::decode(&buf[..frame.len()]).unwrap();
/// assert_eq!(received, sent);
/// if let Packet::Publish(p) = received {
///     assert_eq!((p.topic, p.payload), ("home/kitchen/temp", &b"21.5"[..]));
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// CONNECT (§3.1): client to server, the first packet of a connection.
    Connect(Connect<'a>),
    /// CONNACK (§3.2): the server's answer to CONNECT.
    ConnAck(ConnAck),
    /// PUBLISH (§3.3): an application message, either way.
    Publish(Publish<'a>),
    /// PUBACK (§3.4): acknowledges the QoS 1 PUBLISH with this packet identifier.
    PubAck(u16),
    /// PUBREC (§3.5): QoS 2, the PUBLISH with this packet identifier arrived.
    PubRec(u16),
    /// PUBREL (§3.6): QoS 2, the sender releases this packet identifier.
    PubRel(u16),
    /// PUBCOMP (§3.7): QoS 2, the exchange for this packet identifier is complete.
    PubComp(u16),
    /// SUBSCRIBE (§3.8): the client asks for topic filters.
    Subscribe(Subscribe<'a>),
    /// SUBACK (§3.9): the server's answer to SUBSCRIBE.
    SubAck(SubAck<'a>),
    /// UNSUBSCRIBE (§3.10): the client drops topic filters.
    Unsubscribe(Unsubscribe<'a>),
    /// UNSUBACK (§3.11): acknowledges the UNSUBSCRIBE with this packet identifier.
    UnsubAck(u16),
    /// PINGREQ (§3.12): the client's keepalive probe.
    PingReq,
    /// PINGRESP (§3.13): the server's answer to PINGREQ.
    PingResp,
    /// DISCONNECT (§3.14): the client closes cleanly; the will is not published.
    Disconnect,
}

/// CONNECT (§3.1). Protocol name "MQTT", level 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Client identifier; may be empty with a clean session (§3.1.3.1).
    pub client_id: &'a str,
    /// Seconds; 0 turns the broker's keepalive check off (§3.1.2.10).
    pub keep_alive: u16,
    /// Clean Session: discard any earlier session (§3.1.2.4).
    pub clean_session: bool,
    /// The will message the server publishes if the connection is lost (§3.1.2.5).
    pub will: Option<Will<'a>>,
    /// User Name (§3.1.2.8, §3.1.3.4).
    pub username: Option<&'a str>,
    /// Only allowed with a username (§3.1.2.9).
    pub password: Option<&'a [u8]>,
}

/// Last will and testament carried in CONNECT (§3.1.2.5–§3.1.2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Will<'a> {
    /// Will Topic: a topic name, no wildcards (§3.1.3.2).
    pub topic: &'a str,
    /// Will Message (§3.1.3.3).
    pub payload: &'a [u8],
    /// Will QoS (§3.1.2.6).
    pub qos: QoS,
    /// Will Retain (§3.1.2.7).
    pub retain: bool,
}

/// CONNACK (§3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnAck {
    /// Session Present: the server kept the session (§3.2.2.2).
    pub session_present: bool,
    /// Connect Return code (§3.2.2.3).
    pub code: ConnectReturnCode,
}

/// CONNACK return codes (§3.2.2.3, table 3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ConnectReturnCode {
    /// 0: connection accepted.
    Accepted = 0,
    /// 1: the server does not support protocol level 4.
    UnacceptableProtocolVersion = 1,
    /// 2: the client identifier is not allowed.
    IdentifierRejected = 2,
    /// 3: the MQTT service is unavailable.
    ServerUnavailable = 3,
    /// 4: the user name or password is malformed.
    BadUserNameOrPassword = 4,
    /// 5: the client is not authorized to connect.
    NotAuthorized = 5,
}

/// PUBLISH (§3.3). `pid` is `Some` exactly when `qos` is not `AtMostOnce`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publish<'a> {
    /// DUP: this may be a re-delivery (§3.3.1.1).
    pub dup: bool,
    /// QoS level (§3.3.1.2).
    pub qos: QoS,
    /// RETAIN: the server keeps it for future subscribers (§3.3.1.3).
    pub retain: bool,
    /// Topic Name, no wildcards (§3.3.2.1).
    pub topic: &'a str,
    /// Packet Identifier, present for QoS 1 and 2 (§3.3.2.2).
    pub pid: Option<u16>,
    /// Application message, possibly empty (§3.3.3).
    pub payload: &'a [u8],
}

/// SUBSCRIBE (§3.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet Identifier, echoed by the SUBACK (§3.8.2).
    pub pid: u16,
    /// Topic filters and requested QoS, at least one (§3.8.3).
    pub topics: SubscribeTopics<'a>,
}

/// The topic filters of a SUBSCRIBE: a list when encoding, the validated
/// payload bytes when decoded. Compare and iterate them the same way.
#[derive(Clone, Copy, Debug)]
pub enum SubscribeTopics<'a> {
    /// The caller's (filter, requested QoS) pairs, validated when encoded.
    List(&'a [(&'a str, QoS)]),
    /// Validated SUBSCRIBE payload: (u16 length, filter, requested QoS byte)*,
    /// as `decode` produces it. Encoding copies it verbatim.
    Wire(&'a [u8]),
}

/// SUBACK (§3.9). Each code is 0, 1, 2 (granted QoS) or 0x80 (failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// Packet Identifier of the SUBSCRIBE answered (§3.9.2).
    pub pid: u16,
    /// One return code per filter, in order (§3.9.3).
    pub codes: &'a [u8],
}

/// UNSUBSCRIBE (§3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet Identifier, echoed by the UNSUBACK (§3.10.2).
    pub pid: u16,
    /// Topic filters, at least one (§3.10.3).
    pub topics: UnsubscribeTopics<'a>,
}

/// The topic filters of an UNSUBSCRIBE, as for [`SubscribeTopics`].
#[derive(Clone, Copy, Debug)]
pub enum UnsubscribeTopics<'a> {
    /// The caller's filters, validated when encoded.
    List(&'a [&'a str]),
    /// Validated UNSUBSCRIBE payload: (u16 length, filter)*, as `decode`
    /// produces it. Encoding copies it verbatim.
    Wire(&'a [u8]),
}

/// The variable header of a PUBLISH (§3.3.2), read before its payload has
/// arrived: what a receiver needs to hand a message over in pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishHeader<'a> {
    /// DUP (§3.3.1.1).
    pub dup: bool,
    /// QoS level (§3.3.1.2).
    pub qos: QoS,
    /// RETAIN (§3.3.1.3).
    pub retain: bool,
    /// Topic Name (§3.3.2.1).
    pub topic: &'a str,
    /// Packet Identifier, present for QoS 1 and 2 (§3.3.2.2).
    pub pid: Option<u16>,
    /// Bytes from the start of the frame to the first payload byte.
    pub payload_start: usize,
    /// Bytes of payload the whole packet carries.
    pub payload_len: usize,
}

impl ConnectReturnCode {
    /// The code for a CONNACK return code byte; `None` above 5 (§3.2.2.3).
    pub fn from_u8(code: u8) -> Option<ConnectReturnCode> {
        use ConnectReturnCode::*;
        Some(match code {
            0 => Accepted,
            1 => UnacceptableProtocolVersion,
            2 => IdentifierRejected,
            3 => ServerUnavailable,
            4 => BadUserNameOrPassword,
            5 => NotAuthorized,
            _ => return None,
        })
    }
}

impl Packet<'_> {
    /// The packet's type, as in its fixed header.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect => PacketType::Disconnect,
        }
    }
}

// CONNECT flags (§3.1.2.3, figure 3.4).
const CLEAN_SESSION: u8 = 0x02;
const WILL: u8 = 0x04;
const WILL_QOS: u8 = 0x18;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;
