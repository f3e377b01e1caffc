//! Exactly once, both ways, through reconnections (MQTT 3.1.1 §4.3.3, §4.4).

use super::sim::{seq_payload, Sim};
use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn an_incoming_qos2_message_sent_again_is_delivered_once_on_the_same_connection_and_after_a_reconnect(
) {
    let mut b = Buffers::new();
    let mut c = client_with(&mut b, persistent(), Options::default());
    let mut t = Pipe::new();
    bring_up(&mut c, &mut t);
    let msg = |dup| publish_packet(QoS::ExactlyOnce, Some(5), dup, "cmd", b"open the valve");
    t.push(msg(false));
    assert!(matches!(c.poll(at(2), &mut t), Some(Event::Message(_))));
    // The same id again before PUBREL (our PUBREC was late or lost).
    t.push(msg(true));
    for _ in 0..5 {
        assert!(!matches!(c.poll(at(3), &mut t), Some(Event::Message(_))));
    }
    let mut recs = 0;
    t.sent(|p| {
        assert_eq!(p, Packet::PubRec(5));
        recs += 1;
    });
    assert_eq!(recs, 2, "PUBREC answers both");
    // The link drops; the broker resumes the session and sends it again.
    t.close();
    let mut now = at(3);
    loop {
        match poll_kind(&mut c, now, &mut t) {
            Some(Event::Down(_)) => break,
            other => assert!(other.is_none(), "{other:?}"),
        }
    }
    now = c.next_deadline(now).unwrap();
    assert_eq!(poll_kind(&mut c, now, &mut t), None);
    t.sent(|_| {});
    t.push(Packet::ConnAck(ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    }));
    assert_eq!(
        poll_kind(&mut c, now, &mut t),
        Some(Event::Up {
            session_present: true
        })
    );
    t.push(msg(true));
    for _ in 0..5 {
        assert!(!matches!(c.poll(now, &mut t), Some(Event::Message(_))));
    }
    t.sent(|p| assert_eq!(p, Packet::PubRec(5)));
    // PUBREL ends it; the id may be used again for a new message.
    t.push(Packet::PubRel(5));
    assert_eq!(poll_kind(&mut c, now, &mut t), None);
    t.sent(|p| assert_eq!(p, Packet::PubComp(5)));
    t.push(msg(false));
    assert!(matches!(c.poll(now, &mut t), Some(Event::Message(_))));
    assert_eq!(c.counters().duplicates, 2);
}

#[test]
fn qos2_publishes_complete_exactly_once_through_a_hung_broker_and_reconnections() {
    let mut b = Buffers::new();
    let mut config = persistent();
    config.keepalive = 20;
    let options = Options {
        backoff: Backoff::new(Duration::from_ticks(100), Duration::from_ticks(400), 9),
        ..Options::default()
    };
    let mut c = client_with(&mut b, config, options);
    let mut sim = Sim::starting_at(u32::MAX - 20_000);
    sim.broker.keeps_session = true;
    let (mut next, mut completed) = (0u16, 0u32);
    let tokens: core::cell::RefCell<heapless::Vec<u16, 512>> = Default::default();
    for phase in 0..4 {
        sim.broker.hung = phase % 2 == 1;
        sim.run(
            &mut c,
            30_000,
            |c, _, _| {
                if next < 400 {
                    if let Ok(Some(tok)) =
                        c.publish("t", &seq_payload(next), QoS::ExactlyOnce, false)
                    {
                        tokens.borrow_mut().push(tok.0).unwrap();
                        next += 1;
                    }
                }
                None
            },
            |e, _| {
                if let Event::Published(tok) = e {
                    completed += 1;
                    let mut tokens = tokens.borrow_mut();
                    let i = tokens
                        .iter()
                        .position(|&p| p == tok.0)
                        .expect("completed twice or unknown");
                    tokens.swap_remove(i);
                }
            },
        );
    }
    assert!(next > 100, "{next}");
    // Everything published reached the broker, each token completed once.
    assert_eq!(sim.broker.distinct(usize::from(next)), usize::from(next));
    assert_eq!(completed, u32::from(next));
    assert!(tokens.borrow().is_empty());
    assert_eq!(c.session().inflight(), 0);
}
