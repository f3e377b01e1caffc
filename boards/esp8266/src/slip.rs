//! SLIP framing (RFC 1055), one byte at a time.
//!
//! A frame is its bytes between two `END` bytes, with `END` and `ESC` inside
//! it escaped as `ESC ESC_END` and `ESC ESC_ESC`. Sending an `END` first as
//! well as last (as RFC 1055 suggests) ends whatever line noise came before,
//! e.g. the ESP8266 ROM's boot message, which the receiver then drops as a
//! frame it does not understand. Neither side buffers a frame: the encoder
//! says how many bytes a payload takes, the decoder turns each received byte
//! into at most one [`Decoded`] item.

/// Frame delimiter.
pub const END: u8 = 0xC0;
/// Escape byte.
pub const ESC: u8 = 0xDB;
/// `ESC ESC_END` stands for a data byte `END`.
pub const ESC_END: u8 = 0xDC;
/// `ESC ESC_ESC` stands for a data byte `ESC`.
pub const ESC_ESC: u8 = 0xDD;

/// Bytes `b` takes inside a frame (1, or 2 when escaped).
pub fn encoded_len(b: u8) -> usize {
    if b == END || b == ESC {
        2
    } else {
        1
    }
}

/// Calls `out` with the bytes that stand for `b` inside a frame.
pub fn encode_byte(b: u8, mut out: impl FnMut(u8)) {
    match b {
        END => {
            out(ESC);
            out(ESC_END);
        }
        ESC => {
            out(ESC);
            out(ESC_ESC);
        }
        _ => out(b),
    }
}

/// What one received byte meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A data byte of the current frame.
    Byte(u8),
    /// The current frame ended (only reported for non-empty frames).
    End,
    /// An `ESC` followed by something else than `ESC_END`/`ESC_ESC`: the
    /// frame is damaged; the caller should drop it. Decoding resumes at the
    /// next `END`.
    Error,
}

/// Receiving side: feed it bytes, get [`Decoded`] items.
#[derive(Clone, Copy, Debug, Default)]
pub struct Decoder {
    escaped: bool,
    /// Bytes of the current frame so far (only whether it is non-zero matters).
    len: usize,
    /// The frame is damaged: ignore it up to its `END`.
    damaged: bool,
}

impl Decoder {
    pub const fn new() -> Self {
        Decoder {
            escaped: false,
            len: 0,
            damaged: false,
        }
    }

    /// True when no frame is under way (the last byte was an `END`).
    pub fn at_boundary(&self) -> bool {
        self.len == 0 && !self.escaped && !self.damaged
    }

    /// Takes one byte off the line.
    pub fn feed(&mut self, b: u8) -> Option<Decoded> {
        if b == END {
            let was = core::mem::take(&mut self.len);
            self.escaped = false;
            if core::mem::take(&mut self.damaged) {
                return None;
            }
            return (was > 0).then_some(Decoded::End);
        }
        if self.damaged {
            return None;
        }
        let byte = if core::mem::take(&mut self.escaped) {
            match b {
                ESC_END => END,
                ESC_ESC => ESC,
                _ => {
                    self.damaged = true;
                    return Some(Decoded::Error);
                }
            }
        } else if b == ESC {
            self.escaped = true;
            return None;
        } else {
            b
        };
        self.len = self.len.saturating_add(1);
        Some(Decoded::Byte(byte))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::vec::Vec;

    fn encode(frame: &[u8]) -> Vec<u8> {
        let mut out = std::vec![END];
        for &b in frame {
            encode_byte(b, |x| out.push(x));
        }
        out.push(END);
        out
    }

    #[test]
    fn special_bytes_are_escaped_and_come_back() {
        let frame = [b'D', END, 1, ESC, ESC_END, ESC_ESC];
        let wire = encode(&frame);
        assert_eq!(
            wire,
            [END, b'D', ESC, ESC_END, 1, ESC, ESC_ESC, ESC_END, ESC_ESC, END]
        );
        let expected_len: usize = frame.iter().map(|&b| encoded_len(b)).sum();
        assert_eq!(wire.len(), expected_len + 2);

        let mut d = Decoder::new();
        let mut got = Vec::new();
        let mut ends = 0;
        for &b in &wire {
            match d.feed(b) {
                Some(Decoded::Byte(x)) => got.push(x),
                Some(Decoded::End) => ends += 1,
                Some(Decoded::Error) => panic!("no error expected"),
                None => {}
            }
        }
        assert_eq!(got, frame);
        assert_eq!(ends, 1);
        assert!(d.at_boundary());
    }

    #[test]
    fn empty_frames_are_not_reported() {
        let mut d = Decoder::new();
        assert_eq!(d.feed(END), None);
        assert_eq!(d.feed(END), None);
        assert!(d.at_boundary());
    }

    #[test]
    fn a_bad_escape_drops_the_rest_of_the_frame() {
        let mut d = Decoder::new();
        assert_eq!(d.feed(b'D'), Some(Decoded::Byte(b'D')));
        assert_eq!(d.feed(ESC), None);
        assert_eq!(d.feed(0x41), Some(Decoded::Error));
        assert_eq!(d.feed(0x42), None);
        assert_eq!(d.feed(END), None);
        // The next frame decodes normally.
        assert_eq!(d.feed(b'U'), Some(Decoded::Byte(b'U')));
        assert_eq!(d.feed(END), Some(Decoded::End));
    }

    #[test]
    fn line_noise_before_the_first_end_is_a_frame_of_its_own() {
        // The ROM's boot text, seen at the wrong baud rate.
        let mut d = Decoder::new();
        for &b in b"\x8a ets Jan  8 2013" {
            assert!(matches!(d.feed(b), Some(Decoded::Byte(_))));
        }
        assert_eq!(d.feed(END), Some(Decoded::End));
        assert!(d.at_boundary());
    }
}
