//! What the recording (`tls-record`, on the host) and the replay
//! (`tls-cost`, on bare metal) share, so that the replayed client says
//! byte for byte what the recorded one said: the RNG and its seed, the TLS
//! configuration and buffers; and the TLS record framing both read.
//!
//! Why a replay works: the client's every random byte comes from
//! [`FixedRng`] (the ClientHello random, the ECDHE secret; its ECDSA
//! signature is RFC 6979, deterministic) and its time is fixed, so a
//! replay sends the ClientHello of the recording, and the server's
//! recorded answer (its key share, certificate, CertificateVerify and
//! Finished over that transcript) stays valid. The replay checks it:
//! the client's bytes must match the recording's.
#![no_std]

use limpet::net::tls::Config;
use rand_core::{CryptoRng, RngCore};

/// The broker's name, as its certificate says (`localhost`).
pub const SERVER_NAME: &str = "localhost";
/// The RNG's seed, in the recording and in the replay.
pub const SEED: u64 = 0x6c69_6d70_6574_2d31;
/// Bytes of each of the four pipes of the `Mailbox` (as the size harness).
pub const PIPE: usize = 256;
/// The read record buffer: a whole record of any server (2^14 + 256).
pub const READ_RECORD: usize = 16_384 + 256;
/// The write record buffer: the ClientHello, the client's certificate.
pub const WRITE_RECORD: usize = 1024;

/// A deterministic RNG (xorshift64*, from [`SEED`]). NOT random: it claims
/// [`CryptoRng`] only so the TLS layer takes it, for a measurement.
pub struct FixedRng(u64);

impl FixedRng {
    /// The generator at [`SEED`].
    pub fn new() -> Self {
        FixedRng(SEED)
    }
}

impl Default for FixedRng {
    fn default() -> Self {
        FixedRng::new()
    }
}

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for FixedRng {}

/// The connection's configuration: [`SERVER_NAME`] against `cas` at
/// `time`, with the client certificate and key (DER) for mutual TLS.
pub fn config<'c>(
    cas: &'c [&'c [u8]],
    time: u64,
    client: Option<(&'c [u8], &'c [u8])>,
) -> Config<'c> {
    let config = Config::new(SERVER_NAME, cas).with_time(time);
    match client {
        Some((certificate, key)) => config.with_client_certificate(certificate, key),
        None => config,
    }
}

/// TLS record content type: handshake (plaintext ServerHello).
pub const HANDSHAKE: u8 = 22;
/// TLS record content type: change_cipher_spec (middlebox compatibility).
pub const CHANGE_CIPHER_SPEC: u8 = 20;
/// TLS record content type: application_data (every encrypted record).
pub const APPLICATION_DATA: u8 = 23;

/// One TLS record of a byte stream: its content type and where it lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Content type (the outer one: 23 for every encrypted record).
    pub kind: u8,
    /// Offset of its header.
    pub start: usize,
    /// Offset just past its body.
    pub end: usize,
}

/// The whole records of `bytes`, in order (a cut-off last one is left out).
pub fn records(bytes: &[u8]) -> impl Iterator<Item = Record> + '_ {
    let mut at = 0;
    core::iter::from_fn(move || {
        let header = bytes.get(at..at + 5)?;
        let end = at + 5 + usize::from(u16::from_be_bytes([header[3], header[4]]));
        if end > bytes.len() {
            return None;
        }
        let record = Record {
            kind: header[0],
            start: at,
            end,
        };
        at = end;
        Some(record)
    })
}

/// What the server's first flight holds, by its records: TLS 1.3 (RFC 8446
/// §2) sends ServerHello in the clear, maybe a ChangeCipherSpec, then
/// EncryptedExtensions, CertificateRequest (when it wants a client
/// certificate), Certificate, CertificateVerify and Finished encrypted.
/// `index` is the record's place among the flight's `encrypted` records;
/// when their number is not one per message (a server that packs several
/// in one record), the encrypted ones are only numbered.
pub fn record_name(kind: u8, index: usize, encrypted: usize, mutual: bool) -> &'static str {
    const SERVER_AUTH: [&str; 4] = [
        "EncryptedExtensions",
        "Certificate",
        "CertificateVerify",
        "Finished",
    ];
    const MUTUAL: [&str; 5] = [
        "EncryptedExtensions",
        "CertificateRequest",
        "Certificate",
        "CertificateVerify",
        "Finished",
    ];
    const NUMBERED: [&str; 8] = [
        "encrypted record 1",
        "encrypted record 2",
        "encrypted record 3",
        "encrypted record 4",
        "encrypted record 5",
        "encrypted record 6",
        "encrypted record 7",
        "encrypted record 8",
    ];
    match kind {
        HANDSHAKE => "ServerHello",
        CHANGE_CIPHER_SPEC => "ChangeCipherSpec",
        APPLICATION_DATA => {
            let names: &[&str] = match (mutual, encrypted) {
                (false, 4) => &SERVER_AUTH,
                (true, 5) => &MUTUAL,
                _ => &NUMBERED,
            };
            names.get(index).copied().unwrap_or("encrypted record")
        }
        _ => "other record",
    }
}
