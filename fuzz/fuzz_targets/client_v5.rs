//! The whole client speaking MQTT 5.0 (`Protocol::V5`) against a broker
//! played by the fuzzer: `client.rs`'s idea in 5.0. The input is a script
//! of what the network delivers (raw bytes, or well-formed 5.0 packets built
//! from a few fuzzed fields, properties and reason codes included, so the
//! deep states are reached: a CONNACK with the server's limits, PUBLISH with
//! properties, acknowledgements with failure reasons, DISCONNECT and AUTH
//! from the server), what the application asks (publish QoS 0/1/2, subscribe,
//! unsubscribe, disconnect, save and restore into a fresh client), how time
//! moves and how full the socket is. Checked on every step:
//! - nothing panics, whatever arrives;
//! - every byte the client sends parses as valid MQTT 5.0
//!   (`v5::Packet::decode`), and after a CONNACK with a Maximum Packet Size
//!   no packet it sends on that connection is larger (§3.2.2.3.6,
//!   [MQTT-3.1.2-24]'s mirror for the client);
//! - `next_deadline(now)` is never before `now`;
//! - a token completes at most once and only after `publish` returned it;
//! - pieces of a chunked message arrive in order and add up to its length;
//! - the in-flight count never exceeds the capacity;
//! - a save restores into a fresh client with the same in-flight count, and
//!   a damaged save is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limpet::client::{Backoff, Client, Options};
use limpet::net::Transport;
use limpet::session::{Config, Event, Protocol, Rejected};
use limpet::time::{Duration, Instant};
use limpet::wire::v5::{
    self, Ack, Auth, ConnAck, Disconnect, Properties, Property, Publish, ReasonCode, SubAck,
};
use limpet::wire::QoS;
use std::collections::{HashSet, VecDeque};

const N: usize = 3;

#[derive(Default)]
struct Pipe {
    up: bool,
    refuse: bool,
    to_client: VecDeque<u8>,
    sent: Vec<u8>,
    room: usize,
}

impl Transport for Pipe {
    type Error = ();
    fn connect(&mut self) -> nb::Result<(), ()> {
        if self.refuse {
            return Err(nb::Error::Other(()));
        }
        self.up = true;
        Ok(())
    }
    fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
        if !self.up {
            return Err(nb::Error::Other(()));
        }
        let n = data.len().min(self.room);
        if n == 0 {
            return Err(nb::Error::WouldBlock);
        }
        self.sent.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
        if !self.up {
            return Err(nb::Error::Other(()));
        }
        let n = buf.len().min(self.to_client.len());
        if n == 0 {
            return Err(nb::Error::WouldBlock);
        }
        for b in buf.iter_mut().take(n) {
            *b = self.to_client.pop_front().unwrap_or(0);
        }
        Ok(n)
    }
    fn close(&mut self) {
        self.up = false;
        self.to_client.clear();
    }
}

impl Pipe {
    /// The broker sends a 5.0 packet (one the encoder refuses is not sent).
    fn push(&mut self, p: v5::Packet<'_>) {
        let mut buf = [0u8; 1200];
        if let Ok(n) = p.encode(&mut buf) {
            self.to_client.extend(&buf[..n]);
        }
    }

    /// Everything the client sent since last time must be whole, valid 5.0
    /// packets (a partial one at the end may wait for the rest), none but
    /// CONNECT larger than `limit`.
    fn check_sent(&mut self, limit: Option<usize>) {
        let mut at = 0;
        while let Ok(Some(len)) = v5::frame_len(&self.sent[at..]) {
            if at + len > self.sent.len() {
                break;
            }
            let bytes = &self.sent[at..at + len];
            let packet = v5::Packet::decode(bytes);
            assert!(packet.is_ok(), "client sent {bytes:02x?}: {packet:?}");
            if let (Some(limit), Ok(p)) = (limit, packet) {
                assert!(
                    matches!(p, v5::Packet::Connect(_)) || len <= limit,
                    "client sent {len} bytes, server's maximum {limit}: {p:?}"
                );
            }
            at += len;
        }
        assert!(
            v5::frame_len(&self.sent[at..]).is_ok(),
            "client sent a bad fixed header"
        );
        self.sent.drain(..at);
    }
}

struct Script<'d>(&'d [u8]);

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte().unwrap_or(0), self.byte().unwrap_or(0)])
    }
}

const TOPICS: [&str; 5] = ["a/b", "cmd/#", "t", "x/+/y", "$share/g/t"];

/// Reason codes a server sends in acknowledgements, SUBACK and DISCONNECT
/// (some not allowed in some packets: the encoder refuses those).
const REASONS: [ReasonCode; 16] = [
    ReasonCode::Success,
    ReasonCode::Success,
    ReasonCode::NoMatchingSubscribers,
    ReasonCode::GrantedQoS1,
    ReasonCode::GrantedQoS2,
    ReasonCode::NoSubscriptionExisted,
    ReasonCode::UnspecifiedError,
    ReasonCode::ImplementationSpecificError,
    ReasonCode::NotAuthorized,
    ReasonCode::TopicNameInvalid,
    ReasonCode::PacketIdentifierInUse,
    ReasonCode::PacketIdentifierNotFound,
    ReasonCode::QuotaExceeded,
    ReasonCode::SessionTakenOver,
    ReasonCode::ServerBusy,
    ReasonCode::ServerMoved,
];

fn config() -> Config<'static> {
    let mut c = Config::new("fuzz");
    c.protocol = Protocol::V5;
    c.keepalive = 20;
    c.response_time = Duration::from_ticks(2_000);
    c.clean_init = false;
    c.clean = false;
    c.session_expiry = 3_600;
    c
}

fn options() -> Options {
    Options {
        backoff: Backoff::new(Duration::from_ticks(10), Duration::from_ticks(200), 5),
        ..Options::default()
    }
}

struct Bufs {
    rx: [u8; 64],
    tx: [u8; 96],
    store: [u8; N * 40],
}

impl Bufs {
    fn new() -> Self {
        Bufs {
            rx: [0; 64],
            tx: [0; 96],
            store: [0; N * 40],
        }
    }
}

/// What a run keeps across the reboot.
struct World {
    now: Instant,
    pipe: Pipe,
    /// Tokens handed out and not completed yet.
    issued: HashSet<u16>,
    /// While a chunked message is being handed over: (next offset, total).
    chunk_next: Option<(usize, usize)>,
    /// A plain poll came while a message was handed over in pieces: it
    /// abandons the message if it gets to reading (one that returns a
    /// `Rejected` first does not), so either the message goes on or a new
    /// one starts.
    chunk_maybe_abandoned: bool,
    /// The Maximum Packet Size of the last CONNACK the script built, if it
    /// had one; `None` once raw bytes may have carried another CONNACK.
    offered: Option<Option<usize>>,
    /// The Maximum Packet Size of the connection that is up.
    limit: Option<usize>,
    /// `LIMPET_TRACE` set: print each poll's event (to replay a crash).
    trace: bool,
}

fuzz_target!(|data: &[u8]| {
    let mut s = Script(data);
    let start = u32::from_le_bytes([s.byte().unwrap_or(0), 0, 0, s.byte().unwrap_or(0)]);
    let mut w = World {
        now: Instant::from_ticks(start),
        pipe: Pipe {
            room: usize::MAX,
            ..Pipe::default()
        },
        issued: HashSet::new(),
        chunk_next: None,
        chunk_maybe_abandoned: false,
        offered: None,
        limit: None,
        trace: std::env::var_os("LIMPET_TRACE").is_some(),
    };
    let mut b1 = Bufs::new();
    let mut first: Client<'_, N, 2, 2> =
        Client::new(config(), options(), &mut b1.rx, &mut b1.tx, &mut b1.store).unwrap();
    let Some((saved, n)) = run(&mut first, &mut s, &mut w, true) else {
        return;
    };
    let inflight = first.session().inflight();
    drop(first);
    // A reboot: a fresh client, the saved session.
    let mut b2 = Bufs::new();
    let mut second: Client<'_, N, 2, 2> =
        Client::new(config(), options(), &mut b2.rx, &mut b2.tx, &mut b2.store).unwrap();
    second.restore(&saved[..n]).expect("a save restores");
    assert_eq!(second.session().inflight(), inflight);
    // Damaged copies are refused, never trusted.
    let mut bad = saved;
    if n > 0 {
        let i = usize::from(s.byte().unwrap_or(0)) % n;
        bad[i] ^= 1 << (s.byte().unwrap_or(0) % 8);
        let mut b3 = Bufs::new();
        let mut third: Client<'_, N, 2, 2> =
            Client::new(config(), options(), &mut b3.rx, &mut b3.tx, &mut b3.store).unwrap();
        assert!(third.restore(&bad[..n]).is_err());
    }
    w.pipe.close();
    w.chunk_next = None;
    w.chunk_maybe_abandoned = false;
    w.offered = None;
    w.limit = None;
    run(&mut second, &mut s, &mut w, false);
});

/// A CONNACK from a few fuzzed bytes: a reason (mostly success), Session
/// Present, and the server's limits and information as properties.
fn push_connack(s: &mut Script<'_>, w: &mut World) {
    let flags = s.byte().unwrap_or(0);
    let which = s.u16();
    let reason = match flags % 8 {
        0 => ReasonCode::from_u8(s.byte().unwrap_or(0x80)).unwrap_or(ReasonCode::ServerBusy),
        _ => ReasonCode::Success,
    };
    let max_packet = [16u32, 24, 40, 64, 200, 5000][usize::from(flags >> 5) % 6];
    let candidates = [
        Property::ReceiveMaximum(u16::from(s.byte().unwrap_or(0) % 4) + 1),
        Property::MaximumQoS(flags >> 3 & 1),
        Property::RetainAvailable(flags >> 4 & 1),
        Property::MaximumPacketSize(max_packet),
        Property::ServerKeepAlive(u16::from(s.byte().unwrap_or(0))),
        Property::AssignedClientIdentifier("srv-7"),
        Property::TopicAliasMaximum(3),
        Property::WildcardSubscriptionAvailable(0),
        Property::SharedSubscriptionAvailable(0),
        Property::SubscriptionIdentifiersAvailable(0),
        Property::ReasonString("why"),
        Property::UserProperty("k", "v"),
        Property::SessionExpiryInterval(u32::from(s.byte().unwrap_or(0))),
        Property::ResponseInformation("resp/"),
        Property::ServerReference("other"),
    ];
    let mut list = [Property::ReasonString(""); 15];
    let mut k = 0;
    for (i, p) in candidates.iter().enumerate() {
        if which & (1 << i) != 0 {
            list[k] = *p;
            k += 1;
        }
    }
    let size_sent = which & (1 << 3) != 0;
    let before = w.pipe.to_client.len();
    w.pipe.push(v5::Packet::ConnAck(ConnAck {
        session_present: flags & 1 == 1,
        reason,
        properties: Properties::new(&list[..k]),
    }));
    if w.pipe.to_client.len() != before && w.offered.is_some() {
        // One CONNACK after another: the second is a protocol error anyway,
        // and which one set the limit is not tracked.
        w.offered = None;
    } else if w.pipe.to_client.len() != before && before == 0 {
        w.offered = Some(size_sent.then_some(max_packet as usize));
    }
}

/// Plays the script on `client` until it ends, or until it asks for a
/// reboot (when `may_reboot`): then returns the saved session.
fn run<'a>(
    client: &mut Client<'a, N, 2, 2>,
    s: &mut Script<'_>,
    w: &mut World,
    may_reboot: bool,
) -> Option<([u8; 1024], usize)> {
    while let Some(op) = s.byte() {
        let now = w.now;
        match op % 16 {
            // Raw bytes from the network.
            0 | 1 => {
                let n = usize::from(s.byte().unwrap_or(0));
                let bytes = s.take(n).to_vec();
                w.pipe.to_client.extend(bytes);
                w.offered = None;
            }
            2 => push_connack(s, w),
            3 => {
                let flags = s.byte().unwrap_or(0);
                let props = s.byte().unwrap_or(0);
                let pid = u16::from(s.byte().unwrap_or(1)) + 1;
                let len = usize::from(s.byte().unwrap_or(0)) * (1 + usize::from(flags >> 6));
                let payload = [flags; 1024];
                let payload = &payload[..len.min(1000)];
                let qos = QoS::from_bits(flags & 3).unwrap_or(QoS::AtLeastOnce);
                let candidates = [
                    Property::TopicAlias(u16::from(props >> 6) + 1),
                    Property::SubscriptionIdentifier(u32::from(pid)),
                    Property::UserProperty("k", "v"),
                    Property::ContentType("text/plain"),
                    Property::MessageExpiryInterval(60),
                    Property::PayloadFormatIndicator(1),
                    Property::ResponseTopic("reply/to"),
                    Property::CorrelationData(b"id"),
                ];
                let mut list = [Property::ReasonString(""); 8];
                let mut k = 0;
                for (i, p) in candidates.iter().enumerate() {
                    if props & (1 << i) != 0 {
                        list[k] = *p;
                        k += 1;
                    }
                }
                // An empty topic with a Topic Alias (§3.3.2.3.4).
                let topic = ["a/b", "cmd", "t", ""][usize::from(flags >> 4) % 4];
                w.pipe.push(v5::Packet::Publish(Publish {
                    dup: flags & 4 != 0,
                    qos,
                    retain: flags & 8 != 0,
                    topic,
                    pid: (qos != QoS::AtMostOnce).then_some(pid),
                    properties: Properties::new(&list[..k]),
                    payload,
                }));
            }
            4 => {
                let pid = u16::from(s.byte().unwrap_or(1)) + 1;
                let kind = s.byte().unwrap_or(0);
                let reason = REASONS[usize::from(kind >> 4)];
                let with_string = [Property::ReasonString("no")];
                let properties = if kind & 8 != 0 {
                    Properties::new(&with_string)
                } else {
                    Properties::NONE
                };
                let ack = Ack {
                    pid,
                    reason,
                    properties,
                };
                let p = match kind % 8 {
                    0 => v5::Packet::PubAck(ack),
                    1 => v5::Packet::PubRec(ack),
                    2 => v5::Packet::PubRel(ack),
                    3 => v5::Packet::PubComp(ack),
                    4 => v5::Packet::UnsubAck(SubAck {
                        pid,
                        properties,
                        codes: &[reason as u8],
                    }),
                    5 => v5::Packet::Disconnect(Disconnect { reason, properties }),
                    6 => v5::Packet::Auth(Auth {
                        reason: ReasonCode::ContinueAuthentication,
                        properties: Properties::NONE,
                    }),
                    _ => v5::Packet::PingResp,
                };
                w.pipe.push(p);
            }
            5 => {
                let pid = u16::from(s.byte().unwrap_or(1)) + 1;
                let b = s.byte().unwrap_or(0);
                let code = REASONS[usize::from(b % 16)] as u8;
                let codes = [code, REASONS[usize::from(b >> 4)] as u8];
                w.pipe.push(v5::Packet::SubAck(SubAck {
                    pid,
                    properties: Properties::NONE,
                    codes: &codes[..1 + usize::from(b & 0x40 != 0)],
                }));
            }
            // Time.
            6 => w.now += Duration::from_ticks(u32::from(s.byte().unwrap_or(0)) * 50),
            7 => {
                if let Some(d) = client.next_deadline(now) {
                    w.now = d;
                }
            }
            // The application.
            8 => {
                let b = s.byte().unwrap_or(0);
                let qos = QoS::from_bits(b % 3).unwrap_or(QoS::AtMostOnce);
                let payload = [b; 32];
                let payload = &payload[..usize::from(b >> 3)];
                let topic = ["a/b", "t", "cmd/x", "bad/+"][usize::from(b >> 1) % 4];
                let r = client.publish(topic, payload, qos, b & 0x80 != 0);
                if w.trace {
                    eprintln!("publish {qos:?} -> {r:?}");
                }
                if let Ok(Some(token)) = r {
                    assert!(w.issued.insert(token.0), "token {} issued twice", token.0);
                }
            }
            9 => {
                let b = s.byte().unwrap_or(0);
                let topic = TOPICS[usize::from(b) % TOPICS.len()];
                let r = if b & 0x80 == 0 {
                    client.subscribe(topic, QoS::from_bits(b % 3).unwrap_or(QoS::AtMostOnce))
                } else {
                    client.unsubscribe(topic)
                };
                if w.trace {
                    eprintln!("subscribe/unsubscribe {topic} -> {r:?}");
                }
            }
            10 => {
                w.pipe.close();
                w.offered = None;
            }
            11 => w.pipe.room = [0, 1, 3, usize::MAX][usize::from(s.byte().unwrap_or(0) % 4)],
            12 => match s.byte().unwrap_or(0) % 3 {
                0 => client.disconnect(),
                1 => client.connect(now),
                _ => w.pipe.refuse = !w.pipe.refuse,
            },
            13 if may_reboot => {
                if w.trace {
                    eprintln!("reboot");
                }
                let mut saved = [0u8; 1024];
                if let Ok(n) = client.save(&mut saved) {
                    return Some((saved, n));
                }
            }
            // Poll (plain or in pieces).
            _ => {
                let pipe = &mut w.pipe;
                let event = if op & 0x10 != 0 {
                    client.poll_chunked(now, pipe)
                } else {
                    // A plain poll abandons a message being handed over in
                    // pieces, if it gets to reading.
                    w.chunk_maybe_abandoned = w.chunk_next.is_some();
                    client.poll(now, pipe)
                };
                if w.trace {
                    eprintln!("op {op:#x} {event:?} (chunk_next {:?})", w.chunk_next);
                }
                match event {
                    Some(Event::Published(t)) => {
                        assert!(
                            w.issued.remove(&t.0),
                            "token {} completed twice or never issued",
                            t.0
                        );
                    }
                    Some(Event::Rejected(Rejected::Publish(t))) => {
                        assert!(
                            w.issued.remove(&t.0),
                            "token {} dropped but never issued",
                            t.0
                        );
                    }
                    Some(Event::Chunk(c)) => {
                        if w.chunk_maybe_abandoned && c.offset == 0 {
                            w.chunk_next = None;
                        }
                        w.chunk_maybe_abandoned = false;
                        let (next, total) = w.chunk_next.unwrap_or((0, c.total));
                        assert_eq!((c.offset, c.total), (next, total), "pieces out of order");
                        assert!(!c.bytes.is_empty() && c.offset + c.bytes.len() <= c.total);
                        w.chunk_next =
                            (!c.is_last()).then_some((c.offset + c.bytes.len(), c.total));
                    }
                    Some(Event::Message(_)) => {
                        assert!(
                            w.chunk_next.is_none() || w.chunk_maybe_abandoned,
                            "a message in the middle of pieces"
                        );
                        w.chunk_next = None;
                        w.chunk_maybe_abandoned = false;
                    }
                    Some(Event::Up { .. }) => {
                        w.limit = w.offered.flatten();
                        w.offered = None;
                    }
                    Some(Event::Down(_) | Event::ConnectFailed(_)) => {
                        w.chunk_next = None;
                        w.chunk_maybe_abandoned = false;
                        w.limit = None;
                        w.offered = None;
                    }
                    _ => {}
                }
            }
        }
        w.pipe.check_sent(w.limit);
        assert!(client.session().inflight() <= N);
        let now = w.now;
        if let Some(d) = client.next_deadline(now) {
            assert!(d >= now, "deadline {d:?} before now {now:?}");
        }
    }
    None
}
