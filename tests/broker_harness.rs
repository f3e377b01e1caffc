//! Proves the test harness in `tests/support`: a private broker per test, of
//! every kind (mosquitto and aedes), kill/restart on the same port, and
//! mosquitto_sub/mosquitto_pub observers against each.

mod support;

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use support::{free_port, kinds, publish, Broker, BrokerKind, Sub};

const WAIT: Duration = Duration::from_secs(5);

fn accepts(b: &Broker) -> bool {
    TcpStream::connect_timeout(&b.addr(), Duration::from_millis(500)).is_ok()
}

/// Runs `check` once per broker kind; the captured output names the kind
/// that failed.
fn for_each_kind(check: impl Fn(BrokerKind)) {
    for kind in kinds() {
        eprintln!("--- {}", kind.name());
        check(kind);
    }
}

#[test]
fn free_port_is_bindable_on_localhost() {
    let p = free_port();
    assert_ne!(p, 0);
    TcpListener::bind(("127.0.0.1", p)).expect("free_port should be bindable");
}

#[test]
fn sub_receives_what_publish_sends() {
    for_each_kind(sub_receives_what_publish_sends_on);
}

fn sub_receives_what_publish_sends_on(kind: BrokerKind) {
    let t0 = Instant::now();
    let broker = Broker::start_kind(kind);
    eprintln!("broker started in {:?} on {}", t0.elapsed(), broker.addr());
    assert!(broker.is_running());
    assert_eq!(broker.addr().ip().to_string(), "127.0.0.1");

    let t1 = Instant::now();
    let sub = Sub::start(broker.port(), "harness/+", 1);
    eprintln!("sub ready in {:?}", t1.elapsed());

    publish(broker.port(), "harness/a", "hello", 1, false);
    publish(broker.port(), "harness/b", b"two\nlines", 0, false);
    assert!(sub.wait_for(3, WAIT), "got {:?}", sub.lines());
    assert_eq!(sub.lines(), ["harness/a hello", "harness/b two", "lines"]);

    // Nothing else arrives (readiness probes are filtered out).
    assert!(!sub.wait_for(4, Duration::from_millis(200)));
}

#[test]
fn kill_refuses_and_restart_reuses_the_port() {
    for_each_kind(kill_refuses_and_restart_reuses_the_port_on);
}

fn kill_refuses_and_restart_reuses_the_port_on(kind: BrokerKind) {
    let mut broker = Broker::start_kind(kind);
    let port = broker.port();
    let pid1 = broker.pid().unwrap();
    assert!(accepts(&broker));

    broker.kill();
    assert!(!broker.is_running());
    assert_eq!(broker.pid(), None);
    let err = TcpStream::connect_timeout(&broker.addr(), Duration::from_millis(500))
        .expect_err("killed broker must refuse connections");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);

    let t = Instant::now();
    broker.restart();
    eprintln!("broker restarted in {:?}", t.elapsed());
    assert_eq!(broker.port(), port, "restart keeps the port");
    assert!(broker.is_running());
    assert_ne!(broker.pid().unwrap(), pid1);
    assert!(accepts(&broker));

    // Restarting a running broker works too (kills it first).
    broker.restart();
    assert_eq!(broker.port(), port);
    assert!(accepts(&broker));
    let sub = Sub::start(port, "harness/after", 0);
    publish(port, "harness/after", "ok", 0, false);
    assert!(
        sub.wait_for_line("harness/after ok", WAIT),
        "got {:?}",
        sub.lines()
    );
}

#[test]
fn persistent_sub_reconnects_after_restart() {
    for_each_kind(persistent_sub_reconnects_after_restart_on);
}

fn persistent_sub_reconnects_after_restart_on(kind: BrokerKind) {
    let mut broker = Broker::start_kind(kind);
    let port = broker.port();
    let id = format!("harness-persistent-{}", std::process::id());
    let sub = Sub::builder(port, "harness/p")
        .qos(1)
        .client_id(&id)
        .persistent()
        .start();
    assert_eq!(sub.client_id(), id);
    publish(port, "harness/p", "before", 1, false);
    assert!(
        sub.wait_for_line("harness/p before", WAIT),
        "got {:?}",
        sub.lines()
    );

    broker.kill();
    broker.restart();
    // mosquitto_sub reconnects by itself (about 1 s) and subscribes again.
    // persistence is false: the broker forgot the session, so only messages
    // published after the resubscription can arrive.
    let t = Instant::now();
    assert!(
        sub.wait_ready(Duration::from_secs(10)),
        "stderr: {}",
        sub.stderr()
    );
    eprintln!("persistent sub back after {:?}", t.elapsed());
    publish(port, "harness/p", "after", 1, false);
    assert!(
        sub.wait_for_line("harness/p after", WAIT),
        "got {:?}",
        sub.lines()
    );
    assert_eq!(sub.lines(), ["harness/p before", "harness/p after"]);
    assert!(broker.log().contains(&id));
}

#[test]
fn restart_forgets_retained_messages() {
    for_each_kind(restart_forgets_retained_messages_on);
}

fn restart_forgets_retained_messages_on(kind: BrokerKind) {
    let mut broker = Broker::start_kind(kind);
    let port = broker.port();
    publish(port, "harness/r", "kept", 1, true);
    // mosquitto delivers retained messages before the readiness probe's
    // echo; aedes streams them from its store and may deliver them after.
    let sub = Sub::start(port, "harness/r", 1);
    assert!(
        sub.wait_for_line("harness/r kept", WAIT),
        "got {:?}",
        sub.lines()
    );
    assert_eq!(sub.lines(), ["harness/r kept"]);

    broker.restart();
    let fresh = Sub::start(port, "harness/r", 1);
    // Give a retained message as long to show up as it took above.
    assert!(!fresh.wait_for_line("harness/r kept", Duration::from_millis(500)));
    assert!(
        fresh.lines().is_empty(),
        "persistence is off: got {:?}",
        fresh.lines()
    );
}

#[test]
fn stop_kills_sub_and_keeps_lines() {
    for_each_kind(stop_kills_sub_and_keeps_lines_on);
}

fn stop_kills_sub_and_keeps_lines_on(kind: BrokerKind) {
    let broker = Broker::start_kind(kind);
    let mut sub = Sub::start(broker.port(), "harness/s", 0);
    publish(broker.port(), "harness/s", "x", 0, false);
    assert!(sub.wait_for(1, WAIT));
    sub.stop();
    assert_eq!(sub.pid(), None);
    publish(broker.port(), "harness/s", "y", 0, false);
    assert_eq!(sub.lines(), ["harness/s x"]);
}

#[test]
fn drop_kills_broker_and_removes_dir() {
    for_each_kind(|kind| {
        let broker = Broker::start_kind(kind);
        let addr = broker.addr();
        let dir = broker.dir().to_path_buf();
        match kind {
            BrokerKind::Mosquitto => {
                assert!(dir.join("mosquitto.conf").exists());
                assert!(broker.log().contains(" running"));
            }
            BrokerKind::Aedes => {
                let ready = format!(" ready on 127.0.0.1:{}", broker.port());
                assert!(broker.log().contains(&ready), "{}", broker.log());
            }
            BrokerKind::Ejabberd => unreachable!("not in kinds()"),
        }
        drop(broker);
        assert!(!dir.exists());
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
    });
}

#[test]
fn terminate_is_a_clean_exit() {
    for_each_kind(|kind| {
        let mut broker = Broker::start_kind(kind);
        let st = broker.terminate().expect("exits within 5 s of SIGTERM");
        assert!(st.success(), "{st}: {}", broker.log());
        assert!(!broker.is_running());
        assert!(!accepts(&broker));
    });
}

#[test]
fn brokers_run_side_by_side() {
    for a_kind in kinds() {
        for b_kind in kinds() {
            eprintln!("--- {} beside {}", a_kind.name(), b_kind.name());
            let a = Broker::start_kind(a_kind);
            let b = Broker::start_kind(b_kind);
            assert_ne!(a.port(), b.port());
            assert_ne!(a.dir(), b.dir());
            let sa = Sub::start(a.port(), "harness/x", 0);
            let sb = Sub::start(b.port(), "harness/x", 0);
            publish(a.port(), "harness/x", "to-a", 0, false);
            assert!(sa.wait_for_line("harness/x to-a", WAIT));
            assert!(
                !sb.wait_for(1, Duration::from_millis(200)),
                "b got {:?}",
                sb.lines()
            );
        }
    }
}

#[test]
fn restart_waits_until_the_port_is_free_again() {
    for_each_kind(|kind| {
        let mut broker = Broker::start_kind(kind);
        let port = broker.port();
        broker.kill();
        // Someone else holds the port for a while: the broker's bind fails
        // with "address in use", which restart must retry, not report.
        let squatter = TcpListener::bind(("127.0.0.1", port)).expect("rebind the freed port");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(600));
            drop(squatter);
        });
        let t = Instant::now();
        broker.restart();
        release.join().unwrap();
        assert!(
            t.elapsed() >= Duration::from_millis(600),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(broker.port(), port);
        assert!(broker.is_running());
        // The log shows the refused binds before the one that worked.
        let log = broker.log();
        assert!(
            log.contains("Address already in use") || log.contains("EADDRINUSE"),
            "{log}"
        );
        assert!(accepts(&broker));
    });
}
