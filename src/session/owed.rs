//! Packets owed to the broker — PUBACK (§3.4), PUBREC (§3.5), PUBREL (§3.6),
//! PUBCOMP (§3.7) — in the order they became due.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owed {
    Ack(u16),
    Received(u16),
    Release(u16),
    Complete(u16),
}

/// Acknowledgements owed at once at most. Receiving stops while it is full
/// (see `Session::can_receive`), so it never overflows.
const SLOTS: usize = 4;

pub(crate) struct OwedQueue {
    owed: heapless::Vec<Owed, SLOTS>,
}

impl OwedQueue {
    pub(crate) const fn new() -> Self {
        OwedQueue {
            owed: heapless::Vec::new(),
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.owed.is_full()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.owed.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.owed.clear();
    }

    /// `Err` when full.
    pub(crate) fn push(&mut self, owed: Owed) -> Result<(), Owed> {
        self.owed.push(owed)
    }

    pub(crate) fn front(&self) -> Option<Owed> {
        self.owed.first().copied()
    }

    /// Removes the oldest (four entries at most: moving them costs nothing).
    pub(crate) fn pop(&mut self) {
        super::table::remove(&mut self.owed, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn first_in_first_out_and_refuses_a_fifth() {
        let mut q = OwedQueue::new();
        for round in 0..3u16 {
            for i in 0..4 {
                q.push(Owed::Ack(round * 10 + i)).unwrap();
            }
            assert!(q.is_full());
            assert_eq!(q.push(Owed::Complete(99)), Err(Owed::Complete(99)));
            for i in 0..4 {
                assert_eq!(q.front(), Some(Owed::Ack(round * 10 + i)));
                q.pop();
            }
            assert!(q.is_empty() && q.front().is_none());
            // Start the next round off the first slot.
            q.push(Owed::Release(1)).unwrap();
            q.pop();
        }
    }
}
