//! The bridge host's firmware shape, measured (feature `bridge`): the host
//! driver over the 5-wire link on pins whose levels the optimizer cannot
//! know, publishing a reading, subscribed to a topic, taking every event —
//! what an RP2040- or Cortex-M4-class host without a network runs.
//!
//! `LIMPET_BRIDGE_RAM_*` symbols are as long as the driver's and the link
//! engine's state (255-byte frames, a window of 4, 8 publishes kept, 4
//! subscriptions), so `scripts/size-report` reads their RAM from the ELF.
//!
//! On the host this is an empty program.
#![cfg_attr(target_os = "none", no_std, no_main)]

// The harness library carries the panic handler.
#[cfg(target_os = "none")]
use harness as _;

#[cfg(all(target_os = "none", target_arch = "arm"))]
mod firmware {
    use core::convert::Infallible;
    use core::hint::black_box;
    use core::mem::size_of;

    use embedded_hal::digital::{ErrorType, InputPin, OutputPin};
    use limpet::bridge::host::{Host, HostConfig, HostEvent};
    use limpet::bridge::link::{Link, Side};
    use limpet::bridge::proto::Config;
    use limpet::time::Instant;
    use limpet::wire::QoS;

    /// A pin whose reads and writes go through `black_box`.
    pub struct Pin;

    impl ErrorType for Pin {
        type Error = Infallible;
    }
    impl InputPin for Pin {
        fn is_high(&mut self) -> Result<bool, Infallible> {
            Ok(black_box(false))
        }
        fn is_low(&mut self) -> Result<bool, Infallible> {
            Ok(black_box(true))
        }
    }
    impl OutputPin for Pin {
        fn set_low(&mut self) -> Result<(), Infallible> {
            black_box(false);
            Ok(())
        }
        fn set_high(&mut self) -> Result<(), Infallible> {
            black_box(true);
            Ok(())
        }
    }

    type BridgeHost = Host<'static, Pin, 255, 4, 8, 4>;
    type BridgeLink = Link<Pin, Pin, Pin, Pin>;

    #[used]
    #[no_mangle]
    pub static LIMPET_BRIDGE_RAM_HOST: [u8; size_of::<BridgeHost>()] = [0; size_of::<BridgeHost>()];
    #[used]
    #[no_mangle]
    pub static LIMPET_BRIDGE_RAM_LINK: [u8; size_of::<BridgeLink>()] = [0; size_of::<BridgeLink>()];

    const COPROC: Config<'static> = Config {
        time_server: "pool.ntp.org",
        ..Config::new("home", b"password", "broker.local", "bridge-host")
    };

    fn now() -> Instant {
        Instant::from_ticks(black_box(0))
    }

    #[cortex_m_rt::entry]
    fn main() -> ! {
        let Ok(mut link) = BridgeLink::new(Side::Host, Pin, Pin, Pin, Pin) else {
            loop {}
        };
        let mut host = BridgeHost::new(HostConfig::new(COPROC, black_box(1)), Pin);
        let _ = host.subscribe("cmd/led", QoS::AtLeastOnce);
        loop {
            let t = now();
            let _ = link.poll(t);
            match host.poll(t, &mut link) {
                Some(HostEvent::Message { topic, payload, .. }) => {
                    black_box((topic, payload));
                }
                Some(other) => {
                    black_box(other);
                }
                None => {}
            }
            if black_box(false) {
                let _ = host.publish(
                    "sensor/temperature",
                    black_box(b"21.5"),
                    QoS::AtLeastOnce,
                    false,
                );
                let _ = host.get_time();
                host.get_stats();
            }
            black_box(host.next_deadline(t));
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {}
