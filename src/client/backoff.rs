//! Reconnection delays: exponential, bounded, jittered, never giving up.

use crate::time::Duration;

/// Delay before the next connection attempt. Doubles after each failure up to
/// `max`, and is drawn uniformly from [d/2, d] ("equal jitter") so that a fleet
/// of devices does not reconnect in lock-step after a broker restart.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    min_ms: u32,
    max_ms: u32,
    current_ms: u32,
    rng: u32,
}

impl Backoff {
    /// `seed` should differ between devices (a MAC address, a chip id).
    pub const fn new(min: Duration, max: Duration, seed: u32) -> Self {
        let min_ms = if min.ticks() == 0 { 1 } else { min.ticks() };
        let max_ms = if max.ticks() < min_ms {
            min_ms
        } else {
            max.ticks()
        };
        Backoff {
            min_ms,
            max_ms,
            current_ms: min_ms,
            // xorshift32 must not start at 0.
            rng: seed | 1,
        }
    }

    /// A connection succeeded: start again from `min`.
    pub fn reset(&mut self) {
        self.current_ms = self.min_ms;
    }

    /// The delay before the next attempt, in milliseconds.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.current_ms;
        self.current_ms = d.saturating_mul(2).min(self.max_ms);
        let half = d / 2;
        Duration::from_ticks(half + self.random() % (d - half + 1))
    }

    fn random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn grows_to_the_bound_and_restarts_after_reset() {
        let mut b = Backoff::new(Duration::from_ticks(100), Duration::from_ticks(1000), 7);
        let delays: [u32; 6] = core::array::from_fn(|_| b.next_delay().ticks());
        let bounds = [100, 200, 400, 800, 1000, 1000];
        for (d, hi) in delays.iter().zip(bounds) {
            assert!(*d >= hi / 2 && *d <= hi, "{d} outside [{}, {hi}]", hi / 2);
        }
        b.reset();
        assert!(b.next_delay().ticks() <= 100);
    }

    #[test]
    fn jitter_differs_between_seeds() {
        let mut a = Backoff::new(Duration::from_ticks(1000), Duration::from_ticks(1000), 1);
        let mut b = Backoff::new(Duration::from_ticks(1000), Duration::from_ticks(1000), 2);
        let same = (0..16).filter(|_| a.next_delay() == b.next_delay()).count();
        assert!(same < 16);
    }
}
