//! The bridge: MQTT for a microcontroller with no network, through a
//! co-processor (an ESP8266) on a 5-wire link — two clocks, two data lines,
//! reset — or a UART.
//!
//! Layers, bottom up:
//! - [`link`]: the synchronous bit engine over embedded-hal pins: a
//!   [`pipe::Pipe`] each way, paced by the two clocks, whatever either
//!   side's speed.
//! - [`uart`]: the same pipe over a serial port (SLIP), for boards that
//!   prefer two wires plus reset.
//! - [`frame`]: frames on any pipe (the link or a UART): length,
//!   sequence number, CRC-16, acknowledgement and retransmission, resync.
//! - [`proto`]: the messages host and co-processor exchange, one per frame.
pub mod coproc;
pub mod frame;
pub mod host;
pub mod link;
pub mod pipe;
pub mod proto;
#[cfg(test)]
mod test_pipe;
pub mod uart;
