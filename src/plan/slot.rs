//! `Slot`: a value only the launch knows (the agent's name after a retry, the env-file
//! path, mitmproxy's host entry, whether there is a terminal, the bottle's CA), which the
//! plan's commands name and the launch fills; and `SlotValues`, the filled ones. Pure.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// The agent container's name: planned, or `-2` … after a name conflict.
    AgentName,
    /// The path of the 0600 env-file holding the bottle's literal values.
    EnvFile,
    /// `name:address` of mitmproxy on the agent network, for the agent's hosts entry.
    MitmHostEntry,
    /// `--tty` when bottle's stdin and stdout are a terminal, else empty (left out).
    Tty,
    /// The bottle's CA certificate (PEM), made by bottle before the launch and checked.
    CaCertificate,
    /// `-p`: the agent's address on its network, as the port relay found it.
    AgentAddress,
}

impl Slot {
    pub const ALL: [Slot; 6] = [
        Slot::AgentName,
        Slot::EnvFile,
        Slot::MitmHostEntry,
        Slot::Tty,
        Slot::CaCertificate,
        Slot::AgentAddress,
    ];

    /// How the slot reads in a plan before the launch fills it.
    pub fn placeholder(self) -> &'static str {
        match self {
            Slot::AgentName => "<agent-name>",
            Slot::EnvFile => "<env-file>",
            Slot::MitmHostEntry => "<mitmproxy-name:address>",
            Slot::Tty => "[--tty]",
            Slot::CaCertificate => "(the CA certificate)",
            Slot::AgentAddress => "<agent-address>",
        }
    }
}

/// The slots filled so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotValues {
    values: BTreeMap<Slot, String>,
}

impl SlotValues {
    pub fn with(mut self, slot: Slot, value: impl Into<String>) -> SlotValues {
        self.set(slot, value);
        self
    }

    pub fn set(&mut self, slot: Slot, value: impl Into<String>) {
        self.values.insert(slot, value.into());
    }

    pub fn get(&self, slot: Slot) -> Option<&str> {
        self.values.get(&slot).map(String::as_str)
    }

    /// `text` with every placeholder of a filled slot replaced by its value.
    pub fn fill_text(&self, text: &str) -> String {
        self.values
            .iter()
            .fold(text.to_string(), |t, (slot, value)| {
                t.replace(slot.placeholder(), value)
            })
    }
}
