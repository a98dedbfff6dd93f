//! Throwaway network namespaces for tests that run real `ip`, `iptables`, `nc` or `tcpdump`,
//! so nothing they do reaches the host's own rules, routes or interfaces. Each is held by a
//! `sleep` started with `unshare` and killed on drop.
//!
//! [`Netns::new`] is unprivileged (a user namespace maps us to root inside); [`Netns::root`]
//! needs real root, and its interfaces can be joined to another namespace's with a veth link:
//! [`Netns::pair`] makes a client and a server so joined, and [`Netns::tcpdump`] captures
//! inside one.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::Killed;

pub struct Netns {
    holder: Child,
    /// Entered with its user namespace as well.
    user: bool,
}

impl Netns {
    /// A user + network namespace: root inside, anyone outside.
    pub fn new() -> Netns {
        Netns::hold(
            &["--user", "--map-root-user", "--net"],
            true,
            "unshare --user --map-root-user --net did not create a network namespace \
             (are user namespaces enabled?)",
        )
    }

    /// A network namespace of the host's root user: these tests need root.
    pub fn root() -> Netns {
        Netns::hold(
            &["--net"],
            false,
            "unshare --net did not make a network namespace: these tests need root",
        )
    }

    /// Two root namespaces, a client and a server, joined by a veth link named `eth0` on both
    /// sides: the client is 10.0.0.1/24, the server `server_addr`; every link is up.
    pub fn pair(server_addr: &str) -> (Netns, Netns) {
        let (client, server) = (Netns::root(), Netns::root());
        super::stdout_of(
            Command::new(super::require("ip", "iproute2"))
                .args(["link", "add", "eth0", "netns", &client.pid()])
                .args([
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    &server.pid(),
                ]),
        );
        for (ns, addr) in [(&client, "10.0.0.1/24"), (&server, server_addr)] {
            ns.ok("ip", &["addr", "add", addr, "dev", "eth0"]);
            ns.ok("ip", &["link", "set", "eth0", "up"]);
            ns.ok("ip", &["link", "set", "lo", "up"]);
        }
        (client, server)
    }

    /// `tcpdump -i IFACE -w PCAP FILTER` inside the namespace, returned once it captures
    /// (tcpdump says "listening on", after a warning about the link type of `-i any`); stop
    /// it with [`Killed::interrupt`].
    pub fn tcpdump(&self, iface: &str, pcap: &Path, filter: &str) -> Killed {
        let mut child = self
            .command("tcpdump")
            .args(["-i", iface, "--immediate-mode", "-U", "-w"])
            .arg(pcap)
            .args(filter.split_whitespace())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run tcpdump in the namespace");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut said = String::new();
        while !said.contains("listening on") {
            let mut line = String::new();
            assert!(err.read_line(&mut line).unwrap() > 0, "tcpdump: {said}");
            said.push_str(&line);
        }
        // Kept draining, so tcpdump never blocks or dies on a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Killed(child)
    }

    fn hold(flags: &[&str], user: bool, failed: &str) -> Netns {
        let holder = Command::new("unshare")
            .args(flags)
            .args(["sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot run unshare: install util-linux (unshare, nsenter)");
        let ns = Netns { holder, user };
        // Until unshare has set up the namespaces and run sleep, entering its process would
        // enter the host's network namespace, or a user namespace without its uid map.
        let own = std::fs::read_link("/proc/self/ns/net").expect("read own netns");
        let proc = format!("/proc/{}", ns.pid());
        let start = Instant::now();
        loop {
            let ready =
                std::fs::read_to_string(format!("{proc}/comm")).is_ok_and(|c| c.trim() == "sleep");
            let moved = std::fs::read_link(format!("{proc}/ns/net")).is_ok_and(|l| l != own);
            if ready && moved {
                return ns;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "{failed}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The process id holding the namespace, for `ip link ... netns PID`.
    pub fn pid(&self) -> String {
        self.holder.id().to_string()
    }

    /// `PROGRAM` to be run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.pid()]);
        if self.user {
            c.args(["--user", "--net", "--preserve-credentials"]);
        } else {
            c.arg("--net");
        }
        c.arg(program);
        c
    }

    /// Runs `PROGRAM ARGS` inside the namespace: (success, stdout, stderr).
    pub fn run<S: AsRef<str>>(&self, program: &str, args: &[S]) -> (bool, String, String) {
        let out = self
            .command(program)
            .args(args.iter().map(AsRef::as_ref))
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run nsenter {program}: install util-linux and {program} ({e})")
            });
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `PROGRAM ARGS` and fails the test if it fails; returns its output.
    pub fn ok<S: AsRef<str>>(&self, program: &str, args: &[S]) -> String {
        let (ok, out, err) = self.run(program, args);
        let words: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        assert!(ok, "{program} {words:?} failed: {err}");
        out
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
