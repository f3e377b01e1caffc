//! A [`Radio`] over a WiFi driver whose calls are `async` — esp-radio's
//! `WifiController`, embassy-style drivers — driven from the superloop
//! without an executor.
//!
//! Such drivers start and end associations only with futures that hold the
//! driver borrowed until the radio answers. So the driver lives inside one
//! future, [`drive`], which carries out the commands that the
//! [`StationRadio`] facade leaves in a [`Mailbox`] and writes back what the
//! radio says. The facade polls that future once per call with a waker that
//! does nothing (the superloop polls again on its next pass anyway): every
//! `Radio` call still returns at once, and nothing is allocated.
//!
//! ```
//! use core::future::{pending, ready, Future};
//! use core::pin::pin;
//! use limpet::wlan::station::{drive, Mailbox, Station, StationRadio};
//! use limpet::wlan::{Radio, Status};
//!
//! /// The board's async driver (esp-radio's `WifiController` behind it);
//! /// this one joins at once and never loses the link.
//! struct BoardStation;
//!
//! impl Station for BoardStation {
//!     fn configure(&mut self, _ssid: &str, _password: &str) -> bool {
//!         true
//!     }
//!     fn connect(&mut self) -> impl Future<Output = Result<(), Status>> {
//!         ready(Ok(()))
//!     }
//!     fn disconnect(&mut self) -> impl Future<Output = ()> {
//!         ready(())
//!     }
//!     fn disconnected(&self) -> impl Future<Output = Status> {
//!         pending()
//!     }
//!     fn rssi(&self) -> Option<i8> {
//!         Some(-55)
//!     }
//! }
//!
//! let mailbox = Mailbox::new();
//! let driver = pin!(drive(BoardStation, &mailbox));
//! let mut radio = StationRadio::new(&mailbox, driver);
//! // `radio` is the `Radio` for `Wlan::poll`; every call returns at once.
//! radio.connect("home", b"correct horse");
//! assert_eq!(radio.status(), Status::Connected);
//! assert_eq!(radio.rssi(), Some(-55));
//! ```

use core::cell::Cell;

use crate::polled::{first, poll_once, Either};
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::Poll;

use heapless::String;

use super::radio::{Radio, Status};

/// A station driver with `async` calls, as [`drive`] uses it.
pub trait Station {
    /// Sets the network the next [`Station::connect`] joins; `false` if
    /// the driver cannot take these credentials.
    fn configure(&mut self, ssid: &str, password: &str) -> bool;
    /// Associates with the configured network: `Ok` once associated, else
    /// the terminal status that says why not.
    fn connect(&mut self) -> impl Future<Output = Result<(), Status>>;
    /// Leaves the network or abandons an attempt under way; finishes at once
    /// if there is neither.
    fn disconnect(&mut self) -> impl Future<Output = ()>;
    /// Finishes when the association is lost, with the terminal status that
    /// says why.
    fn disconnected(&self) -> impl Future<Output = Status>;
    /// The access point's signal strength in dBm while associated. Called
    /// on every poll of the facade while associated: a driver for which the
    /// question is costly keeps a recent answer.
    fn rssi(&self) -> Option<i8>;
}

/// What the facade asks of the driver.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Command {
    None,
    Connect,
    Disconnect,
    /// Credentials too long or not UTF-8: leave, and report a failure.
    Reject,
}

/// The facade's half and the driver's half of the radio, side by side.
pub struct Mailbox {
    command: Cell<Command>,
    ssid: Cell<String<32>>,
    password: Cell<String<64>>,
    status: Cell<Status>,
    rssi: Cell<Option<i8>>,
}

impl Mailbox {
    /// An empty mailbox: no command, the radio `Idle`. `const`, so it can
    /// be a `static`.
    pub const fn new() -> Self {
        Mailbox {
            command: Cell::new(Command::None),
            ssid: Cell::new(String::new()),
            password: Cell::new(String::new()),
            status: Cell::new(Status::Idle),
            rssi: Cell::new(None),
        }
    }

    /// Finishes when the facade has left a new command.
    async fn command(&self) {
        poll_fn(|_| {
            if self.command.get() == Command::None {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    }
}

impl Default for Mailbox {
    fn default() -> Self {
        Self::new()
    }
}

/// The driver's loop: owns `station` and never finishes. Poll it through a
/// [`StationRadio`].
pub async fn drive<S: Station>(mut station: S, mail: &Mailbox) {
    loop {
        mail.command().await;
        let command = mail.command.replace(Command::None);
        mail.rssi.set(None);
        mail.status.set(match command {
            Command::Connect => Status::Connecting,
            Command::Reject => Status::Failed,
            _ => Status::Idle,
        });
        // Whatever was under way is abandoned first (the Radio contract).
        station.disconnect().await;
        if command != Command::Connect {
            continue;
        }
        if !station.configure(&mail.ssid.take(), &mail.password.take()) {
            mail.status.set(Status::Failed);
            continue;
        }
        match first(station.connect(), mail.command()).await {
            Either::First(Ok(())) => {}
            Either::First(Err(status)) => {
                mail.status.set(terminal(status));
                continue;
            }
            Either::Second(()) => continue, // a new command: abandon this attempt
        }
        mail.status.set(Status::Connected);
        // Associated: until the link drops or a command comes, keep the
        // RSSI fresh for the application.
        let rssi = poll_fn(|_| {
            mail.rssi.set(station.rssi());
            Poll::<()>::Pending
        });
        if let Either::First(Either::First(status)) =
            first(first(station.disconnected(), rssi), mail.command()).await
        {
            mail.status.set(terminal(status));
        }
        mail.rssi.set(None);
    }
}

/// A driver's reason for an ended attempt or link is one of the terminal
/// statuses; anything else it might say is a failure.
fn terminal(status: Status) -> Status {
    if status.is_terminal() {
        status
    } else {
        Status::Failed
    }
}

/// The `Radio` the WLAN controller polls, over [`drive`]'s future.
pub struct StationRadio<'a, F: Future> {
    mail: &'a Mailbox,
    driver: Pin<&'a mut F>,
}

impl<'a, F: Future> StationRadio<'a, F> {
    /// The facade over `driver`, the pinned future of [`drive`] given the
    /// same `mail`.
    pub fn new(mail: &'a Mailbox, driver: Pin<&'a mut F>) -> Self {
        StationRadio { mail, driver }
    }

    /// Lets the driver act on commands and on what the radio said.
    fn run(&mut self) {
        let _ = poll_once(self.driver.as_mut());
    }
}

impl<F: Future> Radio for StationRadio<'_, F> {
    /// Drivers of this kind keep no network of their own.
    fn has_stored(&mut self) -> bool {
        false
    }

    fn connect_stored(&mut self) {
        // Never called while has_stored() is false; fail it all the same.
        self.mail.command.set(Command::Reject);
        self.run();
    }

    fn connect(&mut self, ssid: &str, password: &[u8]) {
        let (mut s, mut p) = (String::new(), String::new());
        let ok = s.push_str(ssid).is_ok()
            && core::str::from_utf8(password).is_ok_and(|pw| p.push_str(pw).is_ok());
        self.mail.ssid.set(s);
        self.mail.password.set(p);
        self.mail.command.set(if ok {
            Command::Connect
        } else {
            Command::Reject
        });
        self.run();
    }

    fn disconnect(&mut self) {
        self.mail.command.set(Command::Disconnect);
        self.run();
    }

    fn status(&mut self) -> Status {
        self.run();
        self.mail.status.get()
    }

    fn rssi(&mut self) -> Option<i8> {
        self.mail.rssi.get()
    }
}
