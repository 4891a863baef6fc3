//! `bottle images` against the real Docker engine: digests of `docker save` archives
//! compared with what Docker reports, the lock round trip, the load pipeline from a stream
//! script, and truncated or corrupt archives. Every test builds its own tiny images
//! (`docker import` + `docker build`, no registry) under unique tags and removes them, even
//! on failure. Every test here needs an engine: they are `#[ignore]`d, `tests/run.sh` runs
//! them when one answers, and run without one they fail.

use bot_bottle::engine::docker_cli::DockerCli;
use bot_bottle::engine::docker_engine::DockerEngine;
use bot_bottle::error::Error;
use bot_bottle::exit_code;
use bot_bottle::image::archive::{self, ImageDigest};
use bot_bottle::image::image_ref::{ImageRef, ImageRole, ImageSource};
use bot_bottle::image::images_command::{self, ImagesCommand, RoleStream};
use bot_bottle::image::loader::{self, LoadOutcome};
use bot_bottle::image::lock::ImageLock;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Marks the second layer's file, to find and corrupt it in the saved archive.
const MARKER: &[u8] = b"bot-bottle second layer marker 0123456789";

/// The engine; without one the test fails (it was asked for with `--ignored`).
fn engine() -> DockerCli {
    let docker = DockerCli::new(false);
    assert!(
        docker.available(),
        "this test needs a Docker engine and none answers (`docker version` failed)"
    );
    docker
}

/// `docker ARGS`; an image build or import waits for the shared engine's build lock (one
/// image build at a time, as tests/images/build.sh takes it).
fn docker(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    let builds = matches!(args.first(), Some(&"build") | Some(&"import"));
    let mut command = if builds {
        let mut c = Command::new("flock");
        c.args(["/tmp/bot-bottle-image-build.lock", "docker"]);
        c
    } else {
        Command::new("docker")
    };
    let mut child = command
        .args(args)
        .env("DOCKER_BUILDKIT", "0")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn docker_ok(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = docker(args, stdin);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Two tiny images (one layer, then two) with unique tags; removed on drop.
struct TinyImage {
    base: String,
    tag: String,
    dir: tempfile::TempDir,
}

impl TinyImage {
    fn build(test: &str) -> TinyImage {
        let unique = format!(
            "{}-{}-{}",
            test.replace('_', "-"),
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let image = TinyImage {
            base: format!("bot-bottle-test/tiny-base:{unique}"),
            tag: format!("bot-bottle-test/tiny:{unique}"),
            dir: tempfile::tempdir().unwrap(),
        };
        let rootfs = tar_of(&[("hello.txt", b"hello from the first layer\n")]);
        docker_ok(&["import", "-", &image.base], Some(&rootfs));
        let dockerfile = format!("FROM {}\nCOPY marker.txt /marker.txt\n", image.base);
        let context = tar_of(&[
            ("Dockerfile", dockerfile.as_bytes()),
            ("marker.txt", MARKER),
        ]);
        docker_ok(&["build", "-q", "-t", &image.tag, "-"], Some(&context));
        image
    }

    /// `docker save` of the two-layer image.
    fn save(&self) -> PathBuf {
        let path = self.dir.path().join("tiny.tar");
        docker_ok(&["save", "-o", path.to_str().unwrap(), &self.tag], None);
        path
    }

    /// A stream script, as Nix's streamLayeredImage gives: it writes the archive to stdout.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for TinyImage {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.tag, &self.base], None);
    }
}

/// What Docker itself says about an image.
fn inspect(tag: &str) -> (String, Vec<String>, String) {
    let id = docker_ok(&["image", "inspect", "--format", "{{.Id}}", tag], None);
    let layers: Vec<String> = serde_json::from_str(&docker_ok(
        &[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            tag,
        ],
        None,
    ))
    .unwrap();
    let platform = docker_ok(
        &[
            "image",
            "inspect",
            "--format",
            "{{.Os}}/{{.Architecture}}",
            tag,
        ],
        None,
    );
    (id, layers, platform)
}

fn run_cli(docker: &DockerCli, cmd: ImagesCommand) -> (Result<i32, Error>, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = images_command::run_with(&cmd, &BTreeMap::new(), docker, &mut out, &mut err);
    (
        result,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn digest_of_docker_save_matches_docker() {
    let docker = engine();
    let image = TinyImage::build("digest");
    let archive = image.save();
    let images = images_command::digest_file(&archive).unwrap();
    assert_eq!(images.len(), 1);
    let digest = &images[0];
    let (id, layers, platform) = inspect(&image.tag);
    // This engine uses Docker's classic image store, where `.Id` is the config digest. With
    // the containerd image store `.Id` is a manifest digest: bottle never relies on it.
    assert_eq!(digest.config_digest, id);
    assert_eq!(digest.diff_ids, layers);
    assert_eq!(digest.diff_ids.len(), 2);
    assert_eq!(digest.repo_tags, vec![image.tag.clone()]);
    assert_eq!(format!("{}/{}", digest.os, digest.architecture), platform);

    // The same through the command: a file, then a stream script.
    let (code, out, _) = run_cli(
        &docker,
        ImagesCommand::Digest {
            archive: Some(archive.clone()),
            stream: None,
            json: true,
        },
    );
    assert_eq!(code.unwrap(), exit_code::SUCCESS);
    let parsed: Vec<ImageDigest> = serde_json::from_str(&out).unwrap();
    assert_eq!(&parsed, &images);
    let script = image.script("stream", &format!("exec cat '{}'", archive.display()));
    let (code, out, _) = run_cli(
        &docker,
        ImagesCommand::Digest {
            archive: None,
            stream: Some(script),
            json: false,
        },
    );
    assert_eq!(code.unwrap(), exit_code::SUCCESS);
    assert!(out.contains(&format!("config digest: {id}")), "{out}");
    assert!(out.contains(&format!("  {}\n", layers[1])), "{out}");
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn lock_then_verify_and_a_readable_difference() {
    let docker = engine();
    let image = TinyImage::build("verify");
    let archive = image.save();
    let script = image.script("stream", &format!("exec cat '{}'", archive.display()));
    let lock_path = image.dir.path().join("nix/images.lock.json");
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let streams = vec![RoleStream {
        role: ImageRole::Agent,
        command: script.clone(),
    }];

    let (code, out, _) = run_cli(
        &docker,
        ImagesCommand::Lock {
            lock: lock_path.clone(),
            streams: streams.clone(),
        },
    );
    assert_eq!(code.unwrap(), exit_code::SUCCESS, "{out}");
    let lock = ImageLock::read(&lock_path).unwrap();
    let (id, layers, _) = inspect(&image.tag);
    let system = archive::read_single_image(std::fs::File::open(&archive).unwrap())
        .unwrap()
        .system();
    let recorded = lock.get(&system, ImageRole::Agent).unwrap();
    assert_eq!(recorded.image, image.tag);
    assert_eq!(recorded.config_digest, id);
    assert_eq!(recorded.diff_ids, layers);

    let (code, out, err) = run_cli(
        &docker,
        ImagesCommand::Verify {
            lock: lock_path.clone(),
            streams: streams.clone(),
        },
    );
    assert_eq!(code.unwrap(), exit_code::SUCCESS, "{out}{err}");
    assert!(out.contains("matches"), "{out}");

    // Another layer recorded: verify fails (exit 1) and says which role, field and values.
    let text = std::fs::read_to_string(&lock_path).unwrap();
    let other = format!("sha256:{}", "0".repeat(64));
    std::fs::write(&lock_path, text.replace(&layers[1], &other)).unwrap();
    let (code, _, err) = run_cli(
        &docker,
        ImagesCommand::Verify {
            lock: lock_path.clone(),
            streams: streams.clone(),
        },
    );
    assert_eq!(code.unwrap(), exit_code::FAILURE);
    let want = format!(
        "agent ({system}): diff_ids[1]:\n    recorded: {other}\n    computed: {}",
        layers[1]
    );
    assert!(err.contains(&want), "{err}");

    // No lock file: bad input (exit 2).
    let (code, _, _) = run_cli(
        &docker,
        ImagesCommand::Verify {
            lock: image.dir.path().join("missing.json"),
            streams,
        },
    );
    assert_eq!(code.unwrap_err().exit_code(), exit_code::USAGE);
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn a_missing_nix_image_is_streamed_into_docker_load() {
    let docker = engine();
    let image = TinyImage::build("load");
    let archive = image.save();
    let script = image.script("stream", &format!("exec cat '{}'", archive.display()));
    let (id, _, _) = inspect(&image.tag);
    docker_ok(&["rmi", &image.tag], None);
    assert!(!loader::is_loaded(&docker, &image.tag).unwrap());

    let nix = ImageRef {
        role: ImageRole::Agent,
        reference: image.tag.clone(),
        source: ImageSource::Nix {
            var: "BOT_BOTTLE_NIX_AGENT_IMAGE".into(),
            stream: Some(script.display().to_string()),
        },
    };
    let mut lines = Vec::new();
    let outcome =
        loader::load_if_missing(&docker, &nix, &mut |l| lines.push(l.to_string())).unwrap();
    assert_eq!(outcome, LoadOutcome::Loaded);
    assert_eq!(
        lines,
        [format!(
            "loading agent image {} from the Nix store",
            image.tag
        )]
    );
    assert_eq!(inspect(&image.tag).0, id);
    // Present now: nothing to do, no progress line.
    let mut again = Vec::new();
    loader::ensure_loaded(&docker, &nix, &mut |l| again.push(l.to_string())).unwrap();
    assert!(again.is_empty());

    // A stream that writes another image: docker load succeeds, the tag is still missing.
    let wrong = ImageRef {
        reference: format!("{}-other", image.tag),
        ..nix.clone()
    };
    let msg = format!(
        "{:#}",
        loader::ensure_loaded(&docker, &wrong, &mut |_| {}).unwrap_err()
    );
    assert!(
        msg.contains("has no") && msg.contains("Loaded image"),
        "{msg}"
    );

    // A missing image from a flag: the error names the image, the role and the ways out.
    let flag = ImageRef {
        role: ImageRole::Pipelock,
        reference: format!("{}-absent", image.tag),
        source: ImageSource::Flag {
            flag: "--pipelock-image".into(),
        },
    };
    let msg = format!(
        "{:#}",
        loader::ensure_loaded(&docker, &flag, &mut |_| {}).unwrap_err()
    );
    assert!(
        msg.contains("pipelock image")
            && msg.contains("--pipelock-image")
            && msg.contains("docker load"),
        "{msg}"
    );

    // Unset: bad input, with the advice.
    let unset = ImageRef::resolve(ImageRole::Mitmproxy, None, &BTreeMap::new());
    let err = loader::ensure_loaded(&docker, &unset, &mut |_| {}).unwrap_err();
    assert_eq!(err.exit_code(), exit_code::USAGE);
    assert!(err.to_string().contains("nix run .#bottle"), "{err}");
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn truncated_and_corrupt_archives_are_named() {
    let docker = engine();
    let image = TinyImage::build("corrupt");
    let archive = image.save();
    let bytes = std::fs::read(&archive).unwrap();

    let write = |name: &str, data: &[u8]| -> PathBuf {
        let p = image.dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let half = write("half.tar", &bytes[..bytes.len() / 2]);
    let msg = format!("{:#}", images_command::digest_file(&half).unwrap_err());
    assert!(msg.contains("truncated"), "{msg}");

    // Flip bytes inside the second layer's file: the tar stays valid, its diff_id does not.
    let at = bytes
        .windows(MARKER.len())
        .position(|w| w == MARKER)
        .expect("the marker is in the archive");
    let mut flipped = bytes.clone();
    for b in &mut flipped[at..at + 8] {
        *b ^= 0xff;
    }
    let corrupt = write("corrupt.tar", &flipped);
    let msg = format!("{:#}", images_command::digest_file(&corrupt).unwrap_err());
    assert!(
        msg.contains("corrupt") && msg.contains("layer 2") && msg.contains("diff_id"),
        "{msg}"
    );

    // The same through stream scripts: one cut short, one that fails half-way.
    let cut = image.script("cut", &format!("head -c 3000 '{}'", archive.display()));
    let msg = format!(
        "{:#}",
        images_command::digest_stream(&docker, &cut).unwrap_err()
    );
    assert!(msg.contains("truncated") && msg.contains("cut"), "{msg}");
    let fails = image.script(
        "fails",
        &format!(
            "head -c 3000 '{}'; echo 'stream: out of disk' >&2; exit 3",
            archive.display()
        ),
    );
    let msg = format!(
        "{:#}",
        images_command::digest_stream(&docker, &fails).unwrap_err()
    );
    assert!(
        msg.contains("failed (exit 3)") && msg.contains("out of disk"),
        "{msg}"
    );
    let missing = image.dir.path().join("no-such-script");
    assert!(images_command::digest_stream(&docker, &missing).is_err());
    // Not a tar at all.
    let junk = write("junk.tar", &[0x42; 4096]);
    let msg = format!("{:#}", images_command::digest_file(&junk).unwrap_err());
    assert!(msg.contains("junk.tar"), "{msg}");
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn status_and_load_use_the_nix_variables() {
    let docker = engine();
    let image = TinyImage::build("status");
    let archive = image.save();
    let script = image.script("stream", &format!("exec cat '{}'", archive.display()));
    docker_ok(&["rmi", &image.tag], None);
    let env = BTreeMap::from([
        ("BOT_BOTTLE_NIX_AGENT_IMAGE".to_string(), image.tag.clone()),
        (
            "BOT_BOTTLE_NIX_AGENT_STREAM".to_string(),
            script.display().to_string(),
        ),
        // An override: status says the pin is overridden; the image is the base.
        (
            "BOT_BOTTLE_NIX_PIPELOCK_IMAGE".to_string(),
            "pinned:1".to_string(),
        ),
        ("BOT_BOTTLE_PIPELOCK_IMAGE".to_string(), image.base.clone()),
    ]);
    let run = |cmd: ImagesCommand| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = images_command::run_with(&cmd, &env, &docker, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };

    let (code, out, _) = run(ImagesCommand::Status);
    assert_eq!(code.unwrap(), exit_code::SUCCESS);
    let line = |role: &str| {
        out.lines()
            .find(|l| l.starts_with(role))
            .unwrap_or_else(|| panic!("no {role} line in {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        line("agent").starts_with(&format!(
            "agent {} Nix pin (BOT_BOTTLE_NIX_AGENT_IMAGE) no",
            image.tag
        )),
        "{out}"
    );
    assert_eq!(
        line("pipelock"),
        format!("pipelock {} BOT_BOTTLE_PIPELOCK_IMAGE yes", image.base)
    );
    assert_eq!(line("mitmproxy"), "mitmproxy <mitmproxy image> unset -");
    assert!(
        out.contains("pinned:1, is overridden by BOT_BOTTLE_PIPELOCK_IMAGE"),
        "{out}"
    );

    let (code, out, err) = run(ImagesCommand::Load {
        roles: vec![ImageRole::Agent, ImageRole::Pipelock],
    });
    assert_eq!(code.unwrap(), exit_code::SUCCESS, "{err}");
    assert_eq!(
        out,
        format!(
            "agent: {} loaded\npipelock: {} already loaded\n",
            image.tag, image.base
        )
    );
    assert_eq!(
        err,
        format!(
            "bottle: loading agent image {} from the Nix store\n",
            image.tag
        )
    );
    assert!(loader::is_loaded(&docker, &image.tag).unwrap());

    // All three: the unset mitmproxy image is bad input.
    let (code, _, _) = run(ImagesCommand::Load { roles: vec![] });
    assert_eq!(code.unwrap_err().exit_code(), exit_code::USAGE);
}
