//! The agent's `~/.gitconfig`: the bottle's git identity; and for every host a Basic
//! credential (git over HTTPS) is bound to (by name, not `*.` patterns), ssh-style remotes
//! rewritten to HTTPS and a helper that gives git the credential's placeholder, which
//! mitmproxy swaps for the real value. Nothing secret is in it. Pure.

use crate::config::credential::{Credential, Scheme};
use crate::config::git_identity::GitIdentity;
use std::fmt::Write;

/// The file's text, or `None` when there is nothing to configure.
pub(crate) fn git_config(identity: &GitIdentity, credentials: &[Credential]) -> Option<String> {
    let mut out = String::new();
    if identity.name.is_some() || identity.email.is_some() {
        out.push_str("[user]\n");
        if let Some(name) = &identity.name {
            let _ = writeln!(out, "\tname = {}", quote(name));
        }
        if let Some(email) = &identity.email {
            let _ = writeln!(out, "\temail = {}", quote(email));
        }
    }
    for cred in credentials {
        let Scheme::Basic { username } = &cred.scheme else {
            continue;
        };
        if !cred.header.eq_ignore_ascii_case("authorization") {
            continue;
        }
        for host in cred.hosts.iter().filter(|h| !h.starts_with("*.")) {
            let _ = writeln!(out, "[url \"https://{host}/\"]");
            for from in [format!("git@{host}:"), format!("ssh://git@{host}/")] {
                let _ = writeln!(out, "\tinsteadOf = {from}");
                let _ = writeln!(out, "\tpushInsteadOf = {from}");
            }
            let _ = writeln!(out, "[credential \"https://{host}\"]");
            let _ = writeln!(out, "\tusername = {}", quote(username));
            // git asks its helpers in order; an empty entry drops any set before (a
            // store or a cache would only ever hold the placeholder anyway).
            let _ = writeln!(out, "\thelper =");
            let _ = writeln!(
                out,
                "\thelper = {}",
                quote(&format!(
                    "!f() {{ test \"$1\" = get && echo password={}; }}; f",
                    cred.placeholder()
                ))
            );
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A git config value in double quotes, `\` and `"` escaped.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::credential::ValueSource;

    fn cred(name: &str, hosts: &[&str], scheme: Scheme) -> Credential {
        Credential {
            name: name.into(),
            source: ValueSource::Host { var: "X".into() },
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            header: "Authorization".into(),
            scheme,
        }
    }

    #[test]
    fn identity_remotes_and_placeholders() {
        let text = git_config(
            &GitIdentity {
                name: Some("Ada \"the\" Bot".into()),
                email: Some("ada@example.com".into()),
                push: None,
            },
            &[
                cred(
                    "GIT_TOKEN",
                    &["git.example.com", "*.example.org"],
                    Scheme::Basic {
                        username: "x-access-token".into(),
                    },
                ),
                cred("API_TOKEN", &["api.example.com"], Scheme::Bearer),
            ],
        )
        .unwrap();
        assert!(
            text.contains("\tname = \"Ada \\\"the\\\" Bot\"\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "[url \"https://git.example.com/\"]\n\tinsteadOf = git@git.example.com:\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\tpushInsteadOf = ssh://git@git.example.com/\n"),
            "{text}"
        );
        assert!(
            text.contains("echo password=bot-bottle-placeholder-GIT_TOKEN;"),
            "{text}"
        );
        assert!(
            !text.contains("api.example.com"),
            "Bearer credentials are not git's: {text}"
        );
        assert!(
            !text.contains("example.org"),
            "no rewrite for a wildcard host: {text}"
        );
        assert_eq!(git_config(&GitIdentity::default(), &[]), None);
    }
}
