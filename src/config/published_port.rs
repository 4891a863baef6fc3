//! `PublishedPort`: a port the agent listens on, opened on the host's loopback
//! (`bottle run -p [HOST_PORT:]AGENT_PORT`, or an agent's `ports` in the manifest), and
//! the strict reading of the list: numbers in range, no port twice, none in the range
//! the relay inside the agent uses, at most [`MAX_PORTS`]. Pure.

use serde::Serialize;

/// At most this many ports per bottle (each costs a relay port inside the agent).
pub const MAX_PORTS: usize = 16;
/// The relay inside the agent's network namespace listens on `RELAY_BASE + i` for the
/// i-th port (above Linux's ephemeral range, 32768–60999, so no client socket of the
/// agent's takes one first); the agent may not publish these itself.
pub const RELAY_BASE: u16 = 61000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PublishedPort {
    /// The port on the host's loopback (`127.0.0.1`, and `::1` where the host has it).
    pub host: u16,
    /// The port the agent's server listens on inside its container.
    pub agent: u16,
}

impl PublishedPort {
    /// `AGENT_PORT` (the same port on the host) or `HOST_PORT:AGENT_PORT`; `Err` says
    /// what is wrong.
    pub fn parse(text: &str) -> Result<PublishedPort, String> {
        let (host, agent) = match text.split_once(':') {
            Some((h, a)) => (h, a),
            None => (text, text),
        };
        let agent = port(agent, "the agent port", text)?;
        let host = port(host, "the host port", text)?;
        if (RELAY_BASE..RELAY_BASE + MAX_PORTS as u16).contains(&agent) {
            return Err(format!(
                "`{text}`: agent ports {RELAY_BASE}–{} are the port relay's own inside the agent; have the server listen on another port",
                RELAY_BASE + MAX_PORTS as u16 - 1
            ));
        }
        Ok(PublishedPort { host, agent })
    }

    /// A manifest entry: a string as for `parse`, or a plain port number.
    pub fn from_json(value: &serde_json::Value) -> Result<PublishedPort, String> {
        match value {
            serde_json::Value::String(s) => PublishedPort::parse(s),
            serde_json::Value::Number(n) => PublishedPort::parse(&n.to_string()),
            other => Err(format!(
                "expected \"AGENT_PORT\", \"HOST_PORT:AGENT_PORT\" or a port number, found {other}"
            )),
        }
    }

    /// `http://127.0.0.1:HOST_PORT`, where the host opens it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.host)
    }
}

/// Checks a whole list (`what(i)` names entry `i` in errors): `Err((i, message))` for the
/// first bad entry. No host port twice (one socket each), no agent port twice (say it once).
pub fn check_list(ports: &[PublishedPort]) -> Result<(), (usize, String)> {
    if ports.len() > MAX_PORTS {
        return Err((
            MAX_PORTS,
            format!("at most {MAX_PORTS} ports, found {}", ports.len()),
        ));
    }
    for (i, p) in ports.iter().enumerate() {
        if let Some(first) = ports[..i].iter().find(|q| q.host == p.host) {
            return Err((
                i,
                format!(
                    "host port {} is published twice (also for agent port {})",
                    p.host, first.agent
                ),
            ));
        }
        if ports[..i].iter().any(|q| q.agent == p.agent) {
            return Err((i, format!("agent port {} is published twice", p.agent)));
        }
    }
    Ok(())
}

fn port(text: &str, what: &str, whole: &str) -> Result<u16, String> {
    let digits = !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u32>() {
        Ok(n) if digits && (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(format!(
            "`{whole}`: {what} must be a number from 1 to 65535 (`[HOST_PORT:]AGENT_PORT`, e.g. `3000` or `8080:3000`)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_or_two_ports_and_refuses_everything_else() {
        assert_eq!(
            PublishedPort::parse("3000"),
            Ok(PublishedPort {
                host: 3000,
                agent: 3000
            })
        );
        assert_eq!(
            PublishedPort::parse("8080:3000"),
            Ok(PublishedPort {
                host: 8080,
                agent: 3000
            })
        );
        for bad in [
            "",
            "0",
            "65536",
            "99999999",
            "-1",
            "+80",
            "80:",
            ":80",
            "a",
            "1:2:3",
            "3000/tcp",
            "127.0.0.1:80:80",
            " 80",
            "61000",
            "8080:61015",
            "080000",
        ] {
            assert!(PublishedPort::parse(bad).is_err(), "{bad}");
        }
        assert!(PublishedPort::parse("8080:61016").is_ok());
        assert!(PublishedPort::parse("65535:1").is_ok());
        let json = |t: &str| PublishedPort::from_json(&serde_json::from_str(t).unwrap());
        assert_eq!(json("5173").unwrap().agent, 5173);
        assert_eq!(json("\"9000:5173\"").unwrap().host, 9000);
        for bad in ["5173.5", "-2", "true", "null", "[3000]", "{}", "70000"] {
            assert!(json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_list_has_no_port_twice_and_at_most_sixteen() {
        let p = |h, a| PublishedPort { host: h, agent: a };
        assert!(check_list(&[p(3000, 3000), p(3001, 5173)]).is_ok());
        let (i, m) = check_list(&[p(3000, 3000), p(3000, 5173)]).unwrap_err();
        assert_eq!(i, 1);
        assert!(m.contains("host port 3000"), "{m}");
        let (i, m) = check_list(&[p(1, 3000), p(2, 4000), p(3, 3000)]).unwrap_err();
        assert_eq!(i, 2);
        assert!(m.contains("agent port 3000"), "{m}");
        let many: Vec<_> = (1..=17).map(|n| p(n, n)).collect();
        assert!(check_list(&many[..16]).is_ok());
        assert!(check_list(&many).unwrap_err().1.contains("at most 16"));
    }
}
