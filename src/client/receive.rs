//! The receive path: exactly one packet at a time into the receive buffer.
//!
//! The client reads only what the packet being received still needs (its
//! fixed header a byte or two at a time, then its body), so the buffer only
//! ever holds one packet and nothing needs moving. A packet larger than the
//! buffer is skipped as its bytes arrive (counted, and acknowledged if it
//! carries an id), or — through [`Client::poll_chunked`], for a PUBLISH whose
//! header fits — handed over in pieces behind its header. `CHUNKS` is a
//! const parameter so a firmware that never asks for pieces links none of
//! that code.

use super::buffers::Chunks;
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
        let c = &mut self.rx.chunks;
        if c.prefix > 0 && c.delivered + held < c.total {
            c.delivered += held;
            self.rx.end = c.prefix;
        } else {
            *c = Chunks::default();
            self.rx.end = 0;
        }
    }

    /// The event for what the receive buffer holds. Decoded (and validated)
    /// once already; decoding again here lets the event borrow the buffer
    /// without holding it across the loop in `poll`.
    pub(super) fn handed_over<const CHUNKS: bool>(&self) -> Option<Event<'_>> {
        let held = self.rx.held;
        let c = self.rx.chunks;
        if CHUNKS && c.prefix > 0 {
            let buf = self.rx.buf.get(..self.rx.end)?;
            let frame = Frame::parse(buf).ok()??;
            let h = PublishHeader::parse(&frame, buf).ok()??;
            return Some(Event::Chunk(Chunk {
                topic: h.topic,
                offset: c.delivered,
                total: c.total,
                bytes: buf.get(c.prefix..c.prefix + held)?,
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
        if self.rx.skip > 0 {
            return Ok(waiting);
        }
        if CHUNKS && self.rx.chunks.prefix > 0 {
            return self.next_chunk(waiting);
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

    /// Reads at most what the packet being received still needs. While
    /// skipping, reads and discards. True if anything arrived (and tells the
    /// session: any byte is a sign of life).
    fn read<T: Transport>(&mut self, now: Instant, transport: &mut T) -> Result<bool, Reason> {
        let rx = &mut self.rx;
        let c = rx.chunks;
        let (start, want) = if rx.skip > 0 {
            (0, rx.skip.min(rx.buf.len()))
        } else if c.prefix > 0 {
            let end = rx.buf.len().min(c.prefix + (c.total - c.delivered));
            (rx.end, end.saturating_sub(rx.end))
        } else {
            let want = match Frame::parse(rx.pending()) {
                Ok(Some(frame)) => frame.len().min(rx.buf.len()) - rx.end,
                Ok(None) if rx.end == 0 => 2,
                Ok(None) => 1,
                // `receive` reports it.
                Err(_) => 0,
            };
            (rx.end, want)
        };
        let dst = match rx.buf.get_mut(start..start + want) {
            Some(dst) if !dst.is_empty() => dst,
            _ => return Ok(false),
        };
        let n = match transport.recv(dst) {
            Ok(n) => n.min(want),
            Err(nb::Error::WouldBlock) => return Ok(false),
            Err(nb::Error::Other(_)) => return Err(Reason::Transport),
        };
        if rx.skip > 0 {
            rx.skip -= n.min(rx.skip);
        } else {
            rx.end += n;
        }
        self.session.bytes_received(now);
        Ok(true)
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
        let publish = frame.packet_type == PacketType::Publish;
        if CHUNKS && publish {
            let header = PublishHeader::parse(&frame, self.rx.pending());
            match header {
                Ok(Some(h)) if h.payload_start < self.rx.buf.len() => {
                    if !self.session.chunked_start(h.qos, h.pid)? {
                        self.skip_rest(&frame);
                        return Ok(Received::Progress);
                    }
                    self.rx.chunks = Chunks {
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
        let (qos, pid) = if publish {
            (
                QoS::from_bits((frame.flags >> 1) & 3),
                frame.publish_packet_id(self.rx.pending()),
            )
        } else {
            (None, None)
        };
        self.session.skipped(qos, pid)?;
        self.skip_rest(&frame);
        Ok(Received::Progress)
    }

    /// Discards what is left of `frame` as it arrives.
    fn skip_rest(&mut self, frame: &Frame) {
        self.rx.skip = frame.len() - self.rx.end;
        self.rx.end = 0;
    }

    /// Hands over the piece in the buffer once the buffer is full or the
    /// message complete; the last piece owes the acknowledgement.
    fn next_chunk(&mut self, waiting: Received<'a>) -> Result<Received<'a>, Reason> {
        let c = self.rx.chunks;
        let have = self.rx.end - c.prefix;
        let last = c.delivered + have >= c.total;
        let full = self.rx.end == self.rx.buf.len();
        if have == 0 || !(full || last) {
            return Ok(waiting);
        }
        if last {
            if !self.session.can_receive() {
                return Ok(waiting);
            }
            // The QoS and id are in the header kept at the buffer's start.
            let buf = self.rx.buf.get(..c.prefix).unwrap_or(&[]);
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
