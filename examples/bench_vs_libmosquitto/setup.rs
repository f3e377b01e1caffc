//! Set-up: the tools, the two clients built, and for `--tls` the test
//! certificates, the broker's TLS listener and libmosquitto's OpenSSL
//! settings.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::support::certs::{issue, make_ca, SERVER_EXT};

pub fn find_bin(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// First line of a command's output (stdout, else stderr), if it ran.
pub fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).output().ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
}

pub const SETUP_HINT: &str = "run `scripts/setup bench` (installs mosquitto and libmosquitto-dev)";

/// The two clients, built.
pub struct Clients {
    pub limpet: PathBuf,
    pub libmosquitto: PathBuf,
    /// TLS: the C client could not be built with OpenSSL's headers
    /// (libssl-dev), so it cannot say what it negotiated; why.
    pub no_openssl_headers: Option<String>,
}

/// Builds both clients (for `tls`: limpet's with the `tls` feature, the C
/// client with OpenSSL's headers if they are there).
pub fn build_clients(tls: bool) -> Result<Clients, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // target/release/examples/bench_vs_libmosquitto
    let examples = exe.parent().ok_or("no examples dir")?.to_path_buf();
    let target = examples
        .parent()
        .and_then(Path::parent)
        .ok_or("no target dir")?
        .to_path_buf();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    let features = if tls { "std,tls" } else { "std" };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(root)
        .args(["build", "--quiet", "--release", "--features", features])
        .args(["--example", "bench_client"])
        .status()
        .map_err(|e| format!("run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build --release --features {features} --example bench_client failed"
        ));
    }
    let limpet = examples.join("bench_client");

    let cc = find_bin("cc").ok_or_else(|| format!("no C compiler `cc` on PATH; {SETUP_HINT}"))?;
    let out_dir = target.join("bench-libmosquitto");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("create {}: {e}", out_dir.display()))?;
    let src = root.join("bench/libmosquitto/mqtt_bench.c");
    let compile = |out: &Path, defines: &[&str], libs: &[&str]| -> Result<(), String> {
        let result = Command::new(&cc)
            .args(["-O2", "-Wall", "-Wextra", "-o"])
            .arg(out)
            .args(defines)
            .arg(&src)
            .arg("-lmosquitto")
            .args(libs)
            .output()
            .map_err(|e| format!("run cc: {e}"))?;
        if result.status.success() {
            return Ok(());
        }
        let msg = String::from_utf8_lossy(&result.stderr);
        let hint = if msg.contains("mosquitto.h") || msg.contains("lmosquitto") {
            format!("libmosquitto-dev looks missing; {SETUP_HINT}")
        } else {
            "the C client did not compile".into()
        };
        Err(format!("cc {}: {hint}\n{msg}", src.display()))
    };
    if !tls {
        let libmosquitto = out_dir.join("mqtt_bench");
        compile(&libmosquitto, &[], &[])?;
        return Ok(Clients {
            limpet,
            libmosquitto,
            no_openssl_headers: None,
        });
    }
    // TLS needs only libmosquitto; OpenSSL's headers (libssl-dev) let the
    // client also report the negotiated version, suite and group.
    let libmosquitto = out_dir.join("mqtt_bench_tls");
    let no_openssl_headers = match compile(&libmosquitto, &["-DBENCH_TLS"], &["-lssl", "-lcrypto"])
    {
        Ok(()) => None,
        Err(e) if e.contains("openssl/") || e.contains("lssl") || e.contains("lcrypto") => {
            compile(&libmosquitto, &[], &[])?;
            Some("OpenSSL's headers are missing (libssl-dev)".to_owned())
        }
        Err(e) => return Err(e),
    };
    Ok(Clients {
        limpet,
        libmosquitto,
        no_openssl_headers,
    })
}

/// What the clients are given for TLS, in a temp dir removed on drop: the
/// test CA (DER for limpet, PEM for libmosquitto) and libmosquitto's
/// OpenSSL configuration. No key is kept anywhere else.
pub struct TlsFiles {
    dir: PathBuf,
    pub ca_der: PathBuf,
    pub ca_pem: PathBuf,
    pub openssl_conf: PathBuf,
}

/// OpenSSL settings for the C client (`OPENSSL_CONF`, read when libmosquitto
/// initialises OpenSSL; its SSL_CTX starts from `system_default`): what
/// limpet offers, so both handshakes do the same work (without it OpenSSL
/// negotiates TLS_AES_256_GCM_SHA384 with X25519). libmosquitto 2.0.11 has
/// no option for TLS 1.3 suites or groups, and with `MOSQ_OPT_SSL_CTX` (an
/// SSL_CTX of our own, `MOSQ_OPT_SSL_CTX_WITH_DEFAULTS`) every handshake
/// failed here with "certificate verify failed", even with nothing else
/// changed (apparently its verify callback finds its client through an
/// ex-data index made only when libmosquitto creates the SSL_CTX itself).
const OPENSSL_CONF: &str = "\
openssl_conf = bench_init
[bench_init]
ssl_conf = bench_ssl
[bench_ssl]
system_default = bench_tls
[bench_tls]
MinProtocol = TLSv1.3
MaxProtocol = TLSv1.3
Ciphersuites = TLS_AES_128_GCM_SHA256
Groups = P-256
";

impl TlsFiles {
    /// A P-256 CA and a server certificate for `localhost` and 127.0.0.1
    /// it issued (openssl, valid for two days), and the OpenSSL settings.
    pub fn make() -> Result<TlsFiles, String> {
        if find_bin("openssl").is_none() {
            return Err(
                "--tls makes its certificates with `openssl`, which is not installed; \
                        run `scripts/setup broker`"
                    .into(),
            );
        }
        let dir = std::env::temp_dir().join(format!("limpet-bench-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let files = TlsFiles {
            ca_der: dir.join("ca.der"),
            ca_pem: dir.join("ca.pem"),
            openssl_conf: dir.join("openssl-client.cnf"),
            dir,
        };
        make_ca(&files.dir, "ca", "limpet bench CA");
        issue(&files.dir, "server", "localhost", "ca", SERVER_EXT, None);
        std::fs::write(&files.openssl_conf, OPENSSL_CONF)
            .map_err(|e| format!("write {}: {e}", files.openssl_conf.display()))?;
        Ok(files)
    }

    /// mosquitto.conf lines: the listener serves TLS with the server
    /// certificate. `set_tcp_nodelay`: without it mosquitto's CONNACK waits
    /// (Nagle) behind its two unacknowledged session tickets until the
    /// client's delayed ACK, ~40 ms on Linux, whichever the client: a
    /// timer, not either client's cost (the clients set TCP_NODELAY too).
    pub fn listener(&self) -> String {
        let path = |name: &str| self.dir.join(name).display().to_string();
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nset_tcp_nodelay true\n",
            path("ca.pem"),
            path("server.pem"),
            path("server.key")
        )
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
