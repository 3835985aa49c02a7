//! palaudit's collection stage: a read-only inventory of one customer tenant over the
//! admin APIs (Power Platform, Power Automate, Dataverse, Power BI, Microsoft Graph),
//! streamed into a snapshot.
//!
//! This crate owns the config file ([`config`]), sign-in ([`auth`]), the one HTTP client
//! requests leave through with its read-only and transport guards, retries and paging
//! ([`http`]), the collectors, the journal `collect --resume` continues from
//! ([`journal`]), and progress ([`progress`]). It must not decide verdicts
//! (the rules crate does), must not print (the CLI does), and must never write to a
//! tenant: [`http::HttpClient`] refuses anything that is not a read.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use palaudit_collect::{CollectOptions, collect, config::Config};
//! let config = Config::load(std::path::Path::new("contoso.toml"))?;
//! let report = collect(&config, &CollectOptions::new("snapshots/contoso")).await?;
//! let partial = !report.manifest.collection_errors.is_empty();
//! # let _ = partial; Ok(()) }
//! ```

pub mod auth;
pub mod certificate;
pub mod cloud;
mod collectors;
pub mod config;
#[doc(hidden)]
pub mod fuzz;
pub mod http;
pub mod journal;
pub mod progress;
pub mod secret;
pub mod verify;

use crate::auth::{Auth, AuthError};
use crate::config::Config;
use crate::http::{HttpClient, HttpError, HttpSettings, RetryPolicy};
use crate::progress::{CollectSummary, Progress};
use collectors::{Ctx, RawPages};
use palaudit_model::CollectionError;
use palaudit_snapshot::{Manifest, SnapshotError, SnapshotWriter};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::sync::mpsc;

/// How to run one collection.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The snapshot directory (replaced atomically once complete).
    pub out: PathBuf,
    /// Also save every raw API page under `<out>.raw/<collector>/<n>.json`.
    pub raw: bool,
    /// Draw progress bars (only if stderr is a terminal and `CI` is unset).
    pub progress: bool,
    /// Log every request at `info` through `tracing` (otherwise `debug`).
    pub verbose: bool,
    /// Tokens from here instead of the config's `[auth]` (tests, the demo).
    pub auth: Option<Auth>,
    /// Continue from the collection journal of an interrupted run (`<out>.journal`):
    /// requests it answered are not sent again ([`journal`]). Without a journal the
    /// run starts from the beginning, with a notice in [`CollectReport::notices`].
    pub resume: bool,
}

impl CollectOptions {
    pub fn new(out: impl Into<PathBuf>) -> CollectOptions {
        CollectOptions {
            out: out.into(),
            raw: false,
            progress: false,
            verbose: false,
            auth: None,
            resume: false,
        }
    }
}

/// A finished collection: the manifest written with the snapshot, and the summary.
#[derive(Debug, Clone)]
pub struct CollectReport {
    pub manifest: Manifest,
    pub summary: CollectSummary,
    /// Where `--raw` pages went.
    pub raw_dir: Option<PathBuf>,
    /// The collection journal, when it was kept: the snapshot is incomplete, and
    /// `--resume` asks again only what failed. `None` once a complete snapshot is in place.
    pub journal_kept: Option<PathBuf>,
    /// What the user should know about this run that is not a collection error (a
    /// `--resume` that found no journal).
    pub notices: Vec<String>,
}

/// Why no snapshot was written. Failures of single APIs or environments are not errors
/// here: they are listed in the manifest's `collection_errors`.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("{path}: {source}")]
    Raw {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    /// Not a single environment or workspace could be read; the snapshot was not written
    /// (an earlier one at the destination is kept).
    #[error("nothing could be collected ({} error(s)); the first: {}", errors.len(), errors.first().map(ToString::to_string).unwrap_or_default())]
    NothingCollected { errors: Vec<CollectionError> },
    #[error("internal error: {0}")]
    Internal(String),
}

/// The directory `--raw` pages go to: `<out>.raw` beside the snapshot (the snapshot
/// writer owns the snapshot directory itself).
pub fn raw_dir_for(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".into());
    out.with_file_name(format!("{name}.raw"))
}

/// Collects the tenant of `config` into a snapshot at `opts.out`.
///
/// Returns `Ok` when a snapshot was written, complete or not: the CLI decides the exit
/// code from `report.manifest.collection_errors`.
pub async fn collect(
    config: &Config,
    opts: &CollectOptions,
) -> Result<CollectReport, CollectError> {
    let started = Instant::now();
    let auth = match &opts.auth {
        Some(a) => a.clone(),
        None => Auth::from_config(config)?,
    };
    let http = HttpClient::new(HttpSettings {
        concurrency: config.collect.concurrency,
        retry: RetryPolicy {
            max_retries: config.collect.max_retries,
            base_delay: config.collect.retry_base_delay,
            ..RetryPolicy::default()
        },
        verbose: opts.verbose,
        timeout: config.collect.request_timeout,
        budget: config.collect.request_budget,
    })?;
    let (journal, notices) = open_journal(config, opts)?;
    let http = http.with_journal(journal.clone());
    let out = opts.out.clone();
    let flow_owners = config.collect.flow_owners;
    let writer = tokio::task::spawn_blocking(move || {
        let mut w = SnapshotWriter::create(&out)?;
        if flow_owners == config::FlowOwners::Creator {
            // A creator-only run reads no flow's owners: the snapshot says so.
            w.set_flow_owners("creator");
        }
        Ok::<_, SnapshotError>(w)
    })
    .await
    .map_err(|e| CollectError::Internal(e.to_string()))??;
    let raw = if opts.raw {
        Some(RawPages::create(&raw_dir_for(&opts.out))?)
    } else {
        None
    };
    let (row_tx, row_rx) = mpsc::channel(1024);
    let writer_task = collectors::spawn_writer(writer, row_rx);
    let (graph_tx, graph_rx) = mpsc::unbounded_channel();
    let progress = Progress::new(progress::should_draw(opts.progress));
    let mut ctx = Ctx::new(config.clone(), http, auth, row_tx, graph_tx, raw, progress);

    let sources = async {
        tokio::join!(
            collectors::power_platform(&ctx),
            collectors::powerbi::collect(&ctx)
        );
        ctx.close_graph();
    };
    tokio::join!(sources, collectors::graph::resolve(&ctx, graph_rx));

    let mut errors = ctx.take_errors();
    let requests = ctx.http.requests_sent();
    let requests_by_kind = ctx.http.requests_by_purpose();
    let hosts = ctx.http.host_usage();
    if opts.verbose {
        for h in &hosts {
            tracing::info!(target: "palaudit::http", "host {h}");
        }
    }
    ctx.progress.finish();
    let raw = ctx.take_raw();
    // Dropping the context closes the row channel: the writer drains and returns.
    drop(ctx);
    let (writer, summary, duplicates) = writer_task
        .await
        .map_err(|e| CollectError::Internal(e.to_string()))??;
    errors.extend(duplicates);
    errors.sort_by(|a, b| {
        (&a.collector, &a.scope, &a.endpoint, &a.message).cmp(&(
            &b.collector,
            &b.scope,
            &b.endpoint,
            &b.message,
        ))
    });

    if summary.environment_rows() == 0 && !errors.is_empty() {
        // Keep whatever snapshot was there; this run produced nothing to audit. Its
        // journal stays only if it holds an answer a resumed run could use.
        let journal = journal.clone();
        tokio::task::spawn_blocking(move || {
            if journal.loaded() + journal.recorded() == 0 {
                let _ = journal.remove();
            }
            drop(writer);
            if let Some(raw) = raw {
                raw.abandon();
            }
        })
        .await
        .map_err(|e| CollectError::Internal(e.to_string()))?;
        return Err(CollectError::NothingCollected { errors });
    }
    let error_count = errors.len();
    let tenant = config.tenant_id.clone();
    let manifest =
        tokio::task::spawn_blocking(move || writer.finish(&tenant, chrono::Utc::now(), errors))
            .await
            .map_err(|e| CollectError::Internal(e.to_string()))??;
    // The pages replace an earlier run's only now that their snapshot is in place.
    let raw_dir = match raw {
        Some(raw) => Some(
            tokio::task::spawn_blocking(move || raw.finish())
                .await
                .map_err(|e| CollectError::Internal(e.to_string()))??,
        ),
        None => None,
    };
    // A complete snapshot is in place: nothing is left to resume. An incomplete one
    // keeps its journal, so `--resume` asks again only what failed.
    let journal_kept = if error_count == 0 {
        let j = journal.clone();
        tokio::task::spawn_blocking(move || j.remove())
            .await
            .map_err(|e| CollectError::Internal(e.to_string()))??;
        None
    } else {
        Some(journal.dir().to_owned())
    };
    let mut summary = summary.finish();
    summary.tenant_id = config.tenant_id.clone();
    summary.errors = error_count;
    summary.requests = requests;
    summary.requests_by_kind = requests_by_kind;
    summary.hosts = hosts;
    summary.elapsed = started.elapsed();
    summary.from_journal = opts.resume.then(|| journal.replayed());
    Ok(CollectReport {
        manifest,
        summary,
        raw_dir,
        journal_kept,
        notices,
    })
}

/// The run's collection journal: the interrupted run's with `--resume` (refused when it
/// was written for another tenant or other settings), otherwise a new one replacing any
/// earlier journal. Its parent directories are created if missing.
fn open_journal(
    config: &Config,
    opts: &CollectOptions,
) -> Result<(std::sync::Arc<journal::Journal>, Vec<String>), CollectError> {
    use journal::{Journal, JournalHeader};
    let dir = journal::journal_dir_for(&opts.out);
    let header = JournalHeader::new(&config.tenant_id, &journal::fingerprint(config));
    let mut notices = Vec::new();
    let j = if opts.resume && Journal::exists(&dir) {
        let j = Journal::open(&dir, &header)?;
        tracing::info!(
            "resuming from the collection journal {} ({} answer(s))",
            dir.display(),
            j.loaded()
        );
        j
    } else {
        if opts.resume {
            notices.push(format!(
                "--resume: no collection journal at {}; collecting from the start",
                dir.display()
            ));
        } else if Journal::exists(&dir) {
            tracing::info!(
                "discarding the collection journal {} of an earlier run (pass --resume to continue it)",
                dir.display()
            );
        }
        Journal::create(&dir, &header)?
    };
    Ok((std::sync::Arc::new(j), notices))
}
