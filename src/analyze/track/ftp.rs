//! FTP data connections linked to their control connection: `PASV`/`EPSV` replies and
//! `PORT`/`EPRT` commands announce a data port, and the next connection to it is that
//! session's data.
//!
//! Contract: only conversations that look like FTP control (port 21, or a 220 banner) are
//! scanned, so bulk data is never parsed as commands.

use super::*;

#[derive(Debug)]
pub(super) struct FtpExpect {
    control: usize,
    mode: FtpMode,
    /// The side that will accept the data connection.
    listener: IpAddr,
    /// Alternative listener address (the control connection's server, when a PASV reply
    /// names another address, as behind NAT).
    alt: IpAddr,
    port: u16,
}

impl Analyzer {
    /// Looks for FTP data-port announcements in a TCP payload.
    pub(super) fn scan_ftp(&mut self, i: usize, dir: Dir, payload: &[u8]) {
        let c = &self.out.conversations[i];
        let (server, client) = (c.responder.ip, c.initiator.ip);
        for line in payload.split(|&b| b == b'\n') {
            let Some((mode, ip, port)) = ftp_announcement(line) else {
                continue;
            };
            // Replies come from the server, commands from the client.
            let from_server = matches!(mode, FtpMode::Pasv | FtpMode::Epsv);
            if from_server != (dir == Dir::Reverse) {
                continue;
            }
            let listener = match mode {
                FtpMode::Pasv | FtpMode::Port => {
                    ip.unwrap_or(if from_server { server } else { client })
                }
                FtpMode::Epsv => server,
                FtpMode::Eprt => ip.unwrap_or(client),
            };
            let alt = if from_server { server } else { client };
            self.ftp.push(FtpExpect {
                control: i,
                mode,
                listener,
                alt,
                port,
            });
            let c = &mut self.out.conversations[i];
            c.ftp_control = true;
            c.ftp_ports.push((mode, port));
        }
    }

    pub(super) fn link_ftp(&mut self, i: usize) {
        let resp = self.out.conversations[i].responder;
        let found = self
            .ftp
            .iter()
            .rev()
            .find(|e| e.port == resp.port && (e.listener == resp.ip || e.alt == resp.ip));
        if let Some(e) = found {
            self.out.conversations[i].ftp_data = Some(FtpData {
                control: e.control,
                mode: e.mode,
                port: e.port,
            });
        }
    }
}

/// Parses a PASV/EPSV reply or PORT/EPRT command line: (mode, announced address, port).
pub(crate) fn ftp_announcement(line: &[u8]) -> Option<(FtpMode, Option<IpAddr>, u16)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).ok()?;
    let upper = text.get(..4)?.to_ascii_uppercase();
    match upper.as_str() {
        "227 " => {
            let (ip, port) = six_numbers(&text[4..])?;
            Some((FtpMode::Pasv, Some(ip), port))
        }
        "PORT" => {
            let (ip, port) = six_numbers(text.get(4..)?)?;
            Some((FtpMode::Port, Some(ip), port))
        }
        "229 " => {
            let open = text.find('(')?;
            let inner = &text[open + 1..];
            let delim = inner.chars().next()?;
            let fields: Vec<&str> = inner.split(delim).collect();
            // (|||port|) splits into ["", "", "", "port", ")"].
            let port = fields.get(3)?.parse().ok()?;
            Some((FtpMode::Epsv, None, port))
        }
        "EPRT" => {
            let rest = text.get(4..)?.trim_start();
            let delim = rest.chars().next()?;
            let fields: Vec<&str> = rest.split(delim).collect();
            // |1|addr|port| splits into ["", "1", "addr", "port", ""].
            let ip = fields.get(2)?.parse().ok();
            let port = fields.get(3)?.parse().ok()?;
            Some((FtpMode::Eprt, ip, port))
        }
        _ => None,
    }
}

/// Finds `h1,h2,h3,h4,p1,p2` in text and returns the address and port.
pub(super) fn six_numbers(text: &str) -> Option<(IpAddr, u16)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let nums: Vec<u16> = text[start..]
        .split(|c: char| !c.is_ascii_digit() && c != ',')
        .next()?
        .split(',')
        .map(|n| n.parse::<u16>().ok())
        .collect::<Option<Vec<u16>>>()?;
    if nums.len() != 6 || nums.iter().any(|&n| n > 255) {
        return None;
    }
    let ip = IpAddr::from([nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8]);
    Some((ip, nums[4] * 256 + nums[5]))
}

#[cfg(test)]
mod tests {
    use super::super::super::fixture::*;
    use super::*;

    /// A control connection from port 40000 to `port`: the handshake, then the server's
    /// `replies` in order.
    fn control(port: u16, replies: &[&[u8]]) -> Wire {
        let mut w = Wire::new();
        let (c, s) = (100u32, 900u32);
        w.handshake(40000, port, c, s);
        let mut seq = s + 1;
        for reply in replies {
            w.tcp(SERVER, CLIENT, port, 40000, seq, c + 1, P | A, reply);
            seq += reply.len() as u32;
        }
        w
    }

    #[test]
    fn pasv_links_the_data_connection() {
        let mut w = control(21, &[b"227 Entering Passive Mode (10,0,0,2,156,64).\r\n"]);
        w.session(40001, 156 * 256 + 64, b"", b"file bytes");
        let a = w.analyze();
        assert!(a.conversations[0].ftp_control);
        let d = a.conversations[1].ftp_data.unwrap();
        assert_eq!((d.control, d.mode, d.port), (0, FtpMode::Pasv, 40000));
    }

    #[test]
    fn epsv_on_another_port_links_after_a_220_banner() {
        let mut w = control(
            2121,
            &[
                b"220 ready\r\n",
                b"229 Entering Extended Passive Mode (|||40100|)\r\n",
            ],
        );
        w.session(40001, 40100, b"", b"listing");
        // A data connection whose payload mentions 227 is not scanned: it never sent a 220.
        w.session(40002, 9, b"", b"227 (10,0,0,2,1,1)\r\n");
        w.session(40003, 257, b"", b"");
        let a = w.analyze();
        let d = a.conversations[1].ftp_data.expect("linked");
        assert_eq!((d.control, d.mode, d.port), (0, FtpMode::Epsv, 40100));
        assert!(!a.conversations[2].ftp_control);
        assert_eq!(a.conversations[3].ftp_data, None);
    }

    #[test]
    fn ftp_announcements_parse() {
        let ip = Some(IpAddr::from([10, 0, 0, 2]));
        let cases: [(&[u8], _); 5] = [
            (
                b"227 Entering Passive Mode (10,0,0,2,156,64)\r",
                (FtpMode::Pasv, ip, 40000),
            ),
            (b"227 =10,0,0,2,0,21", (FtpMode::Pasv, ip, 21)),
            (b"port 10,0,0,2,1,1", (FtpMode::Port, ip, 257)),
            (
                b"229 Entering Extended Passive Mode (|||6446|)",
                (FtpMode::Epsv, None, 6446),
            ),
            (b"EPRT |1|10.0.0.2|6275|", (FtpMode::Eprt, ip, 6275)),
        ];
        for (line, announced) in cases {
            assert_eq!(ftp_announcement(line), Some(announced), "{line:?}");
        }
        assert_eq!(ftp_announcement(b"227 nonsense (1,2,3)"), None);
        assert_eq!(ftp_announcement(b"227 (300,0,0,0,1,1)"), None);
        assert_eq!(ftp_announcement(b"\xff\xfe"), None);
    }
}
