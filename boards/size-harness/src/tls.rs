//! The client scenario over TLS (feature `tls`): [`client_tls`] verifies
//! the server against one CA (server authentication only), [`client_mtls`]
//! also presents a client certificate (mutual TLS). Both run the scenario of
//! [`crate::client`] over [`Tls`] wrapping [`FakeTransport`], so
//! `flash(client-tls) - flash(client)` is what TLS adds to a firmware.
//!
//! Nothing runs: the CA, certificate and key are arbitrary bytes, and the
//! names, the time, the RNG's output and every byte of the inner transport
//! go through [`black_box`], so the handshake, the verifier (chain lookup,
//! CA flags, names, dates, signatures) and the record layer all stay linked.
//! Whether a client certificate is configured is the firmware's compile-time
//! choice, as it is in a real one: without it the client-signing code may go.
//!
//! # RAM
//!
//! The driver future (`tls::drive`, pinned with `core::pin::pin!` in this
//! never-returning function, i.e. in the superloop's frame) and the
//! [`Mailbox`] are the per-connection state; their types cannot be named on
//! stable Rust (an `async fn`'s future), so `size_of` cannot be a `const`
//! here. [`export_size!`] makes the compiler write it anyway: an `asm!`
//! `const` operand (evaluated at compile time, for the exact monomorphized
//! type of this build and target) defines an absolute ELF symbol whose
//! *value* is the size — `LIMPET_TLS_RAM_DRIVER` and `LIMPET_TLS_RAM_MAILBOX`
//! — which `scripts/size-report` reads with `nm`. The asm emits no
//! instruction and occupies no byte. The figure is for this harness's
//! inner transport and RNG (both zero-sized): a real transport kept in the
//! future (e.g. a socket handle) adds its own size.
//!
//! The buffers are the harness's choice, exported the same way
//! (`LIMPET_TLS_BUF_*`) and stated in the report: [`READ_RECORD`] (a whole
//! encrypted record of any server: 2^14 + 256), [`WRITE_RECORD`] and the
//! four pipes of [`PIPE`] bytes (plaintext and ciphertext, each way).

use core::hint::black_box;
use core::pin::pin;

use limpet::net::tls::{self, Config, Mailbox, Tls};
use limpet::wire::QoS;
use rand_core::{CryptoRng, RngCore};

use crate::{clock_ms, run_over, FakeTransport};

/// The TLS read record buffer: a whole encrypted record must fit, and a
/// server that did not agree to a smaller maximum fragment length sends up
/// to 2^14 + 256 bytes (RFC 8446 §5.2).
pub const READ_RECORD: usize = 16_384 + 256;
/// The TLS write record buffer: the ClientHello, the client's Certificate
/// (mutual TLS) and each outgoing record.
pub const WRITE_RECORD: usize = 1024;
/// Each plaintext pipe of the [`Mailbox`] (send and receive).
pub const PIPE: usize = 256;

/// The CA the server is verified against (any bytes: nothing runs).
static CA: [u8; 420] = [0x30; 420];
/// The CA list given to [`Config::new`].
static CAS: [&[u8]; 1] = [&CA];
/// The client certificate (mutual TLS), DER; any bytes.
static CLIENT_CERT: [u8; 400] = [0x30; 400];
/// Its P-256 private key, DER; any bytes.
static CLIENT_KEY: [u8; 121] = [0x30; 121];

/// An RNG the optimizer cannot predict: every output goes through
/// [`black_box`].
pub struct FakeRng;

impl RngCore for FakeRng {
    fn next_u32(&mut self) -> u32 {
        black_box(0)
    }
    fn next_u64(&mut self) -> u64 {
        black_box(0)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        black_box(&mut *dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for FakeRng {}

/// Defines the absolute symbol `$name` whose value is `size_of_val($value)`,
/// computed by the compiler (an `asm!` `const` operand): no code, no data.
macro_rules! export_size {
    ($name:literal, $value:expr) => {{
        #[inline(always)]
        fn export<X>(_: &X) {
            // Xtensa's inline asm is unstable (the lx106 report has no TLS).
            #[cfg(not(target_arch = "xtensa"))]
            // SAFETY: assembler directives only (a global absolute symbol);
            // no instruction is emitted, nothing is read or written.
            unsafe {
                core::arch::asm!(
                    concat!(".globl ", $name),
                    concat!(".set ", $name, ", {n}"),
                    n = const core::mem::size_of::<X>(),
                    options(nomem, nostack, preserves_flags),
                );
            }
        }
        export($value);
    }};
}

// `#[inline]`: each is compiled only in the binary that calls it, so each
// binary defines the LIMPET_TLS_RAM_* symbols once.

/// The client over TLS, server authentication only.
#[inline]
pub fn client_tls() -> ! {
    run(false)
}

/// The client over mutual TLS: also a client certificate and key.
#[inline]
pub fn client_mtls() -> ! {
    run(true)
}

// Inlined into each entry, so `mtls` is a compile-time choice as in a
// firmware that calls `with_client_certificate` or does not.
#[inline(always)]
fn run(mtls: bool) -> ! {
    let mut read_record = [0u8; READ_RECORD];
    let mut write_record = [0u8; WRITE_RECORD];
    let (mut plain, mut cipher) = ([0u8; 2 * PIPE], [0u8; 2 * PIPE]);
    let mail = Mailbox::new(&mut plain, &mut cipher);

    // Names, CAs and time as a firmware has them at run time.
    let mut config = Config::new(black_box("broker.example.com"), black_box(&CAS[..]))
        .with_time(black_box(1_750_000_000));
    if mtls {
        config =
            config.with_client_certificate(black_box(&CLIENT_CERT[..]), black_box(&CLIENT_KEY[..]));
    }

    let driver = pin!(tls::drive(
        config,
        FakeRng,
        &mut read_record,
        &mut write_record,
        &mail,
    ));
    export_size!("LIMPET_TLS_RAM_DRIVER", &*driver);
    export_size!("LIMPET_TLS_RAM_MAILBOX", &mail);
    export_size!("LIMPET_TLS_BUF_READ_RECORD", &[0u8; READ_RECORD]);
    export_size!("LIMPET_TLS_BUF_WRITE_RECORD", &[0u8; WRITE_RECORD]);
    export_size!("LIMPET_TLS_BUF_PIPES", &[0u8; 4 * PIPE]);
    let mut layer = Tls::new(&mail, driver);
    // The time from SNTP, once known.
    layer.set_time(black_box(clock_ms()).into());
    run_over::<0, _>(QoS::AtLeastOnce, layer.over(FakeTransport))
}
