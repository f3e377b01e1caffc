//! A bounds-checked cursor over a caller's send buffer. Running off the end
//! is [`EncodeError::BufferTooSmall`], never a panic.

use super::EncodeError;

pub(crate) struct Writer<'a> {
    /// `None`: only count (used to size and validate a packet before writing).
    buf: Option<&'a mut [u8]>,
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf: Some(buf),
            pos: 0,
        }
    }

    /// A writer that only counts bytes and never runs out of room.
    pub(crate) fn counter() -> Self {
        Writer { buf: None, pos: 0 }
    }

    /// Bytes written (or counted) so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        if let Some(buf) = &mut self.buf {
            let dst = buf
                .get_mut(self.pos..)
                .and_then(|rest| rest.get_mut(..bytes.len()))
                .ok_or(EncodeError::BufferTooSmall)?;
            dst.copy_from_slice(bytes);
        }
        // Saturating: a counter may add up lengths past usize::MAX (the
        // caller then reports TooLong); a real buffer stops far earlier.
        self.pos = self.pos.saturating_add(bytes.len());
        Ok(())
    }

    pub(crate) fn u8(&mut self, b: u8) -> Result<(), EncodeError> {
        self.bytes(&[b])
    }

    /// Two-byte big-endian integer (§1.5.2).
    pub(crate) fn u16(&mut self, n: u16) -> Result<(), EncodeError> {
        self.bytes(&n.to_be_bytes())
    }

    /// Length-prefixed binary data or string (§1.5.3); over 65,535 bytes is
    /// [`EncodeError::TooLong`].
    pub(crate) fn binary(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let n = u16::try_from(bytes.len()).map_err(|_| EncodeError::TooLong)?;
        self.u16(n)?;
        self.bytes(bytes)
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
