//! The whole client against a broker played by the fuzzer: the input is a
//! script of what the network delivers (raw bytes, or well-formed packets
//! built from a few fuzzed fields so the deep states are reached), what the
//! application asks (publish QoS 0/1/2, subscribe, unsubscribe, disconnect,
//! save and restore into a fresh client), how time moves and how full the
//! socket is. Checked on every step:
//! - nothing panics, whatever arrives;
//! - every byte the client sends parses as valid MQTT 3.1.1 (`Packet::decode`);
//! - `next_deadline(now)` is never before `now`;
//! - a token completes at most once and only after `publish` returned it;
//! - pieces of a chunked message arrive in order and add up to its length;
//! - the in-flight count never exceeds the capacity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limpet::client::{Backoff, Client, Options};
use limpet::net::Transport;
use limpet::session::{Config, Event, Rejected};
use limpet::time::{Duration, Instant};
use limpet::wire::{ConnAck, ConnectReturnCode, Frame, Packet, Publish, QoS, SubAck};
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
    fn push(&mut self, p: Packet<'_>) {
        let mut buf = [0u8; 1024];
        if let Ok(n) = p.encode(&mut buf) {
            self.to_client.extend(&buf[..n]);
        }
    }

    /// Everything the client sent since last time must be whole, valid packets
    /// (a partial one at the end may wait for the rest).
    fn check_sent(&mut self) {
        let mut at = 0;
        while let Ok(Some(f)) = Frame::parse(&self.sent[at..]) {
            if at + f.len() > self.sent.len() {
                break;
            }
            let bytes = &self.sent[at..at + f.len()];
            assert!(Packet::decode(bytes).is_ok(), "client sent {bytes:02x?}");
            at += f.len();
        }
        assert!(
            Frame::parse(&self.sent[at..]).is_ok(),
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
}

const TOPICS: [&str; 4] = ["a/b", "cmd/#", "t", "x/+/y"];

fn config() -> Config<'static> {
    let mut c = Config::new("fuzz");
    c.keepalive = 20;
    c.response_time = Duration::from_ticks(2_000);
    c.clean_init = false;
    c.clean = false;
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
    run(&mut second, &mut s, &mut w, false);
});

/// Plays the script on `client` until it ends, or until it asks for a
/// reboot (when `may_reboot`): then returns the saved session.
fn run<'a>(
    client: &mut Client<'a, N, 2, 2>,
    s: &mut Script<'_>,
    w: &mut World,
    may_reboot: bool,
) -> Option<([u8; 1024], usize)> {
    let pipe = &mut w.pipe;
    while let Some(op) = s.byte() {
        let now = w.now;
        match op % 16 {
            // Raw bytes from the network.
            0 | 1 => {
                let n = usize::from(s.byte().unwrap_or(0));
                let bytes = s.take(n).to_vec();
                pipe.to_client.extend(bytes);
            }
            2 => pipe.push(Packet::ConnAck(ConnAck {
                session_present: s.byte().unwrap_or(0) & 1 == 1,
                code: ConnectReturnCode::from_u8(s.byte().unwrap_or(0) % 8)
                    .unwrap_or(ConnectReturnCode::Accepted),
            })),
            3 => {
                let flags = s.byte().unwrap_or(0);
                let pid = u16::from(s.byte().unwrap_or(1)) + 1;
                let len = usize::from(s.byte().unwrap_or(0)) * (1 + usize::from(flags >> 6));
                let payload = [flags; 1024];
                let payload = &payload[..len.min(1000)];
                let qos = QoS::from_bits(flags & 3).unwrap_or(QoS::AtLeastOnce);
                pipe.push(Packet::Publish(Publish {
                    dup: flags & 4 != 0,
                    qos,
                    retain: flags & 8 != 0,
                    topic: ["a/b", "cmd", "t", "x/y"][usize::from(flags >> 4) % 4],
                    pid: (qos != QoS::AtMostOnce).then_some(pid),
                    payload,
                }));
            }
            4 => {
                let pid = u16::from(s.byte().unwrap_or(1)) + 1;
                let p = match s.byte().unwrap_or(0) % 6 {
                    0 => Packet::PubAck(pid),
                    1 => Packet::PubRec(pid),
                    2 => Packet::PubRel(pid),
                    3 => Packet::PubComp(pid),
                    4 => Packet::UnsubAck(pid),
                    _ => Packet::PingResp,
                };
                pipe.push(p);
            }
            5 => {
                let pid = u16::from(s.byte().unwrap_or(1)) + 1;
                let code = [0u8, 1, 2, 0x80][usize::from(s.byte().unwrap_or(0) % 4)];
                pipe.push(Packet::SubAck(SubAck {
                    pid,
                    codes: &[code],
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
                if b & 0x80 == 0 {
                    let _ =
                        client.subscribe(topic, QoS::from_bits(b % 3).unwrap_or(QoS::AtMostOnce));
                } else {
                    let _ = client.unsubscribe(topic);
                }
            }
            10 => pipe.close(),
            11 => pipe.room = [0, 1, 3, usize::MAX][usize::from(s.byte().unwrap_or(0) % 4)],
            12 => match s.byte().unwrap_or(0) % 3 {
                0 => client.disconnect(),
                1 => client.connect(now),
                _ => pipe.refuse = !pipe.refuse,
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
                let event = if op & 0x10 != 0 {
                    client.poll_chunked(now, pipe)
                } else {
                    // A plain poll abandons a message being handed over in pieces.
                    w.chunk_next = None;
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
                        let (next, total) = w.chunk_next.unwrap_or((0, c.total));
                        assert_eq!((c.offset, c.total), (next, total), "pieces out of order");
                        assert!(!c.bytes.is_empty() && c.offset + c.bytes.len() <= c.total);
                        w.chunk_next =
                            (!c.is_last()).then_some((c.offset + c.bytes.len(), c.total));
                    }
                    Some(Event::Message(_)) => {
                        assert!(w.chunk_next.is_none(), "a message in the middle of pieces")
                    }
                    Some(Event::Down(_) | Event::ConnectFailed(_)) => w.chunk_next = None,
                    _ => {}
                }
            }
        }
        pipe.check_sent();
        assert!(client.session().inflight() <= N);
        let now = w.now;
        if let Some(d) = client.next_deadline(now) {
            assert!(d >= now, "deadline {d:?} before now {now:?}");
        }
    }
    None
}
