//! The measured firmware: the limpet scenario of `harness::client` in MQTT
//! 5.0 (`harness::client_v5`, feature `mqtt5`). It also defines the
//! absolute symbol `LIMPET_CLIENT_V5_STATE_BYTES`, whose *value* is
//! `size_of::<Client<4, 8>>()` in an MQTT 5.0 build (an assembler `.set`
//! with a `const` operand: no code, no data, as the TLS harness's
//! `LIMPET_TLS_RAM_*`), read by `scripts/size-report` with `nm`.
//!
//! On the host this is an empty program (the harness only type-checks there).
#![cfg_attr(target_os = "none", no_std, no_main)]

// Xtensa's inline assembly is unstable: no state figure there.
#[cfg(all(target_os = "none", not(target_arch = "xtensa")))]
core::arch::global_asm!(
    ".globl LIMPET_CLIENT_V5_STATE_BYTES",
    ".set LIMPET_CLIENT_V5_STATE_BYTES, {n}",
    n = const harness::CLIENT_STATE_BYTES,
);

#[cfg(all(target_arch = "arm", target_os = "none"))]
#[cortex_m_rt::entry]
fn main() -> ! {
    harness::client_v5()
}

/// Other bare-metal targets: a plain entry symbol. The image is only
/// measured, never run.
#[cfg(all(
    target_os = "none",
    not(any(target_arch = "arm", target_arch = "xtensa"))
))]
#[no_mangle]
pub extern "C" fn _start() -> ! {
    harness::client_v5()
}

// ESP8266: the board runtime's `_start` calls this `main` once RAM is set up.
#[cfg(all(target_os = "none", target_arch = "xtensa"))]
limpet_esp8266::entry!(run);

#[cfg(all(target_os = "none", target_arch = "xtensa"))]
fn run() -> ! {
    harness::client_v5()
}

#[cfg(not(target_os = "none"))]
fn main() {}
