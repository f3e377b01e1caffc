//! The fourteen MQTT 3.1.1 control packets (§3) as borrowed views.
//!
//! Decoding validates every field once ([`Packet::decode`]); what it returns
//! can be read without further checks. Two choices beyond the letter of the
//! spec, both so that every accepted packet re-encodes to the same bytes:
//! - a Topic Name (PUBLISH, and the Will Topic of CONNECT) must be non-empty
//!   and free of the wildcards `+` and `#` (§4.7.3, [MQTT-3.3.2-2]); a Topic
//!   Filter must be non-empty with its wildcards placed as §4.7.1 requires
//!   (see [`super::topic`]). Either failing is [`DecodeError::BadPayload`].
//! - DUP on a QoS 0 PUBLISH ([MQTT-3.3.1-2]) is tolerated both ways: decoded
//!   as sent, encoded as given.

use super::frame::{remaining_len_size, write_remaining_len, Frame, PacketType};
use super::reader::Reader;
use super::topic::{check_filter, check_name, TopicError};
use super::writer::Writer;
use super::{DecodeError, EncodeError, QoS, MAX_REMAINING_LENGTH};

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

// CONNECT flags (§3.1.2.3, figure 3.4).
const CLEAN_SESSION: u8 = 0x02;
const WILL: u8 = 0x04;
const WILL_QOS: u8 = 0x18;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;

// ---------------------------------------------------------------- decoding

impl<'a> Packet<'a> {
    /// Decodes one whole packet: `frame` must hold exactly the fixed header
    /// and `remaining_len` bytes (see [`Frame::parse`]), else
    /// [`DecodeError::FrameLength`]. Every field is validated here; the
    /// returned packet borrows `frame`.
    pub fn decode(frame: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
        let (f, body) = split(frame)?;
        match f.packet_type {
            PacketType::Connect => decode_connect(body).map(Packet::Connect),
            PacketType::Subscribe => decode_subscribe(body).map(Packet::Subscribe),
            PacketType::Unsubscribe => decode_unsubscribe(body).map(Packet::Unsubscribe),
            PacketType::PingReq => empty(body, Packet::PingReq),
            PacketType::Disconnect => empty(body, Packet::Disconnect),
            _ => decode_server_packet(f, body),
        }
    }

    /// [`Packet::decode`] for a client's receive path: the five packet types
    /// only a client sends (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ,
    /// DISCONNECT) are [`DecodeError::UnexpectedFromServer`], and their
    /// decoders are not linked in when only this function is used.
    pub fn decode_from_server(frame: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
        let (f, body) = split(frame)?;
        decode_server_packet(f, body)
    }

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

/// The fixed header and the body of a frame that must be exactly one packet.
fn split(frame: &[u8]) -> Result<(Frame, &[u8]), DecodeError> {
    let f = Frame::parse(frame)?.ok_or(DecodeError::FrameLength)?;
    match frame.get(f.header_len..) {
        Some(body) if body.len() == f.remaining_len => Ok((f, body)),
        _ => Err(DecodeError::FrameLength),
    }
}

/// The packet types a server sends (and PUBACK..PUBCOMP, which go both ways).
fn decode_server_packet(f: Frame, body: &[u8]) -> Result<Packet<'_>, DecodeError> {
    Ok(match f.packet_type {
        PacketType::ConnAck => Packet::ConnAck(decode_connack(body)?),
        PacketType::Publish => Packet::Publish(decode_publish(f.flags, body)?),
        PacketType::PubAck => Packet::PubAck(decode_id_only(body)?),
        PacketType::PubRec => Packet::PubRec(decode_id_only(body)?),
        PacketType::PubRel => Packet::PubRel(decode_id_only(body)?),
        PacketType::PubComp => Packet::PubComp(decode_id_only(body)?),
        PacketType::SubAck => Packet::SubAck(decode_suback(body)?),
        PacketType::UnsubAck => Packet::UnsubAck(decode_id_only(body)?),
        PacketType::PingResp => empty(body, Packet::PingResp)?,
        PacketType::Connect
        | PacketType::Subscribe
        | PacketType::Unsubscribe
        | PacketType::PingReq
        | PacketType::Disconnect => return Err(DecodeError::UnexpectedFromServer),
    })
}

/// PINGREQ, PINGRESP, DISCONNECT: no variable header, no payload (§3.12–§3.14).
fn empty<'a>(body: &[u8], p: Packet<'a>) -> Result<Packet<'a>, DecodeError> {
    Reader::new(body).end().map(|()| p)
}

/// A packet identifier, which must not be 0 (§2.3.1).
fn packet_id(r: &mut Reader<'_>) -> Result<u16, DecodeError> {
    match r.u16()? {
        0 => Err(DecodeError::ZeroPacketId),
        id => Ok(id),
    }
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: remaining length 2, the id
/// (§3.4–§3.7, §3.11).
fn decode_id_only(body: &[u8]) -> Result<u16, DecodeError> {
    let mut r = Reader::new(body);
    let id = packet_id(&mut r)?;
    r.end()?;
    Ok(id)
}

/// A Topic Name: non-empty [MQTT-4.7.3-1], no wildcards [MQTT-3.3.2-2], no
/// U+0000 [MQTT-4.7.3-2] (see [`check_name`]).
fn topic_name<'a>(r: &mut Reader<'a>) -> Result<&'a str, DecodeError> {
    let topic = r.str()?;
    check_name(topic).map_err(|_| DecodeError::BadPayload)?;
    Ok(topic)
}

/// A Topic Filter: non-empty [MQTT-4.7.3-1], wildcards where §4.7.1 allows
/// them (see [`check_filter`]).
fn topic_filter<'a>(r: &mut Reader<'a>) -> Result<&'a str, DecodeError> {
    let filter = r.str()?;
    check_filter(filter).map_err(|_| DecodeError::BadPayload)?;
    Ok(filter)
}

/// One SUBSCRIBE entry: filter and requested QoS byte, whose upper six bits
/// must be 0 and whose QoS must not be 3 [MQTT-3-8.3-4].
fn subscription<'a>(r: &mut Reader<'a>) -> Result<(&'a str, QoS), DecodeError> {
    let filter = topic_filter(r)?;
    let qos = QoS::from_bits(r.u8()?).ok_or(DecodeError::BadQoS)?;
    Ok((filter, qos))
}

/// Checks the CONNECT flags byte (§3.1.2.3–§3.1.2.9).
fn check_connect_flags(flags: u8) -> Result<(), DecodeError> {
    // [MQTT-3.1.2-3]: the reserved bit is 0.
    let reserved = flags & 0x01 != 0;
    // [MQTT-3.1.2-13], [MQTT-3.1.2-15]: no will QoS or retain without a will.
    let stray_will = flags & WILL == 0 && flags & (WILL_QOS | WILL_RETAIN) != 0;
    // [MQTT-3.1.2-22]: no password without a username.
    let lone_password = flags & PASSWORD != 0 && flags & USERNAME == 0;
    if reserved || stray_will || lone_password {
        return Err(DecodeError::BadConnect);
    }
    if flags & WILL_QOS == WILL_QOS {
        return Err(DecodeError::BadQoS); // [MQTT-3.1.2-14]
    }
    Ok(())
}

/// CONNECT (§3.1). Only protocol "MQTT" level 4 (3.1.1) is accepted.
fn decode_connect(body: &[u8]) -> Result<Connect<'_>, DecodeError> {
    let mut r = Reader::new(body);
    if r.binary()? != b"MQTT" || r.u8()? != 4 {
        return Err(DecodeError::BadConnect); // §3.1.2.1, §3.1.2.2
    }
    let flags = r.u8()?;
    let keep_alive = r.u16()?;
    check_connect_flags(flags)?;
    let client_id = r.str()?; // may be empty (§3.1.3.1)
    let will = if flags & WILL != 0 {
        Some(Will {
            topic: topic_name(&mut r)?,
            payload: r.binary()?,
            qos: QoS::from_bits((flags & WILL_QOS) >> 3).ok_or(DecodeError::BadQoS)?,
            retain: flags & WILL_RETAIN != 0,
        })
    } else {
        None
    };
    let username = if flags & USERNAME != 0 {
        Some(r.str()?)
    } else {
        None
    };
    let password = if flags & PASSWORD != 0 {
        Some(r.binary()?)
    } else {
        None
    };
    r.end()?;
    Ok(Connect {
        client_id,
        keep_alive,
        clean_session: flags & CLEAN_SESSION != 0,
        will,
        username,
        password,
    })
}

/// CONNACK (§3.2): acknowledge flags (bits 7–1 reserved, 0), return code ≤ 5.
/// Session Present with a non-zero code ([MQTT-3.2.2-4]) is accepted as sent.
fn decode_connack(body: &[u8]) -> Result<ConnAck, DecodeError> {
    let mut r = Reader::new(body);
    let flags = r.u8()?;
    let code = r.u8()?;
    r.end()?;
    if flags & !1 != 0 {
        return Err(DecodeError::BadConnAck);
    }
    Ok(ConnAck {
        session_present: flags != 0,
        code: ConnectReturnCode::from_u8(code).ok_or(DecodeError::BadConnAck)?,
    })
}

/// PUBLISH (§3.3): topic, packet id iff QoS > 0, payload = the rest (may be empty).
fn decode_publish(flags: u8, body: &[u8]) -> Result<Publish<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let h = decode_publish_header(flags, &mut r)?;
    Ok(Publish {
        dup: h.dup,
        qos: h.qos,
        retain: h.retain,
        topic: h.topic,
        pid: h.pid,
        payload: r.rest(),
    })
}

/// The fixed-header flags and variable header of a PUBLISH (§3.3.1, §3.3.2);
/// `r` is left at the payload. The two lengths are the caller's to fill.
fn decode_publish_header<'a>(
    flags: u8,
    r: &mut Reader<'a>,
) -> Result<PublishHeader<'a>, DecodeError> {
    let qos = QoS::from_bits((flags >> 1) & 3).ok_or(DecodeError::BadQoS)?;
    let topic = topic_name(r)?;
    let pid = match qos {
        QoS::AtMostOnce => None,
        _ => Some(packet_id(r)?),
    };
    Ok(PublishHeader {
        dup: flags & 0b1000 != 0,
        qos,
        retain: flags & 1 != 0,
        topic,
        pid,
        payload_start: 0,
        payload_len: 0,
    })
}

impl Publish<'_> {
    /// The encoded length of a PUBLISH with this topic, payload and QoS
    /// (§3.3): arithmetic only, no validation (see [`Packet::encoded_len`]).
    pub fn len_for(topic: &str, payload: &[u8], qos: QoS) -> usize {
        let id = if qos == QoS::AtMostOnce { 0 } else { 2 };
        let rest = 2 + topic.len() + id + payload.len();
        1 + remaining_len_size(rest) + rest
    }
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

impl<'a> PublishHeader<'a> {
    /// Reads the variable header of the PUBLISH `frame` from `prefix`, its
    /// first bytes. `Ok(None)`: `prefix` ends before the header does. Errors
    /// are those of [`Packet::decode`] for the same fields.
    pub fn parse(frame: &Frame, prefix: &'a [u8]) -> Result<Option<Self>, DecodeError> {
        if frame.packet_type != PacketType::Publish {
            return Err(DecodeError::FrameLength);
        }
        let end = prefix.len().min(frame.len());
        let Some(body) = prefix.get(frame.header_len..end) else {
            return Ok(None);
        };
        let complete = end == frame.len();
        let mut r = Reader::new(body);
        let header = decode_publish_header(frame.flags, &mut r);
        let header = match header {
            Err(DecodeError::Truncated) if !complete => return Ok(None),
            other => other?,
        };
        let payload_start = end - r.rest().len();
        Ok(Some(PublishHeader {
            payload_start,
            payload_len: frame.len() - payload_start,
            ..header
        }))
    }
}

/// SUBSCRIBE (§3.8): packet id, then at least one (filter, QoS) [MQTT-3.8.3-3].
fn decode_subscribe(body: &[u8]) -> Result<Subscribe<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let pid = packet_id(&mut r)?;
    let payload = r.rest();
    check_list(payload, |r| subscription(r).map(drop))?;
    Ok(Subscribe {
        pid,
        topics: SubscribeTopics::Wire(payload),
    })
}

/// UNSUBSCRIBE (§3.10): packet id, then at least one filter [MQTT-3.10.3-2].
fn decode_unsubscribe(body: &[u8]) -> Result<Unsubscribe<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let pid = packet_id(&mut r)?;
    let payload = r.rest();
    check_list(payload, |r| topic_filter(r).map(drop))?;
    Ok(Unsubscribe {
        pid,
        topics: UnsubscribeTopics::Wire(payload),
    })
}

/// Checks a non-empty list of `entry` filling `payload` exactly.
fn check_list(
    payload: &[u8],
    entry: fn(&mut Reader<'_>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut r = Reader::new(payload);
    if r.is_empty() {
        return Err(DecodeError::BadPayload);
    }
    while !r.is_empty() {
        entry(&mut r)?;
    }
    Ok(())
}

/// A SUBACK return code: granted QoS 0–2 or 0x80 failure [MQTT-3.9.3-2].
fn is_suback_code(code: u8) -> bool {
    code <= 2 || code == 0x80
}

/// SUBACK (§3.9): packet id, then at least one return code.
fn decode_suback(body: &[u8]) -> Result<SubAck<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let pid = packet_id(&mut r)?;
    let codes = r.rest();
    if codes.is_empty() || !codes.iter().all(|&c| is_suback_code(c)) {
        return Err(DecodeError::BadPayload);
    }
    Ok(SubAck { pid, codes })
}

// ------------------------------------------------------- topic list views

/// The entries of a topic list: those of `list`, then those parsed from
/// `wire` (validated by `decode`, or given by a caller when encoding),
/// stopping at the first one that does not parse.
struct Entries<'a, T> {
    list: &'a [T],
    wire: Reader<'a>,
    entry: fn(&mut Reader<'a>) -> Result<T, DecodeError>,
}

impl<'a, T: Copy> Iterator for Entries<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if let Some((&first, rest)) = self.list.split_first() {
            self.list = rest;
            return Some(first);
        }
        if self.wire.is_empty() {
            return None;
        }
        let item = (self.entry)(&mut self.wire).ok();
        if item.is_none() {
            self.wire = Reader::new(&[]);
        }
        item
    }
}

impl<'a> SubscribeTopics<'a> {
    /// The (filter, requested QoS) pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, QoS)> + 'a {
        let (list, wire): (&'a [(&'a str, QoS)], &'a [u8]) = match *self {
            SubscribeTopics::List(list) => (list, &[]),
            SubscribeTopics::Wire(wire) => (&[], wire),
        };
        Entries {
            list,
            wire: Reader::new(wire),
            entry: subscription,
        }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if there is no filter (never, once decoded).
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for SubscribeTopics<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SubscribeTopics<'_> {}

impl<'a> UnsubscribeTopics<'a> {
    /// The filters, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let (list, wire): (&'a [&'a str], &'a [u8]) = match *self {
            UnsubscribeTopics::List(list) => (list, &[]),
            UnsubscribeTopics::Wire(wire) => (&[], wire),
        };
        Entries {
            list,
            wire: Reader::new(wire),
            entry: topic_filter,
        }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if there is no filter (never, once decoded).
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for UnsubscribeTopics<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for UnsubscribeTopics<'_> {}

// ---------------------------------------------------------------- encoding
//
// One function per packet writes the body and validates it. It runs twice:
// first into a counting `Writer` (which checks everything but the buffer
// size and yields the remaining length), then into the caller's buffer.

impl Packet<'_> {
    /// Bytes [`Packet::encode`] will write: the whole packet, fixed header
    /// included. Fails as `encode` does, except for
    /// [`EncodeError::BufferTooSmall`].
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        let n = self.remaining_len()?;
        Ok(1 + remaining_len_size(n) + n)
    }

    /// Writes the packet at the start of `buf` and returns its length.
    ///
    /// Errors ([`EncodeError::Invalid`] and [`EncodeError::TooLong`] are
    /// found before anything is written, whatever the size of `buf`):
    /// - [`EncodeError::Invalid`]: a packet id of 0; a PUBLISH whose `pid`
    ///   is not `Some` exactly when QoS > 0; a topic name (PUBLISH, will)
    ///   that is empty or holds `+`, `#` or U+0000; a topic filter that is
    ///   empty, holds U+0000 or misplaces a wildcard (§4.7.1); an empty
    ///   filter list; an empty SUBACK code list or a code other than 0, 1, 2,
    ///   0x80; a password without a username.
    /// - [`EncodeError::TooLong`]: a string or binary field over 65,535
    ///   bytes, or a remaining length over [`MAX_REMAINING_LENGTH`].
    /// - [`EncodeError::BufferTooSmall`]: `buf` is shorter than
    ///   [`Packet::encoded_len`] (its first bytes may have been written).
    ///
    /// Other strings (client id, username) are not checked for U+0000 or
    /// ill-formed UTF-8 (a `&str` is well-formed by construction); the
    /// session checks everything an application gives it before queuing.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_with(self.first_byte(), buf, |w| self.write_body(w))
    }

    /// Type and flags (§2.2.1, §2.2.2).
    fn first_byte(&self) -> u8 {
        let t = self.packet_type();
        let flags = match self {
            Packet::Publish(p) => {
                (u8::from(p.dup) << 3) | ((p.qos as u8) << 1) | u8::from(p.retain)
            }
            _ => t.required_flags(),
        };
        ((t as u8) << 4) | flags
    }

    /// Validates the packet and returns its remaining length (§2.2.3).
    fn remaining_len(&self) -> Result<usize, EncodeError> {
        let mut counter = Writer::counter();
        self.write_body(&mut counter)?;
        match counter.position() {
            n if n > MAX_REMAINING_LENGTH => Err(EncodeError::TooLong),
            n => Ok(n),
        }
    }

    /// Variable header and payload.
    fn write_body(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match self {
            Packet::Connect(c) => write_connect(c, w),
            Packet::ConnAck(a) => {
                w.u8(u8::from(a.session_present))?;
                w.u8(a.code as u8)
            }
            Packet::Publish(p) => write_publish(p, w),
            Packet::PubAck(id)
            | Packet::PubRec(id)
            | Packet::PubRel(id)
            | Packet::PubComp(id)
            | Packet::UnsubAck(id) => write_id(*id, w),
            Packet::Subscribe(s) => write_subscribe(s, w),
            Packet::SubAck(s) => {
                write_id(s.pid, w)?;
                if !s.codes.iter().all(|&c| is_suback_code(c)) {
                    return Err(EncodeError::Invalid);
                }
                w.bytes(s.codes)?;
                non_empty(s.codes.len())
            }
            Packet::Unsubscribe(u) => write_unsubscribe(u, w),
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => Ok(()),
        }
    }
}

/// Validates the body by writing it into a counter, then writes the fixed
/// header and the body into `buf` (§2.2).
fn encode_with(
    first: u8,
    buf: &mut [u8],
    body: impl Fn(&mut Writer<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    let mut counter = Writer::counter();
    body(&mut counter)?;
    let n = counter.position();
    if n > MAX_REMAINING_LENGTH {
        return Err(EncodeError::TooLong);
    }
    let mut w = Writer::new(buf);
    w.u8(first)?;
    write_remaining_len(&mut w, n)?;
    body(&mut w)?;
    Ok(w.position())
}

// One encoder per packet a client sends, so a client links only those it
// uses (`Packet::encode` links them all).

impl Connect<'_> {
    /// [`Packet::encode`] for a CONNECT.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_with(0x10, buf, |w| write_connect(self, w))
    }

    /// [`Packet::encoded_len`] for a CONNECT.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        let mut counter = Writer::counter();
        write_connect(self, &mut counter)?;
        let n = counter.position();
        Ok(1 + remaining_len_size(n) + n)
    }
}

impl Publish<'_> {
    /// [`Packet::encode`] for a PUBLISH.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let flags = (u8::from(self.dup) << 3) | ((self.qos as u8) << 1) | u8::from(self.retain);
        encode_with(0x30 | flags, buf, |w| write_publish(self, w))
    }
}

impl Subscribe<'_> {
    /// The encoded length of a SUBSCRIBE for one filter (§3.8): arithmetic
    /// only, no validation.
    pub fn len_for(filter: &str) -> usize {
        let rest = 2 + 2 + filter.len() + 1;
        1 + remaining_len_size(rest) + rest
    }

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

/// [`Packet::encode`] for the packets that are a type and an id: PUBACK,
/// PUBREC, PUBREL, PUBCOMP, UNSUBACK (§3.4–§3.7, §3.11), or just a type
/// (`pid` `None`): PINGREQ, PINGRESP, DISCONNECT (§3.12–§3.14). Four or two
/// bytes; `Invalid` for an id of 0 or a type that is neither.
pub fn encode_short(t: PacketType, pid: Option<u16>, buf: &mut [u8]) -> Result<usize, EncodeError> {
    let first = ((t as u8) << 4) | t.required_flags();
    let with_id = matches!(
        t,
        PacketType::PubAck
            | PacketType::PubRec
            | PacketType::PubRel
            | PacketType::PubComp
            | PacketType::UnsubAck
    );
    let empty = matches!(
        t,
        PacketType::PingReq | PacketType::PingResp | PacketType::Disconnect
    );
    let (bytes, n) = match pid {
        Some(id) if with_id && id != 0 => {
            let [hi, lo] = id.to_be_bytes();
            ([first, 2, hi, lo], 4)
        }
        None if empty => ([first, 0, 0, 0], 2),
        _ => return Err(EncodeError::Invalid),
    };
    let dst = buf.get_mut(..n).ok_or(EncodeError::BufferTooSmall)?;
    dst.copy_from_slice(&bytes[..n]);
    Ok(n)
}

/// SUBSCRIBE (§3.8.2, §3.8.3): id, then (filter, QoS)* — at least one [MQTT-3.8.3-3].
fn write_subscribe(s: &Subscribe<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    write_id(s.pid, w)?;
    match s.topics {
        SubscribeTopics::List(list) => {
            for &(filter, qos) in list {
                write_filter(filter, w)?;
                w.u8(qos as u8)?;
            }
            non_empty(list.len())
        }
        // Already a valid payload: re-encoding a decoded packet copies it,
        // so senders never link the decoder.
        SubscribeTopics::Wire(bytes) => {
            w.bytes(bytes)?;
            non_empty(bytes.len())
        }
    }
}

/// UNSUBSCRIBE (§3.10.2, §3.10.3): id, then filters — at least one [MQTT-3.10.3-2].
fn write_unsubscribe(u: &Unsubscribe<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    write_id(u.pid, w)?;
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

fn non_empty(n: usize) -> Result<(), EncodeError> {
    if n == 0 {
        Err(EncodeError::Invalid)
    } else {
        Ok(())
    }
}

/// A packet id, which must not be 0 (§2.3.1).
fn write_id(id: u16, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    if id == 0 {
        return Err(EncodeError::Invalid);
    }
    w.u16(id)
}

fn write_topic_name(topic: &str, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    check_name(topic).map_err(topic_error)?;
    w.str(topic)
}

fn write_filter(filter: &str, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    check_filter(filter).map_err(topic_error)?;
    w.str(filter)
}

fn topic_error(e: TopicError) -> EncodeError {
    match e {
        TopicError::TooLong => EncodeError::TooLong,
        _ => EncodeError::Invalid,
    }
}

fn connect_flags(c: &Connect<'_>) -> u8 {
    let mut flags = 0;
    if c.clean_session {
        flags |= CLEAN_SESSION;
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

/// CONNECT (§3.1.2, §3.1.3): protocol "MQTT" level 4, flags, keep alive,
/// then client id, will topic + message, username, password.
fn write_connect(c: &Connect<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    if c.password.is_some() && c.username.is_none() {
        return Err(EncodeError::Invalid); // [MQTT-3.1.2-22]
    }
    w.bytes(&[0, 4, b'M', b'Q', b'T', b'T', 4, connect_flags(c)])?;
    w.u16(c.keep_alive)?;
    w.str(c.client_id)?;
    if let Some(will) = &c.will {
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

/// PUBLISH (§3.3.2, §3.3.3): topic, packet id exactly when QoS > 0, payload.
fn write_publish(p: &Publish<'_>, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    write_topic_name(p.topic, w)?;
    match (p.qos, p.pid) {
        (QoS::AtMostOnce, None) => {}
        (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(id)) => write_id(id, w)?,
        _ => return Err(EncodeError::Invalid),
    }
    w.bytes(p.payload)
}

#[cfg(test)]
mod tests {
    // std only for the one test that cannot run on bare metal (below).
    #[cfg(not(target_os = "none"))]
    extern crate std;
    use super::*;
    #[cfg(not(target_os = "none"))]
    use std::vec;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    fn is_client_only(p: &Packet<'_>) -> bool {
        matches!(
            p,
            Packet::Connect(_)
                | Packet::Subscribe(_)
                | Packet::Unsubscribe(_)
                | Packet::PingReq
                | Packet::Disconnect
        )
    }

    /// `bytes` decodes to `packet`, which encodes back to `bytes`; every
    /// shorter buffer is too small.
    fn check(bytes: &[u8], packet: Packet<'_>) {
        assert_eq!(Packet::decode(bytes), Ok(packet), "decode {bytes:02x?}");
        let from_server = Packet::decode_from_server(bytes);
        if is_client_only(&packet) {
            assert_eq!(from_server, Err(DecodeError::UnexpectedFromServer));
        } else {
            assert_eq!(from_server, Ok(packet));
        }
        let f = Frame::parse(bytes).unwrap().unwrap();
        assert_eq!(f.len(), bytes.len());
        assert_eq!(f.packet_type, packet.packet_type());
        assert_eq!(packet.encoded_len(), Ok(bytes.len()));
        let mut storage = [0u8; 64];
        let buf = &mut storage[..bytes.len() + 3];
        assert_eq!(packet.encode(buf), Ok(bytes.len()));
        assert_eq!(&buf[..bytes.len()], bytes);
        for short in 0..bytes.len() {
            assert_eq!(
                packet.encode(&mut buf[..short]),
                Err(EncodeError::BufferTooSmall),
                "encode into {short}"
            );
        }
    }

    fn decode_err(bytes: &[u8]) -> DecodeError {
        Packet::decode(bytes).unwrap_err()
    }

    #[test]
    fn connect_full() {
        // Variable header of §3.1.2.10 figure 3.6: flags 0xCE = username,
        // password, will QoS 1, will, clean session; keep alive 10.
        let bytes = [
            0x10, 35, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xCE, 0, 10, // header
            0, 6, b'l', b'i', b'm', b'p', b'e', b't', // client id
            0, 3, b'w', b'/', b't', 0, 3, b'b', b'y', b'e', // will
            0, 1, b'u', 0, 2, 1, 2, // username, password
        ];
        let p = Packet::Connect(Connect {
            client_id: "limpet",
            keep_alive: 10,
            clean_session: true,
            will: Some(Will {
                topic: "w/t",
                payload: b"bye",
                qos: QoS::AtLeastOnce,
                retain: false,
            }),
            username: Some("u"),
            password: Some(&[1, 2]),
        });
        check(&bytes, p);
    }

    #[test]
    fn connect_minimal_and_will_retain() {
        let p = Packet::Connect(Connect {
            client_id: "",
            keep_alive: 60,
            clean_session: true,
            will: None,
            username: None,
            password: None,
        });
        check(
            &[0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0],
            p,
        );
        let p = Packet::Connect(Connect {
            client_id: "c",
            keep_alive: 0x1234,
            clean_session: false,
            will: Some(Will {
                topic: "t",
                payload: b"",
                qos: QoS::ExactlyOnce,
                retain: true,
            }),
            username: Some(""),
            password: None,
        });
        let bytes = [
            0x10, 20, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xB4, 0x12, 0x34, 0, 1, b'c', 0, 1, b't', 0,
            0, 0, 0,
        ];
        check(&bytes, p);
    }

    #[test]
    fn connect_errors() {
        let good = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0];
        let with = |i: usize, b: u8| {
            let mut v = good;
            v[i] = b;
            decode_err(&v)
        };
        assert_eq!(with(4, b'X'), DecodeError::BadConnect); // protocol name
        assert_eq!(with(8, 3), DecodeError::BadConnect); // level
        assert_eq!(with(9, 0x03), DecodeError::BadConnect); // reserved bit
        assert_eq!(with(9, 0x08), DecodeError::BadConnect); // will QoS without will
        assert_eq!(with(9, 0x20), DecodeError::BadConnect); // will retain without will
        assert_eq!(with(9, 0x40), DecodeError::BadConnect); // password without username
        assert_eq!(with(9, 0x1C), DecodeError::BadQoS); // will QoS 3
        assert_eq!(with(9, 0x80), DecodeError::Truncated); // username missing
        assert_eq!(with(9, 0x04), DecodeError::Truncated); // will missing
        assert_eq!(with(13, 1), DecodeError::Truncated); // client id past end
        let mqisdp = [
            0x10, 14, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 0x02, 0, 60, 0, 0,
        ];
        assert_eq!(decode_err(&mqisdp), DecodeError::BadConnect);
        let trailing = [
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0, 9,
        ];
        assert_eq!(decode_err(&trailing), DecodeError::TrailingBytes);
        let bad_id = [
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, 0xFF,
        ];
        assert_eq!(decode_err(&bad_id), DecodeError::BadUtf8);
        // Will topic with a wildcard.
        let will = [
            0x10, 17, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x06, 0, 60, 0, 0, 0, 1, b'#', 0, 0,
        ];
        assert_eq!(decode_err(&will), DecodeError::BadPayload);
        assert_eq!(decode_err(&[0x10, 0]), DecodeError::Truncated);
    }

    #[test]
    fn connack() {
        let p = |session_present, code| {
            Packet::ConnAck(ConnAck {
                session_present,
                code,
            })
        };
        check(&[0x20, 2, 0, 0], p(false, ConnectReturnCode::Accepted));
        check(&[0x20, 2, 1, 0], p(true, ConnectReturnCode::Accepted));
        check(
            &[0x20, 2, 0, 1],
            p(false, ConnectReturnCode::UnacceptableProtocolVersion),
        );
        check(
            &[0x20, 2, 0, 2],
            p(false, ConnectReturnCode::IdentifierRejected),
        );
        check(
            &[0x20, 2, 0, 3],
            p(false, ConnectReturnCode::ServerUnavailable),
        );
        check(
            &[0x20, 2, 0, 4],
            p(false, ConnectReturnCode::BadUserNameOrPassword),
        );
        check(&[0x20, 2, 0, 5], p(false, ConnectReturnCode::NotAuthorized));
        for code in 0..=255u8 {
            let c = ConnectReturnCode::from_u8(code);
            assert_eq!(
                c.map(|c| c as u8),
                if code <= 5 { Some(code) } else { None }
            );
        }
        assert_eq!(decode_err(&[0x20, 2, 2, 0]), DecodeError::BadConnAck);
        assert_eq!(decode_err(&[0x20, 2, 0x80, 0]), DecodeError::BadConnAck);
        assert_eq!(decode_err(&[0x20, 2, 0, 6]), DecodeError::BadConnAck);
        assert_eq!(decode_err(&[0x20, 1, 0]), DecodeError::Truncated);
        assert_eq!(decode_err(&[0x20, 3, 0, 0, 0]), DecodeError::TrailingBytes);
        assert_eq!(decode_err(&[0x21, 2, 0, 0]), DecodeError::BadFlags);
    }

    #[test]
    fn a_connack_with_any_reserved_acknowledge_flag_bit_set_is_refused() {
        // §3.2.2.1: bits 7–1 of the Connect Acknowledge Flags are reserved
        // and MUST be 0; only bit 0 (Session Present) may be set. §4.8: the
        // receiver closes the connection, so decoding refuses it.
        for flags in 0..=255u8 {
            for code in [0u8, 5] {
                let frame = [0x20, 2, flags, code];
                let want = match flags {
                    0 | 1 => Ok(Packet::ConnAck(ConnAck {
                        session_present: flags == 1,
                        code: ConnectReturnCode::from_u8(code).unwrap(),
                    })),
                    _ => Err(DecodeError::BadConnAck),
                };
                assert_eq!(Packet::decode(&frame), want, "flags {flags:#04x}");
                assert_eq!(
                    Packet::decode_from_server(&frame),
                    want,
                    "flags {flags:#04x}"
                );
            }
        }
    }

    #[test]
    fn publish() {
        // §3.3.2.3 figure 3.11: topic "a/b", packet id 10.
        let p = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "a/b",
            pid: Some(10),
            payload: b"hi",
        });
        check(&[0x32, 9, 0, 3, b'a', b'/', b'b', 0, 10, b'h', b'i'], p);
        let p = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: true,
            topic: "a/b",
            pid: None,
            payload: b"",
        });
        check(&[0x31, 5, 0, 3, b'a', b'/', b'b'], p);
        let p = Packet::Publish(Publish {
            dup: true,
            qos: QoS::ExactlyOnce,
            retain: false,
            topic: "a/b",
            pid: Some(0x1234),
            payload: b"",
        });
        check(&[0x3C, 7, 0, 3, b'a', b'/', b'b', 0x12, 0x34], p);
        // DUP on QoS 0 is tolerated (see module docs).
        let p = Packet::Publish(Publish {
            dup: true,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "ü",
            pid: None,
            payload: &[0],
        });
        check(&[0x38, 5, 0, 2, 0xC3, 0xBC, 0], p);
    }

    #[test]
    fn publish_large_payload() {
        let mut bytes = [0u8; 7 + 16_384 - 3];
        bytes[..7].copy_from_slice(&[0x30, 0x80, 0x80, 0x01, 0, 1, b't']);
        for (i, b) in bytes[7..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let payload = &bytes[7..];
        let p = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "t",
            pid: None,
            payload,
        });
        assert_eq!(Packet::decode(&bytes), Ok(p));
        assert_eq!(p.encoded_len(), Ok(bytes.len()));
        let mut buf = [0u8; 7 + 16_384 - 3];
        assert_eq!(p.encode(&mut buf), Ok(bytes.len()));
        assert_eq!(buf, bytes);
        assert_eq!(
            p.encode(&mut buf[..bytes.len() - 1]),
            Err(EncodeError::BufferTooSmall)
        );
    }

    #[test]
    fn publish_errors() {
        assert_eq!(
            decode_err(&[0x36, 5, 0, 3, b'a', b'/', b'b']),
            DecodeError::BadQoS
        );
        assert_eq!(decode_err(&[0x30, 3, 0, 5, b'a']), DecodeError::Truncated);
        assert_eq!(decode_err(&[0x30, 1, 0]), DecodeError::Truncated);
        assert_eq!(decode_err(&[0x32, 3, 0, 1, b'a']), DecodeError::Truncated); // no id
        assert_eq!(
            decode_err(&[0x32, 5, 0, 1, b'a', 0, 0]),
            DecodeError::ZeroPacketId
        );
        assert_eq!(decode_err(&[0x30, 3, 0, 1, 0xC3]), DecodeError::BadUtf8);
        assert_eq!(decode_err(&[0x30, 3, 0, 1, 0]), DecodeError::BadUtf8);
        assert_eq!(decode_err(&[0x30, 2, 0, 0]), DecodeError::BadPayload); // empty topic
        assert_eq!(
            decode_err(&[0x30, 4, 0, 2, b'a', b'+']),
            DecodeError::BadPayload
        );
        assert_eq!(decode_err(&[0x30, 3, 0, 1, b'#']), DecodeError::BadPayload);
    }

    #[test]
    fn id_only_packets() {
        check(&[0x40, 2, 0, 10], Packet::PubAck(10));
        check(&[0x50, 2, 0xFF, 0xFF], Packet::PubRec(0xFFFF));
        check(&[0x62, 2, 1, 0], Packet::PubRel(0x100));
        check(&[0x70, 2, 0, 1], Packet::PubComp(1));
        check(&[0xB0, 2, 0, 10], Packet::UnsubAck(10));
        for first in [0x40, 0x50, 0x62, 0x70, 0xB0] {
            assert_eq!(decode_err(&[first, 2, 0, 0]), DecodeError::ZeroPacketId);
            assert_eq!(decode_err(&[first, 1, 1]), DecodeError::Truncated);
            assert_eq!(decode_err(&[first, 0]), DecodeError::Truncated);
            assert_eq!(decode_err(&[first, 3, 0, 1, 0]), DecodeError::TrailingBytes);
        }
        assert_eq!(decode_err(&[0x60, 2, 0, 1]), DecodeError::BadFlags);
    }

    #[test]
    fn subscribe() {
        // §3.8.3 figure 3.23: "a/b" QoS 1, "c/d" QoS 2; packet id 10.
        let bytes = [
            0x82, 14, 0, 10, 0, 3, b'a', b'/', b'b', 1, 0, 3, b'c', b'/', b'd', 2,
        ];
        let list = [("a/b", QoS::AtLeastOnce), ("c/d", QoS::ExactlyOnce)];
        let p = Packet::Subscribe(Subscribe {
            pid: 10,
            topics: SubscribeTopics::List(&list),
        });
        check(&bytes, p);
        let Ok(Packet::Subscribe(s)) = Packet::decode(&bytes) else {
            panic!()
        };
        assert!(matches!(s.topics, SubscribeTopics::Wire(_)));
        assert_eq!(s.topics.len(), 2);
        assert!(!s.topics.is_empty());
        assert_eq!(s.topics.iter().collect::<heapless::Vec<_, 4>>(), list);
        assert_eq!(s.topics, SubscribeTopics::List(&list));
        assert_ne!(s.topics, SubscribeTopics::List(&list[..1]));
        assert!(SubscribeTopics::List(&[]).is_empty());
        assert!(SubscribeTopics::Wire(&[]).is_empty());
        // Wildcards are fine in filters.
        let p = Packet::Subscribe(Subscribe {
            pid: 1,
            topics: SubscribeTopics::List(&[("#", QoS::AtMostOnce)]),
        });
        check(&[0x82, 6, 0, 1, 0, 1, b'#', 0], p);
    }

    #[test]
    fn subscribe_errors() {
        assert_eq!(decode_err(&[0x82, 2, 0, 1]), DecodeError::BadPayload);
        assert_eq!(decode_err(&[0x82, 2, 0, 0]), DecodeError::ZeroPacketId);
        assert_eq!(
            decode_err(&[0x82, 6, 0, 1, 0, 1, b'a', 3]),
            DecodeError::BadQoS
        );
        assert_eq!(
            decode_err(&[0x82, 6, 0, 1, 0, 1, b'a', 4]),
            DecodeError::BadQoS
        );
        assert_eq!(
            decode_err(&[0x82, 6, 0, 1, 0, 1, b'a', 0x81]),
            DecodeError::BadQoS
        );
        assert_eq!(
            decode_err(&[0x82, 5, 0, 1, 0, 1, b'a']),
            DecodeError::Truncated
        );
        assert_eq!(
            decode_err(&[0x82, 5, 0, 1, 0, 0, 0]),
            DecodeError::BadPayload
        );
        assert_eq!(
            decode_err(&[0x82, 6, 0, 1, 0, 1, 0xFE, 0]),
            DecodeError::BadUtf8
        );
        assert_eq!(decode_err(&[0x80, 2, 0, 1]), DecodeError::BadFlags);
    }

    #[test]
    fn suback() {
        // §3.9.3 figure 3.26: granted QoS 0, granted QoS 2, failure.
        let p = Packet::SubAck(SubAck {
            pid: 10,
            codes: &[0, 2, 0x80],
        });
        check(&[0x90, 5, 0, 10, 0, 2, 0x80], p);
        check(
            &[0x90, 3, 0, 1, 1],
            Packet::SubAck(SubAck {
                pid: 1,
                codes: &[1],
            }),
        );
        assert_eq!(decode_err(&[0x90, 2, 0, 1]), DecodeError::BadPayload);
        assert_eq!(decode_err(&[0x90, 3, 0, 1, 3]), DecodeError::BadPayload);
        assert_eq!(
            decode_err(&[0x90, 4, 0, 1, 0, 0x81]),
            DecodeError::BadPayload
        );
        assert_eq!(decode_err(&[0x90, 3, 0, 0, 0]), DecodeError::ZeroPacketId);
    }

    #[test]
    fn unsubscribe() {
        // §3.10.3 figure 3.30: "a/b", "c/d".
        let bytes = [
            0xA2, 12, 0, 10, 0, 3, b'a', b'/', b'b', 0, 3, b'c', b'/', b'd',
        ];
        let list = ["a/b", "c/d"];
        let p = Packet::Unsubscribe(Unsubscribe {
            pid: 10,
            topics: UnsubscribeTopics::List(&list),
        });
        check(&bytes, p);
        let Ok(Packet::Unsubscribe(u)) = Packet::decode(&bytes) else {
            panic!()
        };
        assert_eq!(u.topics.len(), 2);
        assert_eq!(u.topics.iter().collect::<heapless::Vec<_, 4>>(), list);
        assert_eq!(u.topics, UnsubscribeTopics::List(&list));
        assert_ne!(u.topics, UnsubscribeTopics::List(&list[1..]));
        assert!(UnsubscribeTopics::List(&[]).is_empty());
        assert_eq!(decode_err(&[0xA2, 2, 0, 1]), DecodeError::BadPayload);
        assert_eq!(decode_err(&[0xA2, 4, 0, 1, 0, 0]), DecodeError::BadPayload);
        assert_eq!(decode_err(&[0xA2, 4, 0, 1, 0, 1]), DecodeError::Truncated);
        assert_eq!(decode_err(&[0xA2, 5, 0, 1, 0, 1, 0]), DecodeError::BadUtf8);
        assert_eq!(
            decode_err(&[0xA2, 5, 0, 0, 0, 1, b'a']),
            DecodeError::ZeroPacketId
        );
    }

    #[test]
    fn wire_lists_stop_at_garbage_and_encode_verbatim() {
        // Wire lists are only produced by `decode`; one built by hand that
        // does not parse is read up to its first bad entry, and encoding
        // copies the bytes as given (re-encoding a decoded packet).
        let t = SubscribeTopics::Wire(&[0, 1, b'a', 1, 0, 9]);
        assert_eq!(t.len(), 1);
        let p = Packet::Subscribe(Subscribe { pid: 1, topics: t });
        let mut buf = [0u8; 16];
        assert_eq!(p.encode(&mut buf), Ok(10));
        assert_eq!(&buf[..10], &[0x82, 8, 0, 1, 0, 1, b'a', 1, 0, 9]);
        let u = UnsubscribeTopics::Wire(&[0, 5]);
        assert_eq!(u.len(), 0);
        let p = Packet::Unsubscribe(Unsubscribe { pid: 1, topics: u });
        assert_eq!(p.encode(&mut buf), Ok(6));
        let p = Packet::Unsubscribe(Unsubscribe {
            pid: 1,
            topics: UnsubscribeTopics::Wire(&[]),
        });
        assert_eq!(p.encode(&mut buf), Err(EncodeError::Invalid));
    }

    #[test]
    fn empty_packets() {
        check(&[0xC0, 0], Packet::PingReq);
        check(&[0xD0, 0], Packet::PingResp);
        check(&[0xE0, 0], Packet::Disconnect);
        assert_eq!(decode_err(&[0xD0, 1, 0]), DecodeError::TrailingBytes);
        assert_eq!(decode_err(&[0xC0, 1, 0]), DecodeError::TrailingBytes);
        assert_eq!(decode_err(&[0xE0, 1, 0]), DecodeError::TrailingBytes);
        assert_eq!(decode_err(&[0xE2, 0]), DecodeError::BadFlags);
    }

    #[test]
    fn frame_errors() {
        assert_eq!(decode_err(&[]), DecodeError::FrameLength);
        assert_eq!(decode_err(&[0x40]), DecodeError::FrameLength);
        assert_eq!(decode_err(&[0x40, 2, 0]), DecodeError::FrameLength);
        assert_eq!(decode_err(&[0x40, 2, 0, 1, 0xD0]), DecodeError::FrameLength);
        assert_eq!(decode_err(&[0x00, 0]), DecodeError::ReservedPacketType);
        assert_eq!(decode_err(&[0xF0, 0]), DecodeError::ReservedPacketType);
        assert_eq!(
            decode_err(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            DecodeError::BadRemainingLength
        );
        assert_eq!(
            decode_err(&[0xD0, 0x80, 0x00]),
            DecodeError::BadRemainingLength
        );
        for e in [DecodeError::FrameLength, DecodeError::ReservedPacketType] {
            let bytes: &[u8] = if e == DecodeError::FrameLength {
                &[0xD0]
            } else {
                &[0xF0, 0]
            };
            assert_eq!(Packet::decode_from_server(bytes), Err(e));
        }
    }

    #[test]
    fn client_only_types_from_server() {
        for bytes in [
            &[0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0][..],
            &[0x82, 6, 0, 1, 0, 1, b'a', 0],
            &[0xA2, 5, 0, 1, 0, 1, b'a'],
            &[0xC0, 0],
            &[0xE0, 0],
            // Even when malformed: the type alone decides.
            &[0x10, 0],
            &[0xE0, 1, 0],
        ] {
            assert_eq!(
                Packet::decode_from_server(bytes),
                Err(DecodeError::UnexpectedFromServer),
                "{bytes:02x?}"
            );
        }
    }

    fn publish_with(topic: &str, qos: QoS, pid: Option<u16>) -> Packet<'_> {
        Packet::Publish(Publish {
            dup: false,
            qos,
            retain: false,
            topic,
            pid,
            payload: b"",
        })
    }

    #[test]
    fn encode_invalid() {
        let mut buf = [0u8; 64];
        let invalid = [
            Packet::PubAck(0),
            Packet::PubRec(0),
            Packet::PubRel(0),
            Packet::PubComp(0),
            Packet::UnsubAck(0),
            publish_with("t", QoS::AtLeastOnce, None),
            publish_with("t", QoS::ExactlyOnce, Some(0)),
            publish_with("t", QoS::AtMostOnce, Some(1)),
            publish_with("", QoS::AtMostOnce, None),
            publish_with("a/+", QoS::AtMostOnce, None),
            publish_with("a/#", QoS::AtMostOnce, None),
            publish_with("a\0", QoS::AtMostOnce, None),
            Packet::Subscribe(Subscribe {
                pid: 1,
                topics: SubscribeTopics::List(&[]),
            }),
            Packet::Subscribe(Subscribe {
                pid: 0,
                topics: SubscribeTopics::List(&[("a", QoS::AtMostOnce)]),
            }),
            Packet::Subscribe(Subscribe {
                pid: 1,
                topics: SubscribeTopics::List(&[("a", QoS::AtMostOnce), ("", QoS::AtMostOnce)]),
            }),
            Packet::Unsubscribe(Unsubscribe {
                pid: 1,
                topics: UnsubscribeTopics::List(&[]),
            }),
            Packet::Unsubscribe(Unsubscribe {
                pid: 0,
                topics: UnsubscribeTopics::List(&["a"]),
            }),
            Packet::Unsubscribe(Unsubscribe {
                pid: 1,
                topics: UnsubscribeTopics::List(&[""]),
            }),
            Packet::SubAck(SubAck { pid: 1, codes: &[] }),
            Packet::SubAck(SubAck {
                pid: 1,
                codes: &[3],
            }),
            Packet::SubAck(SubAck {
                pid: 0,
                codes: &[0],
            }),
            Packet::Connect(Connect {
                client_id: "c",
                keep_alive: 0,
                clean_session: true,
                will: None,
                username: None,
                password: Some(b"p"),
            }),
            Packet::Connect(Connect {
                client_id: "c",
                keep_alive: 0,
                clean_session: true,
                will: Some(Will {
                    topic: "+",
                    payload: b"",
                    qos: QoS::AtMostOnce,
                    retain: false,
                }),
                username: None,
                password: None,
            }),
        ];
        for p in invalid {
            assert_eq!(p.encoded_len(), Err(EncodeError::Invalid), "{p:?}");
            assert_eq!(p.encode(&mut buf), Err(EncodeError::Invalid), "{p:?}");
            // Validation comes before the buffer size check.
            assert_eq!(p.encode(&mut []), Err(EncodeError::Invalid), "{p:?}");
        }
    }

    #[test]
    fn encode_too_long() {
        let long = [b'a'; 65_536];
        let long_str = core::str::from_utf8(&long).unwrap();
        let max_str = &long_str[..65_535];
        let mut buf = [0u8; 70_000];
        let connect = |client_id, username, password| {
            Packet::Connect(Connect {
                client_id,
                keep_alive: 0,
                clean_session: true,
                will: None,
                username,
                password,
            })
        };
        let too_long = [
            publish_with(long_str, QoS::AtMostOnce, None),
            connect(long_str, None, None),
            connect("", Some(long_str), None),
            connect("", Some(""), Some(&long[..])),
            Packet::Connect(Connect {
                client_id: "",
                keep_alive: 0,
                clean_session: true,
                will: Some(Will {
                    topic: "t",
                    payload: &long,
                    qos: QoS::AtMostOnce,
                    retain: false,
                }),
                username: None,
                password: None,
            }),
        ];
        for p in too_long {
            assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
            assert_eq!(p.encode(&mut buf), Err(EncodeError::TooLong));
        }
        let list = [(long_str, QoS::AtMostOnce)];
        let p = Packet::Subscribe(Subscribe {
            pid: 1,
            topics: SubscribeTopics::List(&list),
        });
        assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
        let list = [long_str];
        let p = Packet::Unsubscribe(Unsubscribe {
            pid: 1,
            topics: UnsubscribeTopics::List(&list),
        });
        assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
        // 65,535 bytes is fine.
        let p = publish_with(max_str, QoS::AtMostOnce, None);
        assert_eq!(p.encoded_len(), Ok(1 + 3 + 2 + 65_535));
        let n = p.encode(&mut buf).unwrap();
        assert_eq!(Packet::decode(&buf[..n]), Ok(p));
    }

    // A 256 MiB payload: lazily zeroed host memory, not a microcontroller's.
    #[cfg(not(target_os = "none"))]
    #[test]
    fn encode_max_remaining_length() {
        // The payload is never touched by encoded_len, and a zeroed
        // allocation is not backed by memory until written.
        let payload = vec![0u8; MAX_REMAINING_LENGTH - 3];
        let p = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "t",
            pid: None,
            payload: &payload,
        });
        assert_eq!(p.encoded_len(), Ok(1 + 4 + MAX_REMAINING_LENGTH));
        assert_eq!(p.encode(&mut [0u8; 64]), Err(EncodeError::BufferTooSmall));
        let payload = vec![0u8; MAX_REMAINING_LENGTH - 2];
        let p = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "t",
            pid: None,
            payload: &payload,
        });
        assert_eq!(p.encoded_len(), Err(EncodeError::TooLong));
    }
}
