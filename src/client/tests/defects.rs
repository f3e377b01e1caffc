//! One scenario per defect found by testing from outside (issue 6), each
//! named after the behaviour that failed before and holds now.

use super::sim::{run, seq_payload, AutoBroker, Clock};
use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
use crate::session::{ConfigError, Counters};
use crate::wire::topic::TopicError;
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

fn quick_options() -> Options {
    Options {
        backoff: Backoff::new(Duration::from_ticks(100), Duration::from_ticks(400), 3),
        ..Options::default()
    }
}

// ---------------------------------------------------------------- defect 1

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
    let mut c0: Client<'_, 2, 2, 0> = Client::new(
        Config::new("d"),
        Options::default(),
        &mut b2.rx,
        &mut b2.tx,
        &mut b2.store,
    )
    .unwrap();
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
        let made = Client::<'_, 2, 2>::new(
            config,
            Options::default(),
            &mut b.rx,
            &mut b.tx,
            &mut b.store,
        );
        assert_eq!(made.err(), Some(want));
    }
    // An empty id with a clean session is fine (§3.1.3.1).
    let mut b = Buffers::new();
    assert!(Client::<'_, 2, 2>::new(
        Config::new(""),
        Options::default(),
        &mut b.rx,
        &mut b.tx,
        &mut b.store
    )
    .is_ok());
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
fn a_broker_that_closes_on_a_subscription_does_not_block_what_comes_after_it() {
    let mut b = Buffers::new();
    let mut c: Client<'_, 2, 2> = Client::new(
        Config::new("dev"),
        quick_options(),
        &mut b.rx,
        &mut b.tx,
        &mut b.store,
    )
    .unwrap();
    c.subscribe("acl/denied", QoS::AtLeastOnce).unwrap();
    c.subscribe("ok", QoS::AtLeastOnce).unwrap();
    let mut t = Pipe::new();
    let mut broker = AutoBroker::new();
    broker.refuse_filter = Some("acl/denied");
    let mut clock = Clock::starting_at(0);
    let (mut rejected, mut subscribed, mut acked) = (0, false, 0u16);
    let mut next: u16 = 0;
    run(
        &mut c,
        &mut t,
        &mut broker,
        &mut clock,
        30_000,
        |c, _, _| {
            if next < 20
                && c.publish("t", &seq_payload(next), QoS::AtLeastOnce, false)
                    .is_ok()
            {
                next += 1;
            }
            None
        },
        |e, _| match e {
            Event::Rejected(Rejected::Subscribe("acl/denied")) => rejected += 1,
            Event::Subscribed { topic: "ok", .. } => subscribed = true,
            Event::Published(_) => acked += 1,
            _ => {}
        },
    );
    assert_eq!(rejected, 1, "dropped and reported once");
    assert!(
        subscribed && acked == 20,
        "subscribed {subscribed}, acked {acked}"
    );
    assert_eq!(c.counters().rejected, 1);
    // The first close came with everything pipelined (no evidence against
    // any one request); then three cautious connections were each closed
    // right after it was sent alone (max_rejections strikes), then no more.
    assert_eq!(broker.connects, 5, "{:?}", c.counters());
}

// ---------------------------------------------------------------- defect 2

/// What one simulated run produced, compared across clock start values.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    first_connect_at: u32,
    ups: heapless::Vec<u32, 8>,
    downs: heapless::Vec<(u32, Reason), 8>,
    connects: u32,
    pings: u32,
    max_silence: u32,
    published: usize,
    delivered: usize,
    acked: u32,
    counters: Counters,
}

/// Ten simulated minutes: a QoS 1 message a second, the broker hung for a
/// minute at minute four; pings every 5 s (keepalive 20 s).
fn ten_minutes_from(start: u32) -> Outcome {
    let mut b = Buffers::new();
    let mut config = Config::new("dev");
    config.keepalive = 20;
    let mut c: Client<'_, 2, 2> =
        Client::new(config, quick_options(), &mut b.rx, &mut b.tx, &mut b.store).unwrap();
    let mut t = Pipe::new();
    let mut broker = AutoBroker::new();
    let mut clock = Clock::starting_at(start);
    // The first poll connects at once, whatever the clock says.
    broker.serve(&mut t, clock.now);
    assert_eq!(c.poll(clock.now, &mut t).map(|_| ()), None);
    broker.serve(&mut t, clock.now);
    let first_connect_at = if broker.connects == 1 {
        clock.spent
    } else {
        u32::MAX
    };
    let mut out = Outcome {
        first_connect_at,
        ups: heapless::Vec::new(),
        downs: heapless::Vec::new(),
        connects: 0,
        pings: 0,
        max_silence: 0,
        published: 0,
        delivered: 0,
        acked: 0,
        counters: Counters::default(),
    };
    let mut next_seq = 0u16;
    let mut next_publish = clock.now;
    let mut acked = 0;
    let epoch = clock.now;
    let mut events: heapless::Vec<(u32, Option<Reason>), 16> = heapless::Vec::new();
    // Minutes 0–4 normal, 4–5 the broker hung, 5–10 normal again.
    for (hung, ms) in [(false, 240_000), (true, 60_000), (false, 300_000)] {
        broker.hung = hung;
        run(
            &mut c,
            &mut t,
            &mut broker,
            &mut clock,
            ms,
            |c, _, now| {
                if next_seq == 600 {
                    return None;
                }
                if now >= next_publish {
                    match c.publish("t", &seq_payload(next_seq), QoS::AtLeastOnce, false) {
                        Ok(_) => {
                            next_seq += 1;
                            next_publish += Duration::from_ticks(1000);
                        }
                        // Both slots wait for the broker: try again in 100 ms.
                        Err(_) => next_publish = now + Duration::from_ticks(100),
                    }
                }
                Some(next_publish)
            },
            |e, now| {
                let at = (now - epoch).ticks();
                match e {
                    Event::Up { .. } => events.push((at, None)).unwrap(),
                    Event::Down(r) => events.push((at, Some(*r))).unwrap(),
                    Event::Published(_) => acked += 1,
                    _ => {}
                }
            },
        );
    }
    for (at, r) in events {
        match r {
            None => out.ups.push(at).unwrap(),
            Some(r) => out.downs.push((at, r)).unwrap(),
        }
    }
    out.connects = broker.connects;
    out.pings = broker.pings;
    out.max_silence = broker.max_silence;
    out.published = usize::from(next_seq);
    out.delivered = broker.distinct(600);
    out.acked = acked;
    out.counters = *c.counters();
    out
}

#[test]
fn clocks_starting_anywhere_behave_the_same_across_the_wrap() {
    let reference = ten_minutes_from(0);
    assert_eq!(reference.first_connect_at, 0);
    // Up, down when the broker hung (dead link), up again once it is back.
    assert_eq!(reference.ups.len(), 2, "{reference:?}");
    assert_eq!(reference.downs.len(), 1, "{reference:?}");
    // Back within response_time (a CONNECT sent into the hang times out) + backoff.
    assert!(
        reference.ups[1] >= 300_000 && reference.ups[1] < 311_000,
        "{reference:?}"
    );
    // A message a second, but none while both slots wait on the hung broker.
    assert!(reference.published > 500, "{reference:?}");
    assert_eq!(reference.delivered, reference.published);
    assert_eq!(reference.acked as usize, reference.published);
    // The broker never waited 1.5 × keepalive (30 s) for a packet.
    assert!(reference.max_silence <= 10_000, "{reference:?}");
    // 2^31 ± δ and u32::MAX − δ; the last two cross the wrap mid-run.
    for start in [
        1u32 << 31,
        (1 << 31) - 5_000,
        (1 << 31) + 5_000,
        u32::MAX - 5_000,
        u32::MAX - 300_000,
    ] {
        assert_eq!(
            ten_minutes_from(start),
            reference,
            "clock starting at {start}"
        );
    }
}

#[test]
fn a_hung_broker_is_detected_and_nothing_is_lost_whatever_the_clock() {
    for start in [0, u32::MAX - 100_000] {
        let mut b = Buffers::new();
        let mut config = Config::new("dev");
        config.keepalive = 20;
        let mut c: Client<'_, 2, 2> =
            Client::new(config, quick_options(), &mut b.rx, &mut b.tx, &mut b.store).unwrap();
        let mut t = Pipe::new();
        let mut broker = AutoBroker::new();
        let mut clock = Clock::starting_at(start);
        let (mut next, mut downs, mut acked) = (0u16, 0, 0);
        let mut publish_at = clock.now;
        // Minute one: normal. Minute two: hung. Minute three: back.
        for phase in 0..3 {
            broker.hung = phase == 1;
            run(
                &mut c,
                &mut t,
                &mut broker,
                &mut clock,
                60_000,
                |c, _, now| {
                    if now >= publish_at {
                        if c.publish("t", &seq_payload(next), QoS::AtLeastOnce, false)
                            .is_ok()
                        {
                            next += 1;
                        }
                        // Refused while both slots wait: the next try in 500 ms too.
                        publish_at = now + Duration::from_ticks(500);
                    }
                    Some(publish_at)
                },
                |e, _| match e {
                    Event::Down(Reason::PingTimeout | Reason::PubAckTimeout) => downs += 1,
                    Event::Published(_) => acked += 1,
                    _ => {}
                },
            );
        }
        assert_eq!(downs, 1, "start {start}");
        // A publish is only refused while both slots wait for the broker.
        assert!(next >= 200, "start {start}: {next}");
        assert_eq!(broker.distinct(usize::from(next)), usize::from(next));
        assert!(
            acked + 2 >= u32::from(next),
            "start {start}: {acked} of {next}"
        );
    }
}

// ---------------------------------------------------------------- defect 3

#[test]
fn a_link_busy_with_a_backlog_is_not_declared_dead() {
    let mut b = Buffers::new();
    let mut config = Config::new("dev");
    config.keepalive = 4; // a ping every second...
    config.response_time = Duration::from_ticks(2_000); // ...answered within 2 s
    let mut c: Client<'_, 2, 2> =
        Client::new(config, quick_options(), &mut b.rx, &mut b.tx, &mut b.store).unwrap();
    let mut t = Pipe::new();
    t.recv_rate = 1;
    let mut broker = AutoBroker::new();
    let mut clock = Clock::starting_at(7);
    // One byte a millisecond and a 4 KiB queue: the broker's answers wait
    // about 4 s behind its backlog of QoS 0 messages, twice response_time.
    clock.passes_per_ms = 1;
    let (mut ups, mut downs, mut messages) = (0, 0, 0u32);
    let mut seq = 0u16;
    run(
        &mut c,
        &mut t,
        &mut broker,
        &mut clock,
        20_000,
        |c, pipe, _| {
            if c.is_connected() {
                while pipe.to_client.capacity() - pipe.to_client.len() >= 16 {
                    pipe.push(Packet::Publish(Publish {
                        dup: false,
                        qos: QoS::AtMostOnce,
                        retain: false,
                        topic: "flood",
                        pid: None,
                        payload: &seq.to_be_bytes(),
                    }));
                    seq = seq.wrapping_add(1);
                }
            }
            None
        },
        |e, _| match e {
            Event::Up { .. } => ups += 1,
            Event::Down(_) => downs += 1,
            Event::Message(_) => messages += 1,
            _ => {}
        },
    );
    assert_eq!(
        (ups, downs),
        (1, 0),
        "the link was declared dead under its backlog"
    );
    assert!(messages > 1_000, "{messages}");
    // The broker's keepalive was fed all along.
    assert!(
        broker.pings >= 15 && broker.max_silence <= 1_100,
        "{} pings, silence {}",
        broker.pings,
        broker.max_silence
    );
}

#[test]
fn one_poll_does_bounded_work_under_a_backlog() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    bring_up(&mut c, &mut t);
    // 200 packets that produce no event (late PUBACKs for ids long done).
    for _ in 0..200 {
        t.push(Packet::PubAck(9));
    }
    assert_eq!(poll_kind(&mut c, at(5), &mut t), None);
    let left = t.to_client.len() / 4;
    assert!(left >= 200 - usize::from(PACKETS_PER_POLL), "{left} left");
    // Work is left: the deadline says so, so a loop that sleeps won't.
    assert_eq!(c.next_deadline(at(5)), Some(at(5)));
    let mut polls = 1;
    while !t.to_client.is_empty() {
        assert_eq!(poll_kind(&mut c, at(5), &mut t), None);
        polls += 1;
    }
    assert!(polls >= 200 / usize::from(PACKETS_PER_POLL));
    assert!(c.is_connected());
}

// ---------------------------------------------------------------- defect 4

#[test]
fn a_transport_taking_a_few_bytes_at_a_time_does_not_stall_a_sleeping_loop() {
    let mut b = Buffers::new();
    let mut c: Client<'_, 2, 2> = Client::new(
        Config::new("dev"),
        quick_options(),
        &mut b.rx,
        &mut b.tx,
        &mut b.store,
    )
    .unwrap();
    let mut t = Pipe::new();
    t.send_rate = 3;
    let mut broker = AutoBroker::new();
    let mut clock = Clock::starting_at(0);
    let mut next = 0u16;
    let mut done_at = None;
    while clock.spent < 60_000 && done_at.is_none() {
        run(
            &mut c,
            &mut t,
            &mut broker,
            &mut clock,
            10,
            |c, _, _| {
                while next < 1000 {
                    match c.publish("t", &seq_payload(next), QoS::AtMostOnce, false) {
                        Ok(_) => next += 1,
                        Err(RequestError::WouldBlock | RequestError::NotConnected) => break,
                        Err(e) => panic!("{e:?}"),
                    }
                }
                None
            },
            |_, _| {},
        );
        if broker.distinct(1000) == 1000 {
            done_at = Some(clock.spent);
        }
    }
    // 1,000 seven-byte packets, three bytes each time the socket becomes
    // writable (the loop waits for that, a millisecond here, instead of
    // spinning): about 2.4 s. A loop that ignored the bytes waiting would
    // sleep until the next ping (15 s) each time the socket was full.
    let took = done_at.expect("not all 1,000 messages arrived within 60 s");
    assert!(took < 4_000, "took {took} ms");
}

// ---------------------------------------------------------------- defect 5

#[test]
fn a_broker_that_drops_the_client_after_connack_gets_fewer_and_fewer_attempts() {
    let mut b = Buffers::new();
    let options = Options::default(); // 250 ms to 8 s
    let mut c: Client<'_, 2, 2> = Client::new(
        Config::new("dev"),
        options,
        &mut b.rx,
        &mut b.tx,
        &mut b.store,
    )
    .unwrap();
    let mut t = Pipe::new();
    let mut broker = AutoBroker::new();
    broker.kick_after_connack = true;
    let mut clock = Clock::starting_at(0);
    let mut ups: heapless::Vec<u32, 256> = heapless::Vec::new();
    run(
        &mut c,
        &mut t,
        &mut broker,
        &mut clock,
        120_000,
        |_, _, _| None,
        |e, now| {
            if let Event::Up { .. } = e {
                ups.push(now.ticks()).unwrap();
            }
        },
    );
    // Resetting the backoff on each CONNACK gave an attempt every 125–250 ms
    // (~600 in two minutes); growing it gives a few dozen.
    assert!(ups.len() < 60, "{} connections", ups.len());
    let late: u32 = ups
        .windows(2)
        .rev()
        .take(5)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap();
    assert!(late >= 250, "{late}");
    let mean_late = ups
        .windows(2)
        .rev()
        .take(10)
        .map(|w| w[1] - w[0])
        .sum::<u32>()
        / 10;
    assert!(
        mean_late >= 2_000,
        "mean of the last ten gaps {mean_late} ms"
    );

    // A connection that proves itself (stays up 10 s) starts over from 250 ms.
    broker.kick_after_connack = false;
    let mut up_at = None;
    run(
        &mut c,
        &mut t,
        &mut broker,
        &mut clock,
        20_000,
        |_, _, _| None,
        |e, now| {
            if let Event::Up { .. } = e {
                up_at = Some(now);
            }
        },
    );
    let up_at = up_at.expect("connected");
    assert!(c.is_connected());
    t.close(); // the link drops
    let mut down_at = None;
    let mut again = None;
    run(
        &mut c,
        &mut t,
        &mut broker,
        &mut clock,
        5_000,
        |_, _, _| None,
        |e, now| match e {
            Event::Down(_) => down_at = Some(now),
            Event::Up { .. } => again = Some(now),
            _ => {}
        },
    );
    let gap = (again.expect("reconnected") - down_at.expect("went down")).ticks();
    assert!((up_at - Instant::from_ticks(0)).ticks() > 0);
    assert!(
        gap <= 750,
        "backoff not reset after a stable connection: {gap} ms"
    );
}

// ---------------------------------------------------------------- defect 6

#[test]
fn an_oversize_message_is_acknowledged_even_when_the_socket_was_full() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    bring_up(&mut c, &mut t);
    // The socket takes nothing; 36 small QoS 1 messages fill the transmit
    // buffer (32 four-byte PUBACKs in 128 B) and the acknowledgement queue
    // (4), then a QoS 1 message larger than the receive buffer arrives, then
    // four more small ones.
    t.send_room = 0;
    let small = |pid| {
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "s",
            pid: Some(pid),
            payload: b"x",
        })
    };
    for pid in 1..=36u16 {
        t.push(small(pid));
    }
    let big = [7u8; 200];
    t.push(Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "big",
        pid: Some(99),
        payload: &big,
    }));
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
    let mut acked: heapless::Vec<u16, 64> = heapless::Vec::new();
    t.sent(|p| {
        if let Packet::PubAck(pid) = p {
            acked.push(pid).unwrap();
        }
    });
    assert!(
        acked.contains(&99),
        "the skipped message's PUBACK was lost: {acked:?}"
    );
    assert_eq!(acked.len(), 41);
    assert_eq!(c.counters().oversize, 1);
}

// ---------------------------------------------------------------- defect 7

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
    let mut t = Pipe::new();
    let mut broker = AutoBroker::new();
    let mut clock = Clock::starting_at(0);
    let mut done: heapless::Vec<u16, 300> = heapless::Vec::new();
    run(
        &mut c,
        &mut t,
        &mut broker,
        &mut clock,
        5_000,
        |_, _, _| None,
        |e, _| {
            if let Event::Published(tok) = e {
                assert!(!done.contains(&tok.0));
                done.push(tok.0).unwrap();
            }
        },
    );
    assert_eq!(broker.distinct(300), 300);
    assert_eq!(done.len(), 300);
    assert_eq!(c.session().inflight(), 0);
}

// ---------------------------------------------------------------- defect 11

#[test]
fn a_connack_with_reserved_flag_bits_set_closes_the_connection_as_a_protocol_error_and_reconnects()
{
    use crate::wire::DecodeError;
    // §3.2.2.1: bits 7–1 of the Connect Acknowledge Flags are reserved, 0.
    for flags in [0x02u8, 0x80, 0xFE, 0xFF] {
        let mut b = Buffers::new();
        let mut c = client(&mut b);
        let mut t = Pipe::new();
        assert_eq!(poll_kind(&mut c, at(0), &mut t), None);
        assert_eq!(t.sent(|p| assert!(matches!(p, Packet::Connect(_)))), 1);
        t.push_bytes(&[0x20, 2, flags, 0]);
        // §4.8: a protocol violation closes the connection.
        assert_eq!(
            poll_kind(&mut c, at(1), &mut t),
            Some(Event::ConnectFailed(Reason::Malformed(
                DecodeError::BadConnAck
            ))),
            "flags {flags:#04x}"
        );
        assert!(!c.is_connected());
        assert!(
            !t.connected,
            "flags {flags:#04x}: the connection stays open"
        );
        assert_eq!(c.counters().protocol_errors, 1);
        // Then a new connection, after the backoff, that a good CONNACK brings up.
        let retry = c.next_deadline(at(1)).unwrap();
        assert!(retry > at(1));
        assert_eq!(poll_kind(&mut c, retry, &mut t), None);
        assert_eq!(t.connects, 2);
        assert_eq!(t.sent(|p| assert!(matches!(p, Packet::Connect(_)))), 1);
        t.push(ACCEPTED);
        assert_eq!(
            poll_kind(&mut c, retry, &mut t),
            Some(Event::Up {
                session_present: false
            })
        );
    }
}
