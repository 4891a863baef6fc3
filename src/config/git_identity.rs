//! `GitIdentity`: the bottle's `git` settings, the author name and email the agent's
//! commits carry, and the push policy (`git_push`). Pure.

use crate::config::git_push::{self, PushPolicy};
use crate::config::manifest::GitSpec;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitIdentity {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Which refs a push may update; None = any (the allowlist alone decides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushPolicy>,
}

impl GitIdentity {
    /// Checks the bottle's `git` object. An error is `(path under git, message)`.
    pub fn from_spec(spec: &GitSpec) -> Result<GitIdentity, (String, String)> {
        for (field, value) in [("name", &spec.name), ("email", &spec.email)] {
            if let Some(v) = value
                && (v.trim().is_empty() || v.contains(['\n', '\r', '\0']))
            {
                return Err((
                    format!(".{field}"),
                    format!("the git {field} may not be empty or hold a newline or NUL"),
                ));
            }
        }
        if let Some(email) = &spec.email
            && (!email.contains('@') || email.contains(['<', '>']))
        {
            return Err((
                ".email".into(),
                format!("`{email}` is not an email address like a@example.com"),
            ));
        }
        let push = spec.push.as_ref().map(git_push::from_value).transpose()?;
        Ok(GitIdentity {
            name: spec.name.clone(),
            email: spec.email.clone(),
            push,
        })
    }
}
