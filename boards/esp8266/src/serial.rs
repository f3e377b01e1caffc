//! MQTT over a serial line: limpet's [`Transport`] as SLIP frames that a
//! host-side bridge relays to a broker over TCP.
//!
//! The ESP8266 cannot reach a broker by itself without Espressif's WiFi
//! libraries, so until a radio binding exists the firmware's broker link is
//! UART0 and a bridge on the host (see README.md, "The serial link"). A raw
//! byte stream would not do: the ROM prints its boot message on UART0 before
//! our code runs, and MQTT needs to know when a connection starts and ends
//! (a reconnection is a new TCP connection, a new session handshake). So each
//! frame ([`crate::slip`]) starts with a kind byte:
//!
//! | kind | direction       | meaning                                            |
//! |------|-----------------|----------------------------------------------------|
//! | `O`  | device → bridge | open a TCP connection to the broker                |
//! | `U`  | bridge → device | it is open ("the line is up")                      |
//! | `D`  | both            | MQTT bytes of the open connection                  |
//! | `C`  | both            | close it / it was closed (broker gone, refused)    |
//!
//! [`SerialTransport::connect`] sends `O` and succeeds when `U` comes back;
//! that is the "line up" condition. `close` sends `C`. Data frames that
//! arrive while no connection is up belong to an older one and are dropped,
//! as are frames of unknown kind (line noise). A damaged data frame (bad
//! escape) is an error: the MQTT byte stream can no longer be trusted, so the
//! client closes and reconnects. Nothing is buffered here: bytes go straight
//! between the port's FIFOs and the client's buffers.

use crate::slip::{self, Decoded, Decoder};
use limpet::net::Transport;

/// Frame kinds (the first byte of a frame).
pub mod kind {
    /// Device → bridge: open a connection to the broker.
    pub const OPEN: u8 = b'O';
    /// Bridge → device: the connection is open.
    pub const UP: u8 = b'U';
    /// Both ways: bytes of the connection.
    pub const DATA: u8 = b'D';
    /// Both ways: close the connection / it was closed.
    pub const CLOSE: u8 = b'C';
}

/// Bytes of a frame around its payload: `END`, the kind, `END`.
const OVERHEAD: usize = 3;

/// A byte-wide serial port that never blocks (a UART's FIFOs, a pipe).
pub trait SerialPort {
    /// Bytes [`SerialPort::write`] can take now.
    fn tx_space(&self) -> usize;
    /// Queues one byte for sending; only called when `tx_space() > 0`.
    fn write(&mut self, byte: u8);
    /// The next received byte, if one is there.
    fn read(&mut self) -> Option<u8>;
}

/// Why the serial transport failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The bridge closed the connection (broker gone or refused).
    Closed,
    /// `send`/`recv` without an open connection.
    NotConnected,
    /// A data frame arrived damaged.
    Damaged,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Closed,
    /// `O` sent, waiting for `U`.
    Opening,
    Up,
    /// The bridge sent `C` while up; reported by the next `send`/`recv`.
    PeerClosed,
}

/// What the frame being received is, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Incoming {
    /// No byte of it yet.
    Start,
    Data,
    /// A one-byte control frame (`U` or `C`), valid if its `END` comes next.
    Control(u8),
    /// Unknown or malformed: ignored up to its `END`.
    Ignored,
}

/// What the received bytes amounted to.
enum Pumped {
    /// Nothing more to read now.
    Idle,
    /// `buf` is full.
    Full,
    /// A control frame ended.
    Control(u8),
    /// A data frame was damaged.
    Damaged,
}

/// limpet's [`Transport`] over a [`SerialPort`] and a bridge (module docs).
pub struct SerialTransport<P> {
    port: P,
    link: Link,
    decoder: Decoder,
    incoming: Incoming,
    /// A `C` frame could not be sent at `close` (port full): send it before
    /// the next `O`.
    close_owed: bool,
}

impl<P: SerialPort> SerialTransport<P> {
    pub fn new(port: P) -> Self {
        SerialTransport {
            port,
            link: Link::Closed,
            decoder: Decoder::new(),
            incoming: Incoming::Start,
            close_owed: false,
        }
    }

    /// The port, e.g. to log on it when it is not the broker link.
    pub fn port(&mut self) -> &mut P {
        &mut self.port
    }

    /// True while the bridge reports the connection open.
    pub fn is_up(&self) -> bool {
        self.link == Link::Up
    }

    /// Writes a frame of `payload` (after `kind`) if it fits whole in the
    /// port now.
    fn send_frame(&mut self, kind: u8, payload: &[u8]) -> bool {
        let len: usize = payload.iter().map(|&b| slip::encoded_len(b)).sum();
        if self.port.tx_space() < len + OVERHEAD {
            return false;
        }
        self.port.write(slip::END);
        self.port.write(kind);
        for &b in payload {
            slip::encode_byte(b, |x| self.port.write(x));
        }
        self.port.write(slip::END);
        true
    }

    /// Reads received bytes, data into `buf[*n..]` (only while up), until
    /// the port is empty, `buf` is full or a control frame ends.
    fn pump(&mut self, buf: &mut [u8], n: &mut usize) -> Pumped {
        loop {
            if self.link == Link::Up && *n >= buf.len() {
                return Pumped::Full;
            }
            let Some(byte) = self.port.read() else {
                return Pumped::Idle;
            };
            match self.decoder.feed(byte) {
                None => {}
                Some(Decoded::Byte(b)) => match self.incoming {
                    Incoming::Start => {
                        self.incoming = match b {
                            kind::DATA => Incoming::Data,
                            kind::UP | kind::CLOSE => Incoming::Control(b),
                            _ => Incoming::Ignored,
                        }
                    }
                    Incoming::Data => {
                        // Data of an older connection is dropped.
                        if self.link == Link::Up {
                            if let Some(slot) = buf.get_mut(*n) {
                                *slot = b;
                                *n += 1;
                            }
                        }
                    }
                    Incoming::Control(_) => self.incoming = Incoming::Ignored,
                    Incoming::Ignored => {}
                },
                Some(Decoded::End) => {
                    let ended = core::mem::replace(&mut self.incoming, Incoming::Start);
                    if let Incoming::Control(k) = ended {
                        return Pumped::Control(k);
                    }
                }
                Some(Decoded::Error) => {
                    let was = core::mem::replace(&mut self.incoming, Incoming::Ignored);
                    if was == Incoming::Data && self.link == Link::Up {
                        return Pumped::Damaged;
                    }
                }
            }
            if self.decoder.at_boundary() {
                self.incoming = Incoming::Start;
            }
        }
    }
}

impl<P: SerialPort> Transport for SerialTransport<P> {
    type Error = Error;

    fn connect(&mut self) -> nb::Result<(), Error> {
        match self.link {
            Link::Up => return Ok(()),
            Link::Closed | Link::PeerClosed => {
                if self.close_owed {
                    if !self.send_frame(kind::CLOSE, &[]) {
                        return Err(nb::Error::WouldBlock);
                    }
                    self.close_owed = false;
                }
                if !self.send_frame(kind::OPEN, &[]) {
                    return Err(nb::Error::WouldBlock);
                }
                self.link = Link::Opening;
            }
            Link::Opening => {}
        }
        let mut n = 0;
        loop {
            match self.pump(&mut [], &mut n) {
                Pumped::Control(kind::UP) => {
                    self.link = Link::Up;
                    return Ok(());
                }
                Pumped::Control(_) => {
                    self.link = Link::Closed;
                    return Err(nb::Error::Other(Error::Closed));
                }
                Pumped::Idle | Pumped::Full => return Err(nb::Error::WouldBlock),
                Pumped::Damaged => {}
            }
        }
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, Error> {
        match self.link {
            Link::Up => {}
            Link::PeerClosed => return Err(nb::Error::Other(Error::Closed)),
            Link::Closed | Link::Opening => return Err(nb::Error::Other(Error::NotConnected)),
        }
        let budget = self.port.tx_space().saturating_sub(OVERHEAD);
        let mut used = 0;
        let n = data
            .iter()
            .take_while(|&&b| {
                used += slip::encoded_len(b);
                used <= budget
            })
            .count();
        if n == 0 {
            return Err(nb::Error::WouldBlock);
        }
        let sent = self.send_frame(kind::DATA, data.get(..n).unwrap_or(&[]));
        debug_assert!(sent, "the frame was sized to fit");
        Ok(n)
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, Error> {
        match self.link {
            Link::Up => {}
            Link::PeerClosed => return Err(nb::Error::Other(Error::Closed)),
            Link::Closed | Link::Opening => return Err(nb::Error::Other(Error::NotConnected)),
        }
        let mut n = 0;
        loop {
            match self.pump(buf, &mut n) {
                Pumped::Idle | Pumped::Full => break,
                Pumped::Control(kind::CLOSE) => {
                    self.link = Link::PeerClosed;
                    break;
                }
                // A stray `U` while up: nothing to do.
                Pumped::Control(_) => {}
                Pumped::Damaged => return Err(nb::Error::Other(Error::Damaged)),
            }
        }
        match (n, self.link) {
            (0, Link::PeerClosed) => Err(nb::Error::Other(Error::Closed)),
            (0, _) => Err(nb::Error::WouldBlock),
            (n, _) => Ok(n),
        }
    }

    fn close(&mut self) {
        if self.link != Link::Closed && !self.send_frame(kind::CLOSE, &[]) {
            self.close_owed = true;
        }
        self.link = Link::Closed;
    }
}

#[cfg(test)]
mod tests;
