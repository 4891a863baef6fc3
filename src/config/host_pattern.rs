//! Egress allowlist entries: a hostname or `*.domain`, checked and normalised. Pure.

/// Checks one allowlist entry and returns it lower-cased; the error says what is wrong and
/// what is accepted.
pub fn normalize(entry: &str) -> Result<String, String> {
    const ACCEPTED: &str =
        "expected a hostname like api.example.com or a wildcard like *.example.com";
    let lower = entry.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return Err(format!("empty entry; {ACCEPTED}"));
    }
    if lower.contains("://") {
        return Err(format!("`{entry}` has a URL scheme; {ACCEPTED}"));
    }
    if lower.contains('/') {
        return Err(format!("`{entry}` has a path; {ACCEPTED}"));
    }
    if lower.contains(':') {
        return Err(format!(
            "`{entry}` has a port (pipelock allows hosts, on any port); {ACCEPTED}"
        ));
    }
    if lower == "*" {
        return Err(format!(
            "a bare `*` would allow every host and defeat the bottle; {ACCEPTED}"
        ));
    }
    let domain = lower.strip_prefix("*.").unwrap_or(&lower);
    if domain.contains('*') {
        return Err(format!(
            "`{entry}`: a wildcard is accepted only as the whole first label (`*.example.com`); {ACCEPTED}"
        ));
    }
    check_hostname(domain).map_err(|why| format!("`{entry}`: {why}; {ACCEPTED}"))?;
    if !lower.starts_with("*.") && !domain.contains('.') {
        return Err(format!(
            "`{entry}` is a single label: a name without a dot is a container or a machine of the local network, which a bottle never reaches (mitmproxy refuses such targets); use the host's full name"
        ));
    }
    Ok(lower)
}

/// An IP address or a CIDR range (`10.0.0.5`, `10.0.0.0/8`, `fd00::1`), or a dotted
/// all-digit name a resolver would read as one.
pub fn is_address(entry: &str) -> bool {
    let entry = entry.trim();
    let base = entry.split_once('/').map_or(entry, |(ip, _)| ip);
    base.trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .is_ok()
        || (!base.is_empty()
            && base
                .split('.')
                .all(|l| l.chars().all(|c| c.is_ascii_digit())))
}

/// Whether the allowlist entry `pattern` admits every host `entry` names: `entry` itself,
/// or (for `*.domain` entries) a subdomain or the apex of `domain`, pipelock's rule.
pub fn covers(pattern: &str, entry: &str) -> bool {
    let (p, e) = (pattern.to_ascii_lowercase(), entry.to_ascii_lowercase());
    if p == e {
        return true;
    }
    let Some(domain) = p.strip_prefix("*.") else {
        return false;
    };
    let host = e.strip_prefix("*.").unwrap_or(&e);
    host == domain || host.ends_with(&format!(".{domain}"))
}

fn check_hostname(host: &str) -> Result<(), String> {
    if host.len() > 253 {
        return Err("longer than 253 characters".into());
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("empty label (a leading, trailing or doubled dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("label `{label}` is longer than 63 characters"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!(
                "label `{label}` may hold only letters, digits and `-`"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{covers, is_address, normalize};

    #[test]
    fn accepts_hosts_and_leading_wildcards() {
        assert_eq!(normalize("API.Example.com").unwrap(), "api.example.com");
        assert_eq!(normalize("*.example.com").unwrap(), "*.example.com");
        assert!(normalize("localhost").unwrap_err().contains("single label"));
        assert_eq!(normalize("*.corp").unwrap(), "*.corp");
    }

    #[test]
    fn wildcards_cover_subdomains_and_the_apex_only() {
        assert!(covers("*.example.com", "example.com"));
        assert!(covers("*.example.com", "a.b.example.com"));
        assert!(covers("*.example.com", "*.b.example.com"));
        assert!(covers("api.example.com", "API.example.com"));
        assert!(!covers("api.example.com", "example.com"));
        assert!(!covers("*.example.com", "badexample.com"));
        assert!(!covers("example.com", "*.example.com"));
    }

    #[test]
    fn addresses_are_told_apart_from_names() {
        for ip in ["10.0.0.5", "10.0.0.0/8", "fd00::1", "[fd00::1]", "127.1"] {
            assert!(is_address(ip), "{ip}");
        }
        for name in ["git.internal", "10x.example", "a1.b2"] {
            assert!(!is_address(name), "{name}");
        }
    }

    #[test]
    fn rejects_what_pipelock_would_misread() {
        for bad in [
            "https://x.com",
            "x.com/a",
            "x.com:443",
            "*",
            "a.*.com",
            "*x.com",
            "x..com",
            ".x.com",
            "x.com.",
            "-x.com",
            "x_y.com",
            "",
            "**.x.com",
        ] {
            assert!(normalize(bad).is_err(), "{bad} should be rejected");
        }
    }
}
