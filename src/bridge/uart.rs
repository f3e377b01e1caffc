//! The bridge's frames over a UART instead of the 5-wire link: a
//! [`Pipe`] over any embedded-io 0.6 serial port that can say whether it
//! would block (`ReadReady`, `WriteReady`), with frame ends as SLIP
//! ([`crate::slip`], RFC 1055). A bad escape follows the SLIP module's
//! rule: its byte is kept and counted, an `END` always ends the frame, and
//! the frame layer's CRC decides. Polled: [`Uart::poll`] never blocks and
//! moves at most a few bytes each way.

use embedded_io::{Read, ReadReady, Write, WriteReady};
use heapless::Deque;

use super::pipe::{Full, Pipe, Unit};
use crate::slip::{self, Decoded, Decoder};

/// Bytes read or written per poll at most (bounded work).
const CHUNK: usize = 16;

/// What the adapter counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UartCounters {
    /// Bytes the port took.
    pub bytes_written: u32,
    /// Bytes read from the port.
    pub bytes_read: u32,
    /// Bad escapes read (line noise; [`crate::slip`]'s rule: the byte is
    /// kept, an `END` still ends the frame, the frame layer's CRC decides).
    pub bad_escapes: u32,
}

/// A serial port as a [`Pipe`].
pub struct Uart<S> {
    serial: S,
    /// Encoded bytes waiting for the port.
    tx: Deque<u8, CHUNK>,
    rx: Deque<Unit, CHUNK>,
    decoder: Decoder,
    counters: UartCounters,
}

impl<S> Uart<S>
where
    S: Read + Write + ReadReady + WriteReady,
{
    /// The pipe over `serial`, nothing queued.
    pub fn new(serial: S) -> Self {
        Uart {
            serial,
            tx: Deque::new(),
            rx: Deque::new(),
            decoder: Decoder::new(),
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
                let unit = match self.decoder.feed(b) {
                    Some(Decoded::Byte(x)) => Unit::Byte(x),
                    Some(Decoded::End) => Unit::End,
                    None => continue,
                };
                // One unit per byte at most, and there was room.
                let _ = self.rx.push_back(unit);
            }
        }
        Ok(())
    }

    /// What the adapter counted so far.
    pub fn counters(&self) -> UartCounters {
        UartCounters {
            bad_escapes: self.decoder.bad_escapes(),
            ..self.counters
        }
    }

    /// The port back.
    pub fn release(self) -> S {
        self.serial
    }
}

impl<S> Pipe for Uart<S> {
    fn send(&mut self, unit: Unit) -> Result<(), Full> {
        let escaped = match unit {
            Unit::End => None,
            Unit::Byte(b) => Some(slip::escape(b)),
        };
        let bytes = escaped.as_ref().map_or(&[slip::END][..], |e| e.as_bytes());
        if self.tx.capacity() - self.tx.len() < bytes.len() {
            return Err(Full);
        }
        for &b in bytes {
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
