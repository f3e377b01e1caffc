//! The bridge's frames over a UART instead of the 5-wire link: a
//! [`Pipe`] over any embedded-io 0.6 serial port that can say whether it
//! would block (`ReadReady`, `WriteReady`), with frame ends as SLIP
//! (RFC 1055): `END` (0xC0) closes a frame, and `END` or `ESC` (0xDB) in
//! the data go as `ESC ESC_END` / `ESC ESC_ESC`. Polled: [`Uart::poll`]
//! never blocks and moves at most a few bytes each way.

use embedded_io::{Read, ReadReady, Write, WriteReady};
use heapless::Deque;

use super::pipe::{Full, Pipe, Unit};

const END: u8 = 0xC0;
const ESC: u8 = 0xDB;
const ESC_END: u8 = 0xDC;
const ESC_ESC: u8 = 0xDD;

/// Bytes read or written per poll at most (bounded work).
const CHUNK: usize = 16;

/// What the adapter counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UartCounters {
    pub bytes_written: u32,
    pub bytes_read: u32,
    /// An `ESC` followed by something other than `ESC_END` or `ESC_ESC`
    /// (line noise): the byte is kept, as RFC 1055 suggests, and the frame
    /// layer's CRC decides; but an `END` still ends the frame, so a damaged
    /// or cut-off escape costs one frame, not that frame and the next.
    pub bad_escapes: u32,
}

/// A serial port as a [`Pipe`].
pub struct Uart<S> {
    serial: S,
    /// Encoded bytes waiting for the port.
    tx: Deque<u8, CHUNK>,
    rx: Deque<Unit, CHUNK>,
    /// The last byte read was `ESC`.
    escaped: bool,
    counters: UartCounters,
}

impl<S> Uart<S>
where
    S: Read + Write + ReadReady + WriteReady,
{
    pub fn new(serial: S) -> Self {
        Uart {
            serial,
            tx: Deque::new(),
            rx: Deque::new(),
            escaped: false,
            counters: UartCounters::default(),
        }
    }

    /// Writes what is queued as far as the port takes it without blocking,
    /// and reads what it has, as far as there is room.
    pub fn poll(&mut self) -> Result<(), S::Error> {
        if !self.tx.is_empty() && self.serial.write_ready()? {
            let mut chunk = [0u8; CHUNK];
            let n = self.tx.len();
            for (slot, b) in chunk.iter_mut().zip(self.tx.iter()) {
                *slot = *b;
            }
            // At most what it was given, whatever the driver says (the
            // loop below is bounded by the queue, not by the driver).
            let written = self.serial.write(&chunk[..n])?.min(n);
            for _ in 0..written {
                self.tx.pop_front();
            }
            self.counters.bytes_written = self.counters.bytes_written.wrapping_add(written as u32);
        }
        let room = self.rx.capacity() - self.rx.len();
        if room > 0 && self.serial.read_ready()? {
            let mut chunk = [0u8; CHUNK];
            // At most what was asked for, whatever the driver says.
            let n = self.serial.read(&mut chunk[..room])?.min(room);
            self.counters.bytes_read = self.counters.bytes_read.wrapping_add(n as u32);
            for &b in &chunk[..n] {
                if let Some(unit) = self.decode(b) {
                    // One unit per byte at most, and there was room.
                    let _ = self.rx.push_back(unit);
                }
            }
        }
        Ok(())
    }

    fn decode(&mut self, b: u8) -> Option<Unit> {
        if core::mem::take(&mut self.escaped) {
            if b == END {
                self.counters.bad_escapes = self.counters.bad_escapes.wrapping_add(1);
                return Some(Unit::End);
            }
            return Some(Unit::Byte(match b {
                ESC_END => END,
                ESC_ESC => ESC,
                other => {
                    self.counters.bad_escapes = self.counters.bad_escapes.wrapping_add(1);
                    other
                }
            }));
        }
        match b {
            END => Some(Unit::End),
            ESC => {
                self.escaped = true;
                None
            }
            other => Some(Unit::Byte(other)),
        }
    }

    pub fn counters(&self) -> UartCounters {
        self.counters
    }

    /// The port back.
    pub fn release(self) -> S {
        self.serial
    }
}

impl<S> Pipe for Uart<S> {
    fn send(&mut self, unit: Unit) -> Result<(), Full> {
        let (a, b) = match unit {
            Unit::End => (END, None),
            Unit::Byte(END) => (ESC, Some(ESC_END)),
            Unit::Byte(ESC) => (ESC, Some(ESC_ESC)),
            Unit::Byte(x) => (x, None),
        };
        if self.tx.capacity() - self.tx.len() < 1 + usize::from(b.is_some()) {
            return Err(Full);
        }
        let _ = self.tx.push_back(a);
        if let Some(b) = b {
            let _ = self.tx.push_back(b);
        }
        Ok(())
    }

    fn recv(&mut self) -> Option<Unit> {
        self.rx.pop_front()
    }
}

#[cfg(test)]
mod tests;
