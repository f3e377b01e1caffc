//! Mutual TLS: the client's certificate, required by the broker.

use super::fixture::*;

#[test]
fn mutual_tls_publishes_with_the_right_client_certificate() {
    let certs = Certs::make().with_clients();
    for server in BOTH {
        publishes_with_a_client_certificate(&certs, server);
    }
}

fn publishes_with_a_client_certificate(certs: &Certs, server: Impl) {
    let broker = certs.start_mutual(server);
    let port = broker.port();
    let topic = format!("limpet/mtls/{server:?}/{}", std::process::id());
    // The observer needs its own client certificate too.
    let extra = [
        "--cert".to_string(),
        certs.path("observer.pem"),
        "--key".to_string(),
        certs.path("observer.key"),
    ];
    let (mut sub, lines) = observe(certs, port, &topic, &extra);
    // The certificate as DER, the key as openssl wrote it: PKCS#8 in PEM.
    let cert = certs.read("client.der");
    let key_pem = certs.read("client.key");
    let mut key = [0u8; 256];
    let block = pem::decode(&key_pem, &mut key).expect("PEM key");
    assert_eq!(block.label, b"PRIVATE KEY");
    let cas = [certs.ca.as_slice()];
    let config = TlsConfig::new("localhost", &cas)
        .with_time(unix_now())
        .with_client_certificate(&cert, block.der);
    publish_qos1(port, config, &topic, b"mutual");
    let got = wait_line(&lines, &|l| l.starts_with(&topic), "message");
    assert_eq!(got, format!("{topic} mutual"));
    let _ = sub.wait();
    // A SEC1 key in DER (`openssl ec -outform DER`) works the same.
    openssl(
        &certs.dir,
        &[
            "ec",
            "-in",
            "client.key",
            "-outform",
            "DER",
            "-out",
            "client.sec1",
        ],
    );
    let sec1 = certs.read("client.sec1");
    let config = TlsConfig::new("localhost", &cas)
        .with_time(unix_now())
        .with_client_certificate(&cert, &sec1);
    let got = connect_full(port, config, None, Duration::from_millis(500));
    assert!(got.is_ok(), "{server:?}: {got:?}");
}

#[test]
fn mutual_tls_refusals_have_their_reasons() {
    let certs = Certs::make().with_clients();
    for server in BOTH {
        refusals(&certs, server);
    }
}

fn refusals(certs: &Certs, server: Impl) {
    let broker = certs.start_mutual(server);
    let port = broker.port();
    let cas = [certs.ca.as_slice()];
    let now = unix_now();
    let hold = Duration::from_secs(3);
    // No client certificate: the broker ends the session once the client's
    // handshake is done.
    let got = connect_full(
        port,
        TlsConfig::new("localhost", &cas).with_time(now),
        None,
        hold,
    );
    assert!(
        matches!(got, Err(Error::Tls(Failure::ClientCertificateRequired))),
        "{server:?}: {got:?}"
    );
    // A certificate from a CA the broker does not know.
    let cert = certs.read("stranger.der");
    let mut key = [0u8; 256];
    let key = pem::decode(&certs.read("stranger.key"), &mut key)
        .unwrap()
        .der;
    let config = TlsConfig::new("localhost", &cas)
        .with_time(now)
        .with_client_certificate(&cert, key);
    let got = connect_full(port, config, None, hold);
    assert!(
        matches!(got, Err(Error::Tls(Failure::ClientCertificateRefused))),
        "{server:?}: {got:?}"
    );
    // A key that is not one: refused here, before signing anything.
    let cert = certs.read("client.der");
    let config = TlsConfig::new("localhost", &cas)
        .with_time(now)
        .with_client_certificate(&cert, b"not a key");
    let got = connect_full(port, config, None, hold);
    assert!(
        matches!(got, Err(Error::Tls(Failure::BadClientKey))),
        "{server:?}: {got:?}"
    );
}
