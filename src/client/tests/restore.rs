//! A session saved into bytes and restored after a (simulated) reboot.

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
use crate::session::RestoreError;
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

fn persistent() -> Config<'static> {
    let mut config = Config::new("dev");
    config.clean_init = false;
    config.clean = false;
    config
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

fn incoming_qos2(pid: u16, dup: bool) -> Packet<'static> {
    Packet::Publish(Publish {
        dup,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "cmd",
        pid: Some(pid),
        payload: b"once",
    })
}

#[test]
fn a_restored_session_resends_in_flight_messages_and_delivers_nothing_twice() {
    let mut saved = [0u8; 512];
    let (len, q1, q2) = {
        // Before the reboot: subscribed, a QoS 1 message unacknowledged, a
        // QoS 2 one released (PUBREC came), an incoming QoS 2 delivered
        // whose PUBREL has not come.
        let mut b = Buffers::new();
        let mut c: Client<'_, 2, 2> = Client::new(
            persistent(),
            Options::default(),
            &mut b.rx,
            &mut b.tx,
            &mut b.store,
        )
        .unwrap();
        c.subscribe("cmd", QoS::ExactlyOnce).unwrap();
        let mut t = Pipe::new();
        up(&mut c, &mut t, at(0), false);
        assert_eq!(poll_kind(&mut c, at(1), &mut t), None);
        let mut sub_pid = 0;
        t.sent(|p| {
            if let Packet::Subscribe(s) = p {
                sub_pid = s.pid;
            }
        });
        t.push(Packet::SubAck(SubAck {
            pid: sub_pid,
            codes: &[2],
        }));
        assert!(matches!(
            poll_kind(&mut c, at(1), &mut t),
            Some(Event::Subscribed { .. })
        ));
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
    let mut c: Client<'_, 2, 2> = Client::new(
        persistent(),
        Options::default(),
        &mut b.rx,
        &mut b.tx,
        &mut b.store,
    )
    .unwrap();
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
        let mut c: Client<'_, 2, 2> = Client::new(
            persistent(),
            Options::default(),
            &mut b.rx,
            &mut b.tx,
            &mut b.store,
        )
        .unwrap();
        c.subscribe("cmd", QoS::AtLeastOnce).unwrap();
        let mut t = Pipe::new();
        up(&mut c, &mut t, at(0), false);
        assert_eq!(poll_kind(&mut c, at(1), &mut t), None);
        let mut pid = 0;
        t.sent(|p| {
            if let Packet::Subscribe(s) = p {
                pid = s.pid;
            }
        });
        t.push(Packet::SubAck(SubAck { pid, codes: &[1] }));
        assert!(matches!(
            poll_kind(&mut c, at(1), &mut t),
            Some(Event::Subscribed { .. })
        ));
        c.save(&mut saved).unwrap()
    };
    let mut b = Buffers::new();
    let mut c: Client<'_, 2, 2> = Client::new(
        persistent(),
        Options::default(),
        &mut b.rx,
        &mut b.tx,
        &mut b.store,
    )
    .unwrap();
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
        let mut c: Client<'_, 2, 2> = Client::new(
            persistent(),
            Options::default(),
            &mut b.rx,
            &mut b.tx,
            &mut b.store,
        )
        .unwrap();
        c.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
        c.save(&mut saved).unwrap()
    };
    let mut b = Buffers::new();
    let mut c: Client<'_, 2, 2> = Client::new(
        persistent(),
        Options::default(),
        &mut b.rx,
        &mut b.tx,
        &mut b.store,
    )
    .unwrap();
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
    let mut c4: Client<'_, 4, 2> = Client::new(
        persistent(),
        Options::default(),
        &mut b4.rx,
        &mut b4.tx,
        &mut b4.store,
    )
    .unwrap();
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
