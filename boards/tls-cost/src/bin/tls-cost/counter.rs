//! Instructions executed so far, under QEMU with `-icount shift=0` (each
//! instruction advances the virtual clock by exactly 1 ns).
//!
//! - RISC-V: `minstret`/`minstreth`. QEMU (target/riscv/csr.c) answers
//!   the instruction counters from icount when icount is on, from the
//!   host's clock otherwise: hence `-icount`. On QEMU 7.2 the 2 M check
//!   counts 2,000,001 with it and about 1.06 M without.
//! - Cortex-M (thumbv7em, and thumbv6m code on the same Cortex-M4
//!   machine): QEMU has no DWT cycle counter, but SysTick runs on the
//!   virtual clock: on `mps2-an386` its processor clock is 25 MHz, one tick
//!   every 40 ns, i.e. every 40 instructions. So instructions = ticks × 40,
//!   to ±40. The 24-bit counter wraps every 2^24 ticks (671 M
//!   instructions); its exception counts the wraps.
//!
//! [`check`] times a loop of known length, so a wrong assumption here (no
//! icount, another clock) shows as a failed check, not as a wrong figure.

/// Instructions per counter unit.
#[cfg(target_arch = "arm")]
pub const SCALE: u64 = 1_000_000_000 / 25_000_000;
/// Instructions per counter unit.
#[cfg(target_arch = "riscv32")]
pub const SCALE: u64 = 1;

#[cfg(target_arch = "arm")]
mod arch {
    use core::sync::atomic::{AtomicU32, Ordering};

    /// SysTick control and status, reload value, current value (ARMv7-M ARM B3.3).
    const SYST_CSR: *mut u32 = 0xE000_E010 as *mut u32;
    const SYST_RVR: *mut u32 = 0xE000_E014 as *mut u32;
    const SYST_CVR: *mut u32 = 0xE000_E018 as *mut u32;
    /// CSR: the processor clock, the exception on wrap, counting.
    const CLKSOURCE_TICKINT_ENABLE: u32 = 0b111;
    const RELOAD: u32 = 0x00FF_FFFF;

    /// Wraps of the 24-bit counter.
    static WRAPS: AtomicU32 = AtomicU32::new(0);

    // Load and store, not `fetch_add`: ARMv6-M (thumbv6m) has no atomic
    // read-modify-write, and this handler is the only writer.
    #[cortex_m_rt::exception]
    fn SysTick() {
        WRAPS.store(WRAPS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    pub fn start() {
        // SAFETY: SysTick's registers, on every ARMv7-M core at these
        // addresses; nothing else uses the timer.
        unsafe {
            SYST_RVR.write_volatile(RELOAD);
            SYST_CVR.write_volatile(0);
            SYST_CSR.write_volatile(CLKSOURCE_TICKINT_ENABLE);
        }
    }

    pub fn read() -> u64 {
        loop {
            let wraps = WRAPS.load(Ordering::Relaxed);
            // SAFETY: a read of SysTick's current value register.
            let current = unsafe { SYST_CVR.read_volatile() } & RELOAD;
            if WRAPS.load(Ordering::Relaxed) == wraps {
                return (u64::from(wraps) << 24) + u64::from(RELOAD - current);
            }
        }
    }

    /// `n` (≥ 1) turns of a two-instruction loop.
    pub fn spin(n: u32) {
        // SAFETY: registers only.
        unsafe {
            core::arch::asm!(
                "2:",
                "subs {n}, {n}, #1",
                "bne 2b",
                n = inout(reg) n => _,
                options(nomem, nostack),
            );
        }
    }
}

#[cfg(target_arch = "riscv32")]
mod arch {
    pub fn start() {}

    pub fn read() -> u64 {
        loop {
            let (hi, lo, again): (u32, u32, u32);
            // SAFETY: reads of the machine instruction counter (M-mode).
            unsafe {
                core::arch::asm!(
                    "csrr {hi}, minstreth",
                    "csrr {lo}, minstret",
                    "csrr {again}, minstreth",
                    hi = out(reg) hi,
                    lo = out(reg) lo,
                    again = out(reg) again,
                    options(nomem, nostack),
                );
            }
            if hi == again {
                return (u64::from(hi) << 32) | u64::from(lo);
            }
        }
    }

    /// `n` (≥ 1) turns of a two-instruction loop.
    pub fn spin(n: u32) {
        // SAFETY: registers only.
        unsafe {
            core::arch::asm!(
                "2:",
                "addi {n}, {n}, -1",
                "bnez {n}, 2b",
                n = inout(reg) n => _,
                options(nomem, nostack),
            );
        }
    }
}

/// Starts the counter (SysTick on Cortex-M) and waits until it runs.
pub fn start() {
    arch::start();
    let first = arch::read();
    while arch::read() == first {}
}

/// The counter now, in instructions.
#[inline(always)]
pub fn now() -> u64 {
    arch::read() * SCALE
}

/// What reading the counter twice costs (the least of a few tries), to
/// take off every measurement.
pub fn overhead() -> u64 {
    (0..16)
        .map(|_| {
            let a = now();
            let b = now();
            b - a
        })
        .min()
        .unwrap_or(0)
}

/// The counter's check: `turns` turns of a two-instruction loop, counted.
/// Returns (expected, counted) instructions; the counted figure has the
/// reading's overhead taken off.
pub fn check(turns: u32, overhead: u64) -> (u64, u64) {
    let a = now();
    arch::spin(turns);
    let b = now();
    (2 * u64::from(turns), (b - a).saturating_sub(overhead))
}
