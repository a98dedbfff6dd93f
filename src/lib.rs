//! labctl runs network lab exercises on the real Linux kernel, inside network namespaces, and
//! checks what happened on the wire.
//!
//! One run is a pipeline of plain data, one module per stage (see ARCHITECTURE.md):
//! `scenario` (TOML -> validated plan) -> `sandbox` (namespaces) -> `topology` (links,
//! addresses, routes) -> `capture` -> `services` -> `rules` -> `drive` (steps) -> `wire` and
//! `analyze` (pcap -> packets -> conversations) -> `check` (expectations, snapshots) -> `report`.
//! `run` strings the stages together. `text` holds the formatting every stage shares. Modules
//! import only lower layers of the table in ARCHITECTURE.md's "Dependencies" section (checked
//! by `tests/tidy.rs`), so there is no import cycle. Every command's entry point returns a
//! [`verdict::Verdict`] or a [`verdict::Error`]; only the binary's `main` turns them into an exit
//! code.
//!
//! The documentation is meant to be read with `cargo doc --document-private-items`: module
//! docs name the private pieces a module is made of.
#![allow(rustdoc::private_intra_doc_links)]

pub mod analyze;
pub mod capture;
pub mod catalogue;
pub mod check;
pub mod drive;
pub mod filter;
pub mod grade;
pub mod jobs;
pub mod report;
pub mod rules;
pub mod run;
pub mod sandbox;
pub mod scenario;
pub mod services;
pub mod suite;
pub mod text;
pub mod topology;
pub mod verdict;
pub mod wire;
