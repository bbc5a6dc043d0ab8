//! `savin daemon`: opens the configuration store, applies the last commit, serves the socket.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use savin_mgmt::engine::Engine;
use savin_mgmt::server::{now_ms, Server};
use savin_mgmt::session::Shared;
use tracing::info;

pub fn run(
    state_dir: PathBuf,
    socket: Option<PathBuf>,
    minute_ms: i64,
    // The data plane, with its `--interface-map`; None: the management plane alone.
    dataplane: Option<String>,
    log_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // `system syslog` files live in LOG_DIR (STATE_DIR/log unless told otherwise).
    let syslog = savin_syslog::Shared::new(&log_dir.unwrap_or_else(|| state_dir.join("log")));
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file (or journald) gets plain lines to grep.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_env("SAVIN_LOG")
                .unwrap_or_else(|_| "info".into()),
        );
    tracing_subscriber::registry()
        .with(console)
        // The syslog destinations see notices, warnings and errors (info and above).
        .with(
            syslog
                .layer()
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
        )
        .init();
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    std::fs::set_permissions(
        &state_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .with_context(|| format!("securing {}", state_dir.display()))?;
    let socket = socket.unwrap_or_else(|| state_dir.join("savin.sock"));
    // Subsystems (data plane, routing, security) register here as they arrive.
    let mut subsystems: Vec<Box<dyn savin_config::subsystem::Subsystem>> = Vec::new();
    let mut operational = Vec::new();
    let logs = savin_syslog::Syslog::new(syslog);
    operational.push(logs.operational());
    subsystems.push(Box::new(logs));
    if let Some(map) = dataplane {
        let map = savin_forwarding::names::InterfaceMap::parse(&map)
            .map_err(|e| anyhow::anyhow!("--interface-map: {e}"))?;
        let system =
            savin_forwarding::names::Named::new(std::sync::Arc::new(savin_forwarding::Linux), map);
        let fwd = savin_forwarding::Forwarding::on(std::sync::Arc::new(system));
        operational.push(fwd.operational());
        // BGP's routes go to the forwarding plane's RIB; it commits after forwarding, so the
        // interfaces its sessions run over exist first.
        let bgp = savin_bgp::Bgp::new(std::sync::Arc::new(crate::routing::ForwardingRib(
            fwd.routes(),
        )));
        crate::routing::annotate(&fwd.routes(), &bgp);
        subsystems.push(Box::new(fwd));
        operational.push(bgp.operational());
        subsystems.push(Box::new(bgp));
    }
    // SSH and NETCONF: the listeners follow `system services`, the logins `system login`.
    let key = savin_ssh::host_key(&state_dir)?;
    let ssh = savin_ssh::SshService::new(key);
    subsystems.push(Box::new(ssh.clone()));
    // The metrics endpoint: off unless `system services prometheus`.
    let prometheus = savin_metrics::Prometheus::new();
    subsystems.push(Box::new(prometheus.clone()));
    let engine = Engine::open(&state_dir, subsystems, minute_ms.max(1))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("loading the configuration from {}", state_dir.display()))?;
    let shared = operational
        .into_iter()
        .fold(Shared::new(engine, now_ms()), Shared::with_operational);
    let server = Server::new(shared);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    info!(version = env!("CARGO_PKG_VERSION"), state_dir = %state_dir.display(), "savin daemon starting");
    ssh.start(rt.handle().clone(), server.clone());
    prometheus.start(rt.handle().clone(), server.clone());
    rt.block_on(async move {
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = term.recv() => info!("SIGTERM: stopping"),
                _ = tokio::signal::ctrl_c() => info!("SIGINT: stopping"),
            }
        };
        server.run(&socket, shutdown).await
    })
    .with_context(|| "management socket")?;
    info!("savin daemon stopped");
    Ok(ExitCode::SUCCESS)
}
