//! Which image each role uses and why: a flag, a `BOT_BOTTLE_*_IMAGE` variable, the set the
//! Nix app provides, or nothing yet. Pure: it reads the host snapshot's environment.

use serde::Serialize;
use std::collections::BTreeMap;

/// The three images of a bottle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageRole {
    Agent,
    Pipelock,
    Mitmproxy,
}

impl ImageRole {
    pub const ALL: [ImageRole; 3] = [ImageRole::Agent, ImageRole::Pipelock, ImageRole::Mitmproxy];

    pub fn name(self) -> &'static str {
        match self {
            ImageRole::Agent => "agent",
            ImageRole::Pipelock => "pipelock",
            ImageRole::Mitmproxy => "mitmproxy",
        }
    }

    pub fn flag(self) -> &'static str {
        match self {
            ImageRole::Agent => "--agent-image",
            ImageRole::Pipelock => "--pipelock-image",
            ImageRole::Mitmproxy => "--mitmproxy-image",
        }
    }

    /// The user's override.
    pub fn env_var(self) -> &'static str {
        match self {
            ImageRole::Agent => "BOT_BOTTLE_AGENT_IMAGE",
            ImageRole::Pipelock => "BOT_BOTTLE_PIPELOCK_IMAGE",
            ImageRole::Mitmproxy => "BOT_BOTTLE_MITMPROXY_IMAGE",
        }
    }

    /// Set by the Nix app wrapper: the pinned `name:tag`.
    pub fn nix_image_var(self) -> &'static str {
        match self {
            ImageRole::Agent => "BOT_BOTTLE_NIX_AGENT_IMAGE",
            ImageRole::Pipelock => "BOT_BOTTLE_NIX_PIPELOCK_IMAGE",
            ImageRole::Mitmproxy => "BOT_BOTTLE_NIX_MITMPROXY_IMAGE",
        }
    }

    /// Set by the Nix app wrapper: the script that streams the image as a docker-archive.
    pub fn nix_stream_var(self) -> &'static str {
        match self {
            ImageRole::Agent => "BOT_BOTTLE_NIX_AGENT_STREAM",
            ImageRole::Pipelock => "BOT_BOTTLE_NIX_PIPELOCK_STREAM",
            ImageRole::Mitmproxy => "BOT_BOTTLE_NIX_MITMPROXY_STREAM",
        }
    }

    pub fn parse(s: &str) -> Option<ImageRole> {
        ImageRole::ALL.into_iter().find(|r| r.name() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ImageSource {
    Flag {
        flag: String,
    },
    Env {
        var: String,
    },
    /// The image set of the Nix app; `stream` writes the docker-archive when it is not loaded.
    Nix {
        var: String,
        stream: Option<String>,
    },
    /// Nothing chose an image; a launch stops with advice before touching Docker.
    Unset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    pub role: ImageRole,
    /// The reference passed to docker; empty when unset.
    pub reference: String,
    pub source: ImageSource,
}

impl ImageRef {
    /// Flag, then `BOT_BOTTLE_*_IMAGE`, then the Nix app's pinned image.
    pub fn resolve(
        role: ImageRole,
        flag: Option<&str>,
        env: &BTreeMap<String, String>,
    ) -> ImageRef {
        let nonempty = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let (reference, source) = if let Some(f) = flag.filter(|f| !f.is_empty()) {
            (
                f.to_string(),
                ImageSource::Flag {
                    flag: role.flag().into(),
                },
            )
        } else if let Some(v) = nonempty(role.env_var()) {
            (
                v,
                ImageSource::Env {
                    var: role.env_var().into(),
                },
            )
        } else if let Some(v) = nonempty(role.nix_image_var()) {
            (
                v,
                ImageSource::Nix {
                    var: role.nix_image_var().into(),
                    stream: nonempty(role.nix_stream_var()),
                },
            )
        } else {
            (String::new(), ImageSource::Unset)
        };
        ImageRef {
            role,
            reference,
            source,
        }
    }

    /// The reference shown in argv; an unset image shows as `<agent image>` so the plan
    /// still reads, while a launch refuses it.
    pub fn arg(&self) -> String {
        if self.reference.is_empty() {
            format!("<{} image>", self.role.name())
        } else {
            self.reference.clone()
        }
    }

    /// `docker image inspect` of the reference (exit 0 when Docker has it).
    pub fn inspect_args(&self) -> Vec<String> {
        inspect_args(&self.arg())
    }

    pub fn is_set(&self) -> bool {
        !self.reference.is_empty()
    }

    /// What to tell a user whose image is unset.
    pub fn advice(&self) -> String {
        format!(
            "no {role} image is set: run bottle through `nix run .#bottle -- …` (it provides pinned images), or pass {flag} IMAGE, or set {var}=IMAGE",
            role = self.role.name(),
            flag = self.role.flag(),
            var = self.role.env_var()
        )
    }
}

/// `docker image inspect` of `reference` (exit 0 when Docker has it).
pub fn inspect_args(reference: &str) -> Vec<String> {
    ["image", "inspect", "--format", "{{.Id}}", reference]
        .into_iter()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_beats_nix() {
        let env = BTreeMap::from([
            ("BOT_BOTTLE_AGENT_IMAGE".to_string(), "user:1".to_string()),
            (
                "BOT_BOTTLE_NIX_AGENT_IMAGE".to_string(),
                "nix:2".to_string(),
            ),
            (
                "BOT_BOTTLE_NIX_PIPELOCK_IMAGE".to_string(),
                "nix:3".to_string(),
            ),
        ]);
        assert_eq!(
            ImageRef::resolve(ImageRole::Agent, Some("f:0"), &env).reference,
            "f:0"
        );
        assert_eq!(
            ImageRef::resolve(ImageRole::Agent, None, &env).reference,
            "user:1"
        );
        let p = ImageRef::resolve(ImageRole::Pipelock, None, &env);
        assert_eq!(p.reference, "nix:3");
        assert!(matches!(p.source, ImageSource::Nix { stream: None, .. }));
        assert!(!ImageRef::resolve(ImageRole::Mitmproxy, None, &env).is_set());
    }
}
