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
        match Packet::decode_from_server(self.rx.buf.get(..held)?) {
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
            Err(e) => return Err(self.malformed(e)),
        };
        let len = frame.len();
        if len > self.rx.buf.len() {
            return self.oversize::<CHUNKS>(frame, waiting);
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
            self.rx.held = len;
            return Ok(Received::Held);
        }
        self.rx.end = 0;
        match handled {
            Ok(Handled::Event(event)) => Ok(Received::Event(event)),
            Ok(_) => Ok(Received::Progress),
            Err(reason) => {
                if reason == Reason::Unexpected {
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
            match PublishHeader::parse(&frame, self.rx.pending()) {
                Ok(Some(h)) if h.payload_start < self.rx.buf.len() => {
                    if !self.session.chunked_start(h.qos, h.pid)? {
                        return Ok(self.skip(len - self.rx.end, None));
                    }
                    self.rx.mode = Mode::Chunks {
                        prefix: h.payload_start,
                        delivered: 0,
                        total: h.payload_len,
                    };
                    return self.next_chunk(Received::Progress);
                }
                Ok(_) => {} // The header alone fills the buffer: skip it.
                Err(e) => return Err(self.malformed(e)),
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
