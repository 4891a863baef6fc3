//! The shape of `src/`, checked on the source text (rustfmt-formatted, as CI requires):
//! no production function over 100 lines, and no import cycle between modules, neither
//! between the top-level modules (`config`, `plan`, `engine`, …) nor between files. Test
//! code (`#[cfg(test)]` modules, inline or in files of their own) is left out: a test may
//! use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FUNCTION_LINES: usize = 100;

/// A production source file: its module path (`plan::planner::agent`) and its lines,
/// without its inline test modules.
struct Source {
    module: String,
    path: PathBuf,
    lines: Vec<String>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `a::b`; `lib.rs` is the crate root (``).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `#[cfg(test)]` then `mod name;` (any visibility): the module `name` is test code.
fn test_modules_declared(module: &str, lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for pair in lines.windows(2) {
        if pair[0].trim() != "#[cfg(test)]" {
            continue;
        }
        let decl = pair[1].trim();
        let decl = decl
            .strip_prefix("pub(crate) ")
            .or_else(|| decl.strip_prefix("pub "))
            .unwrap_or(decl);
        if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) {
            out.push(if module.is_empty() {
                name.to_string()
            } else {
                format!("{module}::{name}")
            });
        }
    }
    out
}

/// Without `#[cfg(test)] mod x { … }` blocks (rustfmt closes them at their own indent).
fn production_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let opens_test_block = line.trim() == "#[cfg(test)]"
            && lines
                .get(i + 1)
                .is_some_and(|l| l.trim_start().starts_with("mod ") && l.ends_with('{'));
        if opens_test_block {
            let indent = &lines[i + 1][..lines[i + 1].len() - lines[i + 1].trim_start().len()];
            let close = format!("{indent}}}");
            i += 2;
            while i < lines.len() && lines[i] != close {
                i += 1;
            }
            i += 1;
            continue;
        }
        out.push(line.to_string());
        i += 1;
    }
    out
}

fn sources() -> Vec<Source> {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    paths.sort();
    let all: Vec<(String, PathBuf, Vec<String>)> = paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (module_of(&p), p, text.lines().map(str::to_string).collect())
        })
        .collect();
    let test_only: Vec<String> = all
        .iter()
        .flat_map(|(m, _, lines)| test_modules_declared(m, lines))
        .collect();
    all.into_iter()
        .filter(|(m, _, _)| {
            !test_only
                .iter()
                .any(|t| m == t || m.starts_with(&format!("{t}::")))
        })
        .map(|(module, path, lines)| Source {
            module,
            path,
            lines: production_lines(&lines.join("\n")),
        })
        .collect()
}

/// `(name, first line, line count)` of every function with a body. rustfmt puts a body's
/// closing brace on a line of its own, at the `fn`'s indent.
fn functions(lines: &[String]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let Some(at) = code.find("fn ") else {
            continue;
        };
        let before = &code[..at];
        let is_fn = before
            .split_whitespace()
            .all(|w| w.starts_with("pub") || ["const", "async", "unsafe", "extern"].contains(&w));
        if !is_fn {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // A declaration without a body (a trait's required method) ends with `;`.
        let Some(open) = lines[start..]
            .iter()
            .position(|l| l.ends_with('{') || l.ends_with(';') || l.ends_with('}'))
        else {
            continue;
        };
        let opener = &lines[start + open];
        if opener.ends_with(';') {
            continue;
        }
        if opener.ends_with('}') && opener.contains('{') {
            out.push((name, start + 1, open + 1));
            continue;
        }
        let close = format!("{indent}}}");
        if let Some(end) = lines[start..].iter().position(|l| *l == close) {
            out.push((name, start + 1, end + 1));
        }
    }
    out
}

#[test]
fn no_production_function_in_src_is_over_100_lines() {
    let mut too_long = Vec::new();
    let mut counted = 0;
    for source in sources() {
        for (name, line, len) in functions(&source.lines) {
            counted += 1;
            if len > MAX_FUNCTION_LINES {
                too_long.push(format!(
                    "{} ({}): fn {name}, {len} lines (from line {line}, test modules left out)",
                    source.path.display(),
                    source.module
                ));
            }
        }
    }
    assert!(counted > 300, "the scanner found only {counted} functions");
    assert!(
        too_long.is_empty(),
        "split these (at most {MAX_FUNCTION_LINES} lines):\n{}",
        too_long.join("\n")
    );
}

/// The modules `source` names through `crate::…` paths (in `use` or inline; comments,
/// doc links included, are not imports), at the file level: the longest module path each
/// reference starts with.
fn references(source: &Source, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code: Vec<&str> = source
        .lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let text = code.join("\n");
    let mut out = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
            .collect();
        // `crate::a::{b, c::d}`: each item of one group.
        let (prefix, group) = match path.split_once("::{") {
            Some((prefix, _)) => {
                let after = &rest[prefix.len() + 3..];
                let inner = &after[..after.find('}').unwrap_or(after.len())];
                (
                    prefix.to_string(),
                    inner.split(',').map(str::trim).collect(),
                )
            }
            None => (path.trim_end_matches([':', '{']).to_string(), vec![""]),
        };
        for item in group {
            let item = item.split(" as ").next().unwrap_or_default();
            let full = match item {
                "" | "self" => prefix.clone(),
                item => format!("{prefix}::{item}"),
            };
            let parts: Vec<&str> = full.split("::").filter(|p| !p.is_empty()).collect();
            if let Some(found) = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|m| modules.contains(m))
                && found != source.module
                && !source.module.starts_with(&format!("{found}::"))
            {
                out.insert(found);
            }
        }
    }
    out
}

/// A cycle in `graph`, if there is one (depth-first, with the path so far).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_cycle_between_src_modules() {
    let sources = sources();
    let modules: BTreeSet<String> = sources.iter().map(|s| s.module.clone()).collect();
    let top = |m: &str| m.split("::").next().unwrap_or_default().to_string();
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in &sources {
        let refs = references(source, &modules);
        for r in &refs {
            if top(r) != top(&source.module) && !source.module.is_empty() {
                tops.entry(top(&source.module)).or_default().insert(top(r));
            }
        }
        files.insert(source.module.clone(), refs);
    }
    // The check can see: the executor uses the teardown, the planner the resource model.
    assert!(tops["launch"].contains("teardown") && tops["plan"].contains("naming"));
    assert_eq!(cycle(&tops), None, "a cycle between top-level modules");
    assert_eq!(cycle(&files), None, "a cycle between files");
}
