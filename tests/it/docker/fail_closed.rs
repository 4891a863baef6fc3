//! Issue 13's fail-closed rule on the engine (`#[ignore]`d; `cargo test -- --ignored`):
//! whatever the launch order, the agent's command never starts while a sidecar is not
//! ready. Here pipelock never answers /health (the test double waits for host names that
//! never resolve: no fake internet is attached), while mitmproxy is ready.

use crate::support::engine::{self, Bottle, leftovers};
use std::time::Duration;

const T: Duration = Duration::from_secs(120);

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn the_agents_command_never_starts_while_pipelock_is_not_ready() {
    let e = engine::engine();
    let agent = "t-closed";
    let manifest = format!(
        r#"{{ "agents": {{ "{agent}": {{ "command": ["sh", "-c", "echo COMMAND-STARTED; sleep 100"] }} }} }}"#
    );
    let t = e.user_online(&manifest);
    let mut bottle = Bottle::spawn(&t, &["run", agent]);
    bottle.wait_for("mitmproxy listens", T);
    // Long enough for everything but pipelock to be done many times over.
    std::thread::sleep(Duration::from_secs(8));
    let stderr = bottle.stderr.lock().unwrap().clone();
    assert!(!stderr.contains("pipelock answers /health"), "{stderr}");
    assert!(
        !stderr.contains("attach to"),
        "attached while pipelock was not ready: {stderr}"
    );
    // The planner starts the agent container early; its command still must not run.
    let agents = crate::support::engine::containers(agent, "agent");
    assert!(
        agents.lines().any(|l| !l.is_empty()),
        "no agent container to look into: {stderr}"
    );
    for name in agents.lines().filter(|l| !l.is_empty()) {
        let top = crate::support::engine::docker(&["top", name]);
        assert!(
            !top.contains("COMMAND-STARTED") && !top.contains("sleep 100"),
            "{top}"
        );
    }
    bottle.signal(libc::SIGINT);
    let (code, out, err) = bottle.finish(T);
    assert_eq!(code, 130, "{err}");
    assert!(
        !out.contains("COMMAND-STARTED"),
        "the agent's command ran: {out}"
    );
    assert_eq!(leftovers(agent), Vec::<String>::new());
}
