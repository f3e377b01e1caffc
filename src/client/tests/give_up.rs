//! Requests are given up only on evidence that the broker closes on them
//! (issue 13, defect 3): a close that a load balancer, a restarting node or
//! a flapping link could have made costs nothing.

use super::sim::{seq_payload, Sim};
use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// What a run saw.
#[derive(Default)]
struct Seen {
    rejected: u32,
    subscribed: bool,
    published: u32,
}

fn on_event(seen: &mut Seen, e: &Event<'_>) {
    match e {
        Event::Rejected(_) => seen.rejected += 1,
        Event::Subscribed { .. } => seen.subscribed = true,
        Event::Published(_) => seen.published += 1,
        _ => {}
    }
}

#[test]
fn a_broker_that_closes_right_after_connack_never_costs_a_subscription_or_a_message() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    c.subscribe("cmd", QoS::AtLeastOnce).unwrap();
    for seq in 0..2 {
        c.publish("t", &seq_payload(seq), QoS::AtLeastOnce, false)
            .unwrap();
    }
    let mut sim = Sim::starting_at(0);
    // A load balancer in front of a node that is still starting: twelve
    // connections are accepted and closed at once, whatever the client sends.
    sim.broker.kick_first = 12;
    let mut seen = Seen::default();
    sim.idle(&mut c, 60_000, |e, _| on_event(&mut seen, e));
    let connects = sim.broker.connects;
    assert!(connects > 12, "{connects} connections");
    assert_eq!(seen.rejected, 0, "{:?}", c.counters());
    assert!(seen.subscribed && seen.published == 2);
    assert_eq!(c.counters().rejected, 0);
    assert_eq!(c.counters().protocol_errors, 0, "{:?}", c.counters());
}

#[test]
fn a_flapping_link_never_costs_a_message_however_often_it_is_cut() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut sim = Sim::starting_at(0);
    // A slow link: a cut always finds messages on their way.
    sim.t.send_rate = 2;
    sim.broker.cut_after = Some(3);
    sim.broker.cuts = 30;
    sim.clock.passes_per_ms = 1;
    let mut seen = Seen::default();
    let mut next = 0u16;
    sim.run(
        &mut c,
        120_000,
        |c, _, _| {
            if next < 40
                && c.publish("t", &seq_payload(next), QoS::AtLeastOnce, false)
                    .is_ok()
            {
                next += 1;
            }
            None
        },
        |e, _| on_event(&mut seen, e),
    );
    assert_eq!(sim.broker.cuts, 0, "the link was cut 30 times");
    assert_eq!(seen.rejected, 0, "{:?}", c.counters());
    assert_eq!((next, seen.published), (40, 40));
    assert_eq!(sim.broker.distinct(40), 40);
}

#[test]
fn a_qos2_message_the_broker_has_received_is_never_given_up() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let token = c
        .publish("t", b"once", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    let mut sim = Sim::starting_at(0);
    // Five times the link breaks after the broker's PUBREC reached the
    // client, before the PUBCOMP could come back: each new connection must
    // carry the PUBREL (§4.4), and the message stays the broker's.
    sim.broker.cut_on_pubrel = 5;
    let (mut rejected, mut done) = (0, false);
    sim.idle(&mut c, 30_000, |e, _| match e {
        Event::Rejected(_) => rejected += 1,
        Event::Published(tk) => done = *tk == token,
        _ => {}
    });
    assert_eq!(sim.broker.cut_on_pubrel, 0, "cut five times");
    assert_eq!(rejected, 0);
    assert!(done, "completed once the link held");
    assert_eq!(c.session().inflight(), 0);
}

#[test]
fn a_message_the_broker_closes_on_every_time_is_given_up_and_the_rest_go_through() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut sim = Sim::starting_at(0);
    // A broker whose policy disconnects a client publishing here (as AWS
    // IoT does), in the middle of a stream of good messages.
    sim.broker.refuse_topic = Some("forbidden");
    let mut seen = Seen::default();
    let poison = core::cell::Cell::new(None);
    let mut next = 0u16;
    sim.run(
        &mut c,
        60_000,
        |c, _, _| {
            if next == 3 && poison.get().is_none() {
                poison.set(
                    c.publish("forbidden", b"x", QoS::AtLeastOnce, false)
                        .ok()
                        .flatten(),
                );
            } else if next < 10
                && c.publish("t", &seq_payload(next), QoS::AtLeastOnce, false)
                    .is_ok()
            {
                next += 1;
            }
            None
        },
        |e, _| {
            if let Event::Rejected(Rejected::Publish(tk)) = e {
                assert_eq!(Some(*tk), poison.get());
            }
            on_event(&mut seen, e)
        },
    );
    assert!(poison.get().is_some());
    assert_eq!(seen.rejected, 1, "{:?}", c.counters());
    assert_eq!(seen.published, 10);
    assert_eq!(sim.broker.distinct(10), 10);
    assert_eq!(c.session().inflight(), 0);
}

#[test]
fn a_broker_that_closes_on_a_subscription_does_not_block_what_comes_after_it() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    c.subscribe("acl/denied", QoS::AtLeastOnce).unwrap();
    c.subscribe("ok", QoS::AtLeastOnce).unwrap();
    let mut sim = Sim::starting_at(0);
    sim.broker.refuse_filter = Some("acl/denied");
    let (mut rejected, mut subscribed, mut acked) = (0, false, 0u16);
    let mut next: u16 = 0;
    sim.run(
        &mut c,
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
    assert_eq!(sim.broker.connects, 5, "{:?}", c.counters());
}
