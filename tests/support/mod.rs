//! Test support: what the integration tests share beyond the broker harness.
//!
//! Include from an integration test with `#[macro_use] mod support;`. The
//! brokers and observers themselves are `limpet-testbroker`
//! (`tools/testbroker`), re-exported here.
#![allow(dead_code)]

pub use limpet_testbroker::*;

/// One `#[test]` per (scenario, broker kind): `scenario::mosquitto` and
/// `scenario::aedes` call `scenario(kind)`. A new kind in [`kinds`] needs a
/// line here too (`tests/brokers.rs` checks). Use with `#[macro_use] mod support;`.
#[allow(unused_macros)]
macro_rules! on_every_broker {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            use crate::support::BrokerKind;
            #[test]
            fn mosquitto() {
                super::$scenario(BrokerKind::Mosquitto)
            }
            #[test]
            fn aedes() {
                super::$scenario(BrokerKind::Aedes)
            }
        }
    )+};
}

pub mod device;
pub mod outages;
pub mod stop;
