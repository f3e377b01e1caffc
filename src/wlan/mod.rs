//! The WLAN controller: the radio's link, kept up by a polled state machine
//! (stored network first, then the configured one; connect timeout;
//! stability window; drop detection; reconnection with backoff; events).
