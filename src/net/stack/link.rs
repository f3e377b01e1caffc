//! What the board says of its radio's link (MQTT 3.1.1 §4.2 runs over a
//! network connection that a radio can lose at any moment).
//!
//! The stack cannot see the radio; the board (or its WLAN controller) tells
//! it. A link that goes down ends the connection at once rather than after a
//! TCP timeout, and gives up a DHCP lease, since the network that comes back
//! may be another one.

use super::{Stack, StackError};
#[cfg(feature = "dhcp")]
use smoltcp::socket::dhcpv4;

impl Stack<'_> {
    /// The radio's link went down (or is not trusted yet: a board with a
    /// WLAN controller calls this before its first `Up`): the connection is
    /// aborted at once, a DHCP lease is given up (the network that comes
    /// back may be another), and `connect` fails with
    /// [`StackError::LinkDown`] until [`Stack::link_up`]. A new stack's link
    /// is up (a wired or serial board has nothing to wait for).
    pub fn link_down(&mut self) {
        self.abort(StackError::Closed);
        self.link = false;
        #[cfg(feature = "dhcp")]
        if let Some(dhcp) = self.dhcp {
            self.sockets.get_mut::<dhcpv4::Socket>(dhcp).reset();
            self.deconfigure();
        }
    }

    /// The radio's link is up (again): connections may start; after a
    /// `link_down`, DHCP starts over at once, on the network just joined (a
    /// static address needs nothing). Idempotent: a link already up keeps
    /// its lease and its connection.
    pub fn link_up(&mut self) {
        if self.link {
            return;
        }
        self.link = true;
        #[cfg(feature = "dhcp")]
        if let Some(dhcp) = self.dhcp {
            self.sockets.get_mut::<dhcpv4::Socket>(dhcp).reset();
        }
    }

    /// The link is up (see [`Stack::link_down`]).
    pub fn is_link_up(&self) -> bool {
        self.link
    }
}
