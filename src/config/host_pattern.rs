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
    Ok(lower)
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
    use super::normalize;

    #[test]
    fn accepts_hosts_and_leading_wildcards() {
        assert_eq!(normalize("API.Example.com").unwrap(), "api.example.com");
        assert_eq!(normalize("*.example.com").unwrap(), "*.example.com");
        assert_eq!(normalize("localhost").unwrap(), "localhost");
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
