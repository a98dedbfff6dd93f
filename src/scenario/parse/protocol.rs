//! Validation of the protocol parts of a scenario: the `ftp`, `smtp`, `http` and `dns` service
//! kinds with their content, and the protocol client steps (`ftp`, `smtp`, `http`, `dns`, and
//! `telnet` with a `dialogue`). Files named by a scenario (a served directory, a zone file)
//! are read here, during validation, so a missing or bad one is reported before anything runs.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use toml::Spanned;

use super::expects::{ExpectInput, ExpectKind};
use super::steps::{Input, Parsed, StepKind};
use super::{
    Ctx, Origin, RawService, RawStep, Resolver, ScenarioError, ServiceKind, Target,
    check_relative_file, parse_target,
};
use crate::scenario::{Action, DialogueLine, FileSet, MailServer, ProtocolStep};
use crate::services::clients::ftp::FtpStep;
use crate::services::dns::Zone;

/// The most a scenario's served directory may hold, so a mistaken `dir = "/"`-like tree does
/// not fill memory.
const MAX_SERVED_BYTES: u64 = 64 << 20;

/// How long a protocol client waits for each reply.
const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The port a service kind listens on when the scenario does not say.
pub(super) fn default_port(kind: &str) -> Option<u16> {
    match kind {
        "ftp" => Some(21),
        "smtp" => Some(25),
        "http" => Some(80),
        "dns" => Some(53),
        _ => None,
    }
}

/// The kind of a protocol service, or `None` for a kind this module does not handle.
pub(super) fn service_kind(
    cx: &Ctx,
    svc: &RawService,
    host_name: &str,
    origin: &Origin,
) -> Option<Result<ServiceKind, ScenarioError>> {
    let kind = svc.kind.get_ref().as_str();
    if !["ftp", "smtp", "http", "dns"].contains(&kind) {
        return None;
    }
    Some(service_kind_of(cx, svc, kind, host_name, origin))
}

fn service_kind_of(
    cx: &Ctx,
    svc: &RawService,
    kind: &str,
    host_name: &str,
    origin: &Origin,
) -> Result<ServiceKind, ScenarioError> {
    let here = svc.kind.span();
    let not_for = |field: &str, hint: &str| {
        cx.err(here.clone(), format!("a {kind} service takes no {field}"))
            .with_hint(hint.to_string())
    };
    let file_keys = svc.files.is_some() || svc.dir.is_some();
    if svc.file.is_some() {
        return Err(not_for(
            "file",
            "file names a tcp-dump's output; an smtp service stores mail in `mailbox`",
        ));
    }
    if !matches!(kind, "ftp" | "http") && file_keys {
        return Err(not_for(
            "files or dir",
            "files and dir give the content of ftp and http services",
        ));
    }
    if kind != "http" && svc.sites.is_some() {
        return Err(not_for(
            "sites",
            "sites are the name-based virtual hosts of an http service",
        ));
    }
    if kind != "ftp" && (svc.users.is_some() || svc.anonymous.is_some() || svc.upload.is_some()) {
        return Err(not_for(
            "users, anonymous or upload",
            "those go with kind = \"ftp\"",
        ));
    }
    if kind != "smtp" && (svc.mailbox.is_some() || svc.hostname.is_some()) {
        return Err(not_for(
            "mailbox or hostname",
            "those go with kind = \"smtp\"",
        ));
    }
    if kind != "dns" && (svc.zone.is_some() || svc.zone_file.is_some() || svc.origin.is_some()) {
        return Err(not_for(
            "zone, zone_file or origin",
            "those go with kind = \"dns\"",
        ));
    }
    match kind {
        "ftp" | "http" => {
            let files = file_set(cx, svc, origin)?;
            if kind == "http" {
                return Ok(ServiceKind::Http {
                    files,
                    sites: sites(cx, svc)?,
                });
            }
            let mut users = BTreeMap::new();
            if let Some(table) = &svc.users {
                for (user, password) in table.get_ref() {
                    if user.is_empty() || user.chars().any(|c| c.is_whitespace() || c.is_control())
                    {
                        return Err(cx
                            .err(table.span(), format!("bad FTP user name {user:?}"))
                            .with_hint("users = { alice = \"secret\" }"));
                    }
                    users.insert(user.clone(), password.clone());
                }
            }
            Ok(ServiceKind::Ftp {
                files,
                users,
                anonymous: svc.anonymous.unwrap_or(true),
                upload: svc.upload.unwrap_or(false),
            })
        }
        "smtp" => {
            let mailbox = svc.mailbox.as_ref().ok_or_else(|| {
                cx.err(here.clone(), "an smtp service needs a mailbox file")
                    .with_hint(
                        r#"mailbox = "mailbox" (an mbox file in the host's directory of the run)"#,
                    )
            })?;
            check_relative_file(cx, mailbox)?;
            let hostname = match &svc.hostname {
                Some(h) => {
                    check_domain(cx, h)?;
                    h.get_ref().clone()
                }
                None => host_name.to_string(),
            };
            Ok(ServiceKind::Smtp {
                mailbox: mailbox.get_ref().clone(),
                hostname,
            })
        }
        _ => {
            let origin_name = svc.origin.as_ref().map(|o| o.get_ref().as_str());
            let mut zones = Vec::new();
            if let Some(text) = &svc.zone {
                let zone = Zone::parse(text.get_ref(), origin_name).map_err(|e| {
                    cx.err(text.span(), format!("bad zone: {}", error_chain(&e)))
                        .with_hint("a zone in RFC 1035 master-file format, with $ORIGIN or origin = \"example.test.\"")
                })?;
                zones.push(zone);
            }
            if let Some(file) = &svc.zone_file {
                let path = beside_scenario(cx, file, origin)?;
                let zone = Zone::from_file(&path, origin_name).map_err(|e| {
                    cx.err(
                        cx.inner(file),
                        format!("bad zone file {}: {}", path.display(), error_chain(&e)),
                    )
                })?;
                zones.push(zone);
            }
            if zones.is_empty() {
                return Err(cx
                    .err(here, "a dns service needs a zone")
                    .with_hint("zone = \"\"\"$ORIGIN example.test. ...\"\"\" or zone_file = \"example.test.zone\""));
            }
            Ok(ServiceKind::Dns { zones })
        }
    }
}

/// A tcp-dump service has no content: refuses the keys of the protocol services.
pub(super) fn no_content(cx: &Ctx, svc: &RawService) -> Result<(), ScenarioError> {
    let keys = [
        ("files", svc.files.is_some()),
        ("sites", svc.sites.is_some()),
        ("dir", svc.dir.is_some()),
        ("users", svc.users.is_some()),
        ("anonymous", svc.anonymous.is_some()),
        ("upload", svc.upload.is_some()),
        ("mailbox", svc.mailbox.is_some()),
        ("hostname", svc.hostname.is_some()),
        ("zone", svc.zone.is_some()),
        ("zone_file", svc.zone_file.is_some()),
        ("origin", svc.origin.is_some()),
    ];
    let kind = svc.kind.get_ref();
    match keys.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(cx
            .err(svc.kind.span(), format!("a {kind} service takes no {key}"))
            .with_hint(match kind.as_str() {
                "program" => "a program service takes host, argv, stdout and ready",
                _ => "a tcp-dump service takes host, port and file",
            })),
        None => Ok(()),
    }
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn check_domain(cx: &Ctx, name: &Spanned<String>) -> Result<(), ScenarioError> {
    let n = name.get_ref();
    let ok = !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(cx
            .err(cx.inner(name), format!("bad host name {n:?}"))
            .with_hint("a name like mail.example.test"))
    }
}

/// A path relative to the scenario file's directory, which must exist.
fn beside_scenario(
    cx: &Ctx,
    file: &Spanned<String>,
    origin: &Origin,
) -> Result<PathBuf, ScenarioError> {
    let Origin::File(scenario) = origin else {
        return Err(cx
            .err(
                cx.inner(file),
                "a built-in scenario cannot name files beside it",
            )
            .with_hint("give the content inline (files = {...}, zone = \"...\")"));
    };
    check_relative_file(cx, file)?;
    let path = scenario
        .parent()
        .unwrap_or(Path::new("."))
        .join(file.get_ref());
    if !path.exists() {
        return Err(cx
            .err(cx.inner(file), format!("{} does not exist", path.display()))
            .with_hint("paths are relative to the scenario file's directory"));
    }
    Ok(path)
}

/// Inline files and a directory's files, merged (inline wins), sorted by path.
/// `[services.web.sites."www.example.test"]` tables: one file tree per host name.
fn sites(cx: &Ctx, svc: &RawService) -> Result<Vec<(String, FileSet)>, ScenarioError> {
    let Some(table) = &svc.sites else {
        return Ok(Vec::new());
    };
    let mut sites = Vec::new();
    for (host, files) in table.get_ref() {
        let name = host.to_ascii_lowercase();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid {
            return Err(cx
                .err(table.span(), format!("bad site name {host:?}"))
                .with_hint(
                    "[services.web.sites.\"www.example.test\"] with \"index.html\" = \"...\"",
                ));
        }
        let mut set = Vec::new();
        for (path, content) in files {
            let norm = crate::services::tree::resolve("/", path);
            if norm == "/" || path.contains('\\') {
                return Err(cx
                    .err(
                        table.span(),
                        format!("bad file path {path:?} in site {host:?}"),
                    )
                    .with_hint("paths like \"index.html\" or \"docs/a.html\""));
            }
            set.push((norm[1..].to_string(), content.as_bytes().to_vec()));
        }
        sites.push((name, set));
    }
    Ok(sites)
}

fn file_set(cx: &Ctx, svc: &RawService, origin: &Origin) -> Result<FileSet, ScenarioError> {
    let mut files = BTreeMap::new();
    if let Some(dir) = &svc.dir {
        let root = beside_scenario(cx, dir, origin)?;
        let mut total = 0;
        read_dir(&root, "", &mut files, &mut total).map_err(|e| {
            cx.err(
                cx.inner(dir),
                format!("cannot read {}: {e}", root.display()),
            )
        })?;
    }
    if let Some(inline) = &svc.files {
        for (path, content) in inline.get_ref() {
            let norm = crate::services::tree::resolve("/", path);
            if norm == "/" || path.contains('\\') {
                return Err(cx
                    .err(inline.span(), format!("bad file path {path:?}"))
                    .with_hint("paths like \"index.html\" or \"debian/README\""));
            }
            files.insert(norm[1..].to_string(), content.as_bytes().to_vec());
        }
    }
    // A file and a directory of the same name cannot both exist.
    for path in files.keys() {
        let prefix = format!("{path}/");
        if files.keys().any(|other| other.starts_with(&prefix)) {
            let span = svc.files.as_ref().map_or(svc.kind.span(), |f| f.span());
            return Err(cx.err(span, format!("{path:?} is both a file and a directory")));
        }
    }
    Ok(files.into_iter().collect())
}

fn read_dir(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, Vec<u8>>,
    total: &mut u64,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        let kind = entry.file_type()?;
        if kind.is_dir() {
            read_dir(&entry.path(), &format!("{path}/"), files, total)?;
        } else if kind.is_file() {
            *total += entry.metadata()?.len();
            if *total > MAX_SERVED_BYTES {
                return Err(std::io::Error::other("more than 64 MiB of files"));
            }
            files.insert(path, std::fs::read(entry.path())?);
        }
    }
    Ok(())
}

/// The protocol client kinds of the registry (a telnet dialogue is read here too, for the
/// `telnet` kind).
pub(super) const FTP: StepKind = kind("ftp", &["user", "password", "commands"]);
pub(super) const SMTP: StepKind = kind("smtp", &["resolver", "helo", "from", "to", "body"]);
pub(super) const HTTP: StepKind = kind("http", &["server"]);
pub(super) const DNS: StepKind = kind("dns", &["query", "type", "tcp"]);

const fn kind(key: &'static str, takes: &'static [&'static str]) -> StepKind {
    StepKind::plain(key, takes, |input| {
        Ok(client(input)?.expect("a protocol client's key is set"))
    })
}

/// The step as a protocol client, or `None` for a telnet step without a dialogue.
pub(super) fn client(input: &Input) -> Result<Option<Parsed>, ScenarioError> {
    let Some(step) = step(
        input.cx,
        input.raw,
        &input.span,
        input.resolver,
        input.timeout,
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Parsed {
        title: title(&step),
        default: step.default_outcome(),
        outcomes: step.outcomes(),
        action: Action::Protocol(step),
        programs: Vec::new(),
    }))
}

/// What the report calls a protocol client step.
fn title(step: &ProtocolStep) -> String {
    match step {
        ProtocolStep::Dialogue { target, lines, .. } => {
            format!("telnet {} ({} lines)", target.text, lines.len())
        }
        ProtocolStep::Ftp { target, .. } => format!("ftp {}", target.text),
        ProtocolStep::Smtp {
            server: MailServer::Direct(target),
            ..
        } => format!("smtp {}", target.text),
        ProtocolStep::Smtp {
            server: MailServer::Mx {
                domain, resolver, ..
            },
            ..
        } => format!("smtp mx {domain} (resolver {})", resolver.text),
        ProtocolStep::Http { url, .. } => format!("http GET {url}"),
        ProtocolStep::Dns {
            server,
            name,
            qtype,
            tcp,
            ..
        } => {
            let transport = if *tcp { "+tcp " } else { "" };
            format!("dig @{} {transport}{qtype} {name}", server.text)
        }
    }
}

/// A target written as `HOST`, `HOST:PORT`, `ADDRESS` or `ADDRESS:PORT`.
fn target_with_default(
    cx: &Ctx,
    s: &Spanned<String>,
    port: u16,
    resolver: &Resolver,
) -> Result<Target, ScenarioError> {
    let text = s.get_ref();
    let has_port = text.contains(':') && text.parse::<std::net::IpAddr>().is_err();
    if has_port {
        return parse_target(cx, s, resolver);
    }
    let inner = cx.inner(s);
    let mut target = parse_target(
        cx,
        &Spanned::new(inner.start - 1..inner.end + 1, format!("{text}:{port}")),
        resolver,
    )?;
    target.text = text.clone();
    Ok(target)
}

/// The protocol action of a step, or `None` when the step has another action. The caller has
/// checked that the step has exactly one action.
fn step(
    cx: &Ctx,
    raw: &RawStep,
    span: &Range<usize>,
    resolver: &Resolver,
    timeout: Option<Duration>,
) -> Result<Option<ProtocolStep>, ScenarioError> {
    let here = span.start..span.start + 1;
    let timeout = timeout.unwrap_or(DEFAULT_REPLY_TIMEOUT);
    let stray = |fields: &[(&str, bool)], action: &str| -> Result<(), ScenarioError> {
        match fields.iter().find(|(_, set)| *set) {
            Some((field, _)) => Err(cx
                .err(
                    here.clone(),
                    format!("{field} does not go with this action"),
                )
                .with_hint(format!("{field} goes with {action}"))),
            None => Ok(()),
        }
    };
    let telnet_dialogue = raw.telnet.is_some() && raw.dialogue.is_some();
    if !telnet_dialogue {
        stray(
            &[
                ("dialogue", raw.dialogue.is_some()),
                ("banner", raw.banner.is_some()),
                ("follow_pasv", raw.follow_pasv.is_some()),
            ],
            "telnet and a dialogue",
        )?;
    }
    if raw.ftp.is_none() {
        stray(
            &[
                ("user", raw.user.is_some()),
                ("password", raw.password.is_some()),
                ("commands", raw.commands.is_some()),
            ],
            "ftp",
        )?;
    }
    if raw.smtp.is_none() {
        stray(
            &[
                ("resolver", raw.resolver.is_some()),
                ("helo", raw.helo.is_some()),
                ("from", raw.from.is_some()),
                ("to", raw.to.is_some()),
                ("body", raw.body.is_some()),
            ],
            "smtp",
        )?;
    }
    if raw.http.is_none() {
        stray(&[("server", raw.server.is_some())], "http")?;
    }
    if raw.dns.is_none() {
        stray(
            &[
                ("query", raw.query.is_some()),
                ("type", raw.qtype.is_some()),
                ("tcp", raw.tcp.is_some()),
            ],
            "dns",
        )?;
    }
    if let (Some(target), Some(dialogue)) = (&raw.telnet, &raw.dialogue) {
        if raw.send.is_some() || raw.expect_reply.is_some() {
            return Err(cx
                .err(here, "a dialogue replaces send and expect_reply")
                .with_hint(
                    "put every line in the dialogue: [[\"USER anonymous\", \"331\"], ...]",
                ));
        }
        let mut lines = Vec::new();
        for entry in dialogue.get_ref() {
            let Some((send, expect)) = entry.split_first() else {
                return Err(cx
                    .err(dialogue.span(), "an empty dialogue line")
                    .with_hint("each line is [\"LINE TO SEND\", \"EXPECTED REPLY PREFIX\", ...]"));
            };
            if send.contains(['\r', '\n']) {
                return Err(cx
                    .err(dialogue.span(), format!("{send:?} holds a line break"))
                    .with_hint("one line per entry; CRLF is added when it is sent"));
            }
            lines.push(DialogueLine {
                send: send.clone(),
                expect: expect.to_vec(),
            });
        }
        return Ok(Some(ProtocolStep::Dialogue {
            target: parse_target(cx, target, resolver)?,
            banner: raw.banner.clone(),
            lines,
            follow_pasv: raw.follow_pasv.unwrap_or(false),
            timeout,
        }));
    }
    if let Some(server) = &raw.ftp {
        let mut user = raw.user.clone().unwrap_or_else(|| "anonymous".to_string());
        let mut password = raw
            .password
            .clone()
            .unwrap_or_else(|| "anonymous".to_string());
        let mut commands = Vec::new();
        let list = raw
            .commands
            .as_ref()
            .map(|c| c.get_ref().as_slice())
            .unwrap_or(&[]);
        let count = list.len();
        for (i, command) in list.iter().enumerate() {
            let text = command.get_ref().trim();
            let (verb, arg) = text
                .split_once(char::is_whitespace)
                .map_or((text, ""), |(v, a)| (v, a.trim()));
            let bad = |msg: String| {
                cx.err(cx.inner(command), msg).with_hint(
                    "FTP commands: \"login USER PASSWORD\" (first), \"pwd\", \"cd DIR\", \"ls\", \"ls PATH\", \"get FILE\", \"quit\" (last)",
                )
            };
            match (verb, arg) {
                ("login", arg) if i == 0 => {
                    let mut words = arg.split_whitespace();
                    user = words
                        .next()
                        .ok_or_else(|| bad("login needs a user".into()))?
                        .to_string();
                    password = words.next().unwrap_or("").to_string();
                }
                ("pwd", "") => commands.push(FtpStep::Pwd),
                ("cd", dir) if !dir.is_empty() => commands.push(FtpStep::Cd(dir.to_string())),
                ("ls", "") => commands.push(FtpStep::Ls(None)),
                ("ls", path) => commands.push(FtpStep::Ls(Some(path.to_string()))),
                ("get", file) if !file.is_empty() => commands.push(FtpStep::Get(file.to_string())),
                ("quit", "") if i + 1 == count => {}
                ("login", _) => return Err(bad("login comes first".into())),
                ("quit", _) => return Err(bad("quit comes last".into())),
                (verb, _) => return Err(bad(format!("bad FTP command {verb:?}"))),
            }
        }
        return Ok(Some(ProtocolStep::Ftp {
            target: target_with_default(cx, server, 21, resolver)?,
            user,
            password,
            commands,
            timeout,
        }));
    }
    if let Some(smtp) = &raw.smtp {
        let server = match smtp.get_ref().split_once(' ') {
            Some(("mx", domain)) => {
                let name_server = raw.resolver.as_ref().ok_or_else(|| {
                    cx.err(cx.inner(smtp), "an MX lookup needs a resolver")
                        .with_hint("resolver = \"dns\": the lab host answering DNS on port 53")
                })?;
                let domain = domain.trim();
                check_domain(cx, &Spanned::new(smtp.span(), domain.to_string()))?;
                MailServer::Mx {
                    domain: domain.to_string(),
                    resolver: target_with_default(cx, name_server, 53, resolver)?,
                    port: 25,
                }
            }
            Some(_) => {
                return Err(cx
                    .err(
                        cx.inner(smtp),
                        format!("bad mail server {:?}", smtp.get_ref()),
                    )
                    .with_hint(
                        "smtp = \"HOST\", \"HOST:PORT\" or \"mx DOMAIN\" with resolver = \"dns\"",
                    ));
            }
            None => MailServer::Direct(target_with_default(cx, smtp, 25, resolver)?),
        };
        let need = |field: &str, value: &Option<String>| {
            value.clone().ok_or_else(|| {
                cx.err(here.clone(), format!("an smtp step needs {field}"))
                    .with_hint("from = \"alice@example.test\", to = [\"bob@example.test\"], body = \"Subject: hi\\n\\nHello\\n\"")
            })
        };
        let from = need("from", &raw.from)?;
        let body = need("body", &raw.body)?;
        let to = raw.to.clone().unwrap_or_default();
        if to.is_empty() {
            return Err(cx
                .err(here, "an smtp step needs at least one recipient")
                .with_hint("to = [\"bob@example.test\"]"));
        }
        for address in to.iter().chain(std::iter::once(&from)) {
            if address.contains(['<', '>', '\r', '\n', ' ']) {
                return Err(cx
                    .err(here, format!("bad mail address {address:?}"))
                    .with_hint("a bare address: alice@example.test"));
            }
        }
        return Ok(Some(ProtocolStep::Smtp {
            server,
            helo: raw
                .helo
                .clone()
                .unwrap_or_else(|| "client.example.test".to_string()),
            from,
            to,
            body,
            timeout,
        }));
    }
    if let Some(url) = &raw.http {
        let inner = cx.inner(url);
        let hint = "http = \"http://www.example.test/\" (with server = \"web\" when the URL's host is not a lab host)";
        let Some(rest) = url.get_ref().strip_prefix("http://") else {
            return Err(cx
                .err(inner, format!("bad URL {:?}", url.get_ref()))
                .with_hint(hint));
        };
        let (authority, path) = rest
            .find('/')
            .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
        let (name, port) = match authority.rsplit_once(':') {
            Some((n, p)) => (n, p.parse::<u16>().ok().filter(|p| *p != 0)),
            None => (authority, Some(80)),
        };
        let Some(port) = port.filter(|_| !name.is_empty()) else {
            return Err(cx
                .err(inner, format!("bad URL {:?}", url.get_ref()))
                .with_hint(hint));
        };
        let connect_to = match &raw.server {
            Some(server) => server.clone(),
            None => Spanned::new(
                inner.start - 1..inner.start + 7 + name.len() + 1,
                name.to_string(),
            ),
        };
        let mut target =
            target_with_default(cx, &connect_to, port, resolver).map_err(|e| e.with_hint(hint))?;
        target.port = port;
        return Ok(Some(ProtocolStep::Http {
            url: url.get_ref().clone(),
            target,
            host_header: authority.to_string(),
            path: path.to_string(),
            timeout,
        }));
    }
    if let Some(server) = &raw.dns {
        let query = raw.query.as_ref().ok_or_else(|| {
            cx.err(here.clone(), "a dns step needs a query")
                .with_hint("query = \"example.test\", type = \"MX\"")
        })?;
        check_domain(
            cx,
            &Spanned::new(
                query.span(),
                query.get_ref().trim_end_matches('.').to_string(),
            ),
        )?;
        let qtype = match &raw.qtype {
            None => RecordType::A,
            Some(t) => RecordType::from_str(&t.get_ref().to_ascii_uppercase())
                .ok()
                .filter(|t| !matches!(t, RecordType::Unknown(_)))
                .ok_or_else(|| {
                    cx.err(
                        cx.inner(t),
                        format!("unknown record type {:?}", t.get_ref()),
                    )
                    .with_hint("A, AAAA, MX, NS, CNAME, PTR, TXT, SOA, ANY")
                })?,
        };
        return Ok(Some(ProtocolStep::Dns {
            server: target_with_default(cx, server, 53, resolver)?,
            name: query.get_ref().clone(),
            qtype,
            tcp: raw.tcp.unwrap_or(false),
            timeout,
        }));
    }
    Ok(None)
}

/// `dns = "MX example.test"` with `rcode = "NOERROR"` and/or `answer = "MX 10 mail.example.test."`.
pub(super) const DNS_EXPECT: ExpectKind = ExpectKind {
    key: "dns",
    usage: "dns = \"TYPE NAME\" with rcode and/or answer",
    example: "dns = \"MX example.test\"\nrcode = \"NXDOMAIN\"",
    takes: &["rcode", "answer"],
    parse: dns_expect,
};

fn dns_expect(input: &ExpectInput) -> Result<crate::scenario::Expect, ScenarioError> {
    let (cx, raw) = (input.cx, input.raw);
    let query = raw.dns.as_ref().expect("the kind's key is set");
    let hint = "dns = \"MX example.test\" with rcode = \"NOERROR\" and/or answer = \"MX 10 mail.example.test.\"";
    let Some((qtype, name)) = query.get_ref().trim().split_once(' ') else {
        return Err(cx
            .err(
                cx.inner(query),
                format!("bad DNS question {:?}", query.get_ref()),
            )
            .with_hint(hint));
    };
    let qtype = qtype.to_ascii_uppercase();
    if RecordType::from_str(&qtype).is_err() {
        return Err(cx
            .err(cx.inner(query), format!("unknown record type {qtype:?}"))
            .with_hint(hint));
    }
    let mut name = name.trim().to_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    let rcode = raw
        .rcode
        .as_ref()
        .map(|r| {
            super::expects::one_of(
                cx,
                r,
                &[
                    "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP",
                ],
                "rcode",
            )
        })
        .transpose()?;
    if rcode.is_none() && raw.answer.is_none() {
        return Err(cx
            .err(cx.inner(query), "a dns expectation needs rcode or answer")
            .with_hint(hint));
    }
    Ok(crate::scenario::Expect::Dns {
        qtype,
        name,
        rcode,
        answer: raw.answer.clone(),
        line: input.line,
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::testing::TWO_HOSTS;
    use crate::scenario::{Action, Origin, ProtocolStep, ScenarioError, ServiceKind, parse};

    fn plan(extra: &str) -> Result<crate::scenario::Plan, ScenarioError> {
        parse(&format!("\n{TWO_HOSTS}{extra}"), Origin::Builtin("t"))
    }

    #[test]
    fn http_sites_are_checked() {
        let e = plan("[services.f]\nhost = \"server\"\nkind = \"ftp\"\n[services.f.sites.\"a.test\"]\n\"x\" = \"y\"\n")
            .unwrap_err();
        assert!(e.msg.contains("takes no sites"), "{e}");
        let e = plan("[services.w]\nhost = \"server\"\nkind = \"http\"\n[services.w.sites.\"bad name\"]\n\"x\" = \"y\"\n")
            .unwrap_err();
        assert!(e.msg.contains("bad site name"), "{e}");
        let p = plan("[services.w]\nhost = \"server\"\nkind = \"http\"\n[services.w.sites.\"Docs.Test\"]\n\"a/b.html\" = \"y\"\n")
            .unwrap();
        match &p.services[0].kind {
            ServiceKind::Http { sites, .. } => {
                assert_eq!(
                    sites,
                    &[(
                        "docs.test".to_string(),
                        vec![("a/b.html".to_string(), b"y".to_vec())]
                    )]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn services_take_default_ports_and_inline_content() {
        let p = plan(
            r#"
[services.ftp]
host = "server"
kind = "ftp"
users = { alice = "secret" }
files = { "debian/README" = "hi\n" }
[services.dns]
host = "server"
kind = "dns"
zone = "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 h 1 2 3 4 5\nmail IN A 10.0.0.2\n"
"#,
        )
        .unwrap();
        let ports: Vec<u16> = p.services.iter().map(|s| s.port).collect();
        assert_eq!(ports, [53, 21]);
        let ServiceKind::Ftp { files, users, .. } = &p.services[1].kind else {
            panic!()
        };
        assert_eq!(files, &[("debian/README".to_string(), b"hi\n".to_vec())]);
        assert_eq!(users["alice"], "secret");
    }

    #[test]
    fn bad_zone_is_reported_at_the_zone() {
        let e = plan(
            "[services.dns]\nhost = \"server\"\nkind = \"dns\"\nzone = \"@ IN MX ten mail\"\n",
        )
        .unwrap_err();
        assert!(e.msg.starts_with("bad zone"), "{e}");
        assert_eq!(e.line, 10, "{e}");
    }

    #[test]
    fn builtin_cannot_name_a_directory() {
        let e = plan("[services.web]\nhost = \"server\"\nkind = \"http\"\ndir = \"www\"\n")
            .unwrap_err();
        assert!(e.msg.contains("built-in scenario"), "{e}");
    }

    #[test]
    fn smtp_needs_a_mailbox_and_takes_no_files() {
        let e = plan("[services.m]\nhost = \"server\"\nkind = \"smtp\"\n").unwrap_err();
        assert!(e.msg.contains("needs a mailbox"), "{e}");
        let e = plan("[services.m]\nhost = \"server\"\nkind = \"smtp\"\nmailbox = \"mb\"\nfiles = {a = \"b\"}\n")
            .unwrap_err();
        assert!(e.msg.contains("takes no files"), "{e}");
    }

    #[test]
    fn client_steps() {
        let p = plan(
            r#"
[[steps]]
host = "client"
ftp = "server"
commands = ["login alice secret", "cd debian", "get README", "quit"]
[[steps]]
host = "client"
http = "http://www.example.test/docs/"
server = "server"
[[steps]]
host = "client"
smtp = "mx example.test"
resolver = "server"
from = "a@example.test"
to = ["b@example.test"]
body = "hi\n"
[[steps]]
host = "client"
telnet = "server:21"
banner = "220"
follow_pasv = true
dialogue = [["USER anonymous", "331"], ["RETR x", "150", "226"]]
"#,
        )
        .unwrap();
        let kinds: Vec<String> = p
            .steps
            .iter()
            .map(|s| match &s.action {
                Action::Protocol(ProtocolStep::Ftp { user, commands, .. }) => {
                    format!("ftp {user} {}", commands.len())
                }
                Action::Protocol(ProtocolStep::Http {
                    target,
                    host_header,
                    path,
                    ..
                }) => format!("http {} {host_header} {path}", target.addr),
                Action::Protocol(ProtocolStep::Smtp { server, .. }) => format!("smtp {server:?}")
                    .split(',')
                    .next()
                    .unwrap()
                    .to_string(),
                Action::Protocol(ProtocolStep::Dialogue { lines, .. }) => {
                    format!("dialogue {}", lines.len())
                }
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "ftp alice 2",
                "http 10.0.0.2 www.example.test /docs/",
                "smtp Mx { domain: \"example.test\"",
                "dialogue 2"
            ]
        );
    }

    #[test]
    fn step_errors_name_the_problem() {
        let step =
            |body: &str| plan(&format!("[[steps]]\nhost = \"client\"\n{body}\n")).unwrap_err();
        let e = step("ftp = \"server\"\ncommands = [\"pwd\", \"dir\"]");
        assert!(e.msg.contains("bad FTP command \"dir\""), "{e}");
        assert_eq!((e.line, e.col), (10, 21), "{e}");
        for (body, says) in [
            (
                "smtp = \"mx example.test\"\nfrom = \"a@x\"\nto = [\"b@x\"]\nbody = \"x\"",
                "needs a resolver",
            ),
            (
                "dns = \"server\"\nquery = \"example.test\"\ntype = \"MXX\"",
                "unknown record type",
            ),
            ("http = \"https://www.example.test/\"", "bad URL"),
            (
                "telnet = \"server:21\"\nfollow_pasv = true",
                "follow_pasv does not go",
            ),
            ("ftp = \"server\"\ndns = \"server\"", "exactly one action"),
        ] {
            let e = step(body);
            assert!(e.msg.contains(says), "{body}: {e}");
        }
    }
}
