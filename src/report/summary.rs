//! `Summary`: a bottle's requests counted: in all, per host (allowed, blocked, failed,
//! bytes up and down), blocks by reason, and the hosts blocked most; and its few lines
//! for stderr at the end of `bottle run`. Pure.

use crate::report::request_log::{RequestLine, Verdict};
use crate::table::Table;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many hosts "blocked most" names.
const TOP_BLOCKED: usize = 5;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub requests: u64,
    pub allowed: u64,
    /// Blocked by pipelock.
    pub blocked: u64,
    /// Refused by bot-bottle (the addon).
    pub refused: u64,
    pub failed: u64,
    /// Request body bytes the origins received.
    pub bytes_up: u64,
    /// Response body bytes the agent received.
    pub bytes_down: u64,
}

impl Counts {
    fn add(&mut self, line: &RequestLine) {
        self.requests += 1;
        match line.verdict {
            Verdict::Allowed => self.allowed += 1,
            Verdict::Blocked => self.blocked += 1,
            Verdict::Refused => self.refused += 1,
            Verdict::Failed => self.failed += 1,
        }
        self.bytes_up += line.bytes_up;
        self.bytes_down += line.bytes_down;
    }

    /// Blocked by pipelock or refused by bot-bottle.
    pub fn blocks(&self) -> u64 {
        self.blocked + self.refused
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostCounts {
    pub host: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// `pipelock` or `bot-bottle`.
    pub by: String,
    pub reason_code: String,
    pub count: u64,
    /// The first reason text seen with this code.
    pub example: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockedHost {
    pub host: String,
    pub blocks: u64,
}

/// One lane's requests (`model` or `web`), what was redacted from them and what the
/// provider's servers were allowed to reach for them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LaneCounts {
    #[serde(flatten)]
    pub counts: Counts,
    /// Redactions by class, summed over the lane's requests.
    pub redactions: BTreeMap<String, u64>,
    /// Server-side egress used (`web_search`, `mcp:<host>`, …): how many requests used it.
    pub server_egress: BTreeMap<String, u64>,
}

impl LaneCounts {
    fn add(&mut self, line: &RequestLine) {
        self.counts.add(line);
        for (class, n) in &line.redactions {
            *self.redactions.entry(class.clone()).or_default() += n;
        }
        for what in &line.server_egress {
            *self.server_egress.entry(what.clone()).or_default() += 1;
        }
    }

    /// `model lane: 12 request(s), 1 refused; redacted aws-secret-key 2; server egress: none`.
    fn render(&self, lane: &str) -> String {
        let c = &self.counts;
        let list = |m: &BTreeMap<String, u64>| {
            if m.is_empty() {
                "none".to_string()
            } else {
                m.iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        format!(
            "{lane} lane: {} request(s), {} blocked, {} refused; redacted: {}; server egress used: {}\n",
            c.requests,
            c.blocked,
            c.refused,
            list(&self.redactions),
            list(&self.server_egress)
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: Counts,
    /// By lane: `model` and `web` (a line without a lane is the web's), both always there.
    pub lanes: BTreeMap<String, LaneCounts>,
    /// Most requests first, then by name.
    pub hosts: Vec<HostCounts>,
    /// Blocks and refusals by who and why, most first.
    pub reasons: Vec<ReasonCount>,
    /// The hosts with the most blocks and refusals, most first (at most 5).
    pub blocked_most: Vec<BlockedHost>,
}

impl Summary {
    pub fn of(lines: &[RequestLine]) -> Summary {
        let mut total = Counts::default();
        let mut hosts: BTreeMap<&str, Counts> = BTreeMap::new();
        let mut reasons: BTreeMap<(String, String), ReasonCount> = BTreeMap::new();
        let mut lanes: BTreeMap<String, LaneCounts> = ["model", "web"]
            .into_iter()
            .map(|l| (l.to_string(), LaneCounts::default()))
            .collect();
        for line in lines {
            total.add(line);
            let lane = line.lane.clone().unwrap_or_else(|| "web".into());
            lanes.entry(lane).or_default().add(line);
            hosts.entry(&line.host).or_default().add(line);
            if line.verdict.is_block() {
                let by = line.by.clone().unwrap_or_else(|| "unknown".into());
                let code = line.reason_code.clone().unwrap_or_else(|| "other".into());
                reasons
                    .entry((by.clone(), code.clone()))
                    .or_insert_with(|| ReasonCount {
                        by,
                        reason_code: code,
                        count: 0,
                        example: line.reason.clone(),
                    })
                    .count += 1;
            }
        }
        let mut hosts: Vec<HostCounts> = hosts
            .into_iter()
            .map(|(host, counts)| HostCounts {
                host: host.to_string(),
                counts,
            })
            .collect();
        hosts.sort_by(|a, b| {
            b.counts
                .requests
                .cmp(&a.counts.requests)
                .then(a.host.cmp(&b.host))
        });
        let mut reasons: Vec<ReasonCount> = reasons.into_values().collect();
        reasons.sort_by_key(|r| std::cmp::Reverse(r.count));
        let mut blocked_most: Vec<BlockedHost> = hosts
            .iter()
            .filter(|h| h.counts.blocks() > 0)
            .map(|h| BlockedHost {
                host: h.host.clone(),
                blocks: h.counts.blocks(),
            })
            .collect();
        blocked_most.sort_by(|a, b| b.blocks.cmp(&a.blocks).then(a.host.cmp(&b.host)));
        blocked_most.truncate(TOP_BLOCKED);
        Summary {
            total,
            lanes,
            hosts,
            reasons,
            blocked_most,
        }
    }

    /// The lines for stderr (without the `bottle: ` prefix).
    pub fn render(&self) -> String {
        let t = &self.total;
        if t.requests == 0 {
            return "traffic: no request left the agent\n".into();
        }
        let mut out = format!(
            "traffic: {} request(s): {} allowed, {} blocked by pipelock, {} refused by bot-bottle, {} failed; {} B up, {} B down\n",
            t.requests, t.allowed, t.blocked, t.refused, t.failed, t.bytes_up, t.bytes_down
        );
        for (lane, counts) in &self.lanes {
            out.push_str(&format!("  {}", counts.render(lane)));
        }
        let mut table = Table::new([
            "HOST",
            "ALLOWED",
            "BLOCKED",
            "FAILED",
            "BYTES UP",
            "BYTES DOWN",
        ]);
        for h in &self.hosts {
            let c = &h.counts;
            table.row([
                h.host.clone(),
                c.allowed.to_string(),
                c.blocks().to_string(),
                c.failed.to_string(),
                c.bytes_up.to_string(),
                c.bytes_down.to_string(),
            ]);
        }
        for line in table.render().lines() {
            out.push_str(&format!("  {line}\n"));
        }
        if !self.reasons.is_empty() {
            let reasons: Vec<String> = self
                .reasons
                .iter()
                .map(|r| format!("{} by {} {}", r.reason_code, r.by, r.count))
                .collect();
            out.push_str(&format!("  blocks by reason: {}\n", reasons.join(", ")));
            let most: Vec<String> = self
                .blocked_most
                .iter()
                .map(|b| format!("{} {}", b.host, b.blocks))
                .collect();
            out.push_str(&format!("  blocked most: {}\n", most.join(", ")));
        }
        out
    }
}
