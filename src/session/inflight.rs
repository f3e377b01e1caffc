//! Outgoing QoS 1 messages not yet acknowledged, kept until PUBACK.
//!
//! Each entry owns a fixed slot of the caller's store (`store.len() / N`
//! bytes) holding the encoded PUBLISH, so a retransmission is a copy with the
//! DUP bit set (§3.3.1.1) and the same packet identifier (§4.3.2). Entries keep
//! the order in which they were published; retransmission follows it.

use crate::time::{earliest, elapsed, Duration, Instant};

#[derive(Clone, Copy, Debug)]
struct Entry {
    pid: u16,
    slot: u8,
    len: u16,
    /// Sends on the current connection (0: waiting to be sent).
    sends: u8,
    /// Sent at least once, on any connection: further sends carry DUP.
    dup: bool,
    sent_at: Instant,
}

/// What [`Inflight::due`] asks the session to do.
pub(crate) enum Due {
    /// Send the entry with this packet id (first send or retransmission).
    Send(u16),
    /// An entry went unacknowledged too many times: the link is dead.
    Dead,
}

pub(crate) struct Inflight<'a, const N: usize> {
    store: &'a mut [u8],
    entries: heapless::Vec<Entry, N>,
}

impl<'a, const N: usize> Inflight<'a, N> {
    pub(crate) fn new(store: &'a mut [u8]) -> Self {
        Inflight {
            store,
            entries: heapless::Vec::new(),
        }
    }

    /// Largest encoded PUBLISH one entry can hold.
    pub(crate) fn slot_size(&self) -> usize {
        self.store
            .len()
            .checked_div(N)
            .unwrap_or(0)
            .min(usize::from(u16::MAX))
    }

    pub(crate) fn is_full(&self) -> bool {
        self.entries.is_full()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn contains(&self, pid: u16) -> bool {
        self.entries.iter().any(|e| e.pid == pid)
    }

    fn free_slot(&self) -> Option<u8> {
        (0..N as u8).find(|s| self.entries.iter().all(|e| e.slot != *s))
    }

    /// Adds an entry whose PUBLISH bytes `write` produces in the slot.
    /// `write` returns the length written or `None` if it did not fit.
    pub(crate) fn insert(
        &mut self,
        pid: u16,
        now: Instant,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Option<()> {
        let slot = self.free_slot()?;
        let size = self.slot_size();
        let start = usize::from(slot) * size;
        let buf = self.store.get_mut(start..start + size)?;
        let len = write(buf)?;
        let entry = Entry {
            pid,
            slot,
            len: len as u16,
            sends: 0,
            dup: false,
            sent_at: now,
        };
        self.entries.push(entry).ok()
    }

    /// Removes the entry acknowledged by PUBACK. False if none has `pid`.
    pub(crate) fn acknowledge(&mut self, pid: u16) -> bool {
        match self.entries.iter().position(|e| e.pid == pid) {
            Some(i) => super::table::remove(&mut self.entries, i).is_some(),
            None => false,
        }
    }

    /// The connection ended: every entry is sent again on the next one.
    pub(crate) fn reset_sends(&mut self) {
        for e in self.entries.iter_mut() {
            e.sends = 0;
        }
    }

    /// The next entry to send, in publish order: one never sent on this
    /// connection, or one whose PUBACK is overdue.
    pub(crate) fn due(&self, now: Instant, response_ms: u32, max_repubs: u8) -> Option<Due> {
        for e in self.entries.iter() {
            if e.sends == 0 {
                return Some(Due::Send(e.pid));
            }
            if elapsed(e.sent_at, now) >= response_ms {
                if e.sends > max_repubs {
                    return Some(Due::Dead);
                }
                return Some(Due::Send(e.pid));
            }
        }
        None
    }

    /// When the earliest outstanding PUBACK becomes overdue.
    pub(crate) fn deadline(&self, response_ms: u32) -> Option<Instant> {
        let mut first = None;
        for e in self.entries.iter().filter(|e| e.sends > 0) {
            first = earliest(first, Some(e.sent_at + Duration::from_ticks(response_ms)));
        }
        first
    }

    /// Copies the entry's PUBLISH into `out` (DUP set if sent before) and
    /// records the send. Returns (bytes, was a republish), or `None` if `out`
    /// is too short or no entry has `pid`.
    pub(crate) fn send(&mut self, pid: u16, now: Instant, out: &mut [u8]) -> Option<(usize, bool)> {
        let size = self.slot_size();
        let e = self.entries.iter_mut().find(|e| e.pid == pid)?;
        let start = usize::from(e.slot) * size;
        let len = usize::from(e.len);
        let bytes = self.store.get(start..start + len)?;
        let dst = out.get_mut(..len)?;
        dst.copy_from_slice(bytes);
        let republish = e.dup;
        if republish {
            // §3.3.1.1: DUP is bit 3 of the fixed header.
            if let Some(first) = dst.first_mut() {
                *first |= 0x08;
            }
        }
        e.dup = true;
        e.sends = e.sends.saturating_add(1);
        e.sent_at = now;
        Some((len, republish))
    }
}
