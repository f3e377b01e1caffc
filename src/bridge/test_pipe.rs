//! Test support: an in-memory line between two pipes, with faults.

use heapless::Deque;

use super::pipe::{Full, Pipe, Unit};

/// One end's side of an in-memory line.
#[derive(Default)]
pub(crate) struct Port {
    pub out: Deque<Unit, 16>,
    pub inn: Deque<Unit, 16>,
}

impl Pipe for Port {
    fn send(&mut self, unit: Unit) -> Result<(), Full> {
        self.out.push_back(unit).map_err(|_| Full)
    }
    fn recv(&mut self) -> Option<Unit> {
        self.inn.pop_front()
    }
}

/// A small deterministic generator (xorshift32) for line faults.
pub(crate) struct Noise(pub u32);

impl Noise {
    pub fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    /// True once in `n` on average (never for 0).
    pub fn one_in(&mut self, n: u32) -> bool {
        n != 0 && self.next().is_multiple_of(n)
    }
}

/// What the line does to units: corrupt a byte or drop a unit, one in `n`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Faults {
    pub corrupt: u32,
    pub drop: u32,
}

/// Moves up to `rate` units from `from` to `to`, with faults.
pub(crate) fn carry(
    from: &mut Port,
    to: &mut Port,
    rate: usize,
    faults: Faults,
    noise: &mut Noise,
) {
    for _ in 0..rate {
        if to.inn.is_full() {
            return;
        }
        let Some(mut unit) = from.out.pop_front() else {
            return;
        };
        if noise.one_in(faults.drop) {
            continue;
        }
        if let Unit::Byte(b) = &mut unit {
            if noise.one_in(faults.corrupt) {
                *b ^= 1 << (noise.next() % 8);
            }
        }
        to.inn.push_back(unit).unwrap();
    }
}
