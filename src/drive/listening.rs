//! Listening sockets of a host, as `ss -ltn` lists them: the TCP sockets in LISTEN, read from the
//! kernel's `/proc/net/tcp` and `/proc/net/tcp6` inside the host. The `listening` step prints
//! them and passes when one listens on its port; the run's program services wait on the same
//! reading for `ready = "tcp:PORT"`.
//!
//! Contract: [`parse`] is a pure function of the file's text and skips any line it cannot read;
//! addresses come out in the kernel's table order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::scenario::StepOutcome;
use crate::topology::Host;

use super::StepResult;

/// The state column of a listening socket in `/proc/net/tcp`.
const LISTEN: &str = "0A";

/// The local addresses of the TCP sockets of `host` in LISTEN, IPv4 then IPv6.
pub fn listening(host: &Host) -> Vec<SocketAddr> {
    ["/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"]
        .iter()
        .filter_map(|file| host.netns.read_proc(file).ok().and_then(Result::ok))
        .flat_map(|text| parse(&text))
        .collect()
}

/// True when the host has an established TCP connection and every connection is quiet: no
/// data waiting to be sent or acknowledged (`tx_queue` 0) and no handshake or close under way
/// (SYN_SENT, SYN_RECV, FIN_WAIT1, LAST_ACK, CLOSING).
pub(super) fn quiet(host: &Host) -> bool {
    let tables: Vec<String> = ["/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"]
        .iter()
        .filter_map(|file| host.netns.read_proc(file).ok().and_then(Result::ok))
        .collect();
    let rows: Vec<(&str, &str)> = tables
        .iter()
        .flat_map(|t| t.lines().skip(1))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let state = words.nth(3)?;
            let queues = words.next()?;
            Some((state, queues.split(':').next()?))
        })
        .collect();
    rows.iter().any(|(state, _)| *state == "01")
        && rows.iter().all(|(state, tx)| {
            u64::from_str_radix(tx, 16) == Ok(0)
                && !matches!(*state, "02" | "03" | "04" | "09" | "0B")
        })
}

/// The listening sockets of one `/proc/net/tcp` or `/proc/net/tcp6` text. An address is the
/// kernel's hex dump of the in-memory value: IPv4 one 32-bit word, IPv6 four, each in the
/// machine's byte order; the port is big-endian hex.
pub fn parse(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let local = words.nth(1)?;
            let state = words.nth(1)?;
            if state != LISTEN {
                return None;
            }
            let (addr, port) = local.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let word = |i: usize| {
                addr.get(8 * i..8 * i + 8)
                    .and_then(|w| u32::from_str_radix(w, 16).ok())
                    .map(|w| w.to_ne_bytes())
            };
            let ip = match addr.len() {
                8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
                32 => {
                    let mut bytes = [0u8; 16];
                    for i in 0..4 {
                        bytes[4 * i..4 * i + 4].copy_from_slice(&word(i)?);
                    }
                    IpAddr::V6(Ipv6Addr::from(bytes))
                }
                _ => return None,
            };
            Some(SocketAddr::new(ip, port))
        })
        .collect()
}

/// The `listening = "tcp:PORT"` step: lists the host's listening sockets and passes when one
/// listens on `port`.
pub(super) fn run(host: &Host, port: u16, result: &mut StepResult) {
    let sockets = listening(host);
    result.stdout = sockets
        .iter()
        .map(|s| format!("LISTEN {s}\n"))
        .collect::<String>();
    if sockets.iter().any(|s| s.port() == port) {
        result.detail = format!("a socket of {} listens on TCP port {port}", host.name);
    } else {
        result.outcome = StepOutcome::Failed;
        result.detail = format!("nothing of {} listens on TCP port {port}", host.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_of_both_families() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:04D2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n   1: 0100007F:A1B2 0100007F:04D2 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n   2: 0200000A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n";
        let want: Vec<SocketAddr> = if cfg!(target_endian = "little") {
            vec![
                "0.0.0.0:1234".parse().unwrap(),
                "10.0.0.2:22".parse().unwrap(),
            ]
        } else {
            vec![
                "0.0.0.0:1234".parse().unwrap(),
                "2.0.0.10:22".parse().unwrap(),
            ]
        };
        assert_eq!(parse(v4), want);
        let v6 = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000\n";
        if cfg!(target_endian = "little") {
            assert_eq!(parse(v6), vec!["[::1]:8080".parse().unwrap()]);
        }
        assert_eq!(parse("garbage\n 0: zz:zz 0:0 0A\n"), vec![]);
    }
}
