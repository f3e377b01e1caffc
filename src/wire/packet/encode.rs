//! Packets to bytes (MQTT 3.1.1 §2, §3), into the caller's buffer.
//!
//! One function per packet writes the body and validates it. It runs twice:
//! first into a counting `Writer` (which checks everything but the buffer
//! size and yields the remaining length), then into the caller's buffer.
//! So a packet the protocol forbids is refused before a byte is written,
//! and a buffer too small is an error, never a panic. One encoder per
//! packet a client sends, beside [`Packet::encode`], so a client links only
//! those it uses.

use super::decode::is_suback_code;
use super::{
    Connect, Packet, Publish, Subscribe, SubscribeTopics, Unsubscribe, UnsubscribeTopics,
    CLEAN_SESSION, PASSWORD, USERNAME, WILL, WILL_RETAIN,
};
use crate::wire::frame::{remaining_len_size, write_remaining_len, PacketType};
use crate::wire::topic::{check_filter, check_name, TopicError};
use crate::wire::writer::Writer;
use crate::wire::{EncodeError, QoS, MAX_REMAINING_LENGTH};

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
pub(in crate::wire) fn encode_with(
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

impl Publish<'_> {
    /// The encoded length of a PUBLISH with this topic, payload and QoS
    /// (§3.3): arithmetic only, no validation (see [`Packet::encoded_len`]).
    pub fn len_for(topic: &str, payload: &[u8], qos: QoS) -> usize {
        let id = if qos == QoS::AtMostOnce { 0 } else { 2 };
        let rest = 2 + topic.len() + id + payload.len();
        1 + remaining_len_size(rest) + rest
    }
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

pub(in crate::wire) fn non_empty(n: usize) -> Result<(), EncodeError> {
    if n == 0 {
        Err(EncodeError::Invalid)
    } else {
        Ok(())
    }
}

/// A packet id, which must not be 0 (§2.3.1).
pub(in crate::wire) fn write_id(id: u16, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    if id == 0 {
        return Err(EncodeError::Invalid);
    }
    w.u16(id)
}

pub(in crate::wire) fn write_topic_name(
    topic: &str,
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    check_name(topic).map_err(topic_error)?;
    w.str(topic)
}

pub(in crate::wire) fn write_filter(filter: &str, w: &mut Writer<'_>) -> Result<(), EncodeError> {
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
