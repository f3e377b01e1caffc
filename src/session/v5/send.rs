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

use super::super::{RequestError, Session};
use crate::session::counters::bump;
use crate::session::{Rejected, Token};
use crate::wire::v5::{
    Properties, Publish, ReasonCode, Subscribe, SubscriptionOptions, Subscriptions, Unsubscribe,
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
    publish(topic, payload, qos, retain, pid).encode(buf).ok()
}

fn publish<'p>(
    topic: &'p str,
    payload: &'p [u8],
    qos: QoS,
    retain: bool,
    pid: Option<u16>,
) -> Publish<'p> {
    Publish {
        dup: false,
        qos,
        retain,
        topic,
        pid,
        properties: Properties::NONE,
        payload,
    }
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
        let limits = &self.v5.limits;
        if qos > limits.maximum_qos || (retain && !limits.retain_available) {
            return Err(RequestError::ServerUnsupported);
        }
        // Any id: its two bytes are there for QoS 1 and 2 whichever it is.
        let pid = (qos != QoS::AtMostOnce).then_some(1);
        let len = publish(topic, payload, qos, retain, pid)
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
    pub(in crate::session) fn check_filter_v5(&self, filter: &str) -> Result<(), RequestError> {
        let limits = &self.v5.limits;
        let wildcard = filter.bytes().any(|b| b == b'+' || b == b'#');
        let shared = filter.starts_with(SHARE);
        if (wildcard && !limits.wildcard_available) || (shared && !limits.shared_available) {
            return Err(RequestError::ServerUnsupported);
        }
        if !self.request_fits_v5(filter, true) {
            return Err(RequestError::TooLarge);
        }
        Ok(())
    }

    /// The server's Maximum Packet Size against the SUBSCRIBE (or, when
    /// not `subscribe`, the UNSUBSCRIBE) for `filter` (§3.2.2.3.6: the
    /// client must not send a larger packet, [MQTT-3.2.2-15]).
    pub(in crate::session) fn request_fits_v5(&self, filter: &str, subscribe: bool) -> bool {
        // Packet id, an empty property block, the filter and (SUBSCRIBE)
        // its options byte; then the fixed header.
        let rest = 2 + 1 + 2 + filter.len() + usize::from(subscribe);
        let header = 1 + match rest {
            0..=127 => 1,
            128..=16_383 => 2,
            16_384..=2_097_151 => 3,
            _ => 4,
        };
        (header + rest) as u64 <= u64::from(self.v5.limits.maximum_packet_size)
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

    /// SUBSCRIBE for one filter (§3.8), options: the QoS only.
    pub(in crate::session) fn encode_subscribe_v5(
        pid: u16,
        topic: &str,
        qos: QoS,
        out: &mut [u8],
    ) -> Option<usize> {
        let list = [(topic, SubscriptionOptions::qos(qos))];
        let packet = Subscribe {
            pid,
            properties: Properties::NONE,
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
