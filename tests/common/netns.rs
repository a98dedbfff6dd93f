//! A throwaway user + network namespace for tests that run real `iptables` and `ip`, so
//! nothing they do reaches the host's own rules, routes or interfaces.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A network namespace kept alive by a `sleep` started with `unshare`, killed on drop.
pub struct Netns {
    holder: Child,
}

impl Netns {
    pub fn new() -> Netns {
        let holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "--net", "sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot run unshare: install util-linux (unshare, nsenter)");
        let ns = Netns { holder };
        // Until unshare has set up the namespaces and run sleep, entering its process would
        // enter the host's network namespace, or a user namespace without its uid map.
        let own = std::fs::read_link("/proc/self/ns/net").expect("read own netns");
        let proc = format!("/proc/{}", ns.holder.id());
        let start = Instant::now();
        loop {
            let ready =
                std::fs::read_to_string(format!("{proc}/comm")).is_ok_and(|c| c.trim() == "sleep");
            let moved = std::fs::read_link(format!("{proc}/ns/net")).is_ok_and(|l| l != own);
            if ready && moved {
                return ns;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "unshare --user --map-root-user --net did not create a network namespace \
                 (are user namespaces enabled?)"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs `PROGRAM ARGS` inside the namespace: (success, stdout, stderr).
    pub fn run<S: AsRef<str>>(&self, program: &str, args: &[S]) -> (bool, String, String) {
        let out = Command::new("nsenter")
            .args(["-t", &self.holder.id().to_string()])
            .args(["--user", "--net", "--preserve-credentials", program])
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
