//! [`Resolver`]: host names to hosts and addresses, for every part of a scenario that names a
//! host (link ends, services, rules, step targets, expectations).
//!
//! Contract: a name that is no host is reported by [`Resolver::unknown`] alone, at the name's
//! span, with the hosts the scenario has as the hint, so the message reads the same wherever
//! the name was written. A switch is a plan host (`switch: Some(..)`) that nothing may name
//! where a host is wanted: it has no address and runs nothing, so resolving one gives the one
//! "NAME is a switch, not a host" error, and hints list hosts without the switches.

use std::net::IpAddr;
use std::ops::Range;

use toml::Spanned;

use super::Ctx;
use crate::scenario::{Cidr, HostId, HostPlan, LinkPlan, ScenarioError};

/// The hosts of a scenario and, once they are read, its links (which give hosts addresses).
pub(super) struct Resolver<'a> {
    cx: &'a Ctx<'a>,
    hosts: &'a [HostPlan],
    links: &'a [LinkPlan],
}

impl<'a> Resolver<'a> {
    pub(super) fn new(cx: &'a Ctx<'a>, hosts: &'a [HostPlan], links: &'a [LinkPlan]) -> Self {
        Resolver { cx, hosts, links }
    }

    /// The scenario's hosts, switches included.
    pub(super) fn hosts(&self) -> &'a [HostPlan] {
        self.hosts
    }

    /// The scenario's links, switch ports included.
    pub(super) fn links(&self) -> &'a [LinkPlan] {
        self.links
    }

    /// A host's name.
    pub(super) fn name(&self, host: HostId) -> &'a str {
        &self.hosts[host].name
    }

    /// The host called `name`, written at `span`.
    pub(super) fn host(&self, name: &str, span: Range<usize>) -> Result<HostId, ScenarioError> {
        self.lookup(name, span, false)
    }

    /// The host called `name`: neither unknown nor a switch.
    fn lookup(
        &self,
        name: &str,
        span: Range<usize>,
        or_address: bool,
    ) -> Result<HostId, ScenarioError> {
        match self.hosts.iter().position(|h| h.name == name) {
            Some(id) if self.hosts[id].switch.is_some() => Err(self
                .cx
                .err(span, format!("{name} is a switch, not a host"))
                .with_hint(format!(
                    "a switch has no address and runs nothing; hosts are: {}",
                    self.host_names()
                ))),
            Some(id) => Ok(id),
            None => Err(self.unknown(name, span, or_address)),
        }
    }

    /// The hosts' names, switches left out, for hints.
    fn host_names(&self) -> String {
        self.hosts
            .iter()
            .filter(|h| h.switch.is_none())
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The host a whole string value names, the caret on the name without its quotes.
    pub(super) fn host_value(&self, name: &Spanned<String>) -> Result<HostId, ScenarioError> {
        self.host(name.get_ref(), self.cx.inner(name))
    }

    /// The address a host is reached at: its first link end's.
    pub(super) fn first_addr(&self, host: HostId) -> Option<Cidr> {
        self.links
            .iter()
            .flat_map(|l| l.ends.iter())
            .find(|e| e.host == host)
            .and_then(|e| e.addr)
    }

    /// A literal address, or the address of the host called `word`, written at `span`: what
    /// traceroute and `route get` take.
    pub(super) fn address(&self, word: &str, span: Range<usize>) -> Result<IpAddr, ScenarioError> {
        if let Ok(addr) = word.parse::<IpAddr>() {
            return Ok(addr);
        }
        let host = self.lookup(word, span.clone(), true)?;
        self.first_addr(host)
            .map(|c| c.addr)
            .ok_or_else(|| self.cx.err(span, format!("host {word} has no address")))
    }

    /// The one "unknown host" error; `or_address` says an address would do as well.
    pub(super) fn unknown(
        &self,
        name: &str,
        span: Range<usize>,
        or_address: bool,
    ) -> ScenarioError {
        let names = self.host_names();
        let hint = if or_address {
            format!("an address or one of the hosts: {names}")
        } else {
            format!("hosts are: {names}")
        };
        self.cx
            .err(span, format!("unknown host {name:?}"))
            .with_hint(hint)
    }
}
