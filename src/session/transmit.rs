//! What the session sends, and when: CONNECT, the acknowledgements it owes
//! (first, in order, §4.6), pings (§3.1.2.10), SUBSCRIBE/UNSUBSCRIBE and the
//! messages in flight (oldest first, re-sent on an overdue reply), and the
//! deadline by which it must be asked again.

use super::*;

impl<'a, const N: usize, const S: usize, const R: usize> Session<'a, N, S, R> {
    /// Writes the next packet to send into `out` and returns its length;
    /// `Ok(None)` when nothing is due or it does not fit in `out` yet. Also
    /// runs the timers: `Err` means the link is dead (close the transport).
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> Result<Option<usize>, Reason> {
        let response_ms = self.config.response_time.ticks();
        match self.state {
            State::Offline | State::Closing { sent: true } => Ok(None),
            State::Connecting { since, sent, clean } => {
                if elapsed(since, now) >= response_ms {
                    return Err(Reason::ConnAckTimeout);
                }
                if sent {
                    return Ok(None);
                }
                let n = self.encode_connect(out);
                if n.is_some() {
                    self.state = State::Connecting {
                        since,
                        sent: true,
                        clean,
                    };
                }
                Ok(n)
            }
            State::Closing { sent: false } => {
                let n = encode_short(PacketType::Disconnect, None, out).ok();
                if n.is_some() {
                    self.state = State::Closing { sent: true };
                }
                Ok(n)
            }
            State::Connected { .. } => self.transmit_connected(now, out),
        }
    }

    fn transmit_connected(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, Reason> {
        let response_ms = self.config.response_time.ticks();
        let last_rx = self.keepalive.last_rx();
        let ping = self
            .keepalive
            .check(now, self.ping_interval_ms(), response_ms);
        if ping == Ping::Dead {
            bump(&mut self.counters.ping_timeouts);
            return Err(Reason::PingTimeout);
        }
        if self.subs.overdue(now, last_rx, response_ms) {
            return Err(Reason::SubAckTimeout);
        }
        if let State::Connected {
            deferred: true,
            since,
            ..
        } = self.state
        {
            let drained = self.unreleased.ids().is_empty() && self.acks.is_empty();
            if drained || elapsed(since, now) >= response_ms {
                return Err(Reason::ExactlyOnceFull);
            }
        }
        if let Some(owed) = self.acks.front() {
            let (t, pid) = match owed {
                Owed::Ack(pid) => (PacketType::PubAck, pid),
                Owed::Received(pid) => (PacketType::PubRec, pid),
                Owed::Release(pid) => (PacketType::PubRel, pid),
                Owed::Complete(pid) => (PacketType::PubComp, pid),
            };
            let n = encode_short(t, Some(pid), out).ok();
            if n.is_some() {
                self.acks.pop();
            }
            return Ok(n);
        }
        if ping == Ping::Send {
            let n = encode_short(PacketType::PingReq, None, out).ok();
            if n.is_some() {
                self.keepalive.ping_queued(now);
            } else if self.keepalive.ping_blocked(now, response_ms) {
                bump(&mut self.counters.ping_timeouts);
                return Err(Reason::PingTimeout);
            }
            return Ok(n);
        }
        // Subscriptions before messages: after a broker restart, a device
        // that listens to its own topics gets back what it publishes. The
        // broker handles packets in order, so no SUBACK needs awaiting
        // (unless cautious, see `caution`: then one request at a time).
        let may_send = self.may_send_new();
        if may_send {
            if let Some(request) = self.subs.next_request() {
                return Ok(self.send_request(now, request, out));
            }
        }
        let hold_new = !may_send || self.window_full();
        let due =
            self.inflight
                .next_send(now, last_rx, response_ms, self.config.max_repubs, hold_new);
        match due {
            Some(Due::Dead) => Err(Reason::PubAckTimeout),
            Some(Due::Send(slot)) => {
                #[cfg(feature = "mqtt5")]
                if self.config.is_v5() && !self.sendable_v5(slot) {
                    return Ok(None);
                }
                let sent = self.inflight.send(slot, now, out);
                if let Some((_, true)) = sent {
                    bump(&mut self.counters.republishes);
                }
                Ok(sent.map(|(n, _)| n))
            }
            None => Ok(None),
        }
    }

    /// MQTT 5.0: the server's Receive Maximum is reached (see `v5::send`).
    fn window_full(&self) -> bool {
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            return self.window_full_v5();
        }
        false
    }

    /// May a request not yet sent on this connection go out (see `caution`)?
    fn may_send_new(&self) -> bool {
        let outstanding = self.inflight.has_outstanding() || self.subs.oldest_sent().is_some();
        self.caution.may_send(outstanding)
    }

    fn send_request(
        &mut self,
        now: Instant,
        request: Request<'a>,
        out: &mut [u8],
    ) -> Option<usize> {
        let subs = &self.subs;
        let pid = self.sub_ids.next::<N>(|p| subs.uses_pid(p))?;
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            let (index, filter, subscribe) = match request {
                Request::Subscribe { index, topic, .. } => (index, topic, true),
                Request::Unsubscribe { index, topic } => (index, topic, false),
            };
            let extra = match request {
                Request::Subscribe { extra, .. } => extra,
                Request::Unsubscribe { .. } => Default::default(),
            };
            if !self.request_fits_v5(filter, subscribe, extra.id) {
                self.give_up_request_v5(index);
                return None;
            }
            let (index, n) = match request {
                Request::Subscribe {
                    index, topic, qos, ..
                } => (
                    index,
                    Self::encode_subscribe_v5(pid, topic, qos, extra, out),
                ),
                Request::Unsubscribe { index, topic } => {
                    (index, Self::encode_unsubscribe_v5(pid, topic, out))
                }
            };
            if n.is_some() {
                self.subs.sent(index, pid, now);
            }
            return n;
        }
        let (index, n) = match request {
            Request::Subscribe {
                index, topic, qos, ..
            } => {
                let list = [(topic, qos)];
                let packet = Subscribe {
                    pid,
                    topics: SubscribeTopics::List(&list),
                };
                (index, packet.encode(out).ok())
            }
            Request::Unsubscribe { index, topic } => {
                let list = [topic];
                let packet = Unsubscribe {
                    pid,
                    topics: UnsubscribeTopics::List(&list),
                };
                (index, packet.encode(out).ok())
            }
        };
        if n.is_some() {
            self.subs.sent(index, pid, now);
        }
        n
    }

    /// True if a packet is ready to be written as soon as there is room.
    pub fn wants_transmit(&self) -> bool {
        match self.state {
            State::Offline | State::Closing { sent: true } => false,
            State::Connecting { sent, .. } => !sent,
            State::Closing { sent: false } => true,
            State::Connected { .. } => {
                !self.acks.is_empty()
                    || self.keepalive.forced()
                    || (self.may_send_new()
                        && ((self.inflight.has_unsent() && !self.window_full())
                            || self.subs.next_request().is_some()))
            }
        }
    }

    /// The latest time by which `poll_transmit` must be called again for the
    /// timers to be honoured (`None`: no timer is running). Packets ready
    /// now are [`Session::wants_transmit`]'s business.
    pub fn next_deadline(&self) -> Option<Instant> {
        let response = Duration::from_ticks(self.config.response_time.ticks());
        let response_ms = response.ticks();
        let last_rx = self.keepalive.last_rx();
        match self.state {
            State::Offline | State::Closing { .. } => None,
            State::Connecting { since, .. } => Some(since + response),
            State::Connected {
                deferred, since, ..
            } => earliest(
                earliest(
                    self.keepalive
                        .deadline(self.ping_interval_ms(), response_ms),
                    deferred.then(|| since + response),
                ),
                earliest(
                    self.inflight.deadline(last_rx, response_ms),
                    self.subs.deadline(last_rx, response_ms),
                ),
            ),
        }
    }
}
