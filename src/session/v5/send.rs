//! What an MQTT 5.0 session sends: PUBLISH, SUBSCRIBE and UNSUBSCRIBE in
//! 5.0's encoding (a property block, empty for now: one byte), what the
//! server's limits refuse at the call, and the Receive Maximum window.
//!
//! A limit the server sets is honoured in two places:
//! - at the call, once known (after the first CONNACK): a publish above
//!   the Maximum QoS, a retained one without Retain Available
//!   ([`RequestError::ServerUnsupported`]), one whose packet exceeds the
//!   Maximum Packet Size ([`RequestError::TooLarge`], as a SUBSCRIBE or
//!   UNSUBSCRIBE that would), a wildcard or shared filter the server does
//!   not support;
//! - when sending, for a message queued before the limits were known (or
//!   under a previous server's): it is never sent (the server would close
//!   the connection on it, for ever), but given up and reported as
//!   `Rejected` with the reason code the server would have sent (0x9B QoS
//!   not supported, 0x9A Retain not supported, 0x95 Packet too large); a
//!   subscription request too large likewise (0x95). An acknowledgement of
//!   a message being given up is for nothing in flight (ignored).
//!
//! A subscription above the server's Maximum QoS is allowed: the server
//! grants what it supports (§3.2.2.3.4, non-normative comment).
//!
//! What 5.0 adds to a request is checked at the call too
//! ([`RequestError::Invalid`] when the protocol forbids it):
//! - `publish_with`: PUBLISH properties (§3.3.2.3): what table 2-4 allows
//!   in a PUBLISH, each at most once but User Property, checked by the
//!   codec; not a Topic Alias (this client sends none) nor a Subscription
//!   Identifier ([MQTT-3.3.4-6]: a client never sends one); a Response
//!   Topic that is a Topic Name ([MQTT-3.3.2-14]). The properties are in
//!   the PUBLISH kept in the in-flight store, so a retransmission (and a
//!   saved session) keeps them.
//! - `subscribe_with`: Subscription Options (§3.8.3.1) and a Subscription
//!   Identifier (§3.8.2.1.2: 1 to 268,435,455, if the server has
//!   Subscription Identifiers Available) kept in the subscription table
//!   and sent with every SUBSCRIBE for the filter; a shared subscription
//!   (§4.8.2) is `$share/{ShareName}/{filter}`, its ShareName non-empty
//!   without `/`, `+` or `#` ([MQTT-4.8.2-1], [MQTT-4.8.2-2]), and never
//!   No Local ([MQTT-3.8.3-4]).

use super::super::{check_topic_name, RequestError, Session};
use crate::session::counters::bump;
use crate::session::subscriptions::Extra;
use crate::session::{Rejected, Token};
use crate::wire::v5::{
    Carrier, Properties, Property, Publish, ReasonCode, RetainHandling, Subscribe,
    SubscriptionOptions, Subscriptions, Unsubscribe,
};
use crate::wire::{QoS, UnsubscribeTopics};

/// §4.8.2: a shared subscription's filter starts with this.
const SHARE: &str = "$share/";

/// Encodes a PUBLISH with no properties (the codec checks the topic).
pub(in crate::session) fn encode_publish(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    retain: bool,
    pid: Option<u16>,
    buf: &mut [u8],
) -> Option<usize> {
    publish(topic, payload, qos, retain, pid, Properties::NONE)
        .encode(buf)
        .ok()
}

/// [`encode_publish`] with `properties` (checked by `check_properties`).
pub(crate) fn encode_publish_with(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    retain: bool,
    pid: Option<u16>,
    properties: &[Property<'_>],
    buf: &mut [u8],
) -> Option<usize> {
    publish(
        topic,
        payload,
        qos,
        retain,
        pid,
        Properties::new(properties),
    )
    .encode(buf)
    .ok()
}

fn publish<'p>(
    topic: &'p str,
    payload: &'p [u8],
    qos: QoS,
    retain: bool,
    pid: Option<u16>,
    properties: Properties<'p>,
) -> Publish<'p> {
    Publish {
        dup: false,
        qos,
        retain,
        topic,
        pid,
        properties,
        payload,
    }
}

/// The PUBLISH properties a client may send (see the module's doc): the
/// codec's table 2-4 check, no Topic Alias, no Subscription Identifier, a
/// Response Topic that is a Topic Name.
pub(in crate::session) fn check_properties(
    properties: &Properties<'_>,
) -> Result<(), RequestError> {
    properties
        .check(Carrier::Publish)
        .map_err(|_| RequestError::Invalid)?;
    for p in properties.iter() {
        match p {
            Property::TopicAlias(_) | Property::SubscriptionIdentifier(_) => {
                return Err(RequestError::Invalid)
            }
            Property::ResponseTopic(topic) => check_topic_name(topic)?,
            _ => {}
        }
    }
    Ok(())
}

/// Largest Subscription Identifier (§3.8.2.1.2: a Variable Byte Integer
/// of 1 to 268,435,455).
const MAX_SUBSCRIPTION_ID: u32 = 268_435_455;

/// Bytes of a Variable Byte Integer (§1.5.5).
fn varint_len(n: usize) -> usize {
    match n {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// §4.8.2: a filter starting `$share/` is a shared subscription,
/// `$share/{ShareName}/{filter}`: a ShareName of at least one character
/// without `/`, `+` or `#` ([MQTT-4.8.2-1], [MQTT-4.8.2-2]), then a filter;
/// No Local on it is a Protocol Error ([MQTT-3.8.3-4]).
fn check_shared(filter: &str, no_local: bool) -> Result<(), RequestError> {
    let Some(rest) = filter.strip_prefix(SHARE) else {
        return Ok(());
    };
    let rest = rest.as_bytes();
    let group = rest.iter().position(|&b| b == b'/').unwrap_or(0);
    let wildcard = rest[..group].iter().any(|&b| b == b'+' || b == b'#');
    // A group of at least one byte, then `/` and at least one more.
    if group == 0 || group + 1 >= rest.len() || wildcard || no_local {
        return Err(RequestError::Invalid);
    }
    Ok(())
}

impl<'a, const N: usize, const S: usize, const R: usize> Session<'a, N, S, R> {
    /// The checks a publish passes in 5.0 before it is queued or written:
    /// the server's Maximum QoS, Retain Available and Maximum Packet Size;
    /// returns the length of its PUBLISH.
    pub(crate) fn check_publish_v5(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<usize, RequestError> {
        self.check_publish_with_v5(topic, payload, qos, retain, Properties::NONE)
    }

    /// [`Self::check_publish_v5`] for a PUBLISH with `properties` (checked
    /// by `check_properties` first).
    pub(crate) fn check_publish_with_v5(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: Properties<'_>,
    ) -> Result<usize, RequestError> {
        let limits = &self.v5.limits;
        if qos > limits.maximum_qos || (retain && !limits.retain_available) {
            return Err(RequestError::ServerUnsupported);
        }
        // Any id: its two bytes are there for QoS 1 and 2 whichever it is.
        let pid = (qos != QoS::AtMostOnce).then_some(1);
        let len = publish(topic, payload, qos, retain, pid, properties)
            .encoded_len()
            .map_err(|_| RequestError::TooLarge)?;
        if len as u64 > u64::from(limits.maximum_packet_size) {
            return Err(RequestError::TooLarge);
        }
        Ok(len)
    }

    /// The checks a subscription passes in 5.0: a filter with wildcards
    /// needs Wildcard Subscription Available (§3.2.2.3.11), a shared one
    /// Shared Subscription Available (§3.2.2.3.13); its SUBSCRIBE must fit
    /// the server's Maximum Packet Size.
    /// A filter starting `$share/` must be a valid shared subscription
    /// (`check_shared`); `id`: its Subscription Identifier, 0 for none.
    pub(in crate::session) fn check_filter_v5(
        &self,
        filter: &str,
        no_local: bool,
        id: u32,
    ) -> Result<(), RequestError> {
        check_shared(filter, no_local)?;
        let limits = &self.v5.limits;
        let wildcard = filter.bytes().any(|b| b == b'+' || b == b'#');
        let shared = filter.starts_with(SHARE);
        if (wildcard && !limits.wildcard_available) || (shared && !limits.shared_available) {
            return Err(RequestError::ServerUnsupported);
        }
        if !self.request_fits_v5(filter, true, id) {
            return Err(RequestError::TooLarge);
        }
        Ok(())
    }

    /// The length of the SUBSCRIBE for `filter` with identifier `id` (0:
    /// none): packet id, property block, filter and options byte, then the
    /// fixed header.
    fn subscribe_len_v5(filter: &str, subscribe: bool, id: u32) -> usize {
        let properties = if id == 0 {
            0
        } else {
            1 + varint_len(id as usize)
        };
        let rest = 2 + 1 + properties + 2 + filter.len() + usize::from(subscribe);
        1 + varint_len(rest) + rest
    }

    /// The server's Maximum Packet Size against the SUBSCRIBE (or, when
    /// not `subscribe`, the UNSUBSCRIBE) for `filter` (§3.2.2.3.6: the
    /// client must not send a larger packet, [MQTT-3.2.2-15]).
    /// `id`: the SUBSCRIBE's Subscription Identifier, 0 for none.
    pub(in crate::session) fn request_fits_v5(
        &self,
        filter: &str,
        subscribe: bool,
        id: u32,
    ) -> bool {
        let len = Self::subscribe_len_v5(filter, subscribe, id);
        len as u64 <= u64::from(self.v5.limits.maximum_packet_size)
    }

    /// A subscription request that does not fit the server's Maximum
    /// Packet Size (one queued before the limits were known): it is never
    /// sent but given up, reported by the next `take_rejected` with 0x95
    /// Packet too large, as a publish is (`sendable_v5`).
    pub(in crate::session) fn give_up_request_v5(&mut self, index: usize) {
        // One report at a time: the next waits until this one is taken.
        if self.given_up.is_some() {
            return;
        }
        if let Some(rejected) = self.subs.rejected(index, 1) {
            self.given_up = Some(rejected);
            self.v5.given_up_reason = Some(ReasonCode::PacketTooLarge);
            bump(&mut self.counters.rejected);
            self.changed();
        }
    }

    /// SUBSCRIBE for one filter (§3.8) with its options and identifier.
    pub(in crate::session) fn encode_subscribe_v5(
        pid: u16,
        topic: &str,
        qos: QoS,
        extra: Extra,
        out: &mut [u8],
    ) -> Option<usize> {
        // The flags are a valid options byte's bits 2 to 5 (`subscribe_with`).
        let options = SubscriptionOptions {
            qos,
            no_local: extra.flags & 0x04 != 0,
            retain_as_published: extra.flags & 0x08 != 0,
            retain_handling: match extra.flags >> 4 {
                1 => RetainHandling::SendIfNew,
                2 => RetainHandling::DoNotSend,
                _ => RetainHandling::SendAtSubscribe,
            },
        };
        let list = [(topic, options)];
        let ids = [Property::SubscriptionIdentifier(extra.id)];
        let packet = Subscribe {
            pid,
            properties: if extra.id == 0 {
                Properties::NONE
            } else {
                Properties::new(&ids)
            },
            topics: Subscriptions::new(&list),
        };
        packet.encode(out).ok()
    }

    /// UNSUBSCRIBE for one filter (§3.10).
    pub(in crate::session) fn encode_unsubscribe_v5(
        pid: u16,
        topic: &str,
        out: &mut [u8],
    ) -> Option<usize> {
        let list = [topic];
        let packet = Unsubscribe {
            pid,
            properties: Properties::NONE,
            topics: UnsubscribeTopics::List(&list),
        };
        packet.encode(out).ok()
    }

    /// MQTT 5.0: queues a QoS 1 or QoS 2 PUBLISH with `properties`
    /// (§3.3.2.3: Message Expiry Interval, Payload Format Indicator,
    /// Content Type, Response Topic, Correlation Data, User Properties),
    /// as [`Session::publish`]. Refused at the call: properties a client
    /// may not send in a PUBLISH ([`RequestError::Invalid`], see the
    /// module's doc), a packet above the server's Maximum Packet Size or
    /// the store slot (`TooLarge`), a 3.1.1 session (`Unsupported`).
    pub fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<Token, RequestError> {
        check_topic_name(topic)?;
        match qos {
            QoS::AtMostOnce => return Err(RequestError::Unsupported),
            QoS::ExactlyOnce if R == 0 => return Err(RequestError::Unsupported),
            _ if N == 0 => return Err(RequestError::Unsupported),
            _ => {}
        }
        if self.publish_len_with(topic, payload, qos, retain, properties)? > self.max_publish() {
            return Err(RequestError::TooLarge);
        }
        if self.inflight.is_full() {
            return Err(RequestError::Full);
        }
        let pid = self
            .inflight
            .insert(qos == QoS::ExactlyOnce, |pid, buf| {
                encode_publish_with(topic, payload, qos, retain, Some(pid), properties, buf)
            })
            .ok_or(RequestError::TooLarge)?;
        self.changed();
        Ok(Token(pid))
    }

    /// The length of a 5.0 PUBLISH of this message with `properties`, once
    /// the call's checks passed (`Unsupported` on a 3.1.1 session).
    pub(crate) fn publish_len_with(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<usize, RequestError> {
        if !self.config.is_v5() {
            return Err(RequestError::Unsupported);
        }
        let properties = Properties::new(properties);
        check_properties(&properties)?;
        self.check_publish_with_v5(topic, payload, qos, retain, properties)
    }

    /// MQTT 5.0: [`Session::subscribe`] with Subscription Options
    /// (§3.8.3.1: No Local, Retain As Published, Retain Handling beside the
    /// QoS) and a Subscription Identifier (§3.8.2.1.2), kept with the
    /// filter and sent again with every SUBSCRIBE for it (a resubscription
    /// after a session was lost too). Refused at the call: an identifier
    /// of 0 or above 268,435,455, a `$share/` filter that is not a shared
    /// subscription or has No Local ([`RequestError::Invalid`], §4.8.2);
    /// an identifier without Subscription Identifiers Available, a
    /// wildcard or shared filter the server does not support
    /// (`ServerUnsupported`); a 3.1.1 session (`Unsupported`).
    ///
    /// A saved session keeps each filter's QoS and state, not its options:
    /// declare the filter with the same options after power-up.
    pub fn subscribe_with(
        &mut self,
        filter: &'a str,
        options: SubscriptionOptions,
        id: Option<u32>,
    ) -> Result<(), RequestError> {
        if !self.config.is_v5() {
            return Err(RequestError::Unsupported);
        }
        self.check_filter(filter)?;
        let id = match id {
            None => 0,
            Some(id @ 1..=MAX_SUBSCRIPTION_ID) if self.v5.limits.subscription_ids_available => id,
            Some(1..=MAX_SUBSCRIPTION_ID) => return Err(RequestError::ServerUnsupported),
            Some(_) => return Err(RequestError::Invalid),
        };
        self.check_filter_v5(filter, options.no_local, id)?;
        if Self::subscribe_len_v5(filter, true, id) > self.max_packet {
            return Err(RequestError::TooLarge);
        }
        if options.qos == QoS::ExactlyOnce && R == 0 {
            return Err(RequestError::Unsupported);
        }
        let extra = Extra {
            flags: options.to_byte() & 0x3C,
            id,
        };
        self.subs
            .subscribe_with(filter, options.qos, extra)
            .map_err(|_| RequestError::Full)?;
        self.changed();
        Ok(())
    }

    /// True when as many messages were sent on this connection, and not
    /// completed, as the server's Receive Maximum allows (§4.9: the send
    /// quota; [MQTT-3.3.4-7]): no new one goes out until one completes.
    /// Messages go out in publish order, so those ahead of the cursor are
    /// the sent ones; a released QoS 2 message still counts until its
    /// PUBCOMP.
    pub(in crate::session) fn window_full_v5(&self) -> bool {
        let limit = usize::from(self.v5.limits.receive_maximum);
        limit < N && self.inflight.sent_ahead() >= limit
    }

    /// Whether the message in `slot` may be sent to this server; if not,
    /// it is given up (reported by the next `take_rejected` with the reason
    /// code the server would have refused it with) and false is returned.
    /// A released QoS 2 message (its PUBREL is what goes out) always may.
    pub(in crate::session) fn sendable_v5(&mut self, slot: u16) -> bool {
        let Some((first, len, pid)) = self.inflight.unreleased_publish(slot) else {
            return true;
        };
        let limits = &self.v5.limits;
        let qos = QoS::from_bits((first >> 1) & 3).unwrap_or(QoS::ExactlyOnce);
        let code = if qos > limits.maximum_qos {
            ReasonCode::QoSNotSupported
        } else if first & 1 != 0 && !limits.retain_available {
            ReasonCode::RetainNotSupported
        } else if len as u64 > u64::from(limits.maximum_packet_size) {
            ReasonCode::PacketTooLarge
        } else {
            return true;
        };
        // One report at a time: the next waits until this one is taken.
        if self.given_up.is_none() {
            self.given_up = Some(Rejected::Publish(Token(pid)));
            self.v5.given_up_reason = Some(code);
            bump(&mut self.counters.rejected);
            self.changed();
        }
        false
    }
}
