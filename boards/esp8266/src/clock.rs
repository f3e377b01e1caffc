//! Milliseconds for limpet from a 32-bit cycle counter.
//!
//! The lx106's CCOUNT register counts CPU cycles and wraps every 2^32 of
//! them (53.7 s at 80 MHz). [`MillisClock`] turns successive readings into a
//! millisecond count that wraps only after 49.7 days, as limpet's
//! [`Instant`] expects: it adds whole milliseconds of the cycles elapsed
//! since the last reading and carries the remainder, so no time is lost or
//! rounded away. It must be read at least once per counter wrap (every
//! 50 s); a superloop does so many times a second. [`CycleClock`] is the
//! chip's counter under it.

use limpet::time::Instant;

/// Milliseconds from wrapping cycle-counter readings (module docs).
#[derive(Clone, Copy, Debug)]
pub struct MillisClock {
    cycles_per_ms: u32,
    last: u32,
    /// Cycles counted but not yet a whole millisecond (< cycles_per_ms).
    carry: u32,
    ms: u32,
}

impl MillisClock {
    /// A clock at 0 ms, counting from the counter reading `now_cycles`, for a
    /// counter running at `hz` (at least 1 kHz).
    pub const fn new(hz: u32, now_cycles: u32) -> Self {
        let per_ms = hz / 1000;
        MillisClock {
            cycles_per_ms: if per_ms == 0 { 1 } else { per_ms },
            last: now_cycles,
            carry: 0,
            ms: 0,
        }
    }

    /// The time at the counter reading `now_cycles`.
    pub fn at(&mut self, now_cycles: u32) -> Instant {
        let elapsed = now_cycles.wrapping_sub(self.last);
        self.last = now_cycles;
        // carry < cycles_per_ms, so this only overflows if a whole counter
        // period went unobserved, which the caller rules out.
        let cycles = self.carry.wrapping_add(elapsed);
        self.ms = self.ms.wrapping_add(cycles / self.cycles_per_ms);
        self.carry = cycles % self.cycles_per_ms;
        Instant::from_ticks(self.ms)
    }
}

/// The chip's millisecond clock: [`MillisClock`] over CCOUNT.
#[cfg(target_arch = "xtensa")]
pub struct CycleClock {
    millis: MillisClock,
}

#[cfg(target_arch = "xtensa")]
impl CycleClock {
    /// Starts at 0 ms now; counts at `hz` (the CPU clock).
    pub fn new(hz: u32) -> Self {
        CycleClock {
            millis: MillisClock::new(hz, crate::hw::ccount()),
        }
    }

    /// Now, in milliseconds since [`CycleClock::new`].
    pub fn now(&mut self) -> Instant {
        self.millis.at(crate::hw::ccount())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_accumulate_with_the_remainder_carried() {
        let mut c = MillisClock::new(80_000_000, 0);
        assert_eq!(c.at(79_999).ticks(), 0);
        assert_eq!(c.at(80_000).ticks(), 1);
        // 1.5 ms more in two halves: the halves add up.
        assert_eq!(c.at(80_000 + 60_000).ticks(), 1);
        assert_eq!(c.at(80_000 + 120_000).ticks(), 2);
        assert_eq!(c.at(80_000 + 160_000).ticks(), 3);
    }

    #[test]
    fn the_counter_wrap_is_seamless() {
        // Starts 1 ms before the 32-bit counter wraps.
        let mut c = MillisClock::new(80_000_000, u32::MAX - 79_999);
        assert_eq!(c.at(u32::MAX).ticks(), 0);
        assert_eq!(c.at(0).ticks(), 1);
        assert_eq!(c.at(80_000 * 10).ticks(), 11);
    }

    #[test]
    fn a_long_run_loses_no_time() {
        // 10 minutes in steps of 12 345 cycles (not a divisor of 80 000),
        // wrapping the counter ~11 times.
        let mut c = MillisClock::new(80_000_000, 7);
        let step = 12_345u32;
        let total: u64 = 10 * 60 * 80_000_000;
        let mut cycles: u64 = 0;
        let mut last = Instant::from_ticks(0);
        while cycles + u64::from(step) <= total {
            cycles += u64::from(step);
            last = c.at((cycles as u32).wrapping_add(7));
        }
        assert_eq!(u64::from(last.ticks()), cycles / 80_000);
    }

    #[test]
    fn the_millisecond_count_wraps_like_limpet_expects() {
        let mut c = MillisClock::new(1_000, 0);
        c.ms = u32::MAX;
        assert_eq!(c.at(1).ticks(), 0);
    }
}
