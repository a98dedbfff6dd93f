//! The gradable labs built into the binary: every file under `labs/` of the source tree,
//! embedded at build time by `build.rs`. When a lab is not found on disk, its files are written
//! once into the user's cache directory and graded from there, so an installed `labctl grade`
//! needs no source tree.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_labs.rs"));

/// The names of the built-in labs (those with a rubric).
pub fn names() -> BTreeSet<String> {
    LAB_FILES
        .iter()
        .filter_map(|(path, _)| path.strip_suffix("/rubric.toml"))
        .filter(|lab| !lab.contains('/'))
        .map(String::from)
        .collect()
}

/// The directory holding the built-in labs, written on first use: `$XDG_CACHE_HOME` (or
/// `~/.cache`) `/labctl/labs-<version>-<content hash>/`. Concurrent graders write the same
/// bytes through a temporary name and a rename, so none ever reads a half-written file.
/// `None` when there is no home directory to write to.
pub fn root() -> Option<PathBuf> {
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".cache"),
    };
    root_in(&cache)
}

/// [`root`] under a given cache directory.
fn root_in(cache: &Path) -> Option<PathBuf> {
    let dir = cache.join("labctl").join(format!(
        "labs-{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        content_hash()
    ));
    for (rel, bytes) in LAB_FILES {
        let path = dir.join(rel);
        if std::fs::read(&path).is_ok_and(|on_disk| on_disk == *bytes) {
            continue;
        }
        write_atomically(&path, bytes).ok()?;
    }
    Some(dir)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = parent.join(format!(
        ".{}.{}.tmp",
        name.unwrap_or_default(),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    drop(file);
    std::fs::rename(&temp, path)
}

/// FNV-1a over every path and file, so a binary with other lab files uses another directory.
fn content_hash() -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (rel, bytes) in LAB_FILES {
        for b in rel
            .as_bytes()
            .iter()
            .chain([0u8].iter())
            .chain(bytes.iter())
        {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab_of_the_source_tree_is_built_in_and_written_out_whole() {
        let names = names();
        for lab in [
            "homework-redirect",
            "filter-redirect",
            "ftp-by-hand",
            "dns-query",
            "dhcp",
        ] {
            assert!(names.contains(lab), "{lab} is not built in: {names:?}");
        }
        let cache =
            std::env::temp_dir().join(format!("labctl-builtin-labs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let dir = root_in(&cache).expect("a cache directory");
        for (rel, bytes) in LAB_FILES {
            assert_eq!(std::fs::read(dir.join(rel)).unwrap(), *bytes, "{rel}");
        }
        // Written again over a damaged copy.
        std::fs::write(dir.join("homework-redirect/rubric.toml"), "damaged").unwrap();
        assert_eq!(root_in(&cache), Some(dir.clone()));
        assert_ne!(
            std::fs::read_to_string(dir.join("homework-redirect/rubric.toml")).unwrap(),
            "damaged"
        );
        let _ = std::fs::remove_dir_all(&cache);
    }
}
