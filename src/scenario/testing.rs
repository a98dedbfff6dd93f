//! What the scenario parser's unit tests share: parsing a text as the file `x.toml`, the error
//! a text must be refused with, a two-host lab to add keys to, and the rules every registry of
//! kinds keeps.

use super::{Origin, Plan, ScenarioError, parse};

/// Two hosts, `client` (10.0.0.1) and `server` (10.0.0.2), on one link.
pub(crate) const TWO_HOSTS: &str = "name = \"t\"\n[hosts.client]\n[hosts.server]\n[[links]]\n\
     ends = [\"client:eth0 10.0.0.1/24\", \"server:eth0 10.0.0.2/24\"]\n";

/// Parses `text` as the scenario file `x.toml`.
pub(crate) fn file(text: &str) -> Result<Plan, ScenarioError> {
    parse(text, Origin::File("x.toml".into()))
}

/// The error `text` is refused with; panics when it parses.
pub(crate) fn refused(text: &str) -> ScenarioError {
    file(text).expect_err("must fail")
}

/// A registry's rows, as (key, usage): no key is listed twice, and each usage starts with its
/// key.
pub(crate) fn assert_keys_unique(rows: &[(&str, &str)]) {
    for (i, (key, usage)) in rows.iter().enumerate() {
        assert!(
            rows[..i].iter().all(|(k, _)| k != key),
            "{key} is listed twice"
        );
        assert!(usage.starts_with(key), "{usage}");
    }
}
