//! A plan for unit tests, and a fake Docker that has its images: a bottle with a literal
//! (env-file), a prompt and a skill, so the plan holds every kind of step; a real home
//! (with the skill) and working directory, which provisioning reads. Test-only.

use crate::config::catalog::{Catalog, ManifestOrigin, ManifestText, SkillIndex};
use crate::engine::fake_docker::FakeDocker;
use crate::host_snapshot::HostSnapshot;
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::planner::plan;
use crate::plan::planner::plan_options::PlanOptions;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub(crate) const IMAGES: [&str; 3] = ["agent:test", "pipelock:test", "mitmproxy:test"];

/// A bottle with a literal (env-file), a prompt and a skill: every kind of step.
pub(crate) const MANIFEST: &str = r#"{
  "bottles": { "dev": { "env": { "LOG_LEVEL": "debug" } } },
  "agents": { "dev": { "bottle": "dev", "prompt": "Fix it.", "skills": ["review"] } }
}"#;

/// A real home (with the skill) and working directory: provisioning reads them.
pub(crate) fn dirs() -> (&'static Path, &'static Path) {
    static DIRS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    let (_, home, cwd) = DIRS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let cwd = dir.path().join("project");
        std::fs::create_dir_all(home.join(".claude/skills/review")).unwrap();
        std::fs::write(home.join(".claude/skills/review/SKILL.md"), "# review\n").unwrap();
        std::fs::create_dir_all(cwd.join(".git")).unwrap();
        std::fs::write(cwd.join("main.rs"), "fn main() {}\n").unwrap();
        (dir, home, cwd)
    });
    (home, cwd)
}

pub(crate) fn host() -> HostSnapshot {
    let (home, cwd) = dirs();
    HostSnapshot {
        env: BTreeMap::new(),
        cwd: cwd.to_path_buf(),
        uid: 1000,
        gid: 1000,
        home: home.to_path_buf(),
        launch_id: "0123456789abcdef".into(),
        skills: SkillIndex {
            dir: home.join(".claude/skills").display().to_string(),
            names: BTreeSet::from(["review".to_string()]),
        },
        engine: None,
        loopback_v6: true,
    }
}

pub(crate) fn a_plan(change: impl FnOnce(&mut PlanOptions)) -> BottlePlan {
    let host = host();
    let files = [ManifestText {
        origin: ManifestOrigin::User("/home/user/.config/bot-bottle/bot-bottle.json".into()),
        text: MANIFEST.into(),
    }];
    let catalog = Catalog::load(&files, &host.skills).unwrap();
    let mut options = PlanOptions {
        agent: "dev".into(),
        agent_image: Some(IMAGES[0].into()),
        pipelock_image: Some(IMAGES[1].into()),
        mitmproxy_image: Some(IMAGES[2].into()),
        ..PlanOptions::default()
    };
    change(&mut options);
    plan(&catalog, &options, &host).unwrap()
}

/// A fake Docker that has the plan's three images.
pub(crate) fn fake() -> FakeDocker {
    IMAGES.iter().fold(FakeDocker::new(), |f, i| f.image(i))
}
