//! Why the host refused the sandbox: the call that failed, its errno and the host setting
//! behind it, turned into a cause and a fix a person can act on.
//!
//! Contract: [`explain`] is a pure function of the call, the errno and the host's limits read
//! from /proc ([`HostLimits`]), so every mapping is unit-tested without a refusing host. No
//! `unsafe` here: the calls themselves are made by the parent module.

use nix::unistd::Uid;

use super::SandboxError;

/// A call the sandbox needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID)`.
    Unshare,
    /// A write to a file under /proc: the id maps, `setgroups`, a sysctl.
    Write(&'static str),
    /// `mount("/", MS_REC | MS_PRIVATE)`: the run's mounts stay its own.
    MountPrivate,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Call::Unshare => {
                f.write_str("unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID)")
            }
            Call::Write(path) => write!(f, "writing {path}"),
            Call::MountPrivate => f.write_str("mount(\"/\", MS_REC|MS_PRIVATE)"),
        }
    }
}

/// The settings of this host that decide whether the sandbox is allowed, read from /proc
/// (`None` where the file does not exist on this kernel).
#[derive(Debug, Clone, Default)]
pub struct HostLimits {
    pub root: bool,
    /// `user.max_{user,mnt,net,pid}_namespaces`, in that order.
    pub max_namespaces: [Option<u64>; 4],
    /// Debian's `kernel.unprivileged_userns_clone`.
    pub unprivileged_userns_clone: Option<u64>,
    /// Ubuntu's `kernel.apparmor_restrict_unprivileged_userns`.
    pub apparmor_restrict: Option<u64>,
    /// The `Seccomp:` line of /proc/self/status: 2 when a filter is installed.
    pub seccomp: Option<u64>,
}

const NAMESPACE_LIMITS: [&str; 4] = [
    "user.max_user_namespaces",
    "user.max_mnt_namespaces",
    "user.max_net_namespaces",
    "user.max_pid_namespaces",
];

impl HostLimits {
    pub fn read() -> HostLimits {
        let number = |path: &str| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|s| s.trim().parse().ok())
        };
        let seccomp = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Seccomp:"))
                    .and_then(|v| v.trim().parse().ok())
            });
        HostLimits {
            root: Uid::effective().is_root(),
            max_namespaces: NAMESPACE_LIMITS
                .map(|name| number(&format!("/proc/sys/{}", name.replace('.', "/")))),
            unprivileged_userns_clone: number("/proc/sys/kernel/unprivileged_userns_clone"),
            apparmor_restrict: number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
            seccomp,
        }
    }
}

/// Why the host refused a call the sandbox needs, and what to change: the call, the errno, the
/// setting that explains it (when one does) and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub call: Call,
    pub errno: nix::Error,
    pub cause: String,
    pub fix: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the host refuses the lab's sandbox: {} failed with {}: {}; fix: {}",
            self.call, self.errno, self.cause, self.fix
        )
    }
}

pub(super) fn refused(call: Call, errno: nix::Error) -> SandboxError {
    SandboxError::Refused(explain(call, errno, &HostLimits::read()))
}

const RUN_AS_ROOT: &str = "run labctl as root on the host, or in a container started with \
    `docker run --privileged` (Kubernetes: `securityContext: {privileged: true}`)";

/// The cause of a refusal: which setting of `host` explains `errno` from `call`. Pure, so
/// every case is a unit test.
pub fn explain(call: Call, errno: nix::Error, host: &HostLimits) -> Refusal {
    use nix::Error as E;
    let (cause, fix): (String, String) = match (call, errno) {
        (Call::Unshare, E::ENOSPC) => {
            let limits = NAMESPACE_LIMITS.iter().zip(host.max_namespaces);
            match limits.clone().find(|(_, v)| *v == Some(0)) {
                Some((name, _)) => (
                    format!("{name} = 0 allows no namespace of that kind"),
                    format!(
                        "`sysctl -w {name}=15000` (in a container the limit is that of the \
                         user namespace it runs in: raise it where that namespace is made)"
                    ),
                ),
                None => (
                    format!(
                        "a namespace limit is reached ({})",
                        limits
                            .filter_map(|(n, v)| v.map(|v| format!("{n} = {v}")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "raise the limit with `sysctl -w`, or end the labs still running".into(),
                ),
            }
        }
        (Call::Unshare, E::EUSERS) => (
            "user namespaces are nested 32 deep already (the kernel's limit)".into(),
            "run labctl from a less deeply nested container".into(),
        ),
        (Call::Unshare, E::EINVAL) => (
            "this kernel lacks user, network or PID namespaces".into(),
            "use a kernel built with CONFIG_USER_NS, CONFIG_NET_NS and CONFIG_PID_NS".into(),
        ),
        (Call::Unshare, E::EPERM) if !host.root && host.unprivileged_userns_clone == Some(0) => (
            "kernel.unprivileged_userns_clone = 0 refuses user namespaces to users other \
                 than root"
                .into(),
            "`sysctl -w kernel.unprivileged_userns_clone=1`, or run labctl as root".into(),
        ),
        (Call::Unshare, E::EPERM) if !host.root && host.apparmor_restrict == Some(1) => (
            "kernel.apparmor_restrict_unprivileged_userns = 1 (Ubuntu 23.10 and later) \
             refuses user namespaces to programs without an AppArmor profile that allows them"
                .into(),
            "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor \
             profile for labctl with `userns,`, or run labctl as root"
                .into(),
        ),
        (Call::Unshare, E::EPERM) if host.seccomp == Some(2) => (
            "a seccomp filter refuses unshare (Docker's and Kubernetes' default profiles do \
             for CLONE_NEWUSER)"
                .into(),
            "start the container with `--security-opt seccomp=unconfined` (Kubernetes: \
             `securityContext: {seccompProfile: {type: Unconfined}}`) or a profile that \
             allows unshare"
                .into(),
        ),
        (Call::Unshare, E::EPERM) => (
            "no setting of this host explains it (no namespace limit at 0, no seccomp \
             filter); a chroot or a security module refuses new user namespaces"
                .into(),
            RUN_AS_ROOT.into(),
        ),
        (Call::MountPrivate, E::EPERM | E::EACCES) => (
            "a security module refuses mounts (Docker's default AppArmor profile denies \
             mount)"
                .into(),
            "start the container with `--security-opt apparmor=unconfined` (Kubernetes: \
             `appArmorProfile: {type: Unconfined}`)"
                .into(),
        ),
        (Call::Write(path), E::EROFS) => (
            format!(
                "{} is mounted read-only (Docker and Kubernetes mount /proc/sys so)",
                path.rsplit_once("/proc/sys/").map_or(path, |_| "/proc/sys")
            ),
            "start the container with `--privileged` (Kubernetes: `securityContext: \
             {privileged: true}`, or `procMount: Unmasked`)"
                .into(),
        ),
        (Call::Write(path), E::EPERM | E::EACCES) => (
            format!("{path} may not be written by this process in its new namespace"),
            RUN_AS_ROOT.into(),
        ),
        (call, errno) => (
            format!("{call} is refused with {errno}, which labctl does not know how to explain"),
            RUN_AS_ROOT.into(),
        ),
    };
    Refusal {
        call,
        errno,
        cause,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::Error as E;

    fn limits() -> HostLimits {
        HostLimits {
            root: false,
            max_namespaces: [Some(15000); 4],
            ..HostLimits::default()
        }
    }

    #[test]
    fn max_user_namespaces_zero_is_named_with_its_fix() {
        let host = HostLimits {
            max_namespaces: [Some(0), Some(15000), Some(15000), Some(15000)],
            ..limits()
        };
        let r = explain(Call::Unshare, E::ENOSPC, &host).to_string();
        assert!(r.contains("unshare(CLONE_NEWUSER"), "{r}");
        assert!(r.contains("ENOSPC"), "{r}");
        assert!(r.contains("user.max_user_namespaces = 0"), "{r}");
        assert!(r.contains("sysctl -w user.max_user_namespaces="), "{r}");
        assert!(!r.contains("unprivileged_userns_clone"), "{r}");
        assert!(!r.contains("apparmor"), "{r}");
    }

    #[test]
    fn the_namespace_limit_at_zero_is_the_one_named() {
        let host = HostLimits {
            max_namespaces: [Some(10), Some(10), Some(0), Some(10)],
            ..limits()
        };
        let r = explain(Call::Unshare, E::ENOSPC, &host);
        assert!(r.cause.starts_with("user.max_net_namespaces = 0"), "{r}");
        let host = limits();
        let r = explain(Call::Unshare, E::ENOSPC, &host);
        assert!(r.cause.contains("limit is reached"), "{r}");
    }

    #[test]
    fn eperm_is_explained_by_the_setting_that_applies() {
        let debian = HostLimits {
            unprivileged_userns_clone: Some(0),
            apparmor_restrict: Some(1),
            ..limits()
        };
        let r = explain(Call::Unshare, E::EPERM, &debian);
        assert!(
            r.cause.starts_with("kernel.unprivileged_userns_clone = 0"),
            "{r}"
        );
        let ubuntu = HostLimits {
            apparmor_restrict: Some(1),
            ..limits()
        };
        let r = explain(Call::Unshare, E::EPERM, &ubuntu);
        assert!(
            r.cause
                .starts_with("kernel.apparmor_restrict_unprivileged_userns = 1")
        );
        // Root is not subject to either setting: Docker's seccomp profile is what refuses it.
        let docker = HostLimits {
            root: true,
            seccomp: Some(2),
            ..ubuntu
        };
        let r = explain(Call::Unshare, E::EPERM, &docker);
        assert!(r.cause.contains("seccomp"), "{r}");
        assert!(r.fix.contains("seccomp=unconfined"), "{r}");
        let nothing = HostLimits {
            root: true,
            ..limits()
        };
        let r = explain(Call::Unshare, E::EPERM, &nothing);
        assert!(r.cause.contains("no setting"), "{r}");
    }

    #[test]
    fn mounts_and_proc_sys_writes_name_their_call() {
        let r = explain(Call::MountPrivate, E::EACCES, &limits()).to_string();
        assert!(r.contains("MS_PRIVATE") && r.contains("EACCES"), "{r}");
        assert!(r.contains("apparmor=unconfined"), "{r}");
        let r = explain(
            Call::Write("/proc/sys/net/ipv4/ip_forward"),
            E::EROFS,
            &limits(),
        )
        .to_string();
        assert!(r.contains("writing /proc/sys/net/ipv4/ip_forward"), "{r}");
        assert!(
            r.contains("EROFS") && r.contains("/proc/sys is mounted read-only"),
            "{r}"
        );
        let r = explain(Call::Write("/proc/self/uid_map"), E::EPERM, &limits()).to_string();
        assert!(
            r.contains("/proc/self/uid_map") && r.contains("EPERM"),
            "{r}"
        );
    }

    #[test]
    fn unknown_errnos_are_reported_as_they_are() {
        let r = explain(Call::Unshare, E::ENOMEM, &limits()).to_string();
        assert!(r.contains("ENOMEM") && r.contains("does not know"), "{r}");
    }
}
