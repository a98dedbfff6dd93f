//! Switches: `[switches.NAME]` with `ports = ["a:eth0 10.0.0.1/24", "c:eth0"]`, an optional
//! `capture = ["a:eth0"]` and `hub = true`.
//!
//! Contract: a switch becomes a host of the plan with [`SwitchPlan`] set (so it has a namespace
//! of its own and appears in the topology), declared after every host so that host ids do not
//! move, and each port becomes a link between the member's interface and the switch's port
//! `pN` (N from 1, in the order of `ports`). A port's end is written as a link end; it may have
//! no address (a DHCP client gets one later). A captured port is captured on the member's side:
//! a capture on the bridge itself would see only what the bridge floods to it.

use super::*;

/// Declares every switch as a host without address, after the hosts; a name taken by a host is
/// refused.
pub(super) fn declare(
    cx: &Ctx,
    switches: &BTreeMap<Spanned<String>, RawSwitch>,
    hosts: &mut Vec<HostPlan>,
) -> Result<(), ScenarioError> {
    for (name, switch) in switches {
        check_name(cx, name, "switch")?;
        if hosts.iter().any(|h| &h.name == name.get_ref()) {
            return Err(cx
                .err(
                    name.span(),
                    format!("{:?} names a host and a switch", name.get_ref()),
                )
                .with_hint("give the switch a name of its own, e.g. [switches.lan]"));
        }
        hosts.push(HostPlan {
            name: name.get_ref().clone(),
            forward: false,
            ipv6: false,
            lo: LoopbackPlan::default(),
            switch: Some(SwitchPlan { hub: switch.hub }),
        });
    }
    Ok(())
}

/// Adds one link per port of every switch, and marks the captured ports. `links` already holds
/// the scenario's `[[links]]`; a port may not reuse an interface of its host.
pub(super) fn ports(
    cx: &Ctx,
    switches: &BTreeMap<Spanned<String>, RawSwitch>,
    hosts: &[HostPlan],
    resolver: &Resolver,
    links: &mut Vec<LinkPlan>,
) -> Result<(), ScenarioError> {
    let hint = r#"ports = ["a:eth0 10.0.0.1/24", "b:eth0 10.0.0.2/24", "c:eth0"]"#;
    for (name, switch) in switches {
        let id = hosts
            .iter()
            .position(|h| &h.name == name.get_ref())
            .expect("declared");
        let ports = switch.ports.get_ref();
        if ports.len() < 2 {
            return Err(cx
                .err(switch.ports.span(), "a switch needs at least two ports")
                .with_hint(hint));
        }
        let first = links.len();
        for (n, port) in ports.iter().enumerate() {
            let end = parse_end(cx, port, resolver)?;
            if let Some(link) = links.iter().position(|l| {
                l.ends
                    .iter()
                    .any(|e| e.host == end.host && e.iface == end.iface)
            }) {
                let used = if link >= first {
                    format!("another port of switch {}", name.get_ref())
                } else {
                    format!("link {}", link + 1)
                };
                return Err(cx.err(
                    cx.inner(port),
                    format!(
                        "host {} already has an interface {} ({used})",
                        hosts[end.host].name, end.iface
                    ),
                ));
            }
            let port_end = LinkEnd {
                host: id,
                iface: format!("p{}", n + 1),
                addr: None,
                extra: Vec::new(),
                capture: false,
            };
            links.push(LinkPlan {
                ends: [end, port_end],
                mtu: None,
                capture_filter: None,
            });
        }
        for capture in &switch.capture {
            let text = capture.get_ref().trim();
            let port = links[first..].iter_mut().find(|l| {
                let end = &l.ends[0];
                text == format!("{}:{}", hosts[end.host].name, end.iface)
            });
            match port {
                Some(link) => link.ends[0].capture = true,
                None => {
                    let names: Vec<String> = links[first..]
                        .iter()
                        .map(|l| format!("{}:{}", hosts[l.ends[0].host].name, l.ends[0].iface))
                        .collect();
                    return Err(cx
                        .err(
                            cx.inner(capture),
                            format!("{text:?} is not a port of switch {}", name.get_ref()),
                        )
                        .with_hint(format!("its ports are: {}", names.join(", "))));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::testing::{file, refused};

    const LAN: &str = r#"
name = "t"
[hosts.a]
[hosts.b]
[hosts.c]
[switches.lan]
ports = ["a:eth0 10.0.0.1/24", "b:eth0 10.0.0.2/24", "c:eth0"]
capture = ["a:eth0", "c:eth0"]
hub = true
"#;

    #[test]
    fn a_switch_is_a_namespace_with_one_link_per_port() {
        let plan = file(LAN).unwrap();
        assert_eq!(plan.hosts.len(), 4);
        let lan = plan.host_id("lan").unwrap();
        assert_eq!(lan, 3, "switches come after hosts");
        assert!(plan.hosts[lan].switch.unwrap().hub);
        assert_eq!(plan.links.len(), 3);
        let ports: Vec<(&str, bool, Option<String>)> = plan
            .links
            .iter()
            .map(|l| {
                assert_eq!(l.ends[1].host, lan);
                assert!(!l.ends[1].capture);
                (
                    l.ends[1].iface.as_str(),
                    l.ends[0].capture,
                    l.ends[0].addr.map(|a| a.to_string()),
                )
            })
            .collect();
        assert_eq!(
            ports,
            [
                ("p1", true, Some("10.0.0.1/24".into())),
                ("p2", false, Some("10.0.0.2/24".into())),
                ("p3", true, None),
            ]
        );
    }

    #[test]
    fn a_capture_names_a_port() {
        let e = refused(&LAN.replace(
            r#"capture = ["a:eth0", "c:eth0"]"#,
            r#"capture = ["a:eth1"]"#,
        ));
        assert!(
            e.msg.contains("\"a:eth1\" is not a port of switch lan"),
            "{e}"
        );
        assert_eq!((e.line, e.col), (8, 13), "{e}");
        assert!(e.hint.unwrap().contains("a:eth0, b:eth0, c:eth0"));
    }

    #[test]
    fn a_switch_is_not_a_host() {
        let e = refused(&LAN.replace("\"c:eth0\"]\n", "\"c:eth0\", \"lan:eth0\"]\n"));
        assert!(e.msg.contains("lan is a switch"), "{e}");
        let step = "[[steps]]\nhost = \"lan\"\nwait = \"1s\"\n";
        let e = refused(&format!("{LAN}{step}"));
        assert_eq!(e.msg, "lan is a switch, not a host", "{e}");
        assert_eq!(
            e.hint.as_deref(),
            Some("a switch has no address and runs nothing; hosts are: a, b, c")
        );
        let e = refused(&format!(
            "{LAN}[[steps]]\nhost = \"a\"\ntraceroute = \"lan\"\n"
        ));
        assert_eq!(e.msg, "lan is a switch, not a host", "{e}");
        let e = refused(&format!("{LAN}[[steps]]\nhost = \"x\"\nwait = \"1s\"\n"));
        assert_eq!(e.hint.as_deref(), Some("hosts are: a, b, c"), "{e}");
        let e = refused(&LAN.replace("[switches.lan]", "[switches.a]"));
        assert!(e.msg.contains("names a host and a switch"), "{e}");
        let e = refused(&LAN.replace("\"c:eth0\"]\n", "\"a:eth0\"]\n"));
        assert!(e.msg.contains("another port of switch lan"), "{e}");
        let e = refused(&LAN.replace(r#""b:eth0 10.0.0.2/24", "c:eth0""#, ""));
        assert!(e.msg.contains("at least two ports"), "{e}");
    }
}
