//! SLIP (RFC 1055): frames on a serial byte stream, and one rule for a
//! damaged line. Knows bytes and frame ends, nothing of what the frames
//! carry (IP packets, the bridge's frames).
//!
//! A frame is its bytes followed by `END`; an `END` or `ESC` among them is
//! sent as `ESC ESC_END` or `ESC ESC_ESC` (RFC 1055, "Protocol"). The
//! [`Encoder`] sends an `END` before a frame as well as after it, as the RFC
//! suggests, so that line noise before it ends as a frame of its own.
//!
//! Decoding takes one byte at a time and never blocks:
//! - [`Decoder`] turns each byte into at most one [`Decoded`] item (a data
//!   byte or a frame end), for a caller that keeps the frame elsewhere;
//! - [`FrameDecoder`] collects a frame into a caller buffer, bounded by it,
//!   and says at its `END` whether the frame is whole ([`FrameError`]).
//!
//! # A bad escape
//!
//! An `ESC` followed by anything but `ESC_END` or `ESC_ESC` is a protocol
//! violation (line noise, a sender reset mid-frame). The rule, for every
//! user of this module:
//! - the byte after the `ESC` is kept as data, as RFC 1055's `recv_packet`
//!   does ("leave the byte alone and just stuff it into the packet"), and
//!   the bad escape is counted ([`Decoder::bad_escapes`]);
//! - except an `END`: an `END` always ends the frame, even right after an
//!   `ESC` (a bad escape too). Here the RFC's code would store the `END` as
//!   data; ending the frame instead means a damaged or cut-off escape costs
//!   one frame, not that frame and the next;
//! - a [`FrameDecoder`] does not hand over a frame that held a bad escape
//!   ([`FrameError::BadEscape`]): its users carry IP packets, whose
//!   checksums do not cover every byte, and drop it. A user whose layer
//!   above checks every byte (the bridge's frames carry a CRC-16) reads
//!   through [`Decoder`] and lets that check decide.
//!
//! Empty frames (two `END`s in a row) are not frames (RFC 1055: "if there
//! is no data in the packet, ignore it"); [`Decoder`] still reports each
//! `END`. Where the RFC truncates a frame longer than the buffer, a
//! [`FrameDecoder`] reports it ([`FrameError::TooLong`]).

mod decoder;
mod encoder;
mod frame;

pub use decoder::{Decoded, Decoder};
pub use encoder::{escape, Encoder, Escaped};
pub use frame::{FrameDecoder, FrameError};

/// Ends a frame (RFC 1055: octal 300).
pub const END: u8 = 0xC0;
/// Starts an escape (RFC 1055: octal 333).
pub const ESC: u8 = 0xDB;
/// `ESC ESC_END` stands for a data byte `END` (RFC 1055: octal 334).
pub const ESC_END: u8 = 0xDC;
/// `ESC ESC_ESC` stands for a data byte `ESC` (RFC 1055: octal 335).
pub const ESC_ESC: u8 = 0xDD;

#[cfg(test)]
mod tests;
