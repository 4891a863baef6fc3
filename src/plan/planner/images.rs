//! The images of one launch: which image each role uses (checked to be a plausible
//! reference), and the steps that make sure Docker has them. Pure.

use crate::error::Error;
use crate::host_snapshot::HostSnapshot;
use crate::image::image_ref::{ImageRef, ImageRole};
use crate::plan::bottle_plan::PlanImages;
use crate::plan::phase::Lane;
use crate::plan::planner::plan_options::PlanOptions;
use crate::plan::step::{Action, Step};

/// Flag, then variable, then the Nix pin, per role; a reference docker would misread is
/// refused.
pub(crate) fn images(options: &PlanOptions, host: &HostSnapshot) -> Result<PlanImages, Error> {
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
            return Err(Error::usage(format!(
                "the {} image reference `{}` is not valid: no spaces, control characters or leading `-`",
                image.role.name(),
                image.reference.escape_debug()
            )));
        }
    }
    Ok(images)
}

/// The images phase's lanes: each image present (or loaded), all at once.
pub(crate) fn image_lanes(images: &PlanImages) -> Vec<Lane> {
    images
        .all()
        .into_iter()
        .map(|image| Lane {
            name: format!("{} image", image.role.name()),
            steps: vec![Step::new(Action::EnsureImage {
                image: image.clone(),
            })],
        })
        .collect()
}
