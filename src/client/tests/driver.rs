//! What a driver returns cannot make a pass spin or hang (issue 13,
//! defects 4 and 5).

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

#[test]
fn a_loop_that_sleeps_until_the_deadline_waits_for_a_full_socket_instead_of_spinning() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Pipe::new();
    bring_up(&mut c, &mut t);
    // The socket takes ten more bytes, then is full until the peer ACKs.
    t.send_room = 10;
    let mut queued = 0;
    while c
        .publish("t", b"0123456789", QoS::AtMostOnce, false)
        .is_ok()
    {
        queued += 1;
    }
    assert!(queued > 1);
    assert_eq!(poll_kind(&mut c, at(10), &mut t), None);
    assert!(c.wants_write(), "bytes wait for the transport");
    // Sleeping until `now` again would spin until the socket drains: the
    // loop waits for the transport (or the next timer) instead.
    let deadline = c.next_deadline(at(10)).expect("keepalive is running");
    assert!(deadline > at(10), "{deadline:?}");
    // Once the transport can take them, the bytes go out on the next pass.
    t.send_room = usize::MAX;
    assert_eq!(poll_kind(&mut c, at(11), &mut t), None);
    assert!(!c.wants_write());
    assert_eq!(t.sent(|_| {}), queued);
}

/// A driver that breaks the `Transport` contract once connected: `send` and
/// `recv` return `Ok(0)` forever. Past a bound the calls fail the test
/// instead of hanging it.
struct Zero {
    pipe: Pipe,
    broken: bool,
    calls: u32,
}

impl Zero {
    fn call(&mut self) {
        self.calls += 1;
        assert!(
            self.calls < 100_000,
            "the client kept calling a driver that returns Ok(0)"
        );
    }
}

impl Transport for Zero {
    type Error = ();

    fn connect(&mut self) -> nb::Result<(), ()> {
        self.pipe.connect()
    }

    fn send(&mut self, data: &[u8]) -> nb::Result<usize, ()> {
        if self.broken {
            self.call();
            return Ok(0);
        }
        self.pipe.send(data)
    }

    fn recv(&mut self, buf: &mut [u8]) -> nb::Result<usize, ()> {
        if self.broken {
            self.call();
            return Ok(0);
        }
        self.pipe.recv(buf)
    }

    fn close(&mut self) {
        self.pipe.close();
    }
}

#[test]
fn a_driver_returning_ok_zero_cannot_hang_a_pass_or_keep_a_dead_link_alive() {
    let mut b = Buffers::new();
    let mut c = client(&mut b);
    let mut t = Zero {
        pipe: Pipe::new(),
        broken: false,
        calls: 0,
    };
    bring_up(&mut c, &mut t.pipe);
    c.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    t.broken = true;
    let mut down = None;
    let mut ms = 1;
    while down.is_none() && ms < 200_000 {
        let before = t.calls;
        if let Some(Event::Down(r)) = c.poll(at(ms), &mut t) {
            down = Some(r);
        }
        // One pass asks the driver a bounded number of times.
        assert!(
            t.calls - before <= 16,
            "{} calls in one pass",
            t.calls - before
        );
        ms += 100;
    }
    // Nothing arrives and nothing can be sent: the link is declared dead
    // within the ping interval plus the response time (15 s + 10 s).
    assert!(
        matches!(down, Some(Reason::PingTimeout | Reason::PubAckTimeout)),
        "{down:?} after {ms} ms"
    );
    assert!(ms <= 26_000, "{ms} ms");
}
