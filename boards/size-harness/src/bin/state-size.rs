//! Exports the RAM figure: the symbol `LIMPET_CLIENT_STATE_BYTES` is an array
//! of `size_of::<Client<4, 8>>()` bytes, so `nm -S` on the ELF reads the size
//! of the client state (user buffers excluded) without running anything.
//!
//! On the host this is an empty program (the harness only type-checks there).
#![cfg_attr(target_os = "none", no_std, no_main)]

/// Its symbol size is the client state size; its bytes mean nothing.
#[cfg(target_os = "none")]
#[used]
#[no_mangle]
pub static LIMPET_CLIENT_STATE_BYTES: [u8; harness::CLIENT_STATE_BYTES] =
    [0; harness::CLIENT_STATE_BYTES];

#[cfg(all(target_arch = "arm", target_os = "none"))]
#[cortex_m_rt::entry]
fn main() -> ! {
    // Referenced, so no linker garbage collection can drop it.
    core::hint::black_box(&LIMPET_CLIENT_STATE_BYTES);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Other bare-metal targets: a plain entry symbol (measured, never run).
#[cfg(all(
    target_os = "none",
    not(any(target_arch = "arm", target_arch = "xtensa"))
))]
#[no_mangle]
pub extern "C" fn _start() -> ! {
    core::hint::black_box(&LIMPET_CLIENT_STATE_BYTES);
    #[allow(clippy::empty_loop)]
    loop {}
}

// ESP8266: the board runtime's `_start` calls this `main` once RAM is set up.
#[cfg(all(target_os = "none", target_arch = "xtensa"))]
limpet_esp8266::entry!(run);

#[cfg(all(target_os = "none", target_arch = "xtensa"))]
fn run() -> ! {
    core::hint::black_box(&LIMPET_CLIENT_STATE_BYTES);
    #[allow(clippy::empty_loop)]
    loop {}
}

#[cfg(not(target_os = "none"))]
fn main() {}
