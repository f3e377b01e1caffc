//! Assembles the board's runtime and sets up the link, for Xtensa only.
//!
//! Upstream rustc has no Xtensa inline assembly, so the entry code, vectors,
//! cycle counter, atomics and semihosting calls are GNU assembler files in
//! `asm/`, assembled here with `xtensa-lx106-elf-gcc` (Debian's
//! gcc-xtensa-lx106; `LX106_CC` overrides) into a static library that rustc
//! bundles into this crate. The entry file depends on the feature:
//! `asm/start_chip.S` for the ESP8266, `asm/start_sim.S` for QEMU's `sim`
//! machine (feature `sim`). The binaries of this package link with
//! `linker/esp8266.x` or `linker/esp8266-sim.x` (repository root).
//! Host builds do nothing.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("limpet-esp8266: cannot run {cmd:?}: {e} (scripts/setup installs gcc-xtensa-lx106)")
    });
    assert!(status.success(), "limpet-esp8266: {cmd:?} failed");
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LX106_CC");
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("xtensa") {
        return;
    }
    let sim = env::var_os("CARGO_FEATURE_SIM").is_some();
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let cc = env::var("LX106_CC").unwrap_or_else(|_| "xtensa-lx106-elf-gcc".into());
    let ar = cc
        .strip_suffix("gcc")
        .map_or_else(|| "xtensa-lx106-elf-ar".into(), |p| format!("{p}ar"));

    let start = if sim { "start_sim.S" } else { "start_chip.S" };
    let mut objects = Vec::new();
    for name in ["rt.S", start] {
        let src = manifest.join("asm").join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        let obj = out.join(Path::new(name).with_extension("o"));
        // Literals next to their code: the runtime runs from IRAM, before
        // the flash cache is on, and far from any .literal section.
        run(Command::new(&cc)
            .args(["-c", "-mtext-section-literals", "-o"])
            .arg(&obj)
            .arg(&src));
        objects.push(obj);
    }
    let lib = out.join("liblimpet_esp8266_rt.a");
    let _ = std::fs::remove_file(&lib);
    run(Command::new(&ar).arg("rcs").arg(&lib).args(&objects));
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=limpet_esp8266_rt");

    let linker_dir = manifest.join("../../linker");
    let script = if sim { "esp8266-sim.x" } else { "esp8266.x" };
    for name in [script, "esp8266-sections.x"] {
        println!("cargo:rerun-if-changed={}", linker_dir.join(name).display());
    }
    println!("cargo:rustc-link-search=native={}", linker_dir.display());
    println!("cargo:rustc-link-arg-bins=-T{script}");

    // TLS (feature `tls`): the broker's CA from the PEM file named by
    // LIMPET_TLS_CA (empty if unset: every server is refused), and the
    // stack TLS needs: 44,732 B measured under QEMU
    // (scripts/esp8266-sim-e2e --tls), 78 % of this reserve; with the
    // image's 19 KB of static RAM, 76 KB of the 80 KB DRAM.
    println!("cargo:rerun-if-env-changed=LIMPET_TLS_CA");
    if env::var_os("CARGO_FEATURE_TLS").is_some() {
        let ca = match env::var_os("LIMPET_TLS_CA") {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
                std::fs::read(&path).unwrap_or_else(|e| {
                    panic!("LIMPET_TLS_CA={}: {e}", PathBuf::from(&path).display())
                })
            }
            None => Vec::new(),
        };
        std::fs::write(out.join("tls-ca.pem"), ca).expect("write OUT_DIR/tls-ca.pem");
        if !sim {
            println!("cargo:rustc-link-arg-bins=-Wl,--defsym=__limpet_stack_size=56K");
        }
    }
}
