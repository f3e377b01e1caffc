//! The measured firmware: the scenario of `harness::client` over TLS, server
//! authentication only (`harness::tls::client_tls`, feature `tls`).
//!
//! On the host this is an empty program (the harness only type-checks there).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(all(target_arch = "arm", target_os = "none"))]
#[cortex_m_rt::entry]
fn main() -> ! {
    harness::tls::client_tls()
}

/// Other bare-metal targets: a plain entry symbol. The image is only
/// measured, never run, so no start-up code is needed beyond the same entry
/// for every binary.
#[cfg(all(
    target_os = "none",
    not(any(target_arch = "arm", target_arch = "xtensa"))
))]
#[no_mangle]
pub extern "C" fn _start() -> ! {
    harness::tls::client_tls()
}

// ESP8266: the board runtime's `_start` calls this `main` once RAM is set up.
#[cfg(all(target_os = "none", target_arch = "xtensa"))]
limpet_esp8266::entry!(run);

#[cfg(all(target_os = "none", target_arch = "xtensa"))]
fn run() -> ! {
    harness::tls::client_tls()
}

#[cfg(not(target_os = "none"))]
fn main() {}
