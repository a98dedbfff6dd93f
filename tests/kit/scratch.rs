//! One fresh scratch directory per test: `labctl-NAME-PID` under the system temp dir, emptied
//! first, so a rerun starts clean and test binaries running at once never share one; or one
//! holding a single file the test writes.

use std::path::PathBuf;

/// A fresh, empty scratch directory; `name` must be unique within the test binary.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labctl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A fresh scratch directory (as [`scratch`]) holding one file, `file`, written with
/// `contents`: the directory and the file's path.
pub fn scratch_file(name: &str, file: &str, contents: impl AsRef<[u8]>) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let path = dir.join(file);
    std::fs::write(&path, contents).expect("write a scratch file");
    (dir, path)
}
