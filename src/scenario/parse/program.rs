//! Program services: `kind = "program"` with `argv = ["nc", "-l", "-p", "1234"]`, an optional
//! `stdout = "FILE"` (kept in the host's directory) and `ready = "tcp:PORT"`.
//!
//! Contract: the argument vector is taken as it is (no shell, no splitting); its program is
//! looked up before the lab is built, with the exec steps' programs. `ready` is the only way
//! the run knows the program is up (a listening socket, read from the kernel), so a program
//! service never needs a fixed sleep. The keys of a program service go with no other kind.

use super::*;

const HINT: &str =
    r#"argv = ["nc", "-l", "-p", "1234"], ready = "tcp:1234", stdout = "received.txt""#;

/// The kind and the port (the `ready` port, or 0) of a program service.
pub(super) fn service(cx: &Ctx, svc: &RawService) -> Result<(ServiceKind, u16), ScenarioError> {
    if let Some(port) = &svc.port {
        return Err(cx
            .err(port.span(), "a program service listens where its argv says")
            .with_hint("ready = \"tcp:PORT\" tells labctl the port to wait for"));
    }
    protocol::no_content(cx, svc)?;
    let argv = svc.argv.as_ref().ok_or_else(|| {
        cx.err(svc.kind.span(), "a program service needs argv")
            .with_hint(HINT)
    })?;
    if argv.get_ref().first().is_none_or(|p| p.is_empty()) {
        return Err(cx.err(argv.span(), "argv needs a program").with_hint(HINT));
    }
    if let Some(file) = &svc.stdout {
        check_relative_file(cx, file)?;
    }
    let ready = match &svc.ready {
        None => None,
        Some(ready) => Some(tcp_port(
            cx,
            ready,
            "ready",
            "ready = \"tcp:PORT\": up once something listens on that TCP port",
        )?),
    };
    let kind = ServiceKind::Program {
        argv: argv.get_ref().clone(),
        stdout: svc.stdout.as_ref().map(|f| f.get_ref().clone()),
        ready,
    };
    Ok((kind, ready.unwrap_or(0)))
}

/// Refuses the program keys on a service of another kind.
pub(super) fn no_program_keys(cx: &Ctx, svc: &RawService) -> Result<(), ScenarioError> {
    let stray = [
        ("argv", svc.argv.as_ref().map(|a| a.span())),
        ("stdout", svc.stdout.as_ref().map(|s| s.span())),
        ("ready", svc.ready.as_ref().map(|s| s.span())),
    ];
    no_stray_keys(cx, stray, "program", HINT)
}

#[cfg(test)]
mod tests {
    use crate::scenario::ServiceKind;
    use crate::scenario::testing::{file, refused};

    const NC: &str = r#"
name = "t"
[hosts.server]
[services.nc]
host = "server"
kind = "program"
argv = ["nc", "-l", "-p", "1234"]
stdout = "received.txt"
ready = "tcp:1234"
"#;

    #[test]
    fn a_program_service_keeps_its_argv_and_waits_for_its_port() {
        let plan = file(NC).unwrap();
        let svc = &plan.services[0];
        assert_eq!(svc.port, 1234);
        let ServiceKind::Program {
            argv,
            stdout,
            ready,
        } = &svc.kind
        else {
            panic!("{:?}", svc.kind)
        };
        assert_eq!(argv, &["nc", "-l", "-p", "1234"]);
        assert_eq!(stdout.as_deref(), Some("received.txt"));
        assert_eq!(*ready, Some(1234));
    }

    #[test]
    fn bad_program_services() {
        let e = refused(&NC.replace("tcp:1234", "udp:1234"));
        assert!(e.msg.contains("bad ready \"udp:1234\""), "{e}");
        assert_eq!((e.line, e.col), (9, 10), "{e}");
        let e = refused(&NC.replace("tcp:1234", "tcp:0"));
        assert!(e.msg.contains("port 0 is out of range"), "{e}");
        let e = refused(&NC.replace("argv = [\"nc\", \"-l\", \"-p\", \"1234\"]", "argv = []"));
        assert!(e.msg.contains("argv needs a program"), "{e}");
        let e = refused(&NC.replace("stdout = \"received.txt\"", "stdout = \"../x\""));
        assert!(e.msg.contains("bad file name"), "{e}");
        let e = refused(&NC.replace("kind = \"program\"", "kind = \"tcp-echo\"\nport = 7"));
        assert!(e.msg.contains("argv goes with kind = \"program\""), "{e}");
        let e = refused(&NC.replace("ready = \"tcp:1234\"", "port = 1234"));
        assert!(e.msg.contains("listens where its argv says"), "{e}");
    }
}
