//! The client speaking MQTT 5.0 to two independent real brokers, started by
//! each test: mosquitto (2.0, which speaks 5.0 to a client connecting with
//! protocol level 5) and ejabberd's mod_mqtt (23.01, Erlang, a different
//! code base): connect, QoS 0/1/2 to an independent 5.0 observer
//! (`mosquitto_sub -V mqttv5`), subscribe and receive with properties,
//! broker kills with nothing lost, an ACL's refusal, and the server's
//! limits (Maximum Packet Size, Receive Maximum, Maximum QoS, Retain
//! Available, Shared Subscription Available, Server Keep Alive) as the
//! client honours them.
//!
//! The scenarios in `on_v5_brokers!` run on both (`scenario::mosquitto`,
//! `scenario::ejabberd`). mosquitto only: Maximum Packet Size, Receive
//! Maximum, Maximum QoS and Retain Available, which ejabberd 23.01 never
//! sends in CONNACK (it has no such settings; what it does send is read in
//! `ejabberds_connack_properties_are_read`). ejabberd wants a username and
//! a non-empty password from every client (`Broker::login`). Through its
//! kills nothing of ejabberd's survives (mod_mqtt keeps sessions and
//! subscriptions in RAM Mnesia tables, and the harness wipes the spool):
//! nothing lost there is the client's doing alone, as with mosquitto's
//! `persistence false`.
//!
//! `mqtt5/properties.rs` (mosquitto): PUBLISH properties on the way out to
//! an independent observer, request/response, No Local, Retain Handling 2,
//! Subscription Identifiers, a shared subscription.
//!
//! Not here: a server DISCONNECT with a reason (mosquitto 2.0.11 closes a
//! connection taken over by another without one; the unit tests in
//! `src/client/tests/mqtt5.rs` play it).

#[path = "mqtt5/device.rs"]
mod device;
#[path = "mqtt5/observer.rs"]
mod observer;
#[path = "mqtt5/properties.rs"]
mod properties;
mod support;

use device::{config, Dev5, Got};
use limpet::session::{Config, RequestError, ServerLimits, Token};
use limpet::wire::v5::{self, ReasonCode};
use limpet::wire::QoS;
use observer::{publish5, Sub5};
use std::time::{Duration, Instant};
use support::device::Ev;
use support::{Broker, BrokerKind};

const WAIT: Duration = Duration::from_secs(10);

/// One `#[test]` per (scenario, 5.0 broker): `scenario::mosquitto` and
/// `scenario::ejabberd` call `scenario(kind)`.
macro_rules! on_v5_brokers {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            use crate::support::BrokerKind;
            #[test]
            fn mosquitto() {
                super::$scenario(BrokerKind::Mosquitto)
            }
            #[test]
            fn ejabberd() {
                super::$scenario(BrokerKind::Ejabberd)
            }
        }
    )+};
}

on_v5_brokers!(
    connects_in_5_0_and_publishes_qos_0_1_2_to_an_independent_5_0_observer,
    subscribes_in_5_0_and_receives_messages_with_their_properties,
    qos1_through_broker_kills_in_5_0_loses_nothing,
    a_publish_an_acl_denies_is_completed_refused,
);

/// The device's 5.0 configuration, with the broker's login if it wants one.
fn config_for(broker: &Broker, id: &str) -> Config<'static> {
    let mut c = config(id);
    if let Some((user, password)) = broker.login() {
        c.username = Some(user);
        c.password = Some(password.as_bytes());
    }
    c
}

fn published(token: Token) -> impl Fn(&Got) -> bool {
    move |g| matches!(g.ev, Ev::Published(t) | Ev::RejectedPublish(t) if t == token)
}

fn connects_in_5_0_and_publishes_qos_0_1_2_to_an_independent_5_0_observer(kind: BrokerKind) {
    let broker = Broker::start_kind(kind);
    let observer = Sub5::start(&broker, "v5/#", 2);
    let mut d = Dev5::new(config_for(&broker, "v5-pub"), broker.addr());
    let up = d
        .up(WAIT)
        .unwrap_or_else(|| panic!("no Up: {}", broker.log()));
    assert_eq!(up.reason, Some(ReasonCode::Success));
    // What each broker logs of the connection (ejabberd does not log the
    // protocol level; its user is `username@host/client id`).
    let seen = match kind {
        BrokerKind::Ejabberd => "limpet@localhost/v5-pub",
        _ => "p5",
    };
    assert!(
        broker.log().contains("v5-pub") && broker.log().contains(seen),
        "{} logs {seen:?}: {}",
        kind.name(),
        broker.log()
    );
    d.dev
        .client
        .publish("v5/q0", b"zero", QoS::AtMostOnce, false)
        .unwrap();
    for (topic, payload, qos) in [
        ("v5/q1", &b"one"[..], QoS::AtLeastOnce),
        ("v5/q2", b"two", QoS::ExactlyOnce),
    ] {
        let token = d
            .dev
            .client
            .publish(topic, payload, qos, false)
            .unwrap()
            .unwrap();
        let done = d.run_until(WAIT, published(token)).expect("completed");
        assert_eq!(done.ev, Ev::Published(token));
        // mosquitto 2.0 and ejabberd answer "No matching subscribers"
        // (0x10) or Success: both are success (§3.4.2.1).
        assert!(done.reason.is_some_and(ReasonCode::is_success), "{done:?}");
    }
    assert!(
        observer.wait_for(3, WAIT),
        "observer: {:?}",
        observer.lines()
    );
    let mut lines = observer.lines();
    lines.sort();
    assert_eq!(lines, ["v5/q0 zero", "v5/q1 one", "v5/q2 two"]);
}

fn subscribes_in_5_0_and_receives_messages_with_their_properties(kind: BrokerKind) {
    let broker = Broker::start_kind(kind);
    let mut d = Dev5::new(config_for(&broker, "v5-sub"), broker.addr());
    d.dev.client.subscribe("in/#", QoS::ExactlyOnce).unwrap();
    d.up(WAIT).expect("up");
    let sub = d
        .run_until(WAIT, |g| matches!(g.ev, Ev::Subscribed(..)))
        .expect("SUBACK");
    assert_eq!(sub.ev, Ev::Subscribed("in/#".into(), QoS::ExactlyOnce));
    assert_eq!(sub.reason, Some(ReasonCode::GrantedQoS2));
    for qos in 0..=2u8 {
        publish5(
            broker.port(),
            broker.login(),
            &format!("in/q{qos}"),
            b"21.5",
            qos,
            &[
                &["user-property", "unit", "C"][..],
                &["content-type", "text/plain"][..],
            ],
        )
        .unwrap();
        let got = d
            .run_until(WAIT, |g| matches!(g.ev, Ev::Message { .. }))
            .expect("message");
        match &got.ev {
            Ev::Message {
                topic,
                payload,
                qos: q,
                ..
            } => {
                assert_eq!(*topic, format!("in/q{qos}"));
                assert_eq!(payload, b"21.5");
                assert_eq!(*q as u8, qos);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(got.content_type.as_deref(), Some("text/plain"));
        assert_eq!(got.user_properties, [("unit".to_owned(), "C".to_owned())]);
    }
    // Nothing delivered twice, nothing left owed (QoS 2 released).
    d.run_for(Duration::from_millis(300));
    assert!(
        !d.log.iter().any(|g| matches!(g.ev, Ev::Down(_))),
        "{:?}",
        d.log
    );
    assert_eq!(d.dev.client.session().awaiting_release(), 0);
}

fn qos1_through_broker_kills_in_5_0_loses_nothing(kind: BrokerKind) {
    // As tests/outages.rs for 3.1.1: the device publishes QoS 1 sequence
    // numbers; the broker is SIGKILLed (half the time frozen first, so a
    // PUBLISH is certainly unacknowledged) and restarted; the device's
    // network stays off until the observer has resubscribed, so a gap in
    // what the observer saw can only be a message the client lost.
    // Neither broker keeps anything across the kill (mosquitto:
    // persistence false; ejabberd: sessions in RAM, its spool wiped), so
    // nothing is promised by the broker: every message the observer sees
    // after a kill was republished by the client.
    const CYCLES: u32 = 5;
    let mut broker = Broker::start_kind(kind);
    let observer = Sub5::start(&broker, "seq5", 1);
    let mut d = Dev5::new(config_for(&broker, "v5-outage"), broker.addr());
    d.up(WAIT).expect("up");
    let mut next = 0u32;
    let mut backlog = std::collections::VecDeque::new();
    let mut tick = |d: &mut Dev5, publishing: bool| {
        if publishing {
            backlog.push_back(next);
            next += 1;
        }
        while let Some(&seq) = backlog.front() {
            match d
                .dev
                .client
                .publish("seq5", seq.to_string().as_bytes(), QoS::AtLeastOnce, false)
            {
                Ok(_) => {
                    backlog.pop_front();
                }
                Err(RequestError::Full) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        d.run_for(Duration::from_millis(50));
        backlog.is_empty()
    };
    let mut kills_in_flight = 0;
    for cycle in 0..CYCLES {
        for _ in 0..10 {
            tick(&mut d, true);
        }
        // What the broker acknowledged reaches the observer before the
        // broker dies: a broker may acknowledge before it routes (ejabberd
        // does), and a kill then loses what the client handed over —
        // the broker's loss, not the client's, and not what this tests.
        let acked = d
            .log
            .iter()
            .filter(|g| matches!(g.ev, Ev::Published(_)))
            .count();
        assert!(
            observer.wait_for(acked, Duration::from_secs(5)),
            "the observer did not get the {acked} acknowledged messages"
        );
        if cycle % 2 == 0 {
            broker.freeze();
        }
        tick(&mut d, true);
        if d.dev.client.session().inflight() > 0 {
            kills_in_flight += 1;
        }
        broker.kill();
        d.dev.tcp.up = false;
        for _ in 0..4 {
            tick(&mut d, true);
        }
        broker.restart();
        std::thread::scope(|s| {
            let ready = s.spawn(|| observer.wait_ready(Duration::from_secs(20)));
            while !ready.is_finished() {
                tick(&mut d, true);
            }
            assert!(ready.join().unwrap(), "observer did not come back");
        });
        d.dev.tcp.up = true;
        let before = d.log.len();
        let end = Instant::now() + Duration::from_secs(20);
        while !d.log[before..]
            .iter()
            .any(|g| matches!(g.ev, Ev::Up { .. }))
        {
            assert!(
                Instant::now() < end,
                "no reconnection: {:?}",
                &d.log[before..]
            );
            tick(&mut d, true);
        }
    }
    let end = Instant::now() + Duration::from_secs(20);
    while !tick(&mut d, false) || d.dev.client.session().inflight() > 0 {
        assert!(Instant::now() < end, "messages stuck in flight");
    }
    let total = next;
    observer.wait_for(total as usize, Duration::from_secs(5));
    let mut seen = std::collections::BTreeSet::new();
    for line in observer.lines() {
        let seq: u32 = line
            .strip_prefix("seq5 ")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        seen.insert(seq);
    }
    let lost: Vec<u32> = (0..total).filter(|s| !seen.contains(s)).collect();
    eprintln!(
        "published {total}, kills in flight {kills_in_flight}, {:?}",
        d.dev.client.counters()
    );
    assert_eq!(lost, Vec::<u32>::new(), "lost QoS 1 messages of {total}");
    assert!(total >= CYCLES * 15, "too few messages: {total}");
    let counters = d.dev.client.counters();
    assert!(counters.reconnects >= CYCLES, "{counters:?}");
    assert!(kills_in_flight >= 2, "kills in flight: {kills_in_flight}");
    assert!(counters.republishes >= 1, "{counters:?}");
}

#[test]
fn a_publish_larger_than_the_servers_maximum_packet_size_is_refused_at_the_call() {
    // Given mosquitto with max_packet_size 100 (sent as Maximum Packet Size
    // in CONNACK, §3.2.2.3.6), a PUBLISH of 101 bytes is refused by the
    // call, one of 100 goes through. mosquitto only: ejabberd's limit (its
    // listener's max_payload_size) is not sent in CONNACK, so a client
    // cannot honour it before the server closes the connection.
    let broker = Broker::start_with_config("max_packet_size 100\n");
    let mut d = Dev5::new(config("v5-max"), broker.addr());
    d.up(WAIT).expect("up");
    assert_eq!(d.dev.client.session().server().maximum_packet_size, 100);
    // 1 + 1 + (2 + 5) + 2 + 1 + payload: 88 bytes of payload make 100
    // (90 at QoS 0, which has no packet id).
    assert_eq!(
        d.dev
            .client
            .publish("big/x", &[b'x'; 91], QoS::AtMostOnce, false),
        Err(RequestError::TooLarge)
    );
    assert_eq!(
        d.dev
            .client
            .publish("big/x", &[b'x'; 90], QoS::AtMostOnce, false),
        Ok(None)
    );
    assert_eq!(
        d.dev
            .client
            .publish("big/x", &[b'x'; 89], QoS::AtLeastOnce, false),
        Err(RequestError::TooLarge)
    );
    let token = d
        .dev
        .client
        .publish("big/x", &[b'x'; 88], QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let done = d.run_until(WAIT, published(token)).expect("completed");
    assert_eq!(done.ev, Ev::Published(token));
    assert!(
        !d.log.iter().any(|g| matches!(g.ev, Ev::Down(_))),
        "{:?}",
        d.log
    );
}

#[test]
fn the_servers_receive_maximum_bounds_the_messages_in_flight() {
    // Given mosquitto with max_inflight_messages 2, which it sends as
    // Receive Maximum (§3.2.2.3.3), when the device (room for 4) publishes
    // 16 QoS 1 messages as fast as it can, then never more than 2 are
    // sent and unacknowledged on the wire ([MQTT-3.3.4-7]), and all complete.
    // mosquitto only: ejabberd sends no Receive Maximum (it takes any
    // number in flight from a client).
    let broker = Broker::start_with_config("max_inflight_messages 2\n");
    let mut d = Dev5::new(config("v5-window"), broker.addr());
    d.dev.tcp.trace = Some(Vec::new());
    d.up(WAIT).expect("up");
    assert_eq!(d.dev.client.session().server().receive_maximum, 2);
    let mut sent = 0;
    let mut done = 0;
    let end = Instant::now() + WAIT;
    while done < 16 {
        assert!(Instant::now() < end, "stuck after {done}: {:?}", d.log);
        while sent < 16 {
            match d
                .dev
                .client
                .publish("win", format!("{sent}").as_bytes(), QoS::AtLeastOnce, false)
            {
                Ok(_) => sent += 1,
                Err(RequestError::Full) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        d.poll();
        done = d
            .log
            .iter()
            .filter(|g| matches!(g.ev, Ev::Published(_)))
            .count();
    }
    // Replay the wire: PUBLISH out raises the count, PUBACK in lowers it.
    let (mut out, mut back) = (Vec::new(), Vec::new());
    let (mut in_flight, mut most) = (0i32, 0);
    let trace: Vec<(char, Vec<u8>)> = d.dev.tcp.trace.take().unwrap();
    for (dir, bytes) in trace {
        let buf: &mut Vec<u8> = match dir {
            '>' => &mut out,
            '<' => &mut back,
            _ => continue,
        };
        buf.extend_from_slice(&bytes);
        while let Ok(Some(len)) = v5::frame_len(buf) {
            if buf.len() < len {
                break;
            }
            let packet: Vec<u8> = buf.drain(..len).collect();
            match v5::Packet::decode(&packet) {
                Ok(v5::Packet::Publish(_)) if dir == '>' => in_flight += 1,
                Ok(v5::Packet::PubAck(_)) if dir == '<' => in_flight -= 1,
                _ => {}
            }
            most = most.max(in_flight);
        }
    }
    assert_eq!(
        most, 2,
        "at most Receive Maximum in flight, and the window used"
    );
}

fn a_publish_an_acl_denies_is_completed_refused(kind: BrokerKind) {
    // Given mosquitto with an ACL that lets anonymous clients write only
    // under ok/, a QoS 1 PUBLISH elsewhere is answered PUBACK 0x87 Not
    // authorized (mosquitto 2.0, 5.0 clients) and a QoS 2 one PUBREC 0x87:
    // each is completed as refused with that reason, not retried, and the
    // connection goes on (§4.3.2, §4.3.3). ejabberd, whose mod_mqtt
    // `access_publish` lets clients write only under ok/ too (a topic no
    // filter there matches is denied), refuses them the same way with its
    // reason for a forbidden topic, 0x90 Topic Name invalid.
    let dir = std::env::temp_dir().join(format!("limpet-acl5-{}", std::process::id()));
    let (broker, refused) = match kind {
        BrokerKind::Mosquitto => {
            std::fs::create_dir_all(&dir).unwrap();
            let acl = dir.join("acl");
            std::fs::write(&acl, "topic readwrite ok/#\ntopic readwrite $probe5/#\n").unwrap();
            let broker = Broker::start_with_config(&format!("acl_file {}\n", acl.display()));
            (broker, ReasonCode::NotAuthorized)
        }
        _ => {
            let broker = Broker::start_kind_with_config(kind, "access_publish: {\"ok/#\": all}\n");
            (broker, ReasonCode::TopicNameInvalid)
        }
    };
    let mut d = Dev5::new(config_for(&broker, "v5-acl"), broker.addr());
    d.up(WAIT).expect("up");
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let token = d
            .dev
            .client
            .publish("denied/x", b"no", qos, false)
            .unwrap()
            .unwrap();
        let done = d.run_until(WAIT, published(token)).expect("completed");
        assert_eq!(done.ev, Ev::RejectedPublish(token), "{qos:?}");
        assert_eq!(done.reason, Some(refused), "{qos:?}");
    }
    let token = d
        .dev
        .client
        .publish("ok/x", b"yes", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let done = d.run_until(WAIT, published(token)).expect("completed");
    assert_eq!(done.ev, Ev::Published(token));
    assert_eq!(d.dev.client.session().inflight(), 0);
    assert_eq!(d.dev.client.counters().rejected, 2);
    assert!(
        !d.log.iter().any(|g| matches!(g.ev, Ev::Down(_))),
        "{:?}",
        d.log
    );
    let _ = std::fs::remove_dir_all(&dir);
    // Not in the ACL: subscriptions are refused by reason code too.
    d.dev
        .client
        .subscribe("denied/#", QoS::AtLeastOnce)
        .unwrap();
    let sub = d
        .run_until(WAIT, |g| {
            matches!(g.ev, Ev::Subscribed(..) | Ev::SubscribeFailed(_))
        })
        .expect("SUBACK");
    // mosquitto 2.0 grants a subscription an ACL denies reading (it then
    // sends nothing on it), and ejabberd one no `access_subscribe` denies:
    // either answer is the server's to give.
    eprintln!("SUBACK for a filter the ACL does not cover: {sub:?}");
    assert!(sub.reason.is_some(), "{sub:?}");
}

#[test]
fn mosquittos_connack_limits_are_read() {
    let broker = Broker::start_with_config("max_qos 1\nretain_available false\n");
    let mut d = Dev5::new(config("v5-limits"), broker.addr());
    d.up(WAIT).expect("up");
    let limits: ServerLimits = *d.dev.client.session().server();
    assert_eq!(limits.maximum_qos, QoS::AtLeastOnce, "{limits:?}");
    assert!(!limits.retain_available, "{limits:?}");
    assert_eq!(
        d.dev.client.publish("t", b"x", QoS::ExactlyOnce, false),
        Err(RequestError::ServerUnsupported)
    );
    assert_eq!(
        d.dev.client.publish("t", b"x", QoS::AtLeastOnce, true),
        Err(RequestError::ServerUnsupported)
    );
}

#[test]
fn ejabberds_connack_properties_are_read() {
    // ejabberd's CONNACK says Shared Subscription Available false and
    // echoes the client's keep alive as Server Keep Alive; it sends none of
    // Receive Maximum, Maximum QoS, Retain Available or Maximum Packet
    // Size, so those keep their defaults. A shared subscription is then
    // refused at the call; a plain one goes through.
    let broker = Broker::start_kind(BrokerKind::Ejabberd);
    let mut d = Dev5::new(config_for(&broker, "v5-ejabberd"), broker.addr());
    d.up(WAIT)
        .unwrap_or_else(|| panic!("no Up: {}", broker.log()));
    let limits: ServerLimits = *d.dev.client.session().server();
    assert!(!limits.shared_available, "{limits:?}");
    assert_eq!(limits.keep_alive, Some(10), "{limits:?}");
    assert_eq!(limits.receive_maximum, 65_535, "{limits:?}");
    assert_eq!(limits.maximum_qos, QoS::ExactlyOnce, "{limits:?}");
    assert!(limits.retain_available, "{limits:?}");
    assert_eq!(limits.maximum_packet_size, u32::MAX, "{limits:?}");
    assert_eq!(
        d.dev.client.subscribe("$share/g/t", QoS::AtLeastOnce),
        Err(RequestError::ServerUnsupported)
    );
    d.dev.client.subscribe("t/#", QoS::AtLeastOnce).unwrap();
    let sub = d
        .run_until(WAIT, |g| {
            matches!(g.ev, Ev::Subscribed(..) | Ev::SubscribeFailed(_))
        })
        .expect("SUBACK");
    assert_eq!(sub.ev, Ev::Subscribed("t/#".into(), QoS::AtLeastOnce));
}
