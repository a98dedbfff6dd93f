//! Embeds every scenario under `scenarios/` (and its expected snapshot) into the binary, so
//! `labctl run NAME` works from any directory.

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
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_scenarios.rs");
    std::fs::write(dest, out).unwrap();
}
