//! The client's two byte buffers, both borrowed from the caller.

/// Received bytes: `buf[start..end]` is not yet processed. A packet longer
/// than `buf` is skipped by counting down `skip` as its bytes arrive.
pub(crate) struct RxBuf<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) skip: usize,
}

impl<'a> RxBuf<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        RxBuf {
            buf,
            start: 0,
            end: 0,
            skip: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        self.skip = 0;
    }

    /// Drops buffered bytes but keeps counting down a skip in progress.
    pub(crate) fn clear_keep_skip(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    pub(crate) fn pending(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// Moves unprocessed bytes to the front so the free tail is largest.
    pub(crate) fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
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

    /// The free tail, after moving unsent bytes to the front.
    pub(crate) fn free(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.buf.get_mut(self.end..).unwrap_or(&mut [])
    }

    pub(crate) fn unsent(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }
}
