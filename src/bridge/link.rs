//! The 5-wire bit engine: a byte pipe each way over two clocks and two data
//! lines (the fifth wire, reset, belongs to the host role), polled.
//!
//! Each side drives one clock and one data line and reads the other two.
//! The clocks hand a turn back and forth: the host may move when the two
//! clock levels are equal, the co-processor when they differ. On its turn a
//! side reads the other's data line (set before the other toggled its
//! clock, so it is settled), sets its own data line to its next bit, then
//! toggles its clock, handing the turn over. One turn each moves one bit
//! each way: full duplex, no timing assumption on either side, any pins, no
//! interrupts — the electrical idea of micropython-mqtt's `syncom`. A
//! `poll` takes at most one turn and never waits.
//!
//! Unlike the original's 7-bit text, the bit stream is binary-safe HDLC
//! framing (ISO/IEC 13239): frames end with the flag `01111110`, a `0` is
//! stuffed after five `1`s of data so a flag never occurs inside a frame,
//! and idle sends flags. A flag aligns bytes, so a receiver that starts
//! mid-stream (after a reboot) or lost a bit finds its place at the next
//! flag; seven `1`s in a row (line noise) abort the frame. Least
//! significant bit first.
//!
//! A side whose receive queue is full takes no turn, so a slow reader stops
//! the other side's clock instead of losing bits; so does a frame whose
//! next byte is not queued yet (a flag would end it). A clock that stops
//! (the other side crashed or hangs) shows as [`Link::still_for`].

use embedded_hal::digital::{InputPin, OutputPin, PinState};
use heapless::Deque;

use super::pipe::{Full, Pipe, Unit};
use crate::time::{elapsed, Instant};

/// Units queued each way between the bit engine and the frame layer: the
/// engine moves at most one bit per poll, so a few are plenty.
const QUEUE: usize = 4;
/// The frame delimiter, `01111110`.
const FLAG: u8 = 0x7E;

/// Which end of the link this is: it decides whose turn equal clocks are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Moves when the clock levels are equal (and drives reset).
    Host,
    /// Moves when they differ.
    Coproc,
}

/// A pin failed (the embedded-hal driver's error, which pins rarely have).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinError;

/// What one poll did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// Moved one bit each way.
    Moved,
    /// The other side has the turn.
    Waiting,
    /// It was our turn, but the receive queue is full (the frame layer has
    /// not read it): we hold the clock.
    Held,
}

/// What the engine has counted since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkCounters {
    /// Turns taken: bits moved each way.
    pub bits: u32,
    /// Data bytes sent.
    pub bytes_sent: u32,
    /// Data bytes received.
    pub bytes_received: u32,
    /// Frame ends (flags closing a non-empty frame) received.
    pub frames_received: u32,
    /// Frames cut by seven `1`s (an HDLC abort): line errors.
    pub aborts: u32,
    /// Frames whose closing flag came off a byte boundary: line errors.
    pub misaligned: u32,
}

/// The bit engine of one side, over its four link pins.
pub struct Link<CkIn, DIn, CkOut, DOut> {
    ck_in: CkIn,
    d_in: DIn,
    ck_out: CkOut,
    d_out: DOut,
    side: Side,
    /// Our clock's level (kept here: an output pin need not be readable).
    clock: bool,
    /// When the last bit moved (or the first poll).
    last_move: Option<Instant>,
    tx: Transmitter,
    rx: Receiver,
    tx_queue: Deque<Unit, QUEUE>,
    rx_queue: Deque<Unit, QUEUE>,
    counters: LinkCounters,
}

impl<CkIn, DIn, CkOut, DOut> Link<CkIn, DIn, CkOut, DOut>
where
    CkIn: InputPin,
    DIn: InputPin,
    CkOut: OutputPin,
    DOut: OutputPin,
{
    /// Takes the pins and drives both outputs low. After a reboot of either
    /// side the turn passes again by itself (the levels are the only state)
    /// and the receivers realign at the next flag.
    pub fn new(
        side: Side,
        ck_in: CkIn,
        d_in: DIn,
        mut ck_out: CkOut,
        mut d_out: DOut,
    ) -> Result<Self, PinError> {
        ck_out.set_low().map_err(|_| PinError)?;
        d_out.set_low().map_err(|_| PinError)?;
        Ok(Link {
            ck_in,
            d_in,
            ck_out,
            d_out,
            side,
            clock: false,
            last_move: None,
            tx: Transmitter::default(),
            rx: Receiver::default(),
            tx_queue: Deque::new(),
            rx_queue: Deque::new(),
            counters: LinkCounters::default(),
        })
    }

    /// Takes our turn if it is ours: one bit each way.
    pub fn poll(&mut self, now: Instant) -> Result<Turn, PinError> {
        let other = self.ck_in.is_high().map_err(|_| PinError)?;
        let ours = match self.side {
            Side::Host => other == self.clock,
            Side::Coproc => other != self.clock,
        };
        self.last_move.get_or_insert(now);
        if !ours {
            return Ok(Turn::Waiting);
        }
        // A bit can complete one unit: keep room for it. A frame cannot
        // pause: wait for its next unit.
        if self.rx_queue.is_full() || (self.tx.wants_unit() && self.tx_queue.is_empty()) {
            return Ok(Turn::Held);
        }
        let bit = self.d_in.is_high().map_err(|_| PinError)?;
        if let Some(unit) = self.rx.bit(bit, &mut self.counters) {
            // Room was checked above.
            let _ = self.rx_queue.push_back(unit);
        }
        let out = self.tx.next_bit(&mut self.tx_queue, &mut self.counters);
        self.d_out
            .set_state(PinState::from(out))
            .map_err(|_| PinError)?;
        self.clock = !self.clock;
        self.ck_out
            .set_state(PinState::from(self.clock))
            .map_err(|_| PinError)?;
        self.last_move = Some(now);
        self.counters.bits = self.counters.bits.wrapping_add(1);
        Ok(Turn::Moved)
    }

    /// Milliseconds since a bit last moved (since the first poll if none
    /// has): a stopped clock on the other side, or a receive queue nobody
    /// reads on ours.
    pub fn still_for(&self, now: Instant) -> u32 {
        self.last_move.map_or(0, |t| elapsed(t, now))
    }

    /// What the engine has counted since it was made.
    pub fn counters(&self) -> LinkCounters {
        self.counters
    }

    /// The pins back.
    pub fn release(self) -> (CkIn, DIn, CkOut, DOut) {
        (self.ck_in, self.d_in, self.ck_out, self.d_out)
    }
}

impl<CkIn, DIn, CkOut, DOut> Pipe for Link<CkIn, DIn, CkOut, DOut> {
    fn send(&mut self, unit: Unit) -> Result<(), Full> {
        self.tx_queue.push_back(unit).map_err(|_| Full)
    }

    fn recv(&mut self) -> Option<Unit> {
        self.rx_queue.pop_front()
    }
}

/// Serialises units into stuffed bits and flags.
#[derive(Default)]
struct Transmitter {
    /// Bits of the byte or flag being sent, least significant first.
    shift: u8,
    /// Bits left in `shift`.
    left: u8,
    /// Whether `shift` is a flag (sent as is, never stuffed).
    flag: bool,
    /// Data `1`s sent in a row.
    ones: u8,
    /// Whether data was sent since the last flag (a frame needs a flag
    /// before its first byte unless one was just sent).
    in_frame: bool,
    /// Whether the last thing sent was a flag.
    after_flag: bool,
}

impl Transmitter {
    /// Whether the next bit needs a unit of an open frame from the queue.
    fn wants_unit(&self) -> bool {
        self.left == 0 && self.ones != 5 && self.in_frame
    }

    fn next_bit(&mut self, queue: &mut Deque<Unit, QUEUE>, counters: &mut LinkCounters) -> bool {
        // Five data `1`s: a `0` goes next, whatever follows.
        if self.ones == 5 {
            self.ones = 0;
            return false;
        }
        if self.left == 0 {
            self.load(queue, counters);
        }
        let bit = self.shift & 1 != 0;
        self.shift >>= 1;
        self.left -= 1;
        if self.flag {
            self.ones = 0;
        } else if bit {
            self.ones += 1;
        } else {
            self.ones = 0;
        }
        bit
    }

    fn load(&mut self, queue: &mut Deque<Unit, QUEUE>, counters: &mut LinkCounters) {
        let unit = if self.after_flag || self.in_frame {
            queue.pop_front()
        } else {
            // Data after something other than a flag (only at start):
            // open with a flag.
            None
        };
        match unit {
            Some(Unit::Byte(b)) => {
                self.shift = b;
                self.flag = false;
                self.in_frame = true;
                self.after_flag = false;
                counters.bytes_sent = counters.bytes_sent.wrapping_add(1);
            }
            // An end, or idle: a flag.
            Some(Unit::End) | None => {
                self.shift = FLAG;
                self.flag = true;
                self.in_frame = false;
                self.after_flag = true;
            }
        }
        self.left = 8;
    }
}

/// Recovers bytes and frame ends from stuffed bits.
#[derive(Default)]
struct Receiver {
    /// `1`s received in a row.
    ones: u8,
    /// Whether a flag was seen since the last abort (bytes are aligned).
    aligned: bool,
    /// The last up-to-7 data bits, held back: they may turn out to be the
    /// start of a flag (`0111111`).
    delay: u8,
    delayed: u8,
    /// The byte being assembled and its bit count.
    byte: u8,
    bits: u8,
    /// Bytes delivered since the last frame end.
    frame_bytes: u16,
}

impl Receiver {
    fn bit(&mut self, bit: bool, counters: &mut LinkCounters) -> Option<Unit> {
        if bit {
            // A data line stuck high sends 1s forever.
            self.ones = self.ones.saturating_add(1);
            if self.ones >= 7 {
                // Not data, not a flag: a line error. Hunt for a flag.
                return self.abort(counters);
            }
            return self.data(true, counters);
        }
        let ones = core::mem::replace(&mut self.ones, 0);
        match ones {
            5 => None, // a stuffed zero
            6 => self.flag(counters),
            _ => self.data(false, counters),
        }
    }

    fn data(&mut self, bit: bool, counters: &mut LinkCounters) -> Option<Unit> {
        if !self.aligned {
            return None;
        }
        // Through the 7-bit delay line.
        self.delay |= (bit as u8) << self.delayed;
        if self.delayed < 7 {
            self.delayed += 1;
            return None;
        }
        let out = self.delay & 1;
        self.delay >>= 1;
        self.byte |= out << self.bits;
        self.bits += 1;
        if self.bits < 8 {
            return None;
        }
        let b = self.byte;
        self.byte = 0;
        self.bits = 0;
        self.frame_bytes = self.frame_bytes.saturating_add(1);
        counters.bytes_received = counters.bytes_received.wrapping_add(1);
        Some(Unit::Byte(b))
    }

    fn flag(&mut self, counters: &mut LinkCounters) -> Option<Unit> {
        // The delay line holds the flag's first seven bits: drop them.
        let was_aligned = self.aligned;
        let partial = self.bits != 0;
        self.aligned = true;
        self.restart_byte();
        if !was_aligned {
            return None;
        }
        if partial {
            counters.misaligned = counters.misaligned.wrapping_add(1);
        }
        self.end_frame(counters, partial)
    }

    fn abort(&mut self, counters: &mut LinkCounters) -> Option<Unit> {
        let was_aligned = core::mem::replace(&mut self.aligned, false);
        self.restart_byte();
        if !was_aligned {
            return None;
        }
        counters.aborts = counters.aborts.wrapping_add(1);
        self.end_frame(counters, true)
    }

    /// Empties the delay line and the byte being assembled.
    fn restart_byte(&mut self) {
        self.delay = 0;
        self.delayed = 0;
        self.byte = 0;
        self.bits = 0;
    }

    /// A frame end for the layer above, if anything of a frame was given.
    fn end_frame(&mut self, counters: &mut LinkCounters, broken: bool) -> Option<Unit> {
        let bytes = core::mem::replace(&mut self.frame_bytes, 0);
        if bytes == 0 {
            return None;
        }
        if !broken {
            counters.frames_received = counters.frames_received.wrapping_add(1);
        }
        Some(Unit::End)
    }
}

#[cfg(test)]
mod tests;
