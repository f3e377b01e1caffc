//! The superloop's clock: milliseconds since boot, wrapping at 2^32 (every
//! 49.7 days), as limpet's machines expect.

use limpet::time::Instant;

/// Now, in limpet's wrapping milliseconds, from esp-hal's 64-bit system timer.
pub fn now() -> Instant {
    let ms = esp_hal::time::Instant::now()
        .duration_since_epoch()
        .as_millis();
    Instant::from_ticks(ms as u32) // wraps: limpet's instants are modulo 2^32
}

/// Gives the CPU to the WiFi driver's task until `deadline`, or for at most
/// `max_ms`: frames arrive without telling the superloop, so it never sleeps
/// longer than the latency it accepts for them.
pub fn sleep_until(deadline: Option<Instant>, max_ms: u32) {
    let now = now();
    let ms = deadline
        .map_or(max_ms, |d| {
            d.checked_duration_since(now).map_or(0, |x| x.ticks())
        })
        .min(max_ms);
    if ms > 0 {
        esp_rtos::CurrentThreadHandle::get()
            .delay(esp_hal::time::Duration::from_millis(u64::from(ms)));
    }
}
