//! The one y/N question `bottle` asks (allowing a repository's manifest, confirming a
//! cleanup): written to stderr, answered on stdin; only `y`, `Y` or `yes` is yes. Callers
//! decide first whether there is a terminal to ask. I/O (the terminal).

use std::io::{BufRead, Write};

/// Asks `question` (it ends with `[y/N] `) and reads one line.
pub fn yes(question: &str) -> std::io::Result<bool> {
    let mut stderr = std::io::stderr();
    // A closed stderr must not stop the answer from being read.
    let _ = stderr.write_all(question.as_bytes());
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(is_yes(&answer))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim(), "y" | "Y" | "yes")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_y_or_yes_is_yes() {
        for yes in ["y\n", "Y\n", "yes\n", " yes \n"] {
            assert!(super::is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n\n", "YES\n", "yep\n", "y es\n"] {
            assert!(!super::is_yes(no), "{no:?}");
        }
    }
}
