//! The fields of a bridge message, over the crate's neutral byte cursors
//! ([`crate::bytes`]): big-endian integers, length-prefixed bytes and text,
//! with the bridge's own errors ([`ProtoError`], [`EncodeError`]) rather
//! than MQTT's. The encodings are MQTT's (§1.5.2, §1.5.3) because the
//! text a message carries ends up in MQTT packets: text is UTF-8 without
//! U+0000 [MQTT-1.5.3-1, MQTT-1.5.3-2].

use super::{EncodeError, ProtoError};
use crate::bytes::{self, Short, WriteError};

fn truncated(_: Short) -> ProtoError {
    ProtoError::Truncated
}

fn encode_error(e: WriteError) -> EncodeError {
    match e {
        WriteError::Full => EncodeError::BufferTooSmall,
        WriteError::TooLong => EncodeError::TooLong,
    }
}

/// Reads a message's fields in order.
pub(super) struct Reader<'a>(bytes::Reader<'a>);

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader(bytes::Reader::new(buf))
    }

    pub(super) fn u8(&mut self) -> Result<u8, ProtoError> {
        self.0.u8().map_err(truncated)
    }

    pub(super) fn u16(&mut self) -> Result<u16, ProtoError> {
        self.0.u16().map_err(truncated)
    }

    pub(super) fn u32(&mut self) -> Result<u32, ProtoError> {
        self.0.u32().map_err(truncated)
    }

    pub(super) fn u64(&mut self) -> Result<u64, ProtoError> {
        self.0.u64().map_err(truncated)
    }

    /// Bytes after a two-byte length.
    pub(super) fn binary(&mut self) -> Result<&'a [u8], ProtoError> {
        self.0.prefixed().map_err(truncated)
    }

    /// Text after a two-byte length: UTF-8 without U+0000.
    // The plain loop: smaller than `contains` (memchr) at opt-level "z".
    #[allow(clippy::manual_contains)]
    pub(super) fn str(&mut self) -> Result<&'a str, ProtoError> {
        let bytes = self.binary()?;
        if bytes.iter().any(|&b| b == 0) {
            return Err(ProtoError::BadText);
        }
        core::str::from_utf8(bytes).map_err(|_| ProtoError::BadText)
    }

    /// `0` or `1`.
    pub(super) fn bool(&mut self) -> Result<bool, ProtoError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(ProtoError::BadValue),
        }
    }

    /// Everything not read yet (a payload, the last field of its message).
    pub(super) fn rest(&mut self) -> &'a [u8] {
        self.0.rest()
    }

    /// `Ok` if the message has been read to its end.
    pub(super) fn end(&self) -> Result<(), ProtoError> {
        if self.0.remaining() == 0 {
            Ok(())
        } else {
            Err(ProtoError::TrailingBytes)
        }
    }
}

/// Writes a message's fields in order, or only counts them.
pub(super) struct Writer<'a>(bytes::Writer<'a>);

impl<'a> Writer<'a> {
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        Writer(bytes::Writer::new(buf))
    }

    pub(super) fn counter() -> Self {
        Writer(bytes::Writer::counter())
    }

    pub(super) fn position(&self) -> usize {
        self.0.position()
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0.bytes(bytes).map_err(encode_error)
    }

    pub(super) fn u8(&mut self, b: u8) -> Result<(), EncodeError> {
        self.0.u8(b).map_err(encode_error)
    }

    pub(super) fn u16(&mut self, n: u16) -> Result<(), EncodeError> {
        self.0.u16(n).map_err(encode_error)
    }

    pub(super) fn u32(&mut self, n: u32) -> Result<(), EncodeError> {
        self.0.u32(n).map_err(encode_error)
    }

    pub(super) fn u64(&mut self, n: u64) -> Result<(), EncodeError> {
        self.0.u64(n).map_err(encode_error)
    }

    pub(super) fn binary(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0.prefixed(bytes).map_err(encode_error)
    }

    pub(super) fn str(&mut self, s: &str) -> Result<(), EncodeError> {
        self.binary(s.as_bytes())
    }
}
