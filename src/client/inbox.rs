//! An optional message queue with `mqtt_as`'s semantics: bounded, dropping
//! the oldest message when full and counting what it dropped.
//!
//! The client hands each message out borrowed from its receive buffer and
//! acknowledges it on the next poll, so an application that handles messages
//! at once needs no queue. One that handles them later copies them here.

use crate::session::Message;
use crate::wire::QoS;

/// Per message: topic length (2), payload length (2), flags (1).
const HEADER: usize = 5;

/// Messages stored back to back in `BYTES` bytes of its own.
pub struct Inbox<const BYTES: usize> {
    buf: [u8; BYTES],
    used: usize,
    len: usize,
    discards: u32,
}

impl<const BYTES: usize> Default for Inbox<BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BYTES: usize> Inbox<BYTES> {
    /// An empty inbox; `const`, so it can be a `static`.
    pub const fn new() -> Self {
        Inbox {
            buf: [0; BYTES],
            used: 0,
            len: 0,
            discards: 0,
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no message waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Messages dropped: the oldest when a new one needed room, or a new
    /// one larger than the whole inbox.
    pub fn discards(&self) -> u32 {
        self.discards
    }

    /// Copies `m` in, dropping the oldest messages until it fits. Returns
    /// false (and counts a discard) if it can never fit.
    pub fn push(&mut self, m: &Message<'_>) -> bool {
        let need = HEADER + m.topic.len() + m.payload.len();
        if need > BYTES
            || m.topic.len() > usize::from(u16::MAX)
            || m.payload.len() > usize::from(u16::MAX)
        {
            self.discards = self.discards.wrapping_add(1);
            return false;
        }
        while BYTES - self.used < need {
            self.pop();
            self.discards = self.discards.wrapping_add(1);
        }
        let flags = (m.qos as u8) | (u8::from(m.retain) << 2) | (u8::from(m.dup) << 3);
        let rec = &mut self.buf[self.used..self.used + need];
        rec[0..2].copy_from_slice(&(m.topic.len() as u16).to_be_bytes());
        rec[2..4].copy_from_slice(&(m.payload.len() as u16).to_be_bytes());
        rec[4] = flags;
        let (topic, payload) = rec[HEADER..].split_at_mut(m.topic.len());
        topic.copy_from_slice(m.topic.as_bytes());
        payload.copy_from_slice(m.payload);
        self.used += need;
        self.len += 1;
        true
    }

    /// The oldest message, borrowed.
    pub fn front(&self) -> Option<Message<'_>> {
        let (topic_len, payload_len, flags) = self.header()?;
        let body = self.buf.get(HEADER..HEADER + topic_len + payload_len)?;
        let (topic, payload) = body.split_at(topic_len);
        Some(Message {
            // Stored from a `&str`, so always valid.
            topic: core::str::from_utf8(topic).unwrap_or(""),
            payload,
            qos: QoS::from_bits(flags & 3).unwrap_or(QoS::AtMostOnce),
            retain: flags & 4 != 0,
            dup: flags & 8 != 0,
            // MQTT 5.0: the properties are not copied in.
            #[cfg(feature = "mqtt5")]
            properties: crate::wire::v5::Properties::NONE,
        })
    }

    /// Removes the oldest message.
    pub fn pop(&mut self) {
        if let Some((topic_len, payload_len, _)) = self.header() {
            let size = HEADER + topic_len + payload_len;
            self.buf.copy_within(size..self.used, 0);
            self.used -= size;
            self.len -= 1;
        }
    }

    fn header(&self) -> Option<(usize, usize, u8)> {
        if self.len == 0 {
            return None;
        }
        let h = self.buf.get(..HEADER)?;
        let topic_len = usize::from(u16::from_be_bytes([h[0], h[1]]));
        let payload_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        Some((topic_len, payload_len, h[4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    fn msg<'a>(topic: &'a str, payload: &'a [u8]) -> Message<'a> {
        Message {
            topic,
            payload,
            qos: QoS::AtLeastOnce,
            retain: true,
            dup: false,
            #[cfg(feature = "mqtt5")]
            properties: crate::wire::v5::Properties::NONE,
        }
    }

    #[test]
    fn keeps_order_and_fields() {
        let mut inbox = Inbox::<64>::new();
        assert!(inbox.push(&msg("a", b"1")));
        assert!(inbox.push(&msg("bb", b"22")));
        assert_eq!(inbox.len(), 2);
        assert_eq!(inbox.front(), Some(msg("a", b"1")));
        inbox.pop();
        assert_eq!(inbox.front(), Some(msg("bb", b"22")));
        inbox.pop();
        assert!(inbox.is_empty());
        assert_eq!(inbox.front(), None);
        assert_eq!(inbox.discards(), 0);
    }

    #[test]
    fn drops_the_oldest_when_full_and_counts_it() {
        // Each message takes 5 + 1 + 4 = 10 bytes: three fit in 32.
        let mut inbox = Inbox::<32>::new();
        for p in [b"0000", b"1111", b"2222", b"3333"] {
            assert!(inbox.push(&msg("t", p)));
        }
        assert_eq!((inbox.len(), inbox.discards()), (3, 1));
        assert_eq!(inbox.front().map(|m| m.payload), Some(&b"1111"[..]));
    }

    #[test]
    fn a_message_larger_than_the_inbox_is_a_counted_discard() {
        let mut inbox = Inbox::<16>::new();
        assert!(inbox.push(&msg("t", b"x")));
        assert!(!inbox.push(&msg("t", &[0; 20])));
        assert_eq!((inbox.len(), inbox.discards()), (1, 1));
    }
}
