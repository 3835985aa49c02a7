//! The collectors: each reads one API family and streams rows to the snapshot writer as
//! pages arrive. Every failure becomes a [`CollectionError`] and collection carries on
//! with the other environments and APIs.

pub(crate) mod dataverse;
mod dedup;
pub(crate) mod environments;
pub(crate) mod flows;
pub(crate) mod graph;
pub(crate) mod json;
pub(crate) mod permissions;
pub(crate) mod powerapps;
pub(crate) mod powerbi;

use crate::auth::{Auth, TokenSource};
use crate::config::Config;
use crate::http::{Endpoint, HttpClient, HttpError};
use crate::progress::{Progress, SummaryBuilder};
use futures::StreamExt;
use palaudit_model::{
    CollectionError, Environment, Principal, Resource, RoleAssignment, SystemUser,
};
use palaudit_snapshot::{SnapshotError, SnapshotWriter};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use tokio::sync::mpsc;

pub(crate) use graph::PrincipalKey;

/// One snapshot row on its way to the writer.
pub(crate) enum RowMsg {
    Environment(Environment),
    Resource(Resource),
    RoleAssignment(RoleAssignment),
    Principal(Principal),
    SystemUser(SystemUser),
}

/// What the writer hands back: the writer, unfinished, the summary, and the rows that
/// arrived more than once (as collection errors).
pub(crate) type Written = (SnapshotWriter, SummaryBuilder, Vec<CollectionError>);

/// Writes rows as they come, on a blocking thread (Parquet and file I/O), counting them
/// for the summary; a row that arrived before is not written again ([`dedup`]). Returns
/// the writer, unfinished, so the caller decides whether the snapshot is worth keeping.
pub(crate) fn spawn_writer(
    mut writer: SnapshotWriter,
    mut rows: mpsc::Receiver<RowMsg>,
) -> tokio::task::JoinHandle<Result<Written, SnapshotError>> {
    tokio::task::spawn_blocking(move || {
        let mut summary = SummaryBuilder::default();
        let mut seen = dedup::Dedup::default();
        while let Some(row) = rows.blocking_recv() {
            let new = match &row {
                RowMsg::Environment(r) => seen.environment(r),
                RowMsg::Resource(r) => seen.resource(r),
                RowMsg::RoleAssignment(r) => seen.role_assignment(r),
                RowMsg::Principal(r) => seen.principal(r),
                RowMsg::SystemUser(r) => seen.systemuser(r),
            };
            if !new {
                continue;
            }
            match row {
                RowMsg::Environment(r) => {
                    summary.environment(&r);
                    writer.environment(&r)?;
                }
                RowMsg::Resource(r) => {
                    summary.resource(&r);
                    writer.resource(&r)?;
                }
                RowMsg::RoleAssignment(r) => {
                    summary.role_assignment();
                    writer.role_assignment(&r)?;
                }
                RowMsg::Principal(r) => {
                    summary.principal();
                    writer.principal(&r)?;
                }
                RowMsg::SystemUser(r) => {
                    summary.systemuser();
                    writer.systemuser(&r)?;
                }
            }
        }
        Ok((writer, summary, seen.into_errors()))
    })
}

/// `--raw`: every page as received, under `<dir>/<collector>/<n>.json`, with
/// `index.tsv` naming the request each page answered. Pages go to `<dir>.partial` first
/// and replace an earlier `<dir>` only when the snapshot they belong to was written.
pub(crate) struct RawPages {
    /// Where the pages end up.
    dir: PathBuf,
    /// Where they are written meanwhile.
    partial: PathBuf,
    counters: Mutex<HashMap<&'static str, u64>>,
    index: Mutex<Option<std::fs::File>>,
}

/// Marks a raw-pages directory as palaudit's, so a rerun may replace it.
const RAW_MARKER: &str = ".palaudit-raw";

fn raw_io(path: &Path) -> impl Fn(std::io::Error) -> crate::CollectError + '_ {
    move |source| crate::CollectError::Raw {
        path: path.to_owned(),
        source,
    }
}

/// Removes `dir` if it is palaudit's (or empty); refuses anything else.
fn clear_raw_dir(dir: &Path) -> Result<(), crate::CollectError> {
    if !dir.exists() {
        return Ok(());
    }
    let empty = std::fs::read_dir(dir)
        .map_err(raw_io(dir))?
        .next()
        .is_none();
    if empty || dir.join(RAW_MARKER).exists() {
        std::fs::remove_dir_all(dir).map_err(raw_io(dir))
    } else {
        Err(crate::CollectError::Raw {
            path: dir.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists and is not a palaudit raw-pages directory; refusing to replace it",
            ),
        })
    }
}

impl RawPages {
    /// Prepares `<dir>.partial`. Refuses up front a `dir` that is not palaudit's, so a
    /// run never ends unable to put its pages in place.
    pub(crate) fn create(dir: &Path) -> Result<RawPages, crate::CollectError> {
        if dir.exists()
            && !dir.join(RAW_MARKER).exists()
            && std::fs::read_dir(dir)
                .map_err(raw_io(dir))?
                .next()
                .is_some()
        {
            clear_raw_dir(dir)?;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "raw".into());
        let partial = dir.with_file_name(format!("{name}.partial"));
        clear_raw_dir(&partial)?;
        std::fs::create_dir_all(&partial).map_err(raw_io(&partial))?;
        std::fs::write(
            partial.join(RAW_MARKER),
            "raw API pages written by `palaudit collect --raw`\n",
        )
        .map_err(raw_io(&partial))?;
        let index = std::fs::File::create(partial.join("index.tsv")).map_err(raw_io(&partial))?;
        Ok(RawPages {
            dir: dir.to_owned(),
            partial,
            counters: Mutex::new(HashMap::new()),
            index: Mutex::new(Some(index)),
        })
    }

    /// Where the pages will be once the collection succeeds.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the pages into place, replacing an earlier run's; the earlier pages are put
    /// back if the new ones cannot take their place.
    pub(crate) fn finish(self) -> Result<PathBuf, crate::CollectError> {
        drop(self.index.lock().unwrap_or_else(|e| e.into_inner()).take());
        let aside = self.partial.with_extension("old");
        clear_raw_dir(&aside)?;
        let had_earlier = self.dir.exists();
        if had_earlier {
            std::fs::rename(&self.dir, &aside).map_err(raw_io(&self.dir))?;
        }
        if let Err(e) = std::fs::rename(&self.partial, &self.dir) {
            if had_earlier {
                let _ = std::fs::rename(&aside, &self.dir);
            }
            return Err(raw_io(&self.dir)(e));
        }
        if had_earlier {
            let _ = std::fs::remove_dir_all(&aside);
        }
        Ok(self.dir.clone())
    }

    /// The collection produced no snapshot: its pages go, an earlier run's stay.
    pub(crate) fn abandon(self) {
        drop(self);
    }

    async fn save(
        &self,
        collector: &'static str,
        endpoint: &crate::http::Endpoint,
        body: &[u8],
    ) -> Result<(), std::io::Error> {
        let dir = self.partial.join(collector);
        let n = {
            let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
            let n = c.entry(collector).or_insert(0);
            if *n == 0 {
                // Once per collector, under the lock, so no page is written before it.
                std::fs::create_dir_all(&dir)?;
            }
            *n += 1;
            *n
        };
        // A page that quotes a token (a cursor, an echo) is kept without it.
        let body = crate::secret::redact_bytes(body);
        tokio::fs::write(dir.join(format!("{n}.json")), body.as_ref()).await?;
        // The endpoint is already redacted: no secret query value reaches the index.
        let line = format!("{collector}/{n}.json\t{endpoint}\n");
        if let Some(f) = self
            .index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            use std::io::Write;
            f.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

impl Drop for RawPages {
    /// Pages never put in place (no snapshot, or a failed write) are removed.
    fn drop(&mut self) {
        if self.partial.exists() {
            let _ = std::fs::remove_dir_all(&self.partial);
        }
    }
}

/// Power BI's published request quotas, enforced client-side so a run never bursts past
/// them (Power BI REST API reference, admin operations):
/// - `admin/groups`: 50 requests/hour or 15/minute per tenant. At `$top=5000` that is at
///   most 75,000 workspaces a minute and 250,000 an hour, so all but the largest tenants
///   list in one burst; beyond 15 pages the collector waits rather than draw 429s.
/// - scanner: `workspaces/modified` 30/hour; `getInfo` 500/hour with at most 16
///   simultaneous, 100 workspaces each, so 50,000 workspaces an hour; `scanStatus`
///   10,000/hour, polled with backoff; `scanResult` 500/hour, one per `getInfo`.
pub(crate) struct PowerBiLimits {
    pub groups: crate::http::RateLimit,
    pub modified: crate::http::RateLimit,
    pub get_info: crate::http::RateLimit,
    pub get_info_slots: tokio::sync::Semaphore,
    pub scan_status: crate::http::RateLimit,
    pub scan_result: crate::http::RateLimit,
}

impl PowerBiLimits {
    fn new() -> PowerBiLimits {
        use crate::http::RateLimit;
        use std::time::Duration;
        const MINUTE: Duration = Duration::from_secs(60);
        const HOUR: Duration = Duration::from_secs(3600);
        PowerBiLimits {
            groups: RateLimit::new(
                "Power BI admin/groups (15/minute, 50/hour)",
                &[(15, MINUTE), (50, HOUR)],
            ),
            modified: RateLimit::new("Power BI workspaces/modified (30/hour)", &[(30, HOUR)]),
            get_info: RateLimit::new("Power BI workspaces/getInfo (500/hour)", &[(500, HOUR)]),
            get_info_slots: tokio::sync::Semaphore::new(16),
            scan_status: RateLimit::new(
                "Power BI workspaces/scanStatus (10,000/hour)",
                &[(10_000, HOUR)],
            ),
            scan_result: RateLimit::new(
                "Power BI workspaces/scanResult (500/hour)",
                &[(500, HOUR)],
            ),
        }
    }
}

/// What every collector shares: config, HTTP, tokens, and the ways out (rows, errors,
/// principals to resolve, raw pages, progress).
pub(crate) struct Ctx {
    pub config: Config,
    pub http: HttpClient,
    auth: Auth,
    rows: mpsc::Sender<RowMsg>,
    errors: Mutex<Vec<CollectionError>>,
    graph: Mutex<Option<mpsc::UnboundedSender<PrincipalKey>>>,
    raw: Option<RawPages>,
    pub progress: Progress,
    pub powerbi_limits: PowerBiLimits,
}

impl Ctx {
    pub(crate) fn new(
        config: Config,
        http: HttpClient,
        auth: Auth,
        rows: mpsc::Sender<RowMsg>,
        graph: mpsc::UnboundedSender<PrincipalKey>,
        raw: Option<RawPages>,
        progress: Progress,
    ) -> Ctx {
        Ctx {
            config,
            http,
            auth,
            rows,
            errors: Mutex::new(Vec::new()),
            graph: Mutex::new(Some(graph)),
            raw,
            progress,
            powerbi_limits: PowerBiLimits::new(),
        }
    }

    pub(crate) fn token(&self, scope: &str) -> Arc<dyn TokenSource> {
        self.auth.source(scope)
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.config.collect.concurrency.max(1)
    }

    /// Sends a row to the writer. If the writer has stopped (a disk error), the
    /// collection cannot succeed: no further request is sent, and the writer's own error
    /// ends the collection.
    pub(crate) async fn emit(&self, row: RowMsg) {
        if self.rows.send(row).await.is_err() {
            self.http.stop();
        }
    }

    pub(crate) fn error(&self, e: CollectionError) {
        // The manifest and the log are text that leaves palaudit: no known secret in it.
        let clean = |s: &str| crate::secret::redact(s).into_owned();
        let e = CollectionError {
            collector: clean(&e.collector),
            scope: e.scope.as_deref().map(clean),
            endpoint: e.endpoint.as_deref().map(clean),
            status: e.status,
            message: clean(&e.message),
        };
        tracing::warn!("{e}");
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(e);
    }

    pub(crate) fn http_error(&self, e: &HttpError, collector: &str, scope: Option<&str>) {
        self.error(e.to_collection_error(collector, scope));
    }

    /// A problem that has no endpoint (a URL that cannot be built, an environment that
    /// does not exist): recorded for `collector` and the environment or workspace `scope`.
    pub(crate) fn scope_error(&self, collector: &str, scope: Option<&str>, message: String) {
        self.error(CollectionError {
            collector: collector.to_owned(),
            scope: scope.map(str::to_owned),
            endpoint: None,
            status: None,
            message,
        });
    }

    /// A problem with one item of a page: recorded, with the page's endpoint.
    pub(crate) fn item_error(
        &self,
        collector: &str,
        scope: Option<&str>,
        endpoint: &Endpoint,
        message: String,
    ) {
        self.error(CollectionError {
            collector: collector.to_owned(),
            scope: scope.map(str::to_owned),
            endpoint: Some(endpoint.to_string()),
            status: None,
            message,
        });
    }

    pub(crate) fn take_errors(&self) -> Vec<CollectionError> {
        std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Queues a principal for Graph resolution (deduplicated by the resolver).
    pub(crate) fn resolve(&self, key: PrincipalKey) {
        if let Some(tx) = &*self.graph.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = tx.send(key);
        }
    }

    /// No more principals will come: lets the resolver finish.
    pub(crate) fn close_graph(&self) {
        self.graph.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Takes the raw pages out of the context, to finish or abandon them.
    pub(crate) fn take_raw(&mut self) -> Option<RawPages> {
        self.raw.take()
    }

    pub(crate) async fn save_raw(
        &self,
        collector: &'static str,
        endpoint: &crate::http::Endpoint,
        body: &[u8],
    ) {
        if let Some(raw) = &self.raw
            && let Err(e) = raw.save(collector, endpoint, body).await
        {
            self.error(CollectionError {
                collector: "raw".into(),
                scope: Some(collector.into()),
                endpoint: None,
                status: None,
                message: format!(
                    "could not save a raw page under {}: {e}",
                    raw.dir().display()
                ),
            });
        }
    }
}

/// Power Platform: the environments, then each one's apps, flows and Dataverse tables,
/// every environment at once: the per-host windows decide how many requests go out, so
/// no environment waits for another to finish.
pub(crate) async fn power_platform(ctx: &Ctx) {
    let envs = environments::collect(ctx).await;
    envs.iter()
        .map(|env| async move {
            tokio::join!(
                powerapps::collect(ctx, env),
                flows::collect(ctx, env),
                dataverse::collect(ctx, env),
            );
        })
        .collect::<futures::stream::FuturesUnordered<_>>()
        .collect::<Vec<()>>()
        .await;
}
