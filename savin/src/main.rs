//! `savin`: the one binary. `savin daemon` runs the system, `savin cli` talks to it,
//! `savin demo` shows it working in a lab of network namespaces, `savin bench` measures it.

mod cli;
mod daemon;
mod demo;
mod probe;
mod routing;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Where the daemon keeps its state when not told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/savin";

#[derive(Parser)]
#[command(name = "savin", version, about = "Savin network operating system")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon in the foreground.
    Daemon {
        /// Directory for the committed configurations and rollbacks.
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
        /// Management socket (default: STATE_DIR/savin.sock).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Length of a `commit confirmed` minute in milliseconds (tests shorten it).
        #[arg(long, default_value_t = 60_000, hide = true)]
        minute_ms: i64,
        /// The data plane: `af-packet` forwards between the configured interfaces; `none` runs
        /// the management plane alone (configuration tests, a laptop).
        #[arg(long, default_value = "af-packet", value_parser = ["af-packet", "none"])]
        dataplane: String,
        /// Junos port names bound to netdevs: `ge-0/0/0=eth1,ge-0/0/1=eth2`. Without it,
        /// as on a virtual SRX, the Ethernet netdevs in ifindex order are fxp0, ge-0/0/0,
        /// ge-0/0/1, ...; Linux names (eth1) work either way.
        #[arg(long, default_value = "")]
        interface_map: String,
        /// Where `system syslog file` logs are written (default: STATE_DIR/log).
        #[arg(long)]
        log_dir: Option<PathBuf>,
    },
    /// The Junos-style CLI: interactive, or `-c 'CMD; CMD'` to run commands and exit.
    Cli {
        /// Management socket (default: $SAVIN_SOCKET, else /var/lib/savin/savin.sock).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Commands separated by `;`; exits non-zero if any fails.
        #[arg(short = 'c')]
        commands: Option<String>,
    },
    /// Build a small lab of network namespaces, run Savin in it, and show it working.
    Demo,
    /// Benchmarks that print JSON.
    Bench {
        #[command(subcommand)]
        what: savin_bench::BenchCmd,
    },
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = match args.cmd {
        Cmd::Daemon {
            state_dir,
            socket,
            minute_ms,
            dataplane,
            interface_map,
            log_dir,
        } => daemon::run(
            state_dir,
            socket,
            minute_ms,
            (dataplane == "af-packet").then_some(interface_map),
            log_dir,
        ),
        Cmd::Cli { socket, commands } => {
            let socket = socket
                .or_else(|| std::env::var_os("SAVIN_SOCKET").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR).join("savin.sock"));
            match commands {
                Some(c) => cli::run_commands(&socket, &c),
                None => cli::interactive(&socket),
            }
        }
        Cmd::Demo => demo::run(),
        Cmd::Bench { what } => savin_bench::run(what),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("savin: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// jemalloc, not glibc's malloc: glibc kept a full table's transient buffers (UPDATEs in
/// flight, change batches) resident after a table load, about 160 MB that free() had
/// returned; jemalloc gives freed pages back to the system (below), and its size classes
/// pack route records tighter.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: a background thread returns freed pages about a
/// second after they are freed (the default waits ten seconds, and only when the program
/// calls malloc again). `_RJEM_MALLOC_CONF` in the environment still overrides.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 60] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";
