//! What left the bottle (issue 12): the addon's request log read back from mitmproxy's
//! output, summarised per host and per reason, as the exit report (a few lines on stderr,
//! `--report FILE` as JSON, ending with the live policy changes and what the session
//! needed off the allowlist) and as `bottle logs`. Parsing, summarising and rendering are
//! pure; reading the log and writing the file are I/O, through the engine.

pub mod exit_report;
pub mod logs_command;
pub mod needed_hosts;
pub mod port_traffic;
pub mod request_log;
pub mod summary;
