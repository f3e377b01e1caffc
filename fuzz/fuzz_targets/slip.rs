//! limpet's one SLIP codec (`limpet::slip`, RFC 1055) and the three
//! places that read a serial line through it, against a plain reading of
//! the RFC and the codec's one rule for a bad escape (an `ESC` followed by
//! anything but `ESC_END` or `ESC_ESC`: its byte is kept and counted; an
//! `END` always ends the frame, a bad escape too when it follows an `ESC`),
//! written here:
//! - `slip::Decoder`: the data bytes and frame ends the reading finds, and
//!   its bad escapes;
//! - `slip::FrameDecoder` into a small buffer: the frames between `END`s
//!   with escapes undone, in order; a frame with a bad escape is
//!   `BadEscape`, a longer one than the buffer `TooLong`, an empty one
//!   nothing; never a byte past the buffer;
//! - `slip::Encoder`: any frame comes back whole through the frame decoder;
//! - the ESP8266's IP device (`limpet_esp8266::slip_ip::SlipIp`, receive
//!   path as smoltcp calls it): the packets it hands over are those frames,
//!   the others dropped and counted; a packet it sends comes back whole
//!   through a second device however few bytes the port takes at a time;
//! - the bridge's pipe over a UART (`limpet::bridge::uart::Uart`): the
//!   units are the decoder's reading, bad escapes counted; what it sends
//!   reads back as sent.
//!
//! (The sim's `slip-gateway` end reads through the same `FrameDecoder`.)
#![no_main]

use std::collections::VecDeque;
use std::convert::Infallible;

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};
use libfuzzer_sys::fuzz_target;
use limpet::bridge::pipe::{Pipe, Unit};
use limpet::bridge::uart::Uart;
use limpet::slip::{
    Decoded, Decoder, Encoder, FrameDecoder, FrameError, END, ESC, ESC_END, ESC_ESC,
};
use limpet_esp8266::serial::SerialPort;
use limpet_esp8266::slip_ip::{SlipFrames, SlipIp};
use smoltcp::phy::{Device, RxToken, TxToken};
use smoltcp::time::Instant;

/// Small, so that frames over the MTU are common.
const MTU: usize = 64;

fuzz_target!(|data: &[u8]| {
    let take = usize::from(data.first().copied().unwrap_or(1) % 8) + 1;
    let rest = data.get(1..).unwrap_or(&[]);
    decoder_reads(data);
    frame_decoder_reads(data);
    encoder_round_trip(rest);
    ip_device_reads(data);
    ip_device_round_trip(rest, take);
    uart_reads(data);
    uart_round_trip(data, take);
});

/// The data bytes and frame ends `input` stands for, byte by byte, and
/// its bad escapes.
fn unit_reading(input: &[u8]) -> (Vec<Decoded>, u32) {
    let mut units = Vec::new();
    let mut bad = 0;
    let mut escaped = false;
    for &b in input {
        if std::mem::take(&mut escaped) {
            units.push(match b {
                ESC_END => Decoded::Byte(END),
                ESC_ESC => Decoded::Byte(ESC),
                END => {
                    bad += 1;
                    Decoded::End
                }
                other => {
                    bad += 1;
                    Decoded::Byte(other)
                }
            });
        } else if b == ESC {
            escaped = true;
        } else if b == END {
            units.push(Decoded::End);
        } else {
            units.push(Decoded::Byte(b));
        }
    }
    (units, bad)
}

/// What a frame reader with a `cap`-byte buffer must make of `input`, read
/// as the RFC's segments between `END`s: each closed, non-empty or damaged
/// segment's bytes or error (the segment still open at the end is nothing
/// yet).
fn frame_reading(input: &[u8], cap: usize) -> Vec<Result<Vec<u8>, FrameError>> {
    let segments: Vec<&[u8]> = input.split(|&b| b == END).collect();
    let closed = &segments[..segments.len() - 1];
    let mut frames = Vec::new();
    for segment in closed {
        let (bytes, bad_escape) = unescape(segment);
        if bad_escape {
            frames.push(Err(FrameError::BadEscape));
        } else if bytes.len() > cap {
            frames.push(Err(FrameError::TooLong));
        } else if !bytes.is_empty() {
            frames.push(Ok(bytes));
        }
    }
    frames
}

/// A closed segment's bytes with escapes undone, and whether it held a bad
/// escape (an `ESC` last in it was followed by the `END`: bad too).
fn unescape(segment: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut bad = false;
    let mut i = 0;
    while i < segment.len() {
        if segment[i] == ESC {
            match segment.get(i + 1) {
                Some(&ESC_END) => out.push(END),
                Some(&ESC_ESC) => out.push(ESC),
                Some(&other) => {
                    out.push(other);
                    bad = true;
                }
                None => bad = true,
            }
            i += 2;
        } else {
            out.push(segment[i]);
            i += 1;
        }
    }
    (out, bad)
}

fn decoder_reads(input: &[u8]) {
    let mut decoder = Decoder::new();
    let got: Vec<Decoded> = input.iter().filter_map(|&b| decoder.feed(b)).collect();
    let (want, bad) = unit_reading(input);
    assert_eq!(got, want);
    assert_eq!(decoder.bad_escapes(), bad);
}

fn frame_decoder_reads(input: &[u8]) {
    let mut decoder = FrameDecoder::new();
    // A guard byte past the buffer: never written.
    let mut buf = [0xA5u8; MTU + 1];
    let mut got = Vec::new();
    for &b in input {
        if let Some(r) = decoder.feed(b, &mut buf[..MTU]) {
            got.push(r.map(|n| buf[..n].to_vec()));
        }
        assert_eq!(buf[MTU], 0xA5, "wrote past the buffer");
    }
    assert_eq!(got, frame_reading(input, MTU));
    assert_eq!(decoder.bad_escapes(), unit_reading(input).1);
}

fn encoder_round_trip(frame: &[u8]) {
    let mut encoder = Encoder::new();
    let line: Vec<u8> = std::iter::from_fn(|| encoder.next(frame)).collect();
    let specials = frame.iter().filter(|&&b| b == END || b == ESC).count();
    assert_eq!(line.len(), frame.len() + specials + 2);
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; frame.len()];
    let got: Vec<_> = line
        .iter()
        .filter_map(|&b| decoder.feed(b, &mut buf))
        .collect();
    let want = if frame.is_empty() {
        vec![]
    } else {
        vec![Ok(frame.len())]
    };
    assert_eq!(got, want);
    assert_eq!(buf, frame);
    // And it starts over: the same line again.
    let again: Vec<u8> = std::iter::from_fn(|| encoder.next(frame)).collect();
    assert_eq!(again, line);
}

/// A serial port for the ESP8266 device: reads from `inp`, writes to `out`
/// taking at most `space` bytes until the test drains it.
struct Port {
    inp: VecDeque<u8>,
    out: Vec<u8>,
    space: usize,
}

impl SerialPort for Port {
    fn tx_space(&self) -> usize {
        self.space.saturating_sub(self.out.len())
    }
    fn write(&mut self, byte: u8) {
        assert!(self.tx_space() > 0, "wrote into a full FIFO");
        self.out.push(byte);
    }
    fn read(&mut self) -> Option<u8> {
        self.inp.pop_front()
    }
}

fn port(inp: &[u8], space: usize) -> Port {
    Port {
        inp: inp.iter().copied().collect(),
        out: Vec::new(),
        space,
    }
}

fn ip_device_reads(input: &[u8]) {
    let mut frames = SlipFrames::<MTU>::new();
    let mut device = SlipIp::new(port(input, 16), &mut frames);
    let mut got = Vec::new();
    // Each packet takes at least two bytes of input: this ends.
    while let Some((rx, _tx)) = device.receive(Instant::ZERO) {
        rx.consume(|packet| {
            assert!(packet.len() <= MTU);
            got.push(packet.to_vec());
        });
    }
    assert!(
        device.port().inp.is_empty(),
        "receive said no with bytes waiting"
    );
    let want = frame_reading(input, MTU);
    let packets: Vec<Vec<u8>> = want.iter().filter_map(|f| f.clone().ok()).collect();
    assert_eq!(got, packets);
    assert_eq!(device.counters().frames_in, packets.len() as u32);
    assert_eq!(
        device.counters().dropped,
        (want.len() - packets.len()) as u32
    );
}

fn ip_device_round_trip(packet: &[u8], fifo: usize) {
    let packet = &packet[..packet.len().min(MTU)];
    let mut frames = SlipFrames::<MTU>::new();
    let mut sender = SlipIp::new(port(&[], fifo), &mut frames);
    let tx = sender
        .transmit(Instant::ZERO)
        .expect("an idle device can send");
    tx.consume(packet.len(), |buf| buf.copy_from_slice(packet));
    let mut line = std::mem::take(&mut sender.port().out);
    let mut passes = 0;
    while sender.sending() {
        sender.pump();
        line.append(&mut sender.port().out);
        passes += 1;
        assert!(passes <= 2 * MTU + 2, "the sender never finished");
    }
    let mut frames = SlipFrames::<MTU>::new();
    let mut receiver = SlipIp::new(port(&line, 16), &mut frames);
    let mut got = Vec::new();
    while let Some((rx, _tx)) = receiver.receive(Instant::ZERO) {
        rx.consume(|p| got.push(p.to_vec()));
    }
    let want: Vec<Vec<u8>> = if packet.is_empty() {
        vec![]
    } else {
        vec![packet.to_vec()]
    };
    assert_eq!(got, want);
}

/// One end of a serial line for the bridge's UART pipe: reads `inp` at most
/// `chunk` bytes a call, writes to `out` at most `chunk` bytes a call.
struct Line {
    inp: VecDeque<u8>,
    out: Vec<u8>,
    chunk: usize,
}

impl ErrorType for Line {
    type Error = Infallible;
}

impl Read for Line {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.chunk).min(self.inp.len());
        for b in &mut buf[..n] {
            *b = self.inp.pop_front().expect("counted");
        }
        Ok(n)
    }
}

impl ReadReady for Line {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(!self.inp.is_empty())
    }
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.chunk);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl WriteReady for Line {
    fn write_ready(&mut self) -> Result<bool, Infallible> {
        Ok(true)
    }
}

fn line(inp: &[u8], chunk: usize) -> Line {
    Line {
        inp: inp.iter().copied().collect(),
        out: Vec::new(),
        chunk,
    }
}

fn uart_reads(input: &[u8]) {
    let mut uart = Uart::new(line(input, 7));
    let mut got = Vec::new();
    // Each poll reads at least one byte while any are left.
    for _ in 0..=input.len() {
        uart.poll().unwrap();
        while let Some(unit) = uart.recv() {
            got.push(match unit {
                Unit::Byte(b) => Decoded::Byte(b),
                Unit::End => Decoded::End,
            });
        }
    }
    let (want, bad) = unit_reading(input);
    assert_eq!(got, want);
    assert_eq!(uart.counters().bad_escapes, bad);
    assert_eq!(uart.counters().bytes_read, input.len() as u32);
}

fn uart_round_trip(data: &[u8], chunk: usize) {
    // Every byte value as data, and a frame end after each byte below 0x10.
    let mut sent = Vec::new();
    for &b in data {
        sent.push(Unit::Byte(b));
        if b < 0x10 {
            sent.push(Unit::End);
        }
    }
    let mut a = Uart::new(line(&[], chunk));
    let mut at = 0;
    let mut passes = 0;
    while at < sent.len() {
        while at < sent.len() && a.send(sent[at]).is_ok() {
            at += 1;
        }
        a.poll().unwrap();
        passes += 1;
        assert!(passes <= 4 * sent.len() + 4, "the sender never finished");
    }
    // Drain what is queued: at most 16 bytes, at least one written a poll.
    for _ in 0..32 {
        a.poll().unwrap();
    }
    let wire = a.release().out;
    let mut b = Uart::new(line(&wire, 16));
    let mut got = Vec::new();
    for _ in 0..=wire.len() {
        b.poll().unwrap();
        while let Some(unit) = b.recv() {
            got.push(unit);
        }
    }
    assert_eq!(got, sent);
    assert_eq!(b.counters().bad_escapes, 0);
}
