//! Frames to line bytes: a byte's escape, and a whole frame one line byte
//! at a time for a port that takes what its FIFO has room for.

use super::{END, ESC, ESC_END, ESC_ESC};

/// The one or two line bytes that stand for a data byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Escaped {
    bytes: [u8; 2],
    len: u8,
}

impl Escaped {
    /// The line bytes, in order.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The line bytes for data byte `b`: `END` and `ESC` escaped, any other as it is.
pub fn escape(b: u8) -> Escaped {
    match b {
        END => Escaped {
            bytes: [ESC, ESC_END],
            len: 2,
        },
        ESC => Escaped {
            bytes: [ESC, ESC_ESC],
            len: 2,
        },
        _ => Escaped {
            bytes: [b, 0],
            len: 1,
        },
    }
}

/// Sends one frame, one line byte per call: `END`, the escaped bytes, `END`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Encoder {
    /// Line bytes of the frame already given out.
    at: usize,
    /// The second byte of an escape, still to give.
    pending: Option<u8>,
}

impl Encoder {
    /// An encoder at the start of a frame.
    pub const fn new() -> Self {
        Encoder {
            at: 0,
            pending: None,
        }
    }

    /// The next line byte of `frame` (the same frame on every call), or
    /// `None` once its closing `END` was given; then it starts over.
    pub fn next(&mut self, frame: &[u8]) -> Option<u8> {
        if let Some(b) = self.pending.take() {
            return Some(b);
        }
        // Step 0 is the opening END, step i + 1 data byte i, then the closing END.
        let step = self.at;
        self.at += 1;
        if step == 0 || step == frame.len() + 1 {
            return Some(END);
        }
        match frame.get(step - 1) {
            Some(&b) => {
                let e = escape(b);
                self.pending = e.as_bytes().get(1).copied();
                Some(e.bytes[0])
            }
            None => {
                *self = Encoder::new();
                None
            }
        }
    }

    /// True once `frame`'s closing `END` was given (the next [`Encoder::next`]
    /// is `None`): a port can stop asking as soon as the frame is out.
    pub fn is_done(&self, frame: &[u8]) -> bool {
        self.pending.is_none() && self.at > frame.len() + 1
    }
}
