//! The bad-manifest corpus (`tests/bad_manifests/`): every case must fail before anything
//! happens, with exit code 2, an error naming the file and the field, and nothing left behind.
//!
//! A case `NAME` is `NAME.expect` plus optional `NAME.user.json` (the user's manifest) and
//! `NAME.cwd.json` (./bot-bottle.json). `.expect` lines: `args: …` (default `plan agent`),
//! `env: K=V`, and one or more `stderr: …` substrings that must appear in the error.

use crate::support::Test;
use std::path::Path;

#[test]
fn every_bad_manifest_fails_clearly_with_exit_code_2() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_manifests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".expect").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "the corpus has {} cases", names.len());
    let mut failures = Vec::new();
    for name in &names {
        if let Err(why) = run_case(&dir, name) {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
}

fn run_case(dir: &Path, name: &str) -> Result<(), String> {
    let expect = std::fs::read_to_string(dir.join(format!("{name}.expect"))).unwrap();
    let mut test = Test::new().skill("known-skill");
    let user = dir.join(format!("{name}.user.json"));
    let cwd = dir.join(format!("{name}.cwd.json"));
    let mut files_named = Vec::new();
    if user.exists() {
        test = test.user_file(std::fs::read(&user).unwrap());
        files_named.push(test.user_manifest().display().to_string());
    }
    if cwd.exists() {
        test = test.cwd_file(std::fs::read(&cwd).unwrap());
        files_named.push(test.work().join("bot-bottle.json").display().to_string());
    }
    let mut args = vec!["plan".to_string(), "agent".to_string()];
    let mut wanted = Vec::new();
    for line in expect.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(a) = line.strip_prefix("args:") {
            args = shlex::split(a.trim()).expect("args parse");
        } else if let Some(kv) = line.strip_prefix("env:") {
            let (k, v) = kv.trim().split_once('=').expect("env: K=V");
            test = test.env(k, v);
        } else if let Some(s) = line.strip_prefix("stderr:") {
            wanted.push(s.trim().to_string());
        } else {
            panic!("{name}.expect: unknown line {line:?}");
        }
    }
    assert!(!wanted.is_empty(), "{name}.expect names no stderr text");
    let before = test.files();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = test.run(&args);
    if run.code != 2 {
        return Err(format!(
            "exit code {} (want 2); stderr: {}",
            run.code, run.stderr
        ));
    }
    if !run.stdout.is_empty() {
        return Err(format!("printed to stdout: {}", run.stdout));
    }
    if run.stderr.contains("panicked") {
        return Err(format!("panicked: {}", run.stderr));
    }
    if !run.stderr.starts_with("bottle: error: ") {
        return Err(format!(
            "error does not start with `bottle: error:`: {}",
            run.stderr
        ));
    }
    for w in &wanted {
        if !run.stderr.contains(w.as_str()) {
            return Err(format!("stderr lacks {w:?}: {}", run.stderr));
        }
    }
    // Errors about a file name the file.
    if !files_named.is_empty() && !files_named.iter().any(|f| run.stderr.contains(f.as_str())) {
        return Err(format!("error names no manifest file: {}", run.stderr));
    }
    if test.files() != before {
        return Err("left files behind".into());
    }
    Ok(())
}

/// No input panics, and none is misread: every prefix of a full manifest (a cut document)
/// is rejected, every single-byte corruption of it is either accepted or rejected with an
/// error that names the file and says what is wrong, and both happen.
#[test]
fn no_input_panics_and_every_rejection_names_the_file() {
    use bot_bottle::config::catalog::{Catalog, ManifestOrigin, ManifestText, SkillIndex};
    let full = r#"{"bottles": {"dev": {"env": {"A": "?", "B": "${HOME}", "C": "x"},
        "egress": {"allowlist": ["a.example.com", "*.b.example"]}, "runtime": "runsc"}},
        "agents": {"dev": {"bottle": "dev", "prompt": "p", "skills": [], "command": ["c"]}}}"#;
    let skills = SkillIndex::default();
    let load = |text: &str| {
        let file = ManifestText {
            origin: ManifestOrigin::User("m.json".into()),
            text: text.to_string(),
        };
        std::panic::catch_unwind(|| Catalog::load(&[file], &skills))
            .unwrap_or_else(|_| panic!("panicked on {text:?}"))
    };
    let catalog = load(full).expect("the full manifest is valid");
    assert_eq!(catalog.agents["dev"].bottle, "dev");
    assert_eq!(catalog.bottles["dev"].env.len(), 3);
    let rejected_well = |text: &str, err: &bot_bottle::config::manifest::ManifestError| {
        assert_eq!(err.file, "m.json", "{text:?}");
        assert!(
            !err.message.trim().is_empty(),
            "an empty message for {text:?}"
        );
        assert!(err.to_string().starts_with("m.json: "), "{err}");
    };
    let bytes = full.as_bytes();
    for end in 0..bytes.len() {
        let text = String::from_utf8_lossy(&bytes[..end]);
        match load(&text) {
            Ok(_) => panic!("a manifest cut after {end} bytes was accepted: {text:?}"),
            Err(e) => rejected_well(&text, &e),
        }
    }
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..bytes.len() {
        for replacement in [
            b'{', b'}', b'[', b']', b'"', b',', b':', b'*', b'\\', b'0', b' ',
        ] {
            let mut mutated = bytes.to_vec();
            mutated[i] = replacement;
            let text = String::from_utf8_lossy(&mutated);
            match load(&text) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    rejected_well(&text, &e);
                    rejected += 1;
                }
            }
        }
    }
    assert!(
        accepted > 0 && rejected > 0,
        "{accepted} accepted, {rejected} rejected"
    );
}
