//! Shared set-up for the collection tests: a replay server per recorded tenant, a config
//! pointing at it, and the snapshot read back.

#![allow(dead_code)]

use palaudit_collect::auth::Auth;
use palaudit_collect::config::{Config, PowerBiMode};
use palaudit_collect::{CollectOptions, CollectReport, collect};
use palaudit_model::Inventory;
use palaudit_replay::{RecordedRequest, ReplayServer, Tenant};
use palaudit_snapshot::Snapshot;
use std::path::{Path, PathBuf};

pub const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

pub fn tenant_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tenants")
        .join(name)
}

/// A replay server for a tenant written inline: the text of its `routes.json` (pages as
/// `inline` bodies).
pub async fn serve_routes(routes: &str) -> ReplayServer {
    let tenant = Tenant::from_files(vec![("routes.json".to_owned(), routes.as_bytes().to_vec())])
        .unwrap_or_else(|e| panic!("{e}"));
    ReplayServer::start(tenant).await.unwrap()
}

/// Fails with every collection error listed unless the collection was complete.
pub fn assert_complete(report: &CollectReport) {
    assert!(
        report.manifest.collection_errors.is_empty(),
        "{}",
        errors_text(report)
    );
}

pub async fn serve(name: &str) -> ReplayServer {
    let tenant = Tenant::from_dir(&tenant_dir(name)).unwrap_or_else(|e| panic!("{e}"));
    ReplayServer::start(tenant).await.unwrap()
}

/// A config reading everything from `server`, Power BI through the groups API.
pub fn config(server: &ReplayServer) -> Config {
    let mut c = Config::for_replay(TENANT, &server.base_url());
    c.collect.powerbi = PowerBiMode::Groups;
    c.collect.powerbi_page_size = 2;
    c
}

pub fn options(out: &Path) -> CollectOptions {
    let mut o = CollectOptions::new(out);
    o.auth = Some(Auth::static_token("replay-token"));
    o
}

pub async fn run(config: &Config, out: &Path) -> CollectReport {
    collect(config, &options(out))
        .await
        .unwrap_or_else(|e| panic!("collect failed: {e}"))
}

pub fn read(out: &Path) -> Inventory {
    Snapshot::open(out)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_inventory()
        .unwrap()
}

/// Requests with this path (case-insensitive, no query).
pub fn hits<'a>(log: &'a [RecordedRequest], path: &str) -> Vec<&'a RecordedRequest> {
    log.iter()
        .filter(|r| r.path().eq_ignore_ascii_case(path))
        .collect()
}

pub fn errors_text(report: &CollectReport) -> String {
    report
        .manifest
        .collection_errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
