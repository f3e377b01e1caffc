//! The ejabberd broker kind: started on a free 127.0.0.1 port, restarted on
//! the same port, SIGKILLed by PID, without epmd or Erlang distribution, and
//! cleaned up on drop. Needs Debian's ejabberd (`scripts/setup`).

use limpet_testbroker::{Broker, BrokerKind};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// True when something accepts TCP connections on 127.0.0.1:`port`.
fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).is_ok()
}

#[test]
fn ejabberd_starts_restarts_is_killed_by_pid_and_starts_no_epmd() {
    let t = Instant::now();
    let mut broker = Broker::start_kind(BrokerKind::Ejabberd);
    let started = t.elapsed();
    let port = broker.port();
    let dir = broker.dir().to_path_buf();
    assert!(listening(port));
    assert_eq!(broker.login(), Some(limpet_testbroker::EJABBERD_LOGIN));
    let log = broker.log();
    assert!(
        log.contains("is started in the node nonode@nohost"),
        "{log}"
    );
    assert!(dir.join("ejabberd.yml").is_file());
    // No node name: erl starts no distribution, so no epmd (which would
    // listen on 4369 of every interface) and no distribution port.
    let pid = broker.pid().expect("running");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert!(
        comm.starts_with("beam"),
        "the child is the VM itself: {comm:?}"
    );
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        !cmdline.contains("-sname") && !cmdline.contains("-name "),
        "{cmdline}"
    );

    let t = Instant::now();
    broker.restart();
    let restarted = t.elapsed();
    assert_eq!(broker.port(), port);
    assert!(listening(port));
    assert_ne!(broker.pid(), Some(pid));

    broker.kill();
    assert!(!broker.is_running());
    assert!(!listening(port), "port {port} still accepts after SIGKILL");
    eprintln!("ejabberd ready after {started:?}, restarted in {restarted:?}");
    drop(broker);
    assert!(!dir.exists());
}
