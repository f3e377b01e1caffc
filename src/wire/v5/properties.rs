//! A property block (MQTT 5.0 §2.2.2): a Variable Byte Integer length,
//! then properties, in the variable header of most packets and in a
//! CONNECT's Will Properties.
//!
//! [`Properties`] is either the caller's list (to encode) or a zero-copy
//! view of a received block, validated once when the packet is decoded:
//! every identifier known (§2.2.2.2) and allowed in that packet
//! ([`Carrier`]), none repeated where its clause forbids it, every value of
//! the right type, length and range. After that, iterating the view cannot
//! fail. Encoding checks a list against the same rules before writing a
//! byte, counts its length, then writes the length and the properties into
//! the caller's buffer: no allocation, no second buffer.

use super::property::{self, Property, PropertyId};
use super::PropertyError;
use crate::wire::frame::remaining_len_size;
use crate::wire::packet::lists::Entries;
use crate::wire::reader::Reader;
use crate::wire::writer::Writer;
use crate::wire::{DecodeError as WireError, EncodeError};

/// Where a property block is: the packets of §2.2.2.2's table, and the Will
/// Properties of a CONNECT (§3.1.3.2), which allow other properties than
/// the CONNECT's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Carrier {
    /// CONNECT Properties (§3.1.2.11).
    Connect,
    /// Will Properties, in a CONNECT's payload (§3.1.3.2).
    Will,
    /// CONNACK Properties (§3.2.2.3).
    ConnAck,
    /// PUBLISH Properties (§3.3.2.3).
    Publish,
    /// PUBACK Properties (§3.4.2.2).
    PubAck,
    /// PUBREC Properties (§3.5.2.2).
    PubRec,
    /// PUBREL Properties (§3.6.2.2).
    PubRel,
    /// PUBCOMP Properties (§3.7.2.2).
    PubComp,
    /// SUBSCRIBE Properties (§3.8.2.1).
    Subscribe,
    /// SUBACK Properties (§3.9.2.1).
    SubAck,
    /// UNSUBSCRIBE Properties (§3.10.2.1).
    Unsubscribe,
    /// UNSUBACK Properties (§3.11.2.1).
    UnsubAck,
    /// DISCONNECT Properties (§3.14.2.2).
    Disconnect,
    /// AUTH Properties (§3.15.2.2).
    Auth,
}

/// The packets (bits of [`Carrier`]) table 2-4 lists for each property.
fn carriers(id: PropertyId) -> u16 {
    use Carrier as C;
    use PropertyId as I;
    let bits = |list: &[Carrier]| list.iter().fold(0u16, |acc, &c| acc | 1 << (c as u8));
    match id {
        I::PayloadFormatIndicator
        | I::MessageExpiryInterval
        | I::ContentType
        | I::ResponseTopic
        | I::CorrelationData => bits(&[C::Publish, C::Will]),
        I::SubscriptionIdentifier => bits(&[C::Publish, C::Subscribe]),
        I::SessionExpiryInterval => bits(&[C::Connect, C::ConnAck, C::Disconnect]),
        I::AssignedClientIdentifier
        | I::ServerKeepAlive
        | I::ResponseInformation
        | I::MaximumQoS
        | I::RetainAvailable
        | I::WildcardSubscriptionAvailable
        | I::SubscriptionIdentifiersAvailable
        | I::SharedSubscriptionAvailable => bits(&[C::ConnAck]),
        I::AuthenticationMethod | I::AuthenticationData => bits(&[C::Connect, C::ConnAck, C::Auth]),
        I::RequestProblemInformation | I::RequestResponseInformation => bits(&[C::Connect]),
        I::WillDelayInterval => bits(&[C::Will]),
        I::ServerReference => bits(&[C::ConnAck, C::Disconnect]),
        I::ReasonString => bits(&[
            C::ConnAck,
            C::PubAck,
            C::PubRec,
            C::PubRel,
            C::PubComp,
            C::SubAck,
            C::UnsubAck,
            C::Disconnect,
            C::Auth,
        ]),
        I::ReceiveMaximum | I::TopicAliasMaximum | I::MaximumPacketSize => {
            bits(&[C::Connect, C::ConnAck])
        }
        I::TopicAlias => bits(&[C::Publish]),
        I::UserProperty => !bits(&[]),
    }
}

impl Carrier {
    /// Whether table 2-4 (§2.2.2.2) lists `id` for this packet.
    pub fn allows(self, id: PropertyId) -> bool {
        carriers(id) & (1 << (self as u8)) != 0
    }

    /// Whether `id` may appear more than once here: User Property anywhere
    /// (§3.1.2.11.8 and its twins), Subscription Identifier in a PUBLISH,
    /// one per matching subscription (§3.3.2.3.8). Every other property is
    /// "a Protocol Error to include ... more than once" (§3.8.2.1.2 says so
    /// of the Subscription Identifier of a SUBSCRIBE).
    pub fn allows_repeated(self, id: PropertyId) -> bool {
        id == PropertyId::UserProperty
            || (id == PropertyId::SubscriptionIdentifier && self == Carrier::Publish)
    }
}

/// The rules over a whole block, fed one property at a time.
struct Checker {
    carrier: Carrier,
    /// Identifiers seen so far (all are below 64).
    seen: u64,
}

impl Checker {
    fn new(carrier: Carrier) -> Self {
        Checker { carrier, seen: 0 }
    }

    fn add(&mut self, p: &Property<'_>) -> Result<(), PropertyError> {
        let id = p.id();
        if !self.carrier.allows(id) {
            return Err(PropertyError::NotAllowed(id));
        }
        let bit = 1u64 << (id as u8);
        if self.seen & bit != 0 && !self.carrier.allows_repeated(id) {
            return Err(PropertyError::Duplicate(id));
        }
        self.seen |= bit;
        p.check_value()
    }

    fn finish(&self) -> Result<(), PropertyError> {
        let has = |id: PropertyId| self.seen & (1u64 << (id as u8)) != 0;
        if has(PropertyId::AuthenticationData) && !has(PropertyId::AuthenticationMethod) {
            return Err(PropertyError::AuthenticationDataWithoutMethod);
        }
        Ok(())
    }
}

/// Validates the properties of a received block's bytes (without its length).
fn check_wire(bytes: &[u8], carrier: Carrier) -> Result<(), PropertyError> {
    let mut checker = Checker::new(carrier);
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        checker.add(&property::read(&mut r)?)?;
    }
    checker.finish()
}

/// The properties of a packet: the caller's list to encode, or the
/// validated bytes of a received block. Compare and iterate both the same
/// way; a decoded block equals the list it was encoded from.
///
/// ```
/// use limpet::wire::v5::{Carrier, Properties, Property};
///
/// let list = [
///     Property::SessionExpiryInterval(3600),
///     Property::ReceiveMaximum(8),
///     Property::UserProperty("site", "attic"),
/// ];
/// let props = Properties::new(&list);
/// let mut buf = [0u8; 32];
/// let n = props.encode(Carrier::Connect, &mut buf).unwrap();
/// assert_eq!(props.encoded_len(Carrier::Connect), Ok(n));
/// // The length first (a Variable Byte Integer), then each property.
/// assert_eq!(&buf[..9], &[22, 0x11, 0, 0, 0x0E, 0x10, 0x21, 0, 8]);
///
/// // A duplicate is refused before anything is written (§3.1.2.11.3).
/// let twice = [Property::ReceiveMaximum(8), Property::ReceiveMaximum(9)];
/// assert!(Properties::new(&twice).encode(Carrier::Connect, &mut buf).is_err());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Properties<'a> {
    list: &'a [Property<'a>],
    /// Validated by `parse` (never set otherwise).
    wire: &'a [u8],
}

impl<'a> Properties<'a> {
    /// No properties: the block is its length, 0.
    pub const NONE: Properties<'static> = Properties {
        list: &[],
        wire: &[],
    };

    /// The caller's properties, to encode. They are checked when encoded.
    pub const fn new(list: &'a [Property<'a>]) -> Self {
        Properties { list, wire: &[] }
    }

    /// Reads and validates a block (length, then properties) for `carrier`.
    pub(super) fn parse(r: &mut Reader<'a>, carrier: Carrier) -> Result<Self, PropertyError> {
        let len = r.var_int().map_err(property::property_error)?;
        let wire = r.take(len as usize).map_err(|_| PropertyError::Truncated)?;
        check_wire(wire, carrier)?;
        Ok(Properties { list: &[], wire })
    }

    /// The properties in order, typed.
    pub fn iter(&self) -> impl Iterator<Item = Property<'a>> + 'a {
        fn entry<'b>(r: &mut Reader<'b>) -> Result<Property<'b>, WireError> {
            property::read(r).map_err(|_| WireError::Truncated)
        }
        Entries {
            list: self.list,
            wire: Reader::new(self.wire),
            entry,
        }
    }

    /// True if the block holds no property.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.wire.is_empty()
    }

    /// The first property with identifier `id`.
    pub fn get(&self, id: PropertyId) -> Option<Property<'a>> {
        self.iter().find(|p| p.id() == id)
    }

    /// The User Properties (name, value), in order (§3.1.2.11.8): the
    /// order is significant and names may repeat.
    pub fn user_properties(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.iter().filter_map(|p| match p {
            Property::UserProperty(k, v) => Some((k, v)),
            _ => None,
        })
    }

    /// The Subscription Identifiers of a PUBLISH from the server, one per
    /// matching subscription that had one (§3.3.2.3.8).
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + 'a {
        self.iter().filter_map(|p| match p {
            Property::SubscriptionIdentifier(id) => Some(id),
            _ => None,
        })
    }

    /// Checks the properties against the rules for `carrier`: what
    /// decoding refuses, decoding refuses for the same reason.
    pub fn check(&self, carrier: Carrier) -> Result<(), PropertyError> {
        let mut checker = Checker::new(carrier);
        for p in self.list {
            checker.add(p)?;
        }
        check_wire(self.wire, carrier)?;
        checker.finish()
    }

    /// Bytes of the properties, without the length in front.
    fn content_len(&self, carrier: Carrier) -> Result<usize, EncodeError> {
        self.check(carrier).map_err(|_| EncodeError::Invalid)?;
        let mut counter = Writer::counter();
        self.write_content(&mut counter)?;
        Ok(counter.position())
    }

    fn write_content(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        for p in self.list {
            p.write(w)?;
        }
        // Validated bytes, copied as received.
        w.bytes(self.wire)
    }

    /// Writes the block (length, then properties) for `carrier`: checked
    /// first ([`Properties::check`], refused as [`EncodeError::Invalid`]),
    /// then counted, then written.
    pub(super) fn write(&self, carrier: Carrier, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let len = self.content_len(carrier)?;
        w.var_int(len)?;
        self.write_content(w)
    }

    /// Bytes [`Properties::encode`] writes: the length and the properties.
    pub fn encoded_len(&self, carrier: Carrier) -> Result<usize, EncodeError> {
        let len = self.content_len(carrier)?;
        if len > crate::wire::MAX_REMAINING_LENGTH {
            return Err(EncodeError::TooLong);
        }
        Ok(remaining_len_size(len) + len)
    }

    /// Writes the block for `carrier` at the start of `buf` and returns
    /// its length. Errors: [`EncodeError::Invalid`] for a block decoding
    /// would refuse (or a Subscription Identifier above 268,435,455),
    /// [`EncodeError::TooLong`] for a string over 65,535 bytes, and
    /// [`EncodeError::BufferTooSmall`]; the first two before a byte is written.
    pub fn encode(&self, carrier: Carrier, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let n = self.encoded_len(carrier)?;
        let mut w = Writer::new(buf);
        self.write(carrier, &mut w)?;
        debug_assert_eq!(w.position(), n);
        Ok(n)
    }
}

impl Default for Properties<'_> {
    fn default() -> Self {
        Properties::NONE
    }
}

impl PartialEq for Properties<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Properties<'_> {}
