//! The client: an MQTT session kept alive over a transport, forever.
//!
//! [`Client::poll`] is the whole engine. Each call connects if it is time to,
//! flushes what the session wants sent, reads what arrived, and returns the
//! next [`Event`] (or `None` when there is nothing to do until
//! [`Client::next_deadline`] or new bytes). A dead link (transport error,
//! missing PINGRESP / PUBACK / SUBACK, malformed input) closes the transport,
//! reports `Down`, and schedules a reconnection with jittered exponential
//! backoff; unacknowledged QoS 1 messages and subscriptions are restored
//! on the next connection without the application doing anything.

mod backoff;
mod buffers;
mod inbox;

pub use backoff::Backoff;
pub use inbox::Inbox;

use crate::net::Transport;
use crate::session::{
    Config, Counters, Event, Handled, Message, Reason, RequestError, Session, Token,
};
use crate::time::{elapsed, Duration, Instant};
use crate::wire::{Frame, Packet, PacketType, Publish, QoS};
use buffers::{RxBuf, TxBuf};

/// Connection management settings.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Reconnection delays. Default: 500 ms doubling to 30 s, seed 1.
    pub backoff: Backoff,
    /// Give up on a TCP connection attempt after this long. Default 10 s.
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backoff: Backoff::new(Duration::from_ticks(500), Duration::from_ticks(30_000), 1),
            connect_timeout: Duration::from_ticks(10_000),
        }
    }
}

/// Why [`Client::new`] refused its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The CONNECT packet (client id, will, credentials) does not fit the transmit buffer.
    ConnectTooLarge,
    /// The receive buffer is shorter than the 16 bytes any useful packet needs.
    RxTooSmall,
    /// A field of the configuration is not encodable (e.g. a wildcard in the will topic).
    Invalid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// Waiting to (re)connect.
    Waiting { until: Instant },
    /// Transport connect in progress.
    Connecting { since: Instant },
    /// Transport connected (the MQTT handshake may still be under way).
    Up,
    /// Stopped by [`Client::disconnect`] until [`Client::connect`].
    Stopped,
}

/// What processing received bytes produced.
enum Received<'a> {
    /// Nothing more can be done until new bytes arrive or acks are flushed.
    Idle,
    /// A frame or bytes were consumed; look again.
    Progress,
    Event(Event<'a>),
    /// A PUBLISH of this many bytes fills the receive buffer, ready to hand over.
    Message(usize),
}

/// A resilient MQTT client: `N` QoS 1 messages in flight, `S` subscriptions.
pub struct Client<'a, const N: usize, const S: usize> {
    session: Session<'a, N, S>,
    rx: RxBuf<'a>,
    tx: TxBuf<'a>,
    link: Link,
    options: Options,
    /// Bytes of a message handed to the application, released on the next poll.
    delivered: usize,
    /// `disconnect` was called: stop once DISCONNECT is out.
    stopping: bool,
}

impl<'a, const N: usize, const S: usize> Client<'a, N, S> {
    /// `rx` bounds the largest packet received whole (larger ones are
    /// skipped and counted), `tx` the largest sent; `store` holds QoS 1
    /// messages in flight, `store.len() / N` bytes each.
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
        let session = Session::new(config, store, tx.len());
        let connect_len = session
            .connect_packet()
            .encoded_len()
            .map_err(|_| ConfigError::Invalid)?;
        if connect_len > tx.len() {
            return Err(ConfigError::ConnectTooLarge);
        }
        Ok(Client {
            session,
            rx: RxBuf::new(rx),
            tx: TxBuf::new(tx),
            link: Link::Waiting {
                until: Instant::from_ticks(0),
            },
            options,
            delivered: 0,
            stopping: false,
        })
    }

    pub fn counters(&self) -> &Counters {
        self.session.counters()
    }

    pub fn session(&self) -> &Session<'a, N, S> {
        &self.session
    }

    /// True while an MQTT connection is established.
    pub fn is_connected(&self) -> bool {
        self.link == Link::Up && self.session.is_connected()
    }

    /// Publishes a message. QoS 1 is queued in the in-flight table (even while
    /// offline) and acknowledged later by [`Event::Published`] with the returned
    /// token; QoS 0 is written now or refused (`NotConnected`, `WouldBlock`).
    /// QoS 2 publishing is not supported yet (`Invalid`).
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<Token>, RequestError> {
        match qos {
            QoS::AtLeastOnce => self.session.publish(now, topic, payload, retain).map(Some),
            QoS::AtMostOnce => self.publish_qos0(now, topic, payload, retain).map(|_| None),
            QoS::ExactlyOnce => Err(RequestError::Invalid),
        }
    }

    fn publish_qos0(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        retain: bool,
    ) -> Result<(), RequestError> {
        if !self.is_connected() {
            return Err(RequestError::NotConnected);
        }
        let packet = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain,
            topic,
            pid: None,
            payload,
        });
        let len = packet.encoded_len().map_err(|e| match e {
            crate::wire::EncodeError::Invalid => RequestError::Invalid,
            _ => RequestError::TooLarge,
        })?;
        if len > self.tx.buf.len() {
            return Err(RequestError::TooLarge);
        }
        let n = packet
            .encode(self.tx.free())
            .map_err(|_| RequestError::WouldBlock)?;
        self.tx.end += n;
        self.session.sent(now);
        Ok(())
    }

    /// Subscribes now or as soon as connected, and again after any broker
    /// restart that lost the session. Confirmed by [`Event::Subscribed`].
    pub fn subscribe(&mut self, topic: &'a str, qos: QoS) -> Result<(), RequestError> {
        self.session.subscribe(topic, qos)
    }

    /// Unsubscribes now or as soon as connected. Confirmed by [`Event::Unsubscribed`].
    pub fn unsubscribe(&mut self, topic: &'a str) -> Result<(), RequestError> {
        self.session.unsubscribe(topic)
    }

    /// Leaves the broker politely and stays offline: DISCONNECT is sent on
    /// the next poll (so the broker discards the will), the transport closed,
    /// and `Event::Down(Reason::Closed)` reported. QoS 1 messages in flight
    /// are kept for when [`Client::connect`] is called.
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
        self.stopping = false;
        if self.link == Link::Stopped {
            self.link = Link::Waiting { until: now };
        }
    }

    /// When `poll` must run again even if no bytes arrive (`None`: only
    /// when bytes arrive or the application acts).
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.link {
            Link::Waiting { until } => Some(until),
            Link::Connecting { since } => Some(since + self.options.connect_timeout),
            Link::Up => self.session.next_deadline(),
            Link::Stopped => None,
        }
    }

    /// Drives everything; returns the next event. Call it in a loop until it
    /// returns `None`, then again at [`Client::next_deadline`] or sooner.
    pub fn poll<T: Transport>(&mut self, now: Instant, transport: &mut T) -> Option<Event<'_>> {
        // The message handed out by the previous call is done with.
        if core::mem::take(&mut self.delivered) > 0 {
            self.rx.end = 0;
        }
        let len = loop {
            match self.link {
                Link::Stopped => {
                    // Idempotent: the transport may still be open if
                    // disconnect() came while no MQTT connection was up.
                    transport.close();
                    return None;
                }
                Link::Waiting { until } => {
                    if now < until {
                        return None;
                    }
                    self.link = Link::Connecting { since: now };
                }
                Link::Connecting { since } => match transport.connect() {
                    Ok(()) => {
                        self.link = Link::Up;
                        self.rx.clear();
                        self.tx.clear();
                        self.session.transport_up(now);
                    }
                    Err(nb::Error::WouldBlock) => {
                        if elapsed(since, now) < self.options.connect_timeout.ticks() {
                            return None;
                        }
                        return Some(self.lost(now, transport, Reason::Transport));
                    }
                    Err(nb::Error::Other(_)) => {
                        return Some(self.lost(now, transport, Reason::Transport))
                    }
                },
                Link::Up => match self.exchange(now, transport) {
                    Ok(Received::Message(len)) => break len,
                    Ok(Received::Event(event)) => return Some(event),
                    // The link changed state (clean_init hand-over): go on.
                    Ok(Received::Progress) => {}
                    Ok(Received::Idle) => return None,
                    Err(reason) => return Some(self.lost(now, transport, reason)),
                },
            }
        };
        // Decoded (and validated) once already; decoding again here lets the
        // message borrow the buffer for the caller without holding it across
        // the loop above.
        self.delivered = len;
        let frame = self.rx.buf.get(..len)?;
        match Packet::decode_from_server(frame) {
            Ok(Packet::Publish(p)) => Some(Event::Message(Message {
                topic: p.topic,
                payload: p.payload,
                qos: p.qos,
                retain: p.retain,
                dup: p.dup,
            })),
            _ => None,
        }
    }

    /// Sends and receives until there is an event or nothing left to do.
    fn exchange<T: Transport>(
        &mut self,
        now: Instant,
        transport: &mut T,
    ) -> Result<Received<'a>, Reason> {
        loop {
            let sent = self.transmit(now, transport)?;
            if self.session.wants_close() && self.tx.is_empty() {
                transport.close();
                self.session.transport_down();
                if core::mem::take(&mut self.stopping) {
                    self.link = Link::Stopped;
                    return Ok(Received::Event(Event::Down(Reason::Closed)));
                }
                // clean_init hand-over: reconnect at once with clean = false.
                self.link = Link::Connecting { since: now };
                return Ok(Received::Progress);
            }
            match self.receive(now, transport)? {
                Received::Idle if !sent => return Ok(Received::Idle),
                Received::Idle | Received::Progress => {}
                other => return Ok(other),
            }
        }
    }

    /// Moves packets from the session into the transmit buffer and the buffer
    /// into the transport. True if any byte moved.
    fn transmit<T: Transport>(&mut self, now: Instant, transport: &mut T) -> Result<bool, Reason> {
        while let Some(n) = self.session.poll_transmit(now, self.tx.free())? {
            self.tx.end += n;
        }
        let mut moved = false;
        while !self.tx.is_empty() {
            match transport.send(self.tx.unsent()) {
                Ok(n) => {
                    self.tx.start += n;
                    moved = true;
                }
                Err(nb::Error::WouldBlock) => break,
                Err(nb::Error::Other(_)) => return Err(Reason::Transport),
            }
        }
        Ok(moved)
    }

    /// Reads what the current packet still needs and processes it once whole.
    fn receive<T: Transport>(
        &mut self,
        now: Instant,
        transport: &mut T,
    ) -> Result<Received<'a>, Reason> {
        let got = self.read(transport)?;
        let waiting = if got {
            Received::Progress
        } else {
            Received::Idle
        };
        if self.rx.skip > 0 {
            return Ok(waiting);
        }
        let frame = match Frame::parse(self.rx.pending()) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(waiting),
            Err(e) => return Err(self.malformed(e)),
        };
        let len = frame.len();
        if len > self.rx.buf.len() {
            return Ok(self.skip_oversize(&frame, waiting));
        }
        if self.rx.end < len || !self.session.can_receive() {
            return Ok(waiting);
        }
        let bytes = self.rx.buf.get(..len).unwrap_or(&[]);
        let packet = match Packet::decode_from_server(bytes) {
            Ok(packet) => packet,
            Err(e) => return Err(self.malformed(e)),
        };
        let handled = self.session.handle(now, packet);
        if let Ok(Handled::Deliver(_)) = handled {
            // Released on the next poll, once the application is done with it.
            return Ok(Received::Message(len));
        }
        self.rx.end = 0;
        match handled {
            Ok(Handled::Event(event)) => {
                if let Event::Up { .. } = event {
                    self.options.backoff.reset();
                }
                Ok(Received::Event(event))
            }
            Ok(_) => Ok(Received::Progress),
            Err(reason) => {
                if reason == Reason::Unexpected {
                    self.count_protocol_error();
                }
                Err(reason)
            }
        }
    }

    /// Reads at most what the packet being received still needs (its fixed
    /// header a byte at a time, then its body), so the buffer only ever holds
    /// one packet and nothing needs moving. While skipping an oversize packet,
    /// reads and discards its bytes. True if anything arrived.
    fn read<T: Transport>(&mut self, transport: &mut T) -> Result<bool, Reason> {
        let (start, want) = if self.rx.skip > 0 {
            (0, self.rx.skip.min(self.rx.buf.len()))
        } else {
            let want = match Frame::parse(self.rx.pending()) {
                Ok(Some(frame)) => frame.len().min(self.rx.buf.len()) - self.rx.end,
                Ok(None) if self.rx.end == 0 => 2,
                Ok(None) => 1,
                // `receive` reports it.
                Err(_) => 0,
            };
            (self.rx.end, want)
        };
        let dst = match self.rx.buf.get_mut(start..start + want) {
            Some(dst) if !dst.is_empty() => dst,
            _ => return Ok(false),
        };
        match transport.recv(dst) {
            Ok(n) if self.rx.skip > 0 => {
                self.rx.skip -= n.min(self.rx.skip);
                Ok(true)
            }
            Ok(n) => {
                self.rx.end += n.min(want);
                Ok(true)
            }
            Err(nb::Error::WouldBlock) => Ok(false),
            Err(nb::Error::Other(_)) => Err(Reason::Transport),
        }
    }

    /// A packet longer than the receive buffer: once the buffer is full (so
    /// the packet id of a PUBLISH can be read), count it, acknowledge it if it
    /// needs one, and discard the rest as it arrives.
    fn skip_oversize(&mut self, frame: &Frame, waiting: Received<'a>) -> Received<'a> {
        let pending = self.rx.pending();
        if pending.len() < self.rx.buf.len() {
            return waiting;
        }
        let (qos, pid) = if frame.packet_type == PacketType::Publish {
            (
                QoS::from_bits((frame.flags >> 1) & 3),
                frame.publish_packet_id(pending),
            )
        } else {
            (None, None)
        };
        self.session.skipped(qos, pid);
        self.rx.skip = frame.len() - pending.len();
        self.rx.end = 0;
        Received::Progress
    }

    fn malformed(&mut self, e: crate::wire::DecodeError) -> Reason {
        self.count_protocol_error();
        Reason::Malformed(e)
    }

    fn count_protocol_error(&mut self) {
        let c = &mut self.session.counters_mut().protocol_errors;
        *c = c.wrapping_add(1);
    }

    /// Closes the transport after `reason` and schedules the next attempt.
    fn lost<T: Transport>(&mut self, now: Instant, transport: &mut T, reason: Reason) -> Event<'a> {
        let was_up = self.session.is_connected();
        transport.close();
        self.session.transport_down();
        self.rx.clear();
        self.tx.clear();
        self.delivered = 0;
        self.link = if core::mem::take(&mut self.stopping) {
            Link::Stopped
        } else {
            Link::Waiting {
                until: now + self.options.backoff.next_delay(),
            }
        };
        if was_up {
            Event::Down(reason)
        } else {
            Event::ConnectFailed(reason)
        }
    }
}

#[cfg(test)]
mod tests;
