//! The TLS layer's own decoders on arbitrary bytes: the certificate reader
//! (`net::tls`'s DER: fields, validity dates, CA flag, DNS names, the P-256
//! signature by an issuer, a client key) and the PEM decoder. The `tls`
//! target cannot reach them (certificates arrive encrypted, under keys the
//! fuzzer cannot derive), so they are fuzzed here, directly. Checked:
//! nothing panics; a PEM block that decodes re-decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limpet::net::tls::{fuzz_certificate, pem};

fuzz_target!(|data: &[u8]| {
    // The input: a split point, then the certificate and its "issuer".
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(cut) * rest.len()) / 256;
    let (cert, issuer) = rest.split_at(cut);
    let host = match cert.first().map(|b| b % 3) {
        Some(0) => "localhost",
        Some(1) => "a.broker.example",
        _ => "*.example",
    };
    fuzz_certificate(cert, issuer, host);
    fuzz_certificate(rest, rest, "broker.example");

    let mut out = [0u8; 4096];
    let mut ders: [&[u8]; 4] = [&[]; 4];
    let _ = pem::certificates(rest, &mut out, &mut ders);
    let mut first = [0u8; 4096];
    if let Ok(block) = pem::decode(rest, &mut first) {
        let (label, der) = (block.label.to_vec(), block.der.to_vec());
        let again = pem::decode(rest, &mut out).expect("decodes twice");
        assert_eq!((again.label, again.der), (&label[..], &der[..]));
    }
});
