//! What [`super::Device::poll`] reports.

use crate::net::stack::StackEvent;
use crate::session::Event;
use crate::wlan::WlanEvent;

/// One event from one of the device's three machines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceEvent<'e> {
    /// The WLAN controller's: the link came up (after its stability
    /// window) or went down, or an attempt failed. The device has already
    /// told the stack.
    Wlan(WlanEvent),
    /// The IP stack's: an address was configured (the client was told to
    /// retry at once) or lost.
    Network(StackEvent),
    /// The MQTT client's.
    Mqtt(Event<'e>),
}
