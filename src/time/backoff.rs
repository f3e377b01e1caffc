//! Reconnection delays: growing, bounded, jittered, never giving up.
//!
//! Below every machine that retries (the MQTT client, the WLAN
//! controller): it knows milliseconds and a seed, nothing of what is retried.

use crate::time::Duration;

/// Delay before the next connection attempt, with "decorrelated jitter":
/// each delay is drawn uniformly from `[min, 3 × previous]`, capped at
/// `max`. It grows about exponentially while attempts fail, never drops
/// below `min`, and spreads a fleet of devices that lost the same broker
/// over the whole window instead of leaving them in lock-step (with plain
/// doubling they stay in step, and with "equal jitter" they stay within a
/// factor of two). Its user starts again from `min` ([`Backoff::reset`])
/// once a connection has proved itself (the client after
/// `client::Options::stable_after`).
///
/// Optionally ([`Backoff::fast_first`]) the first attempts after a loss
/// stay under a lower cap, so a short outage (a broker restart, an access
/// point rebooting) is over within about half that cap of its end, while a
/// long one still backs off to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    min_ms: u32,
    max_ms: u32,
    previous_ms: u32,
    rng: u32,
    /// Cap of the first `fast_attempts` delays after a reset (ms).
    fast_max_ms: u16,
    fast_attempts: u8,
    /// Delays drawn since the last reset (saturating).
    attempts: u8,
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
            previous_ms: min_ms,
            // xorshift32 must not start at 0.
            rng: seed | 1,
            fast_max_ms: 0,
            fast_attempts: 0,
            attempts: 0,
        }
    }

    /// The first `attempts` delays after a reset stay at or under `cap`
    /// (at most 65.5 s), then the growth goes on to `max`.
    pub const fn fast_first(self, cap: Duration, attempts: u8) -> Self {
        let cap = if cap.ticks() > u16::MAX as u32 {
            u16::MAX
        } else {
            cap.ticks() as u16
        };
        Backoff {
            fast_max_ms: cap,
            fast_attempts: attempts,
            ..self
        }
    }

    /// The same bounds, another seed (one per device: a MAC address).
    pub const fn with_seed(self, seed: u32) -> Self {
        Backoff {
            rng: seed | 1,
            ..self
        }
    }

    /// A connection proved itself: start again from `min`.
    pub fn reset(&mut self) {
        self.previous_ms = self.min_ms;
        self.attempts = 0;
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        // Written so that no setting can panic (`clamp` does on min > max,
        // `% (span + 1)` on a span of u32::MAX): whatever the fields hold,
        // the delay stays within [min, max(min, max)].
        let cap = if self.attempts < self.fast_attempts {
            (self.fast_max_ms as u32).min(self.max_ms).max(self.min_ms)
        } else {
            self.max_ms
        };
        self.attempts = self.attempts.saturating_add(1);
        let high = self.previous_ms.saturating_mul(3).min(cap);
        let span = high.saturating_sub(self.min_ms);
        let jitter = self
            .random()
            .checked_rem(span.saturating_add(1))
            .unwrap_or(0);
        let d = self.min_ms.saturating_add(jitter);
        self.previous_ms = d;
        Duration::from_ticks(d)
    }

    /// A delay from the upper half of `[min, max]`, for a server that said
    /// it is busy, over its quota or elsewhere (MQTT 5.0 reason codes); the
    /// delays after it grow from there, the fast start (if any) over.
    #[cfg(feature = "mqtt5")]
    pub fn next_long_delay(&mut self) -> Duration {
        self.attempts = self.attempts.max(self.fast_attempts);
        let low = (self.max_ms / 2).max(self.min_ms);
        let span = self.max_ms.saturating_sub(low);
        let jitter = self
            .random()
            .checked_rem(span.saturating_add(1))
            .unwrap_or(0);
        let d = low.saturating_add(jitter);
        self.previous_ms = d;
        Duration::from_ticks(d)
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
    fn stays_within_min_and_three_times_the_previous_and_the_cap() {
        let mut b = Backoff::new(Duration::from_ticks(100), Duration::from_ticks(1000), 7);
        let mut previous = 100;
        for _ in 0..200 {
            let d = b.next_delay().ticks();
            assert!(
                d >= 100 && d <= (previous * 3).min(1000),
                "{d} after {previous}"
            );
            previous = d;
        }
        b.reset();
        assert!(b.next_delay().ticks() <= 300);
    }

    #[test]
    fn grows_while_attempts_fail() {
        // Averaged over seeds, the tenth delay is far above the first.
        let (mut first, mut tenth) = (0u64, 0u64);
        for seed in 0..64 {
            let mut b = Backoff::new(
                Duration::from_ticks(100),
                Duration::from_ticks(100_000),
                seed,
            );
            first += u64::from(b.next_delay().ticks());
            for _ in 0..8 {
                b.next_delay();
            }
            tenth += u64::from(b.next_delay().ticks());
        }
        assert!(tenth > first * 8, "first {first}, tenth {tenth}");
    }

    #[test]
    fn the_first_attempts_stay_under_the_fast_cap_then_grow_to_max() {
        let mut b = Backoff::new(Duration::from_ticks(250), Duration::from_ticks(8_000), 5)
            .fast_first(Duration::from_ticks(2_000), 10);
        for _ in 0..3 {
            let fast: u32 = (0..10).map(|_| b.next_delay().ticks()).max().unwrap();
            assert!(fast <= 2_000, "{fast}");
            let slow: u32 = (0..40).map(|_| b.next_delay().ticks()).max().unwrap();
            assert!(slow > 2_000 && slow <= 8_000, "{slow}");
            b.reset();
        }
    }

    #[test]
    fn jitter_differs_between_seeds() {
        let mut a = Backoff::new(Duration::from_ticks(1000), Duration::from_ticks(4000), 1);
        let mut b = Backoff::new(Duration::from_ticks(1000), Duration::from_ticks(4000), 2);
        let same = (0..16).filter(|_| a.next_delay() == b.next_delay()).count();
        assert!(same < 16);
    }
}
