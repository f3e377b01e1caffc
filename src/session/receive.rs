//! Packets from the broker: CONNACK, the acknowledgements of our requests,
//! and PUBLISH with the acknowledgements it is owed (§4.3: QoS 1 PUBACK,
//! QoS 2 PUBREC → PUBREL → PUBCOMP, exactly once by keeping the id until
//! PUBREL). Each packet is handled whole; what it owes goes out with the
//! next transmit.

use super::*;

impl<'a, const N: usize, const S: usize, const R: usize> Session<'a, N, S, R> {
    /// Feeds one packet received from the broker. `Err` means the connection
    /// must be closed (the reason says why); the caller then calls
    /// [`Session::transport_down`].
    pub fn handle<'p>(
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
            ) => self.connack(now, ack, clean),
            (State::Connected { .. }, packet) => self.handle_connected(now, packet),
            // During a clean_init hand-over whatever arrives is moot.
            (State::Closing { .. }, _) => Ok(Handled::Nothing),
            // §3.2: the first packet from the server is CONNACK, and only once.
            _ => Err(Reason::Unexpected),
        }
    }

    fn connack<'p>(
        &mut self,
        now: Instant,
        ack: ConnAck,
        clean: bool,
    ) -> Result<Handled<'a, 'p>, Reason> {
        if ack.code != ConnectReturnCode::Accepted {
            return Err(Reason::Refused(ack.code));
        }
        self.accepted(now, ack.session_present, clean)
    }

    /// A CONNACK accepted the connection whose CONNECT had `clean` (Clean
    /// Session in 3.1.1, Clean Start in 5.0).
    pub(super) fn accepted<'p>(
        &mut self,
        now: Instant,
        session_present: bool,
        clean: bool,
    ) -> Result<Handled<'a, 'p>, Reason> {
        let first = !self.connected_once;
        self.connected_once = true;
        self.changed();
        // [MQTT-3.2.2-1]: after a clean CONNECT there is no session, whatever
        // the flag says. Believing a broker that says otherwise would leave
        // the subscriptions marked active and never sent: resubscribe instead.
        // (MQTT 5.0 says the same of Clean Start, [MQTT-3.2.2-2].)
        let present = session_present && !clean;
        if !present {
            // §3.2.2.2: the broker has no session: its QoS 2 ids are gone,
            // and our subscriptions must be sent again.
            self.unreleased.clear();
            self.subs.session_lost();
        }
        if first && self.config.clean_init && !self.config.clean && !self.config.is_v5() {
            // §3.1.2.4: a clean session ends with its connection. Having
            // discarded the old state, start the persistent one (mqtt_as).
            // (MQTT 5.0 needs no such hand-over: its first CONNECT has
            // Clean Start and a Session Expiry Interval, §3.1.2.11.2.)
            self.state = State::Closing { sent: false };
            return Ok(Handled::Nothing);
        }
        bump(&mut self.counters.connects);
        if self.up_once {
            bump(&mut self.counters.reconnects);
        }
        self.up_once = true;
        self.state = State::Connected {
            deferred: false,
            since: now,
            clean: self.session_ends(clean),
        };
        self.keepalive = KeepAlive::new(now);
        self.caution.connected(&mut self.keepalive);
        Ok(Handled::Event(Event::Up {
            session_present: present,
        }))
    }

    /// True if the session ends with this connection (its CONNECT had
    /// `clean`): nothing will resume it (see `exactly_once`).
    fn session_ends(&self, clean: bool) -> bool {
        // MQTT 5.0: whatever Clean Start said, a session with an expiry
        // interval outlives its connection (§3.1.2.11.2).
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            return self.session_expiry() == 0;
        }
        clean
    }

    fn handle_connected<'p>(
        &mut self,
        now: Instant,
        packet: Packet<'p>,
    ) -> Result<Handled<'a, 'p>, Reason> {
        match packet {
            Packet::Publish(p) => {
                if !self.accept(p.qos, p.pid)? {
                    return Ok(Handled::Nothing);
                }
                Ok(Handled::Deliver(Message {
                    topic: p.topic,
                    payload: p.payload,
                    qos: p.qos,
                    retain: p.retain,
                    dup: p.dup,
                    #[cfg(feature = "mqtt5")]
                    properties: crate::wire::v5::Properties::NONE,
                }))
            }
            Packet::PubAck(pid) => Ok(self.puback(pid)),
            Packet::PubRec(pid) if R > 0 => self.pubrec(now, pid),
            Packet::PubComp(pid) if R > 0 => Ok(self.pubcomp(pid)),
            Packet::PubRel(pid) if R > 0 => self.pubrel(pid),
            Packet::SubAck(s) => Ok(self.suback(s.pid, s.codes)),
            Packet::UnsubAck(pid) => Ok(self.unsuback(pid)),
            Packet::PingResp => {
                self.pingresp(now);
                Ok(Handled::Nothing)
            }
            _ => Err(Reason::Unexpected),
        }
    }

    /// PUBACK (§3.4): the QoS 1 message `pid` is complete. One for an id
    /// no longer in flight is a late duplicate after a retransmission:
    /// harmless.
    pub(super) fn puback<'p>(&mut self, pid: u16) -> Handled<'a, 'p> {
        if !self.inflight.acknowledge(pid) {
            return Handled::Nothing;
        }
        self.caution.answered();
        self.changed();
        Handled::Event(Event::Published(Token(pid)))
    }

    /// PUBREC (§4.3.3): the broker has the message; release it. A PUBREC
    /// for an id we do not know (already completed, or from a session we
    /// lost) is answered all the same, so the broker can finish.
    pub(super) fn pubrec<'p>(&mut self, now: Instant, pid: u16) -> Result<Handled<'a, 'p>, Reason> {
        if self.inflight.received(pid, now) {
            self.changed();
        }
        self.owe(Owed::Release(pid))?;
        Ok(Handled::Nothing)
    }

    /// PUBCOMP (§3.7): the QoS 2 message `pid` is complete.
    pub(super) fn pubcomp<'p>(&mut self, pid: u16) -> Handled<'a, 'p> {
        if !self.inflight.complete(pid) {
            return Handled::Nothing;
        }
        self.caution.answered();
        self.changed();
        Handled::Event(Event::Published(Token(pid)))
    }

    /// PUBREL (§4.3.3): PUBCOMP, known id or not. The id may be used again.
    pub(super) fn pubrel<'p>(&mut self, pid: u16) -> Result<Handled<'a, 'p>, Reason> {
        self.unreleased.release(pid);
        self.changed();
        self.owe(Owed::Complete(pid))?;
        Ok(Handled::Nothing)
    }

    /// SUBACK (§3.9): the first code answers our one filter (0..=2: the
    /// granted QoS, else a failure; MQTT 5.0's codes agree, §3.9.3).
    pub(super) fn suback<'p>(&mut self, pid: u16, codes: &[u8]) -> Handled<'a, 'p> {
        let code = codes.first().copied().unwrap_or(0x80);
        let acked = self.subs.suback(pid, code);
        self.changed();
        match acked {
            Some(acked) => {
                self.caution.answered();
                Handled::Event(acked_event(acked))
            }
            None => Handled::Nothing,
        }
    }

    /// UNSUBACK (§3.11).
    pub(super) fn unsuback<'p>(&mut self, pid: u16) -> Handled<'a, 'p> {
        match self.subs.unsuback(pid) {
            Some(acked) => {
                self.caution.answered();
                self.changed();
                Handled::Event(acked_event(acked))
            }
            None => Handled::Nothing,
        }
    }

    /// PINGRESP (§3.13).
    pub(super) fn pingresp(&mut self, now: Instant) {
        self.caution.pong(elapsed(self.keepalive.ping_sent(), now));
        self.keepalive.pong();
    }

    /// The acknowledgement rules for a PUBLISH from the broker (§4.3): queue
    /// what is owed, sent on the next poll after the application has the
    /// message. False: not to be delivered (a QoS 2 re-send of a message
    /// delivered before, or one left with the broker, see `exactly_once`).
    pub(super) fn accept(&mut self, qos: QoS, pid: Option<u16>) -> Result<bool, Reason> {
        match (qos, pid) {
            (QoS::AtMostOnce, _) => Ok(true),
            (QoS::AtLeastOnce, Some(pid)) => self.owe(Owed::Ack(pid)).map(|()| true),
            (QoS::ExactlyOnce, Some(pid)) if R > 0 => self.exactly_once(pid),
            _ => Err(Reason::Unexpected),
        }
    }

    /// An incoming QoS 2 PUBLISH (§4.3.3, method B: its id is kept until
    /// PUBREL, and a PUBLISH with a kept id is a re-send, answered with
    /// PUBREC and not delivered again).
    ///
    /// The table holds `R` ids; size it to the broker's in-flight window
    /// (mosquitto 20, EMQX 32: the default `R` is 32) and it never fills.
    /// When a broker exceeds it anyway:
    /// - on a clean session the message is delivered and answered without
    ///   keeping its id (counted in `untracked`): a broker re-sends a QoS 2
    ///   PUBLISH only on a reconnection that resumes the session (§4.4), and
    ///   a clean session is never resumed, so no re-send can come;
    /// - on a persistent session it is left unanswered with the broker
    ///   (counted in `deferred`), and so is every QoS 2 PUBLISH after it on
    ///   this connection, so PUBRECs keep the order of the PUBLISHes
    ///   (§4.6); once the table has drained the connection is closed and the
    ///   broker sends them again (`Reason::ExactlyOnceFull`).
    fn exactly_once(&mut self, pid: u16) -> Result<bool, Reason> {
        let (deferred, clean) = match self.state {
            State::Connected {
                deferred, clean, ..
            } => (deferred, clean),
            _ => (false, true),
        };
        let known = self.unreleased.contains(pid);
        if deferred || (!known && !clean && self.unreleased.is_full()) {
            if let State::Connected {
                deferred, since, ..
            } = &mut self.state
            {
                if !*deferred {
                    *deferred = true;
                    *since = self.keepalive.last_rx();
                }
            }
            bump(&mut self.counters.deferred);
            return Ok(false);
        }
        if known {
            bump(&mut self.counters.duplicates);
        } else if self.unreleased.insert(pid).is_ok() {
            self.changed();
        } else {
            bump(&mut self.counters.untracked);
        }
        self.owe(Owed::Received(pid))?;
        Ok(!known)
    }

    /// A PUBLISH too large for the receive buffer is about to be handed
    /// over in pieces. `Ok(false)`: do not deliver it (a QoS 2 re-send,
    /// answered with PUBREC already, or a connection being closed); skip it.
    pub fn chunked_start(&mut self, qos: QoS, pid: Option<u16>) -> Result<bool, Reason> {
        match self.state {
            State::Connected { .. } => {}
            State::Closing { .. } => return Ok(false),
            _ => return Err(Reason::Unexpected),
        }
        match (qos, pid) {
            (QoS::ExactlyOnce, Some(pid)) if R > 0 => {
                if self.unreleased.contains(pid) || self.defers_qos2() {
                    // A re-send (answered again), or one left with the
                    // broker (see `exactly_once`): not delivered.
                    return self.accept(qos, Some(pid));
                }
                Ok(true)
            }
            (QoS::AtMostOnce, _) | (QoS::AtLeastOnce, Some(_)) => Ok(true),
            _ => Err(Reason::Unexpected),
        }
    }

    /// The last piece of a chunked message is handed over: its
    /// acknowledgement is owed now (needs [`Session::can_receive`]).
    pub fn chunked_end(&mut self, qos: QoS, pid: Option<u16>) -> Result<(), Reason> {
        self.accept(qos, pid).map(drop)
    }

    /// True if a fresh QoS 2 PUBLISH now would be left with the broker.
    fn defers_qos2(&self) -> bool {
        match self.state {
            State::Connected {
                deferred, clean, ..
            } => deferred || (!clean && self.unreleased.is_full()),
            _ => false,
        }
    }

    fn owe(&mut self, owed: Owed) -> Result<(), Reason> {
        // The caller checks `can_receive` before handing a packet in, so
        // this only fails if it did not: the caller's mistake, not the
        // broker's. Closing is then the safe answer (the broker resends).
        self.acks.push(owed).map_err(|_| Reason::AcksFull)
    }

    /// A PUBLISH too large for the receive buffer was skipped unread. It is
    /// counted; if its packet id could be read it is acknowledged (QoS 1:
    /// PUBACK, QoS 2: PUBREC) so the broker does not redeliver it forever.
    /// Call only when [`Session::can_receive`] (the acknowledgement needs room).
    pub fn skipped(&mut self, qos: Option<QoS>, pid: Option<u16>) -> Result<(), Reason> {
        bump(&mut self.counters.oversize);
        if !self.is_connected() {
            return Ok(());
        }
        match (qos, pid) {
            (Some(q @ (QoS::AtLeastOnce | QoS::ExactlyOnce)), Some(pid)) => {
                self.accept(q, Some(pid)).map(drop)
            }
            _ => Ok(()),
        }
    }
}

fn acked_event<'a>(acked: Acked<'a>) -> Event<'a> {
    match acked {
        Acked::Subscribed { topic, qos } => Event::Subscribed { topic, qos },
        Acked::Failed { topic } => Event::SubscribeFailed { topic },
        Acked::Unsubscribed { topic } => Event::Unsubscribed { topic },
    }
}
