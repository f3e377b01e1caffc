//! A bounds-checked cursor over a caller's send buffer, in MQTT's terms:
//! the crate's neutral [`crate::bytes::Writer`] with MQTT's two-byte
//! integers (§1.5.2), length-prefixed data and strings (§1.5.3). Running
//! off the end is [`EncodeError::BufferTooSmall`], never a panic.

use super::EncodeError;
use crate::bytes::{self, WriteError};

fn encode_error(e: WriteError) -> EncodeError {
    match e {
        WriteError::Full => EncodeError::BufferTooSmall,
        WriteError::TooLong => EncodeError::TooLong,
    }
}

pub(crate) struct Writer<'a> {
    bytes: bytes::Writer<'a>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            bytes: bytes::Writer::new(buf),
        }
    }

    /// A writer that only counts bytes and never runs out of room (used to
    /// size and validate a packet before writing it).
    pub(crate) fn counter() -> Self {
        Writer {
            bytes: bytes::Writer::counter(),
        }
    }

    /// Bytes written (or counted) so far.
    pub(crate) fn position(&self) -> usize {
        self.bytes.position()
    }

    #[inline(always)]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.bytes.bytes(bytes).map_err(encode_error)
    }

    #[inline(always)]
    pub(crate) fn u8(&mut self, b: u8) -> Result<(), EncodeError> {
        self.bytes.u8(b).map_err(encode_error)
    }

    /// Two-byte big-endian integer (§1.5.2).
    #[inline(always)]
    pub(crate) fn u16(&mut self, n: u16) -> Result<(), EncodeError> {
        self.bytes.u16(n).map_err(encode_error)
    }

    /// Four-byte big-endian integer (MQTT 5.0 §1.5.3).
    #[cfg(feature = "mqtt5")]
    pub(crate) fn u32(&mut self, n: u32) -> Result<(), EncodeError> {
        self.bytes.u32(n).map_err(encode_error)
    }

    /// A Variable Byte Integer (MQTT 5.0 §1.5.5), written as the remaining
    /// length is (§2.2.3); over 268,435,455 is [`EncodeError::TooLong`].
    #[cfg(feature = "mqtt5")]
    pub(crate) fn var_int(&mut self, n: usize) -> Result<(), EncodeError> {
        if n > super::MAX_REMAINING_LENGTH {
            return Err(EncodeError::TooLong);
        }
        super::frame::write_remaining_len(self, n)
    }

    /// Length-prefixed binary data or string (§1.5.3); over 65,535 bytes is
    /// [`EncodeError::TooLong`].
    pub(crate) fn binary(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.bytes.prefixed(bytes).map_err(encode_error)
    }

    pub(crate) fn str(&mut self, s: &str) -> Result<(), EncodeError> {
        self.binary(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn writes_and_reports_position() {
        let mut buf = [0u8; 9];
        let mut w = Writer::new(&mut buf);
        w.u8(1).unwrap();
        w.u16(0x0203).unwrap();
        w.str("ab").unwrap();
        w.binary(&[]).unwrap();
        assert_eq!(w.position(), 9);
        assert_eq!(w.u8(0), Err(EncodeError::BufferTooSmall));
        assert_eq!(w.position(), 9);
        assert_eq!(buf, [1, 2, 3, 0, 2, b'a', b'b', 0, 0]);
    }

    #[test]
    fn too_small() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.bytes(&[1, 2, 3, 4]), Err(EncodeError::BufferTooSmall));
        assert_eq!(w.position(), 0);
        w.u16(7).unwrap();
        assert_eq!(w.u16(7), Err(EncodeError::BufferTooSmall));
        assert_eq!(w.str("x"), Err(EncodeError::BufferTooSmall));
    }

    #[test]
    fn counter_counts_without_a_buffer() {
        let big = [0u8; 70_000];
        let mut w = Writer::counter();
        w.bytes(&big).unwrap();
        w.str("abc").unwrap();
        w.u16(1).unwrap();
        w.u8(1).unwrap();
        assert_eq!(w.position(), 70_000 + 5 + 3);
        assert_eq!(w.binary(&big), Err(EncodeError::TooLong));
    }

    #[test]
    fn too_long() {
        let big = [0u8; 65_536];
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.binary(&big), Err(EncodeError::TooLong));
        assert_eq!(w.binary(&big[..65_535]), Err(EncodeError::BufferTooSmall));
    }
}
