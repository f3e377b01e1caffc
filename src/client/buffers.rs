//! The client's two byte buffers, both borrowed from the caller.
//!
//! Neither ever moves bytes around: the receive buffer holds one packet at a
//! time (the client reads exactly what that packet needs), and the transmit
//! buffer is appended to and only rewound once the transport took it all.

/// A PUBLISH larger than the buffer, handed over in pieces: its fixed and
/// variable header stay at the start of the buffer, each piece is read
/// after them. `prefix == 0`: no such message.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Chunks {
    /// Bytes of fixed + variable header (where the payload starts).
    pub(crate) prefix: usize,
    /// Payload bytes handed over before the piece in the buffer.
    pub(crate) delivered: usize,
    /// Payload bytes of the whole message.
    pub(crate) total: usize,
}

/// Received bytes of the packet being read: `buf[..end]`. A packet longer
/// than `buf` is skipped by counting down `skip` as its bytes arrive, or
/// handed over in `chunks`.
pub(crate) struct RxBuf<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) end: usize,
    pub(crate) skip: usize,
    /// Bytes handed to the application until the next poll: a whole
    /// PUBLISH, or (while `chunks.prefix > 0`) a piece after the header.
    pub(crate) held: usize,
    pub(crate) chunks: Chunks,
}

impl<'a> RxBuf<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        RxBuf {
            buf,
            end: 0,
            skip: 0,
            held: 0,
            chunks: Chunks::default(),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.end = 0;
        self.skip = 0;
        self.held = 0;
        self.chunks = Chunks::default();
    }

    pub(crate) fn pending(&self) -> &[u8] {
        self.buf.get(..self.end).unwrap_or(&[])
    }
}

/// Bytes encoded but not yet accepted by the transport: `buf[start..end]`.
pub(crate) struct TxBuf<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl<'a> TxBuf<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        TxBuf {
            buf,
            start: 0,
            end: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The free tail. Space before `start` is reused once all is sent.
    pub(crate) fn free(&mut self) -> &mut [u8] {
        if self.is_empty() {
            self.clear();
        }
        self.buf.get_mut(self.end..).unwrap_or(&mut [])
    }

    pub(crate) fn unsent(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }
}
