//! The TLS range image's certificates, given at build time as files
//! (`LIMPET_TLS_CA`, `LIMPET_TLS_CERT`, `LIMPET_TLS_KEY`: PEM paths), copied
//! into OUT_DIR for `include_bytes!`. Unset, the file is empty: the image
//! builds (CI builds it so) and refuses every server (no CA to trust).

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    for (var, file) in [
        ("LIMPET_TLS_CA", "tls-ca.pem"),
        ("LIMPET_TLS_CERT", "tls-cert.pem"),
        ("LIMPET_TLS_KEY", "tls-key.pem"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        let bytes = match std::env::var_os(var) {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
                std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("{var}={}: {e}", PathBuf::from(&path).display()))
            }
            None => Vec::new(),
        };
        std::fs::write(out.join(file), bytes).expect("write to OUT_DIR");
    }
}
