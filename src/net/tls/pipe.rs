//! A byte queue in a caller's buffer: the four pipes between the TLS
//! driver and the world (plaintext to and from the client, ciphertext to
//! and from the network).

/// A byte queue in a caller's buffer.
pub(super) struct Pipe<'b> {
    buf: &'b mut [u8],
    start: usize,
    end: usize,
}

impl<'b> Pipe<'b> {
    pub(super) fn new(buf: &'b mut [u8]) -> Self {
        Pipe {
            buf,
            start: 0,
            end: 0,
        }
    }

    pub(super) fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    pub(super) fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    pub(super) fn has_room(&self) -> bool {
        self.start > 0 || self.end < self.buf.len()
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.clear();
        }
    }

    pub(super) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// The free space at the end (the data moved to the front first), to
    /// be filled and then [`Pipe::commit`]ted.
    pub(super) fn space(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.buf.get_mut(self.end..).unwrap_or(&mut [])
    }

    /// `n` bytes of [`Pipe::space`] were filled (capped at its size).
    pub(super) fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Appends what fits of `data`; how much.
    pub(super) fn push(&mut self, data: &[u8]) -> usize {
        let room = self.space();
        let n = room.len().min(data.len());
        room[..n].copy_from_slice(&data[..n]);
        self.commit(n);
        n
    }

    /// Moves what fits into `out`; how much.
    pub(super) fn pop_into(&mut self, out: &mut [u8]) -> usize {
        let data = self.data();
        let n = data.len().min(out.len());
        out[..n].copy_from_slice(&data[..n]);
        self.consume(n);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::Pipe;

    #[test]
    fn a_pipe_keeps_order_through_partial_reads_and_refills() {
        let mut buf = [0u8; 8];
        let mut pipe = Pipe::new(&mut buf);
        assert_eq!(pipe.push(b"abcdef"), 6);
        let mut out = [0u8; 4];
        assert_eq!(pipe.pop_into(&mut out), 4);
        assert_eq!(&out, b"abcd");
        // Room at the front is reclaimed: 2 kept, 6 free.
        assert_eq!(pipe.push(b"ghijklmn"), 6);
        assert_eq!(pipe.data(), b"efghijkl");
        assert!(!pipe.has_room());
        let space = pipe.space();
        assert!(space.is_empty());
        pipe.commit(5); // a driver that claims more than it was given
        assert_eq!(pipe.data(), b"efghijkl");
    }
}
