//! Randomness for TLS (feature `tls`): the chip's hardware generator as a
//! `rand_core` RNG. Under QEMU's `sim` machine (feature `sim`), which has no
//! such register, the cycle counter mixed by a xorshift stands in: fine
//! for a test run, never for a real key.

use rand_core::{CryptoRng, RngCore};

/// The ESP8266's random number generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct HardwareRng {
    #[cfg(feature = "sim")]
    state: u32,
}

impl HardwareRng {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(not(feature = "sim"))]
    fn word(&mut self) -> u32 {
        crate::hw::RNG.read()
    }

    #[cfg(feature = "sim")]
    fn word(&mut self) -> u32 {
        let mut x = self.state ^ crate::hw::ccount() ^ 0x9E37_79B9;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        x
    }
}

impl RngCore for HardwareRng {
    fn next_u32(&mut self) -> u32 {
        self.word()
    }

    fn next_u64(&mut self) -> u64 {
        (u64::from(self.word()) << 32) | u64::from(self.word())
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(4) {
            let w = self.word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for HardwareRng {}
