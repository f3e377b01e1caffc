//! The two SLIP decoders (RFC 1055) that read a serial line in firmware,
//! against a plain reading of the RFC written here, and each one's encoder
//! through its own decoder:
//! - the ESP8266's IP device (`limpet_esp8266::slip_ip::SlipIp`, receive
//!   path as smoltcp calls it): the packets it hands over are the frames
//!   between `END`s with escapes undone, in order; a frame with a bad
//!   escape or longer than the MTU is dropped and counted, never handed
//!   over; a packet it sends comes back whole through a second device
//!   however few bytes the port takes at a time;
//! - the bridge's pipe over a UART (`limpet::bridge::uart::Uart`): the
//!   units are the bytes and frame ends the reading finds (a bad escape's
//!   byte kept, an `END` always an end), bad escapes counted; what it sends
//!   reads back as sent.
#![no_main]

use std::collections::VecDeque;
use std::convert::Infallible;

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};
use libfuzzer_sys::fuzz_target;
use limpet::bridge::pipe::{Pipe, Unit};
use limpet::bridge::uart::Uart;
use limpet_esp8266::serial::SerialPort;
use limpet_esp8266::slip::{END, ESC, ESC_END, ESC_ESC};
use limpet_esp8266::slip_ip::{SlipFrames, SlipIp};
use smoltcp::phy::{Device, RxToken, TxToken};
use smoltcp::time::Instant;

/// Small, so that frames over the MTU are common.
const MTU: usize = 64;

fuzz_target!(|data: &[u8]| {
    ip_device_reads(data);
    let take = usize::from(data.first().copied().unwrap_or(1) % 8) + 1;
    ip_device_round_trip(data.get(1..).unwrap_or(&[]), take);
    uart_reads(data);
    uart_round_trip(data, take);
});

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

/// What the device must make of `input`: the whole packets, and how many
/// frames it drops (a bad escape is counted when seen, even in the frame
/// still open at the end; an over-long frame at its `END`).
fn ip_reading(input: &[u8]) -> (Vec<Vec<u8>>, u32) {
    let mut packets = Vec::new();
    let mut dropped = 0;
    let segments: Vec<&[u8]> = input.split(|&b| b == END).collect();
    let last = segments.len() - 1;
    for (n, segment) in segments.iter().enumerate() {
        let (bytes, bad_escape) = unescape(segment);
        if bad_escape {
            dropped += 1;
        } else if n == last || bytes.is_empty() {
            // Still open, or an END right after an END.
        } else if bytes.len() > MTU {
            dropped += 1;
        } else {
            packets.push(bytes);
        }
    }
    (packets, dropped)
}

/// A frame's bytes with escapes undone, up to a bad escape (then `true`).
/// An `ESC` with nothing after it in the frame is ignored.
fn unescape(segment: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < segment.len() {
        if segment[i] == ESC {
            match segment.get(i + 1) {
                Some(&ESC_END) => out.push(END),
                Some(&ESC_ESC) => out.push(ESC),
                Some(_) => return (out, true),
                None => {}
            }
            i += 2;
        } else {
            out.push(segment[i]);
            i += 1;
        }
    }
    (out, false)
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
    assert!(device.port().inp.is_empty(), "receive said no with bytes waiting");
    let (want, dropped) = ip_reading(input);
    assert_eq!(got, want);
    assert_eq!(device.counters().frames_in, want.len() as u32);
    assert_eq!(device.counters().dropped, dropped);
}

fn ip_device_round_trip(packet: &[u8], fifo: usize) {
    let packet = &packet[..packet.len().min(MTU)];
    let mut frames = SlipFrames::<MTU>::new();
    let mut sender = SlipIp::new(port(&[], fifo), &mut frames);
    let tx = sender.transmit(Instant::ZERO).expect("an idle device can send");
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
    let want: Vec<Vec<u8>> = if packet.is_empty() { vec![] } else { vec![packet.to_vec()] };
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

/// The units `input` stands for, and its bad escapes.
fn uart_reading(input: &[u8]) -> (Vec<Unit>, u32) {
    let mut units = Vec::new();
    let mut bad = 0;
    let mut escaped = false;
    for &b in input {
        if std::mem::take(&mut escaped) {
            units.push(match b {
                ESC_END => Unit::Byte(END),
                ESC_ESC => Unit::Byte(ESC),
                END => {
                    bad += 1;
                    Unit::End
                }
                other => {
                    bad += 1;
                    Unit::Byte(other)
                }
            });
        } else if b == ESC {
            escaped = true;
        } else if b == END {
            units.push(Unit::End);
        } else {
            units.push(Unit::Byte(b));
        }
    }
    (units, bad)
}

fn uart_reads(input: &[u8]) {
    let mut uart = Uart::new(line(input, 7));
    let mut got = Vec::new();
    // Each poll reads at least one byte while any are left.
    for _ in 0..=input.len() {
        uart.poll().unwrap();
        while let Some(unit) = uart.recv() {
            got.push(unit);
        }
    }
    let (want, bad) = uart_reading(input);
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
