//! Issue 24 on the engine: `bottle run -p`. One bottle, three servers in the agent (on
//! `0.0.0.0`, `127.0.0.1` and `::`), each reached from the host at the URL bottle
//! prints (on `127.0.0.1` and `::1`), neither on the host's other addresses; from inside
//! the agent every way out through the forwarder fails (its ports, a proxy request, a
//! CONNECT, DNS), and a listener on the host sees none of it; the forwarder and the relay
//! are confined; the forwarder and the relay killed with SIGKILL come back (the relay in
//! the agent's network namespace) and the URLs answer again;
//! `bottle ls` shows the ports, the exit report counts their bytes and the restart, and
//! nothing is left.

use crate::report::schema;
use crate::support::engine::{self, Bottle, containers, docker, docker_try, leftovers};
use crate::support::json_schema;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const T: Duration = Duration::from_secs(120);
/// Forwarder restarts in a row (each has about even odds of the /etc/hosts order that once
/// broke it).
const FORWARDER_RESTARTS: usize = 3;

/// Three servers with bodies of their own (on 0.0.0.0, 127.0.0.1 and ::), then waits for
/// the test to say it is done. (Not on ::1: Docker turns IPv6 off in a container whose
/// networks have none, so nothing can listen there.)
const SERVERS: &str = "mkdir -p /tmp/any /tmp/lo /tmp/any6 \
  && echo served-on-all-addresses > /tmp/any/index.html \
  && echo served-on-loopback-only > /tmp/lo/index.html \
  && echo served-on-all-v6-addresses > /tmp/any6/index.html; \
  (cd /tmp/any && exec python3 -m http.server --bind 0.0.0.0 3000 >/dev/null 2>&1) & \
  (cd /tmp/lo && exec python3 -m http.server --bind 127.0.0.1 3001 >/dev/null 2>&1) & \
  (cd /tmp/any6 && exec python3 -m http.server --bind :: 3002 >/dev/null 2>&1) & \
  while [ ! -e /tmp/done ]; do sleep 0.2; done";

/// What the agent tries through the forwarder and the relay; one line per probe.
const PROBES: &str = r#"
import socket, sys
fwd, fwd_other, agent_ip, host_ip, host_port = sys.argv[1:6]
host_port = int(host_port)
def tcp(host, port, send=b"", timeout=2):
    try:
        s = socket.create_connection((host, port), timeout)
    except OSError as e:
        return "closed (%s)" % e.__class__.__name__
    try:
        s.settimeout(timeout)
        if send:
            s.sendall(send)
        return "open: %r" % s.recv(200)
    except OSError as e:
        return "open, then %s" % e.__class__.__name__
# Every TCP port of the forwarder, from the agent's side.
opened = []
for port in range(1, 65536):
    s = socket.socket()
    s.settimeout(1)
    if s.connect_ex((fwd, port)) == 0:
        opened.append(port)
    s.close()
print("FWD-OPEN", opened)
# Its address on the ports network: no route from the agent.
for port in (61000, 61001, 53, 80):
    print("FWD-OTHER", port, tcp(fwd_other, port))
# As a proxy: plain and CONNECT, to the host's listener, on the forwarder's port...
ask = "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host_ip, host_port, host_ip, host_port)
get = "GET http://%s:%d/ HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host_ip, host_port, host_ip, host_port)
for port in (61000, 61001):
    print("FWD-CONNECT", port, tcp(fwd, port, ask.encode()))
    # ... and on the relay's, which answers only with the agent's own server.
    print("RELAY-CONNECT", port, tcp(agent_ip, port, ask.encode()))
    print("RELAY-GET", port, tcp(agent_ip, port, get.encode()))
# DNS through the forwarder, UDP and TCP.
query = bytes.fromhex("abcd01000001000000000000") + b"\x07example\x03com\x00\x00\x01\x00\x01"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
try:
    u.sendto(query, (fwd, 53))
    print("FWD-DNS-UDP answered", u.recv(512))
except OSError as e:
    print("FWD-DNS-UDP none", e.__class__.__name__)
print("FWD-DNS-TCP", tcp(fwd, 53, len(query).to_bytes(2, "big") + query))
"#;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /` at `addr`: the whole answer.
fn get(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The host's addresses other than loopback that reach it: its outbound address, the
/// default bridge's gateway and the ports network's (the host's own side of it).
fn other_host_addresses(ports_network: &str) -> Vec<String> {
    let mut out = Vec::new();
    let udp = UdpSocket::bind("0.0.0.0:0").unwrap();
    if udp.connect("192.0.2.1:9").is_ok() {
        out.push(udp.local_addr().unwrap().ip().to_string());
    }
    for net in ["bridge", ports_network] {
        let gw = docker(&[
            "network",
            "inspect",
            "--format",
            "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
            net,
        ]);
        if !gw.is_empty() {
            out.push(gw);
        }
    }
    out.retain(|a| !a.starts_with("127."));
    out.dedup();
    assert!(out.len() >= 2, "found only {out:?}");
    out
}

fn inspect(container: &str, format: &str) -> String {
    docker(&["inspect", "--format", format, container])
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn published_ports_reach_both_servers_from_loopback_only_and_nothing_leaves_through_them() {
    let e = engine::engine();
    let agent = "t-ports";
    // `-p` replaces the manifest's ports (port 9 is not published).
    let t = e.user(&format!(r#"{{"agents": {{"{agent}": {{"ports": [9]}}}}}}"#));
    let (any_port, lo_port, any6_port) = (free_port(), free_port(), free_port());
    // A host listener the agent would reach if the forwarder let anything out.
    let host_listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let host_port = host_listener.local_addr().unwrap().port();
    let knocks = Arc::new(AtomicUsize::new(0));
    let counter = knocks.clone();
    std::thread::spawn(move || {
        for _ in host_listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let report = t.dir.path().join("report.json");
    let (p_any, p_lo) = (format!("{any_port}:3000"), format!("{lo_port}:3001"));
    let p_any6 = format!("{any6_port}:3002");
    let mut bottle = Bottle::spawn(
        &t,
        &[
            "run",
            "--report",
            report.to_str().unwrap(),
            "-p",
            &p_any,
            "-p",
            &p_lo,
            "-p",
            &p_any6,
            agent,
            "--",
            "sh",
            "-c",
            SERVERS,
        ],
    );
    let agent_ctr = bottle.wait_for_attach(T);
    // bottle says each URL once its server answers; there it answers, on both loopbacks.
    for (agent_port, host_port, body) in [
        (3000, any_port, "served-on-all-addresses"),
        (3001, lo_port, "served-on-loopback-only"),
        (3002, any6_port, "served-on-all-v6-addresses"),
    ] {
        let line = bottle.wait_for(&format!("agent port {agent_port} answers at"), T);
        let url = format!("http://127.0.0.1:{host_port}");
        assert!(line.trim_end().ends_with(&url), "{line}");
        for addr in [
            SocketAddr::from(([127, 0, 0, 1], host_port)),
            SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], host_port)),
        ] {
            let answer = get(addr);
            assert!(answer.contains(body), "{addr}: {answer}");
        }
    }
    let fwd = containers(agent, "forwarder");
    let relay = containers(agent, "port-relay");
    assert!(!fwd.is_empty() && !relay.is_empty(), "{fwd:?} {relay:?}");
    let ports_net = format!("bot-bottle-ports-{}", &fwd["bot-bottle-fwd-".len()..]);
    // Not on the host's other addresses.
    for ip in other_host_addresses(&ports_net) {
        for port in [any_port, lo_port, any6_port] {
            let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
            let reached = TcpStream::connect_timeout(&addr, Duration::from_secs(2));
            assert!(reached.is_err(), "{addr} answered");
        }
    }
    // The walls of the two containers.
    for c in [&fwd, &relay] {
        let walls = inspect(
            c,
            "{{.HostConfig.CapDrop}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.SecurityOpt}}",
        );
        assert!(walls.starts_with("[ALL] true "), "{c}: {walls}");
        assert!(walls.contains("no-new-privileges"), "{c}: {walls}");
        assert!(!walls.contains(" 0 "), "{c}: unlimited: {walls}");
    }
    let nets = inspect(
        &fwd,
        "{{range $n, $_ := .NetworkSettings.Networks}}{{$n}} {{end}}",
    );
    let mut nets: Vec<String> = nets.split_whitespace().map(str::to_string).collect();
    nets.sort();
    let agent_net = format!("bot-bottle-net-{}", &ports_net["bot-bottle-ports-".len()..]);
    assert_eq!(
        nets,
        [agent_net.clone(), ports_net.clone()],
        "only the agent and ports networks"
    );
    assert_eq!(inspect(&fwd, "{{.HostConfig.Dns}}"), "[0.0.0.0]");
    assert!(inspect(&relay, "{{.HostConfig.NetworkMode}}").starts_with("container:"));
    assert_eq!(
        inspect(
            &ports_net,
            "{{index .Options \"com.docker.network.bridge.enable_ip_masquerade\"}}"
        ),
        "false"
    );
    // From inside the agent, nothing goes out through the forwarder or the relay.
    let fwd_other = inspect(
        &fwd,
        &format!("{{{{(index .NetworkSettings.Networks \"{ports_net}\").IPAddress}}}}"),
    );
    let agent_ip = inspect(
        &agent_ctr,
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
    );
    let gateway = docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
        &ports_net,
    ]);
    let (_, out) = docker_try(&[
        "exec",
        &agent_ctr,
        "python3",
        "-c",
        PROBES,
        &fwd,
        &fwd_other,
        &agent_ip,
        &gateway,
        &host_port.to_string(),
    ]);
    let line =
        |prefix: &str| -> Vec<&str> { out.lines().filter(|l| l.starts_with(prefix)).collect() };
    assert_eq!(line("FWD-OPEN"), ["FWD-OPEN []"], "{out}");
    assert_eq!(line("FWD-OTHER").len(), 4, "{out}");
    for l in line("FWD-OTHER")
        .into_iter()
        .chain(line("FWD-CONNECT"))
        .chain(line("FWD-DNS-TCP"))
    {
        assert!(l.contains("closed ("), "{l}\n{out}");
    }
    assert!(line("FWD-DNS-UDP")[0].contains(" none "), "{out}");
    // The relay answers only with the agent's own servers (python's http.server refuses
    // CONNECT with 501, and has no file for an absolute URL).
    for l in line("RELAY-CONNECT") {
        assert!(l.contains("501"), "{l}\n{out}");
    }
    for l in line("RELAY-GET") {
        assert!(l.contains("404") && l.contains("SimpleHTTP"), "{l}\n{out}");
    }
    assert_eq!(
        knocks.load(Ordering::SeqCst),
        0,
        "the host listener was reached"
    );
    // `bottle ls` shows the ports.
    let ls = t.run(&["ls"]);
    assert!(
        ls.stdout.contains(&format!("127.0.0.1:{any_port}->3000"))
            && ls.stdout.contains(&format!("127.0.0.1:{lo_port}->3001")),
        "{}",
        ls.stdout
    );
    // The forwarder killed with SIGKILL (Docker's policy leaves a `docker kill` alone):
    // bottle starts it again, and the URL answers again, still from loopback only. Three
    // times: a restarted forwarder is on both networks, and Docker lists them in
    // /etc/hosts in an order that changes from start to start (once, the forwarder took the
    // agent network's address from there and the published port answered empty).
    for restart in 1..=FORWARDER_RESTARTS {
        docker(&["kill", "--signal", "KILL", &fwd]);
        bottle.wait_for("forwarder died (exit 137); restarting it", T);
        bottle.wait_for("forwarder is back, ", T);
        let again = inspect(
            &fwd,
            &format!("{{{{(index .NetworkSettings.Networks \"{ports_net}\").IPAddress}}}}"),
        );
        assert_eq!(
            docker(&["exec", &fwd, "cat", "/tmp/bot-bottle-relay.ready"]),
            again,
            "restart {restart}: it listens on its ports-network address again, not the agent's side"
        );
        let url = SocketAddr::from(([127, 0, 0, 1], any_port));
        let answer = get(url);
        assert!(
            answer.contains("served-on-all-addresses"),
            "after restart {restart}: {answer:?}"
        );
    }
    let fwd_agent_ip = inspect(
        &fwd,
        &format!("{{{{(index .NetworkSettings.Networks \"{agent_net}\").IPAddress}}}}"),
    );
    let (_, out) = docker_try(&[
        "exec",
        &agent_ctr,
        "python3",
        "-c",
        "import socket,sys\nfor p in (61000,61001,61002):\n s=socket.socket(); s.settimeout(2)\n print(p, s.connect_ex((sys.argv[1], p)))",
        &fwd_agent_ip,
    ]);
    assert_eq!(
        out.lines().filter(|l| l.ends_with(" 0")).count(),
        0,
        "{out}"
    );
    // The port relay too: it comes back in the agent's network namespace (its address is
    // the agent's), and the server on the agent's loopback answers again.
    docker(&["kill", "--signal", "KILL", &relay]);
    bottle.wait_for("port-relay is back, ", T);
    assert_eq!(
        docker(&["exec", &relay, "cat", "/tmp/bot-bottle-relay.ready"]),
        agent_ip
    );
    let url = SocketAddr::from(([127, 0, 0, 1], lo_port));
    assert!(
        get(url).contains("served-on-loopback-only"),
        "after the relay's restart"
    );
    docker(&["exec", &agent_ctr, "touch", "/tmp/done"]);
    let (code, _, stderr) = bottle.finish(T);
    assert_eq!(code, 0, "{stderr}");
    // The report: both ports, the bytes each way of the four GETs (and the relay
    // probes, which came from inside and are not the forwarder's).
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(
        json_schema::check(&schema(), &report).is_empty(),
        "{report:#}"
    );
    let ports = report["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 3, "{report:#}");
    for p in ports {
        assert!(p["connections"].as_u64().unwrap() >= 2, "{p}");
        assert!(p["bytes_to_agent"].as_u64().unwrap() >= 2 * 30, "{p}");
        assert!(p["bytes_from_agent"].as_u64().unwrap() >= 2 * 100, "{p}");
    }
    assert!(
        stderr.contains("published port 3000 (http://127.0.0.1:"),
        "{stderr}"
    );
    // The restarts, by bottle, each ready again.
    let restarts = report["restarts"].as_array().unwrap();
    let roles = std::iter::repeat_n("forwarder", FORWARDER_RESTARTS).chain(["port-relay"]);
    assert_eq!(restarts.len(), FORWARDER_RESTARTS + 1, "{report:#}");
    for (r, role) in restarts.iter().zip(roles) {
        assert_eq!(
            (
                r["role"].as_str(),
                r["exit_code"].as_i64(),
                r["restarted_by"].as_str()
            ),
            (Some(role), Some(137), Some("bottle")),
            "{r}"
        );
        assert!(r["back_after_seconds"].as_f64().is_some(), "{r}");
    }
    assert!(leftovers(agent).is_empty(), "{:?}", leftovers(agent));
}
