//! Scenarios against a scripted broker with hand-driven time. Only `core`:
//! these run unchanged on the microcontroller instruction sets too.
//!
//! Unit tests live beside their code: a `mod tests` at the bottom of a small
//! file, a `tests` folder like this one, by concept, beside a module with
//! many. Here: the scripted broker and the connection's life; `messages`
//! (QoS 1 out and in, ids, skips), `subscriptions`, `qos2` (both ways,
//! and bursts beyond the table), `liveness` (timers and clocks).

use super::*;
use crate::wire::topic::TopicError;
use crate::wire::{ConnAck, ConnectReturnCode, Packet, Publish, QoS, SubAck, Will};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

const T0: u32 = 1_000;

pub(super) fn at(ms: u32) -> Instant {
    Instant::from_ticks(T0 + ms)
}

/// A broker played by the test: it reads what the session sends and answers
/// with packets the test chooses. The transport takes every byte at once.
pub(super) struct Scripted<'a, const N: usize, const S: usize, const R: usize = 2> {
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

impl<const N: usize, const S: usize, const R: usize> Scripted<'_, N, S, R> {
    /// The broker sends QoS 2 message `pid`: the session delivers it and
    /// answers PUBREC `pid`.
    fn delivers_qos2(&mut self, now: Instant, pid: u16, dup: bool) {
        let got = self.session.handle(now, qos2_in(pid, dup));
        assert!(
            matches!(got, Ok(Handled::Deliver(_))),
            "message {pid}: {got:?}"
        );
        assert_eq!(self.expect_sent(now), Packet::PubRec(pid));
    }

    /// The broker sends QoS 2 message `pid`: the session neither delivers
    /// nor answers it (it stays with the broker).
    fn withholds_qos2(&mut self, now: Instant, pid: u16) {
        assert_eq!(
            self.session.handle(now, qos2_in(pid, false)),
            Ok(Handled::Nothing)
        );
        self.expect_quiet(now);
    }

    /// Transport up, CONNECT out; returns its clean-session flag.
    fn sends_connect(&mut self, now: Instant) -> bool {
        self.session.transport_up(now);
        match self.expect_sent(now) {
            Packet::Connect(c) => c.clean_session,
            other => panic!("expected CONNECT, got {other:?}"),
        }
    }

    /// The id of the SUBSCRIBE the session sends at `now`.
    fn subscribe_pid(&mut self, now: Instant) -> u16 {
        match self.expect_sent(now) {
            Packet::Subscribe(s) => s.pid,
            other => panic!("expected SUBSCRIBE, got {other:?}"),
        }
    }

    /// PUBREL `pid` in, PUBCOMP `pid` out.
    fn releases(&mut self, now: Instant, pid: u16) {
        self.answer(now, Packet::PubRel(pid)).unwrap();
        assert_eq!(self.expect_sent(now), Packet::PubComp(pid));
    }
}

pub(super) fn publish_of(p: Packet<'_>) -> Publish<'_> {
    match p {
        Packet::Publish(p) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

pub(super) fn qos2_in(pid: u16, dup: bool) -> Packet<'static> {
    Packet::Publish(Publish {
        dup,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "in",
        pid: Some(pid),
        payload: b"x",
    })
}

pub(super) fn persistent() -> Config<'static> {
    let mut config = Config::new("c");
    config.clean_init = false;
    config.clean = false;
    config
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
    assert!(b.sends_connect(at(0)));
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
        assert!(!b.sends_connect(at(t)));
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
    assert!(!b.sends_connect(at(0)));
    b.session.transport_down();
    // A failed first attempt does not use up clean_init.
    assert!(!b.sends_connect(at(1)));
    let ack = ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    };
    b.session.handle(at(2), Packet::ConnAck(ack)).unwrap();
    b.session.transport_down();
    assert!(b.sends_connect(at(3)));
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

mod liveness;
mod messages;
#[cfg(feature = "mqtt5")]
mod mqtt5;
mod qos2;
mod subscriptions;
