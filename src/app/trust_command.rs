//! `bottle allow [FILE] [--revoke]`, and the trust prompt of `bottle run`: an agent from
//! a working directory's `bot-bottle.json` runs only once the user has allowed that file
//! as it is now (by path and content hash), asked on a terminal, an error naming `bottle
//! allow` elsewhere. The store itself is `config::trust`. I/O (the store file, the
//! terminal).

use crate::config::catalog::{Agent, Catalog, ManifestOrigin, ManifestText};
use crate::config::manifest_files;
use crate::config::trust::{self, Trust};
use crate::error::Error;
use crate::exit_code;
use crate::host_snapshot::HostSnapshot;
use crate::progress::{Progress, out_line};
use crate::prompt;
use std::io::IsTerminal;

/// An agent from the working directory's manifest runs only once the user has allowed
/// that file as it is now: asked on a terminal, an error naming `bottle allow` elsewhere.
pub(super) fn check_working_dir_trust(
    agent: &Agent,
    catalog: &Catalog,
    files: &[ManifestText],
    host: &HostSnapshot,
    progress: &Progress,
) -> Result<(), Error> {
    let Some(file) = files
        .iter()
        .find(|f| matches!(f.origin, ManifestOrigin::WorkingDir(_)))
    else {
        return Ok(());
    };
    // By its real path, as `bottle allow` records it.
    let path = std::fs::canonicalize(file.origin.label())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.origin.label().to_string());
    let store_path = trust::store_path(&host.env, &host.home);
    let mut store = trust::load(&store_path)?;
    let state = store.check(&path, &file.text);
    if state == Trust::Allowed {
        progress.warn(&format!(
            "agent `{}` is defined by {path} (the working directory's manifest, allowed by you)",
            agent.name
        ));
        return Ok(());
    }
    let why = match state {
        Trust::Changed => "has changed since you allowed it",
        _ => "is not allowed yet",
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(Error::usage(format!(
            "agent `{}` comes from {path}, which {why}: a repository's manifest chooses what its agents run. Read it, then allow it with `bottle allow {path}` (nothing was started)",
            agent.name
        )));
    }
    let agents = catalog.working_dir_agents();
    let question = format!(
        "bottle: {path} {why}. It defines:\n{}bottle: allow it (sha256 {})? [y/N] ",
        trust::summary(agents),
        &trust::digest(&file.text)[..16]
    );
    if !prompt::yes(&question)? {
        return Err(Error::usage(format!(
            "{path} was not allowed; nothing was started"
        )));
    }
    store.allow(&path, &file.text);
    trust::save(&store_path, &store)?;
    progress.warn(&format!("allowed {path}"));
    Ok(())
}

/// `bottle allow [FILE] [--revoke]`.
pub(super) fn allow(
    host: &HostSnapshot,
    file: Option<&std::path::Path>,
    revoke: bool,
) -> Result<i32, Error> {
    let given = file
        .map(|f| host.cwd.join(f))
        .unwrap_or_else(|| host.cwd.join(manifest_files::FILE_NAME));
    let store_path = trust::store_path(&host.env, &host.home);
    let mut store = trust::load(&store_path)?;
    if revoke {
        let path = std::fs::canonicalize(&given).unwrap_or(given);
        let label = path.display().to_string();
        if store.revoke(&label) {
            trust::save(&store_path, &store)?;
            out_line(&format!(
                "revoked {label}: its agents will not run until allowed again"
            ));
        } else {
            out_line(&format!("{label} was not allowed; nothing to revoke"));
        }
        return Ok(exit_code::SUCCESS);
    }
    let path = std::fs::canonicalize(&given).map_err(|e| {
        Error::usage(format!(
            "{}: cannot read the manifest: {e}",
            given.display()
        ))
    })?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::usage(format!("{}: cannot read the manifest: {e}", path.display())))?;
    let label = path.display().to_string();
    // Allowing means running its agents: the file must be a valid working-directory
    // manifest, checked exactly as a launch would.
    // With the user's own file: its agents may name the user's bottles.
    let mut files: Vec<ManifestText> = manifest_files::read(&host.env, &host.home, &host.cwd)?
        .into_iter()
        .filter(|f| matches!(f.origin, ManifestOrigin::User(_)))
        .collect();
    files.push(ManifestText {
        origin: ManifestOrigin::WorkingDir(label.clone()),
        text: text.clone(),
    });
    let catalog = Catalog::load(&files, &host.skills)?;
    let agents = catalog.working_dir_agents();
    store.allow(&label, &text);
    trust::save(&store_path, &store)?;
    out_line(&format!(
        "allowed {label} (sha256 {}); its agents:\n{}",
        &trust::digest(&text)[..16],
        trust::summary(agents).trim_end()
    ));
    Ok(exit_code::SUCCESS)
}
