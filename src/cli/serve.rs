//! `serve` and `mcp`: the long-running faces, with a watcher that keeps the index fresh.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::calls::{parse_timeout, Calls};
use crate::embed::{ModelPaths, QueryModel};
use crate::engine::{Engine, Limits};
#[cfg(feature = "serve")]
use crate::serve::{parse_listen, ServeConfig};
use crate::store::IndexDir;

#[cfg(feature = "serve")]
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one). Anything but loopback needs --token.
    #[arg(long, default_value = "127.0.0.1:7777", value_parser = parse_listen)]
    pub listen: std::net::SocketAddr,
    /// Require `Authorization: Bearer TOKEN` on every request (at least 16 characters).
    #[arg(long, env = "RECALL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Also answer requests for this host name (besides loopback names and the listen
    /// address), e.g. the machine's name on the network. Repeatable.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    #[command(flatten)]
    pub calls: CallArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Args, Debug)]
pub struct McpArgs {
    #[command(flatten)]
    pub calls: CallArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Args, Debug)]
pub struct CallArgs {
    /// Longest a call may take, in seconds (waiting for its turn included); a call
    /// without an answer by then gets a `timeout` error.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// The opt-in write path of a server.
#[derive(Args, Debug)]
pub struct WriteArgs {
    /// Offer the tools that write to the vault (`remember`: new notes; `reinforce`: footer
    /// lines) over MCP and HTTP. Off by default: a server only reads.
    #[arg(long)]
    pub allow_write: bool,
    /// Folder inside the vault where `remember` puts new notes.
    #[arg(long, value_name = "FOLDER", default_value = crate::engine::DEFAULT_WRITE_FOLDER, requires = "allow_write")]
    pub write_folder: String,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Do not watch the vault (serve the index as it is, and what others publish).
    #[arg(long)]
    pub no_watch: bool,
    /// Quiet time after the last change before updating, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub debounce_ms: u64,
}

/// The engine of a server: the model pooled for concurrent queries, everything loaded
/// before the first request, and a watcher thread keeping it current.
fn start(
    dir: IndexDir,
    model: ModelPaths,
    watch: &WatchArgs,
    write: &WriteArgs,
) -> anyhow::Result<Arc<Engine>> {
    let engine = Arc::new(
        Engine::open(dir, QueryModel::pooled(model), Limits::service())?
            .with_write_folder(&write.write_folder)?,
    );
    let snap = engine.snapshot();
    snap.warm()?;
    if snap.generation.manifest.model.is_some() {
        snap.model().preload()?;
    }
    let watcher = Arc::clone(&engine);
    let debounce = Duration::from_millis(watch.debounce_ms);
    let follow_only = watch.no_watch;
    std::thread::Builder::new()
        .name("recall-watch".into())
        .spawn(move || {
            let mut log = |event: crate::watch::WatchEvent| {
                if let Some(line) = event.describe() {
                    super::term::note(&format!("{} {line}", chrono::Local::now().format("%H:%M:%S")));
                }
            };
            let result = if follow_only {
                crate::watch::follow(&watcher, debounce, &mut log)
            } else {
                crate::watch::run(&watcher, debounce, &mut log)
            };
            if let Err(e) = result {
                super::term::warn(&format!("no longer watching the vault: {e}"));
            }
        })?;
    Ok(engine)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(crate::cores())
        .max_blocking_threads(crate::cores() * 8)
        .enable_all()
        .build()?)
}

#[cfg(feature = "serve")]
pub(super) fn serve(dir: IndexDir, model: ModelPaths, args: &ServeArgs) -> anyhow::Result<()> {
    let config = ServeConfig {
        listen: args.listen,
        token: args.token.clone(),
        allow_hosts: args.allow_hosts.clone(),
        timeout: args.calls.timeout,
        allow_write: args.write.allow_write,
    };
    // Refuse a bad configuration before loading anything.
    config.check()?;
    let engine = start(dir, model, &args.watch, &args.write)?;
    runtime()?.block_on(crate::serve::run(engine, config))
}

pub(super) fn mcp(dir: IndexDir, model: ModelPaths, args: &McpArgs) -> anyhow::Result<()> {
    let engine = start(dir, model, &args.watch, &args.write)?;
    let calls = Arc::new(Calls::for_server(engine, args.calls.timeout));
    let runtime = runtime()?;
    runtime.block_on(crate::mcp::serve_stdio(calls, args.write.allow_write))?;
    // A search still running on a blocking thread must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
