//! Test support: runs the real `bottle` binary in a hermetic temp directory (fake HOME,
//! cleared environment), like a user with nothing set up.

pub mod dns_capture;
pub mod engine;
pub mod fake_api;
pub mod git_server;
pub mod json_schema;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Test {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    pub fn new() -> Test {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("work")).unwrap();
        Test {
            dir,
            env: Vec::new(),
            cwd: None,
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn work(&self) -> PathBuf {
        self.cwd
            .clone()
            .unwrap_or_else(|| self.dir.path().join("work"))
    }

    pub fn user_manifest(&self) -> PathBuf {
        self.home().join(".config/bot-bottle/bot-bottle.json")
    }

    /// Writes the user's manifest (`~/.config/bot-bottle/bot-bottle.json`).
    pub fn user_file(self, contents: impl AsRef<[u8]>) -> Test {
        write(&self.user_manifest(), contents.as_ref());
        self
    }

    /// Writes `./bot-bottle.json` in the working directory.
    pub fn cwd_file(self, contents: impl AsRef<[u8]>) -> Test {
        write(&self.work().join("bot-bottle.json"), contents.as_ref());
        self
    }

    pub fn skill(self, name: &str) -> Test {
        let dir = self.home().join(".claude/skills").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("SKILL.md"), format!("# {name}\n")).unwrap();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The `bottle` command with this test's hermetic environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bottle"));
        cmd.args(args)
            .current_dir(self.work())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home());
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            cmd.env("DOCKER_HOST", host);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out: Output = self.command(args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every file under the temp dir, for "left nothing behind" checks.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                }
                out.push(path);
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out.sort();
        out
    }
}

fn write(path: &Path, contents: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}
