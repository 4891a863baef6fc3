//! `Call`: one docker invocation as the engine runs it (arguments after `docker`, the
//! names of the variables it passes through, its stdin bytes, how a signal may stop it),
//! and `Mode`. Pure.

/// How a call may be stopped. Every call but `attach` runs in its own process group, so a
/// terminal's ^C reaches only bottle, which decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Waits, polls, loads, builds: killed when a signal arrives.
    Step,
    /// Creates a resource or tears one down: always runs to the end. Killing `docker run`
    /// half-way could let the engine create the container after teardown looked for it.
    Finish,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Everything after `docker`, slots already filled.
    pub args: Vec<String>,
    /// Variables whose values the engine copies into the docker child's environment, by
    /// name; the values never appear in `args`.
    pub env: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub mode: Mode,
    /// The command as a user would type it (shell-quoted), for `-v` and error messages.
    pub shown: String,
}

impl Call {
    /// A call that a signal may stop ([`Mode::Step`]), with no stdin and nothing passed by name.
    pub fn new<I, S>(args: I) -> Call
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let shown = shown(&args);
        Call {
            args,
            env: Vec::new(),
            stdin: None,
            mode: Mode::Step,
            shown,
        }
    }

    /// Runs to the end whatever signal arrives ([`Mode::Finish`]).
    pub fn to_the_end(mut self) -> Call {
        self.mode = Mode::Finish;
        self
    }
}

/// `docker ARGS…`, each argument shell-quoted.
pub fn shown(args: &[String]) -> String {
    std::iter::once("docker".to_string())
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word, quoted for a POSIX shell when it needs it.
pub fn quote(word: &str) -> String {
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| format!("{word:?}"))
}
