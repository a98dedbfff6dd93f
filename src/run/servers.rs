//! The services stage of a run: the plan's services started in the built lab, every socket
//! created inside its host's network namespace (on a thread that enters it), then handed to the
//! tokio runtime. This is where a scenario's service meets the server library: `services`
//! itself knows no plan, no lab and no namespace.
//!
//! Contract: [`start`] returns once every service is listening, so the first step can connect;
//! a port that cannot be bound fails the run with the service, host and port named. FTP's
//! passive data listeners are bound through a binder that enters the same host, so the `227`
//! reply names the host's own lab address and the port is the first free one from 40000 (the
//! same run after run). Every connection is counted by the run's [`Tracker`], so the run can
//! wait for servers to finish before it stops the captures. A program service (`program`) is a
//! real program in its host, waited for until it listens and interrupted as the run ends.

mod program;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sandbox::{Netns, SandboxError};
use crate::scenario::{FileSet, Plan, ServiceKind, ServicePlan};
use crate::services::ftp::{Binder, FtpConfig};
use crate::services::http::HttpConfig;
use crate::services::smtp::SmtpConfig;
use crate::services::tree::{FileTree, MemTree};
use crate::services::{Tracker, basic, dhcp, dns, dump, ftp, http, smtp, tracked};
use crate::topology::{Host, Lab};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("service {service} on {host}: cannot listen on port {port}: {source}")]
    Listen {
        service: String,
        host: String,
        port: u16,
        source: io::Error,
    },
    #[error("service {service}: {message}")]
    Content { service: String, message: String },
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

/// The running services of a lab.
pub struct Started {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    programs: Vec<program::Running>,
}

impl Started {
    /// Interrupts every program service (SIGINT, then SIGKILL) while the captures still
    /// record, so what a program does as it stops (arpspoof re-announcing the true bindings
    /// it poisoned) is on the wire; [`Started::stop`] then has no program left to stop.
    pub async fn stop_programs(&mut self) {
        for running in self.programs.drain(..) {
            running.stop().await;
        }
    }

    /// Stops every server (listeners closed, open connections aborted) and every program
    /// service (SIGINT, then SIGKILL), and waits for them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        for running in self.programs {
            running.stop().await;
        }
    }
}

/// Binds and starts every service of `plan`, counting connections with `tracker`; returns once
/// each listens (a program service with `ready`, once its program does).
pub async fn start(plan: &Plan, lab: &Lab, tracker: &Tracker) -> Result<Started, StartError> {
    let (shutdown, _) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut programs = Vec::new();
    for svc in &plan.services {
        let host = lab.host(svc.host);
        if let ServiceKind::Program {
            argv,
            stdout,
            ready,
        } = &svc.kind
        {
            programs.push(program::start(svc, host, argv, stdout.as_deref(), *ready).await?);
            continue;
        }
        let mut stop = shutdown.subscribe();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let listen_err = |source| StartError::Listen {
            service: svc.name.clone(),
            host: host.name.clone(),
            port: svc.port,
            source,
        };
        if let ServiceKind::Dhcp { iface, config } = &svc.kind {
            let iface = iface.clone();
            let socket = host
                .netns
                .run(move || dhcp::DhcpSocket::open(&iface))?
                .map_err(listen_err)?;
            let server = dhcp::serve(socket, config.clone(), stopped);
            tasks.push(tokio::spawn(tracked(tracker.clone(), server)));
            continue;
        }
        let listener = tcp_listener(host, svc.port)?.map_err(listen_err)?;
        let tracker = tracker.clone();
        let task = match &svc.kind {
            ServiceKind::TcpDump { file } => tokio::spawn({
                let file = host.dir.join(file);
                async move {
                    let _ = dump::serve(listener, file, tracker, stopped).await;
                }
            }),
            ServiceKind::TcpEcho => tokio::spawn(async move {
                let _ = basic::serve(listener, basic::Behaviour::Echo, tracker, stopped).await;
            }),
            ServiceKind::TcpBanner { banner } => {
                let behaviour = basic::Behaviour::Banner(banner.clone().into_bytes());
                tokio::spawn(async move {
                    let _ = basic::serve(listener, behaviour, tracker, stopped).await;
                })
            }
            ServiceKind::Ftp {
                files,
                users,
                anonymous,
                upload,
            } => {
                let mut config = FtpConfig::new(tree(svc, files)?);
                config.users = users.clone();
                config.allow_anonymous = *anonymous;
                config.allow_upload = *upload;
                config.binder = binder(&host.netns).map_err(listen_err)?;
                tokio::spawn(tracked(tracker, ftp::serve(listener, config, stopped)))
            }
            ServiceKind::Smtp { mailbox, hostname } => {
                let config = SmtpConfig::new(hostname.clone(), host.dir.join(mailbox));
                tokio::spawn(tracked(tracker, smtp::serve(listener, config, stopped)))
            }
            ServiceKind::Http { files, sites } => {
                let mut config = HttpConfig::single(tree(svc, files)?);
                for (name, site) in sites {
                    config.sites.insert(name.clone(), tree(svc, site)?);
                }
                tokio::spawn(tracked(tracker, http::serve(listener, config, stopped)))
            }
            // Started above: a program has no socket of labctl's, DHCP no TCP listener.
            ServiceKind::Program { .. } | ServiceKind::Dhcp { .. } => continue,
            ServiceKind::Dns { zones } => {
                let udp = udp_socket(host, svc.port)?.map_err(listen_err)?;
                let config = dns::DnsConfig {
                    zones: zones.clone(),
                };
                tokio::spawn(tracked(tracker, dns::serve(udp, listener, config, stopped)))
            }
        };
        tasks.push(task);
    }
    Ok(Started {
        shutdown,
        tasks,
        programs,
    })
}

fn any(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

/// A TCP listener on every address of the host, created inside the host.
fn tcp_listener(
    host: &Host,
    port: u16,
) -> Result<io::Result<tokio::net::TcpListener>, SandboxError> {
    let bound = host.netns.run(move || {
        let listener = std::net::TcpListener::bind(any(port))?;
        listener.set_nonblocking(true)?;
        Ok::<_, io::Error>(listener)
    })?;
    Ok(bound.and_then(tokio::net::TcpListener::from_std))
}

fn udp_socket(host: &Host, port: u16) -> Result<io::Result<tokio::net::UdpSocket>, SandboxError> {
    let bound = host.netns.run(move || {
        let socket = std::net::UdpSocket::bind(any(port))?;
        socket.set_nonblocking(true)?;
        Ok::<_, io::Error>(socket)
    })?;
    Ok(bound.and_then(tokio::net::UdpSocket::from_std))
}

/// Binds FTP data listeners inside the host, as its control listener was.
fn binder(netns: &Netns) -> io::Result<Binder> {
    let netns = Arc::new(netns.try_clone()?);
    Ok(Arc::new(move |addr| {
        netns
            .run(move || std::net::TcpListener::bind(addr))
            .map_err(io::Error::other)?
    }))
}

fn tree(svc: &ServicePlan, files: &FileSet) -> Result<Arc<dyn FileTree>, StartError> {
    let tree = MemTree::new(files.iter().map(|(p, c)| (p.as_str(), c.clone()))).map_err(|e| {
        StartError::Content {
            service: svc.name.clone(),
            message: e.to_string(),
        }
    })?;
    Ok(Arc::new(tree))
}
