//! Whole frames into a caller buffer, bounded by it: the receive side of a
//! SLIP device that hands over packets.

use super::{Decoded, Decoder};

/// Why a frame that ended was not handed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// It held a bad escape (see the module's rule).
    BadEscape,
    /// It was longer than the buffer; the bytes past it were not kept.
    TooLong,
}

/// Collects frames into a caller buffer, one line byte at a time.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameDecoder {
    decoder: Decoder,
    /// Bytes of the frame so far, counted past the buffer's end.
    len: usize,
    /// The frame held a bad escape.
    damaged: bool,
}

impl FrameDecoder {
    /// A decoder between frames.
    pub const fn new() -> Self {
        FrameDecoder {
            decoder: Decoder::new(),
            len: 0,
            damaged: false,
        }
    }

    /// Takes one byte off the line into `buf` (the same buffer on every
    /// call): at a non-empty frame's `END`, its length in `buf`, or why it
    /// was not whole; `None` while a frame goes on.
    pub fn feed(&mut self, b: u8, buf: &mut [u8]) -> Option<Result<usize, FrameError>> {
        let before = self.decoder.bad_escapes();
        let decoded = self.decoder.feed(b);
        // One byte adds at most one bad escape.
        self.damaged |= self.decoder.bad_escapes() != before;
        match decoded? {
            Decoded::Byte(x) => {
                if let Some(slot) = buf.get_mut(self.len) {
                    *slot = x;
                }
                self.len = self.len.saturating_add(1);
                None
            }
            Decoded::End => {
                let len = core::mem::take(&mut self.len);
                if core::mem::take(&mut self.damaged) {
                    Some(Err(FrameError::BadEscape))
                } else if len > buf.len() {
                    Some(Err(FrameError::TooLong))
                } else {
                    (len > 0).then_some(Ok(len))
                }
            }
        }
    }

    /// Bad escapes seen so far (wrapping).
    pub fn bad_escapes(&self) -> u32 {
        self.decoder.bad_escapes()
    }
}
