//! The route parser against the real `ip` program, in a throwaway network namespace with two
//! veth links (`eth0` towards a gateway, `vpn0` towards a VPN peer), replaying the course's
//! routing lab: `route get` shows the default path, a /32 route moves the target onto the
//! VPN link, and `route get` shows the device change. Every parsed command's argv is
//! accepted by `ip`, and each added route is listed by the kernel.

mod kit;

use kit::Netns;
use labctl::rules::{Route, RouteCmd, parse_route};

fn lab() -> Netns {
    let ns = Netns::new();
    for args in [
        "link set lo up",
        "link add eth0 type veth peer name eth0-peer",
        "link add vpn0 type veth peer name vpn0-peer",
        "link set eth0 up",
        "link set eth0-peer up",
        "link set vpn0 up",
        "link set vpn0-peer up",
        "addr add 10.0.0.2/24 dev eth0",
        "addr add 10.8.0.2/24 dev vpn0",
        "-6 addr add 2001:db8::2/64 dev eth0 nodad",
    ] {
        ns.ok("ip", &args.split(' ').collect::<Vec<_>>());
    }
    ns
}

/// The `dev` word of `ip route get` output.
fn dev_of(get_output: &str) -> &str {
    let mut words = get_output.split_whitespace();
    while let Some(w) = words.next() {
        if w == "dev" {
            return words.next().unwrap_or_default();
        }
    }
    panic!("no dev in {get_output:?}")
}

#[test]
fn ip_accepts_every_parsed_route_and_the_vpn_lab_moves_the_path() {
    let ns = lab();
    let steps: &[(&str, Option<&str>)] = &[
        ("sudo ip route add default via 10.0.0.254", None),
        ("ip ro get 8.8.8.8/32", Some("eth0")),
        ("sudo ip ro add 8.8.8.8/32 dev vpn0", None),
        ("ip ro get 8.8.8.8/32", Some("vpn0")),
        (
            "ip route add 192.0.2.0/24 via 10.8.0.1 dev vpn0 metric 50 src 10.8.0.2",
            None,
        ),
        ("ip route get 192.0.2.77", Some("vpn0")),
        ("ip route replace 192.0.2.0/24 via 10.0.0.1 metric 50", None),
        ("ip route get 192.0.2.77", Some("eth0")),
        ("ip r a 198.51.100.7 dev eth0 priority 3", None),
        ("ip route add to 203.0.113.0/24 dev vpn0", None),
        ("ip -6 route add 2001:db8:1::/48 via 2001:db8::1", None),
        ("ip route add 2001:db8:2::/48 via fe80::1 dev eth0", None),
        ("ip -6 route add default dev eth0 metric 2048", None),
        ("ip route get 2001:db8:1::5", Some("eth0")),
        ("ip route del 8.8.8.8/32", None),
        ("ip ro get 8.8.8.8", Some("eth0")),
        ("ip route delete 192.0.2.0/24 via 10.0.0.1", None),
        ("ip -6 route del default", None),
        ("ip route del default", None),
    ];
    // What `ip route show exact` lists for the route's destination, in its family.
    let listed = |r: &Route| {
        let family = if r.family() == labctl::rules::Family::V6 {
            "-6"
        } else {
            "-4"
        };
        ns.ok(
            "ip",
            &[family, "route", "show", "exact", &r.dest().to_string()],
        )
    };
    for &(line, expected_dev) in steps {
        let cmd = parse_route(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let out = ns.ok("ip", &cmd.argv());
        match (&cmd, expected_dev) {
            (RouteCmd::Get(_), Some(dev)) => assert_eq!(dev_of(&out), dev, "{line:?}: {out}"),
            (RouteCmd::Add(r) | RouteCmd::Replace(r), _) => {
                let listed = listed(r);
                assert!(!listed.trim().is_empty(), "{line:?}: not listed");
                if let Some(dev) = r.dev() {
                    assert!(listed.contains(&format!("dev {dev}")), "{line:?}: {listed}");
                }
            }
            (RouteCmd::Del(r), _) => {
                let listed = listed(r);
                assert!(listed.trim().is_empty(), "{line:?}: still listed: {listed}");
            }
            _ => panic!("{line:?}: a get step needs an expected device"),
        }
    }
}

#[test]
fn ip_itself_refuses_what_the_parser_refuses_as_invalid() {
    let ns = lab();
    for line in [
        "route add 10.1.0.5/16 dev eth0",
        "route add 10.1.0.0/33 dev eth0",
        "route add 10.1.0.0/16",
        "route add 10.1.0.0/16 via 2001:db8::1",
        "-6 route add 10.1.0.0/16 dev eth0",
        "route add 10.1.0.0/16 dev eth0 metric -1",
        "route add 10.1.0.0/16 via 10.0.0.1 via 10.0.0.3",
        "route add default gw 10.0.0.254",
        "route get",
    ] {
        assert!(parse_route(line).is_err(), "parser accepted {line:?}");
        let (ok, _, _) = ns.run("ip", &line.split(' ').collect::<Vec<_>>());
        assert!(!ok, "ip accepted {line:?}, which the parser refuses");
    }
}
