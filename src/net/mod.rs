//! The transport seam: a non-blocking byte stream to the broker.
//!
//! The client needs nothing more than [`Transport`]; boards implement it over
//! smoltcp or a vendor TCP stack, hosts over `std` (`std_tcp`, feature `std`).
//! A [`Layer`] goes between a transport and the client: [`Plain`], or TLS
//! (`tls`, feature `tls`). [`sntp`] is the time protocol's wire format,
//! which the smoltcp stack speaks over UDP.

mod layer;
pub mod sntp;
#[cfg(feature = "smoltcp")]
pub mod stack;
#[cfg(feature = "std")]
pub mod std_tcp;
#[cfg(feature = "tls")]
pub mod tls;

pub use layer::{Layer, Plain};

use crate::security::SecurityFailure;

/// A non-blocking TCP connection to one broker (address chosen at construction).
///
/// Every method returns at once. `nb::Error::WouldBlock` means "not yet, poll
/// again"; any other error means the connection is unusable and the caller
/// will `close` it and, later, `connect` again.
pub trait Transport {
    /// Why a connection attempt or a connection ended.
    type Error: core::fmt::Debug;

    /// Starts or continues opening a connection. `Ok` once established.
    /// Each new connection should use a new local port.
    fn connect(&mut self) -> nb::Result<(), Self::Error>;

    /// Writes some of `data`; returns how many bytes were accepted (≥ 1).
    fn send(&mut self, data: &[u8]) -> nb::Result<usize, Self::Error>;

    /// Reads into `buf`; returns how many bytes arrived (≥ 1). A connection
    /// closed by the peer is an error, not `Ok(0)`.
    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, Self::Error>;

    /// Drops the connection (abortively is fine). Idempotent.
    fn close(&mut self);

    /// When `error` is a secure transport's refusal of the server (or the
    /// end of its session), why: the client reports it as
    /// [`crate::session::Reason::Security`] instead of `Reason::Transport`.
    /// Plain transports keep the default, `None`.
    fn security_failure(error: &Self::Error) -> Option<SecurityFailure> {
        let _ = error;
        None
    }
}
