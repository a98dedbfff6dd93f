//! Any bytes as a DHCP message: read by the server (which answers or stays silent, with
//! leases kept across inputs, as a running server keeps them), by the wire reader (every
//! option shown in words), and by the dissector and the flow facts inside a UDP datagram to
//! port 67. None may
//! panic or loop, whatever the option lengths and overloads. Run: `cargo +nightly fuzz run dhcp`.

#![no_main]

use std::net::Ipv4Addr;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use labctl::analyze::fixture::Wire;
use labctl::analyze::render_flows;
use labctl::services::dhcp::{DhcpConfig, Server};
use labctl::wire::{self, LinkType, dhcp};
use libfuzzer_sys::fuzz_target;

static SERVER: LazyLock<Mutex<Server>> = LazyLock::new(|| {
    Mutex::new(Server::new(DhcpConfig {
        server: Ipv4Addr::new(10, 0, 0, 1),
        prefix: 24,
        range: (Ipv4Addr::new(10, 0, 0, 100), Ipv4Addr::new(10, 0, 0, 103)),
        router: Some(Ipv4Addr::new(10, 0, 0, 1)),
        dns: vec![Ipv4Addr::new(10, 0, 0, 1)],
        domain: Some("lab.test".into()),
        lease: Duration::from_secs(600),
        reservations: Default::default(),
        delay: Duration::ZERO,
        name: Some("server".into()),
    }))
});

fuzz_target!(|data: &[u8]| {
    if let Ok(mut server) = SERVER.lock() {
        if let Some(reply) = server.respond(data) {
            let _ = dhcp::parse(&reply.message.encode()).expect("a reply reads back");
        }
    }
    if let Ok(m) = dhcp::parse(data) {
        let _ = m.summary();
        for o in &m.options {
            let _ = (dhcp::option_name(o.code), dhcp::option_value(o));
        }
    }
    if data.len() > 60_000 {
        return;
    }
    let mut w = Wire::new();
    w.udp([0, 0, 0, 0], [255, 255, 255, 255], 68, 67, data);
    let _ = wire::dissect(LinkType::Ethernet, &w.frames[0].data);
    let _ = render_flows(&w.analyze(), &Wire::names());
});
