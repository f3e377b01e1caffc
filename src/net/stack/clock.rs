//! limpet's time (u32 milliseconds that wrap every 49.7 days) as smoltcp's
//! (i64 microseconds that never wrap): the stack counts the milliseconds
//! between polls, so smoltcp sees a clock that starts at 0 and only grows,
//! whatever value limpet's started from and however often it wrapped.

use crate::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    last: Instant,
    /// Milliseconds since the first reading.
    total_ms: i64,
    started: bool,
}

impl Clock {
    pub(crate) const fn new() -> Self {
        Clock {
            last: Instant::from_ticks(0),
            total_ms: 0,
            started: false,
        }
    }

    /// A new reading. Time never runs backwards: an earlier `now` (beyond
    /// the wrap-safe half range) counts as no time at all.
    pub(crate) fn advance(&mut self, now: Instant) {
        if self.started {
            let step = now.ticks().wrapping_sub(self.last.ticks()) as i32;
            if step > 0 {
                self.total_ms += i64::from(step);
                self.last = now;
            }
        } else {
            self.started = true;
            self.last = now;
        }
    }

    /// The last reading, in smoltcp's terms.
    pub(crate) fn smol(&self) -> smoltcp::time::Instant {
        smoltcp::time::Instant::from_millis(self.total_ms)
    }

    /// A smoltcp instant as limpet's (at or after the last reading).
    pub(crate) fn limpet_at(&self, at: smoltcp::time::Instant) -> Instant {
        let ahead = (at.total_millis() - self.total_ms).clamp(0, i64::from(i32::MAX));
        self.last + Duration::from_ticks(ahead as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn smoltcp_sees_a_clock_that_starts_at_zero_and_crosses_the_wrap() {
        let mut c = Clock::new();
        c.advance(Instant::from_ticks(u32::MAX - 10));
        assert_eq!(c.smol().total_millis(), 0);
        c.advance(Instant::from_ticks(5)); // 16 ms later, across the wrap
        assert_eq!(c.smol().total_millis(), 16);
        // Going backwards counts as nothing.
        c.advance(Instant::from_ticks(1));
        assert_eq!(c.smol().total_millis(), 16);
        let at = smoltcp::time::Instant::from_millis(1_016);
        assert_eq!(c.limpet_at(at), Instant::from_ticks(1_005));
        // Never before the last reading.
        assert_eq!(
            c.limpet_at(smoltcp::time::Instant::from_millis(3)),
            Instant::from_ticks(5)
        );
    }
}
