//! Bytes to packets (MQTT 3.1.1 §2, §3): every field of a frame validated
//! once, so what [`Packet::decode`] returns can be read without checks.
//!
//! One function per packet type and one per field kind (packet identifier,
//! topic name, topic filter), each naming the clause it enforces; the
//! server-to-client types are behind [`Packet::decode_from_server`] so a
//! client links only the decoders it can need.

use super::{
    ConnAck, Connect, ConnectReturnCode, Packet, Publish, PublishHeader, SubAck, Subscribe,
    SubscribeTopics, Unsubscribe, UnsubscribeTopics, Will, CLEAN_SESSION, PASSWORD, USERNAME, WILL,
    WILL_QOS, WILL_RETAIN,
};
use crate::wire::frame::{Frame, PacketType};
use crate::wire::reader::Reader;
use crate::wire::topic::{check_filter, check_name};
use crate::wire::{DecodeError, QoS};

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
pub(super) fn topic_filter<'a>(r: &mut Reader<'a>) -> Result<&'a str, DecodeError> {
    let filter = r.str()?;
    check_filter(filter).map_err(|_| DecodeError::BadPayload)?;
    Ok(filter)
}

/// One SUBSCRIBE entry: filter and requested QoS byte, whose upper six bits
/// must be 0 and whose QoS must not be 3 [MQTT-3-8.3-4].
pub(super) fn subscription<'a>(r: &mut Reader<'a>) -> Result<(&'a str, QoS), DecodeError> {
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
pub(super) fn is_suback_code(code: u8) -> bool {
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
