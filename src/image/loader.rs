//! Before a launch: make sure each image is in Docker. `docker image inspect name:tag`;
//! when it is missing and the Nix app gave a stream script, `script | docker load`, then
//! check the tag again. Nix tags are content hashes, so "this tag is present" means "this
//! exact image is loaded". I/O (through the engine).

use crate::engine::answer::Answer;
use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::image::image_ref::{ImageRef, ImageSource, inspect_args};
use anyhow::bail;
use std::path::Path;

/// What [`load_if_missing`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Docker already had the image.
    Present,
    /// It was streamed from the Nix store into `docker load`.
    Loaded,
}

/// Whether Docker has `reference`. A missing image is `Ok(false)`; an engine that does not
/// answer is an error (so that a launch does not try to load what it cannot check).
pub fn is_loaded(docker: &dyn DockerEngine, reference: &str) -> Result<bool, Error> {
    let done = docker.run(&Call::new(inspect_args(reference)))?;
    match Answer::of(&done) {
        Answer::Done => Ok(true),
        answer if answer.is_gone() => Ok(false),
        _ => Err(Error::Docker {
            command: format!("docker image inspect {reference}"),
            code: done.code,
            stderr: done.stderr,
        }),
    }
}

/// Makes sure `image` is in Docker, loading it from its Nix stream script if needed.
/// `progress` gets one line before a load starts.
pub fn ensure_loaded(
    docker: &dyn DockerEngine,
    image: &ImageRef,
    progress: &mut dyn FnMut(&str),
) -> Result<(), Error> {
    load_if_missing(docker, image, progress).map(|_| ())
}

/// [`ensure_loaded`], saying whether it had to load.
pub fn load_if_missing(
    docker: &dyn DockerEngine,
    image: &ImageRef,
    progress: &mut dyn FnMut(&str),
) -> Result<LoadOutcome, Error> {
    if !image.is_set() {
        return Err(Error::usage(image.advice()));
    }
    if is_loaded(docker, &image.reference)? {
        return Ok(LoadOutcome::Present);
    }
    load(docker, image, progress)?;
    Ok(LoadOutcome::Loaded)
}

/// Streams a missing image from its Nix stream script into `docker load`, and checks it
/// is there afterwards; an image from a flag or a variable cannot be loaded: says what to
/// do instead.
fn load(
    docker: &dyn DockerEngine,
    image: &ImageRef,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    let role = image.role.name();
    let reference = &image.reference;
    let stream = match &image.source {
        ImageSource::Nix {
            stream: Some(stream),
            ..
        } => stream,
        ImageSource::Nix { var, stream: None } => bail!(
            "the {role} image {reference} (pinned by {var}) is not loaded in Docker, and {stream_var} is not set, so bottle cannot stream it: run bottle through `nix run .#bottle -- …`, or load it yourself (`$(nix build --print-out-paths .#{role}-image) | docker load`)",
            stream_var = image.role.nix_stream_var()
        ),
        ImageSource::Flag { flag } => bail!(
            "the {role} image {reference} (from {flag}) is not in Docker: build it or `docker load` it, pass another image with {flag}, or leave the flag out to use the Nix app's pinned image (`nix run .#bottle -- …`)"
        ),
        ImageSource::Env { var } => bail!(
            "the {role} image {reference} (from {var}) is not in Docker: build it or `docker load` it, set {var} to another image, or unset it to use the Nix app's pinned image (`nix run .#bottle -- …`)"
        ),
        ImageSource::Unset => bail!("{}", image.advice()),
    };
    let stream_path = Path::new(stream);
    if !stream_path.exists() {
        bail!(
            "the {role} image {reference} is not loaded and its stream script {stream} does not exist (garbage-collected from the Nix store?): run bottle again through `nix run .#bottle -- …`, which rebuilds it"
        );
    }
    progress(&format!(
        "loading {role} image {reference} from the Nix store"
    ));
    let done = docker.pipe_from(stream_path, &["load".to_string()])?;
    let output = || {
        let text = format!("{}\n{}", done.stdout_text(), done.stderr.trim());
        let lines: Vec<&str> = text.trim().lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    if !done.ok() {
        bail!(
            "loading the {role} image failed: `{stream} | docker load` exited {}:\n{}",
            done.code,
            output()
        );
    }
    if !is_loaded(docker, reference).map_err(Error::into_anyhow)? {
        bail!(
            "`{stream} | docker load` succeeded but Docker has no {reference} afterwards (the stream script is for another image?); docker load said:\n{}",
            output()
        );
    }
    Ok(())
}
