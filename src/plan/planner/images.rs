//! The images of one launch: which image each role uses (checked to be a plausible
//! reference), the steps that make sure Docker has them, and the `--cwd` image built on
//! the agent's. Pure.

use crate::exit_code::UserError;
use crate::host_snapshot::HostSnapshot;
use crate::image::contract::ImageContract;
use crate::image::image_ref::{ImageRef, ImageRole};
use crate::plan::bottle_plan::{DerivedImage, PlanImages};
use crate::plan::docker_command::{DockerCommand, Stdin};
use crate::plan::planner::names::Names;
use crate::plan::planner::plan_options::PlanOptions;
use crate::plan::role::Role;
use crate::plan::step::{Action, Step};
use crate::plan::undo::Undo;

/// Flag, then variable, then the Nix pin, per role; a reference docker would misread is
/// refused.
pub(crate) fn images(options: &PlanOptions, host: &HostSnapshot) -> Result<PlanImages, UserError> {
    let env = &host.env;
    let images = PlanImages {
        agent: ImageRef::resolve(ImageRole::Agent, options.agent_image.as_deref(), env),
        pipelock: ImageRef::resolve(ImageRole::Pipelock, options.pipelock_image.as_deref(), env),
        mitmproxy: ImageRef::resolve(
            ImageRole::Mitmproxy,
            options.mitmproxy_image.as_deref(),
            env,
        ),
    };
    for image in images.all() {
        let bad = image
            .reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
        if bad || image.reference.starts_with('-') {
            return Err(UserError::new(format!(
                "the {} image reference `{}` is not valid: no spaces, control characters or leading `-`",
                image.role.name(),
                image.reference.escape_debug()
            )));
        }
    }
    Ok(images)
}

/// The images phase: each image present (or loaded), then the `--cwd` build.
pub(crate) fn image_steps(
    images: &PlanImages,
    derived: Option<&(DerivedImage, Step)>,
) -> Vec<Step> {
    let mut steps: Vec<Step> = images
        .all()
        .into_iter()
        .map(|image| {
            Step::new(Action::EnsureImage {
                image: image.clone(),
            })
        })
        .collect();
    steps.extend(derived.map(|(_, build)| build.clone()));
    steps
}

/// `--cwd`: the agent image with the working directory copied into its work directory,
/// and the step that builds it (undone by removing the image).
pub(crate) fn derived_image(
    names: &Names,
    agent: &ImageRef,
    host: &HostSnapshot,
) -> (DerivedImage, Step) {
    let c = &ImageContract::get().agent;
    let tag = names.cwd_image.clone();
    let context = host.cwd.display().to_string();
    let dockerfile = format!(
        "FROM {}\nCOPY --chown={} . {}\n",
        agent.arg(),
        c.user_spec(),
        c.workdir
    );
    let build = DockerCommand::new(["build", "--quiet", "--tag", &tag])
        .args(names.labels.args(Role::CwdImage))
        .args(["--file", "-", &context])
        .stdin(Stdin::Text { text: dockerfile });
    let step = Step::run(build)
        .announce(format!("building {tag} from {context}"))
        .undo(Undo::Image { tag: tag.clone() });
    (DerivedImage { tag, context }, step)
}
