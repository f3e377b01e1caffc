use core::cell::Cell;
use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, InputPin, OutputPin};
use heapless::Vec;

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// A wire both sides see; reads may be made to flip one bit (line noise).
struct Wire<'a> {
    level: &'a Cell<bool>,
    /// Flip the value read on this read (counting from 1), if any.
    flip_at: Option<u32>,
    reads: u32,
}

fn wire(level: &Cell<bool>) -> Wire<'_> {
    Wire {
        level,
        flip_at: None,
        reads: 0,
    }
}

impl ErrorType for Wire<'_> {
    type Error = Infallible;
}

impl InputPin for Wire<'_> {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        self.reads += 1;
        Ok(self.level.get() ^ (self.flip_at == Some(self.reads)))
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        self.is_high().map(|h| !h)
    }
}

impl OutputPin for Wire<'_> {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.level.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.level.set(true);
        Ok(())
    }
}

type TestLink<'a> = Link<Wire<'a>, Wire<'a>, Wire<'a>, Wire<'a>>;

/// The four lines: host clock and data, co-processor clock and data.
#[derive(Default)]
struct Lines {
    host_ck: Cell<bool>,
    host_d: Cell<bool>,
    co_ck: Cell<bool>,
    co_d: Cell<bool>,
}

impl Lines {
    fn host(&self) -> TestLink<'_> {
        Link::new(
            Side::Host,
            wire(&self.co_ck),
            wire(&self.co_d),
            wire(&self.host_ck),
            wire(&self.host_d),
        )
        .unwrap()
    }
    fn coproc(&self) -> TestLink<'_> {
        Link::new(
            Side::Coproc,
            wire(&self.host_ck),
            wire(&self.host_d),
            wire(&self.co_ck),
            wire(&self.co_d),
        )
        .unwrap()
    }
}

const T0: Instant = Instant::from_ticks(0);

/// Queues `bytes` and an end on `link` as room allows, from `*at`.
fn feed(link: &mut TestLink<'_>, frames: &[&[u8]], at: &mut (usize, usize)) {
    while at.0 < frames.len() {
        let f = frames[at.0];
        let unit = if at.1 < f.len() {
            Unit::Byte(f[at.1])
        } else {
            Unit::End
        };
        if link.send(unit).is_err() {
            return;
        }
        if at.1 < f.len() {
            at.1 += 1;
        } else {
            *at = (at.0 + 1, 0);
        }
    }
}

fn drain<const N: usize>(link: &mut TestLink<'_>, got: &mut Vec<Unit, N>) {
    while let Some(u) = link.recv() {
        got.push(u).unwrap();
    }
}

fn expected<const N: usize>(frames: &[&[u8]]) -> Vec<Unit, N> {
    let mut v = Vec::new();
    for f in frames {
        for &b in *f {
            v.push(Unit::Byte(b)).unwrap();
        }
        v.push(Unit::End).unwrap();
    }
    v
}

const AWKWARD: &[u8] = &[0x7E, 0xFF, 0xFF, 0x00, 0x7F, 0x3F, 0xFC, 0x01, 0x80];
const TEXT: &[u8] = b"limpet/status online";

/// Polls host every `h`-th and co-processor every `c`-th iteration for
/// `iterations`, feeding and draining both; returns what each received.
fn exchange<'a, const N: usize>(
    host: &mut TestLink<'a>,
    co: &mut TestLink<'a>,
    to_co: &[&[u8]],
    to_host: &[&[u8]],
    (h, c): (u32, u32),
    iterations: u32,
) -> (Vec<Unit, N>, Vec<Unit, N>) {
    let (mut at_h, mut at_c) = ((0, 0), (0, 0));
    let (mut got_h, mut got_c) = (Vec::new(), Vec::new());
    for i in 0..iterations {
        if i % h == 0 {
            feed(host, to_co, &mut at_h);
            host.poll(T0).unwrap();
            drain(host, &mut got_h);
        }
        if i % c == 0 {
            feed(co, to_host, &mut at_c);
            co.poll(T0).unwrap();
            drain(co, &mut got_c);
        }
    }
    (got_h, got_c)
}

#[test]
fn frames_cross_both_ways_at_once_byte_for_byte_whatever_the_bytes() {
    let lines = Lines::default();
    let (mut host, mut co) = (lines.host(), lines.coproc());
    let to_co: &[&[u8]] = &[AWKWARD, TEXT, &[0xFF; 12]];
    let to_host: &[&[u8]] = &[TEXT, AWKWARD];
    let (got_h, got_c) = exchange::<64>(&mut host, &mut co, to_co, to_host, (1, 1), 2_000);
    assert_eq!(got_c, expected::<64>(to_co));
    assert_eq!(got_h, expected::<64>(to_host));
    assert_eq!(host.counters().aborts + co.counters().aborts, 0);
    assert_eq!(host.counters().misaligned + co.counters().misaligned, 0);
    assert_eq!(co.counters().frames_received, 3);
}

#[test]
fn either_side_may_be_much_slower_and_nothing_is_lost() {
    for speeds in [(1, 7), (13, 1), (3, 5)] {
        let lines = Lines::default();
        let (mut host, mut co) = (lines.host(), lines.coproc());
        let to_co: &[&[u8]] = &[AWKWARD, TEXT];
        let to_host: &[&[u8]] = &[TEXT];
        let (got_h, got_c) = exchange::<64>(&mut host, &mut co, to_co, to_host, speeds, 20_000);
        assert_eq!(got_c, expected::<64>(to_co), "{speeds:?}");
        assert_eq!(got_h, expected::<64>(to_host), "{speeds:?}");
    }
}

#[test]
fn polled_in_turn_each_side_moves_one_bit_per_iteration() {
    let lines = Lines::default();
    let (mut host, mut co) = (lines.host(), lines.coproc());
    exchange::<64>(&mut host, &mut co, &[TEXT], &[TEXT], (1, 1), 1_000);
    // Host first, then the co-processor, in each iteration: both move every
    // time (the handshake's limit is one bit per iteration when the other
    // side answers within it, two when it answers in the next).
    assert_eq!(host.counters().bits, 1_000);
    assert_eq!(co.counters().bits, 1_000);
}

#[test]
fn a_side_that_restarts_mid_frame_realigns_at_the_next_flag() {
    let lines = Lines::default();
    let mut host = lines.host();
    let mut co = lines.coproc();
    let long = [0x55u8; 40];
    // The co-processor reboots while the host is in the middle of a frame.
    let (_, got_c) = exchange::<64>(&mut host, &mut co, &[&long], &[], (1, 1), 200);
    assert!(!got_c.is_empty() && !got_c.contains(&Unit::End));
    let mut co = lines.coproc();
    let mut got = Vec::<Unit, 128>::new();
    let mut at = (0, 0);
    let frames: &[&[u8]] = &[&long, TEXT];
    for _ in 0..2_000 {
        feed(&mut host, frames, &mut at);
        host.poll(T0).unwrap();
        co.poll(T0).unwrap();
        drain(&mut co, &mut got);
    }
    // The cut frame never starts for the new co-processor (it is not
    // aligned until the flag that ends it); the next arrives whole.
    assert_eq!(got, expected::<128>(&[TEXT]));
}

#[test]
fn a_flipped_bit_breaks_at_most_its_own_frame() {
    // Every seventh bit position of the first frames in turn.
    let mut broken = 0;
    for flip in (1..200).step_by(7) {
        let lines = Lines::default();
        let mut host = lines.host();
        let mut co = lines.coproc();
        // The co-processor's data input flips one read.
        co.d_in.flip_at = Some(flip);
        let frames: &[&[u8]] = &[AWKWARD, TEXT, TEXT];
        let (_, got) = exchange::<64>(&mut host, &mut co, frames, &[], (1, 1), 2_000);
        // Whatever became of the first frame, the last arrives whole.
        let tail = expected::<64>(&[TEXT]);
        assert!(got.ends_with(&tail), "flip at {flip}: {got:?}");
        broken += u32::from(got != expected::<64>(frames));
    }
    // The flips did break frames (the CRC above catches what the link
    // delivers changed).
    assert!(broken > 20, "{broken}");
}

#[test]
fn a_reader_that_does_not_read_holds_the_clock_and_loses_nothing() {
    let lines = Lines::default();
    let (mut host, mut co) = (lines.host(), lines.coproc());
    let frames: &[&[u8]] = &[TEXT, AWKWARD];
    let mut at = (0, 0);
    // The co-processor polls but never reads: its queue fills and the link
    // stops moving.
    for _ in 0..2_000 {
        feed(&mut host, frames, &mut at);
        host.poll(T0).unwrap();
        co.poll(T0).unwrap();
    }
    assert_eq!(co.poll(T0), Ok(Turn::Held));
    let stopped_at = host.counters().bits;
    assert!(stopped_at < 100, "{stopped_at}");
    // Reading again lets it go on, every byte there.
    let mut got = Vec::<Unit, 64>::new();
    for _ in 0..2_000 {
        feed(&mut host, frames, &mut at);
        host.poll(T0).unwrap();
        co.poll(T0).unwrap();
        drain(&mut co, &mut got);
    }
    assert_eq!(got, expected::<64>(frames));
}

#[test]
fn a_stopped_clock_shows_as_time_still_across_the_clock_wrap() {
    let lines = Lines::default();
    let (mut host, mut co) = (lines.host(), lines.coproc());
    let start = Instant::from_ticks(u32::MAX - 1_000);
    for i in 0..100u32 {
        let now = start + crate::time::Duration::from_ticks(i);
        host.poll(now).unwrap();
        co.poll(now).unwrap();
    }
    let last = start + crate::time::Duration::from_ticks(99);
    assert_eq!(host.still_for(last), 0);
    // The co-processor stops polling (crashed); 5 s later, past the wrap.
    let later = last + crate::time::Duration::from_ticks(5_000);
    assert_eq!(host.poll(later), Ok(Turn::Moved));
    for _ in 0..10 {
        assert_eq!(host.poll(later), Ok(Turn::Waiting));
    }
    let much_later = later + crate::time::Duration::from_ticks(5_000);
    assert_eq!(host.still_for(much_later), 5_000);
}

#[test]
fn a_data_line_stuck_high_is_a_line_error_and_the_link_recovers_when_it_frees() {
    let lines = Lines::default();
    let (mut host, mut co) = (lines.host(), lines.coproc());
    exchange::<64>(&mut host, &mut co, &[TEXT], &[], (1, 1), 300);
    // The host's data line stuck high for a thousand bits, mid-frame; a
    // frame queued a little after it frees (the receiver needs a whole flag
    // to align: the frame right after the error may go with it).
    let (mut at, mut later) = ((0, 0), (0, 0));
    let mut got = Vec::<Unit, 64>::new();
    for i in 0..3_000 {
        feed(&mut host, &[AWKWARD, AWKWARD], &mut at);
        if i >= 1_040 {
            feed(&mut host, &[TEXT], &mut later);
        }
        host.poll(T0).unwrap();
        if (20..1_020).contains(&i) {
            lines.host_d.set(true);
        }
        co.poll(T0).unwrap();
        drain(&mut co, &mut got);
    }
    assert!(co.counters().aborts >= 1);
    // What was cut is reported as an end; the next frame is whole.
    assert!(got.ends_with(&expected::<64>(&[TEXT])), "{got:?}");
}
