//! The bridge's decoders against a peer played by the fuzzer:
//! - the protocol messages (`HostMsg::decode`, `CoprocMsg::decode`): no
//!   panic, and what decodes re-encodes to the same bytes; SNTP replies
//!   (`net::sntp::parse_reply`, with the stamp the input itself carries so
//!   the deep checks are reached);
//! - the 5-wire link's receiver, fed the input as bits on its data line;
//! - the frame layer, run by a script: raw units, well-formed frames (CRC
//!   right or wrong) built from fuzzed fields so that the handshake and the
//!   window are reached, handshakes echoing its nonce or not, payloads sent
//!   by the application, time passing, payloads released. Checked on every
//!   step: no panic; every frame it sends is well formed (length, CRC,
//!   kind); in flight ≤ the window; a received payload ≤ the buffer;
//!   `next_deadline` never before now.
#![no_main]

use std::collections::VecDeque;
use std::convert::Infallible;

use embedded_hal::digital::{ErrorType, InputPin, OutputPin};
use libfuzzer_sys::fuzz_target;
use limpet::bridge::frame::{FrameConfig, Framer};
use limpet::bridge::link::{Link, Side};
use limpet::bridge::pipe::{Full, Pipe, Unit};
use limpet::bridge::proto::{CoprocMsg, HostMsg};
use limpet::crc::crc16;
use limpet::time::{Duration, Instant};

const P: usize = 48;
const W: usize = 3;
const NONCE: u32 = 0xF00D;

fuzz_target!(|data: &[u8]| {
    messages(data);
    // The co-processor's SNTP replies: refused or a time, never a panic.
    let stamp = data.get(24..32).map_or(1, |s| u64::from_be_bytes(s.try_into().unwrap()));
    let _ = limpet::net::sntp::parse_reply(data, stamp);
    link(data);
    frames(data);
});

fn messages(data: &[u8]) {
    let mut buf = vec![0u8; data.len()];
    if let Ok(m) = HostMsg::decode(data) {
        let n = m.encode(&mut buf).expect("a decoded message encodes");
        assert_eq!(&buf[..n], data);
    }
    if let Ok(m) = CoprocMsg::decode(data) {
        let n = m.encode(&mut buf).expect("a decoded message encodes");
        assert_eq!(&buf[..n], data);
    }
}

/// A clock that always gives the co-processor its turn, and a data line
/// that reads the input's bits.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}
struct Toggle(bool);
struct Sink;

impl ErrorType for Bits<'_> {
    type Error = Infallible;
}
impl ErrorType for Toggle {
    type Error = Infallible;
}
impl ErrorType for Sink {
    type Error = Infallible;
}
impl InputPin for Bits<'_> {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        let bit = self.data.get(self.at / 8).is_some_and(|b| b >> (self.at % 8) & 1 != 0);
        self.at += 1;
        Ok(bit)
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        self.is_high().map(|b| !b)
    }
}
impl InputPin for Toggle {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        self.0 = !self.0;
        Ok(self.0)
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        self.is_high().map(|b| !b)
    }
}
impl OutputPin for Sink {
    fn set_low(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

fn link(data: &[u8]) {
    let mut link = Link::new(Side::Coproc, Toggle(false), Bits { data, at: 0 }, Sink, Sink).unwrap();
    let now = Instant::from_ticks(0);
    let mut ends = 0u32;
    for _ in 0..data.len() * 16 {
        let _ = link.poll(now).unwrap();
        while let Some(u) = link.recv() {
            ends += u32::from(u == Unit::End);
        }
        // Something to send, too.
        let _ = link.send(Unit::Byte(0x7E));
    }
    let c = link.counters();
    assert!(c.frames_received <= ends);
}

#[derive(Default)]
struct Port {
    inn: VecDeque<Unit>,
    out: Vec<Unit>,
    room: usize,
}

impl Pipe for Port {
    fn send(&mut self, unit: Unit) -> Result<(), Full> {
        if self.room == 0 {
            return Err(Full);
        }
        self.room -= 1;
        self.out.push(unit);
        Ok(())
    }
    fn recv(&mut self) -> Option<Unit> {
        self.inn.pop_front()
    }
}

struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes([self.byte()?, self.byte()?, self.byte()?, self.byte()?]))
    }
}

fn push_frame(port: &mut Port, body: &[u8], good_crc: bool) {
    let mut crc = crc16(body);
    if !good_crc {
        crc ^= 1;
    }
    for &b in body.iter().chain(&crc.to_be_bytes()) {
        port.inn.push_back(Unit::Byte(b));
    }
    port.inn.push_back(Unit::End);
}

/// Every frame the framer wrote is well formed.
fn check_sent(units: &[Unit]) {
    for frame in units.split(|u| *u == Unit::End) {
        let bytes: Vec<u8> = frame
            .iter()
            .map(|u| match u {
                Unit::Byte(b) => *b,
                Unit::End => unreachable!(),
            })
            .collect();
        if bytes.is_empty() {
            continue; // after the last end
        }
        assert!(bytes.len() >= 6, "{bytes:?}");
        let (body, crc) = bytes.split_at(bytes.len() - 2);
        assert_eq!(crc16(body).to_be_bytes(), crc, "{bytes:?}");
        assert!(body[0] <= 3);
        assert_eq!(usize::from(body[3]), body.len() - 4);
        assert!(body.len() - 4 <= P.max(11));
    }
}

fn frames(data: &[u8]) {
    let mut s = Script(data);
    let mut f = Framer::<P, W>::new(FrameConfig::new(NONCE));
    let mut port = Port::default();
    let mut now = Instant::from_ticks(u32::MAX - 60_000);
    let mut sent = Vec::new();
    while let Some(op) = s.byte() {
        match op % 7 {
            0 => {
                let n = s.byte().unwrap_or(0);
                for _ in 0..n {
                    let Some(b) = s.byte() else { break };
                    port.inn.push_back(if b == 0xC0 { Unit::End } else { Unit::Byte(b) });
                }
            }
            1 => {
                let (Some(kind), Some(seq), Some(ack), Some(len), Some(crc)) =
                    (s.byte(), s.byte(), s.byte(), s.byte(), s.byte())
                else {
                    break;
                };
                let len = usize::from(len) % (P + 8);
                let mut body = vec![kind % 5, seq, ack, len as u8];
                for _ in 0..len {
                    body.push(s.byte().unwrap_or(0));
                }
                push_frame(&mut port, &body, crc & 7 != 0);
            }
            2 => {
                let (Some(nonce), Some(flags), Some(max)) = (s.u32(), s.byte(), s.byte()) else {
                    break;
                };
                let echo = if flags & 1 != 0 { NONCE } else { nonce ^ 0x55 };
                let mut body = vec![3, 0, 0, 11, flags >> 4, max];
                body.extend_from_slice(&(nonce % 4).to_be_bytes());
                body.push(u8::from(flags & 2 != 0));
                body.extend_from_slice(&echo.to_be_bytes());
                push_frame(&mut port, &body, flags & 8 == 0);
            }
            3 => {
                let len = usize::from(s.byte().unwrap_or(0)) % (P + 4);
                let _ = f.send(&vec![0xAB; len]);
            }
            4 => {
                let ms = u32::from(s.byte().unwrap_or(0)) * 20;
                now += Duration::from_ticks(ms);
            }
            5 => f.release(),
            _ => port.room = usize::from(s.byte().unwrap_or(0)),
        }
        port.room = port.room.max(8);
        let _ = f.poll(now, &mut port);
        sent.append(&mut port.out);
        assert!(f.in_flight() <= W);
        if let Some(p) = f.received() {
            // (Agreed with the end that sent it, which may since have
            // restarted with a smaller one.)
            assert!(p.len() <= P);
        }
        if let Some(d) = f.next_deadline() {
            assert!(d >= now, "deadline before now");
        }
    }
    // What it sent up to its last complete frame.
    let end = sent.iter().rposition(|u| *u == Unit::End).map_or(0, |i| i + 1);
    check_sent(&sent[..end]);
}
