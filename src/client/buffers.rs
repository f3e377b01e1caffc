//! The client's two byte buffers, both borrowed from the caller.
//!
//! Neither ever moves bytes around: the receive buffer holds one packet at a
//! time (the client reads exactly what that packet needs), and the transmit
//! buffer is appended to and only rewound once the transport took it all.

use crate::wire::QoS;

/// How the bytes of the packet being received are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Into the buffer, until the packet is whole.
    Whole,
    /// Discarded: `left` more bytes of a packet larger than the buffer.
    /// Then, for a PUBLISH whose topic alone was too long to read its
    /// packet id, `id`: its QoS, and the bytes after the id to discard once
    /// the id (the next two bytes) is read and acknowledged.
    Skip {
        left: usize,
        id: Option<(QoS, usize)>,
    },
    /// A PUBLISH larger than the buffer handed over in pieces: its fixed
    /// and variable header (`prefix` bytes) stay at the start of the
    /// buffer, each piece is read after them.
    Chunks {
        prefix: usize,
        /// Payload bytes handed over before the piece in the buffer.
        delivered: usize,
        /// Payload bytes of the whole message.
        total: usize,
    },
}

/// Received bytes of the packet being read: `buf[..end]`.
pub(crate) struct RxBuf<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) end: usize,
    pub(crate) mode: Mode,
    /// Bytes handed to the application until the next poll: a whole
    /// PUBLISH, or (in `Mode::Chunks`) a piece after the header.
    pub(crate) held: usize,
}

impl<'a> RxBuf<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        RxBuf {
            buf,
            end: 0,
            mode: Mode::Whole,
            held: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.end = 0;
        self.mode = Mode::Whole;
        self.held = 0;
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
