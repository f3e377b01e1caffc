//! limpet over TLS (`limpet::net::tls`, feature `tls`) against two real
//! brokers with TLS listeners on 127.0.0.1: mosquitto (OpenSSL) and aedes
//! (Node's TLS). Certificates are made at test time with the `openssl`
//! command-line tool (scripts/setup installs it); no key is ever committed.
//! Validity dates other than "from now for two days" come from
//! `openssl ca -startdate/-enddate` (OpenSSL 3.0 has no `x509 -not_before`).
//!
//! - `fixture`: the certificates, the brokers, a TLS connection, the
//!   client over TLS, an independent `mosquitto_sub` observer;
//! - `server_auth`: QoS 1 through TLS, and every refusal of a server with
//!   its reason, on both brokers;
//! - `mutual`: client certificates, required by both brokers;
//! - `wire`: what the ClientHello carries (SNI, ALPN), max fragment length.

mod fixture;
mod mutual;
mod server_auth;
mod wire;
