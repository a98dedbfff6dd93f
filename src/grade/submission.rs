//! A submission directory, read as untrusted input.
//!
//! Contract: only regular files directly inside the directory are read, opened without
//! following symbolic links and without blocking (a FIFO or device is refused, not waited
//! on), and each up to a size limit checked before reading. A symbolic link, even to a file
//! that exists, is refused without being followed, so nothing outside the submission is ever
//! read or revealed. Problems are recorded as [`FileProblem`]s for feedback, never errors: a
//! broken submission still gets a grade. File names appear in messages escaped.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Size limit of commands.sh and answers.toml.
const TEXT_MAX: u64 = 1024 * 1024;

/// What was wrong with a file the submission needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    Missing,
    Symlink,
    NotRegular,
    TooLarge { size: u64, max: u64 },
    Unreadable(String),
}

impl FileProblem {
    /// In the student's terms, after the file name.
    pub fn describe(&self) -> String {
        match self {
            FileProblem::Missing => "is missing".into(),
            FileProblem::Symlink => {
                "is a symbolic link: links are not followed, hand in the file itself".into()
            }
            FileProblem::NotRegular => "is not a regular file".into(),
            FileProblem::TooLarge { size, max } => format!(
                "is {} MB, over the {} MB limit: capture only the lab's interface, and stop the \
                 capture when the exercise is done",
                size.div_ceil(1024 * 1024),
                max / (1024 * 1024)
            ),
            FileProblem::Unreadable(e) => format!("cannot be read ({e})"),
        }
    }
}

/// A file name as messages show it: quoted, control characters escaped.
pub fn shown(name: &str) -> String {
    format!("{name:?}")
}

/// The capture of a submission: an open, verified regular file.
#[derive(Debug)]
pub struct CaptureFile {
    pub name: String,
    pub file: File,
    pub size: u64,
}

#[derive(Debug)]
pub struct Submission {
    pub dir: PathBuf,
    pub commands: Result<Vec<u8>, FileProblem>,
    pub answers: Option<Result<Vec<u8>, FileProblem>>,
    /// The capture graded, or why there is none usable.
    pub capture: Result<CaptureFile, (Option<String>, FileProblem)>,
    /// Other capture files present (only the first, by name, is graded).
    pub other_captures: Vec<String>,
}

impl Submission {
    /// Reads `dir`. Never fails: every problem is recorded for feedback.
    pub fn read(dir: &Path, capture_max: u64) -> Submission {
        let commands = read_text(dir, "commands.sh");
        let answers = match read_text(dir, "answers.toml") {
            Err(FileProblem::Missing) => None,
            other => Some(other),
        };
        // Names are kept as the file system has them (not necessarily UTF-8) to open them,
        // and shown lossily.
        let mut captures: Vec<std::ffi::OsString> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| {
                let n = n.to_string_lossy().to_ascii_lowercase();
                n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".cap")
            })
            .collect();
        captures.sort();
        let capture = match captures.first() {
            None => Err((None, FileProblem::Missing)),
            Some(os) => {
                let name = os.to_string_lossy().into_owned();
                open_regular(&dir.join(os), capture_max)
                    .map(|(file, size)| CaptureFile {
                        name: name.clone(),
                        file,
                        size,
                    })
                    .map_err(|p| (Some(name), p))
            }
        };
        Submission {
            dir: dir.to_path_buf(),
            commands,
            answers,
            capture,
            other_captures: captures
                .iter()
                .skip(1)
                .map(|n| n.to_string_lossy().into_owned())
                .collect(),
        }
    }
}

impl Submission {
    /// Grades the capture file at `path` as this submission's capture.
    pub fn use_capture(&mut self, path: &Path, capture_max: u64) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.capture = open_regular(path, capture_max)
            .map(|(file, size)| CaptureFile {
                name: name.clone(),
                file,
                size,
            })
            .map_err(|p| (Some(name), p));
    }
}

fn read_text(dir: &Path, name: &str) -> Result<Vec<u8>, FileProblem> {
    let (file, size) = open_regular(&dir.join(name), TEXT_MAX)?;
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(TEXT_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| FileProblem::Unreadable(e.kind().to_string()))?;
    Ok(bytes)
}

/// Opens a regular file without following a link or blocking on a FIFO, refusing it when it
/// is larger than `max`; the file is positioned at its start.
fn open_regular(path: &Path, max: u64) -> Result<(File, u64), FileProblem> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => FileProblem::Missing,
            Some(libc::ELOOP) => FileProblem::Symlink,
            _ => FileProblem::Unreadable(e.kind().to_string()),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| FileProblem::Unreadable(e.kind().to_string()))?;
    if !meta.is_file() {
        return Err(FileProblem::NotRegular);
    }
    if meta.len() > max {
        return Err(FileProblem::TooLarge {
            size: meta.len(),
            max,
        });
    }
    let mut file = file;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| FileProblem::Unreadable(e.kind().to_string()))?;
    Ok((file, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn links_fifos_and_large_files_are_refused_unread() {
        let dir = std::env::temp_dir().join(format!("labctl-submission-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("commands.sh")).unwrap();
        nix::unistd::mkfifo(&dir.join("answers.toml"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let big = File::create(dir.join("a.pcap")).unwrap();
        big.set_len(300 * 1024 * 1024).unwrap();
        std::fs::write(dir.join("b.pcapng"), b"x").unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"c\xff.pcap");
        std::fs::write(dir.join(odd), b"x").unwrap();
        let s = Submission::read(&dir, 100 * 1024 * 1024);
        assert_eq!(s.commands.unwrap_err(), FileProblem::Symlink);
        assert_eq!(s.answers.unwrap().unwrap_err(), FileProblem::NotRegular);
        let (name, problem) = s.capture.unwrap_err();
        assert_eq!(name.as_deref(), Some("a.pcap"));
        assert!(matches!(problem, FileProblem::TooLarge { .. }));
        assert_eq!(s.other_captures, ["b.pcapng", "c\u{fffd}.pcap"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
