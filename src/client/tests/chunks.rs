//! Messages larger than the receive buffer, handed over in pieces.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

const BIG: usize = 3_000;

fn big_payload() -> [u8; BIG] {
    core::array::from_fn(|i| (i * 7 % 251) as u8)
}

/// Polls with `poll_chunked` until `want` pieces came (or 500 polls),
/// checking order and contents against `payload`; returns the pieces' count
/// and whether the last one was marked last.
fn collect(
    c: &mut Client<'_, 2, 2>,
    t: &mut Pipe,
    payload: &[u8],
    want_topic: &str,
) -> (usize, bool) {
    let (mut pieces, mut next) = (0, 0);
    for _ in 0..500 {
        match c.poll_chunked(at(5), t) {
            Some(Event::Chunk(ch)) => {
                assert_eq!(ch.topic, want_topic);
                assert_eq!(ch.total, payload.len());
                assert_eq!(ch.offset, next, "pieces out of order");
                assert_eq!(ch.bytes, &payload[next..next + ch.bytes.len()]);
                assert_eq!(ch.is_first(), next == 0);
                next += ch.bytes.len();
                pieces += 1;
                if ch.is_last() {
                    assert_eq!(next, payload.len());
                    return (pieces, true);
                }
            }
            Some(other) => panic!("{other:?}"),
            None => {}
        }
    }
    (pieces, false)
}

#[test]
fn a_message_larger_than_the_buffer_arrives_in_order_and_is_acknowledged_after_the_last_piece() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    t.chunk = 37; // the network delivers in odd pieces
    let payload = big_payload();
    let image = &payload[..1_000];
    // A QoS 1 message much larger than the 64-byte buffer.
    t.push(publish_packet(
        QoS::AtLeastOnce,
        Some(11),
        false,
        "ota/image",
        image,
    ));
    let (pieces, last) = collect(&mut c, &mut t, image, "ota/image");
    assert!(last && pieces >= 1_000 / 64, "{pieces} pieces");
    assert_eq!(
        t.sent(|p| panic!("{p:?} before the last piece was handed over")),
        0
    );
    assert_eq!(poll_kind(&mut c, at(6), &mut t), None);
    assert_eq!(
        &pubacks(&mut t)[..],
        &[11],
        "acknowledged once, after its last piece"
    );
    // Another, back to back with nothing in between.
    t.push(publish_packet(
        QoS::AtLeastOnce,
        Some(12),
        false,
        "ota/image",
        image,
    ));
    let (_, last) = collect(&mut c, &mut t, image, "ota/image");
    assert!(last);
    assert_eq!(poll_kind(&mut c, at(6), &mut t), None);
    t.sent(|p| assert_eq!(p, Packet::PubAck(12)));
    assert_eq!(c.counters().oversize, 0);
    assert!(c.is_connected());
}

#[test]
fn a_small_message_after_a_large_one_is_whole_and_plain_poll_still_skips() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    let payload = big_payload();
    let big = &payload[..500];
    t.push(publish_packet(QoS::AtMostOnce, None, false, "big", big));
    t.push(publish_packet(QoS::AtMostOnce, None, false, "small", b"hi"));
    let (_, last) = collect(&mut c, &mut t, big, "big");
    assert!(last);
    match c.poll_chunked(at(7), &mut t) {
        Some(Event::Message(m)) => assert_eq!((m.topic, m.payload), ("small", &b"hi"[..])),
        other => panic!("{other:?}"),
    }
    // `poll` skips what `poll_chunked` would hand over.
    t.push(publish_packet(QoS::AtLeastOnce, Some(3), false, "big", big));
    for _ in 0..50 {
        assert!(!matches!(
            c.poll(at(8), &mut t),
            Some(Event::Chunk(_)) | Some(Event::Message(_))
        ));
    }
    assert_eq!(c.counters().oversize, 1);
}

#[test]
fn a_topic_that_does_not_fit_the_buffer_is_skipped_not_chunked() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    let topic = "a/very/long/topic/that/alone/is/longer/than/the/sixty-four/byte/buffer";
    t.push(publish_packet(
        QoS::AtLeastOnce,
        Some(8),
        false,
        topic,
        b"payload",
    ));
    for _ in 0..20 {
        assert!(c.poll_chunked(at(5), &mut t).is_none());
    }
    assert_eq!(c.counters().oversize, 1);
    assert!(
        pubacks(&mut t).contains(&8),
        "skipped, but acknowledged so it is not sent again"
    );
}

#[test]
fn a_re_sent_qos2_message_in_pieces_is_not_handed_over_twice() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    let payload = big_payload();
    let q2 = &payload[..700];
    t.push(publish_packet(QoS::ExactlyOnce, Some(21), false, "q2", q2));
    let (_, last) = collect(&mut c, &mut t, q2, "q2");
    assert!(last);
    assert_eq!(poll_kind(&mut c, at(6), &mut t), None);
    t.sent(|p| assert_eq!(p, Packet::PubRec(21)));
    // The PUBREC was lost: the broker sends it again (DUP), before PUBREL.
    t.push(publish_packet(QoS::ExactlyOnce, Some(21), true, "q2", q2));
    for _ in 0..100 {
        assert!(!matches!(
            c.poll_chunked(at(7), &mut t),
            Some(Event::Chunk(_))
        ));
    }
    let mut recs = 0;
    t.sent(|p| {
        assert_eq!(p, Packet::PubRec(21));
        recs += 1;
    });
    assert_eq!(recs, 1);
    assert_eq!(c.counters().duplicates, 1);
}

#[test]
fn a_skipped_message_is_acknowledged_when_its_id_straddles_the_end_of_the_buffer() {
    // rx is 64 bytes: 2 (fixed header) + 2 + 59 (topic) puts the id at
    // bytes 63 and 64 — one in the buffer, one after it.
    let topic = "t/012345678901234567890123456789012345678901234567890123456";
    assert_eq!(topic.len(), 59);
    for (pid, payload) in [(0x1234u16, &b"0123456789"[..]), (7, &[1u8; 300][..])] {
        let mut b = Buffers::new();
        let (mut c, mut t) = connected(&mut b);
        t.chunk = 5;
        t.push(publish_packet(
            QoS::AtLeastOnce,
            Some(pid),
            false,
            topic,
            payload,
        ));
        for _ in 0..100 {
            assert!(poll_kind(&mut c, at(5), &mut t).is_none());
        }
        assert!(pubacks(&mut t).contains(&pid), "no PUBACK for {pid}");
        assert!(c.is_connected());
        assert_eq!(c.counters().oversize, 1);
    }
}

#[test]
fn a_skipped_message_with_packet_id_0_is_malformed() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    // PUBLISH QoS 1, topic "big", id 0, 100 bytes of payload.
    let mut bytes = [0u8; 2 + 2 + 3 + 2 + 100];
    bytes[..9].copy_from_slice(&[0x32, 107, 0, 3, b'b', b'i', b'g', 0, 0]);
    t.push_bytes(&bytes);
    let mut down = None;
    for _ in 0..20 {
        if let Some(Event::Down(r)) = poll_kind(&mut c, at(5), &mut t) {
            down = Some(r);
            break;
        }
    }
    assert_eq!(
        down,
        Some(Reason::Malformed(crate::wire::DecodeError::ZeroPacketId))
    );
}

#[test]
fn an_oversize_message_is_acknowledged_even_when_the_socket_was_full() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    // The socket takes nothing; 36 small QoS 1 messages fill the transmit
    // buffer (32 four-byte PUBACKs in 128 B) and the acknowledgement queue
    // (4), then a QoS 1 message larger than the receive buffer arrives, then
    // four more small ones.
    t.send_room = 0;
    let small = |pid| publish_packet(QoS::AtLeastOnce, Some(pid), false, "s", b"x");
    for pid in 1..=36u16 {
        t.push(small(pid));
    }
    let big = [7u8; 200];
    t.push(publish_packet(
        QoS::AtLeastOnce,
        Some(99),
        false,
        "big",
        &big,
    ));
    for pid in 37..=40u16 {
        t.push(small(pid));
    }
    for _ in 0..100 {
        let _ = c.poll(at(2), &mut t);
    }
    // The socket drains.
    t.send_room = usize::MAX;
    for _ in 0..100 {
        let _ = c.poll(at(3), &mut t);
    }
    let acked = pubacks(&mut t);
    assert!(
        acked.contains(&99),
        "the skipped message's PUBACK was lost: {acked:?}"
    );
    assert_eq!(acked.len(), 41);
    assert_eq!(c.counters().oversize, 1);
}
