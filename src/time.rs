//! Time as the machines see it: milliseconds handed in by the caller.
//!
//! 32-bit millisecond instants wrap after 49.7 days; fugit compares them with
//! wrapping arithmetic, so every deadline here stays correct across the wrap as
//! long as no single interval exceeds 24.8 days.

/// A point in time, in milliseconds since an arbitrary epoch chosen by the board.
pub type Instant = fugit::TimerInstantU32<1000>;
/// A span of time in milliseconds.
pub type Duration = fugit::TimerDurationU32<1000>;

/// Milliseconds elapsed from `earlier` to `later` (0 if `later` is before `earlier`).
pub(crate) fn elapsed(earlier: Instant, later: Instant) -> u32 {
    later
        .checked_duration_since(earlier)
        .map_or(0, |d| d.ticks())
}
