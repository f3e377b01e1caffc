//! What the frame layer needs from a wire: a stream of bytes and frame
//! boundaries each way, non-blocking.
//!
//! The 5-wire [`super::link::Link`] carries boundaries as HDLC flags, the
//! [`super::uart::Uart`] as SLIP ends (RFC 1055); the frame layer above is
//! the same for both.

/// One unit on a pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A data byte (the pipe escapes it as its line needs).
    Byte(u8),
    /// The end of a frame (also what a receiver reports when a frame was cut
    /// short by a line error: the frame layer's CRC then refuses it).
    End,
}

/// The pipe has no room for another unit now; try again on a later pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// A non-blocking, ordered stream of units each way.
pub trait Pipe {
    /// Queues one unit to send.
    fn send(&mut self, unit: Unit) -> Result<(), Full>;
    /// The next unit received, if any.
    fn recv(&mut self) -> Option<Unit>;
}
