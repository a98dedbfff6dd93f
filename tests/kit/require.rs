//! The programs a test needs, looked up as labctl itself looks them up before a run
//! (`labctl::drive::locate`: PATH, then /usr/sbin and /sbin). A missing one fails the test
//! naming the Debian package to install; no test skips.

use std::path::PathBuf;

/// The path of `program`; panics naming the Debian `package` when it is not installed.
pub fn require(program: &str, package: &str) -> PathBuf {
    labctl::drive::locate(program).unwrap_or_else(|e| {
        panic!("this test needs `{program}`: {e}; install the Debian package {package} (apt-get install {package})")
    })
}
