//! Arm semihosting calls (also the RISC-V semihosting ABI): the console and
//! the exit status. The architecture provides only the trap,
//! `arch::semihost(op, param)`.
//!
//! QEMU runs with `-semihosting-config enable=on,target=native`, so output
//! goes to QEMU's stdout and `SYS_EXIT_EXTENDED` becomes QEMU's exit status.

use crate::arch::semihost;
use crate::runner::Global;

const SYS_OPEN: usize = 0x01;
const SYS_WRITE: usize = 0x05;
const SYS_EXIT_EXTENDED: usize = 0x20;
/// `ADP_Stopped_ApplicationExit`: a normal exit whose subcode is the status.
const ADP_STOPPED_APPLICATION_EXIT: usize = 0x2_0026;
/// `SYS_OPEN` mode 4 is "w".
const MODE_WRITE: usize = 4;

/// The handle of ":tt" (the console), opened on first use.
static STDOUT: Global<Option<usize>> = Global::new(None);

fn stdout() -> Option<usize> {
    if STDOUT.get().is_none() {
        let name = b":tt\0";
        let block = [name.as_ptr() as usize, MODE_WRITE, name.len() - 1];
        let handle = semihost(SYS_OPEN, block.as_ptr() as usize);
        if handle >= 0 {
            STDOUT.set(Some(handle as usize));
        }
    }
    STDOUT.get()
}

pub(crate) fn write(mut bytes: &[u8]) {
    let Some(handle) = stdout() else { return };
    while !bytes.is_empty() {
        let block = [handle, bytes.as_ptr() as usize, bytes.len()];
        // Returns the number of bytes *not* written.
        let left = semihost(SYS_WRITE, block.as_ptr() as usize);
        if left <= 0 || left as usize > bytes.len() {
            return;
        }
        bytes = &bytes[bytes.len() - left as usize..];
    }
}

pub(crate) fn exit(code: i32) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, code as usize];
    semihost(SYS_EXIT_EXTENDED, block.as_ptr() as usize);
    // Only reached without semihosting; the run's timeout ends it.
    loop {
        core::hint::spin_loop();
    }
}
