//! `ProgramOutput`: the stdout of a running program (an image stream script), read as it
//! is written, and how it ended. Pure interface; the engine implementations do the I/O.

use anyhow::Result;
use std::io::Read;

pub trait ProgramOutput: Read + Send {
    /// Reads what is left and checks the exit status (with the end of its stderr).
    fn finish(self: Box<Self>) -> Result<()>;

    /// Stops the program after a read error; says whether it had failed on its own (an
    /// exit status rather than our kill), which is then the likelier cause.
    fn abort(self: Box<Self>) -> Option<String>;
}
