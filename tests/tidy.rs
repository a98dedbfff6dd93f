//! Tidy: the shape of the code, checked like any behaviour (standard library only, no
//! privileges, no build of anything but this file).
//!
//! - Every reference from one top-level module of `src/` to another (`use crate::x`,
//!   `crate::x::` paths, `use crate::{x, y}` groups, `super::` paths that leave the module,
//!   `labctl::x` in `main.rs`, and paths in attribute strings such as `serialize_with`) goes
//!   to a lower layer of the table in ARCHITECTURE.md's "Dependencies" section. The table is
//!   read from ARCHITECTURE.md, so the document and the check cannot disagree; layers make
//!   import cycles impossible.
//! - `unsafe` appears only in `src/sandbox.rs` (comments, strings and names such as
//!   `unsafe_code` do not count).
//! - Every Rust source file opens with a `//!` module doc.
//! - No source file is over [`MAX_LINES`] lines, except the files [`FLAT_LISTS`] names.
//!
//! Each failure names the file, the line and what is wrong, and the test lists every failure at
//! once rather than the first.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The longest a source file may be.
const MAX_LINES: usize = 1000;

/// Files allowed over [`MAX_LINES`] because they are flat lists of one kind of thing (a table of
/// cases, a vocabulary), which read no worse for being long and would only be cut at arbitrary
/// places. Each entry says why. None is that long today.
const FLAT_LISTS: &[(&str, &str)] = &[];

/// The one file allowed to hold `unsafe` code.
const UNSAFE_HOME: &str = "src/sandbox.rs";

/// Where Rust source files live, from the repository root.
const SOURCE_ROOTS: &[&str] = &[
    "src",
    "tests",
    "examples",
    "xtask/src",
    "fuzz/fuzz_targets",
    "build.rs",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir` (or `dir` itself), sorted, as paths relative to the root.
fn rust_files(dir: &str) -> Vec<String> {
    fn walk(root: &Path, path: &Path, out: &mut Vec<String>) {
        if path.is_file() {
            if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("below the root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
            return;
        }
        let Ok(entries) = fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            walk(root, &p, out);
        }
    }
    let root = root();
    let mut out = Vec::new();
    walk(&root, &root.join(dir), &mut out);
    out.sort();
    out
}

fn all_sources() -> Vec<String> {
    SOURCE_ROOTS.iter().flat_map(|d| rust_files(d)).collect()
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn report(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}:\n  {}\n",
        failures.join("\n  ")
    );
}

// ---- Lexing: comments and string literals blanked, lines kept ----

/// `src` with comments blanked and, unless `keep_strings`, the contents of string and
/// character literals blanked too; every newline stays, so line numbers hold.
fn blank(src: &str, keep_strings: bool) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let wipe = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let prev_ident = i > 0 && ident(b[i - 1]);
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |n| i + n);
            wipe(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (0, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            wipe(&mut out, i, j);
            i = j;
        } else if !prev_ident && raw_string_start(&b[i..]).is_some() {
            let (prefix, hashes) = raw_string_start(&b[i..]).expect("checked");
            let body = i + prefix;
            let mut close = b"\"".to_vec();
            close.extend(std::iter::repeat_n(b'#', hashes));
            let end = find(b, body, &close).map_or(b.len(), |n| n + close.len());
            if !keep_strings {
                wipe(&mut out, body, end.saturating_sub(close.len()));
            }
            i = end;
        } else if b[i] == b'"' || (!prev_ident && b[i..].starts_with(b"b\"")) {
            let body = i + if b[i] == b'"' { 1 } else { 2 };
            let mut j = body;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            if !keep_strings {
                wipe(&mut out, body, j.min(b.len()));
            }
            i = j + 1;
        } else if b[i] == b'\'' {
            // A character literal ('x', '\n', '\u{1b}'), or else a lifetime or label.
            let end = if b.get(i + 1) == Some(&b'\\') {
                b.get(i + 2..)
                    .and_then(|rest| rest.iter().position(|&c| c == b'\''))
                    .map(|n| i + 2 + n)
            } else {
                let len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match end {
                Some(end) => {
                    if !keep_strings {
                        wipe(&mut out, i + 1, end);
                    }
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were written over whole characters")
}

/// `r"`, `r#"`, `br##"` and the like: the length of the opening and the number of `#`.
fn raw_string_start(b: &[u8]) -> Option<(usize, usize)> {
    let r = if b.starts_with(b"br") {
        2
    } else if b.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = b[r..].iter().take_while(|&&c| c == b'#').count();
    (b.get(r + hashes) == Some(&b'"')).then_some((r + hashes + 1, hashes))
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|n| from + n)
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].bytes().filter(|&c| c == b'\n').count() + 1
}

/// The words of `text` (identifiers and keywords) with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if ident(b[i]) {
            let start = i;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            out.push((start, &text[start..i]));
        } else {
            i += 1;
        }
    }
    out
}

// ---- Dependencies ----

/// The top-level module a file under `src/` belongs to (`main` for the binary), or `None`
/// for the crate root.
fn top_module(rel: &str) -> Option<String> {
    let inner = rel.strip_prefix("src/")?;
    let first = inner.split('/').next()?;
    match first {
        "lib.rs" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// How many `super::` lead from the top of this file to the crate root.
fn file_depth(rel: &str) -> usize {
    let inner = rel
        .strip_prefix("src/")
        .unwrap_or(rel)
        .trim_end_matches(".rs");
    let parts: Vec<&str> = inner.split('/').collect();
    if parts.last() == Some(&"mod") {
        parts.len() - 1
    } else {
        parts.len()
    }
}

/// One reference from a file to a top-level module: line, target module, the path as written.
#[derive(Debug, PartialEq)]
struct Reference {
    line: usize,
    target: String,
    path: String,
}

/// Every top-level module a file at `rel` refers to through the crate root: `crate::x`,
/// `crate::{x, y::z}`, `labctl::x` (the binary) in `text` (comments blanked, strings kept, for
/// attribute paths), and `super::` chains that climb to the crate root in `code` (strings
/// blanked too, so their braces do not count; inline `mod name { .. }` blocks add a level).
fn references(rel: &str, text: &str, code: &str) -> Vec<Reference> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let roots: &[&str] = if rel == "src/main.rs" {
        &["crate::", "labctl::"]
    } else {
        &["crate::"]
    };
    for root in roots {
        let mut from = 0;
        while let Some(at) = find(b, from, root.as_bytes()) {
            from = at + root.len();
            let boundary =
                at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b"_$:".contains(&b[at - 1]));
            if !boundary {
                continue;
            }
            let rest = &text[from..];
            let mut push = |item: &str, path: String| {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "self" {
                    out.push(Reference {
                        line: line_of(text, at),
                        target: name,
                        path,
                    });
                }
            };
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            push(&item, format!("{root}{{{}, ..}}", item.trim()));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                push(&item, format!("{root}{{{}, ..}}", item.trim()));
            } else {
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                push(rest, format!("{root}{path}"));
            }
        }
    }
    // super:: chains, with the nesting of inline modules followed through braces.
    let depth = file_depth(rel);
    let (text, b) = (code, code.as_bytes());
    let ws = words(text);
    let mut inline: Vec<usize> = Vec::new(); // brace depth at which each inline module opened
    let mut braces = 0usize;
    let mut w = 0;
    for (i, &c) in b.iter().enumerate() {
        while w < ws.len() && ws[w].0 < i {
            w += 1;
        }
        match c {
            b'{' => {
                // `mod name {`: the two words before this brace.
                let before = text[..i].trim_end();
                let mut tail = before.rsplit(|c: char| c.is_whitespace());
                let (name, kw) = (tail.next(), tail.next());
                if kw == Some("mod") && name.is_some_and(|n| !n.is_empty()) {
                    inline.push(braces);
                }
                braces += 1;
            }
            b'}' => {
                braces = braces.saturating_sub(1);
                if inline.last() == Some(&braces) {
                    inline.pop();
                }
            }
            _ => {}
        }
        if w < ws.len() && ws[w].0 == i && ws[w].1 == "super" && (i == 0 || b[i - 1] != b':') {
            let mut n = 0;
            let mut j = i;
            while text[j..].starts_with("super::") {
                n += 1;
                j += "super::".len();
            }
            if n > 0 && n == depth + inline.len() {
                let name: String = text[j..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.push(Reference {
                    line: line_of(text, i),
                    path: format!("{}{name}", "super::".repeat(n)),
                    target: name,
                });
            }
        }
    }
    out.sort_by_key(|r| r.line);
    out
}

/// The layer of every module, from ARCHITECTURE.md's "## Dependencies" table: rows
/// `| N | `a`, `b` | why |`.
fn layers(architecture: &str) -> Result<BTreeMap<String, usize>, String> {
    let section = architecture
        .split("\n## ")
        .find(|s| s.starts_with("Dependencies"))
        .ok_or("ARCHITECTURE.md has no \"## Dependencies\" section")?;
    let mut layers = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 {
            continue;
        }
        let Ok(layer) = cells[1].parse::<usize>() else {
            continue;
        };
        for name in cells[2].split(',') {
            let name = name.trim().trim_matches('`');
            if let Some(old) = layers.insert(name.to_string(), layer) {
                return Err(format!(
                    "ARCHITECTURE.md: `{name}` is in layer {old} and again in layer {layer}"
                ));
            }
        }
    }
    if layers.is_empty() {
        return Err(
            "ARCHITECTURE.md's Dependencies section has no `| layer | modules |` rows".into(),
        );
    }
    Ok(layers)
}

/// Every reference in `files` (path, contents) that does not go to a lower layer.
fn dependency_failures(
    files: &[(String, String)],
    layers: &BTreeMap<String, usize>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (rel, src) in files {
        let Some(module) = top_module(rel) else {
            continue;
        };
        let Some(&own) = layers.get(&module) else {
            failures.push(format!(
                "{rel}: module `{module}` has no row in ARCHITECTURE.md's Dependencies table"
            ));
            continue;
        };
        let (text, code) = (blank(src, true), blank(src, false));
        let lines: Vec<&str> = src.lines().collect();
        for r in references(rel, &text, &code) {
            if r.target == module {
                continue;
            }
            let shown = lines.get(r.line - 1).map_or("", |l| l.trim());
            match layers.get(&r.target) {
                Some(&theirs) if theirs < own => {}
                Some(&theirs) => failures.push(format!(
                    "{rel}:{}: `{module}` (layer {own}) may not use `{}` (layer {theirs}), only \
                     lower layers: {shown}",
                    r.line, r.target
                )),
                None => failures.push(format!(
                    "{rel}:{}: `{}` ({}) is not a module of ARCHITECTURE.md's Dependencies \
                     table: {shown}",
                    r.line, r.target, r.path
                )),
            }
        }
    }
    failures
}

#[test]
fn modules_use_only_lower_layers_of_the_architecture_table() {
    let layers = layers(&read("ARCHITECTURE.md")).unwrap_or_else(|e| panic!("{e}"));
    let files: Vec<(String, String)> = rust_files("src")
        .into_iter()
        .map(|rel| {
            let src = read(&rel);
            (rel, src)
        })
        .collect();
    let mut failures = dependency_failures(&files, &layers);
    // Every row names a module that exists, and every module has a row.
    let modules: Vec<String> = files
        .iter()
        .filter_map(|(rel, _)| top_module(rel))
        .collect();
    for name in layers.keys() {
        if !modules.contains(name) {
            failures.push(format!(
                "ARCHITECTURE.md: the Dependencies table names `{name}`, which src/ does not have"
            ));
        }
    }
    failures.dedup();
    report(
        "imports against ARCHITECTURE.md's Dependencies table",
        &failures,
    );
}

#[test]
fn the_dependency_check_sees_every_form_of_reference() {
    let layers: BTreeMap<String, usize> =
        [("text", 0), ("scenario", 1), ("drive", 2), ("report", 3)]
            .into_iter()
            .map(|(m, l)| (m.to_string(), l))
            .collect();
    let file = |rel: &str, src: &str| (rel.to_string(), src.to_string());
    let files = [
        // A cycle: drive -> report while report -> drive.
        file(
            "src/drive/mod.rs",
            "//! d\nfn f() { crate::report::human(1) }\n",
        ),
        file("src/report.rs", "//! r\nuse crate::drive::StepResult;\n"),
        file(
            "src/scenario/mod.rs",
            "//! s\nuse crate::{text, drive::X};\n",
        ),
        file(
            "src/scenario/parse/net.rs",
            "//! n\nuse super::super::super::report::Y;\nmod tests { use super::super::Z; }\n",
        ),
        file(
            "src/text.rs",
            "//! t\n#[serde(serialize_with = \"crate::report::millis\")]\n",
        ),
        // Comments and references within the module do not count.
        file(
            "src/drive/net.rs",
            "//! crate::report\n// crate::report\nuse crate::drive::x;\n",
        ),
    ];
    let failures = dependency_failures(&files, &layers);
    let at: Vec<&str> = failures
        .iter()
        .map(|f| f.split(": ").next().unwrap_or(""))
        .collect();
    assert_eq!(
        at,
        [
            "src/drive/mod.rs:2",
            "src/scenario/mod.rs:2",
            "src/scenario/parse/net.rs:2",
            "src/text.rs:2",
        ],
        "{failures:#?}"
    );
    assert!(failures[0].contains("`drive` (layer 2) may not use `report` (layer 3)"));
    assert!(
        failures[1].contains("`drive`"),
        "the second item of a group: {}",
        failures[1]
    );
}

// ---- unsafe ----

#[test]
fn unsafe_code_lives_only_in_the_sandbox() {
    let mut failures = Vec::new();
    for rel in all_sources() {
        if rel == UNSAFE_HOME {
            continue;
        }
        let src = read(&rel);
        let code = blank(&src, false);
        let lines: Vec<&str> = src.lines().collect();
        for (at, word) in words(&code) {
            if word == "unsafe" {
                let line = line_of(&code, at);
                failures.push(format!(
                    "{rel}:{line}: `unsafe` outside {UNSAFE_HOME}: {}",
                    lines.get(line - 1).map_or("", |l| l.trim())
                ));
            }
        }
    }
    report("unsafe code", &failures);
}

#[test]
fn blanking_keeps_code_and_drops_comments_and_strings() {
    let src = "let a = \"unsafe\"; // unsafe\n/* unsafe /* nested */ */ unsafe { x('\"', 'a) }\n\
               let r = r#\"unsafe\"#; #![deny(unsafe_code)] let c = '\\'';\n";
    let code = blank(src, false);
    let found: Vec<usize> = words(&code)
        .into_iter()
        .filter(|(_, w)| *w == "unsafe")
        .map(|(at, _)| line_of(&code, at))
        .collect();
    assert_eq!(found, [2], "{code}");
    assert_eq!(code.lines().count(), src.lines().count());
}

// ---- module docs ----

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let failures: Vec<String> = all_sources()
        .into_iter()
        .filter_map(|rel| {
            let src = read(&rel);
            let first = src.lines().next().unwrap_or("");
            (!first.starts_with("//!")).then(|| {
                format!("{rel}:1: the file does not open with a `//!` module doc: {first}")
            })
        })
        .collect();
    report("module docs", &failures);
}

// ---- length ----

#[test]
fn no_source_file_is_over_the_line_limit() {
    let mut failures = Vec::new();
    for rel in all_sources() {
        let lines = read(&rel).lines().count();
        let flat = FLAT_LISTS.iter().any(|(f, _)| *f == rel);
        if lines > MAX_LINES && !flat {
            failures.push(format!(
                "{rel}:{}: {lines} lines, over the limit of {MAX_LINES}: split it along its \
                 seams (or, if it is a flat list of one kind of thing, name it in FLAT_LISTS \
                 and say why)",
                MAX_LINES + 1
            ));
        }
    }
    for rel in FLAT_LISTS.iter().map(|(f, _)| *f) {
        if !root().join(rel).is_file() {
            failures.push(format!("{rel}: named in tests/tidy.rs but not there"));
        }
    }
    report("file lengths", &failures);
}
