//! The MQTT session, sans-IO: packets and time in, packets and events out.
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
//!
//! It speaks MQTT 3.1.1, or MQTT 5.0 with the `mqtt5` feature when
//! [`Config::protocol`] says so (`v5`: what 5.0 adds, on the same tables
//! and timers). Every 5.0 path is behind `#[cfg(feature = "mqtt5")]`, so a
//! build without the feature has none of it; a 5.0 session is given
//! `wire::v5` packets (`Session::handle_v5`) and emits them.

mod caution;
mod config;
mod counters;
mod event;
mod inflight;
mod keepalive;
mod owed;
mod packet_id;
mod receive;
mod snapshot;
mod subscriptions;
mod table;
mod transmit;
mod unreleased;
#[cfg(feature = "mqtt5")]
mod v5;

pub use config::{Config, ConfigError, Protocol};
pub use counters::Counters;
pub use event::{Chunk, Event, Handled, Message, Reason, Rejected, Token};
pub use snapshot::{RestoreError, SaveError};
#[cfg(feature = "mqtt5")]
pub use v5::{ServerLimits, MAX_ASSIGNED_ID};

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
    /// The packet would never fit the in-flight slot or the transmit buffer
    /// (MQTT 5.0: or the server's Maximum Packet Size).
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
    /// MQTT 5.0: the server said in its CONNACK that it cannot take this:
    /// a publish above its Maximum QoS or retained without Retain
    /// Available, a wildcard or shared filter it does not support (see
    /// [`ServerLimits`]).
    #[cfg(feature = "mqtt5")]
    ServerUnsupported,
    /// MQTT 5.0: the protocol forbids it: properties a client may not send
    /// in a PUBLISH (not in table 2-4's PUBLISH row, repeated, out of
    /// range; a Topic Alias or Subscription Identifier), a Subscription
    /// Identifier of 0 or above 268,435,455, a `$share/` filter that is not
    /// a valid shared subscription or asks for No Local (§4.8.2).
    #[cfg(feature = "mqtt5")]
    Invalid,
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
    #[cfg(feature = "mqtt5")]
    v5: v5::V5,
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
            #[cfg(feature = "mqtt5")]
            v5: v5::V5::new(),
        };
        match session.connect_len() {
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

    /// Bytes of the next CONNECT.
    fn connect_len(&self) -> Result<usize, crate::wire::EncodeError> {
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            return self.connect_len_v5();
        }
        self.connect().encoded_len()
    }

    /// Writes the next CONNECT into `out`.
    fn encode_connect(&self, out: &mut [u8]) -> Option<usize> {
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            return self.with_connect_v5(|c| c.encode(out).ok());
        }
        self.connect().encode(out).ok()
    }

    /// The ping interval in milliseconds (0: never ping).
    fn ping_interval_ms(&self) -> u32 {
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            return self.ping_interval_v5();
        }
        self.config.ping_interval_ms()
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
        #[cfg(feature = "mqtt5")]
        if given_up.is_some() {
            self.report_given_up_v5();
        }
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
        if self.publish_len(topic, payload, qos, retain)? > self.max_publish() {
            return Err(RequestError::TooLarge);
        }
        if self.inflight.is_full() {
            return Err(RequestError::Full);
        }
        let v5 = self.config.is_v5();
        let pid = self
            .inflight
            .insert(qos == QoS::ExactlyOnce, |pid, buf| {
                encode_publish(v5, topic, payload, qos, retain, Some(pid), buf)
            })
            .ok_or(RequestError::TooLarge)?;
        self.changed();
        Ok(Token(pid))
    }

    /// The length of a PUBLISH of this message, once it passed what the
    /// protocol version checks at the call (MQTT 5.0: the server's limits).
    pub(crate) fn publish_len(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<usize, RequestError> {
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            return self.check_publish_v5(topic, payload, qos, retain);
        }
        let _ = retain;
        Ok(Publish::len_for(topic, payload, qos))
    }

    /// Adds `filter` to the subscription table; SUBSCRIBE goes out when
    /// connected and again whenever the broker has lost our session.
    pub fn subscribe(&mut self, filter: &'a str, qos: QoS) -> Result<(), RequestError> {
        self.check_filter(filter)?;
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() {
            self.check_filter_v5(filter, false, 0)?;
        }
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
        #[cfg(feature = "mqtt5")]
        if self.config.is_v5() && !self.request_fits_v5(filter, false, 0) {
            return Err(RequestError::TooLarge);
        }
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
        // The SUBSCRIBE for it (an UNSUBSCRIBE is one byte shorter; MQTT
        // 5.0 adds an empty property block to both, one byte).
        if Subscribe::len_for(filter) + usize::from(self.config.is_v5()) > self.max_packet {
            return Err(RequestError::TooLarge);
        }
        Ok(())
    }
}

#[cfg(feature = "mqtt5")]
pub(crate) use v5::encode_publish_with;

/// Writes a PUBLISH of the session's protocol version (MQTT 5.0 when `v5`).
pub(crate) fn encode_publish(
    v5: bool,
    topic: &str,
    payload: &[u8],
    qos: QoS,
    retain: bool,
    pid: Option<u16>,
    buf: &mut [u8],
) -> Option<usize> {
    #[cfg(feature = "mqtt5")]
    if v5 {
        return v5::encode_publish(topic, payload, qos, retain, pid, buf);
    }
    let _ = v5;
    let publish = Publish {
        dup: false,
        qos,
        retain,
        topic,
        pid,
        payload,
    };
    publish.encode(buf).ok()
}

fn check_topic_name(topic: &str) -> Result<(), RequestError> {
    check_name(topic)
        .and_then(|()| check_text(topic))
        .map_err(RequestError::Topic)
}

#[cfg(test)]
mod tests;
