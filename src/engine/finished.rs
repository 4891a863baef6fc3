//! `Finished`: what a docker command that ran to completion left: exit code, stdout,
//! stderr. Pure.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finished {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// stdout as text, trimmed.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }
}
