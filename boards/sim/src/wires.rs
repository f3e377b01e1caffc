//! The bridge's wires between a simulated host and co-processor: four link
//! lines (each side's clock and data) and the host's reset line, as
//! embedded-hal pins each side reads and writes, with faults.
//!
//! - **Timing**: by default a level written is seen at once (the other side
//!   polled after this one in the same loop pass sees it). With
//!   [`Wires::set_latched`], writes are seen only after [`Wires::latch`]:
//!   both sides sample the lines as they were at the start of the pass,
//!   the slowest the handshake can be.
//! - **Noise**: each read of a data line is flipped with a given
//!   probability (a bit error rate, seeded).
//! - **A stuck clock**: a clock line held at a level whatever its side
//!   writes.
//!
//! Single-threaded, like a superloop: the pins share the lines through an
//! `Rc`.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::rc::Rc;

use embedded_hal::digital::{ErrorType, InputPin, OutputPin};

/// One of the link's four lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    HostClock,
    HostData,
    CoprocClock,
    CoprocData,
}

impl Line {
    fn index(self) -> usize {
        self as usize
    }
    fn is_data(self) -> bool {
        matches!(self, Line::HostData | Line::CoprocData)
    }
}

/// The lines and their faults.
#[derive(Default)]
pub struct Wires {
    /// What each side sees.
    seen: [Cell<bool>; 4],
    /// What each side wrote (seen at once unless latched).
    written: [Cell<bool>; 4],
    latched: Cell<bool>,
    stuck: [Cell<Option<bool>>; 4],
    reset: Cell<bool>,
    resets: Cell<u32>,
    noise: RefCell<Noise>,
}

#[derive(Default)]
struct Noise {
    /// A flip when the generator's next value is below this (of 2^64).
    threshold: u64,
    state: u64,
    flips: u64,
    reads: u64,
}

impl Noise {
    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The pins of one side: clock in, data in, clock out, data out (the order
/// `limpet::bridge::link::Link::new` takes them).
pub type Pins = (WireIn, WireIn, WireOut, WireOut);

impl Wires {
    pub fn new() -> Rc<Wires> {
        Rc::new(Wires::default())
    }

    /// The host's pins: it reads the co-processor's lines.
    pub fn host_pins(self: &Rc<Self>) -> Pins {
        (
            self.input(Line::CoprocClock),
            self.input(Line::CoprocData),
            self.output(Line::HostClock),
            self.output(Line::HostData),
        )
    }

    /// The co-processor's pins.
    pub fn coproc_pins(self: &Rc<Self>) -> Pins {
        (
            self.input(Line::HostClock),
            self.input(Line::HostData),
            self.output(Line::CoprocClock),
            self.output(Line::CoprocData),
        )
    }

    /// The host's reset output (active high: the co-processor is held in
    /// reset while it is set).
    pub fn reset_pin(self: &Rc<Self>) -> ResetOut {
        ResetOut(Rc::clone(self))
    }

    fn input(self: &Rc<Self>, line: Line) -> WireIn {
        WireIn {
            wires: Rc::clone(self),
            line,
        }
    }

    fn output(self: &Rc<Self>, line: Line) -> WireOut {
        WireOut {
            wires: Rc::clone(self),
            line,
        }
    }

    /// Writes seen only after [`Wires::latch`] (true), or at once (false).
    pub fn set_latched(&self, latched: bool) {
        self.latched.set(latched);
        self.latch();
    }

    /// The end of a loop pass in latched mode: what was written is seen.
    pub fn latch(&self) {
        for i in 0..4 {
            self.seen[i].set(self.written[i].get());
        }
    }

    /// Flips each read of a data line with probability `rate`, from `seed`.
    pub fn set_bit_error_rate(&self, rate: f64, seed: u64) {
        let mut noise = self.noise.borrow_mut();
        noise.threshold = (rate.clamp(0.0, 1.0) * u64::MAX as f64) as u64;
        noise.state = seed;
    }

    /// Holds `line` at `level` (None: releases it).
    pub fn stick(&self, line: Line, level: Option<bool>) {
        self.stuck[line.index()].set(level);
    }

    /// Data-line reads flipped so far, and data-line reads in all.
    pub fn flips(&self) -> (u64, u64) {
        let noise = self.noise.borrow();
        (noise.flips, noise.reads)
    }

    /// Whether the co-processor is held in reset, and how many reset pulses
    /// the host has begun.
    pub fn in_reset(&self) -> bool {
        self.reset.get()
    }
    pub fn resets(&self) -> u32 {
        self.resets.get()
    }

    fn read(&self, line: Line) -> bool {
        let i = line.index();
        let level = self.stuck[i].get().unwrap_or_else(|| {
            if self.latched.get() {
                self.seen[i].get()
            } else {
                self.written[i].get()
            }
        });
        if !line.is_data() {
            return level;
        }
        let mut noise = self.noise.borrow_mut();
        noise.reads += 1;
        if noise.threshold > 0 && noise.next() < noise.threshold {
            noise.flips += 1;
            return !level;
        }
        level
    }

    fn write(&self, line: Line, level: bool) {
        self.written[line.index()].set(level);
    }
}

/// An input pin on one line.
pub struct WireIn {
    wires: Rc<Wires>,
    line: Line,
}

/// An output pin on one line.
pub struct WireOut {
    wires: Rc<Wires>,
    line: Line,
}

/// The host's reset output.
pub struct ResetOut(Rc<Wires>);

impl ErrorType for WireIn {
    type Error = Infallible;
}
impl ErrorType for WireOut {
    type Error = Infallible;
}
impl ErrorType for ResetOut {
    type Error = Infallible;
}

impl InputPin for WireIn {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.wires.read(self.line))
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.wires.read(self.line))
    }
}

impl OutputPin for WireOut {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.wires.write(self.line, false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.wires.write(self.line, true);
        Ok(())
    }
}

impl OutputPin for ResetOut {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.reset.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        if !self.0.reset.replace(true) {
            self.0.resets.set(self.0.resets.get() + 1);
        }
        Ok(())
    }
}
