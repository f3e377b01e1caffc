//! The client over a scripted in-memory transport: framing, oversize skips,
//! malformed input, reconnection. Only `core` + heapless, so these also run
//! on the microcontroller instruction sets.

use super::*;
use crate::session::{Config, Rejected};
use crate::wire::{ConnAck, Connect, ConnectReturnCode, Frame, Packet, Publish, SubAck};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

fn at(ms: u32) -> Instant {
    Instant::from_ticks(ms)
}

mod backoff;
mod chunks;
mod driver;
mod give_up;
mod liveness;
#[cfg(feature = "mqtt5")]
mod mqtt5;
mod qos2;
mod refusals;
mod restore;
mod sim;

/// A transport whose far end is the test.
pub(super) struct Pipe {
    connected: bool,
    refuse: bool,
    to_client: heapless::Deque<u8, 4096>,
    from_client: heapless::Vec<u8, 4096>,
    /// Bytes handed out per `recv` (exercises partial reads).
    chunk: usize,
    /// Bytes `send` still takes before it would block.
    send_room: usize,
    /// What `send_room` is refilled to on each pass of `sim::run` (a link
    /// that moves this many bytes per pass).
    send_rate: usize,
    /// Bytes `recv` still gives before it would block, and what `sim::run`
    /// refills it to on each pass (a link that slow).
    recv_room: usize,
    recv_rate: usize,
    /// The peer hangs up once the bytes for the client have been read.
    hangup: bool,
    connects: u32,
}

impl Pipe {
    fn new() -> Self {
        Pipe {
            connected: false,
            refuse: false,
            to_client: heapless::Deque::new(),
            from_client: heapless::Vec::new(),
            chunk: usize::MAX,
            send_room: usize::MAX,
            send_rate: usize::MAX,
            recv_room: usize::MAX,
            recv_rate: usize::MAX,
            hangup: false,
            connects: 0,
        }
    }

    fn push(&mut self, packet: Packet<'_>) {
        let mut buf = [0u8; 2048];
        let n = packet.encode(&mut buf).unwrap();
        self.push_bytes(&buf[..n]);
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.to_client.push_back(*b).unwrap();
        }
    }

    /// Removes and returns the type of each packet the client sent, decoded.
    fn sent(&mut self, mut each: impl FnMut(Packet<'_>)) -> usize {
        let bytes = core::mem::take(&mut self.from_client);
        let mut rest = &bytes[..];
        let mut count = 0;
        while !rest.is_empty() {
            let frame = Frame::parse(rest).unwrap().unwrap();
            let (one, tail) = rest.split_at(frame.len());
            each(Packet::decode(one).unwrap());
            rest = tail;
            count += 1;
        }
        count
    }
}

impl Transport for Pipe {
    type Error = ();

    fn connect(&mut self) -> nb::Result<(), ()> {
        if self.refuse {
            return Err(nb::Error::Other(()));
        }
        if !self.connected {
            // A new connection is a new byte stream both ways.
            self.connects += 1;
            self.hangup = false;
            self.to_client.clear();
            self.from_client.clear();
        }
        self.connected = true;
        Ok(())
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
        if !self.connected {
            return Err(nb::Error::Other(()));
        }
        let room = (self.from_client.capacity() - self.from_client.len()).min(self.send_room);
        let n = data.len().min(room);
        if n == 0 {
            return Err(nb::Error::WouldBlock);
        }
        self.from_client.extend_from_slice(&data[..n]).unwrap();
        self.send_room -= n.min(self.send_room);
        Ok(n)
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
        if !self.connected {
            return Err(nb::Error::Other(()));
        }
        let mut n = 0;
        while n < buf.len() && n < self.chunk && n < self.recv_room {
            match self.to_client.pop_front() {
                Some(b) => {
                    buf[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        self.recv_room -= n.min(self.recv_room);
        match n {
            0 if self.hangup && self.to_client.is_empty() => Err(nb::Error::Other(())),
            0 => Err(nb::Error::WouldBlock),
            n => Ok(n),
        }
    }

    fn close(&mut self) {
        self.connected = false;
        self.to_client.clear();
    }
}

struct Buffers {
    rx: [u8; 64],
    tx: [u8; 128],
    store: [u8; 256],
}

impl Buffers {
    fn new() -> Self {
        Buffers {
            rx: [0; 64],
            tx: [0; 128],
            store: [0; 256],
        }
    }
}

/// Options with a quick backoff (100 ms to 400 ms), so retries come soon.
fn quick_options() -> Options {
    Options {
        backoff: Backoff::new(Duration::from_ticks(100), Duration::from_ticks(400), 3),
        ..Options::default()
    }
}

/// The client most scenarios test: id "dev", quick backoff.
fn client(b: &mut Buffers) -> Client<'_, 2, 2> {
    client_with(b, Config::new("dev"), quick_options())
}

/// A client with this configuration and these options over `b`.
fn client_with<'b>(b: &'b mut Buffers, config: Config<'b>, options: Options) -> Client<'b, 2, 2> {
    try_client(b, config, options).unwrap()
}

/// `Client::new` over `b`, of any capacity, as it answers.
fn try_client<'b, const N: usize, const S: usize, const R: usize>(
    b: &'b mut Buffers,
    config: Config<'b>,
    options: Options,
) -> Result<Client<'b, N, S, R>, crate::session::ConfigError> {
    Client::new(config, options, &mut b.rx, &mut b.tx, &mut b.store)
}

/// A configuration whose session outlives its connections, from the first.
fn persistent() -> Config<'static> {
    let mut config = Config::new("dev");
    config.clean_init = false;
    config.clean = false;
    config
}

/// `client` brought up on a fresh pipe: where most scenarios start.
fn connected(b: &mut Buffers) -> (Client<'_, 2, 2>, Pipe) {
    let mut c = client(b);
    let mut t = Pipe::new();
    bring_up(&mut c, &mut t);
    (c, t)
}

/// A PUBLISH the broker sends.
fn publish_packet<'p>(
    qos: QoS,
    pid: Option<u16>,
    dup: bool,
    topic: &'p str,
    payload: &'p [u8],
) -> Packet<'p> {
    Packet::Publish(Publish {
        dup,
        qos,
        retain: false,
        topic,
        pid,
        payload,
    })
}

/// The ids of the PUBACKs the client sent since the last look.
fn pubacks(t: &mut Pipe) -> heapless::Vec<u16, 64> {
    let mut ids = heapless::Vec::new();
    t.sent(|p| {
        if let Packet::PubAck(id) = p {
            ids.push(id).unwrap();
        }
    });
    ids
}

/// Polls once and returns the first event, reduced to a comparable form.
fn poll_kind(c: &mut Client<'_, 2, 2>, now: Instant, t: &mut Pipe) -> Option<Event<'static>> {
    c.poll(now, t).map(|e| match e {
        Event::Message(_) | Event::Chunk(_) => panic!("use poll directly for messages"),
        Event::Rejected(r) => Event::Rejected(match r {
            Rejected::Publish(t) => Rejected::Publish(t),
            Rejected::Subscribe(_) => Rejected::Subscribe(""),
            Rejected::Unsubscribe(_) => Rejected::Unsubscribe(""),
        }),
        Event::Up { session_present } => Event::Up { session_present },
        Event::Down(r) => Event::Down(r),
        Event::ConnectFailed(r) => Event::ConnectFailed(r),
        Event::Published(t) => Event::Published(t),
        Event::Subscribed { qos, .. } => Event::Subscribed { topic: "", qos },
        Event::SubscribeFailed { .. } => Event::SubscribeFailed { topic: "" },
        Event::Unsubscribed { .. } => Event::Unsubscribed { topic: "" },
    })
}

const ACCEPTED: Packet<'static> = Packet::ConnAck(ConnAck {
    session_present: false,
    code: ConnectReturnCode::Accepted,
});

fn bring_up(c: &mut Client<'_, 2, 2>, t: &mut Pipe) {
    bring_up_at(c, t, at(0), at(1));
}

/// A poll at `now` sends one CONNECT; the broker accepts; a poll at `then`
/// reports Up.
fn bring_up_at(c: &mut Client<'_, 2, 2>, t: &mut Pipe, now: Instant, then: Instant) {
    assert_eq!(poll_kind(c, now, t), None);
    assert_eq!(t.sent(|p| assert!(matches!(p, Packet::Connect(_)))), 1);
    t.push(ACCEPTED);
    assert_eq!(
        poll_kind(c, then, t),
        Some(Event::Up {
            session_present: false
        })
    );
    assert!(c.is_connected());
}

#[test]
fn connects_and_reports_up() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    bring_up(&mut c, &mut t);
    assert_eq!(c.counters().connects, 1);
}

#[test]
fn a_message_is_acknowledged_only_after_it_was_handed_over() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    t.chunk = 3; // arrives in dribs and drabs
    t.push(publish_packet(
        QoS::AtLeastOnce,
        Some(42),
        false,
        "a/b",
        b"payload",
    ));
    match c.poll(at(2), &mut t) {
        Some(Event::Message(m)) => assert_eq!((m.topic, m.payload), ("a/b", &b"payload"[..])),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        t.sent(|_| {}),
        0,
        "PUBACK before the application had the message"
    );
    assert_eq!(poll_kind(&mut c, at(3), &mut t), None);
    assert!(pubacks(&mut t).contains(&42));
}

#[test]
fn back_to_back_messages_are_delivered_one_per_poll() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    for payload in [&b"one"[..], b"two", b"three"] {
        t.push(publish_packet(QoS::AtMostOnce, None, false, "t", payload));
    }
    for want in [&b"one"[..], b"two", b"three"] {
        match c.poll(at(2), &mut t) {
            Some(Event::Message(m)) => assert_eq!(m.payload, want),
            other => panic!("{other:?}"),
        }
    }
    assert!(c.poll(at(2), &mut t).is_none());
}

#[test]
fn a_message_larger_than_the_buffer_is_skipped_counted_and_acked_and_the_link_stays_up() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    t.chunk = 50;
    let big = [0x55u8; 300];
    t.push(publish_packet(
        QoS::AtLeastOnce,
        Some(7),
        false,
        "big",
        &big,
    ));
    t.push(publish_packet(QoS::AtMostOnce, None, false, "small", b"ok"));
    let mut got = None;
    for _ in 0..20 {
        if let Some(Event::Message(m)) = c.poll(at(2), &mut t) {
            got = Some(m.topic == "small" && m.payload == b"ok");
            break;
        }
    }
    assert_eq!(got, Some(true));
    assert_eq!(c.counters().oversize, 1);
    assert!(c.is_connected());
    assert!(
        pubacks(&mut t).contains(&7),
        "the skipped QoS 1 message must be acknowledged"
    );
}

#[test]
fn malformed_input_is_counted_and_the_client_reconnects() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    // A PUBACK with remaining length 3 (§3.4: it must be 2).
    t.push_bytes(&[0x40, 0x03, 0x00, 0x01, 0x00]);
    match poll_kind(&mut c, at(5), &mut t) {
        Some(Event::Down(Reason::Malformed(_))) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(c.counters().protocol_errors, 1);
    assert!(!t.connected);
    // Backoff: not before the 100 ms minimum, by 300 ms at the latest.
    assert_eq!(poll_kind(&mut c, at(104), &mut t), None);
    assert_eq!(t.connects, 1);
    let retry = c.next_deadline(at(104)).unwrap();
    assert!(retry <= at(305) && retry >= at(105), "{retry:?}");
    bring_up_at(&mut c, &mut t, retry, retry + Duration::from_ticks(1));
    assert_eq!(t.connects, 2);
    assert_eq!(c.counters().reconnects, 1);
}

#[test]
fn garbage_in_the_fixed_header_is_malformed_not_a_panic() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    // Remaining length with five continuation bytes (§2.2.3 allows four).
    t.push_bytes(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert!(matches!(
        poll_kind(&mut c, at(5), &mut t),
        Some(Event::Down(Reason::Malformed(_)))
    ));
}

#[test]
fn refused_connections_back_off_exponentially_and_never_give_up() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    t.refuse = true;
    let mut now = at(0);
    let mut gaps = [0u32; 8];
    for gap in gaps.iter_mut() {
        assert_eq!(
            poll_kind(&mut c, now, &mut t),
            Some(Event::ConnectFailed(Reason::Transport))
        );
        let next = c.next_deadline(now).unwrap();
        *gap = (next - now).ticks();
        now = next;
    }
    // Decorrelated jitter: each gap in [100, 3 × the previous], at most 400.
    let mut previous = 100;
    for g in gaps {
        assert!(
            (100..=(3 * previous).min(400)).contains(&g),
            "gap {g} after {previous}"
        );
        previous = g;
    }
    t.refuse = false;
    assert_eq!(poll_kind(&mut c, now, &mut t), None);
    t.sent(|_| {});
    t.push(ACCEPTED);
    assert_eq!(
        poll_kind(&mut c, now, &mut t),
        Some(Event::Up {
            session_present: false
        })
    );
}

#[test]
fn a_connack_refusal_is_reported_with_its_code() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    assert_eq!(poll_kind(&mut c, at(0), &mut t), None);
    t.sent(|_| {});
    t.push(Packet::ConnAck(ConnAck {
        session_present: false,
        code: ConnectReturnCode::NotAuthorized,
    }));
    assert_eq!(
        poll_kind(&mut c, at(1), &mut t),
        Some(Event::ConnectFailed(Reason::Refused(
            ConnectReturnCode::NotAuthorized
        )))
    );
    assert_eq!(c.counters().protocol_errors, 0);
}

#[test]
fn qos0_needs_a_connection_and_qos1_does_not() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    assert_eq!(
        c.publish("t", b"x", QoS::AtMostOnce, false),
        Err(RequestError::NotConnected)
    );
    let token = c
        .publish("t", b"x", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    c.subscribe("s", QoS::AtLeastOnce).unwrap();
    bring_up(&mut c, &mut t);
    // After CONNACK: SUBSCRIBE, then the queued PUBLISH.
    assert_eq!(poll_kind(&mut c, at(2), &mut t), None);
    let mut order = heapless::Vec::<u8, 4>::new();
    let mut sub_pid = 0;
    t.sent(|p| {
        if let Packet::Subscribe(s) = p {
            sub_pid = s.pid;
        }
        order.push(p.packet_type() as u8).unwrap();
    });
    assert_eq!(&order[..], &[8, 3]);
    t.push(Packet::PubAck(token.0));
    t.push(Packet::SubAck(SubAck {
        pid: sub_pid,
        codes: &[1],
    }));
    assert_eq!(
        poll_kind(&mut c, at(3), &mut t),
        Some(Event::Published(token))
    );
    assert_eq!(
        poll_kind(&mut c, at(3), &mut t),
        Some(Event::Subscribed {
            topic: "",
            qos: QoS::AtLeastOnce
        })
    );
    assert_eq!(c.publish("t", b"y", QoS::AtMostOnce, false), Ok(None));
    assert_eq!(poll_kind(&mut c, at(4), &mut t), None);
    assert_eq!(
        t.sent(|p| assert!(matches!(
            p,
            Packet::Publish(Publish {
                qos: QoS::AtMostOnce,
                ..
            })
        ))),
        1
    );
}

#[test]
fn a_dead_transport_is_down_with_a_reason() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    t.connected = false; // the peer vanished
    c.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(
        poll_kind(&mut c, at(3), &mut t),
        Some(Event::Down(Reason::Transport))
    );
    assert_eq!(c.session().inflight(), 1);
}

#[test]
fn disconnect_sends_disconnect_then_stays_offline_until_connect() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    c.disconnect();
    assert_eq!(
        poll_kind(&mut c, at(2), &mut t),
        Some(Event::Down(Reason::Closed))
    );
    assert_eq!(t.sent(|p| assert_eq!(p, Packet::Disconnect)), 1);
    assert!(!t.connected);
    assert_eq!(c.next_deadline(at(0)), None);
    assert_eq!(poll_kind(&mut c, at(10_000), &mut t), None);
    assert_eq!(t.connects, 1);
    c.connect(at(10_000));
    assert_eq!(poll_kind(&mut c, at(10_000), &mut t), None);
    assert_eq!(t.connects, 2);
    assert_eq!(t.sent(|p| assert!(matches!(p, Packet::Connect(_)))), 1);
}

#[test]
fn disconnect_while_offline_just_stops_retrying() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    t.refuse = true;
    assert!(matches!(
        poll_kind(&mut c, at(0), &mut t),
        Some(Event::ConnectFailed(_))
    ));
    c.disconnect();
    assert_eq!(poll_kind(&mut c, at(60_000), &mut t), None);
    assert_eq!(c.next_deadline(at(0)), None);
}

#[test]
fn connect_right_after_disconnect_still_reports_the_close_then_comes_back() {
    let mut b = Buffers::new();
    let (mut c, mut t) = connected(&mut b);
    c.disconnect();
    c.connect(at(2));
    assert_eq!(
        poll_kind(&mut c, at(2), &mut t),
        Some(Event::Down(Reason::Closed))
    );
    assert_eq!(t.sent(|p| assert_eq!(p, Packet::Disconnect)), 1);
    assert_eq!(c.next_deadline(at(2)), Some(at(2)));
    assert_eq!(poll_kind(&mut c, at(2), &mut t), None);
    assert_eq!(t.sent(|p| assert!(matches!(p, Packet::Connect(_)))), 1);
    assert_eq!(t.connects, 2);
}

#[test]
fn broker_up_is_a_reply_within_a_second_and_ping_now_asks_for_one() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    assert!(!c.broker_up(at(0)));
    bring_up(&mut c, &mut t);
    assert!(c.broker_up(at(900)));
    assert!(!c.broker_up(at(1_001)));
    c.ping_now();
    assert_eq!(c.next_deadline(at(5_000)), Some(at(5_000)));
    assert_eq!(poll_kind(&mut c, at(5_000), &mut t), None);
    assert_eq!(t.sent(|p| assert_eq!(p, Packet::PingReq)), 1);
    t.push(Packet::PingResp);
    assert_eq!(poll_kind(&mut c, at(5_020), &mut t), None);
    assert!(c.broker_up(at(5_500)));
}
