//! Scenarios against a scripted broker with hand-driven time. Only `core`:
//! these run unchanged on the microcontroller instruction sets too.

use super::*;
use crate::wire::topic::TopicError;
use crate::wire::{ConnAck, ConnectReturnCode, Packet, Publish, QoS, SubAck, Will};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

const T0: u32 = 1_000;

fn at(ms: u32) -> Instant {
    Instant::from_ticks(T0 + ms)
}

/// A broker played by the test: it reads what the session sends and answers
/// with packets the test chooses. The transport takes every byte at once.
struct Scripted<'a, const N: usize, const S: usize, const R: usize = 2> {
    session: Session<'a, N, S, R>,
    out: [u8; 256],
}

impl<'a, const N: usize, const S: usize, const R: usize> Scripted<'a, N, S, R> {
    fn new(config: Config<'a>, store: &'a mut [u8]) -> Self {
        Scripted {
            session: Session::new(config, store, 256).unwrap(),
            out: [0; 256],
        }
    }

    /// The next packet the session sends at `now`, if any.
    fn sent(&mut self, now: Instant) -> Result<Option<Packet<'_>>, Reason> {
        match self.session.poll_transmit(now, &mut self.out)? {
            Some(n) => {
                self.session.bytes_sent(now);
                Ok(Some(
                    Packet::decode(&self.out[..n]).expect("session sent a malformed packet"),
                ))
            }
            None => Ok(None),
        }
    }

    fn expect_sent(&mut self, now: Instant) -> Packet<'_> {
        match self.sent(now) {
            Ok(Some(p)) => p,
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    fn expect_quiet(&mut self, now: Instant) {
        let r = self.sent(now);
        assert!(matches!(r, Ok(None)), "expected nothing, got {r:?}");
    }

    /// Transport up, CONNECT out, CONNACK in; returns the Up event's flag.
    fn connect(&mut self, now: Instant, session_present: bool) -> bool {
        self.session.transport_up(now);
        assert!(matches!(self.expect_sent(now), Packet::Connect(_)));
        let ack = Packet::ConnAck(ConnAck {
            session_present,
            code: ConnectReturnCode::Accepted,
        });
        match self.session.handle(now, ack) {
            Ok(Handled::Event(Event::Up { session_present })) => session_present,
            other => panic!("expected Up, got {other:?}"),
        }
    }

    fn answer(&mut self, now: Instant, packet: Packet<'_>) -> Result<Option<Event<'a>>, Reason> {
        match self.session.handle(now, packet)? {
            Handled::Nothing => Ok(None),
            Handled::Event(e) => Ok(Some(e)),
            Handled::Deliver(m) => panic!("unexpected delivery {m:?}"),
        }
    }
}

fn publish_of(p: Packet<'_>) -> Publish<'_> {
    match p {
        Packet::Publish(p) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

#[test]
fn connect_carries_identity_keepalive_credentials_and_will() {
    let mut store = [0u8; 256];
    let mut config = Config::new("dev-1");
    config.keepalive = 30;
    config.username = Some("user");
    config.password = Some(b"secret");
    config.will = Some(Will {
        topic: "dev-1/status",
        payload: b"gone",
        qos: QoS::AtLeastOnce,
        retain: true,
    });
    let mut b = Scripted::<2, 2>::new(config, &mut store);
    b.session.transport_up(at(0));
    match b.expect_sent(at(0)) {
        Packet::Connect(c) => {
            assert_eq!(c.client_id, "dev-1");
            assert_eq!(c.keep_alive, 30);
            assert!(c.clean_session);
            assert_eq!(c.username, Some("user"));
            assert_eq!(c.password, Some(&b"secret"[..]));
            assert_eq!(c.will, config.will);
        }
        other => panic!("expected CONNECT, got {other:?}"),
    }
    // Only one CONNECT per connection.
    b.expect_quiet(at(1));
}

#[test]
fn each_refusal_code_is_a_distinct_reason() {
    let codes = [
        ConnectReturnCode::UnacceptableProtocolVersion,
        ConnectReturnCode::IdentifierRejected,
        ConnectReturnCode::ServerUnavailable,
        ConnectReturnCode::BadUserNameOrPassword,
        ConnectReturnCode::NotAuthorized,
    ];
    for code in codes {
        let mut store = [0u8; 64];
        let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
        b.session.transport_up(at(0));
        b.expect_sent(at(0));
        let r = b.session.handle(
            at(5),
            Packet::ConnAck(ConnAck {
                session_present: false,
                code,
            }),
        );
        assert_eq!(r, Err(Reason::Refused(code)));
        assert!(!b.session.is_connected());
    }
}

#[test]
fn no_connack_within_response_time_is_a_timeout() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.session.transport_up(at(0));
    b.expect_sent(at(0));
    b.expect_quiet(at(9_999));
    assert_eq!(b.sent(at(10_000)).map(|_| ()), Err(Reason::ConnAckTimeout));
}

#[test]
fn a_packet_before_connack_is_a_protocol_violation() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.session.transport_up(at(0));
    b.expect_sent(at(0));
    assert_eq!(
        b.session.handle(at(1), Packet::PingResp),
        Err(Reason::Unexpected)
    );
}

#[test]
fn clean_init_discards_old_state_then_the_session_persists() {
    let mut store = [0u8; 64];
    let mut config = Config::new("c");
    config.clean_init = true;
    config.clean = false;
    let mut b = Scripted::<1, 1>::new(config, &mut store);

    // Power-up: a clean connection...
    b.session.transport_up(at(0));
    match b.expect_sent(at(0)) {
        Packet::Connect(c) => assert!(c.clean_session),
        other => panic!("{other:?}"),
    }
    let ack = ConnAck {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    };
    assert_eq!(
        b.session.handle(at(1), Packet::ConnAck(ack)),
        Ok(Handled::Nothing)
    );
    // ...ended at once with DISCONNECT (mqtt_as's hand-over)...
    assert_eq!(b.expect_sent(at(1)), Packet::Disconnect);
    assert!(b.session.wants_close());
    b.session.transport_down();
    // ...then an unclean one, and every later one unclean too.
    for t in [2, 50_000] {
        b.session.transport_up(at(t));
        match b.expect_sent(at(t)) {
            Packet::Connect(c) => assert!(!c.clean_session),
            other => panic!("{other:?}"),
        }
        let ack = ConnAck {
            session_present: true,
            code: ConnectReturnCode::Accepted,
        };
        assert_eq!(
            b.session.handle(at(t), Packet::ConnAck(ack)),
            Ok(Handled::Event(Event::Up {
                session_present: true
            }))
        );
        b.session.transport_down();
    }
    assert_eq!(b.session.counters().connects, 2);
    assert_eq!(b.session.counters().reconnects, 1);
}

#[test]
fn clean_applies_to_reconnections_and_clean_init_to_the_first() {
    let mut store = [0u8; 64];
    let mut config = Config::new("c");
    config.clean_init = false;
    config.clean = true;
    let mut b = Scripted::<1, 1>::new(config, &mut store);
    b.session.transport_up(at(0));
    match b.expect_sent(at(0)) {
        Packet::Connect(c) => assert!(!c.clean_session),
        other => panic!("{other:?}"),
    }
    b.session.transport_down();
    // A failed first attempt does not use up clean_init.
    b.session.transport_up(at(1));
    match b.expect_sent(at(1)) {
        Packet::Connect(c) => assert!(!c.clean_session),
        other => panic!("{other:?}"),
    }
    let ack = ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    };
    b.session.handle(at(2), Packet::ConnAck(ack)).unwrap();
    b.session.transport_down();
    b.session.transport_up(at(3));
    match b.expect_sent(at(3)) {
        Packet::Connect(c) => assert!(c.clean_session),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pings_when_quiet_and_declares_the_link_dead_without_pingresp() {
    let mut store = [0u8; 64];
    let mut config = Config::new("c");
    config.keepalive = 20; // ping every 5 s
    let mut b = Scripted::<1, 1>::new(config, &mut store);
    b.connect(at(0), false);
    b.expect_quiet(at(4_999));
    assert_eq!(b.session.next_deadline(), Some(at(5_000)));
    assert_eq!(b.expect_sent(at(5_000)), Packet::PingReq);
    // One ping outstanding at a time.
    b.expect_quiet(at(6_000));
    b.answer(at(6_000), Packet::PingResp).unwrap();
    // Received at 6 s, sent at 5 s: the next ping is due 5 s after the older.
    assert_eq!(b.expect_sent(at(10_000)), Packet::PingReq);
    // Unanswered, and nothing else sent: another ping keeps the broker's
    // keepalive fed, but the link is dead 10 s after the first with nothing
    // received since.
    assert_eq!(b.session.next_deadline(), Some(at(15_000)));
    assert_eq!(b.expect_sent(at(15_000)), Packet::PingReq);
    assert_eq!(b.session.next_deadline(), Some(at(20_000)));
    b.expect_quiet(at(19_999));
    assert_eq!(b.sent(at(20_000)).map(|_| ()), Err(Reason::PingTimeout));
    assert_eq!(b.session.counters().ping_timeouts, 1);
}

#[test]
fn a_client_that_only_sends_still_pings_when_nothing_comes_back() {
    let mut store = [0u8; 64];
    let mut config = Config::new("c");
    config.keepalive = 20;
    let mut b = Scripted::<1, 1>::new(config, &mut store);
    b.connect(at(0), false);
    // The application keeps sending QoS 0 (recorded with `sent`)...
    for t in (1_000..5_000).step_by(1_000) {
        b.session.bytes_sent(at(t));
        b.expect_quiet(at(t));
    }
    // ...but nothing was received for 5 s: ping anyway.
    assert_eq!(b.expect_sent(at(5_000)), Packet::PingReq);
}

#[test]
fn keepalive_zero_means_no_pings() {
    let mut store = [0u8; 64];
    let mut config = Config::new("c");
    config.keepalive = 0;
    let mut b = Scripted::<1, 1>::new(config, &mut store);
    b.connect(at(0), false);
    b.expect_quiet(at(1_000_000));
    assert_eq!(b.session.next_deadline(), None);
}

#[test]
fn qos1_is_retransmitted_with_dup_and_the_same_id_then_the_link_is_dead() {
    let mut store = [0u8; 128];
    let mut config = Config::new("c");
    config.keepalive = 0; // keep pings out of the way
    let mut b = Scripted::<2, 1>::new(config, &mut store);
    b.connect(at(0), false);
    let token = b
        .session
        .publish("t/1", b"hello", QoS::AtLeastOnce, false)
        .unwrap();
    let first = publish_of(b.expect_sent(at(0)));
    assert_eq!(
        (first.dup, first.pid, first.qos),
        (false, Some(token.0), QoS::AtLeastOnce)
    );
    assert_eq!(first.payload, b"hello");
    b.expect_quiet(at(9_999));
    // response_time (10 s) without PUBACK: the same message with DUP, 4 times.
    for k in 1..=4u32 {
        let again = publish_of(b.expect_sent(at(10_000 * k)));
        assert_eq!(
            (again.dup, again.pid, again.payload),
            (true, Some(token.0), &b"hello"[..])
        );
        assert_eq!(b.session.counters().republishes, k);
    }
    assert_eq!(b.sent(at(50_000)).map(|_| ()), Err(Reason::PubAckTimeout));
    // Still in flight: nothing is dropped because the link died.
    assert_eq!(b.session.inflight(), 1);
}

#[test]
fn puback_completes_the_publish_and_frees_the_slot() {
    let mut store = [0u8; 128];
    let mut b = Scripted::<2, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    let t1 = b
        .session
        .publish("a", b"1", QoS::AtLeastOnce, false)
        .unwrap();
    let t2 = b
        .session
        .publish("a", b"2", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(
        b.session.publish("a", b"3", QoS::AtLeastOnce, false),
        Err(RequestError::Full)
    );
    assert_ne!(t1, t2);
    b.expect_sent(at(0));
    b.expect_sent(at(0));
    assert_eq!(
        b.answer(at(5), Packet::PubAck(t2.0)),
        Ok(Some(Event::Published(t2)))
    );
    // A duplicate PUBACK is harmless.
    assert_eq!(b.answer(at(6), Packet::PubAck(t2.0)), Ok(None));
    assert_eq!(b.session.inflight(), 1);
    assert!(b
        .session
        .publish("a", b"3", QoS::AtLeastOnce, false)
        .is_ok());
}

#[test]
fn too_large_or_invalid_publishes_are_refused_not_truncated() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<2, 1>::new(Config::new("c"), &mut store);
    // 32-byte slots: 2 + 1 + 2 + 2 + 26 = 33 bytes does not fit.
    assert_eq!(
        b.session.publish("a", &[0; 26], QoS::AtLeastOnce, false),
        Err(RequestError::TooLarge)
    );
    assert!(b
        .session
        .publish("a", &[0; 25], QoS::AtLeastOnce, false)
        .is_ok());
    assert_eq!(
        b.session.publish("a/+", b"", QoS::AtLeastOnce, false),
        Err(RequestError::Topic(TopicError::WildcardInName))
    );
    assert_eq!(
        b.session.publish("", b"", QoS::AtLeastOnce, false),
        Err(RequestError::Topic(TopicError::Empty))
    );
}

#[test]
fn messages_published_offline_go_out_after_connack_in_order() {
    let mut store = [0u8; 256];
    let mut b = Scripted::<4, 1>::new(Config::new("c"), &mut store);
    let ids: [Token; 3] = core::array::from_fn(|i| {
        b.session
            .publish("q", &[i as u8], QoS::AtLeastOnce, false)
            .unwrap()
    });
    b.session.transport_up(at(1));
    assert!(matches!(b.expect_sent(at(1)), Packet::Connect(_)));
    // Nothing but CONNECT before CONNACK.
    b.expect_quiet(at(2));
    let ack = ConnAck {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    };
    b.session.handle(at(3), Packet::ConnAck(ack)).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let p = publish_of(b.expect_sent(at(3)));
        assert_eq!(
            (p.pid, p.payload, p.dup),
            (Some(id.0), &[i as u8][..], false)
        );
    }
}

#[test]
fn after_reconnecting_unacked_messages_are_resent_before_new_ones_with_dup() {
    let mut store = [0u8; 256];
    let mut b = Scripted::<4, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("cmd", QoS::AtLeastOnce).unwrap();
    b.connect(at(0), false);
    let old = b
        .session
        .publish("t", b"old", QoS::AtLeastOnce, false)
        .unwrap();
    // SUBSCRIBE and the PUBLISH both go out, then the link drops.
    assert!(matches!(b.expect_sent(at(0)), Packet::Subscribe(_)));
    assert_eq!(publish_of(b.expect_sent(at(0))).pid, Some(old.0));
    b.session.transport_down();
    let new = b
        .session
        .publish("t", b"new", QoS::AtLeastOnce, false)
        .unwrap();
    // Broker lost the session (restart): the subscription is restored, then
    // the unacked message goes again (DUP, same id) before the new one.
    assert!(!b.connect(at(100), false));
    assert!(matches!(b.expect_sent(at(100)), Packet::Subscribe(_)));
    let p = publish_of(b.expect_sent(at(100)));
    assert_eq!((p.pid, p.dup, p.payload), (Some(old.0), true, &b"old"[..]));
    let p = publish_of(b.expect_sent(at(100)));
    assert_eq!((p.pid, p.dup, p.payload), (Some(new.0), false, &b"new"[..]));
    assert_eq!(b.session.counters().reconnects, 1);
    assert_eq!(b.session.counters().republishes, 1);
}

#[test]
fn subscriptions_are_restored_only_when_the_broker_lost_the_session() {
    let mut store = [0u8; 64];
    let mut config = Config::new("c");
    config.clean_init = false;
    config.clean = false;
    let mut b = Scripted::<1, 2>::new(config, &mut store);
    b.session.subscribe("a/#", QoS::AtLeastOnce).unwrap();
    b.connect(at(0), false);
    let pid = match b.expect_sent(at(0)) {
        Packet::Subscribe(s) => {
            assert_eq!(s.topics.iter().next(), Some(("a/#", QoS::AtLeastOnce)));
            s.pid
        }
        other => panic!("{other:?}"),
    };
    let ack = Packet::SubAck(SubAck { pid, codes: &[1] });
    assert_eq!(
        b.answer(at(1), ack),
        Ok(Some(Event::Subscribed {
            topic: "a/#",
            qos: QoS::AtLeastOnce
        }))
    );
    b.session.transport_down();
    // Session kept by the broker: nothing to resubscribe.
    assert!(b.connect(at(10), true));
    b.expect_quiet(at(10));
    b.session.transport_down();
    // Session lost: subscribe again without the application asking.
    assert!(!b.connect(at(20), false));
    assert!(matches!(b.expect_sent(at(20)), Packet::Subscribe(_)));
}

#[test]
fn a_refused_subscription_is_reported_and_forgotten() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("forbidden", QoS::AtLeastOnce).unwrap();
    b.connect(at(0), false);
    let pid = match b.expect_sent(at(0)) {
        Packet::Subscribe(s) => s.pid,
        other => panic!("{other:?}"),
    };
    let ack = Packet::SubAck(SubAck {
        pid,
        codes: &[0x80],
    });
    assert_eq!(
        b.answer(at(1), ack),
        Ok(Some(Event::SubscribeFailed { topic: "forbidden" }))
    );
    b.session.transport_down();
    b.connect(at(5), false);
    b.expect_quiet(at(5));
}

#[test]
fn a_missing_suback_kills_the_link_and_is_retried_next_time() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.session.subscribe("x", QoS::AtMostOnce).unwrap();
    b.connect(at(0), true);
    assert!(matches!(b.expect_sent(at(0)), Packet::Subscribe(_)));
    assert_eq!(b.sent(at(10_000)).map(|_| ()), Err(Reason::SubAckTimeout));
    b.session.transport_down();
    b.connect(at(20_000), true);
    assert!(matches!(b.expect_sent(at(20_000)), Packet::Subscribe(_)));
}

#[test]
fn unsubscribe_waits_for_unsuback() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("x", QoS::AtMostOnce).unwrap();
    b.connect(at(0), false);
    let pid = match b.expect_sent(at(0)) {
        Packet::Subscribe(s) => s.pid,
        other => panic!("{other:?}"),
    };
    b.answer(at(1), Packet::SubAck(SubAck { pid, codes: &[0] }))
        .unwrap();
    b.session.unsubscribe("x").unwrap();
    let pid = match b.expect_sent(at(2)) {
        Packet::Unsubscribe(u) => {
            assert_eq!(u.topics.iter().next(), Some("x"));
            u.pid
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        b.answer(at(3), Packet::UnsubAck(pid)),
        Ok(Some(Event::Unsubscribed { topic: "x" }))
    );
    assert_eq!(b.session.subscriptions().count(), 0);
    // Not resubscribed after a session loss.
    b.session.transport_down();
    b.connect(at(10), false);
    b.expect_quiet(at(10));
}

#[test]
fn incoming_qos1_is_acknowledged_after_it_is_handed_over() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    let msg = Packet::Publish(Publish {
        dup: true,
        qos: QoS::AtLeastOnce,
        retain: true,
        topic: "in",
        pid: Some(77),
        payload: b"data",
    });
    match b.session.handle(at(1), msg) {
        Ok(Handled::Deliver(m)) => {
            assert_eq!(
                (m.topic, m.payload, m.qos, m.retain, m.dup),
                ("in", &b"data"[..], QoS::AtLeastOnce, true, true)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.expect_sent(at(2)), Packet::PubAck(77));
}

#[test]
fn incoming_qos2_completes_its_handshake() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    let msg = Packet::Publish(Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "in",
        pid: Some(9),
        payload: b"",
    });
    assert!(matches!(
        b.session.handle(at(1), msg),
        Ok(Handled::Deliver(_))
    ));
    assert_eq!(b.expect_sent(at(1)), Packet::PubRec(9));
    assert_eq!(b.answer(at(2), Packet::PubRel(9)), Ok(None));
    assert_eq!(b.expect_sent(at(2)), Packet::PubComp(9));
    assert!(b.session.is_connected());
}

#[test]
fn packet_ids_are_never_zero_and_never_in_use_twice() {
    // 300 slots: each slot's ids step by 301, so a reused slot wraps the
    // 16-bit id space after ~217 messages.
    let mut store = [0u8; 300 * 8];
    let mut b = Scripted::<300, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("s/1", QoS::AtMostOnce).unwrap();
    b.session.subscribe("s/2", QoS::AtMostOnce).unwrap();
    b.connect(at(0), false);
    let mut sub_ids = [0u16; 2];
    for id in sub_ids.iter_mut() {
        match b.expect_sent(at(0)) {
            Packet::Subscribe(s) => *id = s.pid,
            other => panic!("{other:?}"),
        }
    }
    // A thousand publishes, each acknowledged, wrap the id space several
    // times: no id is 0, none equals an outstanding subscription's, and the
    // message still in flight keeps its id.
    let stuck = b
        .session
        .publish("t", b"", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(publish_of(b.expect_sent(at(0))).pid, Some(stuck.0));
    for _ in 0..1_000u32 {
        let t = b
            .session
            .publish("t", b"", QoS::AtLeastOnce, false)
            .unwrap();
        assert!(t.0 != 0 && t != stuck && !sub_ids.contains(&t.0), "{t:?}");
        assert_eq!(publish_of(b.expect_sent(at(0))).pid, Some(t.0));
        assert_eq!(
            b.answer(at(0), Packet::PubAck(t.0)),
            Ok(Some(Event::Published(t)))
        );
    }
    assert_eq!(b.session.inflight(), 1);
}

#[test]
fn oversize_skips_are_counted_and_acknowledged() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    b.session.skipped(Some(QoS::AtLeastOnce), Some(5)).unwrap();
    b.session.skipped(Some(QoS::AtMostOnce), None).unwrap();
    assert_eq!(b.session.counters().oversize, 2);
    assert_eq!(b.expect_sent(at(1)), Packet::PubAck(5));
    b.expect_quiet(at(1));
}

#[test]
fn a_transmit_path_that_never_drains_is_a_dead_link() {
    let mut store = [0u8; 64];
    let mut config = Config::new("c");
    config.keepalive = 20;
    let mut b = Scripted::<1, 1>::new(config, &mut store);
    b.connect(at(0), false);
    // The caller's transmit buffer stays full: not even PINGREQ's 2 bytes fit.
    let mut full: [u8; 1] = [0];
    assert_eq!(b.session.poll_transmit(at(5_000), &mut full), Ok(None));
    assert_eq!(b.session.poll_transmit(at(14_999), &mut full), Ok(None));
    assert_eq!(
        b.session.poll_transmit(at(15_000), &mut full),
        Err(Reason::PingTimeout)
    );
}

// ------------------------------------------------------------------ QoS 2

fn qos2_in(pid: u16, dup: bool) -> Packet<'static> {
    Packet::Publish(Publish {
        dup,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "in",
        pid: Some(pid),
        payload: b"x",
    })
}

fn persistent() -> Config<'static> {
    let mut config = Config::new("c");
    config.clean_init = false;
    config.clean = false;
    config
}

#[test]
fn an_outgoing_qos2_message_is_released_after_pubrec_and_completed_by_pubcomp() {
    let mut store = [0u8; 128];
    let mut b = Scripted::<2, 1>::new(persistent(), &mut store);
    b.connect(at(0), false);
    let token = b
        .session
        .publish("t", b"once", QoS::ExactlyOnce, false)
        .unwrap();
    let p = publish_of(b.expect_sent(at(0)));
    assert_eq!(
        (p.qos, p.pid, p.dup),
        (QoS::ExactlyOnce, Some(token.0), false)
    );
    assert_eq!(b.answer(at(1), Packet::PubRec(token.0)), Ok(None));
    assert_eq!(b.expect_sent(at(1)), Packet::PubRel(token.0));
    // A duplicate PUBREC is answered again; nothing completes early.
    assert_eq!(b.answer(at(2), Packet::PubRec(token.0)), Ok(None));
    assert_eq!(b.expect_sent(at(2)), Packet::PubRel(token.0));
    assert_eq!(b.session.inflight(), 1);
    assert_eq!(
        b.answer(at(3), Packet::PubComp(token.0)),
        Ok(Some(Event::Published(token)))
    );
    assert_eq!(b.answer(at(4), Packet::PubComp(token.0)), Ok(None));
    assert_eq!(b.session.inflight(), 0);
}

#[test]
fn after_a_reconnect_a_released_qos2_message_sends_pubrel_not_its_publish_again() {
    let mut store = [0u8; 128];
    let mut b = Scripted::<2, 1>::new(persistent(), &mut store);
    b.connect(at(0), false);
    let released = b
        .session
        .publish("t", b"a", QoS::ExactlyOnce, false)
        .unwrap();
    let pending = b
        .session
        .publish("t", b"b", QoS::ExactlyOnce, false)
        .unwrap();
    b.expect_sent(at(0));
    b.expect_sent(at(0));
    b.answer(at(1), Packet::PubRec(released.0)).unwrap();
    // The link drops before the PUBREL could go out.
    b.session.transport_down();
    assert!(b.connect(at(100), true));
    // §4.4: PUBREL for the one the broker has, the other PUBLISH with DUP,
    // in their original order.
    assert_eq!(b.expect_sent(at(100)), Packet::PubRel(released.0));
    let p = publish_of(b.expect_sent(at(100)));
    assert_eq!(
        (p.pid, p.dup, p.payload),
        (Some(pending.0), true, &b"b"[..])
    );
    b.expect_quiet(at(100));
}

#[test]
fn an_unknown_pubrel_is_answered_with_pubcomp() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(persistent(), &mut store);
    b.connect(at(0), true);
    assert_eq!(b.answer(at(1), Packet::PubRel(4242)), Ok(None));
    assert_eq!(b.expect_sent(at(1)), Packet::PubComp(4242));
}

#[test]
fn incoming_qos2_ids_last_as_long_as_the_broker_session() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(persistent(), &mut store);
    b.connect(at(0), false);
    assert!(matches!(
        b.session.handle(at(1), qos2_in(3, false)),
        Ok(Handled::Deliver(_))
    ));
    assert_eq!(b.expect_sent(at(1)), Packet::PubRec(3));
    // Same connection: a re-send is answered, not delivered.
    assert_eq!(
        b.session.handle(at(2), qos2_in(3, true)),
        Ok(Handled::Nothing)
    );
    assert_eq!(b.expect_sent(at(2)), Packet::PubRec(3));
    // Reconnected, session kept: still known.
    b.session.transport_down();
    assert!(b.connect(at(10), true));
    assert_eq!(
        b.session.handle(at(11), qos2_in(3, true)),
        Ok(Handled::Nothing)
    );
    assert_eq!(b.session.counters().duplicates, 2);
    assert_eq!(b.session.awaiting_release(), 1);
    // Reconnected, session lost: the broker will not release it, and a new
    // message may come with the same id.
    b.session.transport_down();
    assert!(!b.connect(at(20), false));
    assert_eq!(b.session.awaiting_release(), 0);
    assert!(matches!(
        b.session.handle(at(21), qos2_in(3, false)),
        Ok(Handled::Deliver(_))
    ));
}

#[test]
fn a_qos2_message_with_no_place_for_its_id_waits_at_the_broker_and_comes_again() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1, 2>::new(persistent(), &mut store);
    b.connect(at(0), false);
    for pid in [1, 2] {
        assert!(matches!(
            b.session.handle(at(1), qos2_in(pid, false)),
            Ok(Handled::Deliver(_))
        ));
        assert_eq!(b.expect_sent(at(1)), Packet::PubRec(pid));
    }
    // A re-send of a known one is still answered...
    assert_eq!(
        b.session.handle(at(2), qos2_in(2, true)),
        Ok(Handled::Nothing)
    );
    assert_eq!(b.expect_sent(at(2)), Packet::PubRec(2));
    // ...a third one has no place: not delivered, not acknowledged (it
    // stays with the broker), and the link stays up while PUBRELs come.
    assert_eq!(
        b.session.handle(at(3), qos2_in(3, false)),
        Ok(Handled::Nothing)
    );
    b.expect_quiet(at(3));
    assert_eq!(b.session.counters().deferred, 1);
    b.answer(at(4), Packet::PubRel(1)).unwrap();
    assert_eq!(b.expect_sent(at(4)), Packet::PubComp(1));
    b.answer(at(5), Packet::PubRel(2)).unwrap();
    // The table has drained: reconnect, so the broker sends it again.
    assert_eq!(b.sent(at(5)).map(|_| ()), Ok(()));
    assert_eq!(b.sent(at(5)).map(|_| ()), Err(Reason::ExactlyOnceFull));
    b.session.transport_down();
    assert!(b.connect(at(6), true));
    assert!(matches!(
        b.session.handle(at(7), qos2_in(3, true)),
        Ok(Handled::Deliver(_))
    ));
}

#[test]
fn without_a_qos2_table_qos2_is_refused_both_ways() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1, 0>::new(Config::new("c"), &mut store);
    assert_eq!(
        b.session.publish("t", b"", QoS::ExactlyOnce, false),
        Err(RequestError::Unsupported)
    );
    assert_eq!(
        b.session.subscribe("t", QoS::ExactlyOnce),
        Err(RequestError::Unsupported)
    );
    b.connect(at(0), false);
    // A broker sending QoS 2 anyway breaks the grant: a protocol violation.
    assert_eq!(
        b.session.handle(at(1), qos2_in(1, false)),
        Err(Reason::Unexpected)
    );
}

// -------------------------------------------------------------- defect 8

#[test]
fn session_present_after_a_clean_connect_is_not_believed_and_subscriptions_are_sent() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 2>::new(Config::new("c"), &mut store);
    b.session.subscribe("cmd", QoS::AtLeastOnce).unwrap();
    b.session.transport_up(at(0));
    match b.expect_sent(at(0)) {
        Packet::Connect(c) => assert!(c.clean_session),
        other => panic!("{other:?}"),
    }
    // [MQTT-3.2.2-1] says a clean session is never present; this broker says it is.
    let ack = ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    };
    assert_eq!(
        b.session.handle(at(1), Packet::ConnAck(ack)),
        Ok(Handled::Event(Event::Up {
            session_present: false
        }))
    );
    assert!(matches!(b.expect_sent(at(1)), Packet::Subscribe(_)));
}

// ------------------------------------------------------------- liveness

#[test]
fn replies_overdue_on_a_link_that_keeps_delivering_bytes_are_not_a_dead_link() {
    let mut store = [0u8; 128];
    let mut config = Config::new("c");
    config.keepalive = 0;
    let mut b = Scripted::<2, 1>::new(config, &mut store);
    b.connect(at(0), false);
    let token = b
        .session
        .publish("t", b"x", QoS::AtLeastOnce, false)
        .unwrap();
    b.expect_sent(at(0));
    // The PUBACK waits behind a backlog, but bytes keep arriving.
    for t in (1_000..60_000).step_by(1_000) {
        b.session.bytes_received(at(t));
        b.expect_quiet(at(t));
    }
    assert_eq!(b.session.counters().republishes, 0);
    assert_eq!(
        b.answer(at(60_000), Packet::PubAck(token.0)),
        Ok(Some(Event::Published(token)))
    );
    // On a quiet link the same wait is a retransmission, then a dead link.
    let t2 = b
        .session
        .publish("t", b"y", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(publish_of(b.expect_sent(at(60_000))).pid, Some(t2.0));
    assert!(publish_of(b.expect_sent(at(70_000))).dup);
}

#[test]
fn timers_run_the_same_from_any_clock_start_and_across_the_wrap() {
    for start in [
        0u32,
        (1 << 31) - 3_000,
        1 << 31,
        (1 << 31) + 3_000,
        u32::MAX - 3_000,
    ] {
        let t = |ms: u32| Instant::from_ticks(start.wrapping_add(ms));
        let mut store = [0u8; 128];
        let mut config = Config::new("c");
        config.keepalive = 20;
        let mut b = Scripted::<2, 1>::new(config, &mut store);
        b.session.subscribe("s", QoS::AtMostOnce).unwrap();
        b.connect(t(0), false);
        assert!(matches!(b.expect_sent(t(0)), Packet::Subscribe(_)));
        let token = b
            .session
            .publish("p", b"", QoS::AtLeastOnce, false)
            .unwrap();
        assert!(matches!(b.expect_sent(t(0)), Packet::Publish(_)));
        assert_eq!(b.session.next_deadline(), Some(t(5_000)), "start {start}");
        b.expect_quiet(t(4_999));
        assert_eq!(b.expect_sent(t(5_000)), Packet::PingReq, "start {start}");
        b.expect_quiet(t(9_999));
        // No SUBACK, PUBACK or PINGRESP for 10 s: the oldest is overdue.
        assert_eq!(
            b.sent(t(10_000)).map(|_| ()),
            Err(Reason::SubAckTimeout),
            "start {start}"
        );
        b.session.transport_down();
        b.connect(t(20_000), false);
        assert!(matches!(b.expect_sent(t(20_000)), Packet::Subscribe(_)));
        assert!(publish_of(b.expect_sent(t(20_000))).dup);
        assert_eq!(
            b.answer(t(20_001), Packet::PubAck(token.0)),
            Ok(Some(Event::Published(token)))
        );
    }
}

// ------------------------------------------------- issue 13, defects 1, 2, 9

#[test]
fn a_qos2_burst_beyond_the_table_on_a_clean_session_is_delivered_and_answered() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1, 2>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    // A broker's window (mosquitto 20) is wider than this table (2): the
    // third message finds it full. Nothing resumes a clean session, so
    // no re-send of it can come: deliver it and answer it (§4.3.3).
    for pid in 1..=3 {
        assert!(
            matches!(
                b.session.handle(at(1), qos2_in(pid, false)),
                Ok(Handled::Deliver(_))
            ),
            "message {pid}"
        );
        assert_eq!(b.expect_sent(at(1)), Packet::PubRec(pid));
    }
    assert_eq!(b.session.counters().untracked, 1);
    assert_eq!(b.session.counters().deferred, 0);
    // Its release is answered like any other, and the link stays up.
    for pid in 1..=3 {
        b.answer(at(2), Packet::PubRel(pid)).unwrap();
        assert_eq!(b.expect_sent(at(2)), Packet::PubComp(pid));
    }
    b.expect_quiet(at(3));
    assert!(b.session.is_connected());
}

#[test]
fn once_a_qos2_message_is_left_with_the_broker_none_after_it_is_answered_before_it() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1, 2>::new(persistent(), &mut store);
    b.connect(at(0), false);
    for pid in [1, 2] {
        assert!(matches!(
            b.session.handle(at(1), qos2_in(pid, false)),
            Ok(Handled::Deliver(_))
        ));
        assert_eq!(b.expect_sent(at(1)), Packet::PubRec(pid));
    }
    // The table is full: 3 stays with the broker, unanswered.
    assert_eq!(
        b.session.handle(at(2), qos2_in(3, false)),
        Ok(Handled::Nothing)
    );
    b.expect_quiet(at(2));
    // A release frees a place, but 4 came after 3: answering it now would
    // send PUBREC 4 before PUBREC 3 (§4.6 [MQTT-4.6.0-2]). It waits too.
    b.answer(at(3), Packet::PubRel(1)).unwrap();
    assert_eq!(b.expect_sent(at(3)), Packet::PubComp(1));
    assert_eq!(
        b.session.handle(at(4), qos2_in(4, false)),
        Ok(Handled::Nothing)
    );
    b.expect_quiet(at(4));
    assert_eq!(b.session.counters().deferred, 2);
    // Once the table drains the connection is closed; the broker sends 3
    // and 4 again, in order, and both are answered in order.
    b.answer(at(5), Packet::PubRel(2)).unwrap();
    assert_eq!(b.expect_sent(at(5)), Packet::PubComp(2));
    assert_eq!(b.sent(at(5)).map(|_| ()), Err(Reason::ExactlyOnceFull));
    b.session.transport_down();
    assert!(b.connect(at(6), true));
    for pid in [3, 4] {
        assert!(matches!(
            b.session.handle(at(7), qos2_in(pid, true)),
            Ok(Handled::Deliver(_))
        ));
        assert_eq!(b.expect_sent(at(7)), Packet::PubRec(pid));
    }
}

#[test]
fn a_caller_that_ignores_can_receive_is_not_blamed_on_the_broker() {
    let mut store = [0u8; 64];
    let mut b = Scripted::<1, 1>::new(Config::new("c"), &mut store);
    b.connect(at(0), false);
    let qos1 = |pid| {
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "in",
            pid: Some(pid),
            payload: b"x",
        })
    };
    let mut pid = 1;
    while b.session.can_receive() {
        assert!(matches!(
            b.session.handle(at(1), qos1(pid)),
            Ok(Handled::Deliver(_))
        ));
        pid += 1;
    }
    // The contract broken: the reason names the caller's mistake, which the
    // client does not count as a broker's protocol error.
    assert_eq!(b.session.handle(at(2), qos1(pid)), Err(Reason::AcksFull));
}
