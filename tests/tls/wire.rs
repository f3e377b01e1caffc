//! What the client puts on the wire: SNI, ALPN, max fragment length.

use super::fixture::*;

#[test]
fn alpn_names_are_offered_in_the_client_hello() {
    const ALPN: u16 = 16;
    const SNI: u16 = 0;
    let certs = Certs::make();
    let ca = [certs.ca.as_slice()];
    let protocols: [&[u8]; 2] = [b"x-amzn-mqtt-ca", b"mqtt"];
    let config = TlsConfig::new("localhost", &ca)
        .with_time(unix_now())
        .with_alpn(&protocols);
    let hello = capture_client_hello(config);
    let alpn = client_hello_extension(&hello, ALPN).expect("an ALPN extension");
    // ProtocolNameList: u16 length, then u8-length names (RFC 7301 §3.1).
    let mut want = vec![0, 20, 14];
    want.extend(b"x-amzn-mqtt-ca");
    want.push(4);
    want.extend(b"mqtt");
    assert_eq!(alpn, want);
    let sni = client_hello_extension(&hello, SNI).expect("an SNI extension");
    assert!(sni.ends_with(b"localhost"), "{sni:?}");
    // Not offered unless asked for.
    let hello = capture_client_hello(TlsConfig::new("localhost", &ca).with_time(unix_now()));
    assert_eq!(client_hello_extension(&hello, ALPN), None);
    // mosquitto (no ALPN configured) ignores it: the handshake completes.
    let broker = Broker::start_with_config(&certs.listener());
    let config = TlsConfig::new("localhost", &ca)
        .with_time(unix_now())
        .with_alpn(&protocols);
    let got = connect_with(broker.port(), config);
    assert!(got.is_ok(), "{got:?}");
}

/// A small device asks for 1 KiB records (max fragment length, RFC 6066)
/// and reads them with a 1,280-byte buffer instead of 16,640: a 1,500-byte
/// message goes out in two records and comes back (subscribed) in two.
#[test]
fn max_fragment_length_lets_a_small_buffer_carry_large_messages() {
    let certs = Certs::make();
    let broker = Broker::start_with_config(&certs.listener());
    let topic = format!("limpet/tls-mfl/{}", std::process::id());
    let (mut sub, lines) = observe(&certs, broker.port(), &topic, &[]);
    let cas = [certs.ca.as_slice()];
    let config = TlsConfig::new("localhost", &cas)
        .with_time(unix_now())
        .with_max_fragment_length(FragmentLength::B1024);
    let payload = vec![b'x'; 1_500];
    // A filter for the client's whole life (the fixture's client is
    // generic over its buffers' lifetime).
    let filter: &'static str = Box::leak(topic.clone().into_boxed_str());
    let read = FragmentLength::B1024.bytes() + 256;
    with_tls_client(broker.port(), config, "limpet-mfl", read, |client, poll| {
        let start = Instant::now();
        let (mut up, mut published, mut back) = (false, false, None);
        while start.elapsed() < Duration::from_secs(20) && !(published && back.is_some()) {
            match poll(client) {
                Some(Seen::Up) => {
                    up = true;
                    client.subscribe(filter, QoS::AtLeastOnce).unwrap();
                    client
                        .publish(&topic, &payload, QoS::AtLeastOnce, false)
                        .unwrap();
                }
                Some(Seen::Published(_)) => published = true,
                Some(Seen::Message(len)) => back = Some(len),
                Some(Seen::Failed(r)) => panic!("down: {r:?}"),
                Some(Seen::Other) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        assert!(up, "no Up with a 1,280-byte read buffer");
        assert!(published, "no PUBACK");
        assert_eq!(back, Some(1_500), "the message did not come back whole");
    });
    let got = wait_line(&lines, &|l| l.starts_with(&topic), "message");
    assert_eq!(got.len(), topic.len() + 1 + 1_500);
    let _ = sub.wait();
}
