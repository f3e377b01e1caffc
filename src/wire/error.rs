//! Every way a received frame can be wrong, and the ways encoding can fail.
//!
//! Plain `Copy` enums, one variant per rule broken and each naming its
//! clause, as coreMQTT returns status codes rather than panicking: a no_std
//! caller can match them, count them or log them without formatting, and a
//! decode error always means the same thing (§4.8: close the connection).

/// Why a received frame was rejected. Each is a protocol violation by the
/// peer (MQTT 3.1.1 §4.8: the receiver closes the connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The remaining length uses more than four bytes (§2.2.3).
    BadRemainingLength,
    /// Packet type 0 or 15 (reserved, §2.2.1).
    ReservedPacketType,
    /// The fixed-header flags are not the ones §2.2.2 requires for this type.
    BadFlags,
    /// The frame ends before a field it promises (a length prefix points past the end).
    Truncated,
    /// Bytes left over after the last field the packet type allows.
    TrailingBytes,
    /// A string is not well-formed UTF-8 or contains U+0000 (§1.5.3).
    BadUtf8,
    /// QoS bits are 3 (§3.3.1.2), or a subscription asks for QoS 3 (§3.8.3.1).
    BadQoS,
    /// A packet identifier of 0 (§2.3.1).
    ZeroPacketId,
    /// CONNACK with a reserved bit set or return code > 5 (§3.2.2).
    BadConnAck,
    /// CONNECT with a protocol name/level or flags this codec does not accept (§3.1.2).
    BadConnect,
    /// SUBSCRIBE / UNSUBSCRIBE / SUBACK with no topics or codes (§3.8.3, §3.10.3, §3.9.3),
    /// or a SUBACK return code other than 0, 1, 2, 0x80; or a topic that is not
    /// allowed: an empty Topic Name or Filter (§4.7.3), or a Topic Name (PUBLISH
    /// topic, CONNECT will topic) containing the wildcards `+` or `#` (§3.3.2.1).
    BadPayload,
    /// A packet type a client never receives (CONNECT, SUBSCRIBE, UNSUBSCRIBE,
    /// PINGREQ, DISCONNECT) arrived from the server.
    UnexpectedFromServer,
    /// The frame slice given to `decode` is not exactly one whole packet.
    FrameLength,
}

/// Why a packet could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The caller's buffer is shorter than [`crate::wire::Packet::encoded_len`].
    BufferTooSmall,
    /// A string or binary field is longer than 65,535 bytes, or the packet is
    /// longer than the 268,435,455-byte remaining-length maximum.
    TooLong,
    /// A field has a value the protocol forbids (packet id 0, empty topic list).
    Invalid,
}
