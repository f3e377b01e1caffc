//! Bytes to MQTT 5.0 packets (§2, §3): every field of a frame validated
//! once, property blocks included, so what [`Packet::decode`] returns can be
//! read without checks.
//!
//! The fixed header is 3.1.1's ([`Frame::parse`]) except for AUTH, type 15,
//! which 3.1.1 reserves: its header is read as a DISCONNECT's (flags 0, the
//! same remaining length), see [`frame_len`]. The fields 5.0 shares with
//! 3.1.1 are read by the same reader and checked by the same topic rules.

use super::packet::{CLEAN_START, PASSWORD, USERNAME, WILL, WILL_QOS, WILL_RETAIN};
use super::reason::{check as reason, ReasonIn};
use super::{
    Ack, Auth, Carrier, ConnAck, Connect, DecodeError, Disconnect, Packet, Properties, Publish,
    ReasonCode, SubAck, Subscribe, Subscriptions, Unsubscribe, Will,
};
use crate::wire::reader::Reader;
use crate::wire::topic::{check_filter, check_name};
use crate::wire::{
    DecodeError as WireError, Frame, PacketType, PublishHeader, QoS, UnsubscribeTopics,
};

/// The high nibble of AUTH's first byte (§2.1.2).
const AUTH: u8 = 15;

/// The fixed header of a frame that may be AUTH: the type's number (1..=15)
/// with the flags, header length and remaining length, as [`Frame::parse`]
/// reads them for the other fourteen.
fn header(buf: &[u8]) -> Result<Option<(u8, Frame)>, WireError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first >> 4 != AUTH {
        return Ok(Frame::parse(buf)?.map(|f| (f.packet_type as u8, f)));
    }
    if first & 0x0F != 0 {
        return Err(WireError::BadFlags); // §2.1.3: AUTH's flags are 0
    }
    // DISCONNECT's first byte in front of AUTH's remaining length.
    let mut copy = [0xE0, 0, 0, 0, 0];
    let n = buf.len().min(5);
    for (slot, &b) in copy.iter_mut().zip(buf).skip(1) {
        *slot = b;
    }
    Ok(Frame::parse(copy.get(..n).unwrap_or(&[]))?.map(|f| (AUTH, f)))
}

/// The length of the whole packet starting at `buf` (fixed header and
/// remaining length, §2.1), AUTH included; `Ok(None)` until the fixed
/// header has arrived. Errors as [`Frame::parse`]'s.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    Ok(header(buf)?.map(|(_, f)| f.len()))
}

impl<'a> Packet<'a> {
    /// Decodes one whole MQTT 5.0 packet: `frame` must hold exactly the
    /// fixed header and its remaining length (see [`frame_len`]), else
    /// `Packet(FrameLength)`. Every field and property is validated here;
    /// the returned packet borrows `frame`.
    pub fn decode(frame: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
        let (t, f, body) = split(frame)?;
        match t {
            1 => decode_connect(body).map(Packet::Connect),
            8 => decode_subscribe(body).map(Packet::Subscribe),
            10 => decode_unsubscribe(body).map(Packet::Unsubscribe),
            12 => empty(body, Packet::PingReq),
            _ => decode_server_packet(t, f, body),
        }
    }

    /// [`Packet::decode`] for a client's receive path: the packets only a
    /// client sends (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ) are
    /// `Packet(UnexpectedFromServer)`, and their decoders are not linked
    /// when only this function is used. DISCONNECT and AUTH come from
    /// servers too in MQTT 5.0.
    pub fn decode_from_server(frame: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
        let (t, f, body) = split(frame)?;
        decode_server_packet(t, f, body)
    }
}

/// The header of an MQTT 5.0 PUBLISH `frame` from `prefix`, its first
/// bytes, for a receiver that takes the payload in pieces: 3.1.1's
/// [`PublishHeader`] (topic, packet identifier), with `payload_start` and
/// `payload_len` past the property block, and the block itself,
/// validated. `Ok(None)`: `prefix` ends before the property block does.
/// An empty Topic Name is refused here (`Packet(BadPayload)`), Topic Alias
/// or not: a receiver taking pieces cannot have announced aliases.
pub fn publish_header<'a>(
    frame: &Frame,
    prefix: &'a [u8],
) -> Result<Option<(PublishHeader<'a>, Properties<'a>)>, DecodeError> {
    let Some(h) = PublishHeader::parse(frame, prefix)? else {
        return Ok(None);
    };
    let end = prefix.len().min(frame.len());
    let rest = prefix.get(h.payload_start..end).unwrap_or(&[]);
    let complete = end == frame.len();
    // The Property Length, and whether the whole block is in `prefix`.
    let mut r = Reader::new(rest);
    let len = match r.var_int() {
        Ok(len) => len as usize,
        Err(_) if !complete => return Ok(None),
        Err(e) => return Err(super::property::property_error(e).into()),
    };
    let block = rest.len() - r.rest().len() + len;
    if block > rest.len() {
        return if complete {
            Err(super::PropertyError::Truncated.into())
        } else {
            Ok(None)
        };
    }
    let properties = properties(&mut Reader::new(rest), Carrier::Publish)?;
    let payload_start = h.payload_start + block;
    Ok(Some((
        PublishHeader {
            payload_start,
            payload_len: frame.len() - payload_start,
            ..h
        },
        properties,
    )))
}

/// The type number, fixed header and body of a frame that must be exactly
/// one packet.
fn split(frame: &[u8]) -> Result<(u8, Frame, &[u8]), DecodeError> {
    let (t, f) = header(frame)?.ok_or(WireError::FrameLength)?;
    match frame.get(f.header_len..) {
        Some(body) if body.len() == f.remaining_len => Ok((t, f, body)),
        _ => Err(WireError::FrameLength.into()),
    }
}

fn decode_server_packet(t: u8, f: Frame, body: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let ack = |t| decode_ack(body, ReasonIn::Packet(t));
    Ok(match t {
        2 => Packet::ConnAck(decode_connack(body)?),
        3 => Packet::Publish(decode_publish(f.flags, body)?),
        4 => Packet::PubAck(ack(PacketType::PubAck)?),
        5 => Packet::PubRec(ack(PacketType::PubRec)?),
        6 => Packet::PubRel(ack(PacketType::PubRel)?),
        7 => Packet::PubComp(ack(PacketType::PubComp)?),
        9 => Packet::SubAck(decode_suback(body, PacketType::SubAck)?),
        11 => Packet::UnsubAck(decode_suback(body, PacketType::UnsubAck)?),
        13 => empty(body, Packet::PingResp)?,
        14 => {
            let (reason, properties) =
                decode_reason_block(body, ReasonIn::Packet(PacketType::Disconnect))?;
            Packet::Disconnect(Disconnect { reason, properties })
        }
        AUTH => {
            let (reason, properties) = decode_reason_block(body, ReasonIn::Auth)?;
            Packet::Auth(Auth { reason, properties })
        }
        _ => return Err(WireError::UnexpectedFromServer.into()),
    })
}

/// PINGREQ, PINGRESP: no variable header, no payload (§3.12, §3.13).
fn empty<'a>(body: &[u8], p: Packet<'a>) -> Result<Packet<'a>, DecodeError> {
    Reader::new(body).end()?;
    Ok(p)
}

/// A packet identifier, which must not be 0 (§2.2.1).
fn packet_id(r: &mut Reader<'_>) -> Result<u16, DecodeError> {
    match r.u16()? {
        0 => Err(WireError::ZeroPacketId.into()),
        id => Ok(id),
    }
}

fn properties<'a>(r: &mut Reader<'a>, carrier: Carrier) -> Result<Properties<'a>, DecodeError> {
    Ok(Properties::parse(r, carrier)?)
}

/// The carrier of a reason code's properties.
fn carrier(packet: ReasonIn) -> Carrier {
    match packet {
        ReasonIn::Auth => Carrier::Auth,
        ReasonIn::Packet(PacketType::PubAck) => Carrier::PubAck,
        ReasonIn::Packet(PacketType::PubRec) => Carrier::PubRec,
        ReasonIn::Packet(PacketType::PubRel) => Carrier::PubRel,
        ReasonIn::Packet(PacketType::PubComp) => Carrier::PubComp,
        ReasonIn::Packet(PacketType::SubAck) => Carrier::SubAck,
        ReasonIn::Packet(PacketType::UnsubAck) => Carrier::UnsubAck,
        ReasonIn::Packet(PacketType::ConnAck) => Carrier::ConnAck,
        _ => Carrier::Disconnect,
    }
}

/// A reason code and properties that may both be left out: DISCONNECT
/// (§3.14.2.1: remaining length 0 is Normal disconnection; below 2 there is
/// no Property Length, §3.14.2.2.1), AUTH (§3.15.2.1), and what follows the
/// packet identifier of PUBACK..PUBCOMP (§3.4.2.1, §3.4.2.2.1).
fn reason_block<'a>(
    r: &mut Reader<'a>,
    packet: ReasonIn,
) -> Result<(ReasonCode, Properties<'a>), DecodeError> {
    if r.is_empty() {
        return Ok((ReasonCode::Success, Properties::NONE));
    }
    let code = reason(r.u8()?, packet)?;
    let props = if r.is_empty() {
        Properties::NONE
    } else {
        properties(r, carrier(packet))?
    };
    r.end()?;
    Ok((code, props))
}

fn decode_reason_block(
    body: &[u8],
    packet: ReasonIn,
) -> Result<(ReasonCode, Properties<'_>), DecodeError> {
    reason_block(&mut Reader::new(body), packet)
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP (§3.4–§3.7): packet identifier, then
/// the reason code and properties, each possibly left out.
fn decode_ack(body: &[u8], packet: ReasonIn) -> Result<Ack<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let pid = packet_id(&mut r)?;
    let (reason, properties) = reason_block(&mut r, packet)?;
    Ok(Ack {
        pid,
        reason,
        properties,
    })
}

/// CONNECT (§3.1): protocol "MQTT" version 5 only.
fn decode_connect(body: &[u8]) -> Result<Connect<'_>, DecodeError> {
    let mut r = Reader::new(body);
    if r.binary()? != b"MQTT" || r.u8()? != 5 {
        return Err(WireError::BadConnect.into()); // §3.1.2.1, §3.1.2.2
    }
    let flags = r.u8()?;
    let keep_alive = r.u16()?;
    // [MQTT-3.1.2-3] reserved bit 0; [MQTT-3.1.2-11], [MQTT-3.1.2-13]:
    // no will QoS or retain without a will. (A password without a user
    // name is allowed in 5.0, §3.1.2.9.)
    if flags & 0x01 != 0 || (flags & WILL == 0 && flags & (WILL_QOS | WILL_RETAIN) != 0) {
        return Err(WireError::BadConnect.into());
    }
    let will_qos = QoS::from_bits((flags & WILL_QOS) >> 3).ok_or(WireError::BadQoS)?;
    let properties = properties(&mut r, Carrier::Connect)?;
    let client_id = r.str()?;
    let will = if flags & WILL != 0 {
        let properties = self::properties(&mut r, Carrier::Will)?;
        let topic = r.str()?;
        check_name(topic).map_err(|_| WireError::BadPayload)?;
        Some(Will {
            properties,
            topic,
            payload: r.binary()?,
            qos: will_qos,
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
        clean_start: flags & CLEAN_START != 0,
        properties,
        will,
        username,
        password,
    })
}

/// CONNACK (§3.2): acknowledge flags (bits 7–1 reserved, [MQTT-3.2.2-1]),
/// Connect Reason Code (§3.2.2.2), properties (§3.2.2.3). Session Present
/// with a failure code ([MQTT-3.2.2-6]) is accepted as sent, as in 3.1.1.
fn decode_connack(body: &[u8]) -> Result<ConnAck<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let flags = r.u8()?;
    if flags & !1 != 0 {
        return Err(WireError::BadConnAck.into());
    }
    let code = reason(r.u8()?, ReasonIn::Packet(PacketType::ConnAck))?;
    let properties = properties(&mut r, Carrier::ConnAck)?;
    r.end()?;
    Ok(ConnAck {
        session_present: flags != 0,
        reason: code,
        properties,
    })
}

/// PUBLISH (§3.3): topic, packet identifier iff QoS > 0, properties,
/// payload (the rest). An empty topic needs a Topic Alias (§3.3.2.1).
fn decode_publish(flags: u8, body: &[u8]) -> Result<Publish<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let qos = QoS::from_bits((flags >> 1) & 3).ok_or(WireError::BadQoS)?;
    let topic = r.str()?;
    let pid = match qos {
        QoS::AtMostOnce => None,
        _ => Some(packet_id(&mut r)?),
    };
    let properties = properties(&mut r, Carrier::Publish)?;
    if topic.is_empty() {
        if properties.get(super::PropertyId::TopicAlias).is_none() {
            return Err(DecodeError::EmptyTopicWithoutAlias);
        }
    } else {
        check_name(topic).map_err(|_| WireError::BadPayload)?;
    }
    Ok(Publish {
        dup: flags & 0b1000 != 0,
        qos,
        retain: flags & 1 != 0,
        topic,
        pid,
        properties,
        payload: r.rest(),
    })
}

/// SUBSCRIBE (§3.8): packet identifier, properties, at least one
/// (filter, options).
fn decode_subscribe(body: &[u8]) -> Result<Subscribe<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let pid = packet_id(&mut r)?;
    let properties = properties(&mut r, Carrier::Subscribe)?;
    Ok(Subscribe {
        pid,
        properties,
        topics: Subscriptions::parse(r.rest())?,
    })
}

/// UNSUBSCRIBE (§3.10): packet identifier, properties, at least one filter
/// [MQTT-3.10.3-2].
fn decode_unsubscribe(body: &[u8]) -> Result<Unsubscribe<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let pid = packet_id(&mut r)?;
    let properties = properties(&mut r, Carrier::Unsubscribe)?;
    let payload = r.rest();
    let mut filters = Reader::new(payload);
    if filters.is_empty() {
        return Err(WireError::BadPayload.into());
    }
    while !filters.is_empty() {
        check_filter(filters.str()?).map_err(|_| WireError::BadPayload)?;
    }
    Ok(Unsubscribe {
        pid,
        properties,
        topics: UnsubscribeTopics::Wire(payload),
    })
}

/// SUBACK, UNSUBACK (§3.9, §3.11): packet identifier, properties, at least
/// one reason code, each from the packet's list (§3.9.3, §3.11.3).
fn decode_suback(body: &[u8], t: PacketType) -> Result<SubAck<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let pid = packet_id(&mut r)?;
    let properties = properties(&mut r, carrier(ReasonIn::Packet(t)))?;
    let codes = r.rest();
    if codes.is_empty() {
        return Err(WireError::BadPayload.into());
    }
    for &c in codes {
        reason(c, ReasonIn::Packet(t))?;
    }
    Ok(SubAck {
        pid,
        properties,
        codes,
    })
}
