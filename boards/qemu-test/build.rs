//! Memory map for the on-ISA test binaries, per target.
//!
//! The map lives in `linker/<prefix>-qemu-test.x` at the repository root
//! (`<prefix>` is the first component of the target triple, e.g. `thumbv7em`
//! or `thumbv6m`,
//! or for Xtensa the second, the core: `lx106`)
//! and is copied into OUT_DIR, which is put on the linker's search path of
//! every binary that links this crate, under the name the link needs:
//! - arm: `memory.x`, INCLUDEd by cortex-m-rt's `link.x`;
//! - riscv32: `qemu-test.x`, a whole link script;
//! - xtensa (lx106): `qemu-test.x`, the memory map, which INCLUDEs the
//!   ESP8266 board's section placement (`linker/esp8266-sections.x`, so the
//!   repository's `linker/` goes on the search path too).
//!
//! On xtensa it also assembles the ESP8266 board's runtime,
//! `boards/esp8266/asm/rt.S` (vectors, RAM set-up, atomics, `abort`) and
//! `asm/start_sim.S` (`_start` and semihosting for QEMU's `sim` machine),
//! with `xtensa-lx106-elf-gcc` (`LX106_CC` overrides) into a static library
//! bundled with this crate: the same files, assembled the same way, as that
//! crate's build.rs does with feature `sim` (its README, "Under QEMU"). Not
//! a dependency on `limpet-esp8266` itself, which depends on limpet: the
//! test binary would link a second copy of the crate under test, and the
//! board's own `__limpet_fatal_exception` would take the place of ours.
//!
//! The `-T` argument itself comes from `#[link(kind = "link-arg")]` in the
//! architecture's module: a build script's `rustc-link-arg` only reaches this
//! package's own binaries, not the test binary of the crate that depends on
//! it. Host builds need nothing (the crate is empty there).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(armv6m)");
    let target = env::var("TARGET").unwrap_or_default();
    // ARMv6-M (thumbv6m, the RP2040's Cortex-M0+) runs on QEMU's Cortex-M4
    // with ARMv6-M's alignment rule switched on (src/cortex_m.rs).
    if target.starts_with("thumbv6m") {
        println!("cargo:rustc-cfg=armv6m");
    }
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "none" {
        return;
    }
    let name = match arch.as_str() {
        "arm" => "memory.x",
        "riscv32" | "xtensa" => "qemu-test.x",
        _ => panic!(
            "limpet-qemu-test: no link setup for {target}; add one in boards/qemu-test/build.rs \
             (and a module in src/ with the startup, write and exit)"
        ),
    };
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    // The ISA's name, as scripts/isa-test calls it: the first component of
    // the triple, or for Xtensa the core (`xtensa-lx106-none-elf`, the stem
    // of targets/xtensa-lx106-none-elf.json, is `lx106`).
    let mut parts = target.split('-');
    let mut prefix = parts.next().unwrap_or_default();
    if prefix == "xtensa" {
        prefix = parts.next().unwrap_or_default();
    }
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
    if arch == "xtensa" {
        lx106_runtime(&manifest, &out);
    }
}

/// Assembles the ESP8266 board's runtime for QEMU `sim` into a static
/// library of this crate (see the module doc).
fn lx106_runtime(manifest: &Path, out: &Path) {
    println!("cargo:rerun-if-env-changed=LX106_CC");
    let cc = env::var("LX106_CC").unwrap_or_else(|_| "xtensa-lx106-elf-gcc".into());
    let ar = cc
        .strip_suffix("gcc")
        .map_or_else(|| "xtensa-lx106-elf-ar".into(), |p| format!("{p}ar"));
    let asm = manifest.join("../esp8266/asm");
    let mut objects = Vec::new();
    for name in ["rt.S", "start_sim.S"] {
        let src = asm.join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        let obj = out.join(Path::new(name).with_extension("o"));
        // As boards/esp8266/build.rs: literals next to their code.
        run(Command::new(&cc)
            .args(["-c", "-mtext-section-literals", "-o"])
            .arg(&obj)
            .arg(&src));
        objects.push(obj);
    }
    let lib = out.join("liblimpet_qemu_test_lx106.a");
    let _ = fs::remove_file(&lib);
    run(Command::new(&ar).arg("rcs").arg(&lib).args(&objects));
    println!("cargo:rustc-link-lib=static=limpet_qemu_test_lx106");
    let linker = manifest.join("../../linker");
    println!(
        "cargo:rerun-if-changed={}",
        linker.join("esp8266-sections.x").display()
    );
    println!("cargo:rustc-link-search={}", linker.display());
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!(
            "limpet-qemu-test: cannot run {cmd:?}: {e} (scripts/setup installs gcc-xtensa-lx106)"
        )
    });
    assert!(status.success(), "limpet-qemu-test: {cmd:?} failed");
}
