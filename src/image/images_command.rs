//! `bottle images …`: what is pinned and loaded, loading from the Nix store, and the
//! recorded identity of the Nix-built images (digest, verify, lock). The clap types and
//! their runner. I/O: reads archives, stdin and the lock file, writes the lock file;
//! processes go through `docker`.

use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::exit_code;
use crate::image::archive::{self, ImageDigest};
use crate::image::image_ref::{ImageRef, ImageRole, ImageSource};
use crate::image::loader::{self, LoadOutcome};
use crate::image::lock::{self, DEFAULT_LOCK_PATH, ImageLock};
use crate::table::Table;
use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

/// `bottle images …`.
#[derive(Debug, Clone, Subcommand)]
pub enum ImagesCommand {
    /// Show each role's image, where it comes from, and whether Docker has it.
    ///
    /// The image of a role is the first of: its flag at launch, BOT_BOTTLE_<ROLE>_IMAGE,
    /// the Nix app's pinned image (BOT_BOTTLE_NIX_<ROLE>_IMAGE). Exit 0 unless Docker
    /// cannot be asked at all.
    Status,
    /// Load the images Docker does not have, streaming them from the Nix store.
    ///
    /// Runs `docker image inspect` for each image; a missing Nix-pinned image is streamed
    /// with its script (BOT_BOTTLE_NIX_<ROLE>_STREAM) into `docker load`, then checked
    /// again. A launch does the same by itself; this only does it ahead of time.
    Load {
        /// Roles to load: agent, pipelock, mitmproxy (default: all three).
        #[arg(value_name = "ROLE", value_parser = parse_role)]
        roles: Vec<ImageRole>,
    },
    /// Print the identity of the images in a docker-archive.
    ///
    /// Reads a docker-archive (the output of `docker save` or of a Nix image stream script)
    /// as a stream and prints, per image, its name:tag, system, config digest and the
    /// diff_id of each layer, after checking every layer against the diff_ids its config
    /// records. A truncated or corrupt archive is an error (exit 1). These digests, not
    /// `docker image inspect .Id` (a manifest digest with the containerd image store), are
    /// what `verify` and `lock` compare.
    Digest {
        /// The archive file, or `-` for stdin.
        #[arg(
            value_name = "ARCHIVE",
            required_unless_present = "stream",
            conflicts_with = "stream"
        )]
        archive: Option<PathBuf>,
        /// Run this program (e.g. a Nix image stream script) and read the archive from its
        /// stdout.
        #[arg(long, value_name = "CMD")]
        stream: Option<PathBuf>,
        /// Print JSON (a list of {repo_tags, config_digest, diff_ids, os, architecture}).
        #[arg(long)]
        json: bool,
    },
    /// Check the Nix-built images against the recorded lock file.
    ///
    /// Streams each image (its stream script, never `docker load`), computes its config
    /// digest and layer diff_ids, and compares them and its name:tag with the lock's record
    /// for the image's system. Exit 0 when all match; 1 when any differs (the differences,
    /// recorded vs computed, go to stderr) or a stream fails; 2 for bad input (no lock file,
    /// no stream for a role).
    Verify {
        /// The lock file.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_LOCK_PATH)]
        lock: PathBuf,
        /// ROLE=CMD: the stream script of a role (agent, pipelock, mitmproxy); repeat per
        /// role. Default: all three from BOT_BOTTLE_NIX_<ROLE>_STREAM (set by `nix run .#bottle`).
        #[arg(long = "stream", value_name = "ROLE=CMD", value_parser = parse_role_stream)]
        streams: Vec<RoleStream>,
    },
    /// Record the Nix-built images' digests in the lock file.
    ///
    /// Streams each image and writes its name:tag, config digest and diff_ids under its
    /// system (e.g. x86_64-linux), keeping what the file records for other systems and
    /// roles. Run it after a change to the images or the nixpkgs pin, then commit the file.
    Lock {
        /// The lock file.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_LOCK_PATH)]
        lock: PathBuf,
        /// ROLE=CMD: the stream script of a role; repeat per role. Default: all three from
        /// BOT_BOTTLE_NIX_<ROLE>_STREAM.
        #[arg(long = "stream", value_name = "ROLE=CMD", value_parser = parse_role_stream)]
        streams: Vec<RoleStream>,
    },
}

/// `--stream ROLE=CMD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStream {
    pub role: ImageRole,
    pub command: PathBuf,
}

fn parse_role(s: &str) -> Result<ImageRole, String> {
    ImageRole::parse(s)
        .ok_or_else(|| format!("`{s}` is not a role: expected agent, pipelock or mitmproxy"))
}

fn parse_role_stream(s: &str) -> Result<RoleStream, String> {
    let (role, command) = s.split_once('=').ok_or_else(|| {
        format!("`{s}`: expected ROLE=CMD, e.g. agent=/nix/store/…-stream-bot-bottle-agent")
    })?;
    if command.is_empty() {
        return Err(format!("`{s}`: the command after `=` is empty"));
    }
    Ok(RoleStream {
        role: parse_role(role)?,
        command: PathBuf::from(command),
    })
}

/// Runs one `bottle images` command, printing on stdout and stderr; returns the exit code.
pub fn run(
    cmd: &ImagesCommand,
    env: &BTreeMap<String, String>,
    docker: &dyn DockerEngine,
) -> Result<i32, Error> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run_with(cmd, env, docker, &mut stdout.lock(), &mut stderr.lock())
}

/// [`run`] with its output streams given.
pub fn run_with(
    cmd: &ImagesCommand,
    env: &BTreeMap<String, String>,
    docker: &dyn DockerEngine,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, Error> {
    match cmd {
        ImagesCommand::Status => status(env, docker, out),
        ImagesCommand::Load { roles } => load(roles, env, docker, out, err),
        ImagesCommand::Digest {
            archive,
            stream,
            json,
        } => {
            let images = match (archive, stream) {
                (_, Some(cmd)) => digest_stream(docker, cmd)?,
                (Some(path), None) if path.as_os_str() == "-" => {
                    archive::read_archive(BufReader::new(std::io::stdin().lock()))
                        .context("reading a docker-archive from stdin")?
                }
                (Some(path), None) => digest_file(path)?,
                (None, None) => {
                    return Err(Error::usage("give an ARCHIVE, `-` or --stream CMD"));
                }
            };
            if *json {
                serde_json::to_writer_pretty(&mut *out, &images)?;
                writeln!(out)?;
            } else {
                for (i, image) in images.iter().enumerate() {
                    if i > 0 {
                        writeln!(out)?;
                    }
                    write!(out, "{}", render_digest(image))?;
                }
            }
            Ok(exit_code::SUCCESS)
        }
        ImagesCommand::Verify { lock, streams } => verify(lock, streams, env, docker, out, err),
        ImagesCommand::Lock { lock, streams } => record(lock, streams, env, docker, out),
    }
}

/// The text form of one image's digest.
pub fn render_digest(image: &ImageDigest) -> String {
    let tags = if image.repo_tags.is_empty() {
        "(none)".to_string()
    } else {
        image.repo_tags.join(", ")
    };
    let mut s = format!(
        "image:         {tags}\nsystem:        {}\nconfig digest: {}\ndiff_ids:      {} layers\n",
        image.system(),
        image.config_digest,
        image.diff_ids.len()
    );
    for d in &image.diff_ids {
        s.push_str(&format!("  {d}\n"));
    }
    s
}

/// The digests of an archive file.
pub fn digest_file(path: &Path) -> Result<Vec<ImageDigest>, Error> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::usage(format!("cannot open {}: {e}", path.display())))?;
    Ok(
        archive::read_archive(BufReader::with_capacity(1 << 20, file))
            .with_context(|| format!("reading the docker-archive {}", path.display()))?,
    )
}

/// The digests of what a stream script writes; its failure is reported over a parse error.
pub fn digest_stream(docker: &dyn DockerEngine, program: &Path) -> Result<Vec<ImageDigest>> {
    let mut output = docker.stream_stdout(program)?;
    match archive::read_archive(&mut output) {
        Ok(images) => {
            output.finish()?;
            Ok(images)
        }
        Err(e) => Err(match output.abort() {
            Some(failure) => anyhow!("{failure}\n(the archive it wrote is unreadable: {e:#})"),
            None => e.context(format!(
                "reading the docker-archive from {}",
                program.display()
            )),
        }),
    }
}

fn single(images: Vec<ImageDigest>, role: ImageRole, program: &Path) -> Result<ImageDigest> {
    match <[ImageDigest; 1]>::try_from(images) {
        Ok([image]) => Ok(image),
        Err(images) => Err(anyhow!(
            "the {} stream {} wrote {} images; expected exactly one",
            role.name(),
            program.display(),
            images.len()
        )),
    }
}

/// The streams given, or all three from the Nix app's variables.
fn streams_or_env(
    streams: &[RoleStream],
    env: &BTreeMap<String, String>,
) -> Result<Vec<RoleStream>, Error> {
    if !streams.is_empty() {
        let mut seen = Vec::new();
        for s in streams {
            if seen.contains(&s.role) {
                return Err(Error::usage(format!(
                    "--stream {} is given twice",
                    s.role.name()
                )));
            }
            seen.push(s.role);
        }
        return Ok(streams.to_vec());
    }
    ImageRole::ALL
        .iter()
        .map(|&role| match env.get(role.nix_stream_var()).filter(|v| !v.is_empty()) {
            Some(cmd) => Ok(RoleStream {
                role,
                command: PathBuf::from(cmd),
            }),
            None => Err(Error::usage(format!(
                "no stream for the {role} image: {var} is not set (run through `nix run .#bottle -- images …`, which sets it) and no --stream {role}=CMD was given",
                role = role.name(),
                var = role.nix_stream_var()
            ))),
        })
        .collect()
}

fn computed(docker: &dyn DockerEngine, stream: &RoleStream) -> Result<ImageDigest> {
    let images = digest_stream(docker, &stream.command)
        .with_context(|| format!("streaming the {} image", stream.role.name()))?;
    single(images, stream.role, &stream.command)
}

fn verify(
    lock_path: &Path,
    streams: &[RoleStream],
    env: &BTreeMap<String, String>,
    docker: &dyn DockerEngine,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, Error> {
    let streams = streams_or_env(streams, env)?;
    let lock = read_lock(lock_path)?;
    let shown = lock_path.display().to_string();
    let mut differences = Vec::new();
    for stream in &streams {
        let image = computed(docker, stream)?;
        let diffs = lock.verify(stream.role, &image);
        if diffs.is_empty() {
            writeln!(
                out,
                "{} ({}): {} matches {shown} ({}, {} layers)",
                stream.role.name(),
                image.system(),
                image.image_name().unwrap_or("(no name:tag)"),
                image.config_digest,
                image.diff_ids.len()
            )?;
        }
        differences.extend(diffs);
    }
    if differences.is_empty() {
        Ok(exit_code::SUCCESS)
    } else {
        write!(err, "{}", lock::render_differences(&shown, &differences))?;
        Ok(exit_code::FAILURE)
    }
}

fn read_lock(path: &Path) -> Result<ImageLock, Error> {
    if !path.exists() {
        return Err(Error::usage(format!(
            "{} does not exist: record it with `nix run .#bottle -- images lock` (or pass --lock PATH)",
            path.display()
        )));
    }
    ImageLock::read(path).map_err(|e| Error::usage(format!("{e:#}")))
}

fn record(
    lock_path: &Path,
    streams: &[RoleStream],
    env: &BTreeMap<String, String>,
    docker: &dyn DockerEngine,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let streams = streams_or_env(streams, env)?;
    let mut lock = if lock_path.exists() {
        read_lock(lock_path)?
    } else {
        ImageLock::new()
    };
    for stream in &streams {
        let image = computed(docker, stream)?;
        lock.record(stream.role, &image)?;
        writeln!(
            out,
            "{} ({}): {} {} ({} layers)",
            stream.role.name(),
            image.system(),
            image.image_name().unwrap_or_default(),
            image.config_digest,
            image.diff_ids.len()
        )?;
    }
    lock.write(lock_path)?;
    writeln!(out, "wrote {}", lock_path.display())?;
    Ok(exit_code::SUCCESS)
}

fn source_text(image: &ImageRef) -> String {
    match &image.source {
        ImageSource::Flag { flag } => flag.clone(),
        ImageSource::Env { var } => var.clone(),
        ImageSource::Nix { var, stream } => match stream {
            Some(_) => format!("Nix pin ({var})"),
            None => format!("Nix pin ({var}, no stream script)"),
        },
        ImageSource::Unset => "unset".to_string(),
    }
}

fn status(
    env: &BTreeMap<String, String>,
    docker: &dyn DockerEngine,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let engine = docker.available();
    let mut table = Table::new(["ROLE", "IMAGE", "FROM", "LOADED"]);
    let mut notes = Vec::new();
    for role in ImageRole::ALL {
        let image = ImageRef::resolve(role, None, env);
        let loaded = if !image.is_set() {
            notes.push(image.advice());
            "-".to_string()
        } else if !engine {
            "unknown".to_string()
        } else if loader::is_loaded(docker, &image.reference)? {
            "yes".to_string()
        } else if matches!(
            image.source,
            ImageSource::Nix {
                stream: Some(_),
                ..
            }
        ) {
            "no (`bottle images load` or a launch loads it)".to_string()
        } else {
            "no".to_string()
        };
        if !matches!(image.source, ImageSource::Nix { .. })
            && let Some(pin) = env.get(role.nix_image_var()).filter(|v| !v.is_empty())
        {
            notes.push(format!(
                "the Nix pin of the {} image, {pin}, is overridden by {}",
                role.name(),
                source_text(&image)
            ));
        }
        table.row([
            role.name().to_string(),
            image.arg(),
            source_text(&image),
            loaded,
        ]);
    }
    write!(out, "{}", table.render())?;
    if !engine {
        notes.push(
            "no Docker engine answers (`docker version` failed): cannot tell what is loaded".into(),
        );
    }
    for n in notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(exit_code::SUCCESS)
}

fn load(
    roles: &[ImageRole],
    env: &BTreeMap<String, String>,
    docker: &dyn DockerEngine,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, Error> {
    let roles = if roles.is_empty() {
        ImageRole::ALL.to_vec()
    } else {
        roles.to_vec()
    };
    for role in roles {
        let image = ImageRef::resolve(role, None, env);
        let mut progress = |line: &str| {
            let _ = writeln!(err, "bottle: {line}");
        };
        let outcome = loader::load_if_missing(docker, &image, &mut progress)?;
        let what = match outcome {
            LoadOutcome::Present => "already loaded",
            LoadOutcome::Loaded => "loaded",
        };
        writeln!(out, "{}: {} {what}", role.name(), image.reference)?;
    }
    Ok(exit_code::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        cmd: ImagesCommand,
    }

    fn parse(args: &[&str]) -> Result<ImagesCommand, clap::Error> {
        Top::try_parse_from(std::iter::once("images").chain(args.iter().copied())).map(|t| t.cmd)
    }

    #[test]
    fn parses_the_nix_check_command_line() {
        let cmd = parse(&[
            "verify",
            "--lock",
            "/nix/store/x-images.lock.json",
            "--stream",
            "agent=/nix/store/a-stream",
            "--stream",
            "pipelock=/nix/store/p-stream",
            "--stream",
            "mitmproxy=/nix/store/m-stream",
        ])
        .unwrap();
        let ImagesCommand::Verify { lock, streams } = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(lock, Path::new("/nix/store/x-images.lock.json"));
        let roles: Vec<ImageRole> = streams.iter().map(|s| s.role).collect();
        assert_eq!(roles, ImageRole::ALL);
        assert_eq!(streams[2].command, Path::new("/nix/store/m-stream"));
    }

    #[test]
    fn defaults_and_usage_errors() {
        let ImagesCommand::Lock { lock, streams } = parse(&["lock"]).unwrap() else {
            panic!()
        };
        assert_eq!(lock, Path::new(DEFAULT_LOCK_PATH));
        assert!(streams.is_empty());
        assert!(parse(&["verify", "--stream", "dog=/x"]).is_err());
        assert!(parse(&["verify", "--stream", "agent"]).is_err());
        assert!(parse(&["digest"]).is_err());
        assert!(parse(&["digest", "a.tar", "--stream", "/x"]).is_err());
        assert!(parse(&["load", "agent", "cat"]).is_err());
        assert!(matches!(
            parse(&["digest", "-"]).unwrap(),
            ImagesCommand::Digest { .. }
        ));
    }

    #[test]
    fn streams_come_from_the_nix_variables() {
        let env = BTreeMap::from([
            ("BOT_BOTTLE_NIX_AGENT_STREAM".to_string(), "/a".to_string()),
            (
                "BOT_BOTTLE_NIX_PIPELOCK_STREAM".to_string(),
                "/p".to_string(),
            ),
        ]);
        let e = streams_or_env(&[], &env).unwrap_err();
        assert_eq!(e.exit_code(), exit_code::USAGE);
        assert!(
            e.to_string().contains("BOT_BOTTLE_NIX_MITMPROXY_STREAM"),
            "{e}"
        );
        let mut env = env;
        env.insert("BOT_BOTTLE_NIX_MITMPROXY_STREAM".into(), "/m".into());
        let s = streams_or_env(&[], &env).unwrap();
        assert_eq!(s[1].command, Path::new("/p"));
        let twice = [s[0].clone(), s[0].clone()];
        assert!(streams_or_env(&twice, &env).is_err());
    }
}
