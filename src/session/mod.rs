//! The MQTT 3.1.1 session, sans-IO: packets and time in, packets and events out.
//!
//! [`Session`] never touches a socket. The caller (normally [`crate::client`])
//! tells it when the transport comes up or goes down, hands it each decoded
//! packet with [`Session::handle`], and asks [`Session::poll_transmit`] for
//! the next packet to send. Time is always an argument, so tests drive it by
//! hand and a firmware can sleep until [`Session::next_deadline`].
//!
//! Capacity is fixed at compile time: `N` QoS 1 messages in flight (their
//! encoded bytes live in a caller-provided store) and `S` subscriptions.

mod config;
mod counters;
mod event;
mod inflight;
mod keepalive;
mod packet_id;
mod subscriptions;
mod table;

pub use config::Config;
pub use counters::Counters;
pub use event::{Event, Handled, Message, Reason, Token};

use crate::time::{earliest, elapsed, Duration, Instant};
use crate::wire::{
    ConnAck, Connect, ConnectReturnCode, EncodeError, Packet, Publish, QoS, Subscribe,
    SubscribeTopics, Unsubscribe, UnsubscribeTopics,
};
use counters::bump;
use inflight::{Due, Inflight};
use keepalive::{KeepAlive, Ping};
use packet_id::PacketIds;
use subscriptions::{Acked, Request, Subscriptions};

/// Acknowledgements owed to the broker for messages it sent us.
const ACKS: usize = 4;

/// Why a request from the application was not accepted. Nothing was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The in-flight table (QoS 1) or subscription table is full; retry after
    /// an acknowledgement.
    Full,
    /// The packet would not fit the in-flight slot or the transmit buffer.
    TooLarge,
    /// A field the protocol forbids (empty topic, wildcard in a topic name).
    Invalid,
    /// QoS 0 needs a live connection (it is never queued).
    NotConnected,
    /// The transmit buffer has no room right now; poll and retry.
    WouldBlock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No transport.
    Offline,
    /// Transport up; CONNECT to send (`sent` false) or CONNACK awaited.
    Connecting {
        since: Instant,
        sent: bool,
    },
    Connected,
    /// DISCONNECT to send, then the caller closes the transport.
    Closing {
        sent: bool,
    },
}

/// An acknowledgement owed to the broker: PUBACK (§3.4), PUBREC (§3.5) or PUBCOMP (§3.7).
#[derive(Clone, Copy, Debug)]
enum Owed {
    Ack(u16),
    Received(u16),
    Complete(u16),
}

/// One MQTT session with its in-flight table, subscriptions and timers.
pub struct Session<'a, const N: usize, const S: usize> {
    config: Config<'a>,
    state: State,
    /// A CONNACK was accepted since power-up: `clean` applies, not `clean_init`.
    connected_once: bool,
    /// An `Up` event was reported since power-up (counts reconnects).
    up_once: bool,
    pids: PacketIds,
    inflight: Inflight<'a, N>,
    subs: Subscriptions<'a, S>,
    keepalive: KeepAlive,
    acks: heapless::Deque<Owed, ACKS>,
    max_packet: usize,
    counters: Counters,
}

impl<'a, const N: usize, const S: usize> Session<'a, N, S> {
    /// `store` holds the encoded QoS 1 messages in flight (`store.len() / N`
    /// bytes each); `max_packet` is the largest packet the caller can send.
    pub fn new(config: Config<'a>, store: &'a mut [u8], max_packet: usize) -> Self {
        Session {
            config,
            state: State::Offline,
            connected_once: false,
            up_once: false,
            pids: PacketIds::new(),
            inflight: Inflight::new(store),
            subs: Subscriptions::new(),
            keepalive: KeepAlive::new(Instant::from_ticks(0)),
            acks: heapless::Deque::new(),
            max_packet,
            counters: Counters::default(),
        }
    }

    pub fn config(&self) -> &Config<'a> {
        &self.config
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// True between an accepted CONNACK and the end of that connection.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// QoS 1 messages not yet acknowledged by the broker.
    pub fn inflight(&self) -> usize {
        self.inflight.len()
    }

    /// Largest QoS 1 PUBLISH (encoded) the in-flight store can hold.
    pub fn max_qos1_packet(&self) -> usize {
        self.inflight.slot_size().min(self.max_packet)
    }

    /// Filters the broker has confirmed, with their granted QoS.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&'a str, QoS)> + '_ {
        self.subs.active()
    }

    /// The CONNECT this session sends next (clean flag per clean_init / clean).
    pub fn connect_packet(&self) -> Packet<'a> {
        Packet::Connect(Connect {
            client_id: self.config.client_id,
            keep_alive: self.config.keepalive,
            clean_session: if self.connected_once {
                self.config.clean
            } else {
                self.config.clean_init
            },
            will: self.config.will,
            username: self.config.username,
            password: self.config.password,
        })
    }

    /// The transport is connected: start the MQTT handshake.
    pub fn transport_up(&mut self, now: Instant) {
        self.state = State::Connecting {
            since: now,
            sent: false,
        };
        self.keepalive = KeepAlive::new(now);
        self.acks.clear();
    }

    /// The transport is gone. Unacknowledged messages and pending
    /// (un)subscriptions are sent again on the next connection (§4.4).
    pub fn transport_down(&mut self) {
        self.state = State::Offline;
        self.acks.clear();
        self.inflight.reset_sends();
        self.subs.connection_lost();
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
        let connected = self.state == State::Connected;
        if connected {
            self.state = State::Closing { sent: false };
        }
        connected
    }

    /// Room to take one more received packet (an acknowledgement may be owed).
    pub fn can_receive(&self) -> bool {
        !self.acks.is_full()
    }

    /// Queues a QoS 1 PUBLISH. It is kept until PUBACK, across reconnections,
    /// and sent as soon as (and whenever) a connection is up.
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        retain: bool,
    ) -> Result<Token, RequestError> {
        if self.inflight.is_full() {
            return Err(RequestError::Full);
        }
        let (inflight, subs) = (&self.inflight, &self.subs);
        let pid = self.pids.next(|p| inflight.contains(p) || subs.uses_pid(p));
        let packet = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain,
            topic,
            pid: Some(pid),
            payload,
        });
        let len = packet.encoded_len().map_err(request_error)?;
        if len > self.max_qos1_packet() {
            return Err(RequestError::TooLarge);
        }
        self.inflight
            .insert(pid, now, |buf| packet.encode(buf).ok())
            .ok_or(RequestError::TooLarge)?;
        Ok(Token(pid))
    }

    /// Adds `topic` to the subscription table; SUBSCRIBE goes out when connected
    /// and again whenever the broker has lost our session.
    pub fn subscribe(&mut self, topic: &'a str, qos: QoS) -> Result<(), RequestError> {
        self.check_filter(topic)?;
        self.subs
            .subscribe(topic, qos)
            .map_err(|_| RequestError::Full)
    }

    /// Removes `topic`; UNSUBSCRIBE goes out when connected.
    pub fn unsubscribe(&mut self, topic: &'a str) -> Result<(), RequestError> {
        self.check_filter(topic)?;
        self.subs.unsubscribe(topic).map_err(|_| RequestError::Full)
    }

    fn check_filter(&self, topic: &str) -> Result<(), RequestError> {
        if topic.is_empty() {
            return Err(RequestError::Invalid);
        }
        // Fixed header (≤ 5) + packet id + length prefix + filter + QoS byte.
        if topic.len() + 10 > self.max_packet {
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
            (State::Connecting { sent: true, .. }, Packet::ConnAck(ack)) => self.connack(now, ack),
            (State::Connected, packet) => self.handle_connected(packet),
            // During a clean_init hand-over whatever arrives is moot.
            (State::Closing { .. }, _) => Ok(Handled::Nothing),
            // §3.2: the first packet from the server is CONNACK, and only once.
            _ => Err(Reason::Unexpected),
        }
    }

    fn connack<'p>(&mut self, now: Instant, ack: ConnAck) -> Result<Handled<'a, 'p>, Reason> {
        if ack.code != ConnectReturnCode::Accepted {
            return Err(Reason::Refused(ack.code));
        }
        let first = !self.connected_once;
        self.connected_once = true;
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
        self.state = State::Connected;
        self.keepalive = KeepAlive::new(now);
        if !ack.session_present {
            // §3.2.2.2: the broker has no subscriptions for us: restore them.
            self.subs.session_lost();
        }
        Ok(Handled::Event(Event::Up {
            session_present: ack.session_present,
        }))
    }

    fn handle_connected<'p>(&mut self, packet: Packet<'p>) -> Result<Handled<'a, 'p>, Reason> {
        let event = match packet {
            Packet::Publish(p) => {
                // §4.3.2 / §4.3.3: the acknowledgement is queued now and
                // sent on the next poll, after the application has the message.
                match (p.qos, p.pid) {
                    (QoS::AtMostOnce, _) => {}
                    (QoS::AtLeastOnce, Some(pid)) => self.owe(Owed::Ack(pid))?,
                    (QoS::ExactlyOnce, Some(pid)) => self.owe(Owed::Received(pid))?,
                    _ => return Err(Reason::Unexpected),
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
                Event::Published(Token(pid))
            }
            Packet::PubRel(pid) => {
                self.owe(Owed::Complete(pid))?;
                return Ok(Handled::Nothing);
            }
            // We never publish QoS 2, so these answer nothing of ours.
            Packet::PubRec(_) | Packet::PubComp(_) => return Ok(Handled::Nothing),
            Packet::SubAck(s) => {
                let code = s.codes.first().copied().unwrap_or(0x80);
                match self.subs.suback(s.pid, code) {
                    Some(acked) => acked_event(acked),
                    None => return Ok(Handled::Nothing),
                }
            }
            Packet::UnsubAck(pid) => match self.subs.unsuback(pid) {
                Some(acked) => acked_event(acked),
                None => return Ok(Handled::Nothing),
            },
            Packet::PingResp => {
                self.keepalive.pong();
                return Ok(Handled::Nothing);
            }
            _ => return Err(Reason::Unexpected),
        };
        Ok(Handled::Event(event))
    }

    fn owe(&mut self, ack: Owed) -> Result<(), Reason> {
        // The caller checks `can_receive` before decoding, so this only fails
        // if it did not; closing is then the safe answer (the broker resends).
        self.acks.push_back(ack).map_err(|_| Reason::Unexpected)
    }

    /// Writes the next packet to send into `out` and returns its length;
    /// `Ok(None)` when nothing is due or it does not fit in `out` yet. Also
    /// runs the timers: `Err` means the link is dead (close the transport).
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> Result<Option<usize>, Reason> {
        let response_ms = self.config.response_time.ticks();
        match self.state {
            State::Offline | State::Closing { sent: true } => Ok(None),
            State::Connecting { since, sent } => {
                if elapsed(since, now) >= response_ms {
                    return Err(Reason::ConnAckTimeout);
                }
                if sent {
                    return Ok(None);
                }
                let n = encode(&self.connect_packet(), out);
                if n.is_some() {
                    self.state = State::Connecting { since, sent: true };
                    self.keepalive.sent(now);
                }
                Ok(n)
            }
            State::Closing { sent: false } => {
                let n = encode(&Packet::Disconnect, out);
                if n.is_some() {
                    self.state = State::Closing { sent: true };
                }
                Ok(n)
            }
            State::Connected => self.transmit_connected(now, out),
        }
    }

    fn transmit_connected(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, Reason> {
        let response_ms = self.config.response_time.ticks();
        let ping = self
            .keepalive
            .check(now, self.config.ping_interval_ms(), response_ms);
        if ping == Ping::Dead {
            bump(&mut self.counters.ping_timeouts);
            return Err(Reason::PingTimeout);
        }
        if self.subs.overdue(now, response_ms) {
            return Err(Reason::SubAckTimeout);
        }
        let due = self.inflight.due(now, response_ms, self.config.max_repubs);
        if let Some(Due::Dead) = due {
            return Err(Reason::PubAckTimeout);
        }

        if let Some(&ack) = self.acks.front() {
            let packet = match ack {
                Owed::Ack(pid) => Packet::PubAck(pid),
                Owed::Received(pid) => Packet::PubRec(pid),
                Owed::Complete(pid) => Packet::PubComp(pid),
            };
            let n = encode(&packet, out);
            if n.is_some() {
                self.acks.pop_front();
                self.keepalive.sent(now);
            }
            return Ok(n);
        }
        if ping == Ping::Send {
            let n = encode(&Packet::PingReq, out);
            if n.is_some() {
                self.keepalive.ping_sent(now);
            } else if self.keepalive.ping_blocked(now, response_ms) {
                bump(&mut self.counters.ping_timeouts);
                return Err(Reason::PingTimeout);
            }
            return Ok(n);
        }
        // Subscriptions before messages: after a broker restart, a device
        // that listens to its own topics gets back what it publishes. The
        // broker handles packets in order, so no SUBACK needs awaiting.
        if let Some(request) = self.subs.next_request() {
            return Ok(self.send_request(now, request, out));
        }
        if let Some(Due::Send(pid)) = due {
            let sent = self.inflight.send(pid, now, out);
            if let Some((_, true)) = sent {
                bump(&mut self.counters.republishes);
            }
            if sent.is_some() {
                self.keepalive.sent(now);
            }
            return Ok(sent.map(|(n, _)| n));
        }
        Ok(None)
    }

    fn send_request(
        &mut self,
        now: Instant,
        request: Request<'a>,
        out: &mut [u8],
    ) -> Option<usize> {
        let (inflight, subs) = (&self.inflight, &self.subs);
        let pid = self.pids.next(|p| inflight.contains(p) || subs.uses_pid(p));
        let (index, n) = match request {
            Request::Subscribe { index, topic, qos } => {
                let list = [(topic, qos)];
                let packet = Packet::Subscribe(Subscribe {
                    pid,
                    topics: SubscribeTopics::List(&list),
                });
                (index, encode(&packet, out))
            }
            Request::Unsubscribe { index, topic } => {
                let list = [topic];
                let packet = Packet::Unsubscribe(Unsubscribe {
                    pid,
                    topics: UnsubscribeTopics::List(&list),
                });
                (index, encode(&packet, out))
            }
        };
        if n.is_some() {
            self.subs.sent(index, pid, now);
            self.keepalive.sent(now);
        }
        n
    }

    /// A PUBLISH too large for the receive buffer was skipped unread. It is
    /// counted; if its packet id could be read it is acknowledged (QoS 1:
    /// PUBACK, QoS 2: PUBREC) so the broker does not redeliver it forever.
    pub fn skipped(&mut self, qos: Option<QoS>, pid: Option<u16>) {
        bump(&mut self.counters.oversize);
        if self.state != State::Connected {
            return;
        }
        let ack = match (qos, pid) {
            (Some(QoS::AtLeastOnce), Some(pid)) => Owed::Ack(pid),
            (Some(QoS::ExactlyOnce), Some(pid)) => Owed::Received(pid),
            _ => return,
        };
        let _ = self.owe(ack);
    }

    /// Records bytes the caller sent outside the session (QoS 0 publishes).
    pub fn sent(&mut self, now: Instant) {
        self.keepalive.sent(now);
    }

    /// The latest time by which `poll_transmit` must be called again for the
    /// timers to be honoured (`None`: no timer is running).
    pub fn next_deadline(&self) -> Option<Instant> {
        let response_ms = self.config.response_time.ticks();
        match self.state {
            State::Offline | State::Closing { .. } => None,
            State::Connecting { since, .. } => Some(since + Duration::from_ticks(response_ms)),
            State::Connected => earliest(
                self.keepalive
                    .deadline(self.config.ping_interval_ms(), response_ms),
                earliest(
                    self.inflight.deadline(response_ms),
                    self.subs.deadline(response_ms),
                ),
            ),
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

fn encode(packet: &Packet<'_>, out: &mut [u8]) -> Option<usize> {
    packet.encode(out).ok()
}

fn request_error(e: EncodeError) -> RequestError {
    match e {
        EncodeError::Invalid => RequestError::Invalid,
        _ => RequestError::TooLarge,
    }
}

#[cfg(test)]
mod tests;
