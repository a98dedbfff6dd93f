//! The FTP control dialogue as a pure state machine: one control line in, one [`Response`]
//! out, with no I/O except through the configured
//! [`FileTree`](super::super::tree::FileTree).
//!
//! Contract: every reply is the one vsftpd sends for the same line in the same state; a
//! transfer is possible only after `PASV`/`EPSV` opened a listener, and each listener serves
//! one transfer. Tested with strings alone (below).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::super::conn::{Line, UtcTime};
use super::super::tree::{Entry, resolve, split_parent};
use super::{FtpConfig, Response, Then, TransferError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Login {
    /// Waiting for `USER`.
    None,
    /// `USER` given, waiting for `PASS`.
    User(String),
    LoggedIn(String),
}

/// One control connection's state.
#[derive(Debug)]
pub struct Session {
    config: Arc<FtpConfig>,
    /// The control connection's local address, announced in `227` unless configured.
    local_ip: IpAddr,
    login: Login,
    cwd: String,
    binary: bool,
    /// A passive listener is open and waiting for the next transfer.
    data_ready: bool,
}

impl Session {
    pub fn new(config: Arc<FtpConfig>, local_ip: IpAddr) -> Self {
        Self {
            config,
            local_ip,
            login: Login::None,
            cwd: "/".to_string(),
            binary: false,
            data_ready: false,
        }
    }

    /// The greeting sent when the connection opens.
    pub fn greeting(&self) -> String {
        format!("220 {}\r\n", self.config.banner)
    }

    /// The current directory, as `PWD` shows it.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// Handles one control line.
    pub fn handle(&mut self, line: &Line) -> Response {
        let text = match line {
            Line::TooLong => return Response::reply(500, "Command line too long."),
            Line::Text(bytes) => String::from_utf8_lossy(bytes),
        };
        let (verb, arg) = match text.split_once(' ') {
            Some((verb, arg)) => (verb.to_ascii_uppercase(), arg),
            None => (text.to_ascii_uppercase(), ""),
        };
        if verb.is_empty() {
            return Response::reply(500, "Syntax error, command unrecognized.");
        }
        // Commands allowed before login.
        match verb.as_str() {
            "USER" => return self.user(arg),
            "PASS" => return self.pass(arg),
            "QUIT" => return Response::reply(221, "Goodbye.").then(Then::Close),
            "NOOP" => return Response::reply(200, "NOOP ok."),
            "SYST" => return Response::reply(215, "UNIX Type: L8"),
            "FEAT" => {
                return Response {
                    reply: "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n UTF8\r\n211 End\r\n"
                        .to_string(),
                    then: Then::Continue,
                };
            }
            "OPTS" => {
                return if arg.eq_ignore_ascii_case("UTF8 ON") {
                    Response::reply(200, "Always in UTF8 mode.")
                } else {
                    Response::reply(501, "Option not understood.")
                };
            }
            "HELP" => {
                return Response {
                    reply: "214-The following commands are recognized.\r\n \
                            ABOR CDUP CWD EPSV FEAT HELP LIST MODE NLST NOOP OPTS PASS PASV PWD\r\n \
                            QUIT RETR SIZE STOR STRU SYST TYPE USER XCUP XPWD\r\n\
                            214 Help OK.\r\n"
                        .to_string(),
                    then: Then::Continue,
                };
            }
            _ => {}
        }
        if !matches!(self.login, Login::LoggedIn(_)) {
            return Response::reply(530, "Please login with USER and PASS.");
        }
        match verb.as_str() {
            "PWD" | "XPWD" => Response::reply(
                257,
                &format!(
                    "\"{}\" is the current directory",
                    self.cwd.replace('"', "\"\"")
                ),
            ),
            "CWD" | "XCWD" => self.cwd_to(if arg.is_empty() { "/" } else { arg }),
            "CDUP" | "XCUP" => self.cwd_to(".."),
            "TYPE" => self.set_type(arg),
            "MODE" if arg.eq_ignore_ascii_case("S") => Response::reply(200, "Mode set to S."),
            "MODE" => Response::reply(504, "Bad MODE command."),
            "STRU" if arg.eq_ignore_ascii_case("F") => Response::reply(200, "Structure set to F."),
            "STRU" => Response::reply(504, "Bad STRU command."),
            "SIZE" => self.size(arg),
            "PASV" => {
                if self.config.passive_address.is_none() && self.announced_v4().is_none() {
                    return Response::reply(425, "PASV needs IPv4, use EPSV.");
                }
                Response::after(Then::Passive { extended: false })
            }
            "EPSV" if arg.eq_ignore_ascii_case("ALL") => Response::reply(200, "EPSV ALL ok."),
            "EPSV" => Response::after(Then::Passive { extended: true }),
            "PORT" | "EPRT" => {
                Response::reply(502, "Active mode is not supported, use PASV or EPSV.")
            }
            "LIST" => self.list(arg, true),
            "NLST" => self.list(arg, false),
            "RETR" => self.retr(arg),
            "STOR" => self.stor(arg),
            "ABOR" => Response::reply(225, "No transfer to ABOR."),
            _ => Response::reply(502, "Command not implemented."),
        }
    }

    fn user(&mut self, arg: &str) -> Response {
        if arg.is_empty() {
            return Response::reply(501, "Syntax error in parameters or arguments.");
        }
        self.login = Login::User(arg.to_string());
        Response::reply(331, "Please specify the password.")
    }

    fn pass(&mut self, arg: &str) -> Response {
        let user = match &self.login {
            Login::None => return Response::reply(503, "Login with USER first."),
            Login::LoggedIn(_) => return Response::reply(230, "Already logged in."),
            Login::User(user) => user.clone(),
        };
        let anonymous = user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp");
        let ok = if anonymous {
            self.config.allow_anonymous
        } else {
            self.config.users.get(&user).is_some_and(|pw| pw == arg)
        };
        if ok {
            self.login = Login::LoggedIn(user);
            self.cwd = "/".to_string();
            Response::reply(230, "Login successful.")
        } else {
            self.login = Login::None;
            Response::reply(530, "Login incorrect.")
        }
    }

    fn cwd_to(&mut self, arg: &str) -> Response {
        let path = resolve(&self.cwd, arg);
        match self.config.tree.entry(&path) {
            Some(e) if e.is_dir => {
                self.cwd = path;
                Response::reply(250, "Directory successfully changed.")
            }
            _ => Response::reply(550, "Failed to change directory."),
        }
    }

    fn set_type(&mut self, arg: &str) -> Response {
        let mut words = arg.split_ascii_whitespace();
        match words.next().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("A") => {
                self.binary = false;
                Response::reply(200, "Switching to ASCII mode.")
            }
            Some("I") => {
                self.binary = true;
                Response::reply(200, "Switching to Binary mode.")
            }
            Some("L") if words.next() == Some("8") => {
                self.binary = true;
                Response::reply(200, "Switching to Binary mode.")
            }
            None => Response::reply(501, "Syntax error in parameters or arguments."),
            Some(_) => Response::reply(504, "Bad TYPE command."),
        }
    }

    fn size(&self, arg: &str) -> Response {
        if arg.is_empty() {
            return Response::reply(501, "Syntax error in parameters or arguments.");
        }
        match self.config.tree.entry(&resolve(&self.cwd, arg)) {
            Some(e) if !e.is_dir => Response::reply(213, &e.size.to_string()),
            _ => Response::reply(550, "Could not get file size."),
        }
    }

    fn list(&mut self, arg: &str, long: bool) -> Response {
        if !self.data_ready {
            return Response::reply(425, "Use PASV or EPSV first.");
        }
        // Clients pass ls options (`LIST -la`); they change nothing here.
        let target = arg
            .split_ascii_whitespace()
            .filter(|w| !w.starts_with('-'))
            .collect::<Vec<_>>()
            .join(" ");
        let path = resolve(&self.cwd, &target);
        let entries = match self.config.tree.entry(&path) {
            Some(e) if e.is_dir => self.config.tree.list(&path).unwrap_or_default(),
            Some(e) => vec![e],
            None => return Response::reply(550, "No such file or directory."),
        };
        let mut out = String::new();
        for e in &entries {
            if long {
                out.push_str(&ls_line(e));
            } else {
                out.push_str(&e.name);
            }
            out.push_str("\r\n");
        }
        self.data_ready = false;
        Response::reply(150, "Here comes the directory listing.").then(Then::Send(out.into_bytes()))
    }

    fn retr(&mut self, arg: &str) -> Response {
        if arg.is_empty() {
            return Response::reply(501, "Syntax error in parameters or arguments.");
        }
        if !self.data_ready {
            return Response::reply(425, "Use PASV or EPSV first.");
        }
        let path = resolve(&self.cwd, arg);
        let data = match self.config.tree.entry(&path) {
            Some(e) if !e.is_dir => match self.config.tree.read(&path) {
                Ok(data) => data,
                Err(_) => return Response::reply(550, "Failed to open file."),
            },
            _ => return Response::reply(550, "Failed to open file."),
        };
        self.data_ready = false;
        let mode = if self.binary { "BINARY" } else { "ASCII" };
        let text = format!(
            "Opening {mode} mode data connection for {} ({} bytes).",
            split_parent(&path).1,
            data.len()
        );
        Response::reply(150, &text).then(Then::Send(data))
    }

    fn stor(&mut self, arg: &str) -> Response {
        if arg.is_empty() {
            return Response::reply(501, "Syntax error in parameters or arguments.");
        }
        if !self.config.allow_upload {
            return Response::reply(550, "Permission denied.");
        }
        if !self.data_ready {
            return Response::reply(425, "Use PASV or EPSV first.");
        }
        let path = resolve(&self.cwd, arg);
        let parent_is_dir = self
            .config
            .tree
            .entry(split_parent(&path).0)
            .is_some_and(|e| e.is_dir);
        let target_is_dir = self.config.tree.entry(&path).is_some_and(|e| e.is_dir);
        if !parent_is_dir || target_is_dir || path == "/" {
            return Response::reply(553, "Could not create file.");
        }
        self.data_ready = false;
        Response::reply(150, "Ok to send data.").then(Then::Receive(path))
    }

    fn announced_v4(&self) -> Option<Ipv4Addr> {
        self.config.passive_address.or(match self.local_ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        })
    }

    /// The reply once the shell has tried to bind a passive listener.
    pub fn passive_opened(&mut self, bound: io::Result<SocketAddr>, extended: bool) -> String {
        let addr = match bound {
            Ok(addr) => addr,
            Err(_) => {
                self.data_ready = false;
                return "425 Cannot open passive connection.\r\n".to_string();
            }
        };
        self.data_ready = true;
        let port = addr.port();
        if extended {
            return format!("229 Entering Extended Passive Mode (|||{port}|)\r\n");
        }
        match self.announced_v4() {
            Some(ip) => {
                let [h1, h2, h3, h4] = ip.octets();
                format!(
                    "227 Entering Passive Mode ({h1},{h2},{h3},{h4},{},{}).\r\n",
                    port >> 8,
                    port & 0xff
                )
            }
            None => {
                self.data_ready = false;
                "425 PASV needs IPv4, use EPSV.\r\n".to_string()
            }
        }
    }

    /// The reply once a `Send` transfer has ended.
    pub fn transfer_done(&mut self, result: Result<(), TransferError>) -> String {
        match result {
            Ok(()) => "226 Transfer complete.\r\n".to_string(),
            Err(TransferError::NoConnection) => {
                "425 Failed to establish connection.\r\n".to_string()
            }
            Err(_) => "426 Connection closed; transfer aborted.\r\n".to_string(),
        }
    }

    /// Writes an upload into the tree and returns the reply.
    pub fn stored(&mut self, path: &str, result: Result<Vec<u8>, TransferError>) -> String {
        match result {
            Ok(data) => match self.config.tree.write(path, data) {
                Ok(()) => "226 Transfer complete.\r\n".to_string(),
                Err(_) => "451 Failure writing to local file.\r\n".to_string(),
            },
            Err(TransferError::TooLarge) => "552 Exceeded storage allocation.\r\n".to_string(),
            Err(TransferError::NoConnection) => {
                "425 Failed to establish connection.\r\n".to_string()
            }
            Err(TransferError::Aborted) => {
                "426 Connection closed; transfer aborted.\r\n".to_string()
            }
        }
    }
}

/// One `ls -l` line. Virtual files carry a fixed date so listings are the same on every run.
fn ls_line(e: &Entry) -> String {
    let date = match e.modified {
        Some(t) => UtcTime::from_system(t).ls_date(),
        None => "Jan  1  2024".to_string(),
    };
    let (perms, links) = if e.is_dir {
        ("drwxr-xr-x", 2)
    } else {
        ("-rw-r--r--", 1)
    };
    format!(
        "{perms} {links:>4} ftp      ftp      {:>12} {date} {}",
        e.size, e.name
    )
}

#[cfg(test)]
mod tests {
    use super::super::super::tree::MemTree;
    use super::*;

    fn config() -> FtpConfig {
        let tree = MemTree::new([
            ("debian/README", "Debian archive\n"),
            ("debian/pool/", ""),
            ("welcome.msg", "hello\n"),
            ("incoming/", ""),
        ])
        .unwrap();
        let mut config = FtpConfig::new(Arc::new(tree));
        config
            .users
            .insert("alice".to_string(), "s3cret".to_string());
        config
    }

    fn session() -> Session {
        Session::new(Arc::new(config()), "10.0.0.2".parse().unwrap())
    }

    fn line(s: &str) -> Line {
        Line::Text(s.as_bytes().to_vec())
    }

    /// Sends each line and collects the replies, running passive and transfer actions as an
    /// ideal client would (data connection opened, transfer complete).
    fn dialogue(session: &mut Session, lines: &[&str]) -> (String, Vec<Vec<u8>>) {
        let mut out = String::new();
        let mut data = Vec::new();
        for l in lines {
            let r = session.handle(&line(l));
            out.push_str(&r.reply);
            match r.then {
                Then::Continue | Then::Close => {}
                Then::Passive { extended } => {
                    let addr = "10.0.0.2:40000".parse().unwrap();
                    out.push_str(&session.passive_opened(Ok(addr), extended));
                }
                Then::Send(bytes) => {
                    data.push(bytes);
                    out.push_str(&session.transfer_done(Ok(())));
                }
                Then::Receive(path) => {
                    out.push_str(&session.stored(&path, Ok(b"uploaded".to_vec())));
                }
            }
        }
        (out, data)
    }

    /// Sends each command as [`dialogue`] does and checks all the replies it gets (those of
    /// the transfer it starts too); returns the data sent.
    fn exchange(session: &mut Session, pairs: &[(&str, &str)]) -> Vec<Vec<u8>> {
        let mut data = Vec::new();
        for (command, want) in pairs {
            let (got, sent) = dialogue(session, &[command]);
            assert_eq!(got, *want, "the reply to {command:?}");
            data.extend(sent);
        }
        data
    }

    #[test]
    fn ftp_by_hand_lab_dialogue() {
        let mut s = session();
        assert_eq!(s.greeting(), "220 (labctl FTP)\r\n");
        let data = exchange(
            &mut s,
            &[
                ("USER anonymous", "331 Please specify the password.\r\n"),
                ("PASS anonymous", "230 Login successful.\r\n"),
                ("PWD", "257 \"/\" is the current directory\r\n"),
                ("CWD debian", "250 Directory successfully changed.\r\n"),
                ("PASV", "227 Entering Passive Mode (10,0,0,2,156,64).\r\n"),
                (
                    "RETR README",
                    "150 Opening ASCII mode data connection for README (15 bytes).\r\n\
                     226 Transfer complete.\r\n",
                ),
                ("QUIT", "221 Goodbye.\r\n"),
            ],
        );
        assert_eq!(data, [b"Debian archive\n".to_vec()]);
    }

    #[test]
    fn pasv_port_is_p1_times_256_plus_p2() {
        let mut s = session();
        dialogue(&mut s, &["USER ftp", "PASS x"]);
        let reply = s.passive_opened(Ok("10.0.0.2:65535".parse().unwrap()), false);
        assert_eq!(reply, "227 Entering Passive Mode (10,0,0,2,255,255).\r\n");
        let reply = s.passive_opened(Ok("10.0.0.2:40000".parse().unwrap()), true);
        assert_eq!(reply, "229 Entering Extended Passive Mode (|||40000|)\r\n");
    }

    #[test]
    fn pasv_announces_the_configured_address() {
        let mut config = config();
        config.passive_address = Some("192.0.2.7".parse().unwrap());
        let mut s = Session::new(Arc::new(config), "10.0.0.2".parse().unwrap());
        dialogue(&mut s, &["USER ftp", "PASS x"]);
        let reply = s.passive_opened(Ok("10.0.0.2:40001".parse().unwrap()), false);
        assert_eq!(reply, "227 Entering Passive Mode (192,0,2,7,156,65).\r\n");
    }

    #[test]
    fn pasv_on_ipv6_control_connection_asks_for_epsv() {
        let mut s = Session::new(Arc::new(config()), "2001:db8::2".parse().unwrap());
        dialogue(&mut s, &["USER ftp", "PASS x"]);
        assert_eq!(
            s.handle(&line("PASV")).reply,
            "425 PASV needs IPv4, use EPSV.\r\n"
        );
        assert_eq!(
            s.handle(&line("EPSV")).then,
            Then::Passive { extended: true }
        );
    }

    #[test]
    fn named_user_and_wrong_password() {
        exchange(
            &mut session(),
            &[
                ("USER alice", "331 Please specify the password.\r\n"),
                ("PASS wrong", "530 Login incorrect.\r\n"),
                ("PWD", "530 Please login with USER and PASS.\r\n"),
                ("USER alice", "331 Please specify the password.\r\n"),
                ("PASS s3cret", "230 Login successful.\r\n"),
                ("PWD", "257 \"/\" is the current directory\r\n"),
            ],
        );
    }

    #[test]
    fn anonymous_refused_when_disabled() {
        let mut config = config();
        config.allow_anonymous = false;
        let mut s = Session::new(Arc::new(config), "10.0.0.2".parse().unwrap());
        let (out, _) = dialogue(&mut s, &["USER anonymous", "PASS a@b"]);
        assert!(out.ends_with("530 Login incorrect.\r\n"), "{out}");
    }

    #[test]
    fn pass_before_user_is_a_sequence_error() {
        let mut s = session();
        assert_eq!(
            s.handle(&line("PASS x")).reply,
            "503 Login with USER first.\r\n"
        );
    }

    #[test]
    fn commands_before_login() {
        exchange(
            &mut session(),
            &[
                ("SYST", "215 UNIX Type: L8\r\n"),
                (
                    "FEAT",
                    "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n UTF8\r\n211 End\r\n",
                ),
                ("NOOP", "200 NOOP ok.\r\n"),
                ("LIST", "530 Please login with USER and PASS.\r\n"),
                ("RETR x", "530 Please login with USER and PASS.\r\n"),
            ],
        );
    }

    #[test]
    fn navigation_and_missing_paths() {
        let changed = "250 Directory successfully changed.\r\n";
        exchange(
            &mut session(),
            &[
                ("USER anonymous", "331 Please specify the password.\r\n"),
                ("PASS x", "230 Login successful.\r\n"),
                ("CWD nowhere", "550 Failed to change directory.\r\n"),
                ("CWD welcome.msg", "550 Failed to change directory.\r\n"),
                ("CWD /debian/pool", changed),
                ("PWD", "257 \"/debian/pool\" is the current directory\r\n"),
                ("CDUP", changed),
                ("PWD", "257 \"/debian\" is the current directory\r\n"),
                ("CDUP", changed),
                ("CDUP", changed),
                ("PWD", "257 \"/\" is the current directory\r\n"),
                ("SIZE debian/README", "213 15\r\n"),
                ("SIZE debian", "550 Could not get file size.\r\n"),
                ("SIZE nope", "550 Could not get file size.\r\n"),
            ],
        );
    }

    #[test]
    fn type_mode_stru() {
        let mut s = session();
        let (out, _) = dialogue(
            &mut s,
            &[
                "USER ftp", "PASS x", "TYPE I", "TYPE A", "TYPE L 8", "TYPE E", "TYPE", "MODE S",
                "MODE B", "STRU F",
            ],
        );
        let codes: Vec<&str> = out.lines().map(|l| &l[..3]).collect();
        assert_eq!(
            codes,
            [
                "331", "230", "200", "200", "200", "504", "501", "200", "504", "200"
            ]
        );
    }

    #[test]
    fn transfers_need_a_passive_listener_first() {
        let mut s = session();
        let (out, data) = dialogue(
            &mut s,
            &["USER ftp", "PASS x", "RETR welcome.msg", "LIST", "STOR x"],
        );
        assert!(out.ends_with(
            "425 Use PASV or EPSV first.\r\n425 Use PASV or EPSV first.\r\n425 Use PASV or EPSV first.\r\n"
        ));
        assert!(data.is_empty());
    }

    #[test]
    fn each_passive_listener_serves_one_transfer() {
        let mut s = session();
        let (out, data) = dialogue(
            &mut s,
            &[
                "USER ftp",
                "PASS x",
                "EPSV",
                "RETR welcome.msg",
                "RETR welcome.msg",
            ],
        );
        assert!(
            out.ends_with("226 Transfer complete.\r\n425 Use PASV or EPSV first.\r\n"),
            "{out}"
        );
        assert_eq!(data.len(), 1);
    }

    #[test]
    fn list_is_ls_long_format_and_nlst_is_names() {
        let mut s = session();
        let (out, data) = dialogue(
            &mut s,
            &[
                "USER ftp",
                "PASS x",
                "PASV",
                "LIST -la",
                "PASV",
                "NLST debian",
                "PASV",
                "LIST welcome.msg",
                "PASV",
                "LIST nope",
            ],
        );
        assert_eq!(
            String::from_utf8(data[0].clone()).unwrap(),
            "drwxr-xr-x    2 ftp      ftp                 0 Jan  1  2024 debian\r\n\
             drwxr-xr-x    2 ftp      ftp                 0 Jan  1  2024 incoming\r\n\
             -rw-r--r--    1 ftp      ftp                 6 Jan  1  2024 welcome.msg\r\n"
        );
        assert_eq!(data[1], b"README\r\npool\r\n");
        assert_eq!(
            data[2],
            b"-rw-r--r--    1 ftp      ftp                 6 Jan  1  2024 welcome.msg\r\n"
        );
        assert!(out.contains("150 Here comes the directory listing.\r\n"));
        assert!(out.ends_with("550 No such file or directory.\r\n"), "{out}");
    }

    #[test]
    fn retr_missing_file_and_directory_are_550() {
        let mut s = session();
        let (out, data) = dialogue(
            &mut s,
            &["USER ftp", "PASS x", "PASV", "RETR nope", "RETR debian"],
        );
        assert!(out.ends_with("550 Failed to open file.\r\n550 Failed to open file.\r\n"));
        assert!(data.is_empty());
    }

    #[test]
    fn stor_writes_into_the_tree() {
        let config = Arc::new(config());
        let mut s = Session::new(config.clone(), "10.0.0.2".parse().unwrap());
        let (out, _) = dialogue(
            &mut s,
            &[
                "USER ftp",
                "PASS x",
                "CWD incoming",
                "PASV",
                "STOR up.txt",
                "PASV",
                "STOR /missing/x",
                "STOR /debian",
            ],
        );
        assert!(
            out.contains("150 Ok to send data.\r\n226 Transfer complete.\r\n"),
            "{out}"
        );
        assert!(
            out.ends_with("553 Could not create file.\r\n553 Could not create file.\r\n"),
            "{out}"
        );
        assert_eq!(config.tree.read("/incoming/up.txt").unwrap(), b"uploaded");
    }

    #[test]
    fn stor_refused_when_read_only() {
        let mut config = config();
        config.allow_upload = false;
        let mut s = Session::new(Arc::new(config), "10.0.0.2".parse().unwrap());
        let (out, _) = dialogue(&mut s, &["USER ftp", "PASS x", "PASV", "STOR x"]);
        assert!(out.ends_with("550 Permission denied.\r\n"));
    }

    #[test]
    fn failed_transfers_have_their_own_codes() {
        let mut s = session();
        assert_eq!(
            s.transfer_done(Err(TransferError::NoConnection)),
            "425 Failed to establish connection.\r\n"
        );
        assert_eq!(
            s.transfer_done(Err(TransferError::Aborted)),
            "426 Connection closed; transfer aborted.\r\n"
        );
        assert_eq!(
            s.stored("/x", Err(TransferError::TooLarge)),
            "552 Exceeded storage allocation.\r\n"
        );
        assert_eq!(
            s.passive_opened(Err(io::Error::from(io::ErrorKind::AddrInUse)), false),
            "425 Cannot open passive connection.\r\n"
        );
    }

    #[test]
    fn garbage_unknown_and_overlong_lines() {
        let mut s = session();
        assert_eq!(
            s.handle(&line("")).reply,
            "500 Syntax error, command unrecognized.\r\n"
        );
        assert_eq!(
            s.handle(&Line::TooLong).reply,
            "500 Command line too long.\r\n"
        );
        assert_eq!(
            s.handle(&Line::Text(vec![0xff, 0x00, 0xfe, b' ', 0x80]))
                .reply,
            "530 Please login with USER and PASS.\r\n"
        );
        dialogue(&mut s, &["USER ftp", "PASS x"]);
        exchange(
            &mut s,
            &[
                ("XYZZY", "502 Command not implemented.\r\n"),
                (
                    "PORT 10,0,0,1,4,1",
                    "502 Active mode is not supported, use PASV or EPSV.\r\n",
                ),
            ],
        );
        assert_eq!(s.handle(&line("QUIT")).then, Then::Close);
    }

    #[test]
    fn commands_are_case_insensitive() {
        let mut s = session();
        let (out, _) = dialogue(&mut s, &["user anonymous", "pass x", "pwd"]);
        assert!(out.ends_with("257 \"/\" is the current directory\r\n"));
    }
}
