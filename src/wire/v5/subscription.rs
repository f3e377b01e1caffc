//! The payload of an MQTT 5.0 SUBSCRIBE (§3.8.3): topic filters, each with
//! a Subscription Options byte (§3.8.3.1) where 3.1.1 had the QoS alone.
//!
//! A list is the caller's slice when encoding and the validated payload
//! bytes when decoded, read through one iterator as the 3.1.1 lists are
//! (`wire::packet::lists`), so a decoded SUBSCRIBE equals the one it was
//! encoded from.

use super::DecodeError;
use crate::wire::packet::lists::Entries;
use crate::wire::reader::Reader;
use crate::wire::topic::check_filter;
use crate::wire::{DecodeError as WireError, QoS};

/// Retain Handling, bits 4 and 5 of the options (§3.8.3.1): when the
/// server sends the retained messages of a new subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RetainHandling {
    /// 0: at every subscribe.
    SendAtSubscribe = 0,
    /// 1: only if the subscription did not exist [MQTT-3.3.1-10].
    SendIfNew = 1,
    /// 2: never at subscribe [MQTT-3.3.1-11].
    DoNotSend = 2,
}

/// The Subscription Options byte of §3.8.3.1, figure 3-21.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionOptions {
    /// Bits 0–1, Maximum QoS: the highest QoS the server may send on this
    /// subscription.
    pub qos: QoS,
    /// Bit 2, No Local: do not send the client its own publications
    /// [MQTT-3.8.3-3] (a Protocol Error on a shared subscription [MQTT-3.8.3-4]).
    pub no_local: bool,
    /// Bit 3, Retain As Published: keep the RETAIN flag as the publisher set it.
    pub retain_as_published: bool,
    /// Bits 4–5, Retain Handling.
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options for a subscription at `qos`, the rest as 3.1.1 behaved:
    /// local messages sent, RETAIN cleared on delivery, retained messages
    /// sent at every subscribe.
    pub const fn qos(qos: QoS) -> Self {
        SubscriptionOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    /// The byte on the wire; bits 6 and 7 are 0 [MQTT-3.8.3-5].
    pub fn to_byte(self) -> u8 {
        (self.qos as u8)
            | u8::from(self.no_local) << 2
            | u8::from(self.retain_as_published) << 3
            | (self.retain_handling as u8) << 4
    }

    /// The options of a byte. Refused: reserved bits 6–7 set
    /// ([`DecodeError::ReservedSubscriptionOptionBits`], [MQTT-3.8.3-5]),
    /// QoS 3 (`Packet(BadQoS)`, a Protocol Error by §3.8.3.1), Retain
    /// Handling 3 ([`DecodeError::BadRetainHandling`]).
    pub fn from_byte(b: u8) -> Result<Self, DecodeError> {
        if b & 0xC0 != 0 {
            return Err(DecodeError::ReservedSubscriptionOptionBits);
        }
        let qos = QoS::from_bits(b & 3).ok_or(WireError::BadQoS)?;
        let retain_handling = match (b >> 4) & 3 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(DecodeError::BadRetainHandling),
        };
        Ok(SubscriptionOptions {
            qos,
            no_local: b & 0x04 != 0,
            retain_as_published: b & 0x08 != 0,
            retain_handling,
        })
    }
}

/// The topic filters of a SUBSCRIBE with their options: a list when
/// encoding, the validated payload bytes when decoded.
#[derive(Clone, Copy, Debug)]
pub struct Subscriptions<'a> {
    list: &'a [(&'a str, SubscriptionOptions)],
    /// Validated by `parse` (never set otherwise).
    wire: &'a [u8],
}

/// One entry: a Topic Filter (§4.7: non-empty, wildcards whole levels) and
/// its options byte.
pub(super) fn entry<'a>(r: &mut Reader<'a>) -> Result<(&'a str, SubscriptionOptions), DecodeError> {
    let filter = r.str()?;
    check_filter(filter).map_err(|_| WireError::BadPayload)?;
    let options = SubscriptionOptions::from_byte(r.u8()?)?;
    Ok((filter, options))
}

impl<'a> Subscriptions<'a> {
    /// The caller's (filter, options) pairs, validated when encoded.
    pub const fn new(list: &'a [(&'a str, SubscriptionOptions)]) -> Self {
        Subscriptions { list, wire: &[] }
    }

    /// Reads and validates the rest of a SUBSCRIBE: at least one entry
    /// ([MQTT-3.8.3-2], else `Packet(BadPayload)`).
    pub(super) fn parse(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(payload);
        if r.is_empty() {
            return Err(WireError::BadPayload.into());
        }
        while !r.is_empty() {
            entry(&mut r)?;
        }
        Ok(Subscriptions {
            list: &[],
            wire: payload,
        })
    }

    /// The (filter, options) pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, SubscriptionOptions)> + 'a {
        fn wire_entry<'b>(r: &mut Reader<'b>) -> Result<(&'b str, SubscriptionOptions), WireError> {
            entry(r).map_err(|_| WireError::BadPayload)
        }
        Entries {
            list: self.list,
            wire: Reader::new(self.wire),
            entry: wire_entry,
        }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if there is no filter (never, once decoded).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.wire.is_empty()
    }

    /// The validated bytes of a decoded payload (empty for a list).
    pub(super) fn wire(&self) -> &'a [u8] {
        self.wire
    }

    /// The caller's list (empty once decoded).
    pub(super) fn list(&self) -> &'a [(&'a str, SubscriptionOptions)] {
        self.list
    }
}

impl PartialEq for Subscriptions<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Subscriptions<'_> {}
