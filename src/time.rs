//! Time as the machines see it: milliseconds handed in by the caller.
//!
//! 32-bit millisecond instants wrap after 49.7 days; fugit compares them with
//! wrapping arithmetic, so every deadline here stays correct across the wrap as
//! long as no single interval exceeds 24.8 days.

mod backoff;

pub use backoff::Backoff;

/// A point in time, in milliseconds since an arbitrary epoch chosen by the board.
pub type Instant = fugit::TimerInstantU32<1000>;
/// A span of time in milliseconds.
pub type Duration = fugit::TimerDurationU32<1000>;

/// `now` is at or past `deadline`: the one test a superloop (and every
/// machine here) makes of a deadline. Wrapping-aware, like every comparison
/// of [`Instant`]s: right across the u32 wrap while the two are less than
/// 24.8 days apart.
///
/// ```
/// use limpet::time::{reached, Instant};
/// let deadline = Instant::from_ticks(u32::MAX - 10);
/// assert!(!reached(Instant::from_ticks(u32::MAX - 11), deadline));
/// assert!(reached(deadline, deadline));
/// assert!(reached(Instant::from_ticks(5), deadline)); // 16 ms later, wrapped
/// ```
pub fn reached(now: Instant, deadline: Instant) -> bool {
    now.checked_duration_since(deadline).is_some()
}

/// Milliseconds elapsed from `earlier` to `later` (0 if `later` is before `earlier`).
pub(crate) fn elapsed(earlier: Instant, later: Instant) -> u32 {
    later
        .checked_duration_since(earlier)
        .map_or(0, |d| d.ticks())
}

/// The later of two instants (wrapping-aware).
pub(crate) fn later(a: Instant, b: Instant) -> Instant {
    if a > b {
        a
    } else {
        b
    }
}

/// The earlier of two instants (wrapping-aware).
pub(crate) fn sooner(a: Instant, b: Instant) -> Instant {
    if a < b {
        a
    } else {
        b
    }
}

/// The earlier of two optional deadlines (wrapping-aware): how a superloop
/// combines the `next_deadline`s of its machines.
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(sooner(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
    #[cfg(target_os = "none")]
    use core::prelude::v1::test_case as test;

    #[test]
    fn a_deadline_is_reached_at_its_instant_and_after_across_the_wrap() {
        let deadline = Instant::from_ticks(u32::MAX - 1);
        assert!(!reached(Instant::from_ticks(u32::MAX - 2), deadline));
        assert!(reached(deadline, deadline));
        assert!(reached(Instant::from_ticks(u32::MAX), deadline));
        assert!(reached(Instant::from_ticks(3), deadline));
        // Half the clock's range (24.8 days) later reads as before: no
        // interval may be that long.
        assert!(reached(
            Instant::from_ticks(0x7FFF_FFFF),
            Instant::from_ticks(0)
        ));
        assert!(!reached(
            Instant::from_ticks(0x8000_0000),
            Instant::from_ticks(0)
        ));
    }

    #[test]
    fn earliest_handles_the_wrap() {
        let late = Instant::from_ticks(5);
        let early = Instant::from_ticks(u32::MAX - 5);
        assert_eq!(earliest(Some(late), Some(early)), Some(early));
        assert_eq!(earliest(Some(early), Some(late)), Some(early));
        assert_eq!(earliest(None, Some(late)), Some(late));
        assert_eq!(earliest(Some(late), None), Some(late));
        assert_eq!(earliest(None, None), None);
        assert_eq!(elapsed(early, late), 11);
        assert_eq!(elapsed(late, early), 0);
    }
}
