use core::cell::RefCell;
use core::convert::Infallible;

use embedded_io::ErrorType;
use heapless::Vec;

use super::*;
use crate::bridge::frame::{FrameConfig, Framer};
use crate::slip::{END, ESC};
use crate::time::{Duration, Instant};

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

type Line = RefCell<Deque<u8, 64>>;

/// One end of a serial line: writes go to `out`, reads come from `inn`;
/// it takes at most `per_write` bytes a call; it may flip bits (noise).
struct Serial<'a> {
    out: &'a Line,
    inn: &'a Line,
    per_write: usize,
    /// Flip a bit of every `flip_every`-th byte written (0: never).
    flip_every: u32,
    written: u32,
}

fn serial<'a>(out: &'a Line, inn: &'a Line) -> Serial<'a> {
    Serial {
        out,
        inn,
        per_write: CHUNK,
        flip_every: 0,
        written: 0,
    }
}

impl ErrorType for Serial<'_> {
    type Error = Infallible;
}

impl Read for Serial<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let mut inn = self.inn.borrow_mut();
        let mut n = 0;
        while n < buf.len() {
            let Some(b) = inn.pop_front() else { break };
            buf[n] = b;
            n += 1;
        }
        Ok(n)
    }
}

impl ReadReady for Serial<'_> {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(!self.inn.borrow().is_empty())
    }
}

impl Write for Serial<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let mut out = self.out.borrow_mut();
        let mut n = 0;
        for &b in buf.iter().take(self.per_write) {
            self.written += 1;
            let flip = self.flip_every != 0 && self.written.is_multiple_of(self.flip_every);
            if out
                .push_back(b ^ u8::from(flip) << (self.written % 8))
                .is_err()
            {
                break;
            }
            n += 1;
        }
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl WriteReady for Serial<'_> {
    fn write_ready(&mut self) -> Result<bool, Infallible> {
        Ok(!self.out.borrow().is_full())
    }
}

#[test]
fn slip_carries_every_byte_value_and_the_frame_ends() {
    let (ab, ba) = (Line::default(), Line::default());
    let mut a = Uart::new(Serial {
        per_write: 1,
        ..serial(&ab, &ba)
    });
    let mut b = Uart::new(serial(&ba, &ab));
    let mut sent = Vec::<Unit, 600>::new();
    for v in 0..=255u8 {
        sent.push(Unit::Byte(v)).unwrap();
        if v % 100 == 0 {
            sent.push(Unit::End).unwrap();
        }
    }
    sent.push(Unit::End).unwrap();
    let mut got = Vec::<Unit, 600>::new();
    let mut at = 0;
    for _ in 0..10_000 {
        while at < sent.len() && a.send(sent[at]).is_ok() {
            at += 1;
        }
        a.poll().unwrap();
        b.poll().unwrap();
        while let Some(u) = b.recv() {
            got.push(u).unwrap();
        }
    }
    assert_eq!(got, sent);
    // END and ESC each took two bytes on the line.
    assert_eq!(a.counters().bytes_written, sent.len() as u32 + 2);
    assert_eq!(b.counters().bad_escapes, 0);
}

#[test]
fn an_end_after_an_escape_still_ends_the_frame() {
    // A frame cut off after its ESC (the sender reset) or whose escaped
    // byte was hit by noise, then the next frame: two frames, not one.
    let (line, unused) = (Line::default(), Line::default());
    for &b in &[ESC, b'a', END, ESC, END, b'b', END] {
        line.borrow_mut().push_back(b).unwrap();
    }
    let mut rx = Uart::new(serial(&unused, &line));
    let mut got = Vec::<Unit, 8>::new();
    for _ in 0..4 {
        rx.poll().unwrap();
        while let Some(u) = rx.recv() {
            got.push(u).unwrap();
        }
    }
    let want = [
        Unit::Byte(b'a'),
        Unit::End,
        Unit::End,
        Unit::Byte(b'b'),
        Unit::End,
    ];
    assert_eq!(got[..], want[..]);
    assert_eq!(rx.counters().bad_escapes, 2);
}

#[test]
fn frames_over_a_noisy_uart_arrive_once_in_order() {
    let (ab, ba) = (Line::default(), Line::default());
    let mut ua = Uart::new(Serial {
        flip_every: 397,
        ..serial(&ab, &ba)
    });
    let mut ub = Uart::new(Serial {
        flip_every: 503,
        per_write: 3,
        ..serial(&ba, &ab)
    });
    let mut a = Framer::<64, 4>::new(FrameConfig::new(1));
    let mut b = Framer::<64, 4>::new(FrameConfig::new(2));
    let mut now = Instant::from_ticks(u32::MAX - 10_000);
    let (mut sent, mut got) = (0u32, 0u32);
    for _ in 0..400_000 {
        now += Duration::from_ticks(1);
        if sent < 300 && a.send(&sent.to_be_bytes()).is_ok() {
            sent += 1;
        }
        a.poll(now, &mut ua);
        b.poll(now, &mut ub);
        ua.poll().unwrap();
        ub.poll().unwrap();
        if let Some(p) = b.received() {
            assert_eq!(p, got.to_be_bytes());
            got += 1;
            b.release();
        }
        if got == 300 {
            break;
        }
    }
    assert_eq!(got, 300);
    assert!(b.counters().bad > 0 || a.counters().bad > 0);
}

/// A serial driver that says it moved more bytes than it was given (which
/// embedded-io forbids, and a buggy driver does anyway).
struct Overclaiming<'a>(Serial<'a>);

impl ErrorType for Overclaiming<'_> {
    type Error = Infallible;
}

impl Read for Overclaiming<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        Ok(self.0.read(buf)? + 1_000)
    }
}

impl ReadReady for Overclaiming<'_> {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        self.0.read_ready()
    }
}

impl Write for Overclaiming<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        Ok(self.0.write(buf)? + 1_000)
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl WriteReady for Overclaiming<'_> {
    fn write_ready(&mut self) -> Result<bool, Infallible> {
        self.0.write_ready()
    }
}

#[test]
fn a_serial_driver_that_claims_more_than_it_was_given_cannot_panic_or_run_the_poll_away() {
    let (out, inn) = (Line::default(), Line::default());
    for &b in b"hello" {
        inn.borrow_mut().push_back(b).unwrap();
    }
    let mut uart = Uart::new(Overclaiming(serial(&out, &inn)));
    for &b in b"abc" {
        uart.send(Unit::Byte(b)).unwrap();
    }
    uart.send(Unit::End).unwrap();
    for _ in 0..3 {
        uart.poll().unwrap();
    }
    // Counted as no more than it was given or asked for.
    assert_eq!(uart.counters().bytes_written, out.borrow().len() as u32);
    assert!(uart.counters().bytes_read as usize <= 3 * CHUNK);
    let mut units = 0;
    while uart.recv().is_some() {
        units += 1;
    }
    assert!(units <= CHUNK);
}
