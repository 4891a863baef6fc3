//! `AddonPolicy`: the part of the addon config that narrows what allowed hosts are open to:
//! the per-host method and path rules (`rules`) and the git push policy (`git_push`), each
//! labelled with where the manifest writes it so the addon's refusals can name it. Rendered
//! into the addon config (absent keys when there is none, docs/addon.md) and hashed for the
//! exit report. Pure.

use crate::config::egress_rules::EgressRule;
use crate::config::git_push::PushPolicy;
use crate::digest::sha256_hex;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AddonPolicy {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<AddonRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_push: Option<AddonPush>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddonRule {
    /// Where the rule is written (`egress.rules[0]`), for the addon's refusals.
    pub rule: String,
    pub host: String,
    pub methods: Vec<String>,
    pub paths: Vec<String>,
    pub ignore_case: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddonPush {
    /// Where the policy is written (`git.push`).
    pub rule: String,
    pub refs: Vec<String>,
    pub delete: bool,
}

/// The policy as the exit report hashes it: both keys always present.
#[derive(Serialize)]
struct Hashed<'a> {
    rules: &'a [AddonRule],
    git_push: &'a Option<AddonPush>,
}

impl AddonPolicy {
    pub fn new(rules: &[EgressRule], push: Option<&PushPolicy>) -> AddonPolicy {
        AddonPolicy {
            rules: rules
                .iter()
                .enumerate()
                .map(|(i, r)| AddonRule {
                    rule: format!("egress.rules[{i}]"),
                    host: r.host.clone(),
                    methods: r.methods.clone(),
                    paths: r.paths.clone(),
                    ignore_case: r.ignore_case,
                })
                .collect(),
            git_push: push.map(|p| AddonPush {
                rule: "git.push".into(),
                refs: p.refs.clone(),
                delete: p.delete,
            }),
        }
    }

    /// SHA-256 (hex) of `{"rules":[…],"git_push":…}` as rendered into the addon config: which
    /// rules the traffic ran under (the same for the same rules, whatever the launch).
    pub fn sha256(&self) -> String {
        let hashed = Hashed {
            rules: &self.rules,
            git_push: &self.git_push,
        };
        sha256_hex(
            serde_json::to_string(&hashed)
                .expect("plain data serializes")
                .as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_changes_with_any_rule_and_not_otherwise() {
        let rule = |m: &str| EgressRule {
            host: "api.github.com".into(),
            methods: vec![m.into()],
            paths: vec!["/**".into()],
            ignore_case: false,
        };
        let push = PushPolicy {
            refs: vec!["refs/heads/agent/*".into()],
            delete: false,
        };
        let none = AddonPolicy::new(&[], None).sha256();
        let get = AddonPolicy::new(&[rule("GET")], Some(&push)).sha256();
        assert_eq!(get, AddonPolicy::new(&[rule("GET")], Some(&push)).sha256());
        assert_ne!(get, none);
        assert_ne!(get, AddonPolicy::new(&[rule("POST")], Some(&push)).sha256());
        assert_ne!(get, AddonPolicy::new(&[rule("GET")], None).sha256());
        let deleting = PushPolicy {
            delete: true,
            ..push.clone()
        };
        assert_ne!(
            get,
            AddonPolicy::new(&[rule("GET")], Some(&deleting)).sha256()
        );
    }

    #[test]
    fn no_policy_hashes_as_documented() {
        assert_eq!(
            AddonPolicy::default().sha256(),
            sha256_hex(br#"{"rules":[],"git_push":null}"#)
        );
    }

    #[test]
    fn no_policy_renders_no_keys() {
        let json = serde_json::to_string(&AddonPolicy::default()).unwrap();
        assert_eq!(json, "{}");
    }
}
