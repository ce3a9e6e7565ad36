//! `canon serve`: the GPU-cloud emulator, with a CUDO-shaped API under
//! `/v1`, AIP-193 errors, SQLite storage, fault injection and a journal.
//!
//! ```text
//! canon serve [--addr 127.0.0.1:8080] [--data FILE | --memory] [--debug] [--faults FILE]
//!             [--bootstrap-key KEY] [--error-domain DOMAIN] [--grpc-gateway]
//!             [--transitions immediate|manual|DURATION] [--seed N] [--clock system|manual]
//!             [--admin-token TOKEN]
//! ```
//!
//! With no flags it keeps its data in `./canon-data.sqlite3` (made on the
//! first start, kept across restarts), makes sure the demo project exists
//! with an API key that has every scope and a GPU quota of 16 per model
//! per data center, and prints the URL, the key and a curl command to try.
//! The key is derived from a secret kept in the data file, so every start
//! on the same file prints the same key (the file keeps only its hash);
//! `--memory` makes a new one each time. `--bootstrap-key KEY` (or
//! `CANON_BOOTSTRAP_KEY`) makes that key the demo project's instead, for
//! scripts and CI.
//!
//! The admin API (`/_canon`) answers loopback clients only, unless
//! `--admin-token` (or `CANON_ADMIN_TOKEN`) is given: then it answers
//! whoever sends that token, and nobody else.
//!
//! Logs go to stderr, filtered by `RUST_LOG` (default `info`). Ctrl-C or
//! SIGTERM stops accepting, lets requests in flight finish, and exits 0.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use canon::Encoding;
use canon_cloud::admin::DEFAULT_GPU_QUOTA;
use canon_cloud::clock::{Clock, ManualClock, SystemClock, TransitionMode};
use canon_cloud::http::{AdminAccess, AppOptions, AppState, app, demo_api_key, server};
use canon_cloud::{Cloud, CloudConfig, Store};

/// The data file when neither `--data` nor `--memory` is given.
pub(crate) const DEFAULT_DATA_FILE: &str = "canon-data.sqlite3";

/// The clock the emulator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ClockKind {
    /// The wall clock.
    System,
    /// A clock that starts at the wall clock's time and moves only when
    /// the admin API says so (`POST /_canon/clock:advance`).
    Manual,
}

/// Arguments of `canon serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    addr: SocketAddr,

    /// The SQLite data file (made if absent; WAL mode). Default:
    /// ./canon-data.sqlite3.
    #[arg(long, value_name = "FILE", conflicts_with = "memory")]
    data: Option<PathBuf>,

    /// Keep everything in memory: nothing survives the process.
    #[arg(long)]
    memory: bool,

    /// Put DebugInfo (the cause of INTERNAL errors and panics) into error
    /// bodies. For development only.
    #[arg(long)]
    debug: bool,

    /// Load fault rules from this JSON file at start: {"rules": [...]}.
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,

    /// Make sure the demo project has an API key of this value, with every
    /// scope (instead of printing a derived one).
    #[arg(long, value_name = "KEY", env = "CANON_BOOTSTRAP_KEY", hide_env_values = true)]
    bootstrap_key: Option<String>,

    /// The ErrorInfo domain of every error of the CUDO surface.
    #[arg(long, value_name = "DOMAIN", default_value = "compute.cudo.dev")]
    error_domain: String,

    /// Write CUDO errors grpc-gateway style: `code` is the gRPC number and
    /// there is no `status`.
    #[arg(long)]
    grpc_gateway: bool,

    /// When transitional states end: `immediate`, `manual` (the admin API
    /// advances them), or a duration such as `2s`.
    #[arg(long, value_name = "MODE", default_value = "immediate")]
    transitions: TransitionMode,

    /// The seed of request ids and generated resource ids (random when
    /// absent).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// The clock: `system`, or `manual` (moved by the admin API).
    #[arg(long, value_enum, default_value = "system")]
    clock: ClockKind,

    /// Open the admin API to whoever sends `Authorization: Bearer TOKEN`
    /// (and to nobody else); without it, loopback clients only.
    #[arg(long, value_name = "TOKEN", env = "CANON_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// Runs the emulator until Ctrl-C or SIGTERM.
#[allow(clippy::print_stderr)]
pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(serve(args))?;
    eprintln!("canon serve: stopped");
    Ok(ExitCode::SUCCESS)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}

/// Where the data lives.
enum DataPlace {
    Memory,
    File(PathBuf),
}

impl DataPlace {
    fn of(args: &ServeArgs) -> DataPlace {
        match (&args.data, args.memory) {
            (_, true) => DataPlace::Memory,
            (Some(path), false) => DataPlace::File(path.clone()),
            (None, false) => DataPlace::File(PathBuf::from(DEFAULT_DATA_FILE)),
        }
    }

    fn open(&self) -> anyhow::Result<Store> {
        match self {
            DataPlace::Memory => Store::in_memory().context("cannot make the in-memory store"),
            DataPlace::File(path) => {
                Store::open(path).with_context(|| format!("cannot open the data file {}", path.display()))
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            DataPlace::Memory => "in memory (--memory): everything is gone when the server stops".to_owned(),
            DataPlace::File(path) => {
                format!("{} (SQLite, WAL; kept across restarts)", absolute(path).display())
            }
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

async fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let place = DataPlace::of(args);
    let store = place.open()?;
    let clock: Arc<dyn Clock> = match args.clock {
        ClockKind::System => Arc::new(SystemClock),
        ClockKind::Manual => Arc::new(ManualClock::new(SystemClock.now())),
    };
    let config = CloudConfig {
        error_domain: args.error_domain.clone(),
        debug: args.debug,
        transition_mode: args.transitions,
        id_seed: args.seed,
        ..CloudConfig::default()
    };
    anyhow::ensure!(!args.error_domain.trim().is_empty(), "--error-domain must not be empty");
    let cloud = Cloud::new(store, clock, config).map_err(|s| anyhow::anyhow!("cannot open the cloud: {s}"))?;

    let fault_rules = match &args.faults {
        Some(path) => Some(cloud.faults().load_file(path)?.len()),
        None => None,
    };
    let (key, key_given) = match &args.bootstrap_key {
        Some(key) => (key.trim().to_owned(), true),
        None => (demo_api_key(&cloud), false),
    };
    let bootstrap =
        cloud.admin().bootstrap(&key).map_err(|s| anyhow::anyhow!("cannot set up the demo project: {s}"))?;

    let listener =
        tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr().context("cannot read the listening address")?;
    let access = match &args.admin_token {
        Some(token) if !token.trim().is_empty() => AdminAccess::Token(token.trim().to_owned()),
        _ => AdminAccess::LoopbackOnly,
    };
    let options = AppOptions {
        encoding: if args.grpc_gateway { Encoding::GrpcGateway } else { Encoding::Aip193 },
        admin: access.clone(),
        ..AppOptions::default()
    };
    let router = app(AppState { cloud: Arc::new(cloud) }, &options);

    let banner = Banner {
        url: format!("http://{}", url_host(addr)),
        data: place.describe(),
        project: bootstrap.project.id,
        key: if key_given { None } else { Some(key) },
        access,
        fault_rules,
        errors: if args.grpc_gateway { "grpc-gateway" } else { "AIP-193" },
        domain: args.error_domain.clone(),
    };
    let shutdown = shutdown_signal();
    crate::output::print(&banner.render())?;
    let _ = std::io::stdout().flush();

    server::serve(listener, router, shutdown).await.context("the server failed")?;
    Ok(())
}

/// The host and port of a URL for `addr` (an unspecified address is shown
/// as loopback, where a local client can reach it).
fn url_host(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => format!("127.0.0.1:{}", v4.port()),
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => format!("[::1]:{}", v6.port()),
        SocketAddr::V4(v4) => v4.to_string(),
        SocketAddr::V6(v6) => v6.to_string(),
    }
}

/// What `canon serve` prints on start.
struct Banner {
    url: String,
    data: String,
    project: String,
    key: Option<String>,
    access: AdminAccess,
    fault_rules: Option<usize>,
    errors: &'static str,
    domain: String,
}

impl Banner {
    fn render(&self) -> String {
        let url = &self.url;
        let mut out = String::new();
        out.push_str("canon serve: a GPU-cloud emulator with a CUDO-shaped API\n\n");
        out.push_str(&format!("  URL        {url}\n"));
        out.push_str(&format!("  data       {}\n", self.data));
        out.push_str(&format!(
            "  project    {} (every scope; GPU quota {DEFAULT_GPU_QUOTA} per model per data center)\n",
            self.project
        ));
        match &self.key {
            Some(key) => {
                out.push_str(&format!("  API key    {key}\n"));
                out.push_str(
                    "             a secret: it works against this data file until deleted; only its hash is stored\n",
                );
            }
            None => out.push_str("  API key    the --bootstrap-key value (or CANON_BOOTSTRAP_KEY)\n"),
        }
        out.push_str(&format!("  errors     {} bodies, ErrorInfo domain {}\n", self.errors, self.domain));
        let admin = match self.access {
            AdminAccess::LoopbackOnly => "loopback clients only",
            AdminAccess::Token(_) => "needs Authorization: Bearer <the --admin-token>",
        };
        out.push_str(&format!("  admin API  {url}/_canon ({admin})\n"));
        out.push_str(&format!("  OpenAPI    {url}/openapi.json\n"));
        if let Some(count) = self.fault_rules {
            out.push_str(&format!("  faults     {count} rules loaded\n"));
        }
        let key = self.key.as_deref().unwrap_or("$CANON_BOOTSTRAP_KEY");
        out.push_str("\nTry it:\n");
        out.push_str(&format!("  curl -H 'Authorization: Bearer {key}' {url}/v1/projects/{}/vms\n", self.project));
        out.push_str("\nCtrl-C stops the server.\n");
        out
    }
}

/// Installs the Ctrl-C and SIGTERM handlers now, and returns the future
/// that completes on either.
///
/// The handlers must be in place before the banner is printed: a script
/// that reads the URL and sends SIGTERM at once must stop the server
/// cleanly, not kill it by the signal's default action.
#[cfg(unix)]
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn received(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        tokio::select! {
            () = received(interrupt) => {}
            () = received(terminate) => {}
        }
        tracing::info!("shutting down: no new connections; requests in flight may finish");
    }
}

/// Returns the future that completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> impl Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: no new connections; requests in flight may finish");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_shown_as_loopback() {
        let table = [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("127.0.0.1:9", "127.0.0.1:9"),
            ("[::]:80", "[::1]:80"),
            ("[::1]:80", "[::1]:80"),
        ];
        for (addr, host) in table {
            assert_eq!(url_host(addr.parse().unwrap()), host);
        }
    }

    #[test]
    fn the_banner_shows_the_key_or_says_where_it_is() {
        let mut banner = Banner {
            url: "http://127.0.0.1:8080".to_owned(),
            data: "in memory".to_owned(),
            project: "demo".to_owned(),
            key: Some("ck_abc".to_owned()),
            access: AdminAccess::LoopbackOnly,
            fault_rules: None,
            errors: "AIP-193",
            domain: "compute.cudo.dev".to_owned(),
        };
        let text = banner.render();
        assert!(text.contains("  URL        http://127.0.0.1:8080\n"), "{text}");
        assert!(text.contains("curl -H 'Authorization: Bearer ck_abc' http://127.0.0.1:8080/v1/projects/demo/vms"));
        banner.key = None;
        assert!(banner.render().contains("$CANON_BOOTSTRAP_KEY"));
    }
}
