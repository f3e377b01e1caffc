//! Byte by byte: each byte off the line is at most one data byte or frame
//! end, with the bad-escape rule of the module (`super`).

use super::{END, ESC, ESC_END, ESC_ESC};

/// What one byte off the line meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A data byte of the current frame.
    Byte(u8),
    /// The current frame ended (reported for every `END`, empty frames too).
    End,
}

/// Undoes SLIP's escapes one byte at a time; counts bad escapes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Decoder {
    /// The last byte was an `ESC`.
    escaped: bool,
    bad_escapes: u32,
}

impl Decoder {
    /// A decoder between frames.
    pub const fn new() -> Self {
        Decoder {
            escaped: false,
            bad_escapes: 0,
        }
    }

    /// Takes one byte off the line: `None` for an `ESC`, which waits for
    /// the next byte.
    pub fn feed(&mut self, b: u8) -> Option<Decoded> {
        if core::mem::take(&mut self.escaped) {
            let byte = match b {
                ESC_END => END,
                ESC_ESC => ESC,
                _ => {
                    // A bad escape: the byte is kept, but an END still ends.
                    self.bad_escapes = self.bad_escapes.wrapping_add(1);
                    if b == END {
                        return Some(Decoded::End);
                    }
                    b
                }
            };
            return Some(Decoded::Byte(byte));
        }
        match b {
            END => Some(Decoded::End),
            ESC => {
                self.escaped = true;
                None
            }
            _ => Some(Decoded::Byte(b)),
        }
    }

    /// Bad escapes seen so far (wrapping).
    pub fn bad_escapes(&self) -> u32 {
        self.bad_escapes
    }
}
