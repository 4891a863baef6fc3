//! Launch-test support: the local test images, a fake internet wired to a running bottle,
//! and `bottle run` as a child process whose progress lines the test can wait for.
//! The tests that use it are `#[ignore]`d (plain `cargo test` reports them as ignored,
//! never as passed); `tests/run.sh` runs them with `--ignored` when an engine answers, and
//! run without one they fail.

use super::Test;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Launch tests share one engine and wait for each other's containers by agent label:
/// one at a time in this process ...
static SERIAL: Mutex<()> = Mutex::new(());
/// ... and across processes (other checkouts on the same engine).
const ENGINE_LOCK: &str = "/tmp/bot-bottle-launch-tests.lock";

pub const HOSTS: &[&str] = &[
    "allowed.test",
    "denied.test",
    "other.allowed.test",
    "plain.test",
    "api.anthropic.com",
    "statsig.anthropic.com",
    "git.allowed.test",
];

/// A manifest with one agent `agent` running `command` in bottle `net`, which allows the
/// fake internet's hosts (on private Docker addresses, so they are private hosts too),
/// forwards `LEAK_TOKEN` from the host variable BOT_BOTTLE_TEST_SECRET and sets the
/// literal `LOG_LEVEL=debug-literal`.
pub fn net_manifest(agent: &str, command: &[&str]) -> String {
    format!(
        r#"{{
  "bottles": {{ "net": {{
    "egress": {{ "allowlist": ["allowed.test", "*.allowed.test", "plain.test"],
                "private_hosts": ["allowed.test", "*.allowed.test", "plain.test"] }},
    "env": {{ "LEAK_TOKEN": "${{BOT_BOTTLE_TEST_SECRET}}", "LOG_LEVEL": "debug-literal" }} }} }},
  "agents": {{ "{agent}": {{ "bottle": "net", "command": {} }} }}
}}"#,
        serde_json::to_string(command).unwrap()
    )
}

pub struct Engine {
    pub images: BTreeMap<String, String>,
    /// The pipelock double that reports healthy only once the fake internet is wired.
    pub pipelock_waiting: String,
    _serial: MutexGuard<'static, ()>,
    /// Holds an exclusive `flock` on [`ENGINE_LOCK`] until the test ends.
    _engine_lock: std::fs::File,
}

/// The engine and the test images. Without an engine the test fails: it was asked for
/// (`--ignored`), so it must not pass without running.
pub fn engine() -> Engine {
    let up = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        up,
        "this test needs a Docker engine and none answers (`docker version` failed); run it where one does (tests/run.sh runs the Docker-backed tests only then)"
    );
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let engine_lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ENGINE_LOCK)
        .unwrap_or_else(|e| panic!("cannot open {ENGINE_LOCK}: {e}"));
    // SAFETY: flock(2) on a file descriptor we own; it is released when the file closes.
    let locked =
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&engine_lock), libc::LOCK_EX) };
    assert_eq!(locked, 0, "cannot lock {ENGINE_LOCK}");
    let (images, waiting) = IMAGES.get_or_init(build_images).clone();
    Engine {
        images,
        pipelock_waiting: waiting,
        _serial: serial,
        _engine_lock: engine_lock,
    }
}

static IMAGES: OnceLock<(BTreeMap<String, String>, String)> = OnceLock::new();

fn build_images() -> (BTreeMap<String, String>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("bash")
        .arg(root.join("tests/images/build.sh"))
        .stdout(Stdio::null())
        .status()
        .expect("run tests/images/build.sh");
    assert!(status.success(), "tests/images/build.sh failed");
    let text = std::fs::read_to_string(root.join("target/test-images/images.env")).unwrap();
    let images: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let double = &images["BOT_BOTTLE_PIPELOCK_IMAGE"];
    let tag = double.replace("/pipelock-double:", "/pipelock-double-waiting:");
    let dockerfile = format!(
        "FROM {double}\nENV PIPELOCK_DOUBLE_WAIT_FOR={}\n",
        HOSTS.join(",")
    );
    build_image(&tag, &dockerfile);
    (images, tag)
}

/// `docker build --tag TAG` of `dockerfile` (no build context); panics on failure.
pub fn build_image(tag: &str, dockerfile: &str) {
    // One image build at a time on this shared engine (see tests/images/build.sh).
    let mut build = Command::new("flock")
        .args([
            "/tmp/bot-bottle-image-build.lock",
            "docker",
            "build",
            "--quiet",
            "--tag",
            tag,
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    build
        .stdin
        .take()
        .unwrap()
        .write_all(dockerfile.as_bytes())
        .unwrap();
    assert!(build.wait().unwrap().success(), "building {tag}");
}

impl Engine {
    /// A hermetic user (temp HOME, TMPDIR) whose images are the test images.
    pub fn user(&self, manifest: &str) -> Test {
        let t = Test::new().user_file(manifest);
        std::fs::create_dir_all(t.dir.path().join("tmp")).unwrap();
        let tmp = t.dir.path().join("tmp").display().to_string();
        t.env("TMPDIR", &tmp)
            .env(
                "BOT_BOTTLE_AGENT_IMAGE",
                &self.images["BOT_BOTTLE_AGENT_IMAGE"],
            )
            .env("BOT_BOTTLE_PIPELOCK_IMAGE", &self.pipelock())
            .env(
                "BOT_BOTTLE_MITMPROXY_IMAGE",
                &self.images["BOT_BOTTLE_MITMPROXY_IMAGE"],
            )
    }

    /// The pipelock image the launch tests run: the test double, or the image
    /// BOT_BOTTLE_TEST_PIPELOCK_IMAGE names (a real pipelock built by hand, see
    /// docs/pipelock.md).
    pub fn pipelock(&self) -> String {
        std::env::var("BOT_BOTTLE_TEST_PIPELOCK_IMAGE")
            .ok()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| self.images["BOT_BOTTLE_PIPELOCK_IMAGE"].clone())
    }

    /// A user whose agent runs the real Claude Code CLI (the test agent image plus it).
    pub fn claude_user(&self, manifest: &str) -> Test {
        self.user(manifest).env(
            "BOT_BOTTLE_AGENT_IMAGE",
            &self.images["BOT_BOTTLE_TEST_CLAUDE_AGENT_IMAGE"],
        )
    }

    /// Same, with the pipelock double that waits for the fake internet.
    pub fn user_online(&self, manifest: &str) -> Test {
        self.user(manifest)
            .env("BOT_BOTTLE_PIPELOCK_IMAGE", &self.pipelock_waiting)
    }

    /// A container of the agent image named `name`, running for `seconds`: someone else
    /// holding a name a bottle wants. The caller removes it.
    pub fn hold_name(&self, name: &str, seconds: u32) {
        docker(&[
            "run",
            "-d",
            "--name",
            name,
            &self.images["BOT_BOTTLE_AGENT_IMAGE"],
            "sleep",
            &seconds.to_string(),
        ]);
    }

    pub fn origin_image(&self) -> &str {
        &self.images["BOT_BOTTLE_TEST_ORIGIN_IMAGE"]
    }
}

/// `docker ARGS`, stdout trimmed; panics on failure.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `docker ARGS` that may fail: (success, stdout+stderr).
pub fn docker_try(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker").args(args).output().unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Containers and networks of this agent (by label) still on the engine.
pub fn leftovers(agent: &str) -> Vec<String> {
    let filter = format!("label=bot-bottle.agent={agent}");
    let mut found: Vec<String> = docker(&[
        "ps",
        "-a",
        "--filter",
        &filter,
        "--format",
        "container {{.Names}}",
    ])
    .lines()
    .map(str::to_string)
    .collect();
    found.extend(
        docker(&[
            "network",
            "ls",
            "--filter",
            &filter,
            "--format",
            "network {{.Name}}",
        ])
        .lines()
        .map(str::to_string),
    );
    found.extend(
        docker(&[
            "image",
            "ls",
            "--filter",
            &filter,
            "--format",
            "image {{.Repository}}",
        ])
        .lines()
        .map(str::to_string),
    );
    found.retain(|l| !l.is_empty());
    found
}

/// A running `bottle run`, its stderr lines forwarded to the test as they come.
pub struct Bottle {
    pub child: Child,
    lines: Receiver<String>,
    pub stderr: Arc<Mutex<String>>,
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Bottle {
    pub fn spawn(test: &Test, args: &[&str]) -> Bottle {
        let mut child = test
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        let mut out_pipe = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out_pipe.read_to_string(&mut s);
            s
        });
        Bottle {
            child,
            lines: rx,
            stderr,
            stdout: Some(stdout),
        }
    }

    /// Waits for a stderr line containing `needle`; returns it.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no stderr line with {needle:?} within {timeout:?}; stderr so far:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// Waits for the `[n/N] attach to NAME` line; returns the agent container's name.
    pub fn wait_for_attach(&mut self, timeout: Duration) -> String {
        let line = self.wait_for("] attach to ", timeout);
        line.split("attach to ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no container name in {line:?}"))
            .to_string()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    /// Waits for the exit (bounded) and returns (code, stdout, stderr).
    pub fn finish(mut self, timeout: Duration) -> (i32, String, String) {
        let child = &mut self.child;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                // Panicking drops the bottle, which asks it to stop (SIGTERM) so its
                // teardown leaves nothing for the next test.
                panic!(
                    "bottle did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = self.stdout.take().unwrap().join().unwrap();
        // Let the stderr reader drain.
        std::thread::sleep(Duration::from_millis(50));
        let code = status.code().unwrap_or_else(|| {
            128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
        });
        let stderr = self.stderr.lock().unwrap().clone();
        (code, stdout, stderr)
    }
}

impl Drop for Bottle {
    /// A test that fails half-way must not leave its bottle running into the next test.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
        }
    }
}

/// The fake internet for one launch: an origin container joined to the launch's egress
/// network under the test host names, and pipelock's log followed from the start.
pub struct Internet {
    pub origin: String,
    pub origin_ip: String,
    pub pipelock: String,
    /// pipelock's address on the egress network: the only peer the origin may see.
    pub pipelock_ip: String,
    pipelock_log: Arc<Mutex<String>>,
}

/// The file [`Internet::attach`] creates in the agent once the fake internet is wired.
pub const ONLINE_MARKER: &str = "/tmp/.bot-bottle-test-online";

/// `command` run only once the fake internet is wired (the marker exists): with any
/// pipelock, real or double, the agent's first request finds the origin there.
pub fn online(command: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = [
        "sh",
        "-c",
        &format!("until [ -e {ONLINE_MARKER} ]; do sleep 0.1; done; exec \"$@\""),
        "sh",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    out.extend(command.iter().map(|s| s.to_string()));
    out
}

impl Internet {
    /// Waits for the egress network and pipelock of `agent`'s launch, then wires them.
    pub fn attach(engine: &Engine, agent: &str) -> Internet {
        Internet::attach_with(engine, agent, None)
    }

    /// Same, starting the origin with `ORIGIN_CONFIG` (the fake API's keys, the git
    /// server's password: tests/images/README.md); then marks the agent online.
    pub fn attach_with(engine: &Engine, agent: &str, origin_config: Option<&str>) -> Internet {
        let deadline = Instant::now() + Duration::from_secs(60);
        let by = |role: &str| {
            vec![
                "--filter".to_string(),
                format!("label=bot-bottle.agent={agent}"),
                "--filter".to_string(),
                format!("label=bot-bottle.role={role}"),
            ]
        };
        let (network, pipelock) = loop {
            let mut args = vec!["network".to_string(), "ls".into()];
            args.extend(by("egress-network"));
            args.extend(["--format".into(), "{{.Name}}".into()]);
            let net = docker(&args.iter().map(String::as_str).collect::<Vec<_>>());
            let mut args = vec!["ps".to_string(), "-a".into()];
            args.extend(by("pipelock"));
            args.extend(["--format".into(), "{{.Names}}".into()]);
            let pl = docker(&args.iter().map(String::as_str).collect::<Vec<_>>());
            if !net.is_empty() && !pl.is_empty() {
                break (net, pl);
            }
            assert!(
                Instant::now() < deadline,
                "no egress network/pipelock for {agent}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // One per launch: the tests of this process share its id.
        let origin = format!("bot-bottle-test-origin-{}-{agent}", std::process::id());
        let _ = docker_try(&["rm", "-f", &origin]);
        let mut args = vec![
            "run",
            "-d",
            "--name",
            &origin,
            "--label",
            "bot-bottle-test=origin",
            "--network",
            &network,
        ];
        for host in HOSTS {
            args.extend(["--network-alias", host]);
        }
        let config = origin_config.map(|c| format!("ORIGIN_CONFIG={c}"));
        if let Some(config) = &config {
            args.extend(["--env", config]);
        }
        args.push(engine.origin_image());
        docker(&args);
        wait_for_origin(&origin);
        let origin_ip = docker(&[
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &origin,
        ]);
        let pipelock_ip = loop {
            let (_, ip) = docker_try(&[
                "inspect",
                "--format",
                &format!(
                    "{{{{with index .NetworkSettings.Networks \"{network}\"}}}}{{{{.IPAddress}}}}{{{{end}}}}"
                ),
                &pipelock,
            ]);
            let ip = ip.trim().to_string();
            if !ip.is_empty() && !ip.contains("No such") {
                break ip;
            }
            assert!(Instant::now() < deadline, "pipelock never joined {network}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let pipelock_log = Arc::new(Mutex::new(String::new()));
        let sink = pipelock_log.clone();
        let name = pipelock.clone();
        std::thread::spawn(move || {
            let mut child = Command::new("docker")
                .args(["logs", "--follow", &name])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let out = child.stdout.take().unwrap();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
            }
            let _ = child.wait();
        });
        mark_online(agent, deadline);
        Internet {
            origin,
            origin_ip,
            pipelock,
            pipelock_ip,
            pipelock_log,
        }
    }

    /// pipelock's JSON log lines so far.
    pub fn pipelock_log(&self) -> Vec<serde_json::Value> {
        self.pipelock_log
            .lock()
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// What the origin has seen (`GET /__seen` from inside the origin container).
    pub fn seen(&self) -> serde_json::Value {
        let text = docker(&[
            "exec",
            &self.origin,
            "curl",
            "-sS",
            "http://127.0.0.1:80/__seen",
        ]);
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for Internet {
    fn drop(&mut self) {
        let _ = docker_try(&["rm", "-f", &self.origin]);
    }
}

/// Until the origin answers on its control listener.
fn wait_for_origin(origin: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !docker_try(&[
        "exec",
        origin,
        "curl",
        "-sf",
        "http://127.0.0.1:80/__config",
    ])
    .0
    {
        assert!(
            Instant::now() < deadline,
            "the origin {origin} never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The names of `agent`'s running containers with `role` (`agent`, `pipelock`, …), one
/// per line (empty when there is none).
pub fn containers(agent: &str, role: &str) -> String {
    docker(&[
        "ps",
        "--filter",
        &format!("label=bot-bottle.agent={agent}"),
        "--filter",
        &format!("label=bot-bottle.role={role}"),
        "--format",
        "{{.Names}}",
    ])
}

/// Creates [`ONLINE_MARKER`] in `agent`'s container once it runs (a launch that fails
/// earlier has none: nothing to mark).
fn mark_online(agent: &str, deadline: Instant) {
    while Instant::now() < deadline {
        let running = containers(agent, "agent");
        if let Some(name) = running.lines().find(|l| !l.is_empty())
            && docker_try(&["exec", name, "touch", ONLINE_MARKER]).0
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A secret value of the kind pipelock's environment scan recognises (long, high entropy).
/// A real-format Anthropic API key (`sk-ant-api03-`, 108 characters), random per call.
pub fn api_key() -> String {
    let hex = secret_value();
    let body: String = hex
        .bytes()
        .cycle()
        .take(93)
        .enumerate()
        .map(|(i, b)| {
            let a = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            a[(b as usize * 5 + i * 11) % a.len()] as char
        })
        .collect();
    format!("sk-ant-api03-{body}AA")
}

pub fn secret_value() -> String {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("bbtest-{hex}")
}
