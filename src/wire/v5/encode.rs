//! MQTT 5.0 packets to bytes (§2, §3), into the caller's buffer.
//!
//! As for 3.1.1 (and with its `encode_with`): each packet's body is written
//! once into a counting writer, which validates it (property blocks
//! included: what decoding would refuse is [`EncodeError::Invalid`]) and
//! yields the remaining length, then into the caller's buffer. One encoder
//! per packet a client sends beside [`Packet::encode`], so a client links
//! only those it uses.
//!
//! The short forms are chosen whenever they say the same thing: an
//! acknowledgement with Success and no properties is its packet identifier
//! alone (§3.4.2.1); one with another reason and no properties leaves the
//! Property Length out (§3.4.2.2.1); a DISCONNECT with Normal disconnection
//! and no properties is empty (§3.14.2.1). DISCONNECT and AUTH always
//! carry their Property Length after a reason code (see `write_disconnect`;
//! §3.15.2.2.1 does not let AUTH leave it out).

use super::packet::{CLEAN_START, PASSWORD, USERNAME, WILL, WILL_RETAIN};
use super::reason::ReasonIn;
use super::{
    Ack, Auth, Carrier, ConnAck, Connect, Disconnect, Packet, Properties, PropertyId, Publish,
    ReasonCode, SubAck, Subscribe, Subscriptions, Unsubscribe,
};
use crate::wire::frame::remaining_len_size;
use crate::wire::packet::encode::{
    encode_with, non_empty, write_filter, write_id, write_topic_name,
};
use crate::wire::writer::Writer;
use crate::wire::{EncodeError, PacketType, QoS, UnsubscribeTopics, MAX_REMAINING_LENGTH};

impl Packet<'_> {
    /// Bytes [`Packet::encode`] will write, fixed header included. Fails as
    /// `encode` does, except for [`EncodeError::BufferTooSmall`].
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        let mut counter = Writer::counter();
        self.write_body(&mut counter)?;
        packet_len(counter.position())
    }

    /// Writes the packet at the start of `buf` and returns its length.
    ///
    /// Errors ([`EncodeError::Invalid`] and [`EncodeError::TooLong`] are
    /// found before anything is written):
    /// - [`EncodeError::Invalid`]: a property block decoding would refuse
    ///   for this packet (see [`Properties::check`]); a reason code the
    ///   packet may not carry (§2.4); a packet identifier of 0; a PUBLISH
    ///   whose `pid` is not `Some` exactly when QoS > 0, or whose topic is
    ///   empty without a Topic Alias or is not a valid topic name; a topic
    ///   filter that is not valid (§4.7); an empty filter or reason code list.
    /// - [`EncodeError::TooLong`]: a string or binary field over 65,535
    ///   bytes, or a packet over the 268,435,455-byte remaining length.
    /// - [`EncodeError::BufferTooSmall`]: `buf` is shorter than
    ///   [`Packet::encoded_len`].
    ///
    /// Whether a client may send it is the session's business: a client
    /// MUST NOT send a Subscription Identifier in a PUBLISH [MQTT-3.3.4-6],
    /// nor a Topic Alias above the server's maximum [MQTT-3.3.2-9].
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_with(self.first_byte(), buf, |w| self.write_body(w))
    }

    /// Type and flags (§2.1.2, §2.1.3).
    fn first_byte(&self) -> u8 {
        let flags = match self {
            Packet::Publish(p) => publish_flags(p),
            Packet::PubRel(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) => 0b0010,
            _ => 0,
        };
        (self.type_number() << 4) | flags
    }

    fn write_body(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let ack = |a: &Ack<'_>, t, w: &mut Writer<'_>| write_ack(a, t, w);
        match self {
            Packet::Connect(c) => write_connect(c, w),
            Packet::ConnAck(a) => write_connack(a, w),
            Packet::Publish(p) => write_publish(p, w),
            Packet::PubAck(a) => ack(a, PacketType::PubAck, w),
            Packet::PubRec(a) => ack(a, PacketType::PubRec, w),
            Packet::PubRel(a) => ack(a, PacketType::PubRel, w),
            Packet::PubComp(a) => ack(a, PacketType::PubComp, w),
            Packet::Subscribe(s) => write_subscribe(s, w),
            Packet::SubAck(s) => write_suback(s, PacketType::SubAck, w),
            Packet::Unsubscribe(u) => write_unsubscribe(u, w),
            Packet::UnsubAck(s) => write_suback(s, PacketType::UnsubAck, w),
            Packet::PingReq | Packet::PingResp => Ok(()),
            Packet::Disconnect(d) => write_disconnect(d, w),
            Packet::Auth(a) => write_auth(a, w),
        }
    }
}

/// The whole packet's length for a body of `n` bytes (§2.1.4).
fn packet_len(n: usize) -> Result<usize, EncodeError> {
    if n > MAX_REMAINING_LENGTH {
        return Err(EncodeError::TooLong);
    }
    Ok(1 + remaining_len_size(n) + n)
}

fn publish_flags(p: &Publish<'_>) -> u8 {
    (u8::from(p.dup) << 3) | ((p.qos as u8) << 1) | u8::from(p.retain)
}

// One encoder per packet a client sends (`Packet::encode` links them all).

impl Connect<'_> {
    /// [`Packet::encode`] for a CONNECT.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_with(0x10, buf, |w| write_connect(self, w))
    }

    /// [`Packet::encoded_len`] for a CONNECT.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        let mut counter = Writer::counter();
        write_connect(self, &mut counter)?;
        packet_len(counter.position())
    }
}

impl Publish<'_> {
    /// [`Packet::encode`] for a PUBLISH.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_with(0x30 | publish_flags(self), buf, |w| write_publish(self, w))
    }

    /// [`Packet::encoded_len`] for a PUBLISH: what a client compares with
    /// the server's Maximum Packet Size (§3.2.2.3.6).
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        let mut counter = Writer::counter();
        write_publish(self, &mut counter)?;
        packet_len(counter.position())
    }
}

impl Ack<'_> {
    /// [`Packet::encode`] for a PUBACK, PUBREC, PUBREL or PUBCOMP (`t`);
    /// `Invalid` for another type.
    pub fn encode(&self, t: PacketType, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let flags = match t {
            PacketType::PubRel => 0b0010,
            PacketType::PubAck | PacketType::PubRec | PacketType::PubComp => 0,
            _ => return Err(EncodeError::Invalid),
        };
        encode_with(((t as u8) << 4) | flags, buf, |w| write_ack(self, t, w))
    }
}

impl Subscribe<'_> {
    /// [`Packet::encode`] for a SUBSCRIBE.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_with(0x82, buf, |w| write_subscribe(self, w))
    }
}

impl Unsubscribe<'_> {
    /// [`Packet::encode`] for an UNSUBSCRIBE.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_with(0xA2, buf, |w| write_unsubscribe(self, w))
    }
}

impl Disconnect<'_> {
    /// [`Packet::encode`] for a DISCONNECT.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_with(0xE0, buf, |w| write_disconnect(self, w))
    }
}

/// A reason code `packet` may carry (§2.4).
fn write_reason(code: ReasonCode, packet: ReasonIn, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    if !code.allowed_in(packet) {
        return Err(EncodeError::Invalid);
    }
    w.u8(code as u8)
}

fn connect_flags(c: &Connect<'_>) -> u8 {
    let mut flags = 0;
    if c.clean_start {
        flags |= CLEAN_START;
    }
    if let Some(will) = &c.will {
        flags |= WILL | ((will.qos as u8) << 3);
        if will.retain {
            flags |= WILL_RETAIN;
        }
    }
    if c.username.is_some() {
        flags |= USERNAME;
    }
    if c.password.is_some() {
        flags |= PASSWORD;
    }
    flags
}

/// CONNECT (§3.1.2, §3.1.3): "MQTT" version 5, flags, keep alive,
/// properties; then client id, will properties + topic + payload, user
/// name, password.
fn write_connect(c: &Connect<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    w.bytes(&[0, 4, b'M', b'Q', b'T', b'T', 5, connect_flags(c)])?;
    w.u16(c.keep_alive)?;
    c.properties.write(Carrier::Connect, w)?;
    w.str(c.client_id)?;
    if let Some(will) = &c.will {
        will.properties.write(Carrier::Will, w)?;
        write_topic_name(will.topic, w)?;
        w.binary(will.payload)?;
    }
    if let Some(user) = c.username {
        w.str(user)?;
    }
    if let Some(pass) = c.password {
        w.binary(pass)?;
    }
    Ok(())
}

/// CONNACK (§3.2.2): flags, reason code, properties.
fn write_connack(a: &ConnAck<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    w.u8(u8::from(a.session_present))?;
    write_reason(a.reason, ReasonIn::Packet(PacketType::ConnAck), w)?;
    a.properties.write(Carrier::ConnAck, w)
}

/// PUBLISH (§3.3.2, §3.3.3): topic (empty only with a Topic Alias),
/// packet identifier exactly when QoS > 0, properties, payload.
fn write_publish(p: &Publish<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    if p.topic.is_empty() {
        if p.properties.get(PropertyId::TopicAlias).is_none() {
            return Err(EncodeError::Invalid); // §3.3.2.1
        }
        w.str("")?;
    } else {
        write_topic_name(p.topic, w)?;
    }
    match (p.qos, p.pid) {
        (QoS::AtMostOnce, None) => {}
        (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(id)) => write_id(id, w)?,
        _ => return Err(EncodeError::Invalid),
    }
    p.properties.write(Carrier::Publish, w)?;
    w.bytes(p.payload)
}

/// PUBACK..PUBCOMP (§3.4.2–§3.7.2) in their shortest form.
fn write_ack(a: &Ack<'_>, t: PacketType, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    write_id(a.pid, w)?;
    let packet = ReasonIn::Packet(t);
    let carrier = match t {
        PacketType::PubAck => Carrier::PubAck,
        PacketType::PubRec => Carrier::PubRec,
        PacketType::PubRel => Carrier::PubRel,
        _ => Carrier::PubComp,
    };
    write_reason_block(a.reason, &a.properties, packet, carrier, false, w)
}

/// A reason code and properties that may be left out: nothing for
/// Success and no properties, the code alone for no properties (unless
/// `keep_length`), else both.
fn write_reason_block(
    reason: ReasonCode,
    properties: &Properties<'_>,
    packet: ReasonIn,
    carrier: Carrier,
    keep_length: bool,
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    if properties.is_empty() {
        if reason == ReasonCode::Success {
            // Still refuse a code the packet cannot carry (none: 0x00 is
            // in every column of these packets).
            return Ok(());
        }
        write_reason(reason, packet, w)?;
        if !keep_length {
            return Ok(());
        }
    } else {
        write_reason(reason, packet, w)?;
    }
    properties.write(carrier, w)
}

/// SUBSCRIBE (§3.8.2, §3.8.3): packet identifier, properties, then
/// (filter, options)* — at least one [MQTT-3.8.3-2].
fn write_subscribe(s: &Subscribe<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    write_id(s.pid, w)?;
    s.properties.write(Carrier::Subscribe, w)?;
    write_subscriptions(&s.topics, w)
}

fn write_subscriptions(t: &Subscriptions<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    for &(filter, options) in t.list() {
        write_filter(filter, w)?;
        w.u8(options.to_byte())?;
    }
    // A decoded payload, already valid: copied as received.
    w.bytes(t.wire())?;
    non_empty(t.list().len() + t.wire().len())
}

/// UNSUBSCRIBE (§3.10.2, §3.10.3): packet identifier, properties, filters.
fn write_unsubscribe(u: &Unsubscribe<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    write_id(u.pid, w)?;
    u.properties.write(Carrier::Unsubscribe, w)?;
    match u.topics {
        UnsubscribeTopics::List(list) => {
            for &filter in list {
                write_filter(filter, w)?;
            }
            non_empty(list.len())
        }
        UnsubscribeTopics::Wire(bytes) => {
            w.bytes(bytes)?;
            non_empty(bytes.len())
        }
    }
}

/// SUBACK, UNSUBACK (§3.9, §3.11): packet identifier, properties, reason
/// codes from the packet's list, at least one.
fn write_suback(s: &SubAck<'_>, t: PacketType, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    write_id(s.pid, w)?;
    let carrier = if t == PacketType::SubAck {
        Carrier::SubAck
    } else {
        Carrier::UnsubAck
    };
    s.properties.write(carrier, w)?;
    for &c in s.codes {
        let code = ReasonCode::from_u8(c).ok_or(EncodeError::Invalid)?;
        write_reason(code, ReasonIn::Packet(t), w)?;
    }
    non_empty(s.codes.len())
}

/// DISCONNECT (§3.14.2): empty for a normal disconnection without
/// properties, else the reason code and the properties with their length.
/// §3.14.2.2.1 would let the length go after a lone reason code, but some
/// receivers read one after any reason code (mqttbytes 0.6, found by the
/// oracle test), and a DISCONNECT is the one packet whose reason must get
/// through: one byte more is cheap.
fn write_disconnect(d: &Disconnect<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    let packet = ReasonIn::Packet(PacketType::Disconnect);
    write_reason_block(
        d.reason,
        &d.properties,
        packet,
        Carrier::Disconnect,
        true,
        w,
    )
}

/// AUTH (§3.15.2): empty for Success without properties, else the reason
/// code and the properties, with their length.
fn write_auth(a: &Auth<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    write_reason_block(
        a.reason,
        &a.properties,
        ReasonIn::Auth,
        Carrier::Auth,
        true,
        w,
    )
}
