//! QoS 2 exactly once, both ways, through link drops and a device reboot, on
//! each broker; and a session saved into bytes across the reboot. An
//! independent `mosquitto_sub` (or the device itself, for what it receives)
//! counts every message. In MQTT 3.1.1 and, with feature `mqtt5`, the
//! central scenarios again in 5.0 (module `mqtt5`, mosquitto only: aedes
//! 1.2.0 speaks 3.1.1 only, its CONNECT handler refuses protocol level 5
//! and its README lists MQTT 5.0 as not supported yet). The observer
//! (`mosquitto_sub`) speaks 3.1.1 either way: what it counts is the
//! device's messages, whatever protocol carried them to the broker.

#[macro_use]
mod support;

use limpet::session::{Config, Protocol};
use limpet::wire::QoS;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::device::{leak, protocol_name, speaking, Device, Ev};
use support::{publish, Broker, BrokerKind, Sub};

const WAIT: Duration = Duration::from_secs(10);

on_every_broker!(
    qos2_published_through_link_drops_arrives_exactly_once,
    qos2_received_is_delivered_exactly_once,
    a_session_saved_before_a_reboot_resumes_with_nothing_lost_or_delivered_twice,
);

fn qos2_published_through_link_drops_arrives_exactly_once(kind: BrokerKind) {
    published_through_drops(kind, Protocol::V311);
}

fn qos2_received_is_delivered_exactly_once(kind: BrokerKind) {
    received_through_drops(kind, Drops::None, Protocol::V311);
}

fn a_session_saved_before_a_reboot_resumes_with_nothing_lost_or_delivered_twice(kind: BrokerKind) {
    saved_session_resumes(kind, Protocol::V311);
}

/// The central scenarios in MQTT 5.0, on mosquitto (aedes speaks 3.1.1
/// only: see the top of this file).
#[cfg(feature = "mqtt5")]
mod mqtt5 {
    use super::*;

    #[test]
    fn qos2_published_through_link_drops_arrives_exactly_once() {
        published_through_drops(BrokerKind::Mosquitto, Protocol::V5);
    }

    #[test]
    fn qos2_received_is_delivered_exactly_once() {
        received_through_drops(BrokerKind::Mosquitto, Drops::None, Protocol::V5);
    }

    #[test]
    fn qos2_received_through_link_drops_and_lost_pubrecs_is_delivered_exactly_once() {
        received_through_drops(BrokerKind::Mosquitto, Drops::BeforePubrec, Protocol::V5);
    }

    #[test]
    fn qos2_received_through_link_drops_between_exchanges_is_delivered_exactly_once() {
        received_through_drops(BrokerKind::Mosquitto, Drops::BetweenExchanges, Protocol::V5);
    }

    #[test]
    fn a_session_saved_before_a_reboot_resumes_with_nothing_lost_or_delivered_twice() {
        saved_session_resumes(BrokerKind::Mosquitto, Protocol::V5);
    }

    /// A device that sleeps longer than its Session Expiry Interval
    /// (§3.1.2.11.2) wakes to a broker that has discarded its session. Its
    /// saved session still holds what it queued before sleeping: CONNACK
    /// says Session Present 0, so the client subscribes again and sends
    /// every message afresh; nothing is lost, the QoS 2 messages arrive
    /// once, and the renewed subscription delivers.
    #[test]
    fn a_saved_session_that_outlived_its_session_expiry_starts_over_with_nothing_lost() {
        let broker = Broker::start();
        let (inbox, outbox) = ("expiry/in", "expiry/out");
        let observer = Sub::builder(broker.port(), outbox).qos(2).start();
        let mut config = persistent("expiring", Protocol::V5);
        config.session_expiry = 1;
        let mut saved = vec![0u8; 8192];
        let mut dev = Device::new(config, broker.addr());
        dev.client.subscribe(inbox, QoS::ExactlyOnce).unwrap();
        assert!(dev
            .run_until(WAIT, |e| *e
                == Ev::Subscribed(inbox.into(), QoS::ExactlyOnce))
            .is_some());
        // The link drops (no DISCONNECT: the session's expiry starts when
        // the broker sees the connection close); offline, the device
        // queues work, saves and sleeps.
        dev.tcp.up = false;
        dev.tcp_drop();
        for seq in 0..4u32 {
            let qos = if seq % 2 == 0 {
                QoS::AtLeastOnce
            } else {
                QoS::ExactlyOnce
            };
            dev.client
                .publish(outbox, format!("seq {seq}").as_bytes(), qos, false)
                .unwrap();
        }
        dev.poll();
        let len = dev.client.save(&mut saved).unwrap();
        drop(dev);
        // Asleep for 2.5 s, its session lasting 1 s.
        std::thread::sleep(Duration::from_millis(2_500));

        let mut dev = Device::new(config, broker.addr());
        dev.client.subscribe(inbox, QoS::ExactlyOnce).unwrap();
        dev.client.restore(&saved[..len]).unwrap();
        assert_eq!(dev.client.session().inflight(), 4);
        let deadline = Instant::now() + WAIT;
        let completed = |dev: &Device| {
            dev.log
                .iter()
                .filter(|e| matches!(e, Ev::Published(_)))
                .count()
        };
        while (completed(&dev) < 4
            || !dev
                .log
                .contains(&Ev::Subscribed(inbox.into(), QoS::ExactlyOnce)))
            && Instant::now() < deadline
        {
            dev.poll();
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            dev.log.first(),
            Some(&Ev::Up {
                session_present: false
            }),
            "{:?}",
            dev.log
        );
        assert_eq!(completed(&dev), 4, "{:?}", dev.log);
        assert!(
            dev.log
                .contains(&Ev::Subscribed(inbox.into(), QoS::ExactlyOnce)),
            "the filter was not subscribed again: {:?}",
            dev.log
        );
        // The renewed subscription delivers.
        publish(broker.port(), inbox, "seq 7", 2, false);
        assert!(
            dev.run_until(
                WAIT,
                |e| matches!(e, Ev::Message { payload, .. } if payload == b"seq 7")
            )
            .is_some(),
            "{:?}",
            dev.log
        );
        // What it queued before sleeping arrived, QoS 2 exactly once.
        assert!(observer.wait_for(4, WAIT), "{:?}", observer.lines());
        std::thread::sleep(Duration::from_millis(300));
        let n = counts(&observer.lines(), outbox);
        eprintln!(
            "mosquitto (MQTT 5.0): session expired while asleep; {} of 4 queued messages \
             arrived, {} QoS 2 twice",
            n.len(),
            n.iter().filter(|(s, &c)| *s % 2 == 1 && c > 1).count()
        );
        for seq in 0..4 {
            assert!(
                n.get(&seq).copied().unwrap_or(0) >= 1,
                "seq {seq} lost: {:?}",
                observer.lines()
            );
            if seq % 2 == 1 {
                assert_eq!(n[&seq], 1, "QoS 2 seq {seq} twice");
            }
        }
    }

    #[test]
    fn a_burst_of_100_qos2_messages_is_delivered_exactly_once_on_a_clean_session_without_a_reconnect(
    ) {
        burst_on_a_clean_session(Protocol::V5);
    }

    #[test]
    fn a_burst_of_100_qos2_messages_is_delivered_exactly_once_on_a_persistent_session() {
        burst_on_a_persistent_session(Protocol::V5);
    }
}

// Receiving QoS 2 through link drops runs on mosquitto only. aedes 1.2.0
// breaks [MQTT-4.3.3-1] whenever it resumes a session holding a message it
// has our PUBREC for: it sends the PUBREL and then the PUBLISH again with
// the same id (traced: `< PubRel(17516)`, `> PubComp(17516)`, `< PUBLISH q2
// id 17516 seq 2`), which §4.3.3 makes a new message for the receiver, so a
// client following the spec delivers it twice.

#[test]
fn qos2_received_through_link_drops_and_lost_pubrecs_is_delivered_exactly_once() {
    received_through_drops(BrokerKind::Mosquitto, Drops::BeforePubrec, Protocol::V311);
}

#[test]
fn qos2_received_through_link_drops_between_exchanges_is_delivered_exactly_once() {
    received_through_drops(
        BrokerKind::Mosquitto,
        Drops::BetweenExchanges,
        Protocol::V311,
    );
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Drops {
    None,
    /// Right after a message was handed over, before its PUBREC left.
    BeforePubrec,
    /// Once every exchange is complete.
    BetweenExchanges,
}

/// A persistent session (the broker keeps it across connections; in MQTT
/// 5.0 for ever, `Config::session_expiry`'s default), speaking `protocol`.
fn persistent(id: &str, protocol: Protocol) -> Config<'static> {
    let mut c = speaking(Config::new(leak(id)), protocol);
    c.keepalive = 10;
    c.clean_init = false;
    c.clean = false;
    c
}

/// Each payload (`seq N`) and how many times the observer got it.
fn counts(lines: &[String], topic: &str) -> HashMap<u32, u32> {
    let mut n = HashMap::new();
    for line in lines {
        if let Some(seq) = line
            .strip_prefix(topic)
            .and_then(|rest| rest.trim().strip_prefix("seq "))
            .and_then(|s| s.parse().ok())
        {
            *n.entry(seq).or_insert(0) += 1;
        }
    }
    n
}

fn assert_exactly_once(n: &HashMap<u32, u32>, total: u32, who: &str) {
    let missing: Vec<u32> = (0..total).filter(|s| !n.contains_key(s)).collect();
    let doubled: Vec<(u32, u32)> = n
        .iter()
        .filter(|(_, &c)| c > 1)
        .map(|(&s, &c)| (s, c))
        .collect();
    assert!(
        missing.is_empty() && doubled.is_empty(),
        "{who}: missing {missing:?}, doubled {doubled:?}"
    );
}

/// One superloop pass by hand: poll once, with the clock read now.
fn poll_once(dev: &mut Device) -> Option<Ev> {
    let now = dev.now();
    dev.client.poll(now, &mut dev.tcp).map(|e| {
        let e = Ev::own(&e);
        dev.log.push(e.clone());
        e
    })
}

/// Who ran a scenario, for messages: the broker and the device's protocol.
fn who(kind: BrokerKind, protocol: Protocol) -> String {
    format!("{} (MQTT {})", kind.name(), protocol_name(protocol))
}

fn published_through_drops(kind: BrokerKind, protocol: Protocol) {
    let broker = Broker::start_kind(kind);
    let topic = "eo/out";
    let observer = Sub::builder(broker.port(), topic).qos(2).start();
    let mut dev = Device::new(persistent("eo-pub", protocol), broker.addr());
    assert!(dev.up(WAIT));
    const TOTAL: u32 = 300;
    let mut next = 0u32;
    let done = |dev: &Device| {
        dev.log
            .iter()
            .filter(|e| matches!(e, Ev::Published(_)))
            .count() as u32
    };
    let started = Instant::now();
    while done(&dev) < TOTAL && started.elapsed() < Duration::from_secs(40) {
        if next < TOTAL {
            let payload = format!("seq {next}");
            if dev
                .client
                .publish(topic, payload.as_bytes(), QoS::ExactlyOnce, false)
                .is_ok()
            {
                next += 1;
                // Every 23rd message the link breaks wherever the handshake
                // stands: before the PUBLISH left, after PUBREC, before PUBCOMP.
                if next.is_multiple_of(23) {
                    for _ in 0..(next / 23) % 4 {
                        dev.poll();
                    }
                    dev.tcp_drop();
                }
            }
        }
        dev.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    let done = done(&dev);
    let odd: Vec<&Ev> = dev
        .log
        .iter()
        .filter(|e| !matches!(e, Ev::Published(_)))
        .collect();
    assert_eq!(
        done,
        TOTAL,
        "completed (PUBCOMP) {done} of {TOTAL}; {:?}; {odd:?}",
        dev.client.counters()
    );
    assert!(
        dev.client.counters().reconnects >= 10,
        "{:?}",
        dev.client.counters()
    );
    assert!(observer.wait_for(TOTAL as usize, WAIT));
    // Anything late would show up now.
    std::thread::sleep(Duration::from_millis(300));
    let n = counts(&observer.lines(), topic);
    eprintln!(
        "{}: {TOTAL} QoS 2 published, {} reconnects, observer got {} distinct, {} duplicated",
        who(kind, protocol),
        dev.client.counters().reconnects,
        n.len(),
        n.values().filter(|&&c| c > 1).count()
    );
    assert_exactly_once(&n, TOTAL, &who(kind, protocol));
}

/// 60 QoS 2 messages from an outside publisher while the device's link
/// breaks every 7th message (`drops`).
fn received_through_drops(kind: BrokerKind, drops_at: Drops, protocol: Protocol) {
    let broker = Broker::start_kind(kind);
    let topic = "eo/in";
    let mut dev = Device::new(persistent("eo-sub", protocol), broker.addr());
    dev.tcp.trace = Some(Vec::new());
    dev.client.subscribe(topic, QoS::ExactlyOnce).unwrap();
    assert!(dev
        .run_until(WAIT, |e| *e
            == Ev::Subscribed(topic.into(), QoS::ExactlyOnce))
        .is_some());
    const TOTAL: u32 = 60;
    let mut got: HashMap<u32, u32> = HashMap::new();
    let mut drops = 0;
    let feeder = {
        let port = broker.port();
        std::thread::spawn(move || {
            for seq in 0..TOTAL {
                publish(port, topic, format!("seq {seq}"), 2, false);
            }
        })
    };
    // Counts a delivered message; true if it is one to break the link after.
    let take = |e: Option<Ev>, got: &mut HashMap<u32, u32>| -> Option<u32> {
        let Some(Ev::Message { payload, qos, .. }) = e else {
            return None;
        };
        assert_eq!(qos, QoS::ExactlyOnce);
        let seq = String::from_utf8(payload).unwrap();
        let seq: u32 = seq.strip_prefix("seq ").unwrap().parse().unwrap();
        *got.entry(seq).or_insert(0) += 1;
        (seq % 7 == 3 && got[&seq] == 1).then_some(seq)
    };
    let started = Instant::now();
    // Drops owed: a 7th message seen while waiting for the exchanges to
    // complete is owed one too (else a fast broker makes fewer drops).
    let mut due = 0u32;
    while got.len() < TOTAL as usize && started.elapsed() < Duration::from_secs(40) {
        let e = poll_once(&mut dev);
        if take(e, &mut got).is_some() {
            due += 1;
        }
        if due > 0 && drops_at != Drops::None {
            // Every 7th message the link breaks: before the PUBREC (owed
            // until the next poll) could go out, so the broker sends the
            // message again; or once every exchange is complete.
            if drops_at == Drops::BetweenExchanges {
                let until = Instant::now() + WAIT;
                while dev.client.session().awaiting_release() > 0 && Instant::now() < until {
                    let e = poll_once(&mut dev);
                    if take(e, &mut got).is_some() {
                        due += 1;
                    }
                }
            }
            dev.tcp_drop();
            drops += 1;
            due -= 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    feeder.join().unwrap();
    // Let re-sends, if any were going to be delivered twice, arrive.
    let until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < until {
        let e = poll_once(&mut dev);
        take(e, &mut got);
    }
    let enough = drops_at == Drops::None || drops >= 3;
    if !enough {
        for line in dev.tcp.packets() {
            eprintln!("{line}");
        }
    }
    assert!(
        enough,
        "{drops} drops, {} delivered, {:?}, {:?}",
        got.len(),
        dev.client.counters(),
        dev.log
            .iter()
            .filter(|e| matches!(e, Ev::Up { .. } | Ev::Down(_)))
            .collect::<Vec<_>>()
    );
    eprintln!(
        "{}: {TOTAL} QoS 2 received, {drops} drops, delivered {} distinct, {} twice, \
         {} re-sends suppressed",
        who(kind, protocol),
        got.len(),
        got.values().filter(|&&c| c > 1).count(),
        dev.client.counters().duplicates
    );
    assert_exactly_once(&got, TOTAL, &who(kind, protocol));
    if drops_at == Drops::BeforePubrec {
        assert!(
            dev.client.counters().duplicates >= 1,
            "no re-send was suppressed: {:?}",
            dev.client.counters()
        );
    }
}

fn saved_session_resumes(kind: BrokerKind, protocol: Protocol) {
    let broker = Broker::start_kind(kind);
    let (inbox, outbox) = ("sleep/in", "sleep/out");
    let observer = Sub::builder(broker.port(), outbox).qos(2).start();
    let mut saved = vec![0u8; 8192];

    // Power-up: subscribe, get one QoS 2 message and handle it, queue work.
    let mut dev = Device::new(persistent("sleeper", protocol), broker.addr());
    dev.client.subscribe(inbox, QoS::ExactlyOnce).unwrap();
    assert!(dev
        .run_until(WAIT, |e| *e
            == Ev::Subscribed(inbox.into(), QoS::ExactlyOnce))
        .is_some());
    publish(broker.port(), inbox, "seq 0", 2, false);
    let deadline = Instant::now() + WAIT;
    let mut first = None;
    while first.is_none() && Instant::now() < deadline {
        first = poll_once(&mut dev).filter(|e| matches!(e, Ev::Message { .. }));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(first.is_some(), "{:?}", dev.log);
    // The application handled it; the link drops before the PUBREC left.
    dev.tcp.up = false;
    dev.tcp_drop();
    // While offline the device publishes; then it saves and sleeps (the
    // process state is gone: a new client, new buffers).
    for seq in 0..4u32 {
        let qos = if seq % 2 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        dev.client
            .publish(outbox, format!("seq {seq}").as_bytes(), qos, false)
            .unwrap();
    }
    dev.poll();
    let len = dev.client.save(&mut saved).unwrap();
    let before = dev.client.session().inflight();
    assert_eq!(before, 4);
    drop(dev);

    // While it sleeps, the broker queues more for it.
    for seq in 1..4u32 {
        publish(broker.port(), inbox, format!("seq {seq}"), 2, false);
    }

    // Wake-up: the same declarations, then the saved session.
    let mut dev = Device::new(persistent("sleeper", protocol), broker.addr());
    dev.client.subscribe(inbox, QoS::ExactlyOnce).unwrap();
    dev.client.restore(&saved[..len]).unwrap();
    assert_eq!(dev.client.session().inflight(), 4);
    let mut completed = 0;
    let mut got: HashMap<u32, u32> = HashMap::new();
    let deadline = Instant::now() + WAIT;
    while (completed < 4 || got.len() < 3) && Instant::now() < deadline {
        for e in dev.poll() {
            match e {
                Ev::Published(_) => completed += 1,
                Ev::Message { payload, .. } => {
                    let s = String::from_utf8(payload).unwrap();
                    *got.entry(s.strip_prefix("seq ").unwrap().parse().unwrap())
                        .or_insert(0) += 1;
                }
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    dev.run_for(Duration::from_millis(500));
    for e in dev.log.iter() {
        if let Ev::Message { payload, .. } = e {
            let s = String::from_utf8(payload.clone()).unwrap();
            assert_ne!(
                s, "seq 0",
                "the message handled before the reboot came again"
            );
        }
    }
    assert_eq!(completed, 4, "{:?}", dev.log);
    // Messages queued while asleep arrive once; the one handled before the
    // reboot (the broker re-sent it, its id was restored) does not come again.
    let expected: HashMap<u32, u32> = (1..4).map(|s| (s, 1)).collect();
    assert_eq!(got, expected, "{:?}", dev.log);
    assert!(
        !dev.log.iter().any(|e| matches!(e, Ev::Subscribed(..))),
        "the confirmed filter was subscribed again (retained messages would come twice)"
    );
    assert!(
        matches!(
            dev.log.first(),
            Some(Ev::Up {
                session_present: true
            })
        ),
        "{:?}",
        dev.log
    );
    // What it published while offline arrived, QoS 2 exactly once.
    assert!(observer.wait_for(4, WAIT), "{:?}", observer.lines());
    std::thread::sleep(Duration::from_millis(300));
    let n = counts(&observer.lines(), outbox);
    for seq in 0..4 {
        assert!(
            n.get(&seq).copied().unwrap_or(0) >= 1,
            "seq {seq} lost: {:?}",
            observer.lines()
        );
        if seq % 2 == 1 {
            assert_eq!(n[&seq], 1, "QoS 2 seq {seq} twice");
        }
    }
}

// ------------------------------------------- issue 13, defect 1: QoS 2 bursts

/// Publishes `seq 0` … `seq n-1` at QoS 2 through one `mosquitto_pub -l`
/// (one line each), and waits until the broker has them all.
fn burst(port: u16, topic: &str, n: u32) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", topic])
        .args(["-q", "2", "-l"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("mosquitto_pub");
    let mut stdin = child.stdin.take().unwrap();
    for seq in 0..n {
        writeln!(stdin, "seq {seq}").unwrap();
    }
    drop(stdin);
    let until = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "mosquitto_pub: {status}");
            return;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mosquitto_pub did not finish within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// From a traced link: the most QoS 2 messages the broker had in flight to
/// the device at once (PUBLISH received, its PUBCOMP not yet sent: what an
/// MQTT 5.0 server's send quota counts, §4.9, [MQTT-4.9.0-1]).
fn broker_peak_in_flight(trace: &[(char, Vec<u8>)]) -> usize {
    use limpet::wire::{Frame, PacketType};
    let (mut rx, mut tx) = (Vec::new(), Vec::new());
    let mut open = std::collections::HashSet::new();
    let mut peak = 0;
    for (dir, bytes) in trace {
        let buf = match dir {
            '<' => &mut rx,
            '>' => &mut tx,
            _ => {
                rx.clear();
                tx.clear();
                continue;
            }
        };
        buf.extend_from_slice(bytes);
        while let Ok(Some(f)) = Frame::parse(buf) {
            if buf.len() < f.len() {
                break;
            }
            let p: Vec<u8> = buf.drain(..f.len()).collect();
            let body = &p[f.header_len..];
            let id = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
            match (dir, f.packet_type) {
                // QoS 2: the packet identifier follows the topic name.
                ('<', PacketType::Publish) if (f.flags >> 1) & 3 == 2 => {
                    let topic_len = usize::from(id(0));
                    open.insert(id(2 + topic_len));
                    peak = peak.max(open.len());
                }
                ('>', PacketType::PubComp) => {
                    open.remove(&id(0));
                }
                _ => {}
            }
        }
    }
    peak
}

// The broker's peak is a lower bound (the trace is the device's: a PUBCOMP
// counts from when it was written, a PUBLISH from when it was read). In
// MQTT 5.0 the device announces Receive Maximum 32 = R, yet mosquitto
// 2.0.11 was measured with up to 68 QoS 2 messages in flight to it (80 in
// 3.1.1, which has no such limit): its window seems to free a slot at
// PUBREC, not PUBCOMP as §4.9 says. The device copes either way (what its
// table cannot hold is delivered untracked on a clean session, left with
// the broker on a persistent one), so this is printed, not asserted.

/// What a burst did to the device.
struct Burst {
    got: HashMap<u32, u32>,
    /// Most QoS 2 ids awaiting their PUBREL at once.
    peak: usize,
    /// Most QoS 2 messages the broker had in flight at once (see
    /// [`broker_peak_in_flight`]).
    broker_peak: usize,
    counters: limpet::session::Counters,
}

const BURST: u32 = 100;

/// A burst of 100 QoS 2 messages from `mosquitto_pub` to a device (the
/// client's default `R`, 32) that is busy while they arrive, so the
/// broker's window lands at once. mosquitto 2.0.11 keeps its window of 20
/// for the first round only: measured here, up to 76 ids await their
/// PUBREL at once in a burst of 100 (256 and more in a burst of 300), as
/// its PUBRELs fall behind new PUBLISHes. The device counts what it gets.
fn burst_into(config: Config<'static>) -> Burst {
    let protocol = config.protocol;
    let broker = Broker::start();
    let topic = "burst/in";
    let mut dev = Device::new(config, broker.addr());
    dev.tcp.trace = Some(Vec::new());
    dev.client.subscribe(topic, QoS::ExactlyOnce).unwrap();
    assert!(dev
        .run_until(WAIT, |e| *e
            == Ev::Subscribed(topic.into(), QoS::ExactlyOnce))
        .is_some());
    burst(broker.port(), topic, BURST);
    let mut got: HashMap<u32, u32> = HashMap::new();
    let started = Instant::now();
    let mut quiet_since = Instant::now();
    let mut peak = 0;
    // Until all arrived and half a second passed with nothing more (a
    // duplicate would show up then).
    while started.elapsed() < Duration::from_secs(30)
        && (got.len() < BURST as usize || quiet_since.elapsed() < Duration::from_millis(500))
    {
        for e in dev.poll() {
            if let Ev::Message { payload, .. } = e {
                let seq = String::from_utf8(payload).unwrap();
                let seq: u32 = seq.strip_prefix("seq ").unwrap().parse().unwrap();
                *got.entry(seq).or_insert(0) += 1;
                quiet_since = Instant::now();
            }
            peak = peak.max(dev.client.session().awaiting_release());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let b = Burst {
        got,
        peak,
        broker_peak: broker_peak_in_flight(dev.tcp.trace.as_deref().unwrap_or_default()),
        counters: *dev.client.counters(),
    };
    // The figures: delivered, duplicated, reconnects.
    eprintln!(
        "MQTT {}: burst of {BURST} QoS 2: delivered {}, duplicated {}, reconnects {}, \
         peak awaiting release {} of 32, broker's peak in flight {}, deferred {}, untracked {}",
        protocol_name(protocol),
        b.got.len(),
        b.got.values().filter(|&&c| c > 1).count(),
        b.counters.reconnects,
        b.peak,
        b.broker_peak,
        b.counters.deferred,
        b.counters.untracked,
    );
    b
}

#[test]
fn a_burst_of_100_qos2_messages_is_delivered_exactly_once_on_a_clean_session_without_a_reconnect() {
    burst_on_a_clean_session(Protocol::V311);
}

#[test]
fn a_burst_of_100_qos2_messages_is_delivered_exactly_once_on_a_persistent_session() {
    burst_on_a_persistent_session(Protocol::V311);
}

fn burst_on_a_clean_session(protocol: Protocol) {
    let b = burst_into(speaking(Config::new(leak("burst-clean")), protocol));
    assert_exactly_once(&b.got, BURST, "mosquitto");
    // Beyond the table, delivered without keeping the id: nothing can
    // resume a clean session to send them again.
    assert_eq!((b.counters.reconnects, b.counters.deferred), (0, 0));
}

fn burst_on_a_persistent_session(protocol: Protocol) {
    let b = burst_into(persistent("burst-persistent", protocol));
    assert_exactly_once(&b.got, BURST, "mosquitto");
    // Beyond the table, left with the broker and fetched by reconnecting
    // once the table drained: a few reconnects, nothing lost or doubled.
    assert_eq!(b.counters.untracked, 0);
    assert!(b.counters.reconnects <= 5, "{:?}", b.counters);
}
