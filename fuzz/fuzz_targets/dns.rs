//! Any bytes as a DNS query over UDP and over TCP, answered from the lab's zones; and the same
//! bytes as a zone file. The server must answer or stay silent, and the zone parser return a
//! zone or an error, never panic. Run: `cargo +nightly fuzz run dns`.

#![no_main]

use std::sync::LazyLock;

use labctl::services::dns::{Transport, Zone, respond};
use libfuzzer_sys::fuzz_target;

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@       IN SOA  ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )
        IN NS   ns1
        IN MX   10 mail
        IN TXT  \"v=spf1 mx -all\"
ns1     IN A    10.0.0.53
mail    IN A    10.0.0.25
        IN AAAA 2001:db8::25
www     IN CNAME web
web  60 IN A    10.0.0.80
loop1   IN CNAME loop2
loop2   IN CNAME loop1
";

const REVERSE: &str = "\
$TTL 3600
@  IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
80 IN PTR web.example.test.
";

static ZONES: LazyLock<Vec<Zone>> = LazyLock::new(|| {
    vec![
        Zone::parse(ZONE, None).expect("the lab zone parses"),
        Zone::parse(REVERSE, Some("0.0.10.in-addr.arpa.")).expect("the reverse zone parses"),
    ]
});

fuzz_target!(|data: &[u8]| {
    let _ = respond(&ZONES, data, Transport::Udp);
    let _ = respond(&ZONES, data, Transport::Tcp);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = Zone::parse(text, Some("example.test.")) {
            let _ = e.to_string();
        }
    }
});
