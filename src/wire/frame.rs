//! The fixed header (MQTT 3.1.1 §2.2): packet type, flags, remaining length.
//!
//! Apart from the packets because a receiver needs it first: [`Frame::parse`]
//! works from the first byte, before the rest has arrived, and says how long
//! the whole packet is, so the caller can wait for more, skip a packet larger
//! than its buffer, or acknowledge one it could not hold
//! ([`Frame::publish_packet_id`]) without decoding it.

use super::reader::Reader;
use super::writer::Writer;
use super::{DecodeError, EncodeError};

/// The largest remaining length four bytes can encode (§2.2.3).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The control packet type in the high nibble of the first byte (§2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    /// 1, CONNECT: client request to connect (§3.1).
    Connect = 1,
    /// 2, CONNACK: connect acknowledgment (§3.2).
    ConnAck,
    /// 3, PUBLISH: an application message (§3.3).
    Publish,
    /// 4, PUBACK: QoS 1 publish acknowledgment (§3.4).
    PubAck,
    /// 5, PUBREC: QoS 2 publish received, part 1 (§3.5).
    PubRec,
    /// 6, PUBREL: QoS 2 publish release, part 2 (§3.6).
    PubRel,
    /// 7, PUBCOMP: QoS 2 publish complete, part 3 (§3.7).
    PubComp,
    /// 8, SUBSCRIBE: client subscribe request (§3.8).
    Subscribe,
    /// 9, SUBACK: subscribe acknowledgment (§3.9).
    SubAck,
    /// 10, UNSUBSCRIBE: client unsubscribe request (§3.10).
    Unsubscribe,
    /// 11, UNSUBACK: unsubscribe acknowledgment (§3.11).
    UnsubAck,
    /// 12, PINGREQ: keepalive request (§3.12).
    PingReq,
    /// 13, PINGRESP: keepalive response (§3.13).
    PingResp,
    /// 14, DISCONNECT: the client is disconnecting cleanly (§3.14).
    Disconnect,
}

impl PacketType {
    /// The type for a high nibble; `None` for the reserved values 0 and 15 (§2.2.1).
    pub fn from_bits(bits: u8) -> Option<PacketType> {
        use PacketType::*;
        Some(match bits {
            1 => Connect,
            2 => ConnAck,
            3 => Publish,
            4 => PubAck,
            5 => PubRec,
            6 => PubRel,
            7 => PubComp,
            8 => Subscribe,
            9 => SubAck,
            10 => Unsubscribe,
            11 => UnsubAck,
            12 => PingReq,
            13 => PingResp,
            14 => Disconnect,
            _ => return None,
        })
    }

    /// The flags §2.2.2 (table 2.2) requires. PUBLISH carries DUP/QoS/RETAIN
    /// instead; its only malformed value (QoS 3) is checked by [`Frame::parse`].
    pub(crate) fn required_flags(self) -> u8 {
        match self {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        }
    }
}

/// A parsed fixed header: what a receiver needs to know before the rest of
/// the packet has arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The packet type, the high nibble of the first byte (§2.2.1).
    pub packet_type: PacketType,
    /// The low nibble of the first byte (for PUBLISH: DUP, QoS, RETAIN).
    pub flags: u8,
    /// Bytes of the fixed header: 1 + 1..=4 bytes of remaining length.
    pub header_len: usize,
    /// Bytes after the fixed header (§2.2.3).
    pub remaining_len: usize,
}

impl Frame {
    /// Reads the fixed header (§2.2) at the start of `buf`.
    ///
    /// `Ok(None)`: `buf` ends before the header does; read more and call again.
    /// The rest of the packet need not be in `buf` yet ([`Frame::len`] says how
    /// much is needed).
    ///
    /// Errors:
    /// - [`DecodeError::ReservedPacketType`]: type 0 or 15 (§2.2.1);
    /// - [`DecodeError::BadQoS`]: PUBLISH with both QoS bits set (§3.3.1.2);
    /// - [`DecodeError::BadFlags`]: PUBREL/SUBSCRIBE/UNSUBSCRIBE flags other than
    ///   `0b0010`, other types' flags other than 0 (§2.2.2);
    /// - [`DecodeError::BadRemainingLength`]: a fifth length byte would be needed, or
    ///   the length is not in its shortest form (a last byte of 0 after a
    ///   continuation byte). §2.2.3 defines only the shortest encoding, and
    ///   rejecting the others makes every accepted packet re-encode to the
    ///   same bytes.
    ///
    /// The first byte is checked before the length, so a bad type or flags is
    /// reported as soon as one byte has arrived.
    pub fn parse(buf: &[u8]) -> Result<Option<Frame>, DecodeError> {
        let Some((&first, rest)) = buf.split_first() else {
            return Ok(None);
        };
        let packet_type =
            PacketType::from_bits(first >> 4).ok_or(DecodeError::ReservedPacketType)?;
        let flags = first & 0x0F;
        if packet_type == PacketType::Publish {
            if flags & 0b0110 == 0b0110 {
                return Err(DecodeError::BadQoS);
            }
        } else if flags != packet_type.required_flags() {
            return Err(DecodeError::BadFlags);
        }
        // §2.2.3: 7 bits per byte, least significant first, high bit = "more".
        let mut remaining_len = 0usize;
        for (i, &byte) in rest.iter().take(4).enumerate() {
            remaining_len |= usize::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                if byte == 0 && i > 0 {
                    return Err(DecodeError::BadRemainingLength);
                }
                return Ok(Some(Frame {
                    packet_type,
                    flags,
                    header_len: i + 2,
                    remaining_len,
                }));
            }
        }
        if rest.len() >= 4 {
            Err(DecodeError::BadRemainingLength)
        } else {
            Ok(None)
        }
    }

    /// Length of the whole packet: fixed header plus remaining length.
    #[allow(clippy::len_without_is_empty)] // a frame is never empty
    pub fn len(&self) -> usize {
        self.header_len + self.remaining_len
    }

    /// The packet identifier of a QoS 1 or 2 PUBLISH, read from `prefix`,
    /// the first bytes of this frame (for instance the part of a packet too
    /// large for the receive buffer that did fit, so it can still be
    /// acknowledged while the rest is skipped).
    ///
    /// `None` if this is not a PUBLISH with QoS > 0, if `prefix` (or the frame)
    /// ends before the fixed header + topic + identifier (§3.3.2), or if the
    /// identifier is 0. The topic is not validated here.
    pub fn publish_packet_id(&self, prefix: &[u8]) -> Option<u16> {
        if self.packet_type != PacketType::Publish || self.flags & 0b0110 == 0 {
            return None;
        }
        let end = prefix.len().min(self.len());
        let mut r = Reader::new(prefix.get(self.header_len..end)?);
        r.binary().ok()?;
        r.u16().ok().filter(|&id| id != 0)
    }
}

/// Number of bytes the remaining length `n` takes (§2.2.3, table 2.4).
/// Only meaningful for `n <= MAX_REMAINING_LENGTH`.
pub(crate) fn remaining_len_size(n: usize) -> usize {
    match n {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes the remaining length `n` (§2.2.3). `n` must be at most
/// [`MAX_REMAINING_LENGTH`] (checked by the caller); larger values would be
/// truncated to four bytes.
pub(crate) fn write_remaining_len(w: &mut Writer<'_>, mut n: usize) -> Result<(), EncodeError> {
    for _ in 1..remaining_len_size(n) {
        w.u8((n & 0x7F) as u8 | 0x80)?;
        n >>= 7;
    }
    w.u8((n & 0x7F) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    fn frame(t: PacketType, flags: u8, header_len: usize, remaining_len: usize) -> Frame {
        Frame {
            packet_type: t,
            flags,
            header_len,
            remaining_len,
        }
    }

    fn encode_len(n: usize) -> ([u8; 5], usize) {
        let mut buf = [0u8; 5];
        buf[0] = 0x30;
        let mut w = Writer::new(&mut buf[1..]);
        write_remaining_len(&mut w, n).unwrap();
        let used = w.position();
        (buf, used + 1)
    }

    #[test]
    fn remaining_length_boundaries() {
        // §2.2.3 table 2.4.
        let cases: [(usize, &[u8]); 8] = [
            (0, &[0x00]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xFF, 0xFF, 0x7F]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ];
        for (n, bytes) in cases {
            let (buf, len) = encode_len(n);
            assert_eq!(&buf[1..len], bytes, "encoding {n}");
            assert_eq!(remaining_len_size(n), bytes.len());
            let f = Frame::parse(&buf[..len]).unwrap().unwrap();
            assert_eq!(f, frame(PacketType::Publish, 0, 1 + bytes.len(), n));
            assert_eq!(f.len(), 1 + bytes.len() + n);
            // Every shorter prefix is "need more".
            for cut in 0..len {
                assert_eq!(Frame::parse(&buf[..cut]), Ok(None), "{n} cut at {cut}");
            }
        }
    }

    #[test]
    fn five_byte_remaining_length_is_rejected() {
        let buf = [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        assert_eq!(Frame::parse(&buf), Err(DecodeError::BadRemainingLength));
        // Known to be bad as soon as the fourth length byte has arrived.
        assert_eq!(
            Frame::parse(&buf[..5]),
            Err(DecodeError::BadRemainingLength)
        );
        assert_eq!(Frame::parse(&buf[..4]), Ok(None));
    }

    #[test]
    fn non_minimal_remaining_length_is_rejected() {
        assert_eq!(
            Frame::parse(&[0xD0, 0x80, 0x00]),
            Err(DecodeError::BadRemainingLength)
        );
        assert_eq!(
            Frame::parse(&[0x30, 0x85, 0x80, 0x00]),
            Err(DecodeError::BadRemainingLength)
        );
        // A zero in the middle is fine: 0x80 0x80 0x01 is 16384.
        assert!(Frame::parse(&[0x30, 0x80, 0x80, 0x01]).unwrap().is_some());
    }

    #[test]
    fn reserved_types_and_flags() {
        assert_eq!(Frame::parse(&[0x00]), Err(DecodeError::ReservedPacketType));
        assert_eq!(
            Frame::parse(&[0xF0, 0]),
            Err(DecodeError::ReservedPacketType)
        );
        assert_eq!(Frame::parse(&[0x36]), Err(DecodeError::BadQoS));
        assert_eq!(Frame::parse(&[0x3F, 0]), Err(DecodeError::BadQoS));
        assert_eq!(Frame::parse(&[0x60, 2]), Err(DecodeError::BadFlags));
        assert_eq!(Frame::parse(&[0x80, 2]), Err(DecodeError::BadFlags));
        assert_eq!(Frame::parse(&[0xA3, 2]), Err(DecodeError::BadFlags));
        assert_eq!(Frame::parse(&[0x41, 2]), Err(DecodeError::BadFlags));
        assert_eq!(Frame::parse(&[0xD8, 0]), Err(DecodeError::BadFlags));
        assert_eq!(Frame::parse(&[0x12]), Err(DecodeError::BadFlags));
        // Allowed flag combinations.
        for (b, t) in [
            (0x62, PacketType::PubRel),
            (0x82, PacketType::Subscribe),
            (0xA2, PacketType::Unsubscribe),
        ] {
            assert_eq!(Frame::parse(&[b, 2]), Ok(Some(frame(t, 2, 2, 2))));
        }
        for flags in [0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x8, 0x9, 0xA, 0xB, 0xC, 0xD] {
            let f = Frame::parse(&[0x30 | flags, 0]).unwrap().unwrap();
            assert_eq!(f.flags, flags);
        }
    }

    #[test]
    fn all_types_parse() {
        for bits in 1..=14u8 {
            let t = PacketType::from_bits(bits).unwrap();
            assert_eq!(t as u8, bits);
            let first = bits << 4 | t.required_flags();
            assert_eq!(
                Frame::parse(&[first, 0]),
                Ok(Some(frame(t, t.required_flags(), 2, 0)))
            );
        }
        assert_eq!(PacketType::from_bits(0), None);
        assert_eq!(PacketType::from_bits(15), None);
    }

    #[test]
    fn publish_packet_id_from_prefix() {
        // PUBLISH QoS 1, topic "a/b", id 10, payload "hello".
        let pkt = [
            0x32, 12, 0, 3, b'a', b'/', b'b', 0, 10, b'h', b'e', b'l', b'l', b'o',
        ];
        let f = Frame::parse(&pkt).unwrap().unwrap();
        assert_eq!(f.len(), pkt.len());
        for cut in 0..pkt.len() {
            let want = if cut >= 9 { Some(10) } else { None };
            assert_eq!(f.publish_packet_id(&pkt[..cut]), want, "cut at {cut}");
        }
        assert_eq!(f.publish_packet_id(&pkt), Some(10));
        // More bytes than the frame (the next packet) are not read as the id.
        let short = [0x32, 6, 0, 3, b'a', b'/', b'b', 0, 0x42, 0x01];
        let f = Frame::parse(&short).unwrap().unwrap();
        assert_eq!(f.publish_packet_id(&short), None);
        // Id 0, QoS 0 and other types give None.
        let zero = [0x34, 7, 0, 3, b'a', b'/', b'b', 0, 0];
        let f = Frame::parse(&zero).unwrap().unwrap();
        assert_eq!(f.publish_packet_id(&zero), None);
        let qos0 = [0x30, 7, 0, 3, b'a', b'/', b'b', 0, 1];
        let f = Frame::parse(&qos0).unwrap().unwrap();
        assert_eq!(f.publish_packet_id(&qos0), None);
        let puback = [0x40, 2, 0, 1];
        let f = Frame::parse(&puback).unwrap().unwrap();
        assert_eq!(f.publish_packet_id(&puback), None);
        // A 3-byte remaining length: header_len 4.
        let mut big = [0u8; 16];
        big[..9].copy_from_slice(&[0x3A, 0x80, 0x80, 0x01, 0, 1, b't', 0x12, 0x34]);
        let f = Frame::parse(&big).unwrap().unwrap();
        assert_eq!(f.header_len, 4);
        assert_eq!(f.publish_packet_id(&big[..9]), Some(0x1234));
        assert_eq!(f.publish_packet_id(&big[..8]), None);
    }
}
