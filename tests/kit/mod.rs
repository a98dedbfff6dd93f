//! The one test kit of labctl's integration tests: every test file says `mod kit;` and takes
//! what it needs. examples/ include single files of it with `#[path]`; the frame synthesiser
//! lives in the library (`labctl::analyze::fixture`, re-exported here as [`frames`]) so the
//! unit tests and the fuzz targets share it too.
//!
//! - [`bin`]: the labctl binary, and running it for its JSON;
//! - [`process`]: running a client program with a deadline;
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
pub mod grading;
pub mod netns;
pub mod process;
pub mod require;
pub mod rules_corpus;
pub mod scratch;
pub mod servers;
pub mod sniff;
pub mod tshark;

pub use bin::{labctl, labctl_json, run_refused};
pub use labctl::analyze::fixture as frames;
pub use netns::Netns;
pub use process::{run, run_held, text};
pub use require::require;
pub use scratch::scratch;
pub use servers::{Running, Shutdown, start_tcp, start_udp_tcp};
