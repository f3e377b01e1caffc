//! A session saved into bytes and restored after a (simulated) reboot.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
use crate::session::RestoreError;
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// The client these scenarios save and restore.
fn persistent_client(b: &mut Buffers) -> Client<'_, 2, 2> {
    client_with(b, persistent(), Options::default())
}

fn up(c: &mut Client<'_, 2, 2>, t: &mut Pipe, now: Instant, present: bool) {
    assert_eq!(poll_kind(c, now, t), None);
    t.sent(|p| {
        assert!(
            matches!(
                p,
                Packet::Connect(Connect {
                    clean_session: false,
                    ..
                })
            ),
            "{p:?}"
        )
    });
    t.push(Packet::ConnAck(ConnAck {
        session_present: present,
        code: ConnectReturnCode::Accepted,
    }));
    assert_eq!(
        poll_kind(c, now, t),
        Some(Event::Up {
            session_present: present
        })
    );
}

/// At 1 ms the client sends its SUBSCRIBE; the broker grants `code`.
fn confirm_subscription(c: &mut Client<'_, 2, 2>, t: &mut Pipe, code: u8) {
    assert_eq!(poll_kind(c, at(1), t), None);
    let mut pid = 0;
    t.sent(|p| {
        if let Packet::Subscribe(s) = p {
            pid = s.pid;
        }
    });
    t.push(Packet::SubAck(SubAck {
        pid,
        codes: &[code],
    }));
    assert!(matches!(
        poll_kind(c, at(1), t),
        Some(Event::Subscribed { .. })
    ));
}

fn incoming_qos2(pid: u16, dup: bool) -> Packet<'static> {
    publish_packet(QoS::ExactlyOnce, Some(pid), dup, "cmd", b"once")
}

#[test]
fn a_restored_session_resends_in_flight_messages_and_delivers_nothing_twice() {
    let mut saved = [0u8; 512];
    let (len, q1, q2) = {
        // Before the reboot: subscribed, a QoS 1 message unacknowledged, a
        // QoS 2 one released (PUBREC came), an incoming QoS 2 delivered
        // whose PUBREL has not come.
        let mut b = Buffers::new();
        let mut c = persistent_client(&mut b);
        c.subscribe("cmd", QoS::ExactlyOnce).unwrap();
        let mut t = Pipe::new();
        up(&mut c, &mut t, at(0), false);
        confirm_subscription(&mut c, &mut t, 2);
        let q1 = c
            .publish("t/1", b"one", QoS::AtLeastOnce, false)
            .unwrap()
            .unwrap();
        let q2 = c
            .publish("t/2", b"two", QoS::ExactlyOnce, false)
            .unwrap()
            .unwrap();
        assert_eq!(poll_kind(&mut c, at(2), &mut t), None);
        assert_eq!(t.sent(|_| {}), 2);
        t.push(Packet::PubRec(q2.0));
        t.push(incoming_qos2(7, false));
        assert!(matches!(c.poll(at(3), &mut t), Some(Event::Message(_))));
        // The application handled it and saves before the next poll (which
        // would send its PUBREC): then the power goes.
        let len = c.save(&mut saved).unwrap();
        assert_eq!(len, c.session().saved_len());
        (len, q1, q2)
    };

    // After the reboot: the same declarations, then the saved session.
    let mut b = Buffers::new();
    let mut c = persistent_client(&mut b);
    c.subscribe("cmd", QoS::ExactlyOnce).unwrap();
    c.restore(&saved[..len]).unwrap();
    assert_eq!(c.session().inflight(), 2);
    let mut t = Pipe::new();
    up(&mut c, &mut t, at(50_000), true);
    assert_eq!(poll_kind(&mut c, at(50_000), &mut t), None);
    let mut sent: heapless::Vec<(u8, u16, bool), 4> = heapless::Vec::new();
    t.sent(|p| match p {
        Packet::Publish(p) => sent.push((3, p.pid.unwrap(), p.dup)).unwrap(),
        Packet::PubRel(pid) => sent.push((6, pid, false)).unwrap(),
        other => panic!("sent {other:?} (no SUBSCRIBE: the filter was confirmed)"),
    });
    // §4.4: same ids, in order; the QoS 1 message with DUP, PUBREL for the
    // released QoS 2 one (never its PUBLISH again).
    assert_eq!(&sent[..], &[(3, q1.0, true), (6, q2.0, false)]);
    // The broker resends the QoS 2 message the application already had.
    t.push(incoming_qos2(7, true));
    for _ in 0..5 {
        assert!(!matches!(
            c.poll(at(50_001), &mut t),
            Some(Event::Message(_))
        ));
    }
    t.sent(|p| assert_eq!(p, Packet::PubRec(7)));
    t.push(Packet::PubAck(q1.0));
    t.push(Packet::PubComp(q2.0));
    assert_eq!(
        poll_kind(&mut c, at(50_002), &mut t),
        Some(Event::Published(q1))
    );
    assert_eq!(
        poll_kind(&mut c, at(50_002), &mut t),
        Some(Event::Published(q2))
    );
    assert_eq!(c.session().inflight(), 0);
}

#[test]
fn a_restored_session_the_broker_lost_subscribes_again() {
    let mut saved = [0u8; 256];
    let len = {
        let mut b = Buffers::new();
        let mut c = persistent_client(&mut b);
        c.subscribe("cmd", QoS::AtLeastOnce).unwrap();
        let mut t = Pipe::new();
        up(&mut c, &mut t, at(0), false);
        confirm_subscription(&mut c, &mut t, 1);
        c.save(&mut saved).unwrap()
    };
    let mut b = Buffers::new();
    let mut c = persistent_client(&mut b);
    c.subscribe("cmd", QoS::AtLeastOnce).unwrap();
    c.restore(&saved[..len]).unwrap();
    let mut t = Pipe::new();
    up(&mut c, &mut t, at(9), false);
    assert_eq!(poll_kind(&mut c, at(9), &mut t), None);
    assert_eq!(t.sent(|p| assert!(matches!(p, Packet::Subscribe(_)))), 1);
}

#[test]
fn damaged_or_mismatched_saves_are_refused_and_change_nothing() {
    let mut saved = [0u8; 256];
    let len = {
        let mut b = Buffers::new();
        let mut c = persistent_client(&mut b);
        c.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
        c.save(&mut saved).unwrap()
    };
    let mut b = Buffers::new();
    let mut c = persistent_client(&mut b);
    // Every single flipped bit is caught.
    for i in 0..len * 8 {
        let mut bad = saved;
        bad[i / 8] ^= 1 << (i % 8);
        assert_eq!(
            c.restore(&bad[..len]),
            Err(RestoreError::Corrupt),
            "bit {i}"
        );
    }
    assert_eq!(c.restore(&saved[..len - 1]), Err(RestoreError::Corrupt));
    assert_eq!(c.restore(&[]), Err(RestoreError::Corrupt));
    assert_eq!(c.restore(&[0xFF; 64]), Err(RestoreError::Corrupt));
    assert_eq!(c.session().inflight(), 0);
    // Another capacity.
    let mut b4 = Buffers::new();
    let mut c4 = try_client::<4, 2, 2>(&mut b4, persistent(), Options::default()).unwrap();
    assert_eq!(c4.restore(&saved[..len]), Err(RestoreError::Capacity));
    // Too late: the client has started.
    let mut t = Pipe::new();
    let _ = c.poll(at(0), &mut t);
    assert_eq!(c.restore(&saved[..len]), Err(RestoreError::NotFresh));
    // Too small a buffer to save into.
    assert!(matches!(
        c.save(&mut [0u8; 4]),
        Err(crate::session::SaveError::BufferTooSmall(_))
    ));
}

// ---------------------------------------------------------------- forged saves

/// Entry flags of the saved format (src/session/snapshot.rs).
const QOS2: u8 = 1;
const RELEASED: u8 = 2;

/// A save laid out as `Session::save` writes it for a `Client<_, 2, _>`, with
/// a correct CRC: what a half-written flash page whose CRC matched by chance,
/// or another firmware's layout, could hold. Messages are `(saved id, entry
/// flags, PUBLISH bytes)`, then the incoming QoS 2 ids; no filters.
fn forged(messages: &[(u16, u8, &[u8])], incoming: &[u16], out: &mut [u8; 256]) -> usize {
    let mut w: heapless::Vec<u8, 256> = heapless::Vec::new();
    w.extend_from_slice(b"LMPT\x01\x00\x00\x02").unwrap(); // version 1, no session, N = 2
    w.extend_from_slice(&(messages.len() as u16).to_be_bytes())
        .unwrap();
    for (id, flags, bytes) in messages {
        w.extend_from_slice(&id.to_be_bytes()).unwrap();
        w.push(*flags).unwrap();
        w.extend_from_slice(&(bytes.len() as u16).to_be_bytes())
            .unwrap();
        w.extend_from_slice(bytes).unwrap();
    }
    w.extend_from_slice(&(incoming.len() as u16).to_be_bytes())
        .unwrap();
    for id in incoming {
        w.extend_from_slice(&id.to_be_bytes()).unwrap();
    }
    w.extend_from_slice(&[0, 0]).unwrap(); // no filters
    let crc = crate::crc::crc16(&w);
    w.extend_from_slice(&crc.to_be_bytes()).unwrap();
    out[..w.len()].copy_from_slice(&w);
    w.len()
}

/// A PUBLISH of "x" to `topic` as this crate encodes it.
fn publish(topic: &str, qos: QoS, pid: Option<u16>) -> heapless::Vec<u8, 64> {
    let p = publish_packet(qos, pid, false, topic, b"x");
    let mut out = [0u8; 64];
    let n = p.encode(&mut out).unwrap();
    heapless::Vec::from_slice(&out[..n]).unwrap()
}

#[test]
fn a_save_whose_messages_are_not_the_publish_their_entries_describe_is_refused_and_nothing_is_sent()
{
    let q1 = publish("t", QoS::AtLeastOnce, Some(1));
    // Id 4 names the same slot as id 1 (slot 0 of 2: ids 1, 4, 7, …).
    let q1_other_id = publish("t", QoS::AtLeastOnce, Some(4));
    let q2 = publish("t", QoS::ExactlyOnce, Some(1));
    let q0 = publish("t", QoS::AtMostOnce, None);
    // §3.3.2.1: a Topic Name has no wildcards.
    let wildcard: &[u8] = &[0x32, 8, 0, 3, b't', b'/', b'#', 0, 1, b'x'];
    // §1.5.3: a control character, which `publish` refuses (mosquitto closes).
    let control: &[u8] = &[0x32, 7, 0, 2, b't', 0x01, 0, 1, b'x'];
    for whole in [wildcard, control] {
        assert_eq!(Frame::parse(whole).unwrap().unwrap().len(), whole.len());
    }
    let mut dup_set = q1.clone();
    dup_set[0] |= 0x08; // §3.3.1.1
    let mut one_more = q1.clone();
    one_more.push(0).unwrap(); // the entry's length says one byte more
    let pubrel: &[u8] = &[0x62, 2, 0, 1];
    let bad_messages: [(u8, &[u8]); 11] = [
        (0, &q1_other_id),        // its id is not the saved id
        (0, pubrel),              // not a PUBLISH
        (QOS2, &q1),              // a QoS 2 entry holding a QoS 1 PUBLISH
        (0, &q2),                 // a QoS 1 entry holding a QoS 2 PUBLISH
        (0, &q0),                 // QoS 0 is never in flight
        (0, wildcard),            // not a valid Topic Name
        (0, control),             // not a topic `publish` would have queued
        (0, &dup_set),            // DUP lives in the entry, never in the bytes
        (0, &one_more),           // lengths disagree
        (0, &q1[..q1.len() - 1]), // cut short
        (RELEASED, &q1),          // PUBREC only ever comes for QoS 2
    ];
    let good = publish("u", QoS::AtLeastOnce, Some(2));
    let mut b = Buffers::new();
    let mut c = persistent_client(&mut b);
    let mut buf = [0u8; 256];
    for (i, (flags, bytes)) in bad_messages.into_iter().enumerate() {
        let len = forged(&[(1, flags, bytes)], &[], &mut buf);
        assert_eq!(
            c.restore(&buf[..len]),
            Err(RestoreError::BadMessage),
            "case {i}"
        );
        // A good message before a bad one is not restored either.
        let len = forged(&[(2, 0, &good), (1, flags, bytes)], &[], &mut buf);
        assert_eq!(
            c.restore(&buf[..len]),
            Err(RestoreError::BadMessage),
            "case {i} after a good one"
        );
        assert_eq!(c.session().inflight(), 0, "case {i}");
    }
    // Incoming QoS 2 ids: 0 is no id (§2.3.1), and one id is owed once.
    for incoming in [&[0u16][..], &[7, 7]] {
        let len = forged(&[], incoming, &mut buf);
        assert_eq!(c.restore(&buf[..len]), Err(RestoreError::Corrupt));
    }
    // Another layout: a message larger than a slot of this store.
    let mut big = [0u8; 200];
    let p = publish_packet(QoS::AtLeastOnce, Some(1), false, "t", &[b'x'; 150]);
    let n = p.encode(&mut big).unwrap();
    let len = forged(&[(1, 0, &big[..n])], &[], &mut buf);
    assert_eq!(c.restore(&buf[..len]), Err(RestoreError::Capacity));
    assert_eq!(c.session().inflight(), 0);

    // Nothing was queued: the broker gets CONNECT and nothing else.
    let mut t = Pipe::new();
    up(&mut c, &mut t, at(0), false);
    for ms in 1..5 {
        assert_eq!(poll_kind(&mut c, at(ms), &mut t), None);
    }
    assert_eq!(t.sent(|p| panic!("sent {p:?}")), 0);

    // The same layout with messages that are what their entries say is
    // taken, and resent with the saved ids (so the refusals above are the
    // messages', not the layout's).
    let mut b = Buffers::new();
    let mut c = persistent_client(&mut b);
    let q2_id5 = publish("t", QoS::ExactlyOnce, Some(5));
    let len = forged(&[(1, 0, &q1), (5, QOS2, &q2_id5)], &[7], &mut buf);
    assert_eq!(c.restore(&buf[..len]), Ok(()));
    assert_eq!(c.session().inflight(), 2);
    let mut t = Pipe::new();
    up(&mut c, &mut t, at(0), false);
    assert_eq!(poll_kind(&mut c, at(1), &mut t), None);
    let mut ids: heapless::Vec<(QoS, u16), 2> = heapless::Vec::new();
    t.sent(|p| match p {
        Packet::Publish(p) => ids.push((p.qos, p.pid.unwrap())).unwrap(),
        other => panic!("sent {other:?}"),
    });
    assert_eq!(&ids[..], &[(QoS::AtLeastOnce, 1), (QoS::ExactlyOnce, 5)]);
}
