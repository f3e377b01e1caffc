//! Requests and configurations that can never work are refused at the call,
//! and what is accepted gets ids of its own (issue 6, defects 1 and 7).

use super::sim::Sim;
use super::*;
use crate::session::ConfigError;
use crate::wire::topic::TopicError;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// 65,536 bytes of 'a': one more than a topic may have.
static LONG: [u8; 65_536] = [b'a'; 65_536];

#[test]
fn a_bad_filter_or_topic_is_refused_at_the_call_and_never_queued() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let long = core::str::from_utf8(&LONG).unwrap();
    let filters: [(&str, TopicError); 9] = [
        ("a/#/b", TopicError::MisplacedWildcard),
        ("+a", TopicError::MisplacedWildcard),
        ("a#", TopicError::MisplacedWildcard),
        ("#/a", TopicError::MisplacedWildcard),
        ("a/b+", TopicError::MisplacedWildcard),
        ("a\0b", TopicError::Null),
        ("a\tb", TopicError::Control),
        ("", TopicError::Empty),
        (long, TopicError::TooLong),
    ];
    for (filter, why) in filters {
        assert_eq!(
            c.subscribe(filter, QoS::AtLeastOnce),
            Err(RequestError::Topic(why))
        );
        assert_eq!(c.unsubscribe(filter), Err(RequestError::Topic(why)));
    }
    for (topic, why) in [
        ("a/+", TopicError::WildcardInName),
        ("#", TopicError::WildcardInName),
        ("a\u{85}", TopicError::Control),
        ("", TopicError::Empty),
    ] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            assert_eq!(
                c.publish(topic, b"x", qos, false),
                Err(RequestError::Topic(why))
            );
        }
    }
    // A filter that fits no SUBSCRIBE in the 128-byte transmit buffer.
    assert_eq!(
        c.subscribe(&long[..200], QoS::AtMostOnce),
        Err(RequestError::TooLarge)
    );
    // QoS 2 without a QoS 2 table (R = 0).
    let mut b2 = Buffers::new();
    let mut c0 = try_client::<2, 2, 0>(&mut b2, Config::new("d"), Options::default()).unwrap();
    assert_eq!(
        c0.subscribe("x", QoS::ExactlyOnce),
        Err(RequestError::Unsupported)
    );
    assert_eq!(
        c0.publish("x", b"", QoS::ExactlyOnce, false),
        Err(RequestError::Unsupported)
    );
    // Nothing was queued: the first connection carries only CONNECT.
    let mut t = Pipe::new();
    bring_up(&mut c, &mut t);
    assert_eq!(poll_kind(&mut c, at(2), &mut t), None);
    assert_eq!(t.sent(|p| panic!("sent {p:?}")), 0);
}

#[test]
fn a_configuration_that_can_never_work_is_refused_when_the_client_is_made() {
    type Change = fn(&mut Config<'static>);
    let cases: [(Change, ConfigError); 9] = [
        (
            |c| c.client_id = "",
            ConfigError::EmptyClientIdNeedsCleanSession,
        ),
        (
            |c| c.client_id = "dev\u{7}",
            ConfigError::ClientId(TopicError::Control),
        ),
        (
            |c| c.response_time = Duration::from_ticks(0),
            ConfigError::ResponseTime,
        ),
        (
            |c| c.ping_interval = Some(Duration::from_ticks(61_000)),
            ConfigError::PingInterval,
        ),
        (
            |c| c.ping_interval = Some(Duration::from_ticks(0)),
            ConfigError::PingInterval,
        ),
        (
            |c| c.password = Some(b"pw"),
            ConfigError::PasswordWithoutUsername,
        ),
        (|c| c.max_rejections = 16, ConfigError::MaxRejections),
        (
            |c| {
                c.will = Some(crate::wire::Will {
                    topic: "dev/+/status",
                    payload: b"",
                    qos: QoS::AtMostOnce,
                    retain: false,
                })
            },
            ConfigError::WillTopic(TopicError::WildcardInName),
        ),
        (
            |c| c.client_id = "x\u{fffe}",
            ConfigError::ClientId(TopicError::Control),
        ),
    ];
    for (change, want) in cases {
        let mut config = Config::new("dev");
        config.clean = false;
        change(&mut config);
        let mut b = Buffers::new();
        let made = try_client::<2, 2, 2>(&mut b, config, Options::default());
        assert_eq!(made.err(), Some(want));
    }
    // An empty id with a clean session is fine (§3.1.3.1).
    let mut b = Buffers::new();
    assert!(try_client::<2, 2, 2>(&mut b, Config::new(""), Options::default()).is_ok());
    // A store too small for any QoS 1 message, with room for some.
    let mut b = Buffers::new();
    let made = Client::<'_, 2, 2>::new(
        Config::new("d"),
        Options::default(),
        &mut b.rx,
        &mut b.tx,
        &mut b.store[..12],
    );
    assert_eq!(made.err(), Some(ConfigError::StoreTooSmall));
}

#[test]
fn more_than_255_messages_in_flight_keep_distinct_ids() {
    static mut UNUSED: () = ();
    let _ = core::ptr::addr_of!(UNUSED);
    let mut rx = [0u8; 64];
    let mut tx = [0u8; 64];
    let mut store = [0u8; 300 * 16];
    let mut c: Client<'_, 300, 1, 0> = Client::new(
        Config::new("dev"),
        Options::default(),
        &mut rx,
        &mut tx,
        &mut store,
    )
    .unwrap();
    let mut tokens: heapless::Vec<u16, 300> = heapless::Vec::new();
    for i in 0..300u16 {
        let t = c
            .publish("t", &i.to_be_bytes(), QoS::AtLeastOnce, false)
            .unwrap()
            .unwrap();
        assert!(!tokens.contains(&t.0), "id {} handed out twice", t.0);
        tokens.push(t.0).unwrap();
    }
    assert_eq!(
        c.publish("t", b"", QoS::AtLeastOnce, false),
        Err(RequestError::Full)
    );
    let mut sim = Sim::starting_at(0);
    let mut done: heapless::Vec<u16, 300> = heapless::Vec::new();
    sim.idle(&mut c, 5_000, |e, _| {
        if let Event::Published(tok) = e {
            assert!(!done.contains(&tok.0));
            done.push(tok.0).unwrap();
        }
    });
    assert_eq!(sim.broker.distinct(300), 300);
    assert_eq!(done.len(), 300);
    assert_eq!(c.session().inflight(), 0);
}
