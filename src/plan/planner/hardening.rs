//! The `docker run` flags that confine every container of a bottle: no capabilities, no
//! privilege gain through setuid files, limits on memory (no swap beyond it), CPU and
//! processes, no DNS that leaves the agent's or mitmproxy's container (pipelock, which
//! fetches for them, keeps the engine's resolver), and for the sidecars a read-only root
//! filesystem with private tmpfs where they must write. Pure.

use crate::config::resources::{EngineCapacity, Resources, Set};

/// Every container: no capability at all (none of the three needs one: ports above 1024,
/// no chown; bottle's root provisioning in the agent writes only root-owned paths) and no
/// way to gain privileges (setuid binaries do nothing).
pub(crate) fn confined() -> Vec<String> {
    ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
        .map(String::from)
        .to_vec()
}

/// Docker's resolver (127.0.0.11) answers the names of the bottle's own containers and
/// forwards every other lookup to this server. 0.0.0.0 is not a loopback address, so an
/// engine never forwards from the host's namespace (CVE-2024-29018), and inside the
/// container it is the container itself, where nothing listens: no lookup leaves.
pub(crate) fn no_outside_dns() -> Vec<String> {
    ["--dns", "0.0.0.0"].map(String::from).to_vec()
}

/// A read-only root filesystem, with each `writable` directory a private tmpfs owned by
/// `uid:gid` (mode 0700; /tmp keeps its sticky 1777) and at most `size_mb` big.
pub(crate) fn read_only(writable: &[String], uid: u32, gid: u32, size_mb: u64) -> Vec<String> {
    let mut args = vec!["--read-only".to_string()];
    for dir in writable {
        let owner = if dir == "/tmp" {
            "mode=1777".to_string()
        } else {
            format!("uid={uid},gid={gid},mode=0700")
        };
        args.push("--tmpfs".into());
        args.push(format!(
            "{dir}:rw,noexec,nosuid,nodev,size={size_mb}m,{owner}"
        ));
    }
    args
}

/// A sidecar's limits: `memory_mb`, up to two CPUs (fewer if the engine has fewer), 256
/// processes.
pub(crate) fn sidecar_limits(memory_mb: u64, engine: Option<EngineCapacity>) -> Vec<String> {
    let r = Resources {
        memory_mb,
        cpu_millis: 2000,
        pids: 256,
        set: Set::default(),
    };
    // Defaults only shrink to fit, so this cannot fail.
    r.fitted(engine).unwrap_or(r).docker_args()
}
