//! The host's side of published ports (`bottle run -p`): each host port must be free on
//! the loopback before anything starts ([`check_free`]), and while the bottle runs a
//! watcher ([`watch`]) says the URL once the agent's server answers there. I/O (sockets
//! on the host's loopback only; no docker).

use crate::error::Error;
use crate::plan::bottle_plan::{PortPlan, PortsPlan};
use crate::progress::Progress;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often an unanswered port is tried again.
const POLL: Duration = Duration::from_millis(700);
/// How long a connection must stay open, silent, to count as a server that answers: a
/// relay that found nothing listening closes at once.
const SETTLE: Duration = Duration::from_millis(500);

/// The loopback addresses a port is published on.
fn addresses(ports: &PortsPlan, p: &PortPlan) -> Vec<SocketAddr> {
    let mut out = vec![SocketAddr::from(([127, 0, 0, 1], p.host_port))];
    if ports.loopback_v6 {
        out.push(SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], p.host_port)));
    }
    out
}

/// Every host port can be bound on the loopback now (a port taken later, before Docker
/// binds it, fails the launch at run time, and teardown removes what it made). A port
/// this user may not bind (below 1024) is left to Docker, which binds as root.
pub fn check_free(ports: &PortsPlan) -> Result<(), Error> {
    for p in &ports.published {
        for addr in addresses(ports, p) {
            if let Err(e) = TcpListener::bind(addr)
                && e.kind() == ErrorKind::AddrInUse
            {
                return Err(Error::usage(format!(
                    "-p: host port {} is in use on {} (something on this host listens there); pick another: -p OTHER_PORT:{}",
                    p.host_port,
                    addr.ip(),
                    p.agent_port
                )));
            }
        }
    }
    Ok(())
}

/// Whether a server answers at `addr`: the connection is accepted and not closed at once
/// (the relays close it when the agent's port refuses).
fn answers(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, POLL) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(SETTLE));
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(n) => n > 0,
        Err(e) => matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// Tries each port until its server answers, then says its URL once; returns when all
/// have answered or `stop` is set. The line ends in `\r` too: the terminal may be in raw
/// mode for the attached session.
pub fn watch(ports: &PortsPlan, stop: &AtomicBool, progress: &Progress) {
    let mut waiting: Vec<&PortPlan> = ports.published.iter().collect();
    while !waiting.is_empty() && !stop.load(Ordering::Relaxed) {
        waiting.retain(|p| {
            if !answers(addresses(ports, p)[0]) {
                return true;
            }
            progress.say(&format!(
                "agent port {} answers at {}\r",
                p.agent_port, p.url
            ));
            false
        });
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(host_port: u16) -> PortsPlan {
        PortsPlan {
            forwarder: "f".into(),
            relay: "r".into(),
            loopback_v6: false,
            published: vec![PortPlan {
                agent_port: 3000,
                host_port,
                relay_port: 61000,
                url: format!("http://127.0.0.1:{host_port}"),
            }],
        }
    }

    #[test]
    fn a_port_in_use_is_refused_and_a_free_one_passes() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = check_free(&plan(port)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string()
                .contains(&format!("host port {port} is in use"))
        );
        drop(taken);
        assert!(check_free(&plan(port)).is_ok());
    }

    #[test]
    fn a_server_that_keeps_the_connection_answers_and_one_that_closes_does_not() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let closing = std::thread::spawn(move || {
            // Like a relay with nothing behind it: accept, close at once.
            let (s, _) = server.accept().unwrap();
            drop(s);
            server
        });
        assert!(!answers(addr));
        let server = closing.join().unwrap();
        let keeping = std::thread::spawn(move || {
            let (s, _) = server.accept().unwrap();
            std::thread::sleep(SETTLE * 2);
            drop(s);
        });
        assert!(answers(addr));
        keeping.join().unwrap();
        let nothing = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(!answers(nothing));
    }
}
