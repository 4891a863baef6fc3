//! `Names`: the names and labels of one launch's resources, all derived from the agent
//! and the launch id (`bot-bottle-<kind>-<agent>-<8 hex>`). Pure.

use crate::plan::role::Labels;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    pub bottle_id: String,
    /// `<agent>-<first 8 hex digits of the launch id>`.
    pub slug: String,
    /// The agent container's planned name (`--name`, else `bot-bottle-<slug>`).
    pub agent: String,
    pub agent_pinned: bool,
    pub pipelock: String,
    pub mitmproxy: String,
    pub net_agent: String,
    pub net_proxy: String,
    pub net_egress: String,
    pub labels: Labels,
}

impl Names {
    pub fn new(agent: &str, launch_id: &str, pinned: Option<&str>, uid: u32) -> Names {
        let slug = format!("{}-{}", agent.to_ascii_lowercase(), &launch_id[..8]);
        Names {
            bottle_id: launch_id.to_string(),
            agent: pinned
                .map(str::to_string)
                .unwrap_or_else(|| format!("bot-bottle-{slug}")),
            agent_pinned: pinned.is_some(),
            pipelock: format!("bot-bottle-pipelock-{slug}"),
            mitmproxy: format!("bot-bottle-mitm-{slug}"),
            net_agent: format!("bot-bottle-net-{slug}"),
            net_proxy: format!("bot-bottle-proxy-{slug}"),
            net_egress: format!("bot-bottle-egress-{slug}"),
            labels: Labels {
                bottle_id: launch_id.to_string(),
                agent: agent.to_string(),
                uid,
            },
            slug,
        }
    }
}
