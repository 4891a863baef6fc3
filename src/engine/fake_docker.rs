//! `FakeDocker`: a small model of a Docker engine for the unit tests (launch, teardown,
//! cleanup), behind a [`ScriptedEngine`](crate::engine::scripted_engine::ScriptedEngine)'s
//! script: it keeps containers (with labels, networks, running or not), networks and
//! images, answers the docker commands bottle sends the way Docker 20.10 does (names in
//! use, `No such …`, networks with active endpoints), and records what was created and
//! removed, in order. Test-only; no processes.

use crate::engine::call::Call;
use crate::engine::scripted_engine::Reply;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resource {
    pub id: String,
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub running: bool,
    /// For containers: the networks it is attached to.
    pub networks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct World {
    pub containers: Vec<Resource>,
    pub networks: Vec<Resource>,
    pub images: Vec<Resource>,
}

#[derive(Default)]
struct State {
    world: World,
    /// `container NAME`, `network NAME`, `image TAG`, in order.
    created: Vec<String>,
    removed: Vec<String>,
    next_id: u32,
}

pub(crate) struct FakeDocker {
    state: Mutex<State>,
}

/// A CA certificate, as the launch gives it to the agent.
pub(crate) const CA_PEM: &str = include_str!("../../tests/fixtures/ca-cert.pem");

/// Values after each `flag` in `args`.
fn values<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
    args.windows(2)
        .filter(|w| w[0] == flag)
        .map(|w| w[1].as_str())
        .collect()
}

fn labels(args: &[String]) -> Vec<(String, String)> {
    values(args, "--label")
        .into_iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Whether `r` passes every `--filter label=K=V` / `label=K` of `args`.
fn matches(r: &Resource, args: &[String]) -> bool {
    values(args, "--filter").into_iter().all(|f| {
        let Some(label) = f.strip_prefix("label=") else {
            return true;
        };
        match label.split_once('=') {
            Some((k, v)) => r.labels.iter().any(|(rk, rv)| rk == k && rv == v),
            None => r.labels.iter().any(|(rk, _)| rk == label),
        }
    })
}

/// Renders the Go templates bottle uses.
fn render(format: &str, r: &Resource) -> String {
    let out = format
        .replace("{{.ID}}", &r.id)
        .replace("{{.Names}}", &r.name)
        .replace("{{.Name}}", &r.name)
        .replace("{{.Repository}}:{{.Tag}}", &r.name)
        .replace("{{.RunningFor}}", "2 minutes ago")
        .replace("{{.State}}", if r.running { "running" } else { "created" });
    let mut out = out.replace("{{index .Config.Labels \"", "{{.Label \"");
    while let Some(start) = out.find("{{.Label \"") {
        let rest = &out[start + 10..];
        let end = rest.find("\"}}").expect("a closed label template");
        let key = &rest[..end];
        let value = r
            .labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        out = format!("{}{value}{}", &out[..start], &rest[end + 3..]);
    }
    out
}

fn lines(items: Vec<String>) -> String {
    items.iter().map(|l| format!("{l}\n")).collect()
}

impl FakeDocker {
    pub fn new() -> FakeDocker {
        FakeDocker {
            state: Mutex::new(State::default()),
        }
    }

    /// Adds an image Docker has.
    pub fn image(self, reference: &str) -> FakeDocker {
        {
            let mut s = self.state.lock().unwrap();
            s.world.images.push(Resource {
                id: "sha256:0".into(),
                name: reference.into(),
                labels: Vec::new(),
                running: false,
                networks: Vec::new(),
            });
        }
        self
    }

    /// Adds someone else's running container.
    pub fn foreign_container(self, name: &str) -> FakeDocker {
        {
            let mut s = self.state.lock().unwrap();
            s.world.containers.push(Resource {
                id: format!("foreign-{name}"),
                name: name.into(),
                labels: vec![("owner".into(), "someone else".into())],
                running: true,
                networks: Vec::new(),
            });
        }
        self
    }

    pub fn world(&self) -> World {
        self.state.lock().unwrap().world.clone()
    }

    pub fn created(&self) -> Vec<String> {
        self.state.lock().unwrap().created.clone()
    }

    pub fn removed(&self) -> Vec<String> {
        self.state.lock().unwrap().removed.clone()
    }

    /// Docker's answer to `call`, changing the world as Docker would.
    pub fn answer(&self, call: &Call) -> Reply {
        let mut s = self.state.lock().unwrap();
        let a = &call.args;
        let words: Vec<&str> = a.iter().map(String::as_str).collect();
        let last = a.last().cloned().unwrap_or_default();
        let find = |s: &State, name: &str| {
            s.world
                .containers
                .iter()
                .position(|c| c.name == name || c.id == name)
        };
        match words.as_slice() {
            ["version", ..] => Reply::ok("20.10.24"),
            ["image", "inspect", "--format", format, references @ ..] => {
                let (mut out, mut err) = (Vec::new(), Vec::new());
                for reference in references {
                    match s.world.images.iter().find(|i| i.name == *reference) {
                        Some(i) if format.contains(".Config.Labels") => out.push(render(format, i)),
                        Some(_) => out.push("sha256:0".into()),
                        None => err.push(format!("Error: No such image: {reference}")),
                    }
                }
                reply(out, err)
            }
            ["build", ..] => {
                let tag = values(a, "--tag")[0].to_string();
                s.world.images.push(Resource {
                    id: "sha256:1".into(),
                    name: tag.clone(),
                    labels: labels(a),
                    running: false,
                    networks: Vec::new(),
                });
                s.created.push(format!("image {tag}"));
                Reply::ok("sha256:1")
            }
            ["image", "rm", "--force", tags @ ..] => {
                let (mut out, mut err) = (Vec::new(), Vec::new());
                for tag in tags {
                    match s.world.images.iter().position(|i| i.name == *tag) {
                        Some(i) => {
                            s.world.images.remove(i);
                            s.removed.push(format!("image {tag}"));
                            out.push(format!("Untagged: {tag}"));
                        }
                        None => err.push(format!("Error: No such image: {tag}")),
                    }
                }
                reply(out, err)
            }
            ["image", "ls", ..] => {
                let format = values(a, "--format")[0];
                let found = s
                    .world
                    .images
                    .iter()
                    .filter(|i| matches(i, a))
                    .map(|i| render(format, i))
                    .collect();
                Reply::ok(lines(found))
            }
            ["network", "create", ..] => {
                if s.world.networks.iter().any(|n| n.name == last) {
                    return Reply::fail(format!(
                        "Error response from daemon: network with name {last} already exists"
                    ));
                }
                s.next_id += 1;
                let id = format!("net{}", s.next_id);
                s.world.networks.push(Resource {
                    id: id.clone(),
                    name: last.clone(),
                    labels: labels(a),
                    running: false,
                    networks: Vec::new(),
                });
                s.created.push(format!("network {last}"));
                Reply::ok(id)
            }
            ["network", "connect", net, container] => {
                if !s.world.networks.iter().any(|n| n.name == *net) {
                    return Reply::fail(format!(
                        "Error response from daemon: network {net} not found"
                    ));
                }
                match find(&s, container) {
                    Some(i) => {
                        s.world.containers[i].networks.push(net.to_string());
                        Reply::ok("")
                    }
                    None => Reply::fail(format!(
                        "Error response from daemon: No such container: {container}"
                    )),
                }
            }
            ["network", "disconnect", "--force", net, container] => {
                if let Some(i) = find(&s, container) {
                    s.world.containers[i].networks.retain(|n| n != net);
                }
                Reply::ok("")
            }
            ["network", "inspect", "--format", _, net] => {
                if !s.world.networks.iter().any(|n| n.name == *net) {
                    return Reply::fail(format!("Error: No such network: {net}"));
                }
                let ids: String = s
                    .world
                    .containers
                    .iter()
                    .filter(|c| c.networks.iter().any(|n| n == net))
                    .map(|c| format!("{} ", c.id))
                    .collect();
                Reply::ok(ids)
            }
            ["network", "rm", nets @ ..] => {
                let (mut out, mut err) = (Vec::new(), Vec::new());
                for net in nets {
                    let attached = s
                        .world
                        .containers
                        .iter()
                        .any(|c| c.networks.iter().any(|n| n == net));
                    match s.world.networks.iter().position(|n| n.name == *net) {
                        None => err.push(format!("Error: No such network: {net}")),
                        Some(_) if attached => err.push(format!(
                            "Error response from daemon: error while removing network: network {net} id 9e has active endpoints"
                        )),
                        Some(i) => {
                            s.world.networks.remove(i);
                            s.removed.push(format!("network {net}"));
                            out.push(net.to_string());
                        }
                    }
                }
                reply(out, err)
            }
            ["network", "ls", ..] => {
                let format = values(a, "--format")[0];
                let found = s
                    .world
                    .networks
                    .iter()
                    .filter(|n| matches(n, a))
                    .map(|n| render(format, n))
                    .collect();
                Reply::ok(lines(found))
            }
            ["create", ..] | ["run", ..] => {
                let name = values(a, "--name")[0].to_string();
                if let Some(i) = find(&s, &name) {
                    return Reply::fail(format!(
                        "docker: Error response from daemon: Conflict. The container name \"/{name}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                        s.world.containers[i].id
                    ));
                }
                s.next_id += 1;
                let id = format!("c{:04}", s.next_id);
                s.world.containers.push(Resource {
                    id: id.clone(),
                    name: name.clone(),
                    labels: labels(a),
                    running: words[0] == "run",
                    networks: values(a, "--network")
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                });
                s.created.push(format!("container {name}"));
                Reply::ok(id)
            }
            ["start", name] => match find(&s, name) {
                Some(i) => {
                    s.world.containers[i].running = true;
                    Reply::ok(*name)
                }
                None => Reply::fail(format!("Error: No such container: {name}")),
            },
            ["exec", rest @ ..] => {
                let mut i = 0;
                while i < rest.len() && rest[i].starts_with('-') {
                    i += if matches!(rest[i], "--user" | "--workdir") {
                        2
                    } else {
                        1
                    };
                }
                let name = rest.get(i).copied().unwrap_or_default();
                // A port relay's ready file holds the address it listens on.
                let ready = rest.get(i + 2).is_some_and(|p| p.ends_with("relay.ready"));
                match find(&s, name) {
                    Some(c) if s.world.containers[c].running && ready => Reply::ok("172.30.0.3"),
                    Some(c) if s.world.containers[c].running => Reply::ok(""),
                    Some(_) => Reply::fail(format!(
                        "Error response from daemon: Container {name} is not running"
                    )),
                    None => Reply::fail(format!(
                        "Error response from daemon: No such container: {name}"
                    )),
                }
            }
            ["cp", from, to] => {
                let container = [from, to]
                    .into_iter()
                    .find_map(|p| p.split_once(':').map(|(c, _)| c.to_string()))
                    .unwrap_or_default();
                match find(&s, &container) {
                    None => Reply::fail(format!("Error: No such container:path: {container}")),
                    Some(_) => Reply::ok(""),
                }
            }
            ["inspect", "--format", format, name] => match find(&s, name) {
                Some(i) if format.contains("State.Status") => {
                    Reply::ok(if s.world.containers[i].running {
                        "running"
                    } else {
                        "created"
                    })
                }
                Some(_) => Reply::ok("172.30.0.2"),
                None => Reply::fail(format!("Error: No such object: {name}")),
            },
            ["logs", ..] => Reply::ok(""),
            ["ps", ..] => {
                let found: Vec<&Resource> = s
                    .world
                    .containers
                    .iter()
                    .filter(|c| matches(c, a))
                    .collect();
                let out = match values(a, "--format").first() {
                    Some(format) => found.iter().map(|c| render(format, c)).collect(),
                    None => found.iter().map(|c| c.id.clone()).collect(),
                };
                Reply::ok(lines(out))
            }
            ["rm", "--force", "--volumes", ids @ ..] => {
                let (mut out, mut err) = (Vec::new(), Vec::new());
                for id in ids {
                    match find(&s, id) {
                        Some(i) => {
                            let c = s.world.containers.remove(i);
                            s.removed.push(format!("container {}", c.name));
                            out.push(id.to_string());
                        }
                        None => err.push(format!("Error: No such container: {id}")),
                    }
                }
                reply(out, err)
            }
            _ => Reply::fail(format!("fake docker: unknown command: {}", call.shown)),
        }
    }
}

/// Docker's way with several targets: stdout names what was done, stderr one line per
/// failure, exit 1 if any failed.
fn reply(out: Vec<String>, err: Vec<String>) -> Reply {
    Reply {
        code: if err.is_empty() { 0 } else { 1 },
        stdout: lines(out),
        stderr: lines(err),
        signal: None,
    }
}
