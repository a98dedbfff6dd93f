//! The scenarios built into the binary: every `scenarios/*.toml` of the source tree, with its
//! expected snapshot from `scenarios/snapshots/`, embedded at build time by `build.rs`, and
//! the files they name (every other file under `scenarios/`, such as a rules file).

/// A scenario embedded in the binary.
pub struct Builtin {
    pub name: &'static str,
    pub toml: &'static str,
    pub snapshot: Option<&'static str>,
}

include!(concat!(env!("OUT_DIR"), "/builtin_scenarios.rs"));

/// A file a built-in scenario names (a rules file), by its path relative to `scenarios/`.
pub fn builtin_file(path: &str) -> Option<&'static str> {
    BUILTIN_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Origin, parse};

    #[test]
    fn every_builtin_scenario_is_valid_and_named_after_its_file() {
        assert!(!BUILTIN.is_empty());
        for b in BUILTIN {
            let plan = parse(b.toml, Origin::Builtin(b.name)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(plan.name, b.name);
        }
    }
}
