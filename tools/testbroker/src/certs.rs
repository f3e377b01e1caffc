//! Test certificates made at test time with the `openssl` command-line
//! tool (`scripts/setup` installs it): P-256 CAs, servers and clients,
//! valid for two days or between given dates. Nothing is ever committed:
//! each test makes its own in a temp dir it removes.

use std::path::Path;
use std::process::Command;

/// Runs `openssl ARGS` in `dir` and asserts it succeeded.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (P-256, self-signed, CA:TRUE) named `cn`: `{name}.pem`, `.key`, `.der`.
pub fn make_ca(dir: &Path, name: &str, cn: &str) -> Vec<u8> {
    let (pem, key, der) = (
        format!("{name}.pem"),
        format!("{name}.key"),
        format!("{name}.der"),
    );
    let subj = format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &subj,
        ],
    );
    openssl(dir, &["x509", "-in", &pem, "-outform", "DER", "-out", &der]);
    std::fs::read(dir.join(der)).unwrap()
}

/// A P-256 key `{name}.key` and a certificate `{name}.pem` (and `.der`)
/// for `cn`, issued by the CA `{ca}.pem`/`.key` with the extensions `ext`;
/// valid for two days from now, or between `dates` (`YYYYMMDDHHMMSSZ`).
pub fn issue(dir: &Path, name: &str, cn: &str, ca: &str, ext: &str, dates: Option<(&str, &str)>) {
    let (key, csr, pem, der, extfile) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.der"),
        format!("{name}.ext"),
    );
    let subj = format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &subj,
        ],
    );
    std::fs::write(dir.join(&extfile), ext).unwrap();
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    match dates {
        None => openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_pem,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &extfile,
            ],
        ),
        Some((start, end)) => {
            // `openssl ca` is the 3.0 way to set both dates: a throwaway
            // database in the temp dir.
            let db = dir.join("db");
            std::fs::create_dir_all(&db).unwrap();
            if !db.join("serial").exists() {
                std::fs::write(db.join("index.txt"), "").unwrap();
                std::fs::write(db.join("serial"), "1000\n").unwrap();
                std::fs::write(
                    dir.join("ca.cnf"),
                    "[ca]\ndefault_ca = d\n[d]\ndatabase = db/index.txt\n\
                     new_certs_dir = db\nserial = db/serial\ndefault_md = sha256\n\
                     policy = p\nunique_subject = no\n[p]\ncommonName = supplied\n",
                )
                .unwrap();
            }
            openssl(
                dir,
                &[
                    "ca",
                    "-batch",
                    "-notext",
                    "-config",
                    "ca.cnf",
                    "-cert",
                    &ca_pem,
                    "-keyfile",
                    &ca_key,
                    "-in",
                    &csr,
                    "-out",
                    &pem,
                    "-extfile",
                    &extfile,
                    "-startdate",
                    start,
                    "-enddate",
                    end,
                ],
            );
        }
    }
    openssl(dir, &["x509", "-in", &pem, "-outform", "DER", "-out", &der]);
    // mosquitto started as root drops to its own user: let it read the
    // (throwaway) key.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join(&key), std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// Extensions of a server certificate for localhost and 127.0.0.1.
pub const SERVER_EXT: &str =
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n";
/// Extensions of a client certificate.
pub const CLIENT_EXT: &str = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";
