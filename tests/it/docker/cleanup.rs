//! Issue 10, items 4 and 5, on the engine (`#[ignore]`d; `cargo test -- --ignored`):
//! `bottle cleanup` removes only what bottle created (a committed agent image and a
//! container made from it survive teardown and cleanup), and after a SIGKILL during the
//! agent step, `bottle cleanup -y` leaves no container, network or env-file anywhere.

use crate::support::engine::{self, Bottle, docker, docker_try, leftovers, secret_value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(120);

fn manifest(name: &str) -> String {
    format!(
        r#"{{
  "bottles": {{ "net": {{
    "egress": {{ "allowlist": ["allowed.test"] }},
    "env": {{ "LEAK_TOKEN": "${{BOT_BOTTLE_TEST_SECRET}}", "LOG_LEVEL": "debug-literal-value" }} }} }},
  "agents": {{ "{name}": {{ "bottle": "net", "command": ["sleep", "120"] }} }}
}}"#
    )
}

/// A user with its own runtime directory (`$XDG_RUNTIME_DIR/bot-bottle`) and TMPDIR.
fn user(e: &engine::Engine, agent: &str) -> (crate::support::Test, PathBuf) {
    let t = e
        .user(&manifest(agent))
        .env("BOT_BOTTLE_TEST_SECRET", &secret_value());
    let xdg = t.dir.path().join("run");
    std::fs::create_dir_all(&xdg).unwrap();
    let runtime = xdg.join("bot-bottle");
    let t = t.env("XDG_RUNTIME_DIR", &xdg.display().to_string());
    (t, runtime)
}

fn files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn a_committed_agent_image_and_a_container_made_from_it_survive_teardown_and_cleanup() {
    let e = engine::engine();
    let agent = "t-commit";
    let (t, runtime) = user(&e, agent);
    let mut bottle = Bottle::spawn(&t, &["run", agent, "--", "sleep", "120"]);
    let agent_ctr = bottle.wait_for_attach(T);
    let pid = std::process::id();
    let image = format!("bot-bottle-test-saved-{pid}:1");
    let copy = format!("bot-bottle-test-fromsaved-{pid}");
    /// Removes the test's own image and container however the test ends.
    struct Ours(String, String);
    impl Drop for Ours {
        fn drop(&mut self) {
            let _ = docker_try(&["rm", "-f", &self.1]);
            let _ = docker_try(&["image", "rm", "-f", &self.0]);
        }
    }
    let ours = Ours(image.clone(), copy.clone());
    // `docker commit` pauses the container by default; the attach must not meet a pause.
    docker(&["commit", "--pause=false", &agent_ctr, &image]);
    docker(&["run", "-d", "--name", &copy, &image, "sleep", "300"]);
    // The copy really carries the bottle's labels: only its name tells it apart.
    let labels = docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"bot-bottle.id\"}} {{index .Config.Labels \"bot-bottle.role\"}}",
        &copy,
    ]);
    assert!(labels.ends_with(" agent") && labels.len() > 10, "{labels}");

    bottle.signal(libc::SIGTERM);
    let (code, _, err) = bottle.finish(T);
    let survived_teardown = docker_try(&["inspect", &copy]).0;
    assert_eq!(code, 128 + libc::SIGTERM, "{err}");

    let cleanup = t.run(&["cleanup", "-y", agent]);
    let copy_left = docker_try(&["inspect", &copy]).0;
    let image_left = docker_try(&["image", "inspect", &image]).0;
    drop(ours);
    assert!(
        survived_teardown,
        "teardown removed a container made from a committed image"
    );
    assert_eq!(cleanup.code, 0, "{}", cleanup.stderr);
    assert!(
        copy_left,
        "cleanup removed a container made from a committed image: {}",
        cleanup.stdout
    );
    assert!(
        image_left,
        "cleanup removed a committed image: {}",
        cleanup.stdout
    );
    assert_eq!(leftovers(agent), Vec::<String>::new());
    assert!(files(&runtime).is_empty(), "{:?}", files(&runtime));
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn sigkill_during_the_agent_step_then_cleanup_leaves_no_container_network_or_env_file() {
    let e = engine::engine();
    let agent = "t-kill9";
    let (t, runtime) = user(&e, agent);
    let mut bottle = Bottle::spawn(&t, &["run", agent, "--", "sleep", "120"]);
    bottle.wait_for("[2/4] pipelock, mitmproxy and the agent", T);
    // The env-file exists only while `docker run` reads it: kill then.
    let deadline = Instant::now() + T;
    let env_file = loop {
        if let Some(f) = files(&runtime).into_iter().find(|f| f.ends_with(".env")) {
            break runtime.join(f);
        }
        assert!(
            Instant::now() < deadline,
            "no env-file appeared in {}",
            runtime.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    bottle.signal(libc::SIGKILL);
    let (code, _, _) = bottle.finish(T);
    assert_eq!(code, 128 + libc::SIGKILL);
    let secret_value = std::fs::read_to_string(&env_file).unwrap_or_default();
    assert!(
        secret_value.contains("debug-literal-value"),
        "the kill came after the env-file was deleted; nothing to show"
    );
    // The env-file is written as the sidecars start: the networks exist by then, the
    // containers perhaps not all. Resource names end in the bottle id's first 8 digits;
    // an earlier interrupted run may have left another bottle of this agent.
    let id = env_file.file_stem().unwrap().to_string_lossy().into_owned();
    let short = format!("-{}", &id[..8]);
    let left = leftovers(agent);
    assert!(
        left.iter()
            .filter(|l| l.starts_with("network ") && l.ends_with(&short))
            .count()
            == 3,
        "a SIGKILLed run leaves its resources (bottle {id}): {left:?}"
    );
    assert!(runtime.join(format!("{id}.record")).exists());

    let cleanup = t.run(&["cleanup", "-y"]);
    assert_eq!(cleanup.code, 0, "{}\n{}", cleanup.stdout, cleanup.stderr);
    assert!(
        cleanup
            .stdout
            .contains(&format!("removed env-file {}", env_file.display())),
        "{}",
        cleanup.stdout
    );
    // The agent container may or may not have been created when the kill came; either
    // way nothing of the bottle is left, on the engine or on disk.
    assert_eq!(leftovers(agent), Vec::<String>::new());
    assert!(files(&runtime).is_empty(), "{:?}", files(&runtime));
    let tmp = files(&t.dir.path().join("tmp"));
    assert!(tmp.is_empty(), "{tmp:?}");
    let grep = std::process::Command::new("grep")
        .args(["-rl", "debug-literal-value"])
        .arg(t.dir.path())
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&grep.stdout).to_string();
    let found: Vec<&str> = found
        .lines()
        .filter(|l| !l.ends_with("bot-bottle.json"))
        .collect();
    assert!(found.is_empty(), "the literal is still on disk: {found:?}");
}
