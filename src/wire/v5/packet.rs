//! The fifteen MQTT 5.0 control packets (§3) as borrowed views.
//!
//! The same shape as the 3.1.1 packets of `wire::packet`: fields borrow the
//! receive buffer (after [`Packet::decode`]) or the caller's data (before
//! [`Packet::encode`]). What 5.0 adds is a [`Properties`] block on almost
//! every packet, a [`ReasonCode`] on every acknowledgement, on DISCONNECT
//! and on AUTH, the options of each subscription, and AUTH itself.

use super::{Properties, ReasonCode, Subscriptions};
use crate::wire::{QoS, UnsubscribeTopics};

/// One MQTT 5.0 control packet.
///
/// ```
/// use limpet::wire::v5::{Packet, Properties, Property, Publish};
/// use limpet::wire::QoS;
///
/// let props = [Property::MessageExpiryInterval(60), Property::ContentType("text/plain")];
/// let sent = Packet::Publish(Publish {
///     dup: false,
///     qos: QoS::AtLeastOnce,
///     retain: false,
///     topic: "home/kitchen/temp",
///     pid: Some(7),
///     properties: Properties::new(&props),
///     payload: b"21.5",
/// });
/// let mut buf = [0u8; 64];
/// let n = sent.encode(&mut buf).unwrap();
/// let received = Packet::decode_from_server(&buf[..n]).unwrap();
/// assert_eq!(received, sent);
/// if let Packet::Publish(p) = received {
///     assert_eq!(
///         p.properties.get(limpet::wire::v5::PropertyId::ContentType),
///         Some(Property::ContentType("text/plain"))
///     );
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// CONNECT (§3.1): client to server, the first packet of a connection.
    Connect(Connect<'a>),
    /// CONNACK (§3.2): the server's answer to CONNECT.
    ConnAck(ConnAck<'a>),
    /// PUBLISH (§3.3): an application message, either way.
    Publish(Publish<'a>),
    /// PUBACK (§3.4): QoS 1 acknowledgement.
    PubAck(Ack<'a>),
    /// PUBREC (§3.5): QoS 2, part 1.
    PubRec(Ack<'a>),
    /// PUBREL (§3.6): QoS 2, part 2.
    PubRel(Ack<'a>),
    /// PUBCOMP (§3.7): QoS 2, part 3.
    PubComp(Ack<'a>),
    /// SUBSCRIBE (§3.8).
    Subscribe(Subscribe<'a>),
    /// SUBACK (§3.9).
    SubAck(SubAck<'a>),
    /// UNSUBSCRIBE (§3.10).
    Unsubscribe(Unsubscribe<'a>),
    /// UNSUBACK (§3.11).
    UnsubAck(UnsubAck<'a>),
    /// PINGREQ (§3.12).
    PingReq,
    /// PINGRESP (§3.13).
    PingResp,
    /// DISCONNECT (§3.14): either side closes, with a reason.
    Disconnect(Disconnect<'a>),
    /// AUTH (§3.15): a step of enhanced authentication.
    Auth(Auth<'a>),
}

/// CONNECT (§3.1). Protocol name "MQTT", version 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Client Identifier; may be empty, the server then assigns one (§3.1.3.1).
    pub client_id: &'a str,
    /// Seconds; 0 turns the keep alive off (§3.1.2.10).
    pub keep_alive: u16,
    /// Clean Start: discard any existing session (§3.1.2.4).
    pub clean_start: bool,
    /// CONNECT Properties (§3.1.2.11).
    pub properties: Properties<'a>,
    /// The will message (§3.1.2.5, §3.1.3.2–§3.1.3.4).
    pub will: Option<Will<'a>>,
    /// User Name (§3.1.3.5).
    pub username: Option<&'a str>,
    /// Password (§3.1.3.6); MQTT 5.0 allows one without a User Name (§3.1.2.9).
    pub password: Option<&'a [u8]>,
}

/// The will of a CONNECT (§3.1.2.5–§3.1.2.7, §3.1.3.2–§3.1.3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Will<'a> {
    /// Will Properties: delay, expiry, content type, response topic,
    /// correlation data, user properties (§3.1.3.2).
    pub properties: Properties<'a>,
    /// Will Topic, a topic name (§3.1.3.3).
    pub topic: &'a str,
    /// Will Payload (§3.1.3.4).
    pub payload: &'a [u8],
    /// Will QoS (§3.1.2.6).
    pub qos: QoS,
    /// Will Retain (§3.1.2.7).
    pub retain: bool,
}

/// CONNACK (§3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnAck<'a> {
    /// Session Present (§3.2.2.1.1).
    pub session_present: bool,
    /// Connect Reason Code (§3.2.2.2); 0x80 and above: refused.
    pub reason: ReasonCode,
    /// CONNACK Properties: what the server allows and assigns (§3.2.2.3).
    pub properties: Properties<'a>,
}

/// PUBLISH (§3.3). `pid` is `Some` exactly when `qos` is not `AtMostOnce`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publish<'a> {
    /// DUP (§3.3.1.1).
    pub dup: bool,
    /// QoS (§3.3.1.2).
    pub qos: QoS,
    /// RETAIN (§3.3.1.3).
    pub retain: bool,
    /// Topic Name; empty only with a Topic Alias property, which then
    /// stands for it (§3.3.2.1, §3.3.2.3.4).
    pub topic: &'a str,
    /// Packet Identifier, for QoS 1 and 2 (§3.3.2.2).
    pub pid: Option<u16>,
    /// PUBLISH Properties (§3.3.2.3); from the server, possibly several
    /// Subscription Identifiers.
    pub properties: Properties<'a>,
    /// Payload (§3.3.3).
    pub payload: &'a [u8],
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP (§3.4–§3.7): a packet identifier, a
/// reason code, properties. On the wire the reason code and the
/// properties may be left out (Success, none) (§3.4.2.1); encoding uses the
/// shortest form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack<'a> {
    /// Packet Identifier of the PUBLISH (or PUBREL) acknowledged.
    pub pid: u16,
    /// Reason Code (§3.4.2.1 PUBACK, §3.5.2.1, §3.6.2.1, §3.7.2.1).
    pub reason: ReasonCode,
    /// Reason String and User Properties (§3.4.2.2).
    pub properties: Properties<'a>,
}

impl Ack<'_> {
    /// A successful acknowledgement of `pid` with no properties: the
    /// two-byte short form (§3.4.2.1).
    pub const fn success(pid: u16) -> Ack<'static> {
        Ack {
            pid,
            reason: ReasonCode::Success,
            properties: Properties::NONE,
        }
    }
}

/// SUBSCRIBE (§3.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet Identifier, echoed by the SUBACK (§3.8.2).
    pub pid: u16,
    /// SUBSCRIBE Properties: a Subscription Identifier, User Properties (§3.8.2.1).
    pub properties: Properties<'a>,
    /// Topic filters with their options, at least one (§3.8.3).
    pub topics: Subscriptions<'a>,
}

/// SUBACK (§3.9): one reason code per filter of the SUBSCRIBE, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// Packet Identifier of the SUBSCRIBE answered.
    pub pid: u16,
    /// Reason String and User Properties (§3.9.2.1).
    pub properties: Properties<'a>,
    /// The reason code bytes, each one of §3.9.3's (validated when decoded
    /// and when encoded); read them typed with [`SubAck::reasons`].
    pub codes: &'a [u8],
}

/// UNSUBACK (§3.11): SUBACK's shape, with §3.11.3's reason codes.
pub type UnsubAck<'a> = SubAck<'a>;

impl SubAck<'_> {
    /// The reason codes, typed, in order.
    pub fn reasons(&self) -> impl Iterator<Item = ReasonCode> + '_ {
        self.codes.iter().filter_map(|&c| ReasonCode::from_u8(c))
    }
}

/// UNSUBSCRIBE (§3.10). The filters are 3.1.1's list: their encoding did
/// not change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet Identifier, echoed by the UNSUBACK (§3.10.2).
    pub pid: u16,
    /// User Properties (§3.10.2.1).
    pub properties: Properties<'a>,
    /// Topic filters, at least one (§3.10.3).
    pub topics: UnsubscribeTopics<'a>,
}

/// DISCONNECT (§3.14), from either side. A normal disconnection with no
/// properties is two bytes (§3.14.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disconnect<'a> {
    /// Disconnect Reason Code (§3.14.2.1).
    pub reason: ReasonCode,
    /// Session Expiry Interval, Reason String, User Properties, Server
    /// Reference (§3.14.2.2).
    pub properties: Properties<'a>,
}

/// AUTH (§3.15): a step of enhanced authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auth<'a> {
    /// Authenticate Reason Code: Success, Continue authentication or
    /// Re-authenticate (§3.15.2.1).
    pub reason: ReasonCode,
    /// Authentication Method and Data, Reason String, User Properties (§3.15.2.2).
    pub properties: Properties<'a>,
}

impl Packet<'_> {
    /// The packet type, the high nibble of the first byte (§2.1.2): 1..=15,
    /// AUTH being 15.
    pub fn type_number(&self) -> u8 {
        match self {
            Packet::Connect(_) => 1,
            Packet::ConnAck(_) => 2,
            Packet::Publish(_) => 3,
            Packet::PubAck(_) => 4,
            Packet::PubRec(_) => 5,
            Packet::PubRel(_) => 6,
            Packet::PubComp(_) => 7,
            Packet::Subscribe(_) => 8,
            Packet::SubAck(_) => 9,
            Packet::Unsubscribe(_) => 10,
            Packet::UnsubAck(_) => 11,
            Packet::PingReq => 12,
            Packet::PingResp => 13,
            Packet::Disconnect(_) => 14,
            Packet::Auth(_) => 15,
        }
    }
}

// CONNECT flags (§3.1.2.3, figure 3-4), as in 3.1.1.
pub(super) const CLEAN_START: u8 = 0x02;
pub(super) const WILL: u8 = 0x04;
pub(super) const WILL_QOS: u8 = 0x18;
pub(super) const WILL_RETAIN: u8 = 0x20;
pub(super) const PASSWORD: u8 = 0x40;
pub(super) const USERNAME: u8 = 0x80;
