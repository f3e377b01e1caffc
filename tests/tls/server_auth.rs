//! A server is authenticated, or refused with its reason.

use super::fixture::*;

#[test]
fn publishes_qos1_over_tls_to_an_independent_tls_subscriber() {
    let certs = Certs::make();
    for server in BOTH {
        let broker = certs.start(server, "server");
        let port = broker.port();
        let topic = format!("limpet/tls/{server:?}/{}", std::process::id());
        let (mut sub, lines) = observe(&certs, port, &topic, &[]);
        let cas = [certs.ca.as_slice()];
        let config = TlsConfig::new("localhost", &cas).with_time(unix_now());
        publish_qos1(port, config, &topic, b"over tls");
        let got = wait_line(&lines, &|l| l.starts_with(&topic), "message");
        assert_eq!(got, format!("{topic} over tls"), "{server:?}");
        let _ = sub.wait();
    }
}

#[test]
fn refuses_a_server_from_another_ca() {
    let certs = Certs::make();
    for server in BOTH {
        let broker = certs.start(server, "server");
        let now = unix_now();
        let other = [certs.other.as_slice()];
        let got = connect_with(
            broker.port(),
            TlsConfig::new("localhost", &other).with_time(now),
        );
        assert!(
            matches!(got, Err(Error::Tls(Failure::UnknownIssuer))),
            "{server:?}: {got:?}"
        );
        // Same CA name, another key: the signature gives it away.
        let twin = [certs.twin.as_slice()];
        let got = connect_with(
            broker.port(),
            TlsConfig::new("localhost", &twin).with_time(now),
        );
        assert!(
            matches!(got, Err(Error::Tls(Failure::BadCertificate))),
            "{server:?}: {got:?}"
        );
        // Skipping verification is possible, but only by saying so.
        let got = connect_with(
            broker.port(),
            TlsConfig::new("localhost", &other).insecure_skip_verify(),
        );
        assert!(got.is_ok(), "{server:?}: {got:?}");
        // And the right CA works.
        let ca = [certs.ca.as_slice()];
        let got = connect_with(
            broker.port(),
            TlsConfig::new("localhost", &ca).with_time(now),
        );
        assert!(got.is_ok(), "{server:?}: {got:?}");
    }
}

#[test]
fn refuses_a_server_whose_certificate_is_for_another_name() {
    let certs = Certs::make();
    for server in BOTH {
        let broker = certs.start(server, "server");
        let ca = [certs.ca.as_slice()];
        let config = TlsConfig::new("broker.example", &ca).with_time(unix_now());
        let got = connect_with(broker.port(), config);
        assert!(
            matches!(got, Err(Error::Tls(Failure::NameMismatch))),
            "{server:?}: {got:?}"
        );
    }
}

#[test]
fn a_plaintext_broker_is_an_error_not_a_fallback() {
    let broker = Broker::start();
    let certs = Certs::make();
    let ca = [certs.ca.as_slice()];
    let config = TlsConfig::new("localhost", &ca).with_time(unix_now());
    let got = connect_with(broker.port(), config);
    assert!(got.is_err(), "{got:?}");
}

#[test]
fn validity_dates_are_checked_against_the_callers_time() {
    let certs = Certs::make().with_dates();
    let ca = [certs.ca.as_slice()];
    let now = unix_now();
    let refused = |server: Impl, cert: &str, why: Failure| {
        let broker = certs.start(server, cert);
        let got = connect_with(
            broker.port(),
            TlsConfig::new("localhost", &ca).with_time(now),
        );
        assert!(
            matches!(got, Err(Error::Tls(f)) if core::mem::discriminant(&f) == core::mem::discriminant(&why)),
            "{server:?} {why:?}: {got:?}"
        );
        // Even when the time is unknown and the caller accepted that, the
        // dates are checked once a time comes (here through set_time).
        let config = TlsConfig::new("localhost", &ca).accept_unknown_time();
        let got = connect_full(broker.port(), config, Some(now), Duration::ZERO);
        assert!(
            matches!(got, Err(Error::Tls(_))),
            "{server:?} {why:?} via set_time: {got:?}"
        );
    };
    // Valid 2020 to 2021 (UTCTime), and 2060 to 2061 (GeneralizedTime).
    for server in BOTH {
        refused(server, "expired", Failure::Expired);
        refused(server, "future", Failure::NotYetValid);
    }

    let broker = Broker::start_with_config(&certs.listener());
    let port = broker.port();
    // Valid now: the right time connects, given in the config or later.
    let got = connect_with(port, TlsConfig::new("localhost", &ca).with_time(now));
    assert!(got.is_ok(), "{got:?}");
    let got = connect_full(
        port,
        TlsConfig::new("localhost", &ca),
        Some(now),
        Duration::ZERO,
    );
    assert!(got.is_ok(), "set_time: {got:?}");
    // Three days on, the server's (and the CA's) two days are over; a day
    // back, they have not begun.
    for (t, why) in [
        (now + 3 * 86_400, Failure::Expired),
        (now - 86_400, Failure::NotYetValid),
    ] {
        let got = connect_with(port, TlsConfig::new("localhost", &ca).with_time(t));
        assert!(
            matches!(got, Err(Error::Tls(f)) if core::mem::discriminant(&f) == core::mem::discriminant(&why)),
            "{why:?}: {got:?}"
        );
    }
    // No time: refused, with its reason, unless the caller says so.
    let got = connect_with(port, TlsConfig::new("localhost", &ca));
    assert!(
        matches!(got, Err(Error::Tls(Failure::TimeUnknown))),
        "{got:?}"
    );
    let config = TlsConfig::new("localhost", &ca).accept_unknown_time();
    assert!(connect_with(port, config).is_ok());
    // Without the time, the other checks still hold.
    let other = [certs.other.as_slice()];
    let config = TlsConfig::new("localhost", &other).accept_unknown_time();
    let got = connect_with(port, config);
    assert!(
        matches!(got, Err(Error::Tls(Failure::UnknownIssuer))),
        "{got:?}"
    );
    let config = TlsConfig::new("broker.example", &ca).accept_unknown_time();
    let got = connect_with(port, config);
    assert!(
        matches!(got, Err(Error::Tls(Failure::NameMismatch))),
        "{got:?}"
    );
    // An expired server without a time: accepted only because the caller
    // named the option (the dates are what it gives up).
    drop(broker);
    let broker = Broker::start_with_config(&certs.listener_as("expired"));
    let config = TlsConfig::new("localhost", &ca).accept_unknown_time();
    assert!(connect_with(broker.port(), config).is_ok());
    let got = connect_with(broker.port(), TlsConfig::new("localhost", &ca));
    assert!(
        matches!(got, Err(Error::Tls(Failure::TimeUnknown))),
        "{got:?}"
    );
}

#[test]
fn the_issuer_is_found_among_several_cas_given_as_pem() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let port = broker.port();
    let now = unix_now();
    // A bundle: an unrelated CA, the twin (same name, other key), the CA.
    let mut bundle = certs.read("other.pem");
    bundle.extend(certs.read("twin.pem"));
    bundle.extend(certs.read("ca.pem"));
    let mut out = [0u8; 4096];
    let mut ders: [&[u8]; 4] = [&[]; 4];
    let n = pem::certificates(&bundle, &mut out, &mut ders).expect("PEM bundle");
    assert_eq!(n, 3);
    assert_eq!(ders[2], certs.ca.as_slice(), "PEM decodes to the DER");
    let got = connect_with(port, TlsConfig::new("localhost", &ders[..n]).with_time(now));
    assert!(got.is_ok(), "{got:?}");
    // In the other order, and DER given directly alongside.
    let cas = [
        certs.ca.as_slice(),
        certs.twin.as_slice(),
        certs.other.as_slice(),
    ];
    let got = connect_with(port, TlsConfig::new("localhost", &cas).with_time(now));
    assert!(got.is_ok(), "{got:?}");
    // Without the right one, still refused.
    let got = connect_with(port, TlsConfig::new("localhost", &ders[..2]).with_time(now));
    assert!(
        matches!(got, Err(Error::Tls(Failure::BadCertificate))),
        "{got:?}"
    );
}

#[test]
fn a_refused_server_is_the_clients_connect_failed_reason() {
    let certs = Certs::make();
    for server in BOTH {
        let broker = certs.start(server, "server");
        let ca = [certs.ca.as_slice()];
        // The certificate is for localhost; the name asked for is another.
        let config = TlsConfig::new("broker.example", &ca).with_time(unix_now());
        assert_eq!(
            first_failure(broker.port(), config),
            Reason::Security(SecurityFailure::NameMismatch),
            "{server:?}"
        );
        // No time: dates cannot be checked, and that is said too.
        let config = TlsConfig::new("localhost", &ca);
        assert_eq!(
            first_failure(broker.port(), config),
            Reason::Security(SecurityFailure::TimeUnknown),
            "{server:?}"
        );
    }
}
