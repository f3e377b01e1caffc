//! Every way a received MQTT 5.0 packet can be wrong.
//!
//! The rules MQTT 5.0 shares with 3.1.1 (fixed header, lengths, strings,
//! packet identifiers, topics) keep their 3.1.1 names, wrapped in
//! [`DecodeError::Packet`]; what is new in 5.0 (properties, reason codes,
//! subscription options) has a variant per rule. All are `Copy` and carry at
//! most a byte or a [`PropertyId`], so a no_std caller can match, count or
//! log them without formatting. Each one is a Malformed Packet or a Protocol
//! Error (§4.13): the receiver closes the connection, with a DISCONNECT
//! carrying reason 0x81 or 0x82 when it can ([`DecodeError::reason`]).

use super::{PropertyId, ReasonCode};

/// Why a received MQTT 5.0 frame was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A rule MQTT 5.0 shares with 3.1.1: fixed header (§2.1), lengths,
    /// UTF-8 (§1.5.4), QoS, packet identifier 0 (§2.2.1), topic names and
    /// filters (§4.7), a CONNECT's protocol name and flags (§3.1.2), bytes
    /// past the end, a client-only packet from the server.
    Packet(crate::wire::DecodeError),
    /// The property block is wrong (§2.2.2); see [`PropertyError`].
    Property(PropertyError),
    /// A reason code byte not in the table of §2.4.
    UnknownReasonCode(u8),
    /// A reason code of §2.4 that this packet type may not carry (for
    /// instance 0x04 "Disconnect with Will Message" in a PUBACK).
    ReasonCodeNotAllowed(u8),
    /// SUBSCRIBE options (§3.8.3.1) with a reserved bit (6 or 7) set: a
    /// Malformed Packet [MQTT-3.8.3-5].
    ReservedSubscriptionOptionBits,
    /// SUBSCRIBE options (§3.8.3.1) with Retain Handling 3 (a Protocol Error).
    BadRetainHandling,
    /// A PUBLISH with an empty Topic Name and no Topic Alias
    /// (§3.3.2.1, §3.3.4: [MQTT-3.3.2-1] with §3.3.2.3.4).
    EmptyTopicWithoutAlias,
}

/// What is wrong with a property block (§2.2.2). The rules that forbid a
/// value name the property; [`PropertyError::NotAllowed`] and
/// [`PropertyError::Duplicate`] carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyError {
    /// An identifier not in the table of §2.2.2.2 (a Malformed Packet).
    UnknownIdentifier(u8),
    /// A property the table of §2.2.2.2 does not list for this packet (or
    /// for the Will Properties of a CONNECT, §3.1.3.2): a Malformed Packet.
    NotAllowed(PropertyId),
    /// A property included more than once. Only User Property may repeat
    /// anywhere, and Subscription Identifier in a PUBLISH (§3.3.2.3.8);
    /// for every other property the clause that defines it says "It is a
    /// Protocol Error to include ... more than once".
    Duplicate(PropertyId),
    /// The Property Length (§2.2.2.1) points past the end of the packet, or
    /// a value runs past the end of the property block.
    Truncated,
    /// A Variable Byte Integer (the Property Length, or a Subscription
    /// Identifier's value) longer than four bytes or not in its shortest
    /// form [MQTT-1.5.5-1].
    BadVariableByteInteger,
    /// A UTF-8 string, or either half of a string pair (§1.5.7), that is
    /// not well-formed UTF-8 or holds U+0000 (§1.5.4).
    BadUtf8,
    /// Receive Maximum of 0 (§3.1.2.11.3, §3.2.2.3.3).
    ZeroReceiveMaximum,
    /// Maximum Packet Size of 0 (§3.1.2.11.4, §3.2.2.3.6).
    ZeroMaximumPacketSize,
    /// Topic Alias of 0 (§3.3.2.3.4, [MQTT-3.3.2-8]).
    ZeroTopicAlias,
    /// Subscription Identifier of 0 (§3.3.2.3.8, §3.8.2.1.2).
    ZeroSubscriptionIdentifier,
    /// Maximum QoS other than 0 or 1 (§3.2.2.3.4).
    BadMaximumQoS,
    /// Payload Format Indicator other than 0 or 1 (§3.3.2.3.2, §3.1.3.2.3).
    BadPayloadFormatIndicator,
    /// Request Problem Information other than 0 or 1 (§3.1.2.11.7).
    BadRequestProblemInformation,
    /// Request Response Information other than 0 or 1 (§3.1.2.11.6).
    BadRequestResponseInformation,
    /// Retain Available other than 0 or 1 (§3.2.2.3.5).
    BadRetainAvailable,
    /// Wildcard Subscription Available other than 0 or 1 (§3.2.2.3.11).
    BadWildcardSubscriptionAvailable,
    /// Subscription Identifiers Available other than 0 or 1 (§3.2.2.3.12).
    BadSubscriptionIdentifiersAvailable,
    /// Shared Subscription Available other than 0 or 1 (§3.2.2.3.13).
    BadSharedSubscriptionAvailable,
    /// Authentication Data without an Authentication Method (§3.1.2.11.10,
    /// §3.2.2.3.18, §3.15.2.2.4).
    AuthenticationDataWithoutMethod,
}

impl From<crate::wire::DecodeError> for DecodeError {
    fn from(e: crate::wire::DecodeError) -> Self {
        DecodeError::Packet(e)
    }
}

impl From<PropertyError> for DecodeError {
    fn from(e: PropertyError) -> Self {
        DecodeError::Property(e)
    }
}

impl DecodeError {
    /// The reason code a client closing the connection over this error
    /// sends in its DISCONNECT (§4.13): Malformed Packet (0x81) when the
    /// bytes cannot be read as the spec defines them, Protocol Error (0x82)
    /// when they can but break a rule.
    pub fn reason(&self) -> ReasonCode {
        use crate::wire::DecodeError as Wire;
        let malformed = match self {
            DecodeError::Packet(Wire::UnexpectedFromServer) => false,
            DecodeError::Packet(_) => true,
            DecodeError::Property(p) => matches!(
                p,
                PropertyError::UnknownIdentifier(_)
                    | PropertyError::NotAllowed(_)
                    | PropertyError::Truncated
                    | PropertyError::BadVariableByteInteger
                    | PropertyError::BadUtf8
            ),
            DecodeError::UnknownReasonCode(_) => true,
            DecodeError::ReasonCodeNotAllowed(_) => false,
            DecodeError::ReservedSubscriptionOptionBits => true,
            DecodeError::BadRetainHandling => false,
            DecodeError::EmptyTopicWithoutAlias => false,
        };
        if malformed {
            ReasonCode::MalformedPacket
        } else {
            ReasonCode::ProtocolError
        }
    }
}
