//! The client: an MQTT session kept alive over a transport, forever.
//!
//! [`Client::poll`] is the whole engine. Each call does a bounded amount of
//! work — connects if it is time to, flushes what the session wants sent,
//! reads at most a few packets — and returns the next [`Event`], or `None`
//! when there is nothing to do until [`Client::next_deadline`] or new bytes.
//! The superloop re-reads its clock before every call, handles an event
//! (acting on it at once if it likes: publishing in reaction to `Up` needs
//! no flag), and sleeps only when there was none:
//!
//! ```
//! use limpet::{Client, Config, Event, Instant, Options, QoS};
//! use limpet::net::Transport;
//!
//! /// A transport over which the broker answers CONNECT with CONNACK and
//! /// takes everything else (a board's TCP connection in real life).
//! struct Loop { to_client: &'static [u8] }
//! impl Transport for Loop {
//!     type Error = ();
//!     fn connect(&mut self) -> nb::Result<(), ()> { Ok(()) }
//!     fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
//!         if data.first() == Some(&0x10) {
//!             self.to_client = &[0x20, 2, 0, 0]; // CONNACK, accepted
//!         }
//!         Ok(data.len())
//!     }
//!     fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
//!         let n = buf.len().min(self.to_client.len());
//!         if n == 0 {
//!             return Err(nb::Error::WouldBlock);
//!         }
//!         buf[..n].copy_from_slice(&self.to_client[..n]);
//!         self.to_client = &self.to_client[n..];
//!         Ok(n)
//!     }
//!     fn close(&mut self) {}
//! }
//!
//! let (mut rx, mut tx, mut store) = ([0u8; 256], [0u8; 256], [0u8; 256]);
//! let mut client: Client<'_, 2, 2> =
//!     Client::new(Config::new("sensor-7"), Options::default(), &mut rx, &mut tx, &mut store)
//!         .expect("a configuration that can work");
//! let mut transport = Loop { to_client: &[] };
//! let mut up = false;
//! for ms in 0..10u32 {
//!     let now = Instant::from_ticks(ms);                // board.now()
//!     match client.poll(now, &mut transport) {
//!         Some(Event::Up { .. }) => {
//!             up = true;
//!             client.publish("sensor-7/status", b"online", QoS::AtLeastOnce, true).unwrap();
//!         }
//!         Some(_) => {}
//!         None => { /* board.sleep_until(client.next_deadline(now), client.wants_write()) */ }
//!     }
//! }
//! assert!(up && client.is_connected());
//! ```
//!
//! A dead link (transport error, no reply and no byte for `response_time`,
//! malformed input) closes the transport, reports `Down`, and schedules a
//! reconnection with jittered exponential backoff; messages not completed
//! and subscriptions are restored on the next connection without the
//! application doing anything.

mod buffers;
mod inbox;
mod receive;

/// Moved below the client and the WLAN controller (both use it); kept
/// here so `limpet::client::Backoff` still names it.
pub use crate::time::Backoff;
pub use inbox::Inbox;

use crate::net::Transport;
use crate::session::encode_publish;
pub use crate::session::ConfigError;
use crate::session::{
    Config, Counters, Event, Reason, RequestError, RestoreError, SaveError, Session, Token,
};
use crate::time::{elapsed, Duration, Instant};
use crate::wire::QoS;
use buffers::{RxBuf, TxBuf};
use receive::Received;

/// Packets handled in one call to [`Client::poll`] before it returns, so one
/// superloop pass does bounded work even while a backlog pours in.
const PACKETS_PER_POLL: u8 = 8;

/// Connection management settings.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Reconnection delays. Default: 250 ms to 8 s, decorrelated jitter, seed 1,
    /// the first 20 delays after a loss within 2 s (about the first 20 s of
    /// an outage: a broker restart is over within about a second of its
    /// end; a long outage still backs off to 8 s).
    pub backoff: Backoff,
    /// Give up on a TCP connection attempt after this long. Default 10 s.
    pub connect_timeout: Duration,
    /// A connection that stayed up this long has proved itself: the backoff
    /// starts again from its minimum when it ends. Shorter ones (a broker
    /// that drops the client right after CONNACK: a duplicate client id, an
    /// ACL) keep growing the delay. Default 10 s.
    pub stable_after: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backoff: Backoff::new(Duration::from_ticks(250), Duration::from_ticks(8_000), 1)
                .fast_first(Duration::from_ticks(2_000), 20),
            connect_timeout: Duration::from_ticks(10_000),
            stable_after: Duration::from_ticks(10_000),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// Created, not polled yet: connect on the first poll, whatever the clock says.
    Start,
    /// Waiting to (re)connect.
    Waiting { until: Instant },
    /// Transport connect in progress.
    Connecting { since: Instant },
    /// Transport connected (the MQTT handshake may still be under way);
    /// `since`: when it came up, then when CONNACK came.
    Up { since: Instant },
    /// Stopped by [`Client::disconnect`] until [`Client::connect`].
    Stopped,
}

/// A resilient MQTT client: `N` QoS 1/2 messages in flight, `S`
/// subscriptions, `R` incoming QoS 2 messages awaiting release (`R = 0`:
/// no QoS 2, and none of its code linked).
///
/// `R` (2 bytes each) should be at least the broker's in-flight window for
/// QoS 2 messages it sends this client: mosquitto 2.0's
/// `max_inflight_messages` is 20, EMQX's `max_inflight` 32, hence the
/// default 32. A broker that exceeds it loses nothing (see
/// `Counters::untracked` and `Counters::deferred`). The other way, `N` is
/// bounded by the broker's window for QoS 1/2 messages it receives: on MQTT
/// 3.1.1 mosquitto 2.0 acknowledges and then *drops* QoS 1/2 publishes
/// beyond its 20 in flight (its log shows reason 151), so keep `N` at or
/// below the broker's window (mosquitto 20, EMQX 32 by default).
pub struct Client<'a, const N: usize, const S: usize, const R: usize = 32> {
    session: Session<'a, N, S, R>,
    rx: RxBuf<'a>,
    tx: TxBuf<'a>,
    link: Link,
    options: Options,
    /// `disconnect` was called: stop once DISCONNECT is out.
    stopping: bool,
    /// `connect` was called while that DISCONNECT was under way: once it is
    /// out (and `Down(Closed)` reported), connect again at once.
    resume: bool,
    /// The last poll stopped with work left (its budget was spent).
    busy: bool,
}

impl<'a, const N: usize, const S: usize, const R: usize> Client<'a, N, S, R> {
    /// `rx` bounds the largest packet received whole (larger ones are
    /// skipped and counted, or handed over in pieces by [`Client::poll_chunked`]),
    /// `tx` the largest sent; `store` holds QoS 1/2 messages in flight,
    /// `store.len() / N` bytes each. Refuses what could never work.
    pub fn new(
        config: Config<'a>,
        options: Options,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
        store: &'a mut [u8],
    ) -> Result<Self, ConfigError> {
        if rx.len() < 16 {
            return Err(ConfigError::RxTooSmall);
        }
        #[allow(unused_mut)]
        let mut session = Session::new(config, store, tx.len())?;
        // MQTT 5.0: the server never sends more than the receive buffer
        // holds (§3.1.2.11.4; see `connect` on `poll_chunked`).
        #[cfg(feature = "mqtt5")]
        {
            session.set_max_incoming(u32::try_from(rx.len()).unwrap_or(u32::MAX));
            // The property makes the CONNECT longer than `Session::new` saw.
            if !session.connect_fits() {
                return Err(ConfigError::ConnectTooLarge);
            }
        }
        Ok(Client {
            session,
            rx: RxBuf::new(rx),
            tx: TxBuf::new(tx),
            link: Link::Start,
            options,
            stopping: false,
            resume: false,
            busy: false,
        })
    }

    /// Totals since power-up: connections, republishes, discards, ...
    pub fn counters(&self) -> &Counters {
        self.session.counters()
    }

    /// The MQTT session underneath: messages in flight, subscriptions, ids.
    pub fn session(&self) -> &Session<'a, N, S, R> {
        &self.session
    }

    /// True while an MQTT connection is established.
    pub fn is_connected(&self) -> bool {
        matches!(self.link, Link::Up { .. }) && self.session.is_connected()
    }

    /// Publishes a message. QoS 1 and 2 are queued in the in-flight table
    /// (even while offline) and completed later by [`Event::Published`] with
    /// the returned token; QoS 0 is written now or refused (`NotConnected`,
    /// `WouldBlock`).
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<Token>, RequestError> {
        match qos {
            QoS::AtMostOnce => self.publish_qos0(topic, payload, retain).map(|_| None),
            _ => self.session.publish(topic, payload, qos, retain).map(Some),
        }
    }

    fn publish_qos0(
        &mut self,
        topic: &str,
        payload: &[u8],
        retain: bool,
    ) -> Result<(), RequestError> {
        crate::wire::topic::check_name(topic)
            .and_then(|()| crate::wire::topic::check_text(topic))
            .map_err(RequestError::Topic)?;
        let len = self
            .session
            .publish_len(topic, payload, QoS::AtMostOnce, retain)?;
        if len > self.tx.buf.len() {
            return Err(RequestError::TooLarge);
        }
        if !self.is_connected() {
            return Err(RequestError::NotConnected);
        }
        let v5 = self.session.config().is_v5();
        let n = encode_publish(
            v5,
            topic,
            payload,
            QoS::AtMostOnce,
            retain,
            None,
            self.tx.free(),
        )
        .ok_or(RequestError::WouldBlock)?;
        // Counted as sent for the keepalive when the transport takes it.
        self.tx.end += n;
        Ok(())
    }

    /// MQTT 5.0: [`Client::publish`] with PUBLISH properties (§3.3.2.3:
    /// Message Expiry Interval, Payload Format Indicator, Content Type,
    /// Response Topic, Correlation Data, User Properties). They are in the
    /// PUBLISH kept in flight, so a retransmission keeps them. Refused as
    /// [`Session::publish_with`] refuses (`Invalid`, `TooLarge`,
    /// `Unsupported` on a 3.1.1 connection).
    #[cfg(feature = "mqtt5")]
    pub fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[crate::wire::v5::Property<'_>],
    ) -> Result<Option<Token>, RequestError> {
        if qos != QoS::AtMostOnce {
            return self
                .session
                .publish_with(topic, payload, qos, retain, properties)
                .map(Some);
        }
        crate::wire::topic::check_name(topic)
            .and_then(|()| crate::wire::topic::check_text(topic))
            .map_err(RequestError::Topic)?;
        let len = self
            .session
            .publish_len_with(topic, payload, qos, retain, properties)?;
        if len > self.tx.buf.len() {
            return Err(RequestError::TooLarge);
        }
        if !self.is_connected() {
            return Err(RequestError::NotConnected);
        }
        let n = crate::session::encode_publish_with(
            topic,
            payload,
            qos,
            retain,
            None,
            properties,
            self.tx.free(),
        )
        .ok_or(RequestError::WouldBlock)?;
        self.tx.end += n;
        Ok(None)
    }

    /// MQTT 5.0 request/response (§4.10): publishes a request with its
    /// Response Topic and Correlation Data; the responder publishes its
    /// answer to `response_topic` with the same Correlation Data, which the
    /// received [`crate::session::Message`]'s `properties` give back
    /// (`properties.get(PropertyId::CorrelationData)`). Subscribe to
    /// `response_topic` first.
    #[cfg(feature = "mqtt5")]
    pub fn request(
        &mut self,
        topic: &str,
        payload: &[u8],
        response_topic: &str,
        correlation: &[u8],
        qos: QoS,
    ) -> Result<Option<Token>, RequestError> {
        use crate::wire::v5::Property;
        let properties = [
            Property::ResponseTopic(response_topic),
            Property::CorrelationData(correlation),
        ];
        self.publish_with(topic, payload, qos, false, &properties)
    }

    /// MQTT 5.0: [`Client::subscribe`] with Subscription Options and an
    /// optional Subscription Identifier (see [`Session::subscribe_with`]).
    #[cfg(feature = "mqtt5")]
    pub fn subscribe_with(
        &mut self,
        filter: &'a str,
        options: crate::wire::v5::SubscriptionOptions,
        id: Option<u32>,
    ) -> Result<(), RequestError> {
        self.session.subscribe_with(filter, options, id)
    }

    /// Subscribes now or as soon as connected, and again after any broker
    /// restart that lost the session. Confirmed by [`Event::Subscribed`].
    pub fn subscribe(&mut self, filter: &'a str, qos: QoS) -> Result<(), RequestError> {
        self.session.subscribe(filter, qos)
    }

    /// Unsubscribes now or as soon as connected. Confirmed by [`Event::Unsubscribed`].
    pub fn unsubscribe(&mut self, filter: &'a str) -> Result<(), RequestError> {
        self.session.unsubscribe(filter)
    }

    /// Saves the session into `out` (see [`Session::save`]).
    pub fn save(&self, out: &mut [u8]) -> Result<usize, SaveError> {
        self.session.save(out)
    }

    /// Restores a saved session: right after [`Client::new`] and the
    /// `subscribe` calls, before the first poll (see [`Session::restore`]).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        if self.link != Link::Start {
            return Err(RestoreError::NotFresh);
        }
        self.session.restore(bytes)
    }

    /// Leaves the broker politely and stays offline: DISCONNECT is sent on
    /// the next poll (so the broker discards the will), the transport closed,
    /// and `Event::Down(Reason::Closed)` reported. Messages in flight are
    /// kept for when [`Client::connect`] is called (or a saved session).
    pub fn disconnect(&mut self) {
        if self.session.close() {
            self.stopping = true;
        } else {
            self.session.transport_down();
            self.link = Link::Stopped;
        }
    }

    /// Starts (again) after [`Client::disconnect`]; a client starts connected
    /// by itself, so this is only needed after a disconnect.
    pub fn connect(&mut self, now: Instant) {
        // A DISCONNECT under way still goes out and is reported; then the
        // client connects again.
        self.resume = self.stopping;
        if self.link == Link::Stopped {
            self.link = Link::Waiting { until: now };
        }
    }

    /// The network is back (a WLAN controller's up event, a cable plugged
    /// in): a connection attempt waiting out its backoff goes ahead on the
    /// next poll. The delay still grows if that attempt fails too, so this
    /// cannot make a storm.
    pub fn network_up(&mut self, now: Instant) {
        if let Link::Waiting { until } = &mut self.link {
            if now < *until {
                *until = now;
            }
        }
    }

    /// Where a polite close leads: offline, or (after `connect`) back.
    fn after_close(&mut self, now: Instant) -> Link {
        self.stopping = false;
        if core::mem::take(&mut self.resume) {
            Link::Waiting { until: now }
        } else {
            Link::Stopped
        }
    }

    /// mqtt_as's `broker_up`: connected and the broker sent something within
    /// the last second. To ask it, [`Client::ping_now`] and look again a
    /// moment later (or watch for `Down(PingTimeout)`).
    pub fn broker_up(&self, now: Instant) -> bool {
        self.is_connected() && elapsed(self.session.last_heard(), now) < 1_000
    }

    /// Sends a PINGREQ on the next poll (unless one is outstanding).
    pub fn ping_now(&mut self) {
        self.session.ping_now();
    }

    /// True when bytes wait for the transport to take them (it refused
    /// more): besides [`Client::next_deadline`] and received bytes, the loop
    /// then also wakes when the transport can take more — socket
    /// writability on a host, a received frame (the peer's ACK) on a device.
    pub fn wants_write(&self) -> bool {
        !self.tx.is_empty()
    }

    /// When `poll` must run again if the transport brings nothing new: `now`
    /// when there is work left that needs nothing from the transport
    /// (packets ready to go into an empty transmit buffer, a message just
    /// handed over, a pass's budget spent), else the next timer; `None` when
    /// only the transport or the application can give it work. Bytes the
    /// transport refused do not make it `now` (a loop would spin while the
    /// socket is full): they wait for the transport ([`Client::wants_write`]).
    /// Never before `now`, and correct for any clock value and across the
    /// u32 wrap.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let at = match self.link {
            Link::Start => return Some(now),
            Link::Waiting { until } => Some(until),
            Link::Connecting { since } => Some(since + self.options.connect_timeout),
            Link::Up { .. } => {
                let ready = self.busy
                    || self.rx.held > 0
                    || (self.tx.is_empty()
                        && (self.session.wants_transmit() || self.session.wants_close()));
                if ready {
                    return Some(now);
                }
                self.session.next_deadline()
            }
            Link::Stopped => None,
        };
        at.map(|t| if t < now { now } else { t })
    }

    /// Drives everything; returns the next event. Call it once per pass of
    /// the superloop with a freshly read `now`; when it returns `None`, sleep
    /// until [`Client::next_deadline`] or until bytes arrive. A message
    /// larger than the receive buffer is skipped (counted in `oversize`, and
    /// acknowledged so the broker does not send it again).
    pub fn poll<T: Transport>(&mut self, now: Instant, transport: &mut T) -> Option<Event<'_>> {
        self.drive::<T, false>(now, transport)
    }

    /// [`Client::poll`], but a message larger than the receive buffer whose
    /// topic fits is handed over in pieces ([`Event::Chunk`]), in order,
    /// and acknowledged after the last one: a firmware image through a
    /// 1 KiB buffer. A firmware that never calls this links none of it.
    pub fn poll_chunked<T: Transport>(
        &mut self,
        now: Instant,
        transport: &mut T,
    ) -> Option<Event<'_>> {
        self.drive::<T, true>(now, transport)
    }

    fn drive<T: Transport, const CHUNKS: bool>(
        &mut self,
        now: Instant,
        transport: &mut T,
    ) -> Option<Event<'_>> {
        self.busy = false;
        // What the previous call handed out is done with.
        self.release();
        #[cfg(feature = "mqtt5")]
        self.session.clear_reason_code();
        if let Some(r) = self.session.take_rejected() {
            return Some(Event::Rejected(r));
        }
        loop {
            match self.link {
                Link::Stopped => {
                    // Idempotent: the transport may still be open if
                    // disconnect() came while no MQTT connection was up.
                    transport.close();
                    return None;
                }
                Link::Start => self.link = Link::Connecting { since: now },
                Link::Waiting { until } => {
                    if now < until {
                        return None;
                    }
                    self.link = Link::Connecting { since: now };
                }
                Link::Connecting { since } => match transport.connect() {
                    Ok(()) => {
                        self.link = Link::Up { since: now };
                        self.rx.clear();
                        self.tx.clear();
                        // MQTT 5.0: a client that takes large messages in
                        // pieces announces no Maximum Packet Size.
                        #[cfg(feature = "mqtt5")]
                        if CHUNKS {
                            self.session.set_max_incoming(0);
                        }
                        self.session.transport_up(now);
                    }
                    Err(nb::Error::WouldBlock) => {
                        if elapsed(since, now) < self.options.connect_timeout.ticks() {
                            return None;
                        }
                        return Some(self.lost(now, transport, Reason::Transport));
                    }
                    Err(nb::Error::Other(e)) => {
                        return Some(self.lost(now, transport, failed::<T>(&e)))
                    }
                },
                Link::Up { .. } => match self.exchange::<T, CHUNKS>(now, transport) {
                    Ok(Received::Held) => break,
                    Ok(Received::Event(event)) => return Some(event),
                    // The link changed state (clean_init hand-over): go on.
                    Ok(Received::Progress) => {}
                    Ok(Received::Idle) => return None,
                    Err(reason) => return Some(self.lost(now, transport, reason)),
                },
            }
        }
        self.handed_over::<CHUNKS>()
    }

    /// Sends and receives until there is an event, nothing left to do, or
    /// the pass's budget is spent.
    fn exchange<T: Transport, const CHUNKS: bool>(
        &mut self,
        now: Instant,
        transport: &mut T,
    ) -> Result<Received<'a>, Reason> {
        for _ in 0..PACKETS_PER_POLL {
            let sent = self.transmit(now, transport)?;
            if self.session.wants_close() && self.tx.is_empty() {
                transport.close();
                self.session.transport_down();
                if self.stopping {
                    self.link = self.after_close(now);
                    return Ok(Received::Event(Event::Down(Reason::Closed)));
                }
                // clean_init hand-over: reconnect at once with clean = false.
                self.link = Link::Connecting { since: now };
                return Ok(Received::Progress);
            }
            match self.receive::<T, CHUNKS>(now, transport)? {
                Received::Idle if !sent => return Ok(Received::Idle),
                Received::Idle | Received::Progress => {}
                Received::Event(event) => {
                    if let Event::Up { .. } = event {
                        self.link = Link::Up { since: now };
                    }
                    return Ok(Received::Event(event));
                }
                other => return Ok(other),
            }
        }
        self.busy = true;
        Ok(Received::Idle)
    }

    /// Moves packets from the session into the transmit buffer and the buffer
    /// into the transport. True if any byte moved.
    fn transmit<T: Transport>(&mut self, now: Instant, transport: &mut T) -> Result<bool, Reason> {
        while let Some(n) = self.session.poll_transmit(now, self.tx.free())? {
            self.tx.end += n;
        }
        let mut moved = false;
        // Bounded by what the driver returns: every turn takes at least one
        // byte, and a driver that takes none (`Ok(0)`, which the trait
        // forbids) is treated as one that would block.
        while !self.tx.is_empty() {
            match transport.send(self.tx.unsent()) {
                Ok(0) | Err(nb::Error::WouldBlock) => break,
                Ok(n) => {
                    self.tx.start += n.min(self.tx.end - self.tx.start);
                    moved = true;
                }
                Err(nb::Error::Other(e)) => return Err(failed::<T>(&e)),
            }
        }
        if moved {
            self.session.bytes_sent(now);
        }
        Ok(moved)
    }

    /// Closes the transport after `reason` and schedules the next attempt.
    fn lost<T: Transport>(&mut self, now: Instant, transport: &mut T, reason: Reason) -> Event<'a> {
        let was_up = self.session.is_connected();
        transport.close();
        if closed_by_peer(reason) {
            self.session.closed_by_peer(now, self.tx.is_empty());
        } else {
            self.session.transport_down();
        }
        self.rx.clear();
        self.tx.clear();
        let proven = match self.link {
            Link::Up { since } => {
                was_up && elapsed(since, now) >= self.options.stable_after.ticks()
            }
            _ => false,
        };
        if proven {
            self.options.backoff.reset();
        }
        self.link = if self.stopping {
            self.after_close(now)
        } else {
            self.next_attempt(now, reason)
        };
        if was_up {
            Event::Down(reason)
        } else {
            Event::ConnectFailed(reason)
        }
    }

    /// When to connect again after `reason`: after the backoff's next
    /// delay, except where an MQTT 5.0 server's reason code says otherwise
    /// (§4.13, the reason codes of §3.14.2.1 and §3.2.2.2):
    /// - 0x8E Session taken over: another connection uses this client id.
    ///   Connecting again would take it back, and the other would do the
    ///   same: the client stops (as after [`Client::disconnect`]) until the
    ///   application calls [`Client::connect`];
    /// - 0x89 Server busy, 0x97 Quota exceeded, 0x9F Connection rate
    ///   exceeded: the backoff's longest delays at once;
    /// - 0x9C Use another server, 0x9D Server moved: the same. The client
    ///   has no list of brokers (its `Transport` knows where it connects)
    ///   and does not follow the Server Reference: the `Down` or
    ///   `ConnectFailed` event with this reason lets the application move
    ///   the transport elsewhere meanwhile.
    fn next_attempt(&mut self, now: Instant, reason: Reason) -> Link {
        #[cfg(feature = "mqtt5")]
        if let Reason::Server(code) = reason {
            use crate::wire::v5::ReasonCode as C;
            match code {
                C::SessionTakenOver => return Link::Stopped,
                C::ServerBusy
                | C::QuotaExceeded
                | C::ConnectionRateExceeded
                | C::UseAnotherServer
                | C::ServerMoved => {
                    return Link::Waiting {
                        until: now + self.options.backoff.next_long_delay(),
                    }
                }
                _ => {}
            }
        }
        let _ = reason;
        Link::Waiting {
            until: now + self.options.backoff.next_delay(),
        }
    }

    fn count_protocol_error(&mut self) {
        let c = &mut self.session.counters_mut().protocol_errors;
        *c = c.wrapping_add(1);
    }
}

/// True if `reason` says the broker ended the connection (TCP closed, or
/// an MQTT 5.0 DISCONNECT): the session may then hold it against the
/// request it was answering (see `Session::closed_by_peer`).
fn closed_by_peer(reason: Reason) -> bool {
    #[cfg(feature = "mqtt5")]
    if let Reason::Server(_) = reason {
        return true;
    }
    reason == Reason::Transport
}

/// The reason for a transport's error: a secure transport's refusal of
/// the server, or a plain failure.
pub(crate) fn failed<T: Transport>(error: &T::Error) -> Reason {
    T::security_failure(error).map_or(Reason::Transport, Reason::Security)
}

#[cfg(test)]
mod tests;
