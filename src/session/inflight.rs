//! Outgoing QoS 1 and QoS 2 messages, kept until the broker completes them.
//!
//! Each message owns a fixed slot of the caller's store (`store.len() / N`
//! bytes) holding its encoded PUBLISH, so a retransmission is a copy with the
//! DUP bit set (§3.3.1.1) and the same packet identifier (§4.3.2, §4.4).
//! QoS 1 ends with PUBACK; QoS 2 moves on PUBREC to the release phase (from
//! then on PUBREL is what gets re-sent, §4.3.3) and ends with PUBCOMP.
//!
//! Every operation a message goes through is O(1):
//! - slots are linked in publish order (`head` … `tail`), free slots in a
//!   free list, so nothing is searched to insert or to find the next send;
//! - packet identifiers are derived from the slot: slot `s` uses ids
//!   `s + 1 + k·(N + 1)`, so an acknowledgement names its slot directly
//!   (the ids `N + 1 + k·(N + 1)` are left to subscriptions, see
//!   [`super::packet_id`]);
//! - messages go out in list order from `cursor` (the first one not sent on
//!   this connection). Sent messages therefore have non-decreasing send
//!   times from `head` on, so the head alone says when a reply is overdue.
//!   An overdue head sends the whole window again from the head ("go back
//!   N"), which keeps that order and re-sends in publish order (§4.6).
//!
//! An acknowledgement that is not for the head (brokers answer in order, so
//! this is rare) finds the slot's predecessor by walking the list.

use crate::time::{elapsed, later as latest, Duration, Instant};

/// End of a list.
const NIL: u16 = u16::MAX;

/// Slot flags.
const LIVE: u8 = 1;
/// Exactly once (QoS 2).
const QOS2: u8 = 2;
/// PUBREC received: PUBREL is what is sent now.
const RELEASED: u8 = 4;
/// Sent before, on any connection: the next send of the PUBLISH carries DUP.
const DUP: u8 = 8;
/// Connections the broker closed while this was the oldest request (upper nibble).
const REJECTION: u8 = 0x10;

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// The id in use, or the last one used; 0 if never used.
    pid: u16,
    /// Bytes of the encoded PUBLISH.
    len: u16,
    /// Next slot in publish order, or in the free list.
    next: u16,
    /// Sends on the current connection (0: not sent since it came up).
    sends: u8,
    flags: u8,
    sent_at: Instant,
}

impl Slot {
    const EMPTY: Slot = Slot {
        pid: 0,
        len: 0,
        next: NIL,
        sends: 0,
        flags: 0,
        sent_at: Instant::from_ticks(0),
    };

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn rejections(&self) -> u8 {
        self.flags >> 4
    }
}

/// What [`Inflight::next_send`] asks the session to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// Send the message in this slot (first send or retransmission).
    Send(u16),
    /// The oldest message went unanswered `max_repubs` times on a quiet link.
    Dead,
}

/// One message as [`Inflight::entries`] lists it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryView<'s> {
    pub(crate) pid: u16,
    pub(crate) qos2: bool,
    pub(crate) released: bool,
    pub(crate) dup: bool,
    pub(crate) bytes: &'s [u8],
}

pub(crate) struct Inflight<'a, const N: usize> {
    store: &'a mut [u8],
    slots: [Slot; N],
    head: u16,
    tail: u16,
    cursor: u16,
    free: u16,
    len: u16,
}

impl<'a, const N: usize> Inflight<'a, N> {
    pub(crate) fn new(store: &'a mut [u8]) -> Self {
        // Slot indices and `NIL` fit a u16; ids leave a class for subscriptions.
        const { assert!(N < u16::MAX as usize, "at most 65,534 messages in flight") };
        let mut slots = [Slot::EMPTY; N];
        for (i, s) in slots.iter_mut().enumerate() {
            s.next = if i + 1 < N { (i + 1) as u16 } else { NIL };
        }
        Inflight {
            store,
            slots,
            head: NIL,
            tail: NIL,
            cursor: NIL,
            free: if N > 0 { 0 } else { NIL },
            len: 0,
        }
    }

    /// Largest encoded PUBLISH one slot can hold.
    pub(crate) fn slot_size(&self) -> usize {
        self.store
            .len()
            .checked_div(N)
            .unwrap_or(0)
            .min(usize::from(u16::MAX))
    }

    pub(crate) fn is_full(&self) -> bool {
        self.free == NIL
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True if some message waits to be sent on this connection.
    pub(crate) fn has_unsent(&self) -> bool {
        self.cursor != NIL
    }

    fn slot(&self, i: u16) -> Option<&Slot> {
        self.slots.get(usize::from(i))
    }

    fn slot_mut(&mut self, i: u16) -> Option<&mut Slot> {
        self.slots.get_mut(usize::from(i))
    }

    /// The live slot using `pid`, if any: O(1), the id names the slot.
    fn find(&self, pid: u16) -> Option<u16> {
        let i = (u32::from(pid).checked_sub(1)? % (N as u32 + 1)) as u16;
        let s = self.slot(i)?;
        (s.has(LIVE) && s.pid == pid).then_some(i)
    }

    /// The next id of slot `i`: `i + 1 + k·(N + 1)`, never 0, never one
    /// of another slot or of the subscription class.
    fn next_pid(i: u16, last: u16) -> u16 {
        let step = N as u32 + 1;
        match u32::from(last) + step {
            next if last != 0 && next <= u32::from(u16::MAX) => next as u16,
            _ => i + 1,
        }
    }

    fn store_range(&self, i: u16) -> core::ops::Range<usize> {
        let size = self.slot_size();
        let start = usize::from(i) * size;
        start..start + size
    }

    /// Adds a message whose PUBLISH `write(pid, buf)` encodes into its slot
    /// (returning the length, or `None` if it did not fit). Returns its id.
    pub(crate) fn insert(
        &mut self,
        qos2: bool,
        write: impl FnOnce(u16, &mut [u8]) -> Option<usize>,
    ) -> Option<u16> {
        let i = self.free;
        let free = *self.slot(i)?;
        let pid = Self::next_pid(i, free.pid);
        let range = self.store_range(i);
        let len = write(pid, self.store.get_mut(range)?)?;
        *self.slot_mut(i)? = Slot {
            pid,
            len: len as u16,
            next: NIL,
            sends: 0,
            flags: LIVE | if qos2 { QOS2 } else { 0 },
            sent_at: Instant::from_ticks(0),
        };
        self.free = free.next;
        self.append(i);
        Some(pid)
    }

    fn append(&mut self, i: u16) {
        match self.slot_mut(self.tail) {
            Some(t) => t.next = i,
            None => self.head = i,
        }
        self.tail = i;
        if self.cursor == NIL {
            self.cursor = i;
        }
        self.len += 1;
    }

    /// Takes slot `i` out of the publish order and frees it.
    fn remove(&mut self, i: u16) {
        let next = self.slot(i).map_or(NIL, |s| s.next);
        if self.head == i {
            self.head = next;
        } else {
            let mut p = self.head;
            while let Some(s) = self.slot(p) {
                if s.next == i {
                    break;
                }
                p = s.next;
            }
            if let Some(s) = self.slot_mut(p) {
                s.next = next;
            }
            if self.tail == i {
                self.tail = p;
            }
        }
        if self.head == NIL {
            self.tail = NIL;
        }
        if self.cursor == i {
            self.cursor = next;
        }
        let free = self.free;
        if let Some(s) = self.slot_mut(i) {
            s.flags = 0;
            s.next = free;
        }
        self.free = i;
        self.len -= 1;
    }

    /// PUBACK (§3.4): completes a QoS 1 message. False if none has `pid`.
    pub(crate) fn acknowledge(&mut self, pid: u16) -> bool {
        match self.find(pid) {
            Some(i) if !self.slots[usize::from(i)].has(QOS2) => {
                self.remove(i);
                true
            }
            _ => false,
        }
    }

    /// PUBREC (§3.5): the broker owns the QoS 2 message now; from here on
    /// PUBREL is what is re-sent. False if no QoS 2 message has `pid`.
    pub(crate) fn received(&mut self, pid: u16, now: Instant) -> bool {
        let Some(i) = self.find(pid) else {
            return false;
        };
        let s = &mut self.slots[usize::from(i)];
        if !s.has(QOS2) {
            return false;
        }
        // The PUBREL goes out at once (owed by the session); the reply
        // timer restarts now. `now` is the latest receive time, so the
        // send times seen from the head stay in order.
        s.flags |= RELEASED;
        s.sent_at = now;
        true
    }

    /// PUBCOMP (§3.7): completes a QoS 2 message. False if none is released with `pid`.
    pub(crate) fn complete(&mut self, pid: u16) -> bool {
        match self.find(pid) {
            Some(i) if self.slots[usize::from(i)].has(RELEASED) => {
                self.remove(i);
                true
            }
            _ => false,
        }
    }

    /// MQTT 5.0: a PUBREC with a failure reason (§4.3.3): the QoS 2 message
    /// `pid`, not released yet, is taken out. False if there is none.
    #[cfg(feature = "mqtt5")]
    pub(crate) fn abandon(&mut self, pid: u16) -> bool {
        match self.find(pid) {
            Some(i) if self.slots[usize::from(i)].flags & (QOS2 | RELEASED) == QOS2 => {
                self.remove(i);
                true
            }
            _ => false,
        }
    }

    /// MQTT 5.0: messages sent on this connection and not completed, as
    /// far as the server's Receive Maximum is concerned: those ahead of the
    /// cursor (all of them when everything was sent). O(N).
    #[cfg(feature = "mqtt5")]
    pub(crate) fn sent_ahead(&self) -> usize {
        let mut n = 0;
        let mut i = self.head;
        while i != self.cursor {
            match self.slot(i) {
                Some(s) => i = s.next,
                None => break,
            }
            n += 1;
        }
        n
    }

    /// MQTT 5.0: the first byte, length and id of the PUBLISH in slot `i`,
    /// unless it is released (its PUBREL is what goes out).
    #[cfg(feature = "mqtt5")]
    pub(crate) fn unreleased_publish(&self, i: u16) -> Option<(u8, usize, u16)> {
        let s = self.slot(i)?;
        if s.has(RELEASED) {
            return None;
        }
        let first = *self.store.get(self.store_range(i))?.first()?;
        Some((first, usize::from(s.len), s.pid))
    }

    /// The connection ended: every message is sent again on the next one,
    /// from the oldest, in publish order (§4.4, §4.6).
    pub(crate) fn reset_sends(&mut self) {
        self.cursor = self.head;
        let mut i = self.head;
        while let Some(s) = self.slot_mut(i) {
            s.sends = 0;
            i = s.next;
        }
    }

    /// True if a message sent on this connection awaits its reply (they are
    /// sent in order from the head, so the head tells).
    pub(crate) fn has_outstanding(&self) -> bool {
        self.slot(self.head).is_some_and(|s| s.sends > 0)
    }

    /// The oldest message sent on this connection and not yet completed,
    /// with its send time; the QoS 2 ones already released are not counted.
    pub(crate) fn oldest_sent(&self) -> Option<(u16, Instant)> {
        let s = self.slot(self.head)?;
        (s.sends > 0 && !s.has(RELEASED)).then_some((s.pid, s.sent_at))
    }

    /// A strike against message `pid`: the broker closed the connection
    /// on it (see `caution`). True once that has happened `limit` times:
    /// the caller reports it and then [`Inflight::drop_message`]s it.
    pub(crate) fn rejected(&mut self, pid: u16, limit: u8) -> bool {
        let Some(i) = self.find(pid) else {
            return false;
        };
        let s = &mut self.slots[usize::from(i)];
        if s.rejections() < 15 {
            s.flags += REJECTION;
        }
        limit > 0 && s.rejections() >= limit
    }

    /// Removes the message `pid`, whatever its state.
    pub(crate) fn drop_message(&mut self, pid: u16) {
        if let Some(i) = self.find(pid) {
            self.remove(i);
        }
    }

    /// The next message to send: the one at the cursor (unless `hold_new`:
    /// only re-sends now), or — when the oldest has had no reply for
    /// `response_ms` and nothing at all was received for as long (`last_rx`:
    /// any byte is a sign of life) — the whole window again from the
    /// oldest, up to `max_repubs` times.
    pub(crate) fn next_send(
        &mut self,
        now: Instant,
        last_rx: Instant,
        response_ms: u32,
        max_repubs: u8,
        hold_new: bool,
    ) -> Option<Due> {
        if self.cursor != NIL && !hold_new {
            return Some(Due::Send(self.cursor));
        }
        let head = *self.slot(self.head)?;
        if head.sends == 0 || elapsed(latest(head.sent_at, last_rx), now) < response_ms {
            return None;
        }
        if head.sends > max_repubs {
            return Some(Due::Dead);
        }
        self.cursor = self.head;
        Some(Due::Send(self.head))
    }

    /// When the oldest message's reply becomes overdue (see `next_send`).
    pub(crate) fn deadline(&self, last_rx: Instant, response_ms: u32) -> Option<Instant> {
        let head = self.slot(self.head)?;
        (head.sends > 0).then(|| latest(head.sent_at, last_rx) + Duration::from_ticks(response_ms))
    }

    /// Writes the message in slot `i` to `out` — its PUBLISH (DUP set if sent
    /// before), or PUBREL once released — and records the send. Returns
    /// (bytes, was a republish), or `None` if `out` is too short.
    pub(crate) fn send(&mut self, i: u16, now: Instant, out: &mut [u8]) -> Option<(usize, bool)> {
        let s = *self.slot(i)?;
        let (n, republish) = if s.has(RELEASED) {
            // §3.6: PUBREL, fixed header flags 0b0010, the packet id.
            let dst = out.get_mut(..4)?;
            let [hi, lo] = s.pid.to_be_bytes();
            dst.copy_from_slice(&[0x62, 2, hi, lo]);
            (4, false)
        } else {
            let len = usize::from(s.len);
            let bytes = self.store.get(self.store_range(i))?.get(..len)?;
            let dst = out.get_mut(..len)?;
            dst.copy_from_slice(bytes);
            if s.has(DUP) {
                // §3.3.1.1: DUP is bit 3 of the fixed header.
                dst[0] |= 0x08;
            }
            (len, s.has(DUP))
        };
        let slot = self.slot_mut(i)?;
        slot.flags |= DUP;
        slot.sends = slot.sends.saturating_add(1);
        slot.sent_at = now;
        let next = slot.next;
        if self.cursor == i {
            self.cursor = next;
        }
        Some((n, republish))
    }

    /// The messages in publish order (for saving the session).
    pub(crate) fn entries(&self) -> impl Iterator<Item = EntryView<'_>> + '_ {
        let mut i = self.head;
        core::iter::from_fn(move || {
            let s = self.slot(i)?;
            let slot = i;
            i = s.next;
            let bytes = self
                .store
                .get(self.store_range(slot))
                .and_then(|b| b.get(..usize::from(s.len)))
                .unwrap_or(&[]);
            Some(EntryView {
                pid: s.pid,
                qos2: s.has(QOS2),
                released: s.has(RELEASED),
                dup: s.has(DUP),
                bytes,
            })
        })
    }

    /// Puts back a message read from a saved session, at the end of the
    /// publish order. `Err` if `pid` cannot be this table's (another
    /// capacity), its slot is taken, or the bytes do not fit.
    pub(crate) fn restore(&mut self, e: EntryView<'_>) -> Result<(), ()> {
        let i = (u32::from(e.pid).checked_sub(1).ok_or(())? % (N as u32 + 1)) as u16;
        if usize::from(i) >= N || self.slots[usize::from(i)].has(LIVE) {
            return Err(());
        }
        let range = self.store_range(i);
        let dst = self.store.get_mut(range).ok_or(())?;
        dst.get_mut(..e.bytes.len())
            .ok_or(())?
            .copy_from_slice(e.bytes);
        // Take slot `i` out of the free list.
        if self.free == i {
            self.free = self.slots[usize::from(i)].next;
        } else {
            let mut p = self.free;
            while let Some(s) = self.slot(p) {
                if s.next == i {
                    break;
                }
                p = s.next;
            }
            let next = self.slots[usize::from(i)].next;
            self.slot_mut(p).ok_or(())?.next = next;
        }
        let flag = |on: bool, f: u8| if on { f } else { 0 };
        self.slots[usize::from(i)] = Slot {
            pid: e.pid,
            len: e.bytes.len() as u16,
            next: NIL,
            sends: 0,
            flags: LIVE | flag(e.qos2, QOS2) | flag(e.released, RELEASED) | flag(e.dup, DUP),
            sent_at: Instant::from_ticks(0),
        };
        self.append(i);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    fn put<const N: usize>(t: &mut Inflight<'_, N>, byte: u8) -> u16 {
        t.insert(false, |_, buf| {
            buf[..3].copy_from_slice(&[0x32, 1, byte]);
            Some(3)
        })
        .unwrap()
    }

    #[test]
    fn ids_name_their_slot_and_never_collide_with_the_subscription_class() {
        let mut store = [0u8; 3 * 8];
        let mut t = Inflight::<3>::new(&mut store);
        let ids: [u16; 3] = core::array::from_fn(|i| put(&mut t, i as u8));
        assert_eq!(ids, [1, 2, 3]);
        assert!(t.is_full());
        // Reusing slot 1 gives 2 + 4: ids step by N + 1; 4, 8, … are left
        // to subscriptions.
        assert!(t.acknowledge(2));
        assert_eq!(put(&mut t, 9), 6);
        for pid in [1u16, 3, 6] {
            assert!(!super::super::packet_id::is_subscription_id::<3>(pid));
        }
        // The id wraps within its class, never to 0.
        assert_eq!(Inflight::<3>::next_pid(0, 65_534), 1);
        assert_eq!(Inflight::<3>::next_pid(2, 65_531), 65_535);
        assert_eq!(Inflight::<3>::next_pid(2, 65_535), 3);
    }

    #[test]
    fn acknowledgements_out_of_order_keep_the_publish_order() {
        let mut store = [0u8; 4 * 8];
        let mut t = Inflight::<4>::new(&mut store);
        let ids: [u16; 4] = core::array::from_fn(|i| put(&mut t, i as u8));
        let mut out = [0u8; 8];
        for _ in 0..4 {
            assert!(matches!(
                t.next_send(Instant::from_ticks(0), Instant::from_ticks(0), 10, 4, false),
                Some(Due::Send(_))
            ));
            let i = t.cursor;
            t.send(i, Instant::from_ticks(0), &mut out).unwrap();
        }
        assert!(t.acknowledge(ids[2]));
        assert!(!t.acknowledge(ids[2]));
        assert!(t.acknowledge(ids[3]));
        let left: heapless::Vec<u16, 4> = t.entries().map(|e| e.pid).collect();
        assert_eq!(&left[..], &[ids[0], ids[1]]);
        // The tail moved back: a new message goes after ids[1].
        let new = put(&mut t, 7);
        let order: heapless::Vec<u16, 4> = t.entries().map(|e| e.pid).collect();
        assert_eq!(&order[..], &[ids[0], ids[1], new]);
    }
}
