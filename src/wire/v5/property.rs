//! One property (MQTT 5.0 §2.2.2.2): an identifier, then a value of the
//! type the identifier fixes.
//!
//! [`Property`] is the typed value, borrowed from the packet; [`PropertyId`]
//! the identifier alone. This file reads and writes one property and knows
//! the rules about a single value (its type, its range); which properties a
//! packet may hold, and how often, is the block's business (`properties.rs`).

use super::PropertyError;
use crate::wire::reader::{utf8, Reader};
use crate::wire::writer::Writer;
use crate::wire::{DecodeError as WireError, EncodeError};

/// The largest Subscription Identifier: the largest four-byte Variable Byte
/// Integer (§1.5.5, §3.3.2.3.8).
pub const MAX_SUBSCRIPTION_IDENTIFIER: u32 = 268_435_455;

/// A property identifier of §2.2.2.2, table 2-4. The value is the byte on
/// the wire (the spec encodes it as a Variable Byte Integer, which for every
/// defined identifier is one byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PropertyId {
    /// 0x01 Payload Format Indicator (byte): PUBLISH, Will.
    PayloadFormatIndicator = 0x01,
    /// 0x02 Message Expiry Interval (four-byte integer): PUBLISH, Will.
    MessageExpiryInterval = 0x02,
    /// 0x03 Content Type (string): PUBLISH, Will.
    ContentType = 0x03,
    /// 0x08 Response Topic (string): PUBLISH, Will.
    ResponseTopic = 0x08,
    /// 0x09 Correlation Data (binary): PUBLISH, Will.
    CorrelationData = 0x09,
    /// 0x0B Subscription Identifier (variable byte integer): PUBLISH, SUBSCRIBE.
    SubscriptionIdentifier = 0x0B,
    /// 0x11 Session Expiry Interval (four-byte integer): CONNECT, CONNACK, DISCONNECT.
    SessionExpiryInterval = 0x11,
    /// 0x12 Assigned Client Identifier (string): CONNACK.
    AssignedClientIdentifier = 0x12,
    /// 0x13 Server Keep Alive (two-byte integer): CONNACK.
    ServerKeepAlive = 0x13,
    /// 0x15 Authentication Method (string): CONNECT, CONNACK, AUTH.
    AuthenticationMethod = 0x15,
    /// 0x16 Authentication Data (binary): CONNECT, CONNACK, AUTH.
    AuthenticationData = 0x16,
    /// 0x17 Request Problem Information (byte): CONNECT.
    RequestProblemInformation = 0x17,
    /// 0x18 Will Delay Interval (four-byte integer): Will.
    WillDelayInterval = 0x18,
    /// 0x19 Request Response Information (byte): CONNECT.
    RequestResponseInformation = 0x19,
    /// 0x1A Response Information (string): CONNACK.
    ResponseInformation = 0x1A,
    /// 0x1C Server Reference (string): CONNACK, DISCONNECT.
    ServerReference = 0x1C,
    /// 0x1F Reason String (string): every acknowledgement, DISCONNECT, AUTH.
    ReasonString = 0x1F,
    /// 0x21 Receive Maximum (two-byte integer): CONNECT, CONNACK.
    ReceiveMaximum = 0x21,
    /// 0x22 Topic Alias Maximum (two-byte integer): CONNECT, CONNACK.
    TopicAliasMaximum = 0x22,
    /// 0x23 Topic Alias (two-byte integer): PUBLISH.
    TopicAlias = 0x23,
    /// 0x24 Maximum QoS (byte): CONNACK.
    MaximumQoS = 0x24,
    /// 0x25 Retain Available (byte): CONNACK.
    RetainAvailable = 0x25,
    /// 0x26 User Property (string pair): every packet with properties.
    UserProperty = 0x26,
    /// 0x27 Maximum Packet Size (four-byte integer): CONNECT, CONNACK.
    MaximumPacketSize = 0x27,
    /// 0x28 Wildcard Subscription Available (byte): CONNACK.
    WildcardSubscriptionAvailable = 0x28,
    /// 0x29 Subscription Identifiers Available (byte): CONNACK.
    SubscriptionIdentifiersAvailable = 0x29,
    /// 0x2A Shared Subscription Available (byte): CONNACK.
    SharedSubscriptionAvailable = 0x2A,
}

/// One property with its value, borrowing the packet (decoded) or the
/// caller's data (to encode). The type of each value is the one table 2-4
/// gives its identifier; the comment says where the spec defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Property<'a> {
    /// 0 (unspecified bytes) or 1 (UTF-8 text) (§3.3.2.3.2).
    PayloadFormatIndicator(u8),
    /// Seconds the message lives (§3.3.2.3.3).
    MessageExpiryInterval(u32),
    /// The payload's content type, e.g. a MIME type (§3.3.2.3.9).
    ContentType(&'a str),
    /// The topic a response goes to (§3.3.2.3.5).
    ResponseTopic(&'a str),
    /// Matches a response to its request (§3.3.2.3.6).
    CorrelationData(&'a [u8]),
    /// 1..=268,435,455 (§3.3.2.3.8, §3.8.2.1.2).
    SubscriptionIdentifier(u32),
    /// Seconds the session outlives the connection (§3.1.2.11.2).
    SessionExpiryInterval(u32),
    /// The client id the server chose for an empty one (§3.2.2.3.7).
    AssignedClientIdentifier(&'a str),
    /// The keep alive the server imposes, in seconds (§3.2.2.3.14).
    ServerKeepAlive(u16),
    /// The extended authentication method (§3.1.2.11.9).
    AuthenticationMethod(&'a str),
    /// Data of the authentication method (§3.1.2.11.10).
    AuthenticationData(&'a [u8]),
    /// 0 or 1: may the server send Reason Strings and User Properties
    /// on failures (§3.1.2.11.7).
    RequestProblemInformation(u8),
    /// Seconds the server waits before publishing the will (§3.1.3.2.2).
    WillDelayInterval(u32),
    /// 0 or 1: ask for Response Information in the CONNACK (§3.1.2.11.6).
    RequestResponseInformation(u8),
    /// The basis of response topics (§3.2.2.3.15).
    ResponseInformation(&'a str),
    /// Another server to use (§3.2.2.3.16, §4.11).
    ServerReference(&'a str),
    /// A human-readable diagnostic (§3.2.2.3.9).
    ReasonString(&'a str),
    /// QoS 1 and 2 messages the sender accepts in flight, 1..=65,535 (§3.1.2.11.3).
    ReceiveMaximum(u16),
    /// Highest Topic Alias the sender accepts; 0: none (§3.1.2.11.5).
    TopicAliasMaximum(u16),
    /// Stands for the topic name, 1..=the receiver's maximum (§3.3.2.3.4).
    TopicAlias(u16),
    /// 0 or 1: the highest QoS the server supports (§3.2.2.3.4).
    MaximumQoS(u8),
    /// 0 or 1: does the server keep retained messages (§3.2.2.3.5).
    RetainAvailable(u8),
    /// A name and a value, both UTF-8 (§1.5.7, §3.1.2.11.8).
    UserProperty(&'a str, &'a str),
    /// The largest packet the sender accepts, 1..=2^32-1 bytes (§3.1.2.11.4).
    MaximumPacketSize(u32),
    /// 0 or 1 (§3.2.2.3.11).
    WildcardSubscriptionAvailable(u8),
    /// 0 or 1 (§3.2.2.3.12).
    SubscriptionIdentifiersAvailable(u8),
    /// 0 or 1 (§3.2.2.3.13).
    SharedSubscriptionAvailable(u8),
}

impl PropertyId {
    /// The identifier for a byte; `None` for a value not in table 2-4.
    pub fn from_u8(id: u8) -> Option<PropertyId> {
        use PropertyId::*;
        Some(match id {
            0x01 => PayloadFormatIndicator,
            0x02 => MessageExpiryInterval,
            0x03 => ContentType,
            0x08 => ResponseTopic,
            0x09 => CorrelationData,
            0x0B => SubscriptionIdentifier,
            0x11 => SessionExpiryInterval,
            0x12 => AssignedClientIdentifier,
            0x13 => ServerKeepAlive,
            0x15 => AuthenticationMethod,
            0x16 => AuthenticationData,
            0x17 => RequestProblemInformation,
            0x18 => WillDelayInterval,
            0x19 => RequestResponseInformation,
            0x1A => ResponseInformation,
            0x1C => ServerReference,
            0x1F => ReasonString,
            0x21 => ReceiveMaximum,
            0x22 => TopicAliasMaximum,
            0x23 => TopicAlias,
            0x24 => MaximumQoS,
            0x25 => RetainAvailable,
            0x26 => UserProperty,
            0x27 => MaximumPacketSize,
            0x28 => WildcardSubscriptionAvailable,
            0x29 => SubscriptionIdentifiersAvailable,
            0x2A => SharedSubscriptionAvailable,
            _ => return None,
        })
    }
}

impl<'a> Property<'a> {
    /// The property's identifier.
    pub fn id(&self) -> PropertyId {
        use Property as P;
        use PropertyId as I;
        match self {
            P::PayloadFormatIndicator(_) => I::PayloadFormatIndicator,
            P::MessageExpiryInterval(_) => I::MessageExpiryInterval,
            P::ContentType(_) => I::ContentType,
            P::ResponseTopic(_) => I::ResponseTopic,
            P::CorrelationData(_) => I::CorrelationData,
            P::SubscriptionIdentifier(_) => I::SubscriptionIdentifier,
            P::SessionExpiryInterval(_) => I::SessionExpiryInterval,
            P::AssignedClientIdentifier(_) => I::AssignedClientIdentifier,
            P::ServerKeepAlive(_) => I::ServerKeepAlive,
            P::AuthenticationMethod(_) => I::AuthenticationMethod,
            P::AuthenticationData(_) => I::AuthenticationData,
            P::RequestProblemInformation(_) => I::RequestProblemInformation,
            P::WillDelayInterval(_) => I::WillDelayInterval,
            P::RequestResponseInformation(_) => I::RequestResponseInformation,
            P::ResponseInformation(_) => I::ResponseInformation,
            P::ServerReference(_) => I::ServerReference,
            P::ReasonString(_) => I::ReasonString,
            P::ReceiveMaximum(_) => I::ReceiveMaximum,
            P::TopicAliasMaximum(_) => I::TopicAliasMaximum,
            P::TopicAlias(_) => I::TopicAlias,
            P::MaximumQoS(_) => I::MaximumQoS,
            P::RetainAvailable(_) => I::RetainAvailable,
            P::UserProperty(..) => I::UserProperty,
            P::MaximumPacketSize(_) => I::MaximumPacketSize,
            P::WildcardSubscriptionAvailable(_) => I::WildcardSubscriptionAvailable,
            P::SubscriptionIdentifiersAvailable(_) => I::SubscriptionIdentifiersAvailable,
            P::SharedSubscriptionAvailable(_) => I::SharedSubscriptionAvailable,
        }
    }

    /// The rule of its own clause this value breaks, if any: the ranges of
    /// §3.1.2.11, §3.2.2.3, §3.3.2.3 and §3.8.2.1. (Which packet may hold
    /// it, and how often, is checked by the block.)
    pub(super) fn check_value(&self) -> Result<(), PropertyError> {
        use Property as P;
        use PropertyError as E;
        let (bad, error) = match *self {
            P::PayloadFormatIndicator(b) => (b > 1, E::BadPayloadFormatIndicator),
            P::RequestProblemInformation(b) => (b > 1, E::BadRequestProblemInformation),
            P::RequestResponseInformation(b) => (b > 1, E::BadRequestResponseInformation),
            P::MaximumQoS(b) => (b > 1, E::BadMaximumQoS),
            P::RetainAvailable(b) => (b > 1, E::BadRetainAvailable),
            P::WildcardSubscriptionAvailable(b) => (b > 1, E::BadWildcardSubscriptionAvailable),
            P::SubscriptionIdentifiersAvailable(b) => {
                (b > 1, E::BadSubscriptionIdentifiersAvailable)
            }
            P::SharedSubscriptionAvailable(b) => (b > 1, E::BadSharedSubscriptionAvailable),
            P::ReceiveMaximum(n) => (n == 0, E::ZeroReceiveMaximum),
            P::TopicAlias(n) => (n == 0, E::ZeroTopicAlias),
            P::MaximumPacketSize(n) => (n == 0, E::ZeroMaximumPacketSize),
            // Above the maximum cannot come off the wire (four bytes of
            // seven bits); it can only be given to encode.
            P::SubscriptionIdentifier(n) => (n == 0, E::ZeroSubscriptionIdentifier),
            _ => (false, E::Truncated),
        };
        if bad {
            Err(error)
        } else {
            Ok(())
        }
    }

    /// Writes identifier and value (§2.2.2.2). `Invalid` for a
    /// Subscription Identifier above [`MAX_SUBSCRIPTION_IDENTIFIER`] (the
    /// range rules are checked by the block); string and binary lengths as
    /// for any field (`TooLong` over 65,535 bytes).
    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        use Property as P;
        w.u8(self.id() as u8)?;
        match *self {
            P::PayloadFormatIndicator(b)
            | P::RequestProblemInformation(b)
            | P::RequestResponseInformation(b)
            | P::MaximumQoS(b)
            | P::RetainAvailable(b)
            | P::WildcardSubscriptionAvailable(b)
            | P::SubscriptionIdentifiersAvailable(b)
            | P::SharedSubscriptionAvailable(b) => w.u8(b),
            P::ServerKeepAlive(n)
            | P::ReceiveMaximum(n)
            | P::TopicAliasMaximum(n)
            | P::TopicAlias(n) => w.u16(n),
            P::MessageExpiryInterval(n)
            | P::SessionExpiryInterval(n)
            | P::WillDelayInterval(n)
            | P::MaximumPacketSize(n) => w.u32(n),
            P::SubscriptionIdentifier(n) if n <= MAX_SUBSCRIPTION_IDENTIFIER => {
                w.var_int(n as usize)
            }
            P::SubscriptionIdentifier(_) => Err(EncodeError::Invalid),
            P::ContentType(s)
            | P::ResponseTopic(s)
            | P::AssignedClientIdentifier(s)
            | P::AuthenticationMethod(s)
            | P::ResponseInformation(s)
            | P::ServerReference(s)
            | P::ReasonString(s) => w.str(s),
            P::CorrelationData(b) | P::AuthenticationData(b) => w.binary(b),
            P::UserProperty(k, v) => {
                w.str(k)?;
                w.str(v)
            }
        }
    }
}

/// Reads one property: identifier, then its value (§2.2.2.2). Ending early
/// is [`PropertyError::Truncated`]; the value's range is not checked here.
pub(super) fn read<'a>(r: &mut Reader<'a>) -> Result<Property<'a>, PropertyError> {
    use Property as P;
    use PropertyId as I;
    // The identifier is a Variable Byte Integer; every defined one is a
    // single byte below 0x80, so a first byte with the continuation bit set
    // is an unknown identifier, whatever follows.
    let first = r.u8().map_err(property_error)?;
    let id = I::from_u8(first).ok_or(PropertyError::UnknownIdentifier(first))?;
    Ok(match id {
        I::PayloadFormatIndicator => P::PayloadFormatIndicator(byte(r)?),
        I::RequestProblemInformation => P::RequestProblemInformation(byte(r)?),
        I::RequestResponseInformation => P::RequestResponseInformation(byte(r)?),
        I::MaximumQoS => P::MaximumQoS(byte(r)?),
        I::RetainAvailable => P::RetainAvailable(byte(r)?),
        I::WildcardSubscriptionAvailable => P::WildcardSubscriptionAvailable(byte(r)?),
        I::SubscriptionIdentifiersAvailable => P::SubscriptionIdentifiersAvailable(byte(r)?),
        I::SharedSubscriptionAvailable => P::SharedSubscriptionAvailable(byte(r)?),
        I::ServerKeepAlive => P::ServerKeepAlive(u16_(r)?),
        I::ReceiveMaximum => P::ReceiveMaximum(u16_(r)?),
        I::TopicAliasMaximum => P::TopicAliasMaximum(u16_(r)?),
        I::TopicAlias => P::TopicAlias(u16_(r)?),
        I::MessageExpiryInterval => P::MessageExpiryInterval(u32_(r)?),
        I::SessionExpiryInterval => P::SessionExpiryInterval(u32_(r)?),
        I::WillDelayInterval => P::WillDelayInterval(u32_(r)?),
        I::MaximumPacketSize => P::MaximumPacketSize(u32_(r)?),
        I::SubscriptionIdentifier => {
            P::SubscriptionIdentifier(r.var_int().map_err(property_error)?)
        }
        I::ContentType => P::ContentType(string(r)?),
        I::ResponseTopic => P::ResponseTopic(string(r)?),
        I::AssignedClientIdentifier => P::AssignedClientIdentifier(string(r)?),
        I::AuthenticationMethod => P::AuthenticationMethod(string(r)?),
        I::ResponseInformation => P::ResponseInformation(string(r)?),
        I::ServerReference => P::ServerReference(string(r)?),
        I::ReasonString => P::ReasonString(string(r)?),
        I::CorrelationData => P::CorrelationData(binary(r)?),
        I::AuthenticationData => P::AuthenticationData(binary(r)?),
        I::UserProperty => P::UserProperty(string(r)?, string(r)?),
    })
}

fn byte(r: &mut Reader<'_>) -> Result<u8, PropertyError> {
    r.u8().map_err(property_error)
}

fn u16_(r: &mut Reader<'_>) -> Result<u16, PropertyError> {
    r.u16().map_err(property_error)
}

fn u32_(r: &mut Reader<'_>) -> Result<u32, PropertyError> {
    r.u32().map_err(property_error)
}

fn binary<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], PropertyError> {
    r.binary().map_err(property_error)
}

/// A UTF-8 Encoded String (§1.5.4): well-formed, no U+0000.
fn string<'a>(r: &mut Reader<'a>) -> Result<&'a str, PropertyError> {
    let bytes = r.binary().map_err(property_error)?;
    utf8(bytes).map_err(|_| PropertyError::BadUtf8)
}

/// The 3.1.1 reader's errors, in a property block's terms.
pub(super) fn property_error(e: WireError) -> PropertyError {
    match e {
        WireError::BadRemainingLength => PropertyError::BadVariableByteInteger,
        WireError::BadUtf8 => PropertyError::BadUtf8,
        _ => PropertyError::Truncated,
    }
}
