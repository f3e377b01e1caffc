//! The empty firmware: entry, fake transport and clock, no limpet.
//!
//! On the host this is an empty program (the harness only type-checks there).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(all(target_arch = "arm", target_os = "none"))]
#[cortex_m_rt::entry]
fn main() -> ! {
    harness::baseline()
}

#[cfg(all(target_os = "none", not(target_arch = "arm")))]
compile_error!("size harness: add this target's entry point (see src/bin/*.rs and build.rs)");

#[cfg(not(target_os = "none"))]
fn main() {}
