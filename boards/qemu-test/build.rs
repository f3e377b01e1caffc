//! Memory map for the on-ISA test binaries, per target.
//!
//! The map lives in `linker/<prefix>-qemu-test.x` at the repository root
//! (`<prefix>` is the first component of the target triple, e.g. `thumbv7em`)
//! and is copied into OUT_DIR, which is put on the linker's search path of
//! every binary that links this crate, under the name the link needs:
//! - arm: `memory.x`, INCLUDEd by cortex-m-rt's `link.x`;
//! - riscv32: `qemu-test.x`, a whole link script.
//!
//! The `-T` argument itself comes from `#[link(kind = "link-arg")]` in the
//! architecture's module: a build script's `rustc-link-arg` only reaches this
//! package's own binaries, not the test binary of the crate that depends on
//! it. Host builds need nothing (the crate is empty there).

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = env::var("TARGET").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "none" {
        return;
    }
    let name = match arch.as_str() {
        "arm" => "memory.x",
        "riscv32" => "qemu-test.x",
        _ => panic!(
            "limpet-qemu-test: no link setup for {target}; add one in boards/qemu-test/build.rs \
             (and a module in src/ with the startup, write and exit)"
        ),
    };
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let prefix = target.split('-').next().unwrap_or_default();
    let script = manifest
        .join("../../linker")
        .join(format!("{prefix}-qemu-test.x"));
    println!("cargo:rerun-if-changed={}", script.display());
    let text = fs::read(&script).unwrap_or_else(|e| {
        panic!(
            "limpet-qemu-test: no memory map for {target}: {}: {e}",
            script.display()
        )
    });
    fs::write(out.join(name), text).expect("write link script");
    println!("cargo:rustc-link-search={}", out.display());
}
