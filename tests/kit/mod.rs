//! The one test kit of labctl's integration tests: every test file says `mod kit;` and takes
//! what it needs. examples/ include single files of it with `#[path]`; the frame synthesiser
//! lives in the library (`labctl::analyze::fixture`, re-exported here as [`frames`]) so the
//! unit tests and the fuzz targets share it too.
//!
//! - [`bin`]: the labctl binary and the repository root, running it for its JSON, and what a
//!   run said;
//! - [`capfile`]: capture files built byte by byte, well formed or broken;
//! - [`process`]: running a client program with a deadline, `curl` and `nc`, and checking
//!   what it printed;
//! - [`scratch`]: a fresh scratch directory per test;
//! - [`require`]: the programs a test needs, found by the product's own lookup rule, failing
//!   (never skipping) with the Debian package to install;
//! - [`servers`]: a labctl server running in-process on loopback;
//! - [`netns`]: throwaway network namespaces for real `ip` and `iptables`;
//! - [`sniff`] and [`tshark`]: loopback captures and tshark's answers to compare with;
//! - [`grading`]: submissions made and graded, grading tables of mistakes, a class in shards;
//! - [`rules_corpus`]: iptables rules, good and bad, for the rule tests.
#![allow(dead_code, unused_imports)]

pub mod bin;
pub mod capfile;
pub mod grading;
pub mod netns;
pub mod process;
pub mod require;
pub mod rules_corpus;
pub mod scratch;
pub mod servers;
pub mod sniff;
pub mod tshark;

pub use bin::{
    assert_exit, assert_stderr_has, assert_stdout_has, described, labctl, labctl_json, root,
    run_command, run_json, run_refused, show, stage_names, strings,
};
pub use labctl::analyze::fixture as frames;
pub use netns::Netns;
pub use process::{assert_contains, curl, nc, run, run_held, stdout_of, succeeded, text};
pub use require::require;
pub use scratch::{scratch, scratch_file};
pub use servers::{Running, Shutdown, start_tcp, start_udp_tcp};
