//! File trees served by the FTP and HTTP servers: a virtual one from the scenario, or a real
//! directory.
//!
//! Contract: every path handed to a [`FileTree`] is absolute and normalised by [`resolve`]
//! (`/`, `/debian`, `/debian/README`: no `.`, no `..`, no empty component, no trailing slash),
//! so a tree never sees a path that climbs above its root. [`DirTree`] also refuses a path whose
//! real location (after symlinks) lies outside its root. Listings are sorted by name, so what a
//! client sees does not depend on hash or directory order.
//!
//! Invariants: [`MemTree`] always holds `/` and every ancestor of every file as a directory;
//! a file and a directory never share a path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

/// One directory entry as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    /// `None` for virtual files, which are listed with a fixed date so listings are stable.
    pub modified: Option<SystemTime>,
}

/// A tree of files addressed by normalised absolute paths (see [`resolve`]).
pub trait FileTree: Send + Sync + fmt::Debug {
    /// The entry at `path`, or `None` if nothing is there. `/` is always a directory.
    fn entry(&self, path: &str) -> Option<Entry>;
    /// The entries of the directory at `path`, sorted by name, or `None` if it is not one.
    fn list(&self, dir: &str) -> Option<Vec<Entry>>;
    /// The contents of the file at `path`.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// Creates or replaces the file at `path`; its parent must be an existing directory.
    fn write(&self, path: &str, data: Vec<u8>) -> io::Result<()>;
}

/// Joins `arg` to the directory `cwd` and normalises the result. `..` at the root stays at the
/// root, as in a chrooted FTP session; backslashes are ordinary characters.
pub fn resolve(cwd: &str, arg: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined;
    let full = if arg.starts_with('/') {
        arg
    } else {
        joined = format!("{cwd}/{arg}");
        &joined
    };
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The parent directory of a normalised path (`/` for `/` itself) and its last component.
pub fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// A virtual tree held in memory: the scenario's files, plus whatever clients upload.
#[derive(Debug, Default)]
pub struct MemTree {
    inner: RwLock<MemInner>,
}

#[derive(Debug, Default)]
struct MemInner {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
}

impl MemInner {
    fn add_dir_and_ancestors(&mut self, dir: &str) {
        let mut dir = dir.to_string();
        loop {
            let (parent, _) = split_parent(&dir);
            let parent = parent.to_string();
            self.dirs.insert(dir.clone());
            if dir == "/" {
                break;
            }
            dir = parent;
        }
    }
}

/// The error for a virtual tree whose paths contradict each other.
#[derive(Debug, thiserror::Error)]
#[error("virtual tree: {path:?} is both a file and a directory")]
pub struct TreeConflict {
    pub path: String,
}

impl MemTree {
    /// Builds a tree from `(path, contents)` pairs. Paths are relative to the root or absolute;
    /// a path ending in `/` names an (empty) directory and its contents are ignored.
    pub fn new<P, C>(files: impl IntoIterator<Item = (P, C)>) -> Result<Self, TreeConflict>
    where
        P: AsRef<str>,
        C: Into<Vec<u8>>,
    {
        let mut inner = MemInner::default();
        inner.dirs.insert("/".to_string());
        let mut wanted_dirs = Vec::new();
        for (path, contents) in files {
            let raw = path.as_ref();
            let norm = resolve("/", raw);
            if raw.ends_with('/') || norm == "/" {
                wanted_dirs.push(norm);
            } else {
                let (parent, _) = split_parent(&norm);
                let parent = parent.to_string();
                inner.add_dir_and_ancestors(&parent);
                inner.files.insert(norm, contents.into());
            }
        }
        for dir in wanted_dirs {
            inner.add_dir_and_ancestors(&dir);
        }
        if let Some(path) = inner.files.keys().find(|f| inner.dirs.contains(*f)) {
            return Err(TreeConflict { path: path.clone() });
        }
        Ok(Self {
            inner: RwLock::new(inner),
        })
    }

    /// An empty tree holding only `/`.
    pub fn empty() -> Self {
        let mut inner = MemInner::default();
        inner.dirs.insert("/".to_string());
        Self {
            inner: RwLock::new(inner),
        }
    }

    /// Every file and its contents, for checking what clients uploaded.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.read_inner().files.clone()
    }

    fn read_inner(&self) -> std::sync::RwLockReadGuard<'_, MemInner> {
        // A poisoned lock only means another connection panicked mid-write of a map insert,
        // which leaves the map itself valid.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl FileTree for MemTree {
    fn entry(&self, path: &str) -> Option<Entry> {
        let inner = self.read_inner();
        let (_, name) = split_parent(path);
        if let Some(data) = inner.files.get(path) {
            return Some(Entry {
                name: name.to_string(),
                is_dir: false,
                size: data.len() as u64,
                modified: None,
            });
        }
        inner.dirs.contains(path).then(|| Entry {
            name: name.to_string(),
            is_dir: true,
            size: 0,
            modified: None,
        })
    }

    fn list(&self, dir: &str) -> Option<Vec<Entry>> {
        let inner = self.read_inner();
        if !inner.dirs.contains(dir) {
            return None;
        }
        let mut out = Vec::new();
        let children = |p: &String| p.as_str() != dir && split_parent(p).0 == dir;
        for d in inner.dirs.iter().filter(|p| children(p)) {
            out.push(Entry {
                name: split_parent(d).1.to_string(),
                is_dir: true,
                size: 0,
                modified: None,
            });
        }
        for (f, data) in inner.files.iter().filter(|(p, _)| children(p)) {
            out.push(Entry {
                name: split_parent(f).1.to_string(),
                is_dir: false,
                size: data.len() as u64,
                modified: None,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Some(out)
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.read_inner()
            .files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }

    fn write(&self, path: &str, data: Vec<u8>) -> io::Result<()> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let (parent, name) = split_parent(path);
        if name.is_empty() || inner.dirs.contains(path) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        if !inner.dirs.contains(parent) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"));
        }
        inner.files.insert(path.to_string(), data);
        Ok(())
    }
}

/// A real directory on disk, for `labctl serve ... --root DIR`.
#[derive(Debug, Clone)]
pub struct DirTree {
    root: PathBuf,
}

impl DirTree {
    /// Serves `root`, which must be an existing directory.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = std::fs::canonicalize(root.as_ref())?;
        if !std::fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real path for a tree path, if it exists and stays inside the root.
    fn real(&self, path: &str) -> Option<PathBuf> {
        let joined = self.root.join(path.trim_start_matches('/'));
        let canonical = std::fs::canonicalize(&joined).ok()?;
        canonical.starts_with(&self.root).then_some(canonical)
    }

    fn entry_of(name: String, meta: &std::fs::Metadata) -> Entry {
        Entry {
            name,
            is_dir: meta.is_dir(),
            size: if meta.is_dir() { 0 } else { meta.len() },
            modified: meta.modified().ok(),
        }
    }
}

impl FileTree for DirTree {
    fn entry(&self, path: &str) -> Option<Entry> {
        let real = self.real(path)?;
        let meta = std::fs::metadata(&real).ok()?;
        Some(Self::entry_of(split_parent(path).1.to_string(), &meta))
    }

    fn list(&self, dir: &str) -> Option<Vec<Entry>> {
        let real = self.real(dir)?;
        let mut out = Vec::new();
        for item in std::fs::read_dir(real).ok()?.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            // Entries that cannot be statted (dangling symlinks) or lead outside the root are
            // left out of the listing, as they could not be fetched either.
            let child = resolve(dir, &name);
            if let (Some(_), Ok(meta)) = (self.real(&child), std::fs::metadata(item.path())) {
                out.push(Self::entry_of(name, &meta));
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Some(out)
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let real = self
            .real(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        std::fs::read(real)
    }

    fn write(&self, path: &str, data: Vec<u8>) -> io::Result<()> {
        let (parent, name) = split_parent(path);
        let parent_real = self
            .real(parent)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such directory"))?;
        let target = parent_real.join(name);
        // An existing symlink would be followed by the write: it must stay inside the root.
        if std::fs::symlink_metadata(&target).is_ok() && self.real(path).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "outside the root",
            ));
        }
        std::fs::write(target, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_normalises_and_never_climbs_above_root() {
        assert_eq!(resolve("/", "debian"), "/debian");
        assert_eq!(resolve("/debian", "../.."), "/");
        assert_eq!(resolve("/debian", "/pub//x/./y/"), "/pub/x/y");
        assert_eq!(resolve("/a/b", ".."), "/a");
        assert_eq!(resolve("/a", "../../etc/passwd"), "/etc/passwd");
        assert_eq!(resolve("/", ""), "/");
    }

    #[test]
    fn split_parent_of_paths() {
        assert_eq!(split_parent("/"), ("/", ""));
        assert_eq!(split_parent("/README"), ("/", "README"));
        assert_eq!(split_parent("/debian/README"), ("/debian", "README"));
    }

    fn lab_tree() -> MemTree {
        MemTree::new([
            ("debian/README", "Debian mirror\n"),
            ("welcome.txt", "hi\n"),
            ("incoming/", ""),
        ])
        .unwrap()
    }

    #[test]
    fn mem_tree_lists_implied_and_explicit_directories() {
        let tree = lab_tree();
        let names: Vec<_> = tree
            .list("/")
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.is_dir))
            .collect();
        assert_eq!(
            names,
            [
                ("debian".to_string(), true),
                ("incoming".to_string(), true),
                ("welcome.txt".to_string(), false)
            ]
        );
        assert_eq!(tree.entry("/debian/README").unwrap().size, 14);
        assert!(tree.entry("/debian").unwrap().is_dir);
        assert!(tree.entry("/nope").is_none());
        assert!(tree.list("/welcome.txt").is_none());
        assert_eq!(tree.list("/incoming").unwrap(), vec![]);
    }

    #[test]
    fn mem_tree_write_needs_an_existing_parent() {
        let tree = lab_tree();
        tree.write("/incoming/up.bin", vec![0, 1, 2]).unwrap();
        assert_eq!(tree.read("/incoming/up.bin").unwrap(), [0, 1, 2]);
        assert!(tree.write("/missing/x", vec![]).is_err());
        assert!(tree.write("/debian", vec![]).is_err());
        assert_eq!(tree.files().len(), 3);
    }

    #[test]
    fn mem_tree_rejects_a_path_that_is_file_and_directory() {
        let err = MemTree::new([("a", "x"), ("a/b", "y")]).unwrap_err();
        assert_eq!(err.path, "/a");
    }

    #[test]
    fn dir_tree_stays_inside_its_root() {
        let base = std::env::temp_dir().join(format!("labctl-tree-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(base.join("secret"), "no").unwrap();
        std::fs::write(root.join("sub/file"), "yes").unwrap();
        std::os::unix::fs::symlink(base.join("secret"), root.join("escape")).unwrap();
        let tree = DirTree::new(&root).unwrap();
        assert_eq!(tree.read("/sub/file").unwrap(), b"yes");
        assert!(tree.read("/escape").is_err());
        let names: Vec<_> = tree
            .list("/")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["sub"]);
        tree.write("/sub/new", b"up".to_vec()).unwrap();
        assert_eq!(std::fs::read(root.join("sub/new")).unwrap(), b"up");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
