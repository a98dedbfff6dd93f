//! Embeds every scenario under `scenarios/` (its expected snapshot, and the other files there,
//! which scenarios name) and every file of the
//! gradable labs under `labs/` into the binary, so `labctl run NAME` and `labctl grade LAB`
//! work from any directory.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed={}", dir.join("snapshots").display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from(
        "/// Built-in scenarios, sorted by name.\npub static BUILTIN: &[Builtin] = &[\n",
    );
    for name in names {
        let toml = dir.join(format!("{name}.toml"));
        let snap = dir.join("snapshots").join(format!("{name}.snap"));
        println!("cargo:rerun-if-changed={}", toml.display());
        println!("cargo:rerun-if-changed={}", snap.display());
        let snapshot = if snap.is_file() {
            format!("Some(include_str!({:?}))", snap.display().to_string())
        } else {
            "None".to_string()
        };
        writeln!(
            out,
            "    Builtin {{ name: {name:?}, toml: include_str!({:?}), snapshot: {snapshot} }},",
            toml.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    // The files scenarios name (rules files): everything under scenarios/ but the scenarios
    // and their snapshots.
    let mut files = Vec::new();
    collect(&dir, &dir, &mut files);
    files.retain(|(rel, _)| !rel.ends_with(".toml") && !rel.starts_with("snapshots/"));
    files.sort();
    out.push_str(
        "/// Files the built-in scenarios name: path relative to `scenarios/`, and contents.\n\
         pub static BUILTIN_FILES: &[(&str, &str)] = &[\n",
    );
    for (rel, path) in files {
        println!("cargo:rerun-if-changed={path}");
        writeln!(out, "    ({rel:?}, include_str!({path:?})),").unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_scenarios.rs");
    std::fs::write(dest, out).unwrap();
    embed_labs();
}

/// `labs/<lab>/**` as (relative path, bytes) pairs, sorted.
fn embed_labs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Files of the built-in labs: path relative to `labs/`, and contents.\n\
         pub static LAB_FILES: &[(&str, &[u8])] = &[\n",
    );
    for (rel, path) in files {
        println!("cargo:rerun-if-changed={path}");
        writeln!(out, "    ({rel:?}, include_bytes!({path:?})),").unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_labs.rs");
    std::fs::write(dest, out).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(root, &path, files);
        } else if kind.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.push((rel, path.display().to_string()));
        }
    }
}
