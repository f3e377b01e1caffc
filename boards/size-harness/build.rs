//! Link setup for the size harness, per target.
//!
//! Bare-metal targets get their memory map from `linker/<arch>-harness.x` at
//! the repository root (the first component of the target triple, e.g.
//! `thumbv7em` for `thumbv7em-none-eabihf`), copied into OUT_DIR as the name
//! the target's runtime expects. Host builds need nothing.

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
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let prefix = target.split('-').next().unwrap_or_default();
    let script = manifest
        .join("../../linker")
        .join(format!("{prefix}-harness.x"));
    println!("cargo:rerun-if-changed={}", script.display());

    match arch.as_str() {
        "arm" => {
            // cortex-m-rt's link.x INCLUDEs memory.x from the search path.
            let text = fs::read(&script).unwrap_or_else(|e| {
                panic!(
                    "size harness: no memory map for {target}: {}: {e}",
                    script.display()
                )
            });
            fs::write(out.join("memory.x"), text).expect("write memory.x");
            println!("cargo:rustc-link-search={}", out.display());
            println!("cargo:rustc-link-arg-bins=-Tlink.x");
        }
        // ESP8266: the board crate (a dependency on xtensa) brings the entry
        // code and the assembly runtime; its map is the chip's.
        "xtensa" => {
            let dir = manifest.join("../../linker");
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-arg-bins=-Tesp8266.x");
        }
        // Other bare-metal targets: `linker/<prefix>-harness.x` is the whole
        // linker script (entry `_start`, sections into a memory map).
        _ => {
            if !script.exists() {
                panic!(
                    "size harness: no linker script for {target}: {}",
                    script.display()
                );
            }
            println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        }
    }
}
