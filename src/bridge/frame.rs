//! Reliable frames on a [`Pipe`]: each payload given to [`Framer::send`]
//! is delivered to the other end's [`Framer::received`] once, whole and in
//! order, whatever the line does, as long as both ends keep running.
//!
//! - **Check**: a length and a CRC-16 on every frame (`frame/format.rs`).
//! - **Window**: up to `W` data frames in flight, numbered mod 256;
//!   every frame carries the cumulative acknowledgement of the other way.
//! - **Repair**: a bad, cut or out-of-order frame is answered with a NAK
//!   (once per gap), and the sender goes back to the first unacknowledged
//!   frame (go-back-N); a frame whose acknowledgement does not come within
//!   `retransmit_ms` is sent again, so a lost last frame is repaired too.
//!   Resynchronising is the pipe's (a flag or SLIP end) plus this: nothing
//!   is reset.
//! - **Handshake**: each end announces a nonce new at each start and the
//!   largest payload it takes, and echoes the other's nonce; an end is up
//!   when its own nonce has come back. A new nonce from the other end (or,
//!   once up, a handshake that does not echo ours) means the other end
//!   restarted: sequence numbers start over, frames in flight are dropped
//!   and [`Event::PeerRestarted`] tells the layer above, which replays what
//!   it must (the bridge protocol's boot counter says the same, end to end).
//! - **Flow**: a received payload stays in the receive buffer until
//!   [`Framer::release`]; meanwhile nothing more is read from the pipe, so a
//!   slow reader stops the link instead of losing frames.
//!
//! Memory: `W` payload buffers for the window plus one for receiving, all
//! inside the struct; `P` (the largest payload, ≤ 255) and `W` (1..=128)
//! are fixed at compile time.

mod format;

use format::{Hello, Kind, HEADER, TRAILER, VERSION};

use super::pipe::{Pipe, Unit};
use crate::crc;
use crate::time::{elapsed, Instant};

/// Timers of the frame layer, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameConfig {
    /// This start's identity: must differ from the last start's (a boot
    /// counter, or a random number). A repeat is still detected once the
    /// other end is up, by the echo.
    pub nonce: u32,
    /// Send the oldest unacknowledged frame again after this long.
    pub retransmit_ms: u32,
    /// Repeat the handshake this often until the other end answers.
    pub hello_ms: u32,
}

impl FrameConfig {
    /// Timers for a link of a few kbit/s or more: a 256-byte frame takes
    /// well under 100 ms at 25 kbit/s.
    pub const fn new(nonce: u32) -> Self {
        FrameConfig {
            nonce,
            retransmit_ms: 500,
            hello_ms: 250,
        }
    }
}

/// Why [`Framer::send`] refused a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The handshake has not completed: nobody to send to yet.
    NotUp,
    /// `W` frames are in flight: try after an acknowledgement.
    WindowFull,
    /// Longer than the largest payload agreed with the other end.
    TooLong,
}

/// What happened on a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed: payloads up to `max_payload` bytes may go.
    Up {
        /// The smaller of the two ends' largest payloads.
        max_payload: u8,
    },
    /// The other end started again: `dropped` frames in flight to it were
    /// discarded (the layer above re-sends what it must); it is not up
    /// until the new handshake completes ([`Event::Up`]).
    PeerRestarted {
        /// Frames sent and not acknowledged, now discarded.
        dropped: u8,
    },
    /// A payload is in [`Framer::received`].
    Received,
}

/// What the frame layer has counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameCounters {
    /// Data frames sent for the first time.
    pub data_sent: u32,
    /// Data frames sent again (after a NAK or the timer).
    pub retransmitted: u32,
    /// Data frames received in order and handed up ([`Event::Received`]).
    pub delivered: u32,
    /// Frames refused: bad CRC, cut, wrong length, unknown kind, too long.
    pub bad: u32,
    /// Data frames out of order (a gap before them) or already delivered.
    pub out_of_order: u32,
    /// Data frames received again (our acknowledgement was lost).
    pub duplicates: u32,
    /// NAKs sent: a gap asked to be filled.
    pub naks_sent: u32,
    /// Times the other end started again ([`Event::PeerRestarted`]).
    pub peer_restarts: u32,
    /// Frames of any kind that arrived whole (CRC good): signs of life of
    /// the other end, data or not.
    pub heard: u32,
}

/// Where a frame being received stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rx {
    /// `n` header bytes so far.
    Header(usize),
    /// `n` of the header's `len` payload bytes so far.
    Payload(usize),
    /// `n` CRC bytes so far.
    Crc(usize),
    /// Longer than announced or than `P`: skip to the end.
    Junk,
    /// A payload waits for [`Framer::release`].
    Held,
}

/// The frame being sent: its header, where its payload comes from, how far.
#[derive(Clone, Copy, Debug)]
struct Tx {
    header: [u8; HEADER],
    /// A window slot, or the handshake's bytes.
    body: Body,
    /// Bytes of header + payload + CRC sent so far.
    at: usize,
    crc: u16,
}

#[derive(Clone, Copy, Debug)]
enum Body {
    None,
    Slot(usize),
    Hello([u8; Hello::LEN]),
}

/// One end of a reliable frame stream.
pub struct Framer<const P: usize, const W: usize> {
    config: FrameConfig,
    // The other end.
    peer: Option<u32>,
    peer_acked: bool,
    max_payload: u8,
    hello_owed: bool,
    hello_sent: Option<Instant>,
    // Sending: seq numbers in [base, next) are in flight; `cursor` is the
    // next to (re)send.
    slots: [[u8; P]; W],
    lens: [u8; W],
    sent_at: [Instant; W],
    base: u8,
    next: u8,
    cursor: u8,
    /// One past the last sequence number sent at least once.
    high: u8,
    tx: Option<Tx>,
    // Receiving.
    expected: u8,
    ack_owed: bool,
    nak_owed: bool,
    nak_sent_for: Option<u8>,
    rx: Rx,
    header: [u8; HEADER],
    crc_bytes: [u8; TRAILER],
    buf: [u8; P],
    // Events not yet returned.
    up_pending: bool,
    restart_pending: Option<u8>,
    now: Instant,
    counters: FrameCounters,
}

/// Units read from the pipe per poll at most (bounded work).
const UNITS_PER_POLL: usize = 64;

impl<const P: usize, const W: usize> Framer<P, W> {
    const SIZES_OK: () = assert!(P >= 1 && P <= 255 && W >= 1 && W <= 128);

    /// An end that is not up: it announces itself on the first poll.
    /// `P` and `W` out of range fail the build.
    pub fn new(config: FrameConfig) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::SIZES_OK;
        Framer {
            config,
            peer: None,
            peer_acked: false,
            max_payload: 0,
            hello_owed: true,
            hello_sent: None,
            slots: [[0; P]; W],
            lens: [0; W],
            sent_at: [Instant::from_ticks(0); W],
            base: 0,
            next: 0,
            cursor: 0,
            high: 0,
            tx: None,
            expected: 0,
            ack_owed: false,
            nak_owed: false,
            nak_sent_for: None,
            rx: Rx::Header(0),
            header: [0; HEADER],
            crc_bytes: [0; TRAILER],
            buf: [0; P],
            up_pending: false,
            restart_pending: None,
            now: Instant::from_ticks(0),
            counters: FrameCounters::default(),
        }
    }

    /// Whether the handshake has completed.
    pub fn is_up(&self) -> bool {
        self.peer.is_some() && self.peer_acked
    }

    /// The largest payload [`Framer::send`] takes now (0 until up).
    pub fn max_payload(&self) -> usize {
        if self.is_up() {
            usize::from(self.max_payload)
        } else {
            0
        }
    }

    /// Whether another payload fits in the window now.
    pub fn can_send(&self) -> bool {
        self.is_up() && usize::from(self.next.wrapping_sub(self.base)) < W
    }

    /// Frames sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        usize::from(self.next.wrapping_sub(self.base))
    }

    /// Queues a payload for the other end (copied into the window).
    pub fn send(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if !self.is_up() {
            return Err(SendError::NotUp);
        }
        if payload.len() > usize::from(self.max_payload) {
            return Err(SendError::TooLong);
        }
        if !self.can_send() {
            return Err(SendError::WindowFull);
        }
        let slot = usize::from(self.next) % W;
        self.slots[slot][..payload.len()].copy_from_slice(payload);
        // Fits: max_payload ≤ P ≤ 255.
        self.lens[slot] = payload.len() as u8;
        self.next = self.next.wrapping_add(1);
        Ok(())
    }

    /// The payload received, until [`Framer::release`].
    pub fn received(&self) -> Option<&[u8]> {
        match self.rx {
            Rx::Held => Some(&self.buf[..usize::from(self.header[3])]),
            _ => None,
        }
    }

    /// Done with [`Framer::received`]: the next frame may come in.
    pub fn release(&mut self) {
        if self.rx == Rx::Held {
            self.rx = Rx::Header(0);
        }
    }

    /// Moves frames between the window and the pipe, bounded work: reads up
    /// to one frame (at most 64 units), writes what the pipe takes.
    pub fn poll(&mut self, now: Instant, pipe: &mut impl Pipe) -> Option<Event> {
        self.now = now;
        self.timers(now);
        let event = self.read(pipe);
        self.write(pipe);
        if let Some(e) = event {
            return Some(e);
        }
        if let Some(dropped) = self.restart_pending.take() {
            return Some(Event::PeerRestarted { dropped });
        }
        if core::mem::take(&mut self.up_pending) {
            return Some(Event::Up {
                max_payload: self.max_payload,
            });
        }
        None
    }

    /// When to poll again at the latest: now if there is something to send,
    /// else the retransmission or handshake timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.tx.is_some()
            || self.hello_owed
            || (self.is_up() && (self.ack_owed || self.nak_owed || self.cursor != self.next))
            || self.up_pending
            || self.restart_pending.is_some()
        {
            return Some(self.now);
        }
        if !self.is_up() {
            return Some(
                self.hello_sent.unwrap_or(self.now)
                    + crate::time::Duration::from_ticks(self.config.hello_ms),
            );
        }
        if self.base != self.next {
            let slot = usize::from(self.base) % W;
            return Some(
                self.sent_at[slot] + crate::time::Duration::from_ticks(self.config.retransmit_ms),
            );
        }
        None
    }

    /// What this end has counted since [`Framer::new`].
    pub fn counters(&self) -> FrameCounters {
        self.counters
    }

    fn timers(&mut self, now: Instant) {
        if !self.is_up() {
            let due = self
                .hello_sent
                .is_none_or(|t| elapsed(t, now) >= self.config.hello_ms);
            if due {
                self.hello_owed = true;
            }
            return;
        }
        // The oldest frame in flight, sent (all of it) long enough ago, and
        // not already being sent again.
        if self.base != self.next && self.cursor != self.base {
            let slot = usize::from(self.base) % W;
            if elapsed(self.sent_at[slot], now) >= self.config.retransmit_ms {
                self.go_back();
            }
        }
    }

    /// Send again from the oldest frame in flight (after the frame on the
    /// pipe, which finishes first).
    fn go_back(&mut self) {
        self.cursor = self.base;
    }

    // ---- receiving ----

    fn read(&mut self, pipe: &mut impl Pipe) -> Option<Event> {
        for _ in 0..UNITS_PER_POLL {
            if self.rx == Rx::Held {
                return None;
            }
            let unit = pipe.recv()?;
            if let Some(e) = self.unit(unit) {
                return Some(e);
            }
            // A handshake that changed things: report it before any data.
            if self.up_pending || self.restart_pending.is_some() {
                return None;
            }
        }
        None
    }

    fn unit(&mut self, unit: Unit) -> Option<Event> {
        let b = match unit {
            Unit::End => return self.end(),
            Unit::Byte(b) => b,
        };
        self.rx = match self.rx {
            Rx::Header(n) => {
                self.header[n] = b;
                if n + 1 < HEADER {
                    Rx::Header(n + 1)
                } else if usize::from(self.header[3]) > P {
                    Rx::Junk
                } else if self.header[3] == 0 {
                    Rx::Crc(0)
                } else {
                    Rx::Payload(0)
                }
            }
            Rx::Payload(n) => {
                self.buf[n] = b;
                if n + 1 < usize::from(self.header[3]) {
                    Rx::Payload(n + 1)
                } else {
                    Rx::Crc(0)
                }
            }
            Rx::Crc(n) if n < TRAILER => {
                self.crc_bytes[n] = b;
                Rx::Crc(n + 1)
            }
            Rx::Crc(_) | Rx::Junk => Rx::Junk,
            Rx::Held => Rx::Held,
        };
        None
    }

    /// A frame ended: check it, act on it.
    fn end(&mut self) -> Option<Event> {
        if self.rx == Rx::Header(0) {
            // Nothing between two ends (SLIP opens frames with one).
            return None;
        }
        let whole = self.rx == Rx::Crc(TRAILER);
        self.rx = Rx::Header(0);
        let len = usize::from(self.header[3]);
        let ok = whole
            && crc::update(crc::update(crc::INIT, &self.header), &self.buf[..len])
                == u16::from_be_bytes(self.crc_bytes);
        let kind = Kind::from_ctl(self.header[0]);
        let (Some(kind), true) = (kind, ok) else {
            self.counters.bad = self.counters.bad.wrapping_add(1);
            self.owe_nak();
            return None;
        };
        self.counters.heard = self.counters.heard.wrapping_add(1);
        let [_, seq, ack, _] = self.header;
        if kind == Kind::Hello {
            self.hello(len);
            return None;
        }
        if !self.is_up() {
            return None;
        }
        self.acknowledged(ack);
        match kind {
            Kind::Nak => self.go_back(),
            Kind::Data => return self.data(seq),
            Kind::Ack | Kind::Hello => {}
        }
        None
    }

    fn data(&mut self, seq: u8) -> Option<Event> {
        if seq == self.expected {
            self.expected = self.expected.wrapping_add(1);
            self.ack_owed = true;
            self.nak_sent_for = None;
            self.rx = Rx::Held;
            self.counters.delivered = self.counters.delivered.wrapping_add(1);
            return Some(Event::Received);
        }
        // Behind what we expect (within a window): already delivered, our
        // acknowledgement was lost; say again where we are. Ahead: a gap.
        if usize::from(self.expected.wrapping_sub(seq)) <= W {
            self.counters.duplicates = self.counters.duplicates.wrapping_add(1);
            self.ack_owed = true;
        } else {
            self.counters.out_of_order = self.counters.out_of_order.wrapping_add(1);
            self.owe_nak();
        }
        None
    }

    /// The other end expects `ack` next: everything before it has arrived.
    fn acknowledged(&mut self, ack: u8) {
        let acked = ack.wrapping_sub(self.base);
        // Only frames we have sent can have arrived.
        if acked == 0 || acked > self.high.wrapping_sub(self.base) {
            return;
        }
        let cursor_ahead = self.cursor.wrapping_sub(self.base);
        self.base = ack;
        if cursor_ahead < acked {
            self.cursor = self.base;
        }
    }

    fn owe_nak(&mut self) {
        if self.is_up() && self.nak_sent_for != Some(self.expected) {
            self.nak_owed = true;
        }
    }

    fn hello(&mut self, len: usize) {
        let Some(h) = Hello::decode(&self.buf[..len]) else {
            self.counters.bad = self.counters.bad.wrapping_add(1);
            return;
        };
        if h.version != VERSION || h.max_payload == 0 {
            self.counters.bad = self.counters.bad.wrapping_add(1);
            return;
        }
        let ours = Some(self.config.nonce);
        let was_up = self.is_up();
        let new_peer = self.peer != Some(h.nonce) || (was_up && h.echo != ours);
        if new_peer {
            if self.peer.is_some() {
                self.counters.peer_restarts = self.counters.peer_restarts.wrapping_add(1);
                self.restart_pending = Some(self.next.wrapping_sub(self.base));
            }
            self.start_over();
            self.peer = Some(h.nonce);
            // Fits: P ≤ 255.
            self.max_payload = h.max_payload.min(P as u8);
        }
        if h.echo == ours {
            self.peer_acked = true;
        }
        if new_peer || h.echo != ours {
            self.hello_owed = true;
        }
        if !was_up && self.is_up() {
            self.up_pending = true;
        }
    }

    /// A new start of the other end: numbering starts over both ways.
    fn start_over(&mut self) {
        self.peer_acked = false;
        self.up_pending = false;
        self.base = 0;
        self.next = 0;
        self.cursor = 0;
        self.high = 0;
        self.expected = 0;
        self.ack_owed = false;
        self.nak_owed = false;
        self.nak_sent_for = None;
        // A data frame half on the pipe finishes: the other end is not up
        // before our next handshake, which follows it, so it ignores it.
    }

    // ---- sending ----

    fn write(&mut self, pipe: &mut impl Pipe) {
        loop {
            if self.tx.is_none() {
                self.tx = self.next_frame();
                if self.tx.is_none() {
                    return;
                }
            }
            if !self.emit(pipe) {
                return;
            }
        }
    }

    /// The next frame to send, by priority: handshake, data (carrying the
    /// acknowledgement), NAK, acknowledgement alone.
    fn next_frame(&mut self) -> Option<Tx> {
        if self.hello_owed {
            self.hello_owed = false;
            self.hello_sent = Some(self.now);
            let hello = Hello {
                version: VERSION,
                max_payload: P as u8,
                nonce: self.config.nonce,
                echo: self.peer,
            };
            let body = hello.encode();
            return Some(self.frame(Kind::Hello, 0, Hello::LEN as u8, Body::Hello(body)));
        }
        if !self.is_up() {
            return None;
        }
        if self.nak_owed {
            self.nak_owed = false;
            self.ack_owed = false;
            self.nak_sent_for = Some(self.expected);
            self.counters.naks_sent = self.counters.naks_sent.wrapping_add(1);
            return Some(self.frame(Kind::Nak, 0, 0, Body::None));
        }
        if self.cursor != self.next {
            let seq = self.cursor;
            let slot = usize::from(seq) % W;
            if seq.wrapping_sub(self.base) < self.high.wrapping_sub(self.base) {
                self.counters.retransmitted = self.counters.retransmitted.wrapping_add(1);
            } else {
                self.counters.data_sent = self.counters.data_sent.wrapping_add(1);
                self.high = seq.wrapping_add(1);
            }
            self.cursor = self.cursor.wrapping_add(1);
            self.ack_owed = false;
            return Some(self.frame(Kind::Data, seq, self.lens[slot], Body::Slot(slot)));
        }
        if self.ack_owed {
            self.ack_owed = false;
            return Some(self.frame(Kind::Ack, 0, 0, Body::None));
        }
        None
    }

    fn frame(&mut self, kind: Kind, seq: u8, len: u8, body: Body) -> Tx {
        if let Body::Slot(slot) = body {
            self.sent_at[slot] = self.now;
        }
        Tx {
            header: [kind as u8, seq, self.expected, len],
            body,
            at: 0,
            crc: crc::INIT,
        }
    }

    /// Writes the current frame into the pipe as far as it takes; whether
    /// the frame is done.
    fn emit(&mut self, pipe: &mut impl Pipe) -> bool {
        let Some(mut tx) = self.tx else {
            return true;
        };
        let len = usize::from(tx.header[3]);
        let done = loop {
            // The byte at `at`, and whether the CRC covers it.
            let (unit, covered) = if tx.at < HEADER {
                (Unit::Byte(tx.header[tx.at]), true)
            } else if tx.at < HEADER + len {
                let i = tx.at - HEADER;
                let b = match tx.body {
                    Body::Slot(slot) => self.slots[slot][i],
                    Body::Hello(ref h) => h[i],
                    Body::None => 0,
                };
                (Unit::Byte(b), true)
            } else if tx.at < HEADER + len + TRAILER {
                (
                    Unit::Byte(tx.crc.to_be_bytes()[tx.at - HEADER - len]),
                    false,
                )
            } else {
                (Unit::End, false)
            };
            if pipe.send(unit).is_err() {
                break false;
            }
            if let (Unit::Byte(b), true) = (unit, covered) {
                tx.crc = crc::update(tx.crc, &[b]);
            }
            tx.at += 1;
            if unit == Unit::End {
                break true;
            }
        };
        self.tx = if done { None } else { Some(tx) };
        done
    }
}

#[cfg(test)]
mod tests;
