//! The lab's topology as plain data taken from the plan, and drawn as inline SVG: hosts,
//! routers and switches (square corners; each port a link to its host) as boxes in the plan's
//! order, links between them with each end's interface name and address, captured ends marked,
//! and the REDIRECT rules that make the wire show one port while a server listens on another.
//!
//! Contract: [`Topology::from_plan`] keeps only what the picture needs (names, no namespaces);
//! [`svg`] is a pure function of it. A link between neighbours in the plan's order is a straight
//! line; any other link runs in a lane of its own below the boxes, so every graph can be drawn
//! without crossings hiding a label. A captured end has a ring marker and the word "captured".

use std::fmt::Write;

use crate::rules::Target;
use crate::scenario::{Action, Plan};
use crate::text::markup;

/// One host of the lab.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    /// Forwards packets between its links.
    pub router: bool,
    /// A switch (a bridge joining its links), `Some(true)` when it is a hub.
    pub switch: Option<bool>,
    /// Its loopback is captured.
    pub lo_captured: bool,
}

/// One end of a link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct End {
    /// Index into [`Topology::hosts`].
    pub host: usize,
    pub iface: String,
    /// `10.0.0.1/24`, when the end has an address.
    pub addr: Option<String>,
    pub captured: bool,
}

/// The lab's hosts, links and address-changing rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    pub hosts: Vec<Host>,
    pub links: Vec<[End; 2]>,
    /// One sentence per REDIRECT rule the lab applies.
    pub redirects: Vec<String>,
}

impl Topology {
    pub fn from_plan(plan: &Plan) -> Topology {
        let hosts = plan
            .hosts
            .iter()
            .map(|h| Host {
                name: h.name.clone(),
                router: h.forward,
                switch: h.switch.map(|sw| sw.hub),
                lo_captured: h.lo.capture,
            })
            .collect();
        let links = plan
            .links
            .iter()
            .map(|l| {
                l.ends.clone().map(|e| End {
                    host: e.host,
                    iface: e.iface,
                    addr: e.addr.map(|a| a.to_string()),
                    captured: e.capture,
                })
            })
            .collect();
        let rules = plan
            .rules
            .iter()
            .map(|r| (r.host, &r.rule))
            .chain(
                plan.rule_files
                    .iter()
                    .flat_map(|f| f.commands.iter().map(move |c| (f.host, &c.rule))),
            )
            .chain(plan.steps.iter().filter_map(|s| match &s.action {
                Action::Iptables(rule) => Some((s.host, rule)),
                _ => None,
            }));
        let redirects = rules
            .filter(|(_, rule)| matches!(rule.target(), Some(Target::Redirect { .. })))
            .map(|(host, rule)| {
                format!(
                    "{}: iptables {rule} — the packets keep their port on the wire, and the \
                     replies leave from it too, although the server listens on the port it \
                     redirects to",
                    plan.hosts[host].name
                )
            })
            .collect();
        Topology {
            hosts,
            links,
            redirects,
        }
    }
}

const BOX_W: usize = 130;
const BOX_H: usize = 50;
const GAP: usize = 360;
const LEFT: usize = 40;
const TOP: usize = 40;
const LANE: usize = 64;

/// The order hosts are drawn in, left to right: breadth first along the links from the plan's
/// first host, so a chain (client, router, server) is drawn as a chain whatever the order the
/// scenario declares its hosts in; hosts no link reaches follow in the plan's order.
fn layout(topology: &Topology) -> Vec<usize> {
    let n = topology.hosts.len();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for start in 0..n {
        if order.contains(&start) {
            continue;
        }
        let mut next = order.len();
        order.push(start);
        while next < order.len() {
            let host = order[next];
            next += 1;
            for [a, b] in &topology.links {
                for (from, to) in [(a.host, b.host), (b.host, a.host)] {
                    if from == host && to < n && !order.contains(&to) {
                        order.push(to);
                    }
                }
            }
        }
    }
    // position[host] = column
    let mut position = vec![0; n];
    for (column, host) in order.into_iter().enumerate() {
        position[host] = column;
    }
    position
}

/// The topology as an `<svg>` element.
pub fn svg(topology: &Topology) -> String {
    let position = layout(topology);
    let centre = |host: usize| LEFT + BOX_W / 2 + position.get(host).copied().unwrap_or(0) * GAP;
    let n = topology.hosts.len().max(1);
    // Links between neighbours go straight; the others each get a lane below the boxes.
    let mut straight = Vec::new();
    let mut lanes = Vec::new();
    for (i, [a, b]) in topology.links.iter().enumerate() {
        let neighbours = position
            .get(a.host)
            .zip(position.get(b.host))
            .is_some_and(|(x, y)| x.abs_diff(*y) == 1);
        let first = !straight
            .iter()
            .any(|&j: &usize| same_pair(&topology.links[j], a.host, b.host));
        if neighbours && first {
            straight.push(i);
        } else {
            lanes.push(i);
        }
    }
    let width = LEFT * 2 + (n - 1) * GAP + BOX_W + 60;
    let height = TOP + BOX_H + 70 + lanes.len() * LANE;
    let label = format!(
        "topology: {} hosts, {} links",
        topology.hosts.len(),
        topology.links.len()
    );
    let mut s = super::svg_open("topology", width, height, &label);
    let mid = TOP + BOX_H / 2;
    for &i in &straight {
        let [a, b] = &topology.links[i];
        let (l, r) = if centre(a.host) < centre(b.host) {
            (a, b)
        } else {
            (b, a)
        };
        let (x1, x2) = (centre(l.host) + BOX_W / 2, centre(r.host) - BOX_W / 2);
        let _ = writeln!(
            s,
            "<line x1=\"{x1}\" y1=\"{mid}\" x2=\"{x2}\" y2=\"{mid}\" class=\"link\"/>"
        );
        end_label(&mut s, l, x1 + 6, mid, "start");
        end_label(&mut s, r, x2 - 6, mid, "end");
    }
    for (k, &i) in lanes.iter().enumerate() {
        let [a, b] = &topology.links[i];
        let (l, r) = if centre(a.host) <= centre(b.host) {
            (a, b)
        } else {
            (b, a)
        };
        let y = TOP + BOX_H + 40 + k * LANE;
        let (x1, x2) = (
            centre(l.host),
            centre(r.host) + if l.host == r.host { 60 } else { 0 },
        );
        let _ = writeln!(
            s,
            "<path d=\"M{x1} {} V{y} H{x2} V{}\" fill=\"none\" class=\"link\"/>",
            TOP + BOX_H,
            TOP + BOX_H
        );
        end_label(&mut s, l, x1 + 6, y, "start");
        end_label(&mut s, r, x2 - 6, y, "end");
    }
    for (i, host) in topology.hosts.iter().enumerate() {
        let x = centre(i) - BOX_W / 2;
        let class = match host.switch {
            Some(true) => "hub",
            Some(false) => "switch",
            None if host.router => "router",
            None => "host",
        };
        let _ = writeln!(
            s,
            "<g class=\"node\" data-host=\"{}\"><rect x=\"{x}\" y=\"{TOP}\" width=\"{BOX_W}\" \
             height=\"{BOX_H}\" rx=\"{}\" class=\"{class}\"/><text x=\"{}\" y=\"{}\" \
             text-anchor=\"middle\" class=\"name\">{}</text><text x=\"{2}\" y=\"{}\" \
             text-anchor=\"middle\" class=\"kind\">{class}</text></g>",
            markup(&host.name),
            match (host.router, host.switch.is_some()) {
                (true, _) => 22,
                (_, true) => 0,
                _ => 6,
            },
            centre(i),
            TOP + 22,
            markup(&host.name),
            TOP + 40
        );
        if host.lo_captured {
            let _ = writeln!(
                s,
                "<circle cx=\"{}\" cy=\"{}\" r=\"5\" class=\"captured\"/><text x=\"{}\" \
                 y=\"{}\" class=\"end\">lo (captured)</text>",
                x + 8,
                TOP - 12,
                x + 18,
                TOP - 8
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn same_pair(link: &[End; 2], a: usize, b: usize) -> bool {
    (link[0].host == a && link[1].host == b) || (link[0].host == b && link[1].host == a)
}

/// An end's interface and address beside the line, with a ring and a word when captured.
fn end_label(s: &mut String, end: &End, x: usize, y: usize, anchor: &str) {
    let captured = if end.captured { " (captured)" } else { "" };
    let _ = write!(
        s,
        "<text x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"end\">{}{captured}</text>",
        y - 8,
        markup(&end.iface)
    );
    if let Some(addr) = &end.addr {
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"addr\">{}</text>",
            y + 18,
            markup(addr)
        );
    }
    if end.captured {
        let cx = if anchor == "start" { x - 1 } else { x + 1 };
        let _ = write!(
            s,
            "<circle cx=\"{cx}\" cy=\"{y}\" r=\"6\" class=\"captured\"/>"
        );
    }
    s.push('\n');
}
