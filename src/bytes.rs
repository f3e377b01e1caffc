//! Bounds-checked cursors over byte slices: the neutral ground below `wire`
//! (MQTT packets), `session` (a saved session) and `bridge` (its messages),
//! owned by none of them.
//!
//! Big-endian integers, runs of bytes and runs with a two-byte length
//! prefix; nothing about any protocol. Running off the end is an error
//! value ([`Short`], [`WriteError`]), never a panic; each layer turns it
//! into its own error (`wire::DecodeError::Truncated`,
//! `bridge::proto::ProtoError::Truncated`, `RestoreError::Corrupt`).

/// The bytes ended inside the field being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Short;

/// Why a [`Writer`] wrote nothing more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// The buffer has no room for the field.
    Full,
    /// A length-prefixed run over 65,535 bytes.
    TooLong,
}

/// Reads fields off the front of a slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or(Short)?;
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    #[inline(always)]
    pub(crate) fn u8(&mut self) -> Result<u8, Short> {
        let (&b, tail) = self.buf.split_first().ok_or(Short)?;
        self.buf = tail;
        Ok(b)
    }

    // Two bytes one by one: smaller than a two-byte array on Cortex-M at
    // opt-level "z" (the client harness, scripts/size-report).
    pub(crate) fn u16(&mut self) -> Result<u16, Short> {
        let hi = self.u8()?;
        let lo = self.u8()?;
        Ok(u16::from_be_bytes([hi, lo]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Short> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Short> {
        self.array().map(u64::from_be_bytes)
    }

    /// A run of bytes after its two-byte big-endian length.
    pub(crate) fn prefixed(&mut self) -> Result<&'a [u8], Short> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }
}

/// Appends fields to a caller's buffer, or only counts them.
pub(crate) struct Writer<'a> {
    /// `None`: only count (to size a message before writing it).
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

    /// What was written so far (`None` for a counter).
    pub(crate) fn written(&self) -> Option<&[u8]> {
        self.buf.as_deref().and_then(|b| b.get(..self.pos))
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        if let Some(buf) = &mut self.buf {
            let dst = buf
                .get_mut(self.pos..)
                .and_then(|rest| rest.get_mut(..bytes.len()))
                .ok_or(WriteError::Full)?;
            dst.copy_from_slice(bytes);
        }
        // Saturating: a counter may add up lengths past usize::MAX; a real
        // buffer stops far earlier.
        self.pos = self.pos.saturating_add(bytes.len());
        Ok(())
    }

    pub(crate) fn u8(&mut self, b: u8) -> Result<(), WriteError> {
        self.bytes(&[b])
    }

    pub(crate) fn u16(&mut self, n: u16) -> Result<(), WriteError> {
        self.bytes(&n.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, n: u32) -> Result<(), WriteError> {
        self.bytes(&n.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, n: u64) -> Result<(), WriteError> {
        self.bytes(&n.to_be_bytes())
    }

    /// `bytes` after its two-byte big-endian length; over 65,535 bytes is
    /// [`WriteError::TooLong`].
    pub(crate) fn prefixed(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let n = u16::try_from(bytes.len()).map_err(|_| WriteError::TooLong)?;
        self.u16(n)?;
        self.bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn fields_read_back_as_written() {
        let mut buf = [0u8; 24];
        let mut w = Writer::new(&mut buf);
        w.u8(7).unwrap();
        w.u16(0x1234).unwrap();
        w.u32(0x5678_9ABC).unwrap();
        w.u64(0x0102_0304_0506_0708).unwrap();
        w.prefixed(b"hi").unwrap();
        w.bytes(&[9]).unwrap();
        assert_eq!(w.position(), 20);
        assert_eq!(w.written().map(<[u8]>::len), Some(20));
        let mut r = Reader::new(&buf[..20]);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u16(), Ok(0x1234));
        assert_eq!(r.u32(), Ok(0x5678_9ABC));
        assert_eq!(r.u64(), Ok(0x0102_0304_0506_0708));
        assert_eq!(r.prefixed(), Ok(&b"hi"[..]));
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.rest(), &[9]);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn reading_past_the_end_is_short_and_never_panics() {
        assert_eq!(Reader::new(&[]).u8(), Err(Short));
        assert_eq!(Reader::new(&[1]).u16(), Err(Short));
        assert_eq!(Reader::new(&[1, 2, 3]).u32(), Err(Short));
        assert_eq!(Reader::new(&[0; 7]).u64(), Err(Short));
        assert_eq!(Reader::new(&[0, 3, 1, 2]).prefixed(), Err(Short));
        assert_eq!(Reader::new(&[0xFF, 0xFF]).prefixed(), Err(Short));
        assert_eq!(Reader::new(&[1, 2]).take(usize::MAX), Err(Short));
    }

    #[test]
    fn writing_past_the_end_is_full_and_writes_nothing_of_the_field() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.u32(1), Err(WriteError::Full));
        assert_eq!(w.position(), 0);
        w.u16(7).unwrap();
        assert_eq!(w.u16(7), Err(WriteError::Full));
        assert_eq!(w.prefixed(b""), Err(WriteError::Full));
        assert_eq!(w.position(), 2);
    }

    #[test]
    fn a_counter_sizes_without_a_buffer_and_a_run_over_64k_is_too_long() {
        let big = [0u8; 70_000];
        let mut w = Writer::counter();
        w.bytes(&big).unwrap();
        w.prefixed(b"abc").unwrap();
        assert_eq!(w.position(), 70_005);
        assert_eq!(w.written(), None);
        assert_eq!(w.prefixed(&big), Err(WriteError::TooLong));
        assert_eq!(w.prefixed(&big[..65_535]), Ok(()));
    }
}
