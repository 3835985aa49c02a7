//! End to end: collect the bundled sample tenant (`fixtures/tenants/contoso/`) through
//! the replay server and check the snapshot holds exactly the resources of
//! `expected.csv`. (The verdicts themselves are the rules crate's; the CLI tests compare
//! them.)

mod common;

use common::*;
use palaudit_collect::config::PowerBiMode;
use std::collections::{BTreeMap, BTreeSet};

/// (resource_type, resource_id, environment_id) of every row of `expected.csv`.
fn expected() -> BTreeSet<(String, String, String)> {
    let mut rdr = csv::Reader::from_path(tenant_dir("contoso").join("expected.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (t, i, e) = (
        col("resource_type"),
        col("resource_id"),
        col("environment_id"),
    );
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[t].to_owned(),
                r[i].to_ascii_lowercase(),
                r[e].to_ascii_lowercase(),
            )
        })
        .collect()
}

fn collected(out: &std::path::Path) -> BTreeSet<(String, String, String)> {
    read(out)
        .resources
        .iter()
        .map(|r| {
            (
                r.resource_type.to_string(),
                r.resource_id.clone(),
                r.environment_id.clone(),
            )
        })
        .collect()
}

fn per_type(set: &BTreeSet<(String, String, String)>) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut m: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (t, i, _) in set {
        m.entry(t.as_str()).or_default().insert(i.as_str());
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contoso_snapshot_holds_the_expected_resources() {
    let server = serve("contoso").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("contoso");
    let report = run(&config(&server), &out).await;
    assert_complete(&report);

    let expected = expected();
    let got = collected(&out);
    assert_eq!(per_type(&got), per_type(&expected), "resource ids per type");
    assert_eq!(got, expected, "and each in its environment");
    assert_eq!(report.summary.total_resources(), expected.len() as u64);
    assert_eq!(
        report.manifest.counts.values().sum::<u64>(),
        expected.len() as u64
    );
    assert_eq!(
        report.summary.environments.len(),
        10,
        "5 environments, 5 workspaces"
    );

    let inv = read(&out);
    // Identifiers are stored lower-cased.
    for r in &inv.resources {
        assert_eq!(r.resource_id, r.resource_id.to_ascii_lowercase());
        assert_eq!(r.environment_id, r.environment_id.to_ascii_lowercase());
    }
    for a in &inv.role_assignments {
        assert_eq!(a.principal_id, a.principal_id.to_ascii_lowercase());
    }
    // The partner co-owner / viewer on the second permissions pages are there.
    assert!(inv.role_assignments.len() > expected.len());
    // Every environment with Dataverse gave its users.
    let envs_with_users: BTreeSet<&str> = inv
        .systemusers
        .iter()
        .map(|s| s.environment_id.as_str())
        .collect();
    assert_eq!(envs_with_users.len(), 3);

    let log = server.requests();
    assert!(log.iter().all(|r| r.authorization));
    // Graph: one lookup per distinct principal and path.
    let mut seen = BTreeSet::new();
    for r in log.iter().filter(|r| r.in_batch) {
        assert!(
            seen.insert(r.path().to_ascii_lowercase()),
            "looked up twice: {}",
            r.target
        );
    }
    // Nothing unexpected was sent: every lookup, down to the `mail` queries for the
    // addresses Graph's UPN lookup cannot find, is routed.
    let unrouted: Vec<&str> = log
        .iter()
        .filter(|r| r.unmatched())
        .map(|r| r.target.as_str())
        .collect();
    assert!(unrouted.is_empty(), "{unrouted:?}");
    // Canvas app permissions are asked the way the admin PowerShell module asks them.
    let app_permissions: Vec<&str> = log
        .iter()
        .filter(|r| {
            r.target.contains("/apps/")
                && r.path().ends_with("/permissions")
                && !r.target.contains("$skiptoken")
        })
        .map(|r| r.target.as_str())
        .collect();
    assert!(!app_permissions.is_empty());
    assert!(
        app_permissions
            .iter()
            .all(|t| t.contains("api-version=2016-11-01")
                && t.contains("$filter=environment%20eq%20%27")),
        "{app_permissions:?}"
    );
    // No request for the environments without Dataverse went to Dataverse, and Power BI
    // was read through the groups API only.
    assert!(log.iter().all(|r| !r.target.contains("/workspaces/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contoso_scanner_finds_the_same_datasets() {
    let server = serve("contoso").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("contoso");
    let mut cfg = config(&server);
    cfg.collect.powerbi = PowerBiMode::Scanner;
    let report = run(&cfg, &out).await;
    assert_complete(&report);
    let datasets = |s: &BTreeSet<(String, String, String)>| -> BTreeSet<(String, String, String)> {
        s.iter()
            .filter(|(t, _, _)| t == "powerbi_dataset")
            .cloned()
            .collect()
    };
    assert_eq!(datasets(&collected(&out)), datasets(&expected()));
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.target.contains("/admin/groups"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_pages_are_kept_beside_the_snapshot() {
    let server = serve("contoso").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("contoso");
    let mut opts = options(&out);
    opts.raw = true;
    let report = palaudit_collect::collect(&config(&server), &opts)
        .await
        .unwrap();
    let raw = report.raw_dir.clone().unwrap();
    assert_eq!(raw, dir.path().join("contoso.raw"));
    for collector in [
        "environments",
        "canvas_apps",
        "canvas_app_permissions",
        "flows",
        "flow_permissions",
        "systemusers",
        "appmodules",
        "bots",
        "powerbi",
        "graph",
    ] {
        let first = raw.join(collector).join("1.json");
        assert!(first.is_file(), "{}", first.display());
    }
    // The index names the request behind every page, secrets never among them.
    let index = std::fs::read_to_string(raw.join("index.tsv")).unwrap();
    assert!(
        index
            .lines()
            .any(|l| l.starts_with("environments/2.json\tGET ")
                && l.contains(
                    "/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?"
                )),
        "{index}"
    );
    let pages = walk_json(&raw);
    assert_eq!(index.lines().count(), pages, "one index line per page");
    assert!(!dir.path().join("contoso.raw.partial").exists());
    // Two environment pages, byte for byte as served.
    let page2 = std::fs::read_to_string(raw.join("environments/2.json")).unwrap();
    let served = std::fs::read_to_string(tenant_dir("contoso").join("bap/environments-page2.json"))
        .unwrap()
        .replace("{{base}}", &server.base_url());
    assert_eq!(page2, served);
    assert!(!raw.join("environments/3.json").exists());
    // The snapshot directory itself holds only the snapshot.
    let names: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains("manifest.json") && names.len() == 6,
        "{names:?}"
    );
    // A second run replaces the raw pages it wrote before.
    palaudit_collect::collect(&config(&server), &opts)
        .await
        .unwrap();
    assert!(raw.join("environments/1.json").is_file());
    assert!(!raw.join("environments/3.json").exists());
}

/// The number of `.json` pages below `dir`.
fn walk_json(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                walk_json(&p)
            } else {
                usize::from(p.extension().is_some_and(|e| e == "json"))
            }
        })
        .sum()
}

/// Requests the replay server saw for flows' `/permissions`.
fn flow_permission_requests(server: &palaudit_replay::ReplayServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path().contains("/flows/") && r.path().ends_with("/permissions"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_owners_creator_reads_no_flow_permissions_and_keeps_every_creator() {
    use palaudit_collect::config::FlowOwners;
    use palaudit_model::{ResourceType, Role};
    let flows = expected().iter().filter(|(t, _, _)| t == "flow").count() as u64;
    let apps = expected()
        .iter()
        .filter(|(t, _, _)| t == "canvas_app")
        .count() as u64;

    // By default every flow's owners are read: one request per flow, counted per kind.
    let server = serve("contoso").await;
    let dir = tempfile::tempdir().unwrap();
    let all = run(&config(&server), &dir.path().join("all")).await;
    assert_complete(&all);
    // (A flow whose permissions come in two pages costs two.)
    let flow_requests = flow_permission_requests(&server) as u64;
    assert!(flow_requests >= flows, "{flow_requests}");
    let kinds = &all.summary.requests_by_kind;
    assert_eq!(
        kinds.get("flow_permissions"),
        Some(&flow_requests),
        "{kinds:?}"
    );
    assert!(
        kinds
            .get("canvas_app_permissions")
            .is_some_and(|n| *n >= apps),
        "{kinds:?}"
    );
    assert_eq!(kinds.values().sum::<u64>(), all.summary.requests);

    // `creator`: none, and the same resources with the same creators.
    let server = serve("contoso").await;
    let mut creator_only = config(&server);
    creator_only.collect.flow_owners = FlowOwners::Creator;
    let out = dir.path().join("creator");
    let report = run(&creator_only, &out).await;
    assert_complete(&report);
    assert_eq!(flow_permission_requests(&server), 0);
    assert_eq!(
        report.summary.requests_by_kind.get("flow_permissions"),
        None
    );
    assert_eq!(report.summary.resources, all.summary.resources);
    let flow_roles =
        |inv: &palaudit_model::Inventory, creator: bool| -> BTreeSet<(String, String)> {
            inv.role_assignments
                .iter()
                .filter(|a| {
                    a.resource_type == ResourceType::Flow && (a.role == Role::Creator) == creator
                })
                .map(|a| (a.resource_id.clone(), a.principal_id.clone()))
                .collect()
        };
    let (with_owners, without) = (read(&dir.path().join("all")), read(&out));
    assert_eq!(flow_roles(&without, true), flow_roles(&with_owners, true));
    assert_eq!(flow_roles(&without, true).len() as u64, flows);
    assert!(flow_roles(&without, false).is_empty());
    assert!(!flow_roles(&with_owners, false).is_empty());
}
