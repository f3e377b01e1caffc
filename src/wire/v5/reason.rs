//! Reason codes (MQTT 5.0 §2.4): one byte on every acknowledgement, on
//! DISCONNECT and on AUTH, saying what happened and why.
//!
//! One enum for the whole table of §2.4, rather than one per packet type:
//! the values mean the same thing wherever they appear, and which packet may
//! carry which is a column of the table ([`ReasonCode::allowed_in`]),
//! checked once when a packet is decoded or encoded. A byte outside the
//! table is refused ([`DecodeError::UnknownReasonCode`](super::DecodeError::UnknownReasonCode)),
//! and so is a known code in a packet whose column lacks it.

use crate::wire::PacketType;

/// A reason code of §2.4, table 2-6. 0x00 is named [`ReasonCode::Success`];
/// it is also "Normal disconnection" in DISCONNECT and "Granted QoS 0" in
/// SUBACK (see the aliases [`ReasonCode::NORMAL_DISCONNECTION`] and
/// [`ReasonCode::GRANTED_QOS_0`]). Codes below 0x80 report success, 0x80
/// and above failure (§2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReasonCode {
    /// 0x00 Success (also Normal disconnection, Granted QoS 0).
    Success = 0x00,
    /// 0x01 Granted QoS 1 (SUBACK).
    GrantedQoS1 = 0x01,
    /// 0x02 Granted QoS 2 (SUBACK).
    GrantedQoS2 = 0x02,
    /// 0x04 Disconnect with Will Message (DISCONNECT from the client).
    DisconnectWithWillMessage = 0x04,
    /// 0x10 No matching subscribers: accepted, but nobody subscribes (PUBACK, PUBREC).
    NoMatchingSubscribers = 0x10,
    /// 0x11 No subscription existed (UNSUBACK).
    NoSubscriptionExisted = 0x11,
    /// 0x18 Continue authentication (AUTH).
    ContinueAuthentication = 0x18,
    /// 0x19 Re-authenticate (AUTH).
    ReAuthenticate = 0x19,
    /// 0x80 Unspecified error.
    UnspecifiedError = 0x80,
    /// 0x81 Malformed Packet.
    MalformedPacket = 0x81,
    /// 0x82 Protocol Error.
    ProtocolError = 0x82,
    /// 0x83 Implementation specific error.
    ImplementationSpecificError = 0x83,
    /// 0x84 Unsupported Protocol Version (CONNACK).
    UnsupportedProtocolVersion = 0x84,
    /// 0x85 Client Identifier not valid (CONNACK).
    ClientIdentifierNotValid = 0x85,
    /// 0x86 Bad User Name or Password (CONNACK).
    BadUserNameOrPassword = 0x86,
    /// 0x87 Not authorized.
    NotAuthorized = 0x87,
    /// 0x88 Server unavailable (CONNACK).
    ServerUnavailable = 0x88,
    /// 0x89 Server busy.
    ServerBusy = 0x89,
    /// 0x8A Banned (CONNACK).
    Banned = 0x8A,
    /// 0x8B Server shutting down (DISCONNECT).
    ServerShuttingDown = 0x8B,
    /// 0x8C Bad authentication method.
    BadAuthenticationMethod = 0x8C,
    /// 0x8D Keep Alive timeout (DISCONNECT).
    KeepAliveTimeout = 0x8D,
    /// 0x8E Session taken over: another connection uses this client id (DISCONNECT).
    SessionTakenOver = 0x8E,
    /// 0x8F Topic Filter invalid.
    TopicFilterInvalid = 0x8F,
    /// 0x90 Topic Name invalid.
    TopicNameInvalid = 0x90,
    /// 0x91 Packet Identifier in use.
    PacketIdentifierInUse = 0x91,
    /// 0x92 Packet Identifier not found (PUBREL, PUBCOMP).
    PacketIdentifierNotFound = 0x92,
    /// 0x93 Receive Maximum exceeded (DISCONNECT).
    ReceiveMaximumExceeded = 0x93,
    /// 0x94 Topic Alias invalid (DISCONNECT).
    TopicAliasInvalid = 0x94,
    /// 0x95 Packet too large.
    PacketTooLarge = 0x95,
    /// 0x96 Message rate too high (DISCONNECT).
    MessageRateTooHigh = 0x96,
    /// 0x97 Quota exceeded.
    QuotaExceeded = 0x97,
    /// 0x98 Administrative action (DISCONNECT).
    AdministrativeAction = 0x98,
    /// 0x99 Payload format invalid.
    PayloadFormatInvalid = 0x99,
    /// 0x9A Retain not supported.
    RetainNotSupported = 0x9A,
    /// 0x9B QoS not supported.
    QoSNotSupported = 0x9B,
    /// 0x9C Use another server (Server Reference says which).
    UseAnotherServer = 0x9C,
    /// 0x9D Server moved (Server Reference says where).
    ServerMoved = 0x9D,
    /// 0x9E Shared Subscriptions not supported.
    SharedSubscriptionsNotSupported = 0x9E,
    /// 0x9F Connection rate exceeded.
    ConnectionRateExceeded = 0x9F,
    /// 0xA0 Maximum connect time (DISCONNECT).
    MaximumConnectTime = 0xA0,
    /// 0xA1 Subscription Identifiers not supported.
    SubscriptionIdentifiersNotSupported = 0xA1,
    /// 0xA2 Wildcard Subscriptions not supported.
    WildcardSubscriptionsNotSupported = 0xA2,
}

// The columns of table 2-6: one bit per packet type that carries a reason code.
const CONNACK: u16 = 1 << 0;
const PUBACK: u16 = 1 << 1;
const PUBREC: u16 = 1 << 2;
const PUBREL: u16 = 1 << 3;
const PUBCOMP: u16 = 1 << 4;
const SUBACK: u16 = 1 << 5;
const UNSUBACK: u16 = 1 << 6;
const DISCONNECT: u16 = 1 << 7;
const AUTH: u16 = 1 << 8;

/// Where a reason code may appear: the packets of §2.4 that carry one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReasonIn {
    /// A packet type of MQTT 3.1.1's numbering (CONNACK, PUBACK, PUBREC,
    /// PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT); others carry none.
    Packet(PacketType),
    /// AUTH (§3.15), type 15, which MQTT 3.1.1 reserves.
    Auth,
}

impl ReasonIn {
    fn column(self) -> u16 {
        match self {
            ReasonIn::Auth => AUTH,
            ReasonIn::Packet(t) => match t {
                PacketType::ConnAck => CONNACK,
                PacketType::PubAck => PUBACK,
                PacketType::PubRec => PUBREC,
                PacketType::PubRel => PUBREL,
                PacketType::PubComp => PUBCOMP,
                PacketType::SubAck => SUBACK,
                PacketType::UnsubAck => UNSUBACK,
                PacketType::Disconnect => DISCONNECT,
                _ => 0,
            },
        }
    }
}

impl ReasonCode {
    /// "Normal disconnection": 0x00 in a DISCONNECT (§3.14.2.1).
    pub const NORMAL_DISCONNECTION: ReasonCode = ReasonCode::Success;
    /// "Granted QoS 0": 0x00 in a SUBACK (§3.9.3).
    pub const GRANTED_QOS_0: ReasonCode = ReasonCode::Success;

    /// The code for a byte; `None` for a value not in table 2-6.
    pub fn from_u8(code: u8) -> Option<ReasonCode> {
        use ReasonCode::*;
        Some(match code {
            0x00 => Success,
            0x01 => GrantedQoS1,
            0x02 => GrantedQoS2,
            0x04 => DisconnectWithWillMessage,
            0x10 => NoMatchingSubscribers,
            0x11 => NoSubscriptionExisted,
            0x18 => ContinueAuthentication,
            0x19 => ReAuthenticate,
            0x80 => UnspecifiedError,
            0x81 => MalformedPacket,
            0x82 => ProtocolError,
            0x83 => ImplementationSpecificError,
            0x84 => UnsupportedProtocolVersion,
            0x85 => ClientIdentifierNotValid,
            0x86 => BadUserNameOrPassword,
            0x87 => NotAuthorized,
            0x88 => ServerUnavailable,
            0x89 => ServerBusy,
            0x8A => Banned,
            0x8B => ServerShuttingDown,
            0x8C => BadAuthenticationMethod,
            0x8D => KeepAliveTimeout,
            0x8E => SessionTakenOver,
            0x8F => TopicFilterInvalid,
            0x90 => TopicNameInvalid,
            0x91 => PacketIdentifierInUse,
            0x92 => PacketIdentifierNotFound,
            0x93 => ReceiveMaximumExceeded,
            0x94 => TopicAliasInvalid,
            0x95 => PacketTooLarge,
            0x96 => MessageRateTooHigh,
            0x97 => QuotaExceeded,
            0x98 => AdministrativeAction,
            0x99 => PayloadFormatInvalid,
            0x9A => RetainNotSupported,
            0x9B => QoSNotSupported,
            0x9C => UseAnotherServer,
            0x9D => ServerMoved,
            0x9E => SharedSubscriptionsNotSupported,
            0x9F => ConnectionRateExceeded,
            0xA0 => MaximumConnectTime,
            0xA1 => SubscriptionIdentifiersNotSupported,
            0xA2 => WildcardSubscriptionsNotSupported,
            _ => return None,
        })
    }

    /// True for the codes below 0x80, which report success (§2.4).
    pub fn is_success(self) -> bool {
        (self as u8) < 0x80
    }

    /// Whether `packet` may carry this code: its column in table 2-6 (and,
    /// for each packet, the list in its own clause: §3.2.2.2 CONNACK,
    /// §3.4.2.1 PUBACK, §3.5.2.1 PUBREC, §3.6.2.1 PUBREL, §3.7.2.1 PUBCOMP,
    /// §3.9.3 SUBACK, §3.11.3 UNSUBACK, §3.14.2.1 DISCONNECT, §3.15.2.1 AUTH).
    pub fn allowed_in(self, packet: ReasonIn) -> bool {
        self.columns() & packet.column() != 0
    }

    fn columns(self) -> u16 {
        use ReasonCode::*;
        // The acknowledgements of a PUBLISH that can fail the same ways.
        const PUB: u16 = PUBACK | PUBREC;
        match self {
            Success => CONNACK | PUB | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH,
            GrantedQoS1 | GrantedQoS2 => SUBACK,
            DisconnectWithWillMessage => DISCONNECT,
            NoMatchingSubscribers => PUB,
            NoSubscriptionExisted => UNSUBACK,
            ContinueAuthentication | ReAuthenticate => AUTH,
            UnspecifiedError | ImplementationSpecificError | NotAuthorized => {
                CONNACK | PUB | SUBACK | UNSUBACK | DISCONNECT
            }
            MalformedPacket
            | ProtocolError
            | ServerBusy
            | BadAuthenticationMethod
            | PacketTooLarge
            | RetainNotSupported
            | QoSNotSupported
            | UseAnotherServer
            | ServerMoved
            | ConnectionRateExceeded => CONNACK | DISCONNECT,
            UnsupportedProtocolVersion
            | ClientIdentifierNotValid
            | BadUserNameOrPassword
            | ServerUnavailable
            | Banned => CONNACK,
            ServerShuttingDown
            | KeepAliveTimeout
            | SessionTakenOver
            | ReceiveMaximumExceeded
            | TopicAliasInvalid
            | MessageRateTooHigh
            | AdministrativeAction
            | MaximumConnectTime => DISCONNECT,
            TopicFilterInvalid => SUBACK | UNSUBACK | DISCONNECT,
            TopicNameInvalid | PayloadFormatInvalid => CONNACK | PUB | DISCONNECT,
            PacketIdentifierInUse => PUB | SUBACK | UNSUBACK,
            PacketIdentifierNotFound => PUBREL | PUBCOMP,
            QuotaExceeded => CONNACK | PUB | SUBACK | DISCONNECT,
            SharedSubscriptionsNotSupported
            | SubscriptionIdentifiersNotSupported
            | WildcardSubscriptionsNotSupported => SUBACK | DISCONNECT,
        }
    }
}

/// Reads a reason code byte for `packet`: unknown and not-allowed codes
/// are refused.
pub(super) fn check(code: u8, packet: ReasonIn) -> Result<ReasonCode, super::DecodeError> {
    let reason = ReasonCode::from_u8(code).ok_or(super::DecodeError::UnknownReasonCode(code))?;
    if reason.allowed_in(packet) {
        Ok(reason)
    } else {
        Err(super::DecodeError::ReasonCodeNotAllowed(code))
    }
}
