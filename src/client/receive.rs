//! The receive path: exactly one packet at a time into the receive buffer.
//!
//! The client reads only what the packet being received still needs (its
//! fixed header a byte or two at a time, then its body), so the buffer only
//! ever holds one packet and nothing needs moving. A packet larger than the
//! buffer is skipped as its bytes arrive — counted, and acknowledged if it
//! carries an id, even when its topic alone is longer than the buffer — or,
//! through [`Client::poll_chunked`], a PUBLISH whose header fits is handed
//! over in pieces behind its header. `CHUNKS` is a const parameter so a
//! firmware that never asks for pieces links none of that code.

use super::buffers::Mode;
use super::Client;
use crate::net::Transport;
use crate::session::{Chunk, Event, Handled, Message, Reason};
use crate::time::Instant;
use crate::wire::{DecodeError, Frame, Packet, PacketType, PublishHeader, QoS};

/// What the session made of a packet, without the packet's borrow.
enum Outcome<'a> {
    Nothing,
    Event(Event<'a>),
    /// A message to hand over (it stays in the buffer).
    Deliver,
}

impl<'a> Outcome<'a> {
    fn of(handled: Handled<'a, '_>) -> Self {
        match handled {
            Handled::Nothing => Outcome::Nothing,
            Handled::Event(event) => Outcome::Event(event),
            Handled::Deliver(_) => Outcome::Deliver,
        }
    }
}

/// True if the session closed over a packet that broke the protocol (a
/// counted protocol error, as a malformed one is).
fn broke_protocol(reason: Reason) -> bool {
    #[cfg(feature = "mqtt5")]
    if let Reason::Violation(_) = reason {
        return true;
    }
    reason == Reason::Unexpected
}

/// What processing received bytes produced.
pub(crate) enum Received<'a> {
    /// Nothing more can be done until new bytes arrive or acks are flushed.
    Idle,
    /// A frame or bytes were consumed; look again.
    Progress,
    Event(Event<'a>),
    /// The receive buffer holds a message or a piece for the application.
    Held,
}

impl<'a, const N: usize, const S: usize, const R: usize> Client<'a, N, S, R> {
    /// The application is done with what the last poll handed out.
    pub(super) fn release(&mut self) {
        let held = core::mem::take(&mut self.rx.held);
        if held == 0 {
            return;
        }
        self.rx.end = 0;
        if let Mode::Chunks {
            prefix,
            delivered,
            total,
        } = &mut self.rx.mode
        {
            if *delivered + held < *total {
                *delivered += held;
                self.rx.end = *prefix;
                return;
            }
            self.rx.mode = Mode::Whole;
        }
    }

    /// The event for what the receive buffer holds. Decoded (and validated)
    /// once already; decoding again here lets the event borrow the buffer
    /// without holding it across the loop in `poll`.
    pub(super) fn handed_over<const CHUNKS: bool>(&self) -> Option<Event<'_>> {
        let held = self.rx.held;
        if let (
            true,
            Mode::Chunks {
                prefix,
                delivered,
                total,
            },
        ) = (CHUNKS, self.rx.mode)
        {
            let buf = self.rx.buf.get(..self.rx.end)?;
            let frame = Frame::parse(buf).ok()??;
            let h = PublishHeader::parse(&frame, buf).ok()??;
            return Some(Event::Chunk(Chunk {
                topic: h.topic,
                offset: delivered,
                total,
                bytes: buf.get(prefix..prefix + held)?,
                qos: h.qos,
                retain: h.retain,
                dup: h.dup,
            }));
        }
        #[cfg(feature = "mqtt5")]
        if self.session.config().is_v5() {
            return match crate::wire::v5::Packet::decode_from_server(self.rx.buf.get(..held)?) {
                Ok(crate::wire::v5::Packet::Publish(p)) => Some(Event::Message(Message {
                    topic: p.topic,
                    payload: p.payload,
                    qos: p.qos,
                    retain: p.retain,
                    dup: p.dup,
                    properties: p.properties,
                })),
                _ => None,
            };
        }
        match Packet::decode_from_server(self.rx.buf.get(..held)?) {
            Ok(Packet::Publish(p)) => Some(Event::Message(Message {
                topic: p.topic,
                payload: p.payload,
                qos: p.qos,
                retain: p.retain,
                dup: p.dup,
                #[cfg(feature = "mqtt5")]
                properties: crate::wire::v5::Properties::NONE,
            })),
            _ => None,
        }
    }

    /// Reads what the current packet still needs and processes it once whole.
    pub(super) fn receive<T: Transport, const CHUNKS: bool>(
        &mut self,
        now: Instant,
        transport: &mut T,
    ) -> Result<Received<'a>, Reason> {
        let waiting = if self.read(now, transport)? {
            Received::Progress
        } else {
            Received::Idle
        };
        match self.rx.mode {
            Mode::Whole => {}
            Mode::Skip { left, id } => return self.skipping(left, id, waiting),
            Mode::Chunks { .. } if CHUNKS => return self.next_chunk(waiting),
            // `poll` after `poll_chunked` in the middle of a message: the
            // rest of it is skipped (unacknowledged: the broker sends it again
            // on the next connection).
            Mode::Chunks {
                prefix,
                delivered,
                total,
            } => {
                let read = self.rx.end - prefix;
                return Ok(self.skip(total - delivered - read, None));
            }
        }
        let frame = match Frame::parse(self.rx.pending()) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(waiting),
            Err(e) => {
                // MQTT 5.0: type 15, which 3.1.1 reserves, is AUTH, which a
                // client that asked for no enhanced authentication must
                // never get (§4.12): a Protocol Error, not a malformed frame.
                #[cfg(feature = "mqtt5")]
                if self.session.config().is_v5()
                    && self.rx.pending().first().is_some_and(|b| b >> 4 == 15)
                {
                    self.count_protocol_error();
                    return Err(Reason::Violation(
                        crate::wire::v5::ReasonCode::ProtocolError,
                    ));
                }
                return Err(self.malformed(e));
            }
        };
        let len = frame.len();
        if len > self.rx.buf.len() {
            return self.oversize::<CHUNKS>(frame, waiting);
        }
        if self.rx.end < len || !self.session.can_receive() {
            return Ok(waiting);
        }
        let bytes = self.rx.buf.get(..len).unwrap_or(&[]);
        #[cfg(feature = "mqtt5")]
        if self.session.config().is_v5() {
            let handled = match crate::wire::v5::Packet::decode_from_server(bytes) {
                Ok(packet) => self.session.handle_v5(now, packet).map(Outcome::of),
                Err(e) => {
                    self.count_protocol_error();
                    return Err(Reason::MalformedV5(e));
                }
            };
            return self.handled(len, handled);
        }
        let packet = match Packet::decode_from_server(bytes) {
            Ok(packet) => packet,
            Err(e) => return Err(self.malformed(e)),
        };
        let handled = self.session.handle(now, packet).map(Outcome::of);
        self.handled(len, handled)
    }

    /// What the session made of the packet in the buffer's first `len` bytes.
    fn handled(
        &mut self,
        len: usize,
        handled: Result<Outcome<'a>, Reason>,
    ) -> Result<Received<'a>, Reason> {
        if let Ok(Outcome::Deliver) = handled {
            // Released on the next poll, once the application is done with it.
            self.rx.held = len;
            return Ok(Received::Held);
        }
        self.rx.end = 0;
        match handled {
            Ok(Outcome::Event(event)) => Ok(Received::Event(event)),
            Ok(_) => Ok(Received::Progress),
            Err(reason) => {
                if broke_protocol(reason) {
                    self.count_protocol_error();
                }
                Err(reason)
            }
        }
    }

    /// Reads at most what the packet being received still needs: into the
    /// buffer, or (skipping) into it to be discarded. True if anything
    /// arrived (and tells the session: any byte is a sign of life).
    fn read<T: Transport>(&mut self, now: Instant, transport: &mut T) -> Result<bool, Reason> {
        let rx = &mut self.rx;
        let (start, want) = match rx.mode {
            Mode::Skip { left: 0, .. } => (rx.end, 2usize.saturating_sub(rx.end)),
            Mode::Skip { left, .. } => (0, left.min(rx.buf.len())),
            Mode::Chunks {
                prefix,
                delivered,
                total,
            } => {
                let end = rx.buf.len().min(prefix + (total - delivered));
                (rx.end, end.saturating_sub(rx.end))
            }
            Mode::Whole => match Frame::parse(rx.pending()) {
                Ok(Some(frame)) => (rx.end, frame.len().min(rx.buf.len()) - rx.end),
                Ok(None) if rx.end == 0 => (0, 2),
                Ok(None) => (rx.end, 1),
                // `receive` reports it.
                Err(_) => (0, 0),
            },
        };
        let dst = match rx.buf.get_mut(start..start + want) {
            Some(dst) if !dst.is_empty() => dst,
            _ => return Ok(false),
        };
        let n = match transport.recv(dst) {
            // `Ok(0)` (which the trait forbids) brings nothing: no progress
            // and no sign of life, so a driver stuck on it cannot keep a
            // pass busy or a dead link alive.
            Ok(0) | Err(nb::Error::WouldBlock) => return Ok(false),
            Ok(n) => n.min(want),
            Err(nb::Error::Other(e)) => return Err(super::failed::<T>(&e)),
        };
        match &mut rx.mode {
            Mode::Skip { left, .. } if *left > 0 => *left -= n,
            _ => rx.end += n,
        }
        self.session.bytes_received(now);
        Ok(true)
    }

    /// Discarding a packet larger than the buffer; for a PUBLISH whose topic
    /// was longer than the buffer, its id is read and acknowledged on the way.
    fn skipping(
        &mut self,
        left: usize,
        id: Option<(QoS, usize)>,
        waiting: Received<'a>,
    ) -> Result<Received<'a>, Reason> {
        match (left, id) {
            (0, Some((qos, tail))) => {
                if self.rx.end < 2 || !self.session.can_receive() {
                    return Ok(waiting);
                }
                let pid = u16::from_be_bytes([self.rx.buf[0], self.rx.buf[1]]);
                if pid == 0 {
                    return Err(self.malformed(DecodeError::ZeroPacketId));
                }
                self.session.skipped(Some(qos), Some(pid))?;
                self.rx.end = 0;
                self.rx.mode = Mode::Skip {
                    left: tail,
                    id: None,
                };
                Ok(Received::Progress)
            }
            (0, None) => {
                self.rx.mode = Mode::Whole;
                Ok(Received::Progress)
            }
            _ => Ok(waiting),
        }
    }

    /// A packet longer than the receive buffer. Once the buffer is full (so
    /// the header of a PUBLISH can be read) and an acknowledgement has room:
    /// hand it over in pieces (`CHUNKS`), or count it, acknowledge it if it
    /// needs one, and discard the rest as it arrives.
    fn oversize<const CHUNKS: bool>(
        &mut self,
        frame: Frame,
        waiting: Received<'a>,
    ) -> Result<Received<'a>, Reason> {
        let full = self.rx.end == self.rx.buf.len();
        if !full || !self.session.can_receive() {
            return Ok(waiting);
        }
        let len = frame.len();
        if frame.packet_type != PacketType::Publish {
            self.session.skipped(None, None)?;
            return Ok(self.skip(len - self.rx.end, None));
        }
        if CHUNKS {
            match self.chunk_header(&frame)? {
                Some((qos, pid, start, total)) if start < self.rx.buf.len() => {
                    if !self.session.chunked_start(qos, pid)? {
                        return Ok(self.skip(len - self.rx.end, None));
                    }
                    self.rx.mode = Mode::Chunks {
                        prefix: start,
                        delivered: 0,
                        total,
                    };
                    return self.next_chunk(Received::Progress);
                }
                _ => {} // The header alone fills the buffer: skip it.
            }
        }
        let qos = QoS::from_bits((frame.flags >> 1) & 3).unwrap_or(QoS::AtMostOnce);
        let pending = self.rx.pending();
        if qos == QoS::AtMostOnce {
            self.session.skipped(Some(qos), None)?;
            return Ok(self.skip(len - self.rx.end, None));
        }
        if let Some(pid) = frame.publish_packet_id(pending) {
            self.session.skipped(Some(qos), Some(pid))?;
            return Ok(self.skip(len - self.rx.end, None));
        }
        // No id in what fits: the topic is longer than the buffer (its
        // length says where the id is), or the id is 0 or past the packet.
        let h = frame.header_len;
        let topic_len = match pending.get(h..h + 2) {
            Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Err(self.malformed(DecodeError::Truncated)),
        };
        let id_at = h + 2 + topic_len;
        if id_at + 2 > len {
            return Err(self.malformed(DecodeError::Truncated));
        }
        let then = Some((qos, len - id_at - 2));
        match id_at.checked_sub(self.rx.end) {
            Some(left) => Ok(self.skip(left, then)),
            // The id straddles the end of the buffer: keep its first byte.
            None if id_at + 1 == self.rx.end => {
                self.rx.buf[0] = self.rx.buf[id_at];
                self.rx.end = 1;
                self.rx.mode = Mode::Skip { left: 0, id: then };
                Ok(Received::Progress)
            }
            // Wholly in the buffer, yet not read: it is 0.
            None => Err(self.malformed(DecodeError::ZeroPacketId)),
        }
    }

    /// The QoS, packet id, payload start and payload length of the
    /// PUBLISH `frame` whose first bytes are in the buffer; `None` if its
    /// header (in MQTT 5.0, with its properties) does not fit the buffer.
    #[allow(clippy::type_complexity)]
    fn chunk_header(
        &mut self,
        frame: &Frame,
    ) -> Result<Option<(QoS, Option<u16>, usize, usize)>, Reason> {
        #[cfg(feature = "mqtt5")]
        if self.session.config().is_v5() {
            use crate::wire::v5::{publish_header, PropertyId, ReasonCode};
            return match publish_header(frame, self.rx.pending()) {
                Ok(Some((h, properties))) => {
                    // No Topic Alias is allowed (see `Session::handle_v5`).
                    if properties.get(PropertyId::TopicAlias).is_some() {
                        self.count_protocol_error();
                        return Err(Reason::Violation(ReasonCode::TopicAliasInvalid));
                    }
                    Ok(Some((h.qos, h.pid, h.payload_start, h.payload_len)))
                }
                Ok(None) => Ok(None),
                Err(e) => {
                    self.count_protocol_error();
                    Err(Reason::MalformedV5(e))
                }
            };
        }
        match PublishHeader::parse(frame, self.rx.pending()) {
            Ok(Some(h)) => Ok(Some((h.qos, h.pid, h.payload_start, h.payload_len))),
            Ok(None) => Ok(None),
            Err(e) => Err(self.malformed(e)),
        }
    }

    /// Discards the next `left` bytes as they arrive.
    fn skip(&mut self, left: usize, id: Option<(QoS, usize)>) -> Received<'a> {
        self.rx.end = 0;
        self.rx.mode = Mode::Skip { left, id };
        Received::Progress
    }

    /// Hands over the piece in the buffer once the buffer is full or the
    /// message complete; the last piece owes the acknowledgement.
    fn next_chunk(&mut self, waiting: Received<'a>) -> Result<Received<'a>, Reason> {
        let Mode::Chunks {
            prefix,
            delivered,
            total,
        } = self.rx.mode
        else {
            return Ok(waiting);
        };
        let have = self.rx.end - prefix;
        let last = delivered + have >= total;
        let full = self.rx.end == self.rx.buf.len();
        if have == 0 || !(full || last) {
            return Ok(waiting);
        }
        if last {
            if !self.session.can_receive() {
                return Ok(waiting);
            }
            // The QoS and id are in the header kept at the buffer's start.
            let buf = self.rx.buf.get(..prefix).unwrap_or(&[]);
            let (qos, pid) = match Frame::parse(buf) {
                Ok(Some(f)) => (QoS::from_bits((f.flags >> 1) & 3), f.publish_packet_id(buf)),
                _ => (None, None),
            };
            self.session
                .chunked_end(qos.unwrap_or(QoS::AtMostOnce), pid)?;
        }
        self.rx.held = have;
        Ok(Received::Held)
    }

    fn malformed(&mut self, e: DecodeError) -> Reason {
        self.count_protocol_error();
        Reason::Malformed(e)
    }
}
