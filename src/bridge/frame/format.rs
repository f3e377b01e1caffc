//! The bytes of a frame, between two delimiters of the pipe:
//!
//! ```text
//! ctl | seq | ack | len | payload (len bytes) | CRC-16 (big-endian)
//! ```
//!
//! `ctl` is the kind (the other bits are reserved, 0); `seq` numbers data
//! frames mod 256; `ack` is the next sequence number the sender expects
//! (cumulative acknowledgement, carried by every frame); `len` is checked
//! against what arrived; the CRC ([`crate::crc`], CCITT-FALSE) covers `ctl`
//! through the payload.

/// Header bytes before the payload.
pub(super) const HEADER: usize = 4;
/// CRC bytes after it.
pub(super) const TRAILER: usize = 2;

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A payload for the layer above, numbered.
    Data = 0,
    /// Only the acknowledgement.
    Ack = 1,
    /// The acknowledgement, and "send again from there": a frame was bad or
    /// missing.
    Nak = 2,
    /// The handshake ([`Hello`]).
    Hello = 3,
}

impl Kind {
    pub(super) fn from_ctl(ctl: u8) -> Option<Kind> {
        Some(match ctl {
            0 => Kind::Data,
            1 => Kind::Ack,
            2 => Kind::Nak,
            3 => Kind::Hello,
            _ => return None,
        })
    }
}

/// The version of this frame format, in [`Hello`].
pub(super) const VERSION: u8 = 1;

/// The handshake's payload: who this end is (a nonce new at each start),
/// which start of the other end it has seen (the echo), and the largest
/// payload it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hello {
    pub version: u8,
    pub max_payload: u8,
    pub nonce: u32,
    pub echo: Option<u32>,
}

impl Hello {
    pub(super) const LEN: usize = 11;

    pub(super) fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.version;
        b[1] = self.max_payload;
        b[2..6].copy_from_slice(&self.nonce.to_be_bytes());
        b[6] = u8::from(self.echo.is_some());
        b[7..11].copy_from_slice(&self.echo.unwrap_or(0).to_be_bytes());
        b
    }

    pub(super) fn decode(b: &[u8]) -> Option<Hello> {
        let b: &[u8; Self::LEN] = b.try_into().ok()?;
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let echo = match b[6] {
            0 => None,
            1 => Some(word(7)),
            _ => return None,
        };
        Some(Hello {
            version: b[0],
            max_payload: b[1],
            nonce: word(2),
            echo,
        })
    }
}
