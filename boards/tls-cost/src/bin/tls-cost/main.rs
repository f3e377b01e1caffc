//! Instructions of one TLS 1.3 handshake of limpet's TLS layer, on bare
//! metal under QEMU with `-icount shift=0` (scripts/tls-handshake-cost).
//!
//! The handshake is a recording's (`tls-record`, embedded by build.rs):
//! the same client (same code, [`tls_cost::FixedRng`], same time and
//! configuration) against the server's recorded bytes, through a fake
//! transport; the client's own bytes must match the recorded ones. The
//! counter (`counter`) is read around every `connect()` call: one
//! superloop pass.
//!
//! In order, each printed as a `tls-cost:` line the script reads:
//! 1. the counter's checks: loops of known length (2 M and 800 M
//!    instructions);
//! 2. the P-256 operations of a handshake, called here directly, each
//!    counted (as embedded-tls and limpet call them);
//! 3. per mode (server authentication; mutual TLS): the handshake with the
//!    server's whole flight there at once (total, passes, the longest
//!    pass and what it did), then fed one record at a time (what each
//!    message costs: the sum of the passes that took it).
//!
//! Exit status 0 when every handshake completed as recorded and the
//! counter's check held, 1 otherwise.
#![cfg_attr(target_os = "none", no_std)]

#[cfg(target_os = "none")]
mod counter;
#[cfg(target_os = "none")]
mod replay;

#[cfg(target_os = "none")]
mod device {
    use core::fmt::{self, Write};
    use core::hint::black_box;

    use p256::ecdh::EphemeralSecret;
    use p256::ecdsa::signature::{SignerMut, Verifier};
    use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
    use p256::{EncodedPoint, PublicKey};
    use tls_cost::{config, record_name, records, FixedRng, APPLICATION_DATA};

    use crate::counter;
    use crate::replay::{self, Failed, Feed, Run};

    mod recording {
        include!(concat!(env!("OUT_DIR"), "/recording.rs"));
    }

    /// Turns of the counter's check loop (two instructions each).
    const CHECK_TURNS: u32 = 1_000_000;
    /// Turns of the long check: 800 M instructions, more than SysTick's
    /// 2^24 ticks × 40 (its wraps are counted right on Cortex-M).
    const LONG_TURNS: u32 = 400_000_000;
    /// How far the check may be off: its two readings (SysTick: ±40 each).
    const CHECK_SLACK: u64 = 100;

    /// The target triple (build.rs).
    const TARGET: &str = env!("TLS_COST_TARGET");

    struct Console;

    impl Write for Console {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            limpet_qemu_test::write(s.as_bytes());
            Ok(())
        }
    }

    macro_rules! say {
        ($($arg:tt)*) => {{
            let _ = writeln!(Console, $($arg)*);
        }};
    }

    pub fn main() {
        let ok = run();
        say!("tls-cost: {}", if ok { "ok" } else { "FAILED" });
        limpet_qemu_test::exit(if ok { 0 } else { 1 })
    }

    fn run() -> bool {
        say!("tls-cost: target {TARGET}");
        if !recording::PRESENT {
            say!("tls-cost: error: no recording embedded (build with LIMPET_TLS_RECORDING=DIR; scripts/tls-handshake-cost does)");
            return false;
        }
        counter::start();
        let overhead = counter::overhead();
        say!("tls-cost: overhead {overhead}");
        let mut ok = true;
        for (what, turns) in [("check", CHECK_TURNS), ("check-long", LONG_TURNS)] {
            let (expected, counted) = counter::check(turns, overhead);
            say!("tls-cost: {what} {turns} {expected} {counted}");
            if expected.abs_diff(counted) > CHECK_SLACK {
                say!("tls-cost: error: the counter's check failed: {counted} instructions counted for {expected} (is QEMU running with -icount shift=0?)");
                ok = false;
            }
        }
        ok &= p256_operations(overhead);
        let cas = [recording::CA];
        let identity = Some((recording::CLIENT_CERT, recording::CLIENT_KEY));
        let modes = [
            (
                "server-auth",
                None,
                recording::SERVER_AUTH_SERVER,
                recording::SERVER_AUTH_CLIENT,
            ),
            (
                "mutual",
                identity,
                recording::MUTUAL_SERVER,
                recording::MUTUAL_CLIENT,
            ),
        ];
        for (mode, client, server_bytes, client_bytes) in modes {
            let mutual = client.is_some();
            for feed in [Feed::Flight, Feed::PerRecord] {
                let config = config(&cas, recording::TIME, client);
                match replay::handshake(config, server_bytes, client_bytes, feed, overhead) {
                    Ok(run) if feed == Feed::Flight => flight(mode, mutual, server_bytes, &run),
                    Ok(run) => per_record(mode, mutual, server_bytes, &run),
                    Err(e) => {
                        failed(mode, &e);
                        ok = false;
                    }
                }
            }
        }
        ok
    }

    fn failed(mode: &str, e: &Failed) {
        say!("tls-cost: error: {mode}: the replay failed: {e}");
    }

    /// Counts `f`, the counter's overhead taken off.
    fn count<T>(overhead: u64, f: impl FnOnce() -> T) -> u64 {
        let before = counter::now();
        black_box(f());
        let after = counter::now();
        (after - before).saturating_sub(overhead)
    }

    /// The handshake's P-256 operations, each on its own, as embedded-tls
    /// 0.19 (ECDHE, the chain's and CertificateVerify's signatures) and
    /// limpet's verify.rs (the client's signature) call them. Whether they
    /// all worked.
    fn p256_operations(overhead: u64) -> bool {
        let mut rng = FixedRng::new();
        // As long as a CertificateVerify's signed content.
        let message = [0x20u8; 146];
        // ECDHE: the key pair of the ClientHello (client_hello.rs: the
        // secret, its public key encoded), and the shared secret with the
        // server's share (server_hello.rs: the point decoded, multiplied).
        let mut secret = None;
        let keypair = count(overhead, || {
            let s = EphemeralSecret::random(&mut rng);
            let public = EncodedPoint::from(s.public_key());
            secret = Some(s);
            public
        });
        let peer = EncodedPoint::from(EphemeralSecret::random(&mut rng).public_key());
        let mut shared_ok = false;
        let shared = count(overhead, || {
            let server = PublicKey::from_sec1_bytes(peer.as_bytes()).ok()?;
            let bytes = *secret.as_ref()?.diffie_hellman(&server).raw_secret_bytes();
            shared_ok = true;
            Some(bytes)
        });
        // The client's signature (mutual TLS): the key from its 32 bytes,
        // as verify.rs makes it in every handshake (p256 computes its
        // public key there), then RFC 6979 ECDSA.
        let secret_bytes = SigningKey::random(&mut rng).to_bytes();
        let mut key = None;
        let signing_key = count(overhead, || {
            key = SigningKey::from_slice(&secret_bytes).ok();
        });
        let Some(mut key) = key else {
            say!("tls-cost: error: SigningKey::from_slice refused a key of its own");
            return false;
        };
        let mut signature: Option<DerSignature> = None;
        let sign = count(overhead, || {
            signature = Some(key.sign(&message));
        });
        // One ECDSA verification (pki.rs): the key from its SEC1 bytes, the
        // signature from DER, the check. A handshake does one per link of
        // the chain and one for CertificateVerify.
        let public = EncodedPoint::from(key.verifying_key());
        let mut valid = false;
        let verify = count(overhead, || {
            valid = VerifyingKey::from_sec1_bytes(public.as_bytes()).is_ok_and(|k| {
                signature.as_ref().is_some_and(|sig| {
                    Signature::from_der(sig.as_bytes())
                        .is_ok_and(|s| k.verify(&message, &s).is_ok())
                })
            });
        });
        say!("tls-cost: p256 keypair {keypair}");
        say!("tls-cost: p256 ecdh {shared}");
        say!("tls-cost: p256 verify {verify}");
        say!("tls-cost: p256 signing-key {signing_key}");
        say!("tls-cost: p256 sign {sign}");
        if !shared_ok || !valid {
            say!("tls-cost: error: P-256 on its own: ECDH {shared_ok}, signature verified {valid}");
        }
        shared_ok && valid
    }

    /// The name of the server's record `i` in `server`.
    fn name(server: &[u8], mutual: bool, i: usize) -> &'static str {
        let encrypted = records(server)
            .filter(|r| r.kind == APPLICATION_DATA)
            .count();
        let mut index = 0;
        for (j, r) in records(server).enumerate() {
            if j == i {
                return record_name(r.kind, index, encrypted, mutual);
            }
            if r.kind == APPLICATION_DATA {
                index += 1;
            }
        }
        "?"
    }

    /// The whole flight at once: the total, and the longest pass with the
    /// records that went in during it.
    fn flight(mode: &str, mutual: bool, server: &[u8], run: &Run) {
        let passes = run.passes();
        say!(
            "tls-cost: handshake {mode} {} {}",
            run.total(),
            passes.len()
        );
        for (i, p) in passes.iter().enumerate() {
            say!(
                "tls-cost: pass {mode} {} {} {} {}",
                i + 1,
                p.instructions,
                p.server_in,
                p.client_out
            );
        }
        let Some((i, longest)) = passes
            .iter()
            .enumerate()
            .max_by_key(|(_, p)| p.instructions)
        else {
            return;
        };
        let (server_before, client_before) = match i {
            0 => (0, 0),
            _ => (passes[i - 1].server_in, passes[i - 1].client_out),
        };
        // The records that were whole by the end of the pass and not before.
        let mut took = records(server)
            .enumerate()
            .filter(|(_, r)| r.end > server_before && r.end <= longest.server_in)
            .map(|(j, _)| j);
        let first = took.next();
        let last = took.last().or(first);
        let what = match (first, last) {
            (Some(a), Some(b)) if a == b => Pair(name(server, mutual, a), ""),
            (Some(a), Some(b)) => Pair(name(server, mutual, a), name(server, mutual, b)),
            _ => Pair("no server record", ""),
        };
        say!(
            "tls-cost: longest {mode} {} {} {} {what} + {} bytes sent",
            longest.instructions,
            i + 1,
            passes.len(),
            longest.client_out - client_before
        );
    }

    /// One record name, or a range of them.
    struct Pair(&'static str, &'static str);

    impl fmt::Display for Pair {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.1 {
                "" => f.write_str(self.0),
                last => write!(f, "{}..{}", self.0, last),
            }
        }
    }

    /// One record at a time: the instructions of each step (the sum of its
    /// passes) and the longest pass of the step.
    fn per_record(mode: &str, mutual: bool, server: &[u8], run: &Run) {
        let passes = run.passes();
        say!(
            "tls-cost: per-record {mode} {} {}",
            run.total(),
            passes.len()
        );
        let steps = passes.iter().map(|p| p.step).max().unwrap_or(0);
        for step in 0..=steps {
            let of = passes.iter().filter(|p| p.step == step);
            let total: u64 = of.clone().map(|p| p.instructions).sum();
            let longest = of.clone().map(|p| p.instructions).max().unwrap_or(0);
            let what = match step {
                0 => "ClientHello",
                s => name(server, mutual, s - 1),
            };
            say!(
                "tls-cost: step {mode} {what} {total} {} {longest}",
                of.count()
            );
        }
    }
}

#[cfg(target_os = "none")]
fn main() {
    device::main()
}

// Linked for its startup, `start` lang item, panic handler and exit.
#[cfg(target_os = "none")]
extern crate limpet_qemu_test;

/// On the host: nothing (scripts/tls-handshake-cost builds this for
/// riscv32imc-unknown-none-elf, thumbv6m-none-eabi and thumbv7em-none-eabihf).
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("tls-cost runs on bare metal under QEMU: scripts/tls-handshake-cost");
}
