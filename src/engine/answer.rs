//! `Answer`: the one reading of what Docker said when a command ended (done, a name in
//! use, no such image, already gone, refused). Every caller that must tell these apart
//! asks here instead of matching stderr itself. Pure.

use crate::engine::finished::Finished;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Exit 0.
    Done,
    /// `docker run/create --name N`: N is taken (`Conflict. The container name "/N" is
    /// already in use by container …`).
    NameInUse,
    /// The image is not in Docker (`No such image: …`, `Unable to find image … locally`).
    NoSuchImage,
    /// The target does not exist (any more), or someone else is removing it already
    /// (`No such container/network/object`, `… not found`, `removal … already in
    /// progress`): for a removal, as good as done.
    Gone,
    /// Anything else: Docker refused.
    Refused,
}

impl Answer {
    pub fn of(done: &Finished) -> Answer {
        if done.ok() {
            Answer::Done
        } else {
            Answer::of_message(&done.stderr)
        }
    }

    /// What one error message (a failed command's stderr, or one line of it) says.
    pub fn of_message(stderr: &str) -> Answer {
        let s = stderr.to_ascii_lowercase();
        if s.contains("is already in use") {
            Answer::NameInUse
        } else if s.contains("no such image") || s.contains("unable to find image") {
            Answer::NoSuchImage
        } else if s.contains("no such")
            || s.contains("not found")
            || s.contains("already in progress")
        {
            Answer::Gone
        } else {
            Answer::Refused
        }
    }

    /// For a removal: the thing is not there any more.
    pub fn is_gone(self) -> bool {
        matches!(self, Answer::Gone | Answer::NoSuchImage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(stderr: &str) -> Finished {
        Finished {
            code: 1,
            stdout: Vec::new(),
            stderr: stderr.into(),
        }
    }

    /// Messages as Docker 20.10 and later print them.
    #[test]
    fn reads_dockers_answers() {
        let cases = [
            (
                "docker: Error response from daemon: Conflict. The container name \"/bot-bottle-agent-01234567\" is already in use by container \"4f1c\". You have to remove (or rename) that container to be able to reuse that name.",
                Answer::NameInUse,
            ),
            (
                "Error: No such image: bot-bottle-agent:missing",
                Answer::NoSuchImage,
            ),
            (
                "Error response from daemon: No such image: bot-bottle-agent:missing",
                Answer::NoSuchImage,
            ),
            (
                "Unable to find image 'x:1' locally\ndocker: Error response from daemon: pull access denied for x",
                Answer::NoSuchImage,
            ),
            ("Error: No such container: 4f1c", Answer::Gone),
            (
                "Error: No such network: bot-bottle-net-a-01234567",
                Answer::Gone,
            ),
            (
                "Error response from daemon: network bot-bottle-net-a-01234567 not found",
                Answer::Gone,
            ),
            (
                "Error response from daemon: removal of container 4f1c is already in progress",
                Answer::Gone,
            ),
            (
                "Error response from daemon: error while removing network: network bot-bottle-net-a id 9e has active endpoints",
                Answer::Refused,
            ),
            (
                "permission denied while trying to connect to the Docker daemon socket",
                Answer::Refused,
            ),
        ];
        for (stderr, want) in cases {
            assert_eq!(Answer::of(&failed(stderr)), want, "{stderr}");
        }
        assert_eq!(Answer::of(&Finished::default()), Answer::Done);
        assert!(Answer::NoSuchImage.is_gone() && Answer::Gone.is_gone());
        assert!(!Answer::Refused.is_gone() && !Answer::NameInUse.is_gone());
    }
}
