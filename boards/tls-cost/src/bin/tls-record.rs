//! The recording for the replay (`tls-cost`): limpet's TLS layer against a
//! real mosquitto, its bytes both ways written down.
//!
//! ```text
//! cargo run -p limpet-tls-cost --bin tls-record -- OUT_DIR
//! ```
//!
//! Makes a P-256 CA, a server certificate for `localhost` and a client
//! certificate with openssl in a temp dir (removed at the end), starts
//! mosquitto with a TLS listener — once for server authentication, once
//! requiring a client certificate — and runs one handshake against each
//! over `StdTcp` with [`FixedRng`] and a fixed time (now). It writes to
//! OUT_DIR (keys and certificates included: a temp dir, never committed):
//!
//! - `time`: the unix time the handshakes used (the certificates are
//!   valid for two days around it);
//! - `ca.der`, `client.der`, `client-key.der` (PKCS#8);
//! - `server-auth.server`, `mutual.server`: the server's bytes up to the
//!   client's last flight (every byte the handshake reads);
//! - `server-auth.client`, `mutual.client`: the client's bytes, all of them
//!   (the replay checks its own against them).
//!
//! After the handshake the client keeps reading for a moment (a TLS 1.3
//! server refuses a client certificate only after the client's Finished):
//! a recording is written only when the broker took the handshake.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    if let Err(e) = host::main() {
        eprintln!("tls-record: error: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_os = "none"))]
mod host {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use core::pin::pin;
    use limpet::net::std_tcp::StdTcp;
    use limpet::net::tls::{self, pem, Mailbox, Tls};
    use limpet::net::Transport;
    use limpet_testbroker::certs::{issue, make_ca, CLIENT_EXT, SERVER_EXT};
    use limpet_testbroker::Broker;
    use tls_cost::{config, record_name, records, FixedRng, PIPE, READ_RECORD, WRITE_RECORD};

    type Result<T> = std::result::Result<T, String>;

    /// The certificates' temp dir, removed however the program ends.
    struct TempDir(PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub fn main() -> Result<()> {
        let out = std::env::args_os()
            .nth(1)
            .map(PathBuf::from)
            .ok_or("usage: tls-record OUT_DIR")?;
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let dir =
            TempDir(std::env::temp_dir().join(format!("limpet-tls-cost-{}", std::process::id())));
        let _ = std::fs::remove_dir_all(&dir.0);
        std::fs::create_dir_all(&dir.0).map_err(|e| format!("{}: {e}", dir.0.display()))?;
        let certs = &dir.0;
        let ca = make_ca(certs, "ca", "limpet tls-cost CA");
        issue(certs, "server", "localhost", "ca", SERVER_EXT, None);
        issue(certs, "client", "limpet", "ca", CLIENT_EXT, None);
        let client_cert = read(&certs.join("client.der"))?;
        let key_pem = read(&certs.join("client.key"))?;
        let mut key = [0u8; 256];
        let client_key = pem::decode(&key_pem, &mut key)
            .map_err(|e| format!("client.key: {e:?}"))?
            .der
            .to_vec();
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();

        let listener = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            certs.join("ca.pem").display(),
            certs.join("server.pem").display(),
            certs.join("server.key").display()
        );
        let cas = [ca.as_slice()];
        for (mode, mutual) in [("server-auth", false), ("mutual", true)] {
            let broker = if mutual {
                Broker::start_with_config(&(listener.clone() + "require_certificate true\n"))
            } else {
                Broker::start_with_config(&listener)
            };
            let client = mutual.then_some((client_cert.as_slice(), client_key.as_slice()));
            let (server, sent) = record(broker.port(), config(&cas, time, client))
                .map_err(|e| format!("{mode}: {e}"))?;
            let flight: Vec<_> = records(&server).collect();
            let encrypted = flight
                .iter()
                .filter(|r| r.kind == tls_cost::APPLICATION_DATA);
            let encrypted = encrypted.count();
            let mut names = Vec::new();
            let mut index = 0;
            for r in &flight {
                names.push(format!(
                    "{} {}",
                    record_name(r.kind, index, encrypted, mutual),
                    r.end - r.start
                ));
                if r.kind == tls_cost::APPLICATION_DATA {
                    index += 1;
                }
            }
            println!(
                "tls-record: {mode}: server {} bytes in {} records ({}), client {} bytes",
                server.len(),
                flight.len(),
                names.join(", "),
                sent.len()
            );
            write(&out.join(format!("{mode}.server")), &server)?;
            write(&out.join(format!("{mode}.client")), &sent)?;
        }
        write(&out.join("ca.der"), &ca)?;
        write(&out.join("client.der"), &client_cert)?;
        write(&out.join("client-key.der"), &client_key)?;
        write(&out.join("time"), format!("{time}\n").as_bytes())?;
        println!("tls-record: wrote {} (time {time})", out.display());
        Ok(())
    }

    fn read(path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn write(path: &Path, bytes: &[u8]) -> Result<()> {
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `StdTcp`, each byte both ways written down.
    struct Recorder {
        inner: StdTcp,
        /// The server's bytes, in order.
        server: RefCell<Vec<u8>>,
        /// The client's bytes, in order.
        client: RefCell<Vec<u8>>,
        /// How many of the server's bytes had come when the client sent
        /// past its ClientHello (its last flight: the handshake reads no
        /// more of the server's).
        cut: Option<usize>,
    }

    impl Transport for Recorder {
        type Error = std::io::Error;

        fn connect(&mut self) -> nb::Result<(), Self::Error> {
            self.inner.connect()
        }

        fn send(&mut self, data: &[u8]) -> nb::Result<usize, Self::Error> {
            let n = self.inner.send(data)?;
            let mut client = self.client.borrow_mut();
            client.extend_from_slice(&data[..n]);
            if self.cut.is_none() {
                let hello = records(&client).next().map(|r| r.end);
                if hello.is_some_and(|end| client.len() > end) {
                    self.cut = Some(self.server.borrow().len());
                }
            }
            Ok(n)
        }

        fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, Self::Error> {
            let n = self.inner.recv(buf)?;
            self.server.borrow_mut().extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn close(&mut self) {
            self.inner.close();
        }
    }

    /// One handshake to 127.0.0.1:`port`: the server's bytes the handshake
    /// read and every byte the client sent.
    fn record(port: u16, config: tls::Config<'_>) -> Result<(Vec<u8>, Vec<u8>)> {
        let mut rec = Recorder {
            inner: StdTcp::new(([127, 0, 0, 1], port).into()),
            server: RefCell::new(Vec::new()),
            client: RefCell::new(Vec::new()),
            cut: None,
        };
        let (mut plain, mut cipher) = ([0u8; 2 * PIPE], [0u8; 2 * PIPE]);
        let mail = Mailbox::new(&mut plain, &mut cipher);
        let (mut read_record, mut write_record) = (vec![0u8; READ_RECORD], [0u8; WRITE_RECORD]);
        let driver = pin!(tls::drive(
            config,
            FixedRng::new(),
            &mut read_record,
            &mut write_record,
            &mail
        ));
        let mut tls = Tls::new(&mail, driver);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match tls.over(&mut rec).connect() {
                Ok(()) => break,
                Err(nb::Error::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(nb::Error::WouldBlock) => return Err("handshake took over 10 s".into()),
                Err(nb::Error::Other(e)) => return Err(format!("handshake failed: {e:?}")),
            }
        }
        // The last flight goes out; a broker that refuses the client's
        // certificate says so now.
        let held = Instant::now() + Duration::from_millis(500);
        while Instant::now() < held {
            match tls.over(&mut rec).recv(&mut [0u8; 64]) {
                Err(nb::Error::Other(e)) => {
                    return Err(format!("refused after the handshake: {e:?}"))
                }
                Ok(n) => return Err(format!("{n} bytes of application data unasked")),
                Err(nb::Error::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        tls.over(&mut rec).close();
        let cut = rec.cut.ok_or("the client never sent its last flight")?;
        let mut server = rec.server.into_inner();
        server.truncate(cut);
        if records(&server).last().map(|r| r.end) != Some(cut) {
            return Err(format!(
                "the server's {cut} bytes before the client's last flight are not whole records"
            ));
        }
        Ok((server, rec.client.into_inner()))
    }
}
