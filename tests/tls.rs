//! limpet over TLS (`limpet::net::tls`, feature `tls`) against a real
//! mosquitto with a TLS listener on 127.0.0.1. Certificates are made at
//! test time with the `openssl` command-line tool (scripts/setup installs
//! it); no key is ever committed.

use core::pin::pin;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use limpet::client::Client;
use limpet::net::std_tcp::StdTcp;
use limpet::net::tls::{self, Config as TlsConfig, Error, Failure, Mailbox, Tls};
use limpet::net::Transport;
use limpet::session::Event;
use limpet::time::Instant as Ms;
use limpet::{Config, Options, QoS};
use limpet_testbroker::Broker;
use rand_core::OsRng;

fn openssl(dir: &Path, args: &[&str]) {
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
fn make_ca(dir: &Path, name: &str, cn: &str) -> Vec<u8> {
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

/// Test certificates in a fresh temp dir: `ca` signs the server's
/// certificate for localhost and 127.0.0.1; `other` is an unrelated CA,
/// `twin` a CA with the same name as `ca` but another key.
struct Certs {
    dir: PathBuf,
    ca: Vec<u8>,
    other: Vec<u8>,
    twin: Vec<u8>,
}

impl Certs {
    fn make() -> Certs {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("limpet-tls-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca = make_ca(&dir, "ca", "limpet test CA");
        let other = make_ca(&dir, "other", "limpet other CA");
        let twin = make_ca(&dir, "twin", "limpet test CA");
        openssl(
            &dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        );
        // mosquitto started as root drops to its own user: let it read the
        // (throwaway) key.
        use std::os::unix::fs::PermissionsExt;
        let key = dir.join("server.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        Certs {
            dir,
            ca,
            other,
            twin,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// mosquitto.conf lines that make the broker's listener TLS.
    fn listener(&self) -> String {
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            self.path("ca.pem"),
            self.path("server.pem"),
            self.path("server.key")
        )
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects over TLS with `config`; the connect result within 10 s.
fn connect_with(port: u16, config: TlsConfig<'_>) -> Result<(), Error<std::io::Error>> {
    let inner = StdTcp::new(([127, 0, 0, 1], port).into());
    let (mut tx, mut rx) = ([0u8; 256], [0u8; 256]);
    let mail = Mailbox::new(&mut tx, &mut rx);
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 1024]);
    let driver = pin!(tls::drive(
        inner,
        config,
        OsRng,
        &mut read_record,
        &mut write_record,
        &mail
    ));
    eprintln!(
        "RAM: drive future {} bytes (+ records 16640 + 1024, pipes 2 x 256)",
        core::mem::size_of_val(&*driver),
    );
    let mut tls = Tls::new(&mail, driver);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tls.connect() {
            Ok(()) => {
                tls.close();
                return Ok(());
            }
            Err(nb::Error::Other(e)) => {
                tls.close();
                return Err(e);
            }
            Err(nb::Error::WouldBlock) => {
                assert!(Instant::now() < deadline, "TLS handshake took over 10 s");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

#[test]
fn publishes_qos1_over_tls_to_an_independent_tls_subscriber() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let port = broker.port();
    let topic = format!("limpet/tls/{}", std::process::id());

    // The observer: mosquitto_sub over TLS, verifying the same CA.
    // stdbuf: line-buffered, so SUBACK is seen when it happens.
    let mut sub = Command::new("stdbuf")
        .args(["-oL", "mosquitto_sub"])
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--cafile"])
        .arg(certs.path("ca.pem"))
        .args(["-t", &topic, "-q", "1", "-v", "-d", "-C", "1", "-W", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mosquitto_sub");
    let (lines_tx, lines) = mpsc::channel();
    let out = sub.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let wait_line = |pred: &dyn Fn(&str) -> bool, what: &str| loop {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(l) if pred(&l) => return l,
            Ok(_) => {}
            Err(_) => panic!("mosquitto_sub: no {what} within 10 s"),
        }
    };
    wait_line(&|l| l.contains("SUBACK"), "SUBACK");

    let cas = [certs.ca.as_slice()];
    let inner = StdTcp::new(([127, 0, 0, 1], port).into());
    let (mut tx, mut rx) = ([0u8; 512], [0u8; 512]);
    let mail = Mailbox::new(&mut tx, &mut rx);
    let (mut read_record, mut write_record) = (vec![0u8; 16_640], vec![0u8; 2048]);
    let driver = pin!(tls::drive(
        inner,
        TlsConfig::new("localhost", &cas),
        OsRng,
        &mut read_record,
        &mut write_record,
        &mail
    ));
    let mut transport = Tls::new(&mail, driver);

    let (mut crx, mut ctx, mut store) = ([0u8; 512], [0u8; 512], [0u8; 1024]);
    let mut client: Client<'_, 4, 4> = Client::new(
        Config::new("limpet-tls"),
        Options::default(),
        &mut crx,
        &mut ctx,
        &mut store,
    )
    .expect("client config");
    let start = Instant::now();
    let now = || Ms::from_ticks(start.elapsed().as_millis() as u32);
    let (mut up, mut published, mut token) = (false, false, None);
    while start.elapsed() < Duration::from_secs(20) && !published {
        if let Some(event) = client.poll(now(), &mut transport) {
            match event {
                Event::Up { .. } => up = true,
                Event::Published(t) if Some(t) == token => published = true,
                Event::Down(r) | Event::ConnectFailed(r) => panic!("down: {r:?}"),
                _ => {}
            }
            continue;
        }
        if up && token.is_none() {
            token = client
                .publish(&topic, b"over tls", QoS::AtLeastOnce, false)
                .expect("publish");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(up, "no Up over TLS within 20 s");
    assert!(published, "no PUBACK for the QoS 1 message over TLS");
    let got = wait_line(&|l| l.starts_with(&topic), "message");
    assert_eq!(got, format!("{topic} over tls"));
    let _ = sub.wait();
}

#[test]
fn refuses_a_server_from_another_ca() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let other = [certs.other.as_slice()];
    let got = connect_with(broker.port(), TlsConfig::new("localhost", &other));
    assert!(
        matches!(got, Err(Error::Tls(Failure::UnknownIssuer))),
        "{got:?}"
    );
    // Same CA name, another key: the signature gives it away.
    let twin = [certs.twin.as_slice()];
    let got = connect_with(broker.port(), TlsConfig::new("localhost", &twin));
    assert!(
        matches!(got, Err(Error::Tls(Failure::BadCertificate))),
        "{got:?}"
    );
    // Skipping verification is possible, but only by saying so.
    let got = connect_with(
        broker.port(),
        TlsConfig::new("localhost", &other).insecure_skip_verify(),
    );
    assert!(got.is_ok(), "{got:?}");
    // And the right CA works.
    let ca = [certs.ca.as_slice()];
    let got = connect_with(broker.port(), TlsConfig::new("localhost", &ca));
    assert!(got.is_ok(), "{got:?}");
}

#[test]
fn refuses_a_server_whose_certificate_is_for_another_name() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let ca = [certs.ca.as_slice()];
    let got = connect_with(broker.port(), TlsConfig::new("broker.example", &ca));
    assert!(
        matches!(got, Err(Error::Tls(Failure::NameMismatch))),
        "{got:?}"
    );
}

#[test]
fn a_plaintext_broker_is_an_error_not_a_fallback() {
    let broker = Broker::start();
    let certs = Certs::make();
    let ca = [certs.ca.as_slice()];
    let got = connect_with(broker.port(), TlsConfig::new("localhost", &ca));
    assert!(got.is_err(), "{got:?}");
}
