//! Clocks and liveness: a clock starting anywhere, a hung broker, a link
//! busy with a backlog, a slow socket (issue 6, defects 2 to 4).

use super::sim::{seq_payload, Sim};
use super::*;
use crate::session::Counters;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// The client's configuration ("dev") with this keepalive, in seconds.
fn keepalive(seconds: u16) -> Config<'static> {
    let mut config = Config::new("dev");
    config.keepalive = seconds;
    config
}

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
    let mut c = client_with(&mut b, keepalive(20), quick_options());
    let mut sim = Sim::starting_at(start);
    let Sim { t, broker, clock } = &mut sim;
    // The first poll connects at once, whatever the clock says.
    broker.serve(t, clock.now);
    assert_eq!(c.poll(clock.now, t).map(|_| ()), None);
    broker.serve(t, clock.now);
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
    let mut next_publish = sim.clock.now;
    let mut acked = 0;
    let epoch = sim.clock.now;
    let mut events: heapless::Vec<(u32, Option<Reason>), 16> = heapless::Vec::new();
    // Minutes 0–4 normal, 4–5 the broker hung, 5–10 normal again.
    for (hung, ms) in [(false, 240_000), (true, 60_000), (false, 300_000)] {
        sim.broker.hung = hung;
        sim.run(
            &mut c,
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
    out.connects = sim.broker.connects;
    out.pings = sim.broker.pings;
    out.max_silence = sim.broker.max_silence;
    out.published = usize::from(next_seq);
    out.delivered = sim.broker.distinct(600);
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
        let mut c = client_with(&mut b, keepalive(20), quick_options());
        let mut sim = Sim::starting_at(start);
        let (mut next, mut downs, mut acked) = (0u16, 0, 0);
        let mut publish_at = sim.clock.now;
        // Minute one: normal. Minute two: hung. Minute three: back.
        for phase in 0..3 {
            sim.broker.hung = phase == 1;
            sim.run(
                &mut c,
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
        assert_eq!(sim.broker.distinct(usize::from(next)), usize::from(next));
        assert!(
            acked + 2 >= u32::from(next),
            "start {start}: {acked} of {next}"
        );
    }
}

#[test]
fn a_link_busy_with_a_backlog_is_not_declared_dead() {
    let mut b = Buffers::new();
    let mut config = keepalive(4); // a ping every second...
    config.response_time = Duration::from_ticks(2_000); // ...answered within 2 s
    let mut c = client_with(&mut b, config, quick_options());
    let mut sim = Sim::starting_at(7);
    sim.t.recv_rate = 1;
    // One byte a millisecond and a 4 KiB queue: the broker's answers wait
    // about 4 s behind its backlog of QoS 0 messages, twice response_time.
    sim.clock.passes_per_ms = 1;
    let (mut ups, mut downs, mut messages) = (0, 0, 0u32);
    let mut seq = 0u16;
    sim.run(
        &mut c,
        20_000,
        |c, pipe, _| {
            if c.is_connected() {
                while pipe.to_client.capacity() - pipe.to_client.len() >= 16 {
                    let payload = seq.to_be_bytes();
                    pipe.push(publish_packet(
                        QoS::AtMostOnce,
                        None,
                        false,
                        "flood",
                        &payload,
                    ));
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
        sim.broker.pings >= 15 && sim.broker.max_silence <= 1_100,
        "{} pings, silence {}",
        sim.broker.pings,
        sim.broker.max_silence
    );
}

#[test]
fn one_poll_does_bounded_work_under_a_backlog() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
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

#[test]
fn a_transport_taking_a_few_bytes_at_a_time_does_not_stall_a_sleeping_loop() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut sim = Sim::starting_at(0);
    sim.t.send_rate = 3;
    let mut next = 0u16;
    let mut done_at = None;
    while sim.clock.spent < 60_000 && done_at.is_none() {
        sim.run(
            &mut c,
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
        if sim.broker.distinct(1000) == 1000 {
            done_at = Some(sim.clock.spent);
        }
    }
    // 1,000 seven-byte packets, three bytes each time the socket becomes
    // writable (the loop waits for that, a millisecond here, instead of
    // spinning): about 2.4 s. A loop that ignored the bytes waiting would
    // sleep until the next ping (15 s) each time the socket was full.
    let took = done_at.expect("not all 1,000 messages arrived within 60 s");
    assert!(took < 4_000, "took {took} ms");
}
