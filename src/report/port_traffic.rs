//! `PortTraffic`: what went through each published port (`bottle run -p`), read back from
//! the forwarder's output (one JSON line per connection closed, `port_relay.py`): the
//! connections and the bytes each way, for the exit report. Pure.

use crate::plan::bottle_plan::PortsPlan;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortTraffic {
    pub agent_port: u16,
    pub host_port: u16,
    pub url: String,
    /// Connections the forwarder carried to the agent's server (the ones it refused, while
    /// nothing listened, are not counted).
    pub connections: u64,
    /// Bytes from the host to the agent's server.
    pub bytes_to_agent: u64,
    /// Bytes from the agent's server to the host.
    pub bytes_from_agent: u64,
}

/// One line of the forwarder's output.
#[derive(Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    listen: u16,
    #[serde(default)]
    bytes_in: u64,
    #[serde(default)]
    bytes_out: u64,
}

impl PortTraffic {
    /// Every published port (zeros where nothing went through), from the forwarder's
    /// `log`; lines that are not its events are skipped.
    pub fn of(ports: &PortsPlan, log: &str) -> Vec<PortTraffic> {
        let mut out: Vec<PortTraffic> = ports
            .published
            .iter()
            .map(|p| PortTraffic {
                agent_port: p.agent_port,
                host_port: p.host_port,
                url: p.url.clone(),
                connections: 0,
                bytes_to_agent: 0,
                bytes_from_agent: 0,
            })
            .collect();
        for line in log.lines() {
            let Ok(e) = serde_json::from_str::<Event>(line) else {
                continue;
            };
            let at = ports
                .published
                .iter()
                .position(|p| p.relay_port == e.listen);
            if let (true, Some(i)) = (e.event == "connection", at) {
                out[i].connections += 1;
                out[i].bytes_to_agent += e.bytes_in;
                out[i].bytes_from_agent += e.bytes_out;
            }
        }
        out
    }

    /// `port 3000 (http://127.0.0.1:3000): 2 connection(s), 157 B in, 684 B out`.
    pub fn render(&self) -> String {
        format!(
            "port {} ({}): {} connection(s), {} B to the agent, {} B back",
            self.agent_port, self.url, self.connections, self.bytes_to_agent, self.bytes_from_agent
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::bottle_plan::PortPlan;

    #[test]
    fn sums_each_ports_connections_and_skips_what_is_not_an_event() {
        let plan = PortsPlan {
            forwarder: "f".into(),
            relay: "r".into(),
            loopback_v6: false,
            published: vec![
                PortPlan {
                    agent_port: 3000,
                    host_port: 3000,
                    relay_port: 61000,
                    url: "http://127.0.0.1:3000".into(),
                },
                PortPlan {
                    agent_port: 5173,
                    host_port: 8080,
                    relay_port: 61001,
                    url: "http://127.0.0.1:8080".into(),
                },
            ],
        };
        let log = r#"{"event": "listening", "role": "forwarder", "address": "172.19.0.2", "listen": 61000, "targets": "61000"}
{"event": "connection", "listen": 61000, "bytes_in": 79, "bytes_out": 342}
Traceback (most recent call last):
{"event": "connection", "listen": 61000, "bytes_in": 78, "bytes_out": 342}
{"event": "connection", "listen": 61999, "bytes_in": 1, "bytes_out": 1}
{"event": "connection", "listen": 61001
"#;
        let t = PortTraffic::of(&plan, log);
        assert_eq!(
            (t[0].connections, t[0].bytes_to_agent, t[0].bytes_from_agent),
            (2, 157, 684)
        );
        assert_eq!((t[1].connections, t[1].host_port), (0, 8080));
        assert_eq!(
            t[0].render(),
            "port 3000 (http://127.0.0.1:3000): 2 connection(s), 157 B to the agent, 684 B back"
        );
    }
}
