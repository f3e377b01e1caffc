//! The MQTT 3.1.1 session, sans-IO: packets and time in, packets and events out.
//!
//! [`Session`] never touches a socket. The caller (normally [`crate::client`])
//! tells it when the transport comes up or goes down and when bytes moved,
//! hands it each decoded packet with [`Session::handle`], and asks
//! [`Session::poll_transmit`] for the next packet to send. Time is always an
//! argument, so tests drive it by hand and a firmware can sleep until
//! [`Session::next_deadline`].
//!
//! Capacity is fixed at compile time: `N` QoS 1/2 messages in flight (their
//! encoded bytes live in a caller-provided store), `S` subscriptions, and
//! `R` incoming QoS 2 messages awaiting their PUBREL. `R = 0` leaves QoS 2
//! out entirely (both ways), and its code out of the firmware.
//!
//! The state that must outlive a reboot (ids, messages in flight, incoming
//! QoS 2 ids, subscription states) can be saved into caller bytes and
//! restored ([`Session::save`], [`Session::restore`]).

mod caution;
mod config;
mod counters;
mod event;
mod inflight;
mod keepalive;
mod owed;
mod packet_id;
mod snapshot;
mod subscriptions;
mod table;
mod unreleased;

pub use config::{Config, ConfigError};
pub use counters::Counters;
pub use event::{Chunk, Event, Handled, Message, Reason, Rejected, Token};
pub use snapshot::{RestoreError, SaveError};

use crate::time::{earliest, elapsed, Duration, Instant};
use crate::wire::topic::{check_filter, check_name, check_text, TopicError};
use crate::wire::{
    encode_short, ConnAck, Connect, ConnectReturnCode, Packet, PacketType, Publish, QoS, Subscribe,
    SubscribeTopics, Unsubscribe, UnsubscribeTopics,
};
use caution::Caution;
use counters::bump;
use inflight::{Due, Inflight};
use keepalive::{KeepAlive, Ping};
use owed::{Owed, OwedQueue};
use packet_id::SubscriptionIds;
use subscriptions::{Acked, Request, Subscriptions};
use unreleased::Unreleased;

/// Why a request from the application was not accepted. Nothing was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The in-flight table or subscription table is full; retry after an
    /// acknowledgement.
    Full,
    /// The packet would never fit the in-flight slot or the transmit buffer.
    TooLarge,
    /// The topic or filter is not one a broker accepts (§4.7, §1.5.3).
    Topic(TopicError),
    /// This client was built without room for it: QoS 1 or 2 with `N = 0`,
    /// QoS 2 with `R = 0`, a subscription with `S = 0`.
    Unsupported,
    /// QoS 0 needs a live connection (it is never queued).
    NotConnected,
    /// The transmit buffer has no room right now; poll and retry.
    WouldBlock,
}

impl core::fmt::Display for RequestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "request refused: {self:?}")
    }
}

impl core::error::Error for RequestError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No transport.
    Offline,
    /// Transport up; CONNECT to send (`sent` false) or CONNACK awaited.
    Connecting {
        since: Instant,
        sent: bool,
        clean: bool,
    },
    /// CONNACK accepted; `clean`: this connection's clean-session flag.
    /// `deferred`: on a persistent session, QoS 2 messages were left
    /// unacknowledged since `since` (the exactly-once table was full): the
    /// connection is closed once the table has drained, or after
    /// `response_time` for a broker slow to release, so the broker sends
    /// them again.
    Connected {
        deferred: bool,
        since: Instant,
        clean: bool,
    },
    /// DISCONNECT to send, then the caller closes the transport.
    Closing { sent: bool },
}

/// One MQTT session with its in-flight table, subscriptions and timers.
pub struct Session<'a, const N: usize, const S: usize, const R: usize> {
    config: Config<'a>,
    state: State,
    /// A CONNACK was accepted since power-up (or the session was restored):
    /// `clean` applies, not `clean_init`.
    connected_once: bool,
    /// An `Up` event was reported since power-up (counts reconnects).
    up_once: bool,
    sub_ids: SubscriptionIds,
    inflight: Inflight<'a, N>,
    subs: Subscriptions<'a, S>,
    unreleased: Unreleased<R>,
    keepalive: KeepAlive,
    caution: Caution,
    acks: OwedQueue,
    /// A request given up on, to report.
    given_up: Option<Rejected<'a>>,
    max_packet: usize,
    /// Changes to what [`Session::save`] writes.
    revision: u32,
    counters: Counters,
}

impl<'a, const N: usize, const S: usize, const R: usize> Session<'a, N, S, R> {
    /// `store` holds the encoded messages in flight (`store.len() / N`
    /// bytes each); `max_packet` is the largest packet the caller can send.
    /// Refuses a configuration that could never work ([`Config::check`]).
    pub fn new(
        config: Config<'a>,
        store: &'a mut [u8],
        max_packet: usize,
    ) -> Result<Self, ConfigError> {
        config.check()?;
        let session = Session {
            config,
            state: State::Offline,
            connected_once: false,
            up_once: false,
            sub_ids: SubscriptionIds::new(),
            inflight: Inflight::new(store),
            subs: Subscriptions::new(),
            unreleased: Unreleased::new(),
            keepalive: KeepAlive::new(Instant::from_ticks(0)),
            caution: Caution::new(),
            acks: OwedQueue::new(),
            given_up: None,
            max_packet,
            revision: 0,
            counters: Counters::default(),
        };
        match session.connect().encoded_len() {
            Ok(len) if len <= max_packet => {}
            _ => return Err(ConfigError::ConnectTooLarge),
        }
        // A QoS 1 PUBLISH with a one-byte topic and no payload: 7 bytes.
        if N > 0 && session.max_publish() < 7 {
            return Err(ConfigError::StoreTooSmall);
        }
        Ok(session)
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &Config<'a> {
        &self.config
    }

    /// Totals since power-up (reconnects, republishes, discards, ...).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// True between an accepted CONNACK and the end of that connection.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// QoS 1/2 messages not yet completed by the broker.
    pub fn inflight(&self) -> usize {
        self.inflight.len()
    }

    /// Incoming QoS 2 messages delivered whose PUBREL has not come yet.
    pub fn awaiting_release(&self) -> usize {
        self.unreleased.ids().len()
    }

    /// Largest QoS 1/2 PUBLISH (encoded) the in-flight store can hold.
    pub fn max_publish(&self) -> usize {
        self.inflight.slot_size().min(self.max_packet)
    }

    /// Filters the broker has confirmed, with their granted QoS.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&'a str, QoS)> + '_ {
        self.subs.active()
    }

    /// Grows whenever something [`Session::save`] writes changes: save again
    /// when it differs from the last saved revision.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    fn changed(&mut self) {
        self.revision = self.revision.wrapping_add(1);
    }

    /// The clean-session flag of the next CONNECT.
    fn next_clean(&self) -> bool {
        if self.connected_once {
            self.config.clean
        } else {
            self.config.clean_init
        }
    }

    /// The CONNECT this session sends next (clean flag per clean_init / clean).
    pub fn connect_packet(&self) -> Packet<'a> {
        Packet::Connect(self.connect())
    }

    fn connect(&self) -> Connect<'a> {
        Connect {
            client_id: self.config.client_id,
            keep_alive: self.config.keepalive,
            clean_session: self.next_clean(),
            will: self.config.will,
            username: self.config.username,
            password: self.config.password,
        }
    }

    /// The transport is connected: start the MQTT handshake.
    pub fn transport_up(&mut self, now: Instant) {
        self.state = State::Connecting {
            since: now,
            sent: false,
            clean: self.next_clean(),
        };
        self.keepalive = KeepAlive::new(now);
        self.acks.clear();
    }

    /// The transport is gone (closed by us, or it failed). Messages not
    /// completed and pending (un)subscriptions are sent again on the next
    /// connection (§4.4). Nothing is held against any request.
    pub fn transport_down(&mut self) {
        self.state = State::Offline;
        self.acks.clear();
        self.inflight.reset_sends();
        self.subs.connection_lost();
    }

    /// The broker (or something on the way) closed the connection at `now`;
    /// `all_sent`: the transport had taken every byte handed to it. A
    /// request counts one strike only on evidence that it caused the close
    /// (see `caution`); `Config::max_rejections` strikes give it up
    /// ([`Session::take_rejected`]). Then as [`Session::transport_down`].
    pub fn closed_by_peer(&mut self, now: Instant, all_sent: bool) {
        if self.is_connected() && self.given_up.is_none() {
            let sub = self.subs.oldest_sent();
            let outstanding = self.inflight.has_outstanding() || sub.is_some();
            // At most every request there is was outstanding.
            let suspects = self.inflight.len() + self.subs.len();
            // Only a request the broker has not acknowledged in any way.
            let message = self.inflight.oldest_sent();
            let sent_at = message.map(|(_, at)| at).or(sub.map(|(_, at)| at));
            if outstanding && self.caution.closed(now, suspects, sent_at, all_sent) {
                self.strike(message.map(|(pid, _)| pid), sub.map(|(i, _)| i));
            }
        }
        self.transport_down();
    }

    /// One strike against the request that caused a close: the message
    /// `pid`, or else subscription request `sub`.
    fn strike(&mut self, pid: Option<u16>, sub: Option<usize>) {
        let limit = self.config.max_rejections;
        let given_up = match (pid, sub) {
            (Some(pid), _) => self
                .inflight
                .rejected(pid, limit)
                .then_some(Rejected::Publish(Token(pid))),
            (None, Some(index)) => self.subs.rejected(index, limit),
            _ => None,
        };
        if given_up.is_some() {
            bump(&mut self.counters.rejected);
            self.caution.answered();
            self.changed();
        }
        self.given_up = given_up;
    }

    /// A request given up on since the last call (see [`Rejected`]).
    pub fn take_rejected(&mut self) -> Option<Rejected<'a>> {
        let given_up = self.given_up.take();
        // A message stays in the table (and in a saved session) until its
        // rejection has been reported.
        if let Some(Rejected::Publish(token)) = given_up {
            self.inflight.drop_message(token.0);
        }
        given_up
    }

    /// The transport took bytes at `now`.
    pub fn bytes_sent(&mut self, now: Instant) {
        self.keepalive.sent(now);
    }

    /// The transport gave bytes at `now`: a sign of life, even before the
    /// packet they belong to is whole.
    pub fn bytes_received(&mut self, now: Instant) {
        self.keepalive.received(now);
    }

    /// When the last byte from the broker arrived.
    pub fn last_heard(&self) -> Instant {
        self.keepalive.last_rx()
    }

    /// Sends a PINGREQ as soon as possible (unless one is outstanding): a
    /// quick probe of the broker, answered within `response_time` or the
    /// link is declared dead.
    pub fn ping_now(&mut self) {
        self.keepalive.force();
    }

    /// True once the DISCONNECT of a clean_init hand-over has been emitted:
    /// the caller closes the transport and connects again at once.
    pub fn wants_close(&self) -> bool {
        self.state == State::Closing { sent: true }
    }

    /// Ends the connection politely: DISCONNECT goes out next (the broker
    /// then discards the will, §3.14.4), after which [`Session::wants_close`].
    /// False if there is no MQTT connection to end.
    pub fn close(&mut self) -> bool {
        let connected = self.is_connected();
        if connected {
            self.state = State::Closing { sent: false };
        }
        connected
    }

    /// Room to take one more received packet (an acknowledgement may be owed).
    pub fn can_receive(&self) -> bool {
        !self.acks.is_full()
    }

    /// Queues a QoS 1 or QoS 2 PUBLISH. It is kept until the broker
    /// completes it (PUBACK, or PUBREC + PUBCOMP), across reconnections, and
    /// sent as soon as (and whenever) a connection is up.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Token, RequestError> {
        check_topic_name(topic)?;
        match qos {
            QoS::AtMostOnce => return Err(RequestError::Unsupported),
            QoS::ExactlyOnce if R == 0 => return Err(RequestError::Unsupported),
            _ if N == 0 => return Err(RequestError::Unsupported),
            _ => {}
        }
        if Publish::len_for(topic, payload, qos) > self.max_publish() {
            return Err(RequestError::TooLarge);
        }
        if self.inflight.is_full() {
            return Err(RequestError::Full);
        }
        let pid = self
            .inflight
            .insert(qos == QoS::ExactlyOnce, |pid, buf| {
                let publish = Publish {
                    dup: false,
                    qos,
                    retain,
                    topic,
                    pid: Some(pid),
                    payload,
                };
                publish.encode(buf).ok()
            })
            .ok_or(RequestError::TooLarge)?;
        self.changed();
        Ok(Token(pid))
    }

    /// Adds `filter` to the subscription table; SUBSCRIBE goes out when
    /// connected and again whenever the broker has lost our session.
    pub fn subscribe(&mut self, filter: &'a str, qos: QoS) -> Result<(), RequestError> {
        self.check_filter(filter)?;
        if qos == QoS::ExactlyOnce && R == 0 {
            return Err(RequestError::Unsupported);
        }
        self.subs
            .subscribe(filter, qos)
            .map_err(|_| RequestError::Full)?;
        self.changed();
        Ok(())
    }

    /// Removes `filter`; UNSUBSCRIBE goes out when connected.
    pub fn unsubscribe(&mut self, filter: &'a str) -> Result<(), RequestError> {
        self.check_filter(filter)?;
        self.subs
            .unsubscribe(filter)
            .map_err(|_| RequestError::Full)?;
        self.changed();
        Ok(())
    }

    fn check_filter(&self, filter: &str) -> Result<(), RequestError> {
        check_filter(filter)
            .and_then(|()| check_text(filter))
            .map_err(RequestError::Topic)?;
        if S == 0 {
            return Err(RequestError::Unsupported);
        }
        // The SUBSCRIBE for it (an UNSUBSCRIBE is one byte shorter).
        if Subscribe::len_for(filter) > self.max_packet {
            return Err(RequestError::TooLarge);
        }
        Ok(())
    }

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
        let first = !self.connected_once;
        self.connected_once = true;
        self.changed();
        // [MQTT-3.2.2-1]: after a clean CONNECT there is no session, whatever
        // the flag says. Believing a broker that says otherwise would leave
        // the subscriptions marked active and never sent: resubscribe instead.
        let present = ack.session_present && !clean;
        if !present {
            // §3.2.2.2: the broker has no session: its QoS 2 ids are gone,
            // and our subscriptions must be sent again.
            self.unreleased.clear();
            self.subs.session_lost();
        }
        if first && self.config.clean_init && !self.config.clean {
            // §3.1.2.4: a clean session ends with its connection. Having
            // discarded the old state, start the persistent one (mqtt_as).
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
            clean,
        };
        self.keepalive = KeepAlive::new(now);
        self.caution.connected(&mut self.keepalive);
        Ok(Handled::Event(Event::Up {
            session_present: present,
        }))
    }

    fn handle_connected<'p>(
        &mut self,
        now: Instant,
        packet: Packet<'p>,
    ) -> Result<Handled<'a, 'p>, Reason> {
        let event = match packet {
            Packet::Publish(p) => {
                if !self.accept(p.qos, p.pid)? {
                    return Ok(Handled::Nothing);
                }
                return Ok(Handled::Deliver(Message {
                    topic: p.topic,
                    payload: p.payload,
                    qos: p.qos,
                    retain: p.retain,
                    dup: p.dup,
                }));
            }
            Packet::PubAck(pid) => {
                // A PUBACK for an id no longer in flight is a late duplicate
                // after a retransmission: harmless.
                if !self.inflight.acknowledge(pid) {
                    return Ok(Handled::Nothing);
                }
                self.caution.answered();
                self.changed();
                Event::Published(Token(pid))
            }
            // §4.3.3: the broker has the message; release it. A PUBREC for
            // an id we do not know (already completed, or from a session we
            // lost) is answered all the same, so the broker can finish.
            Packet::PubRec(pid) if R > 0 => {
                if self.inflight.received(pid, now) {
                    self.changed();
                }
                self.owe(Owed::Release(pid))?;
                return Ok(Handled::Nothing);
            }
            Packet::PubComp(pid) if R > 0 => {
                if !self.inflight.complete(pid) {
                    return Ok(Handled::Nothing);
                }
                self.caution.answered();
                self.changed();
                Event::Published(Token(pid))
            }
            Packet::PubRel(pid) if R > 0 => {
                // §4.3.3: PUBCOMP, known id or not. The id may be used again.
                self.unreleased.release(pid);
                self.changed();
                self.owe(Owed::Complete(pid))?;
                return Ok(Handled::Nothing);
            }
            Packet::SubAck(s) => {
                let code = s.codes.first().copied().unwrap_or(0x80);
                let acked = self.subs.suback(s.pid, code);
                self.changed();
                match acked {
                    Some(acked) => {
                        self.caution.answered();
                        acked_event(acked)
                    }
                    None => return Ok(Handled::Nothing),
                }
            }
            Packet::UnsubAck(pid) => match self.subs.unsuback(pid) {
                Some(acked) => {
                    self.caution.answered();
                    self.changed();
                    acked_event(acked)
                }
                None => return Ok(Handled::Nothing),
            },
            Packet::PingResp => {
                self.caution.pong(elapsed(self.keepalive.ping_sent(), now));
                self.keepalive.pong();
                return Ok(Handled::Nothing);
            }
            _ => return Err(Reason::Unexpected),
        };
        Ok(Handled::Event(event))
    }

    /// The acknowledgement rules for a PUBLISH from the broker (§4.3): queue
    /// what is owed, sent on the next poll after the application has the
    /// message. False: not to be delivered (a QoS 2 re-send of a message
    /// delivered before, or one left with the broker, see `exactly_once`).
    fn accept(&mut self, qos: QoS, pid: Option<u16>) -> Result<bool, Reason> {
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
                let n = self.connect().encode(out).ok();
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
            .check(now, self.config.ping_interval_ms(), response_ms);
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
        let due =
            self.inflight
                .next_send(now, last_rx, response_ms, self.config.max_repubs, !may_send);
        match due {
            Some(Due::Dead) => Err(Reason::PubAckTimeout),
            Some(Due::Send(slot)) => {
                let sent = self.inflight.send(slot, now, out);
                if let Some((_, true)) = sent {
                    bump(&mut self.counters.republishes);
                }
                Ok(sent.map(|(n, _)| n))
            }
            None => Ok(None),
        }
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
        let (index, n) = match request {
            Request::Subscribe { index, topic, qos } => {
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
                        && (self.inflight.has_unsent() || self.subs.next_request().is_some()))
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
                        .deadline(self.config.ping_interval_ms(), response_ms),
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

fn check_topic_name(topic: &str) -> Result<(), RequestError> {
    check_name(topic)
        .and_then(|()| check_text(topic))
        .map_err(RequestError::Topic)
}

fn acked_event<'a>(acked: Acked<'a>) -> Event<'a> {
    match acked {
        Acked::Subscribed { topic, qos } => Event::Subscribed { topic, qos },
        Acked::Failed { topic } => Event::SubscribeFailed { topic },
        Acked::Unsubscribed { topic } => Event::Unsubscribed { topic },
    }
}

#[cfg(test)]
mod tests;
