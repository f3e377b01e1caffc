//! Packets from an MQTT 5.0 server: the acknowledgements with their reason
//! codes (§2.4), PUBLISH with its properties, DISCONNECT with its reason.
//!
//! The rules 3.1.1 already has (§4.3, §4.4) are the session's own, called
//! with what 5.0 adds decided here:
//! - a PUBACK with a failure reason (0x80 and above) completes the QoS 1
//!   message as refused, not retried (§4.3.2: the reason code is the
//!   receiver's answer; sending it again would get the same one): the
//!   application hears `Event::Rejected(Rejected::Publish(token))`, and
//!   [`Session::reason_code`] says why. 0x10 "No matching subscribers" is
//!   a success (§3.4.2.1);
//! - a PUBREC with a failure reason ends the QoS 2 exchange: no PUBREL
//!   (§4.3.3, [MQTT-4.3.3-4] for the sender), reported the same way;
//! - PUBCOMP and PUBREL complete whatever their reason (0x92 "Packet
//!   Identifier not found" after a lost session included: nothing is left
//!   to do for that id);
//! - SUBACK and UNSUBACK as in 3.1.1 (a code of 0x80 and above fails the
//!   filter), their code readable through [`Session::reason_code`];
//! - a DISCONNECT from the server ends the connection with its reason
//!   ([`Reason::Server`]); AUTH, which a client that asked for no enhanced
//!   authentication must never get (§4.12), and a PUBLISH with a Topic
//!   Alias (the client allows none) are Protocol Errors
//!   ([`Reason::Violation`]).

use super::super::{Event, Handled, Message, Reason, Rejected, Session, State, Token};
use crate::session::counters::bump;
use crate::time::Instant;
use crate::wire::v5::{Packet, PropertyId, ReasonCode};

impl<'a, const N: usize, const S: usize, const R: usize> Session<'a, N, S, R> {
    /// [`Session::handle`] for an MQTT 5.0 session: feeds one packet
    /// decoded by [`crate::wire::v5::Packet::decode_from_server`]. `Err`
    /// means the connection must be closed (the reason says why); the
    /// caller then calls [`Session::transport_down`].
    pub fn handle_v5<'p>(
        &mut self,
        now: Instant,
        packet: Packet<'p>,
    ) -> Result<Handled<'a, 'p>, Reason> {
        self.keepalive.received(now);
        match (self.state, packet) {
            (
                State::Connecting {
                    sent: true, clean, ..
                },
                Packet::ConnAck(ack),
            ) => self.connack_v5(now, ack, clean),
            (State::Connected { .. }, packet) => self.connected_v5(now, packet),
            // During a clean_init hand-over whatever arrives is moot.
            (State::Closing { .. }, _) => Ok(Handled::Nothing),
            // [MQTT-3.14.0-1] forbids a DISCONNECT before CONNACK, but its
            // reason says more than "unexpected".
            (_, Packet::Disconnect(d)) => Err(self.disconnected(d.reason)),
            // §3.2: the first packet from the server is CONNACK, and only once.
            _ => Err(Reason::Unexpected),
        }
    }

    fn connected_v5<'p>(
        &mut self,
        now: Instant,
        packet: Packet<'p>,
    ) -> Result<Handled<'a, 'p>, Reason> {
        match packet {
            Packet::Publish(p) => {
                // The client announces no Topic Alias Maximum (0), so any
                // alias is invalid (§3.3.2.3.4, [MQTT-3.3.2-9]).
                if p.properties.get(PropertyId::TopicAlias).is_some() {
                    return Err(Reason::Violation(ReasonCode::TopicAliasInvalid));
                }
                if !self.accept(p.qos, p.pid)? {
                    return Ok(Handled::Nothing);
                }
                Ok(Handled::Deliver(Message {
                    topic: p.topic,
                    payload: p.payload,
                    qos: p.qos,
                    retain: p.retain,
                    dup: p.dup,
                    properties: p.properties,
                }))
            }
            // A message being given up (`sendable_v5`: never sent on this
            // connection, its report waiting for the next poll) is not in
            // flight: an acknowledgement of its id is for nothing.
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubComp(a)
                if self.given_up == Some(Rejected::Publish(Token(a.pid))) =>
            {
                Ok(Handled::Nothing)
            }
            Packet::PubAck(a) => {
                self.v5.reason = Some(a.reason);
                if a.reason.is_success() {
                    return Ok(self.puback(a.pid));
                }
                let refused = self.inflight.acknowledge(a.pid);
                Ok(self.refused(refused, a.pid))
            }
            Packet::PubRec(a) if R > 0 => {
                self.v5.reason = Some(a.reason);
                if a.reason.is_success() {
                    return self.pubrec(now, a.pid);
                }
                // §4.3.3: the exchange ends here, no PUBREL.
                let refused = self.inflight.abandon(a.pid);
                Ok(self.refused(refused, a.pid))
            }
            Packet::PubComp(a) if R > 0 => {
                self.v5.reason = Some(a.reason);
                Ok(self.pubcomp(a.pid))
            }
            Packet::PubRel(a) if R > 0 => self.pubrel(a.pid),
            Packet::SubAck(s) => {
                self.v5.reason = s.reasons().next();
                Ok(self.suback(s.pid, s.codes))
            }
            Packet::UnsubAck(s) => {
                self.v5.reason = s.reasons().next();
                Ok(self.unsuback(s.pid))
            }
            Packet::PingResp => {
                self.pingresp(now);
                Ok(Handled::Nothing)
            }
            Packet::Disconnect(d) => Err(self.disconnected(d.reason)),
            Packet::Auth(_) => Err(Reason::Violation(ReasonCode::ProtocolError)),
            _ => Err(Reason::Unexpected),
        }
    }

    /// A message the server answered with a failure reason code and that
    /// `removed` (false: not ours, or already completed) took out of the
    /// in-flight table: reported, counted, never sent again.
    fn refused<'p>(&mut self, removed: bool, pid: u16) -> Handled<'a, 'p> {
        if !removed {
            return Handled::Nothing;
        }
        bump(&mut self.counters.rejected);
        self.caution.answered();
        self.changed();
        Handled::Event(Event::Rejected(Rejected::Publish(Token(pid))))
    }

    /// The server's DISCONNECT (§3.14): the connection ends with its reason.
    fn disconnected(&mut self, reason: ReasonCode) -> Reason {
        self.v5.reason = Some(reason);
        Reason::Server(reason)
    }

    /// MQTT 5.0: the reason code behind the event the last poll returned:
    /// CONNACK's (`Up`: Success; `ConnectFailed`), PUBACK's, PUBREC's or
    /// PUBCOMP's (`Published`: Success or 0x10 No matching subscribers;
    /// `Rejected(Publish)`: the refusal, or the code the server would have
    /// refused with for a message queued before its limits were known:
    /// 0x9B QoS not supported, 0x9A Retain not supported, 0x95 Packet too
    /// large), SUBACK's (`Subscribed`: the granted QoS; `SubscribeFailed`:
    /// why), UNSUBACK's (`Unsubscribed`: Success, 0x11 No subscription
    /// existed, or a refusal: the filter is out of the table either way),
    /// DISCONNECT's (`Down`). `None` for an event no packet of the server
    /// stands behind (a 3.1.1 session, a timeout, a request given up after
    /// the broker closed on it).
    pub fn reason_code(&self) -> Option<ReasonCode> {
        self.v5.reason
    }

    /// Forgets the reason code of the last event (the `Client` calls this
    /// at the start of each poll).
    pub(crate) fn clear_reason_code(&mut self) {
        self.v5.reason = None;
    }

    /// The request given up is being reported: its reason code, if it was
    /// refused with one, is the event's.
    pub(in crate::session) fn report_given_up_v5(&mut self) {
        self.v5.reason = self.v5.given_up_reason.take();
    }
}
