//! The TLS transport (`limpet::net::tls`) against a server played by the
//! fuzzer: the input is what the server sends, cut into the pieces the
//! inner transport delivers, and when it closes. The driver future is
//! polled with a no-op waker through the `Tls` facade, over an in-memory
//! transport, as a superloop would. Checked: nothing panics, whatever
//! arrives; a refused handshake is an error (never `Ok` without a server
//! that completed TLS 1.3, which the fuzzer cannot: it holds no key); after
//! a failure `close` and a second `connect` work.
//!
//! Reached: the record layer (this module's framing checks, then
//! embedded-tls' record reader), the plaintext handshake (ServerHello and
//! its extensions, HelloRetryRequest, alerts, change_cipher_spec) and the
//! decryption of encrypted records (which fails: the keys come from an ECDHE
//! exchange the fuzzer cannot complete). Not reached, for the same reason:
//! anything after decryption, including embedded-tls' `unimplemented!` on
//! a post-handshake handshake message (see the module doc of net::tls).
#![no_main]

use core::pin::pin;
use libfuzzer_sys::fuzz_target;
use limpet::net::tls::{self, Config, Mailbox, Tls};
use limpet::net::Transport;
use rand_core::{CryptoRng, RngCore};
use std::collections::VecDeque;

/// The server side: what it sends, in pieces; where it closes.
struct Peer {
    up: bool,
    pieces: VecDeque<Vec<u8>>,
    /// Calls that see WouldBlock before the next piece (0..3).
    stalls: VecDeque<u8>,
    close_at_end: bool,
    sent: usize,
}

impl Transport for Peer {
    type Error = ();
    fn connect(&mut self) -> nb::Result<(), ()> {
        self.up = true;
        Ok(())
    }
    fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
        if !self.up {
            return Err(nb::Error::Other(()));
        }
        // Take at most 300 bytes a call: partial writes too.
        let n = data.len().min(300);
        self.sent += n;
        Ok(n)
    }
    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
        if !self.up {
            return Err(nb::Error::Other(()));
        }
        if let Some(s) = self.stalls.front_mut() {
            if *s > 0 {
                *s -= 1;
                return Err(nb::Error::WouldBlock);
            }
        }
        let Some(piece) = self.pieces.front_mut() else {
            return if self.close_at_end {
                Err(nb::Error::Other(()))
            } else {
                Err(nb::Error::WouldBlock)
            };
        };
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        piece.drain(..n);
        if piece.is_empty() {
            self.pieces.pop_front();
            self.stalls.pop_front();
        }
        Ok(n)
    }
    fn close(&mut self) {
        self.up = false;
    }
}

/// A deterministic "random" source: the fuzzer needs repeatable runs.
struct Counter(u64);

impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.next_u64() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Counter {}

/// A CA certificate the verifier looks up (never reached: nothing the
/// fuzzer sends decrypts).
const CA: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x00];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let flags = data[0];
    let read_len = [16_640, 4096, 1024, 600][usize::from(data[1] & 3)];
    let cut = usize::from(data[2]).max(1);
    let body = &data[3..];
    // The server's bytes in pieces of `cut`-derived sizes, each after 0..3 stalls.
    let mut pieces = VecDeque::new();
    let mut stalls = VecDeque::new();
    let mut rest = body;
    let mut i = 0usize;
    while !rest.is_empty() {
        let n = (cut + i * 7) % 257 + 1;
        let n = n.min(rest.len());
        pieces.push_back(rest[..n].to_vec());
        stalls.push_back(((cut + i) % 4) as u8);
        rest = &rest[n..];
        i += 1;
    }
    let peer = Peer {
        up: false,
        pieces,
        stalls,
        close_at_end: flags & 1 != 0,
        sent: 0,
    };
    let cas = [CA];
    let mut config = Config::new("localhost", &cas);
    if flags & 2 != 0 {
        config = config.insecure_skip_verify();
    }
    let (mut plain, mut cipher) = ([0u8; 512], [0u8; 512]);
    let mail = Mailbox::new(&mut plain, &mut cipher);
    let mut read_record = vec![0u8; read_len];
    let mut write_record = [0u8; 1024];
    let driver = pin!(tls::drive(
        config,
        Counter(u64::from(flags)),
        &mut read_record,
        &mut write_record,
        &mail
    ));
    let mut layer = Tls::new(&mail, driver);
    let mut t = layer.over(peer);
    for attempt in 0..2 {
        let mut result = None;
        // Bounded: every piece takes at most 4 calls.
        for _ in 0..(4 * (i + 2) + 8) {
            match t.connect() {
                Ok(()) => {
                    result = Some(true);
                    break;
                }
                Err(nb::Error::Other(_)) => {
                    result = Some(false);
                    break;
                }
                Err(nb::Error::WouldBlock) => {}
            }
        }
        assert_ne!(
            result,
            Some(true),
            "a handshake no server could complete succeeded"
        );
        // Whatever the state: send and recv say something, close works.
        let mut buf = [0u8; 64];
        let _ = t.send(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00");
        let _ = t.recv(&mut buf);
        t.close();
        if attempt == 0 && flags & 4 == 0 {
            break;
        }
    }
});
