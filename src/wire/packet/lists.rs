//! The topic lists of SUBSCRIBE and UNSUBSCRIBE (§3.8.3, §3.10.3), read the
//! same way in either form.
//!
//! A list is the caller's slice when encoding and the validated payload
//! bytes when decoded (no room to copy the entries out, and no need: the
//! bytes were checked once by the decoder). Iterating, counting and
//! comparing go through one iterator over both, so a decoded SUBSCRIBE
//! equals the one it was encoded from.

use super::decode::{subscription, topic_filter};
use super::{SubscribeTopics, UnsubscribeTopics};
use crate::wire::reader::Reader;
use crate::wire::{DecodeError, QoS};

/// The entries of a topic list: those of `list`, then those parsed from
/// `wire` (validated by `decode`, or given by a caller when encoding),
/// stopping at the first one that does not parse.
// Shared with the MQTT 5.0 lists (`wire::v5`), whose SUBSCRIBE entries
// differ only in their options byte.
pub(in crate::wire) struct Entries<'a, T> {
    pub(in crate::wire) list: &'a [T],
    pub(in crate::wire) wire: Reader<'a>,
    pub(in crate::wire) entry: fn(&mut Reader<'a>) -> Result<T, DecodeError>,
}

impl<'a, T: Copy> Iterator for Entries<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if let Some((&first, rest)) = self.list.split_first() {
            self.list = rest;
            return Some(first);
        }
        if self.wire.is_empty() {
            return None;
        }
        let item = (self.entry)(&mut self.wire).ok();
        if item.is_none() {
            self.wire = Reader::new(&[]);
        }
        item
    }
}

impl<'a> SubscribeTopics<'a> {
    /// The (filter, requested QoS) pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, QoS)> + 'a {
        let (list, wire): (&'a [(&'a str, QoS)], &'a [u8]) = match *self {
            SubscribeTopics::List(list) => (list, &[]),
            SubscribeTopics::Wire(wire) => (&[], wire),
        };
        Entries {
            list,
            wire: Reader::new(wire),
            entry: subscription,
        }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if there is no filter (never, once decoded).
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for SubscribeTopics<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SubscribeTopics<'_> {}

impl<'a> UnsubscribeTopics<'a> {
    /// The filters, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let (list, wire): (&'a [&'a str], &'a [u8]) = match *self {
            UnsubscribeTopics::List(list) => (list, &[]),
            UnsubscribeTopics::Wire(wire) => (&[], wire),
        };
        Entries {
            list,
            wire: Reader::new(wire),
            entry: topic_filter,
        }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if there is no filter (never, once decoded).
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for UnsubscribeTopics<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for UnsubscribeTopics<'_> {}
