//! Interface names as rules and routes write them (`eth0`, `vpn0`, and for iptables `eth+`).
//!
//! Contract: an [`Iface`] holds 1 to 15 chars of `A-Z a-z 0-9 _ . -` (the kernel's IFNAMSIZ
//! limit, and the characters lab and student interfaces use), optionally ending in `+`, which
//! iptables reads as "any interface starting with". It is never `.` or `..`. Grading renames
//! interfaces (a student's `enp0s3` becomes the lab's `eth0`), so the type is also the unit of
//! that mapping.

use std::fmt;
use std::str::FromStr;

/// A validated interface name, possibly an iptables wildcard (`eth+`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Iface(String);

/// Why a word is not an interface name, e.g. `longer than 15 characters`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IfaceError(&'static str);

/// The longest name the kernel accepts (IFNAMSIZ minus the terminating NUL).
const MAX_LEN: usize = 15;

impl Iface {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name ends in `+` and so matches every interface with that prefix.
    pub fn is_wildcard(&self) -> bool {
        self.0.ends_with('+')
    }
}

impl FromStr for Iface {
    type Err = IfaceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let stem = s.strip_suffix('+').unwrap_or(s);
        if s.is_empty() {
            return Err(IfaceError("empty"));
        }
        if s.chars().count() > MAX_LEN {
            return Err(IfaceError("longer than 15 characters"));
        }
        if stem == "." || stem == ".." {
            return Err(IfaceError(". or .."));
        }
        if !stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(IfaceError("characters other than letters, digits, _ . -"));
        }
        Ok(Iface(s.to_owned()))
    }
}

impl fmt::Display for Iface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_and_wildcard_names_are_accepted() {
        for name in [
            "eth0",
            "vpn0",
            "enp0s3",
            "eth+",
            "+",
            "veth-a_1.2",
            "abcdefghijabcde",
        ] {
            assert_eq!(name.parse::<Iface>().unwrap().as_str(), name);
        }
        assert!("eth+".parse::<Iface>().unwrap().is_wildcard());
        assert!(!"eth0".parse::<Iface>().unwrap().is_wildcard());
    }

    #[test]
    fn names_the_kernel_refuses_are_refused() {
        for name in [
            "",
            "abcdefghijabcdef",
            "a b",
            "a/b",
            "eth0@if3",
            "..",
            ".",
            "e+th",
            "a:b",
        ] {
            assert!(name.parse::<Iface>().is_err(), "{name:?}");
        }
    }
}
