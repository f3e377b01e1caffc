//! A bounds-checked cursor over received bytes, in MQTT's terms: the
//! crate's neutral [`crate::bytes::Reader`] with MQTT's two-byte integers
//! (§1.5.2), length-prefixed data and strings (§1.5.3). Running off the end
//! is [`DecodeError::Truncated`], never a panic.

use super::DecodeError;
use crate::bytes;

fn truncated(_: bytes::Short) -> DecodeError {
    DecodeError::Truncated
}

pub(crate) struct Reader<'a> {
    bytes: bytes::Reader<'a>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader {
            bytes: bytes::Reader::new(buf),
        }
    }

    #[inline(always)]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        self.bytes.u8().map_err(truncated)
    }

    /// Two-byte big-endian integer (§1.5.2).
    #[inline(always)]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.bytes.u16().map_err(truncated)
    }

    /// Four-byte big-endian integer (MQTT 5.0 §1.5.3).
    #[cfg(feature = "mqtt5")]
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.bytes.u32().map_err(truncated)
    }

    /// The next `n` bytes.
    #[cfg(feature = "mqtt5")]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        self.bytes.take(n).map_err(truncated)
    }

    /// A Variable Byte Integer (MQTT 5.0 §1.5.5): the remaining length's
    /// encoding (§2.2.3), so it is read by the one function that reads
    /// that, [`Frame::parse`](super::Frame::parse), over a copy of at most
    /// four bytes behind a DISCONNECT type byte (flags 0). Ending early is
    /// [`DecodeError::Truncated`]; a fifth byte or a longer form than needed
    /// ([MQTT-1.5.5-1]) is [`DecodeError::BadRemainingLength`].
    #[cfg(feature = "mqtt5")]
    pub(crate) fn var_int(&mut self) -> Result<u32, DecodeError> {
        let rest = self.bytes.rest();
        let mut header = [0xE0, 0, 0, 0, 0];
        let n = rest.len().min(4);
        for (slot, &b) in header.iter_mut().skip(1).zip(rest) {
            *slot = b;
        }
        let parsed = super::Frame::parse(header.get(..=n).unwrap_or(&[]));
        let frame = match parsed {
            Ok(Some(frame)) => frame,
            Ok(None) => return Err(DecodeError::Truncated),
            Err(e) => return Err(e),
        };
        let used = frame.header_len - 1;
        self.bytes = bytes::Reader::new(rest.get(used..).unwrap_or(&[]));
        // At most 268,435,455: four 7-bit groups.
        Ok(frame.remaining_len as u32)
    }

    /// Binary data with a two-byte length prefix (§1.5.3 framing, §3.1.3.4).
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        self.bytes.prefixed().map_err(truncated)
    }

    /// UTF-8 encoded string (§1.5.3).
    pub(crate) fn str(&mut self) -> Result<&'a str, DecodeError> {
        utf8(self.binary()?)
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        self.bytes.rest()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.remaining() == 0
    }

    /// `Ok` if everything has been read, else [`DecodeError::TrailingBytes`].
    pub(crate) fn end(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

/// §1.5.3: well-formed UTF-8 (which excludes surrogates, [MQTT-1.5.3-1]) and
/// no U+0000 [MQTT-1.5.3-2].
// The plain loop is ~130 bytes smaller than `contains` (memchr) on Cortex-M
// at opt-level "z"; MQTT strings are short.
#[allow(clippy::manual_contains)]
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    if bytes.iter().any(|&b| b == 0) {
        return Err(DecodeError::BadUtf8);
    }
    core::str::from_utf8(bytes).map_err(|_| DecodeError::BadUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn reads_fields_in_order() {
        let buf = [7, 0x12, 0x34, 0, 2, b'h', b'i', 0, 1, 0xFF, 1, 2];
        let mut r = Reader::new(&buf);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u16(), Ok(0x1234));
        assert_eq!(r.str(), Ok("hi"));
        assert_eq!(r.binary(), Ok(&[0xFF][..]));
        assert_eq!(r.end(), Err(DecodeError::TrailingBytes));
        assert!(!r.is_empty());
        assert_eq!(r.rest(), &[1, 2]);
        assert!(r.is_empty());
        assert_eq!(r.end(), Ok(()));
        assert_eq!(r.rest(), &[] as &[u8]);
    }

    #[test]
    fn truncation_is_an_error() {
        assert_eq!(Reader::new(&[]).u8(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[1]).u16(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[0]).binary(), Err(DecodeError::Truncated));
        assert_eq!(
            Reader::new(&[0, 3, b'a', b'b']).str(),
            Err(DecodeError::Truncated)
        );
        assert_eq!(Reader::new(&[0, 0]).str(), Ok(""));
        let mut r = Reader::new(&[0xFF, 0xFF]);
        assert_eq!(r.binary(), Err(DecodeError::Truncated));
    }

    #[test]
    fn utf8_rules() {
        assert_eq!(utf8("a/ü/€/𝄞".as_bytes()), Ok("a/ü/€/𝄞"));
        assert_eq!(utf8(b"a\0b"), Err(DecodeError::BadUtf8));
        assert_eq!(utf8(&[0xC3]), Err(DecodeError::BadUtf8)); // truncated sequence
        assert_eq!(utf8(&[0xC0, 0x80]), Err(DecodeError::BadUtf8)); // overlong NUL
        assert_eq!(utf8(&[0xED, 0xA0, 0x80]), Err(DecodeError::BadUtf8)); // U+D800
        assert_eq!(utf8(&[0xF4, 0x90, 0x80, 0x80]), Err(DecodeError::BadUtf8)); // > U+10FFFF
        assert_eq!(utf8(&[0xFF]), Err(DecodeError::BadUtf8));
    }
}
