//! smoltcp's `Device` over esp-radio's station interface.
//!
//! esp-radio hands its frames to network stacks through the public
//! `embassy-net-driver` 0.2 `Driver` trait (it dropped its own smoltcp
//! glue). This adapter calls that trait with a waker that does nothing —
//! the superloop polls again on its next pass — and passes the tokens
//! through. Medium Ethernet (802.3 frames: the blob converts to and from
//! 802.11), MTU 1492 as the driver says.

use core::task::{Context, Waker};

use embassy_net_driver::Driver;
use esp_radio::wifi::Interface as Station;
use smoltcp::iface::{Config as IfaceConfig, Interface};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress};

/// The WiFi station as a smoltcp device.
pub struct WifiDevice {
    station: Station,
}

impl WifiDevice {
    pub fn new(station: Station) -> Self {
        WifiDevice { station }
    }

    /// The station's MAC address.
    pub fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(EthernetAddress(self.station.mac_address()))
    }

    /// A smoltcp interface over this device, for limpet's `Stack::new`:
    /// the station's MAC address, `seed` for smoltcp's random choices.
    pub fn interface(&mut self, seed: u32) -> Interface {
        let mut config = IfaceConfig::new(self.hardware_address());
        config.random_seed = u64::from(seed);
        Interface::new(config, self, Instant::ZERO)
    }
}

pub struct RxToken<T>(T);
pub struct TxToken<T>(T);

impl<T: embassy_net_driver::RxToken> phy::RxToken for RxToken<T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        self.0.consume(|frame| f(frame))
    }
}

impl<T: embassy_net_driver::TxToken> phy::TxToken for TxToken<T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.0.consume(len, f)
    }
}

impl Device for WifiDevice {
    type RxToken<'a> = RxToken<<Station as Driver>::RxToken<'a>>;
    type TxToken<'a> = TxToken<<Station as Driver>::TxToken<'a>>;

    fn receive(&mut self, _: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let mut cx = Context::from_waker(Waker::noop());
        Driver::receive(&mut self.station, &mut cx).map(|(rx, tx)| (RxToken(rx), TxToken(tx)))
    }

    fn transmit(&mut self, _: Instant) -> Option<Self::TxToken<'_>> {
        let mut cx = Context::from_waker(Waker::noop());
        Driver::transmit(&mut self.station, &mut cx).map(TxToken)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let driver = Driver::capabilities(&self.station);
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = driver.max_transmission_unit;
        caps.max_burst_size = driver.max_burst_size;
        caps
    }
}
