//! Collection against small recorded tenants that misbehave (`fixtures/tenants/faults/`):
//! throttling, server errors, malformed pages, rejected tokens, and the identity shapes
//! that are easy to get wrong. Everything runs against a loopback replay server.

mod common;

use common::*;
use palaudit_collect::CollectError;
use palaudit_collect::config::PowerBiMode;
use palaudit_model::{PrincipalIdKind, PrincipalType, ResourceType, Role};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried_to_a_complete_snapshot() {
    let server = serve("faults/throttled").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let started = Instant::now();
    let report = run(&config(&server), &out).await;
    let elapsed = started.elapsed();

    assert_complete(&report);
    // Each Retry-After is 1 s; the waits overlap, and nothing waits much longer.
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");

    let inv = read(&out);
    let count = |t| {
        inv.resources
            .iter()
            .filter(|r| r.resource_type == t)
            .count()
    };
    assert_eq!(count(ResourceType::CanvasApp), 2, "both app pages");
    assert_eq!(count(ResourceType::Flow), 1);
    assert_eq!(count(ResourceType::PowerbiDataset), 1);
    assert_eq!(inv.environments.len(), 3, "one environment, two workspaces");
    let ds = inv
        .resources
        .iter()
        .find(|r| r.resource_type == ResourceType::PowerbiDataset)
        .unwrap();
    assert_eq!(ds.resource_id, "d0000000-0000-4000-8000-0000000000d1");
    assert_eq!(ds.environment_id, "b0000000-0000-4000-8000-0000000000b1");
    assert_eq!(
        ds.created_time.map(|t| t.to_rfc3339()),
        Some("2025-05-01T17:00:00.123+00:00".into())
    );
    // Every role holder was resolved once, after its 429/503.
    assert_eq!(inv.principals.len(), 3);
    assert!(
        inv.principals
            .iter()
            .all(|p| !p.deleted && p.enabled == Some(true))
    );

    let log = server.requests();
    let statuses = |path: &str| -> Vec<u16> { hits(&log, path).iter().map(|r| r.status).collect() };
    assert_eq!(
        statuses("/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"),
        [429, 200]
    );
    assert_eq!(
        statuses(
            "/powerapps/providers/Microsoft.PowerApps/scopes/admin/environments/a1a1a1a1-0000-4000-8000-000000000001/apps"
        ),
        [503, 200, 200],
        "503, then page 1 and page 2"
    );
    assert_eq!(
        statuses("/graph/v1.0/users/11111111-aaaa-4000-8000-000000000001"),
        [429, 200]
    );
    assert_eq!(
        statuses("/graph/v1.0/users/11111111-aaaa-4000-8000-000000000002"),
        [503, 200]
    );
    // The groups listing ends on the empty page after a full one.
    let groups: Vec<String> = hits(&log, "/powerbi/v1.0/myorg/admin/groups")
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(groups.len(), 3, "{groups:?}");
    assert!(groups[2].contains("$skip=2"), "{groups:?}");
    assert!(
        log.iter().all(|r| r.authorization),
        "every request carries the token"
    );
    assert!(
        log.iter().all(|r| !r.unmatched()),
        "nothing unexpected was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_pages_are_errors_naming_the_endpoint_and_the_rest_is_collected() {
    let server = serve("faults/malformed").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let report = run(&config(&server), &out).await;
    let errors = &report.manifest.collection_errors;
    let text = errors_text(&report);

    let broken = "c1c1c1c1-0000-4000-8000-00000000000a";
    let apps = errors
        .iter()
        .find(|e| e.collector == "canvas_apps")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(apps.scope.as_deref(), Some(broken));
    let endpoint = apps.endpoint.as_deref().unwrap();
    assert!(
        endpoint.starts_with("GET http://127.0.0.1:")
            && endpoint.contains(&format!(
                "/environments/{broken}/apps?api-version=2016-11-01"
            )),
        "{endpoint}"
    );
    assert!(
        apps.message.contains("malformed page") && apps.message.contains("not JSON"),
        "{text}"
    );
    let flows = errors
        .iter()
        .find(|e| e.collector == "flows" && e.scope.as_deref() == Some(broken))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(flows.message.contains("`value` array"), "{text}");

    // An unknown roleName is recorded, not skipped silently.
    assert!(
        errors
            .iter()
            .any(|e| e.collector == "canvas_app_permissions"
                && e.message.contains("unknown permission roleName `CanShare`")),
        "{text}"
    );
    // A nextLink to another host (plain http at that) is not followed.
    assert!(
        errors.iter().any(|e| e.collector == "flows"
            && e.message.contains("another host")
            && e.message.contains("evil.example.com")),
        "{text}"
    );
    // Power BI rejected the token: a 401 with a clear message.
    let pbi = errors
        .iter()
        .find(|e| e.collector == "powerbi")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(pbi.status, Some(401));
    assert!(pbi.message.contains("rejected the token"), "{text}");
    assert!(
        pbi.message.contains("PowerBINotAuthorizedException"),
        "{text}"
    );
    assert_eq!(errors.len(), 5, "{text}");

    // The healthy environment is all there.
    let inv = read(&out);
    let healthy = "c1c1c1c1-0000-4000-8000-00000000000b";
    let ids: Vec<&str> = inv
        .resources
        .iter()
        .map(|r| r.environment_id.as_str())
        .collect();
    assert_eq!(ids.iter().filter(|e| **e == healthy).count(), 3, "{ids:?}");
    assert!(!ids.contains(&broken));
    let odd = inv
        .role_assignments
        .iter()
        .filter(|r| r.resource_id == "b1000000-0000-4000-8000-0000000000b2")
        .count();
    assert_eq!(
        odd, 1,
        "the owner is kept; the unknown role is not invented"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.target.contains("evil.example.com"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_everywhere_fails_without_replacing_the_last_snapshot() {
    let server = serve("faults/unauthorized").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let earlier = palaudit_model::Inventory {
        tenant_id: TENANT.into(),
        ..Default::default()
    };
    palaudit_snapshot::write_inventory(&earlier, &out, chrono::Utc::now()).unwrap();
    let before = std::fs::read(out.join("manifest.json")).unwrap();

    let err = palaudit_collect::collect(&config(&server), &options(&out))
        .await
        .unwrap_err();
    let CollectError::NothingCollected { errors } = &err else {
        panic!("{err}")
    };
    assert_eq!(errors.len(), 2, "{err}");
    assert!(errors.iter().all(|e| e.status == Some(401)));
    let msg = err.to_string();
    assert!(
        msg.contains("HTTP 401") || msg.contains("-> HTTP 401"),
        "{msg}"
    );
    assert!(msg.contains("rejected the token"), "{msg}");
    assert!(msg.contains("The access token is invalid."), "{msg}");
    assert!(
        !msg.contains("replay-token"),
        "the token never shows: {msg}"
    );
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no leftovers"
    );

    // With --raw, an earlier run's pages stay too, and this run's are not left behind.
    let raw = palaudit_collect::raw_dir_for(&out);
    std::fs::create_dir_all(raw.join("environments")).unwrap();
    std::fs::write(raw.join(".palaudit-raw"), "").unwrap();
    std::fs::write(raw.join("environments/1.json"), "{\"value\":[]}").unwrap();
    let mut opts = options(&out);
    opts.raw = true;
    palaudit_collect::collect(&config(&server), &opts)
        .await
        .unwrap_err();
    assert!(raw.join("environments/1.json").is_file());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["snap", "snap.raw"]);
}

/// The canvas app of `faults/identities` owned by the deleted user.
const DELETED_OWNERS_APP: &str = "ab000000-0000-4000-8000-0000000000ab";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_deleted_owner_app_user_guest_publisher_and_no_dataverse() {
    let server = serve("faults/identities").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi_page_size = 5;
    let report = run(&cfg, &out).await;
    assert_complete(&report);
    let inv = read(&out);
    let log = server.requests();

    // No Dataverse request for the environment without Dataverse; three for the other.
    let dataverse: Vec<&str> = log
        .iter()
        .filter(|r| r.target.starts_with("/dataverse/"))
        .map(|r| r.path())
        .collect();
    assert_eq!(
        dataverse.len(),
        3,
        "systemusers, appmodules, bots of orgp only: {dataverse:?}"
    );
    assert!(dataverse.iter().all(|p| p.starts_with("/dataverse/orgp/")));
    // An empty app list asks for no permissions.
    let trial = "d1d1d1d1-0000-4000-8000-00000000000e";
    assert!(
        !log.iter()
            .any(|r| r.target.contains(&format!("/environments/{trial}/apps/"))),
        "{log:?}"
    );
    assert!(log.iter().all(|r| !r.unmatched()), "{log:?}");

    // Ids are lower-cased, names kept.
    let prod = "d1d1d1d1-0000-4000-8000-00000000000f";
    let env = inv
        .environments
        .iter()
        .find(|e| e.environment_id == prod)
        .unwrap();
    assert_eq!(env.display_name, "Prod With Dataverse");
    assert!(
        env.dataverse_url
            .as_deref()
            .is_some_and(|u| u.ends_with("/dataverse/orgp"))
    );
    let trial_env = inv
        .environments
        .iter()
        .find(|e| e.environment_id == trial)
        .unwrap();
    assert_eq!(trial_env.dataverse_url, None);

    // The deleted owner: one lookup as a user, one as a service principal, then deleted.
    let deleted = "0de1e7ed-0000-4000-8000-000000000001";
    let p = inv
        .principals
        .iter()
        .find(|p| p.object_id == deleted)
        .unwrap();
    assert!(p.deleted);
    assert_eq!(hits(&log, &format!("/graph/v1.0/users/{deleted}")).len(), 1);
    assert_eq!(
        hits(&log, &format!("/graph/v1.0/servicePrincipals/{deleted}")).len(),
        1
    );
    let owner = inv
        .role_assignments
        .iter()
        .find(|r| r.resource_id == DELETED_OWNERS_APP && r.role == Role::Owner)
        .unwrap();
    assert_eq!(owner.principal_id, deleted);
    let roles: HashMap<Role, (PrincipalType, PrincipalIdKind, String)> = inv
        .role_assignments
        .iter()
        .filter(|r| r.resource_id == DELETED_OWNERS_APP)
        .map(|r| {
            (
                r.role,
                (
                    r.principal_type,
                    r.principal_id_kind,
                    r.principal_id.clone(),
                ),
            )
        })
        .collect();
    assert_eq!(roles[&Role::CoOwner].0, PrincipalType::Group);
    assert_eq!(
        roles[&Role::Viewer],
        (PrincipalType::Tenant, PrincipalIdKind::None, String::new())
    );
    assert!(
        !log.iter()
            .any(|r| r.target.contains("96000000-0000-4000-8000-000000000001")),
        "groups are never looked up"
    );

    // The application user: creator of the model-driven app, resolved by app id.
    let mda = inv
        .role_assignments
        .iter()
        .find(|r| r.resource_type == ResourceType::ModelDrivenApp)
        .unwrap();
    assert_eq!(mda.role, Role::Creator);
    assert_eq!(mda.principal_id, "e5000000-0000-4000-8000-000000000001");
    assert_eq!(mda.principal_id_kind, PrincipalIdKind::DataverseSystemUser);
    assert_eq!(mda.principal_type, PrincipalType::ServicePrincipal);
    assert_eq!(mda.display_name.as_deref(), Some("# Deployment App"));
    let sp = inv
        .principals
        .iter()
        .find(|p| p.principal_type == PrincipalType::ServicePrincipal)
        .unwrap();
    assert_eq!(sp.object_id, "5b000000-0000-4000-8000-000000000001");
    assert_eq!(
        sp.app_id.as_deref(),
        Some("a9900000-0000-4000-8000-000000000001")
    );
    let su = inv
        .systemusers
        .iter()
        .find(|s| s.systemuser_id == "e5000000-0000-4000-8000-000000000001")
        .unwrap();
    assert_eq!(su.access_mode, Some(4));
    assert_eq!(inv.systemusers.len(), 3);
    assert_eq!(
        inv.systemusers
            .iter()
            .find(|s| s.full_name.as_deref() == Some("SYSTEM"))
            .unwrap()
            .azure_ad_object_id,
        None
    );

    // The bot: created by a guest's Dataverse user, owned by a team, published by the app.
    let bot = inv
        .resources
        .iter()
        .find(|r| r.resource_type == ResourceType::Bot)
        .unwrap();
    assert_eq!(
        bot.published_by.as_deref(),
        Some("e5000000-0000-4000-8000-000000000001")
    );
    let bot_owner = inv
        .role_assignments
        .iter()
        .find(|r| r.resource_type == ResourceType::Bot && r.role == Role::Owner)
        .unwrap();
    assert_eq!(bot_owner.principal_type, PrincipalType::Team);

    // The guest publisher, looked up by UPN with `#` sent as %23, and by object id via the
    // bot's creator: two lookups, one principal row.
    let publisher = inv
        .role_assignments
        .iter()
        .find(|r| r.role == Role::Publisher && !r.principal_id.is_empty())
        .unwrap();
    assert_eq!(
        publisher.principal_id,
        "pat_fabrikam.com#ext#@contoso.onmicrosoft.com"
    );
    assert_eq!(publisher.principal_id_kind, PrincipalIdKind::Upn);
    let upn_lookups: Vec<&str> = log
        .iter()
        .filter(|r| r.in_batch && r.target.contains("pat_fabrikam.com"))
        .map(|r| r.target.as_str())
        .collect();
    assert_eq!(upn_lookups.len(), 1, "{upn_lookups:?}");
    assert!(upn_lookups[0].contains("%23ext%23"), "{upn_lookups:?}");
    let pats: Vec<_> = inv
        .principals
        .iter()
        .filter(|p| p.object_id == "9723d9b0-b8d6-48af-b381-fb4a9f0403e4")
        .collect();
    assert_eq!(pats.len(), 1);
    assert_eq!(pats[0].user_type.as_deref(), Some("Guest"));
    assert_eq!(pats[0].external_user_state.as_deref(), Some("Accepted"));
    // The push dataset names no publisher: an empty publisher row, no lookup.
    let push = inv
        .role_assignments
        .iter()
        .find(|r| r.resource_id == "db000000-0000-4000-8000-0000000000db")
        .unwrap();
    assert_eq!(
        (push.principal_id.as_str(), push.principal_id_kind),
        ("", PrincipalIdKind::None)
    );
    let personal = inv
        .environments
        .iter()
        .find(|e| e.environment_id == "c3000000-0000-4000-8000-0000000000c4")
        .unwrap();
    assert_eq!(personal.environment_type, "PowerBIPersonal");

    // The facts a fix plan reads, as the listings give them: a custom page of a
    // model-driven app, the model-driven app's and bot's solution, a dataset carrying its
    // workspace's state.
    let page = inv
        .resources
        .iter()
        .find(|r| r.resource_id == "ac000000-0000-4000-8000-0000000000ac")
        .unwrap();
    assert_eq!(
        (page.app_type.as_deref(), page.alm_mode.as_deref()),
        (Some("CustomCanvasPage"), Some("Solution"))
    );
    let retired = inv
        .resources
        .iter()
        .find(|r| r.resource_id == "dc000000-0000-4000-8000-0000000000dc")
        .unwrap();
    assert_eq!(retired.state.as_deref(), Some("Removing"));
    let hub = inv
        .resources
        .iter()
        .find(|r| r.resource_type == ResourceType::ModelDrivenApp)
        .unwrap();
    assert_eq!(
        (
            hub.is_managed,
            hub.solution_id.as_deref(),
            hub.unique_name.as_deref()
        ),
        (
            Some(true),
            Some("5e1a0000-0000-4000-8000-00000000005e"),
            Some("fab_DeployedHub")
        )
    );
    assert_eq!(
        (bot.is_managed, bot.unique_name.as_deref()),
        (Some(false), Some("fab_teamAgent"))
    );
    assert_eq!(retired.workspace_name.as_deref(), Some("Retired Reporting"));
    // Graph: exactly one lookup per distinct target.
    let mut seen = std::collections::HashSet::new();
    for r in log.iter().filter(|r| r.in_batch) {
        assert!(
            seen.insert(r.path().to_ascii_lowercase()),
            "looked up twice: {}",
            r.target
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerbi_scanner_polls_until_succeeded() {
    let server = serve("faults/powerbi-scanner").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi = PowerBiMode::Scanner;
    let report = run(&cfg, &out).await;
    assert_complete(&report);
    let inv = read(&out);
    let mut datasets: Vec<(&str, &str)> = inv
        .resources
        .iter()
        .map(|r| (r.resource_id.as_str(), r.environment_id.as_str()))
        .collect();
    datasets.sort();
    assert_eq!(
        datasets,
        [
            (
                "d5000000-0000-4000-8000-000000000001",
                "e1000000-0000-4000-8000-0000000000e1"
            ),
            (
                "d5000000-0000-4000-8000-000000000002",
                "e1000000-0000-4000-8000-0000000000e2"
            )
        ]
    );
    assert!(
        inv.resources.iter().all(|r| r.created_time.is_some()),
        "CreatedDate is read"
    );
    let log = server.requests();
    let status = hits(
        &log,
        "/powerbi/v1.0/myorg/admin/workspaces/scanStatus/5ca00000-0000-4000-8000-000000000001",
    );
    assert_eq!(status.len(), 2, "Running, then Succeeded");
    let get_info = hits(&log, "/powerbi/v1.0/myorg/admin/workspaces/getInfo");
    assert_eq!(get_info.len(), 1);
    assert_eq!(get_info[0].method, "POST");
    assert!(
        !get_info[0].target.contains("getArtifactUsers"),
        "user lists are not asked for"
    );
    assert!(
        get_info[0].route.is_some(),
        "the body held both workspace ids"
    );
    assert!(hits(&log, "/powerbi/v1.0/myorg/admin/groups").is_empty());
    assert_eq!(inv.principals.len(), 1, "one publisher, looked up once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerbi_auto_switches_to_the_scanner_for_the_rest() {
    let server = serve("faults/powerbi-scanner").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi = PowerBiMode::Auto;
    cfg.collect.powerbi_page_size = 1;
    cfg.collect.powerbi_auto_threshold = 1;
    let report = run(&cfg, &out).await;
    assert_complete(&report);
    let inv = read(&out);
    assert_eq!(inv.resources.len(), 2);
    assert_eq!(inv.environments.len(), 2, "each workspace once");
    let log = server.requests();
    assert_eq!(hits(&log, "/powerbi/v1.0/myorg/admin/groups").len(), 1);
    let get_info = hits(&log, "/powerbi/v1.0/myorg/admin/workspaces/getInfo");
    assert_eq!(get_info.len(), 1);
    assert_eq!(
        get_info[0].route,
        Some(4),
        "only the workspace not yet read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_an_hour_fails_at_once_and_absurd_values_do_not_crash() {
    use palaudit_collect::http::{ApiRequest, HttpClient, HttpError, HttpSettings};
    let routes = r#"{"routes":[
      {"method":"GET","path":"/quota","responses":[{"status":429,"headers":{"Retry-After":"7200"}}]},
      {"method":"GET","path":"/absurd","responses":[{"status":429,"headers":{"Retry-After":"1e20"}}]}
    ]}"#;
    let server = serve_routes(routes).await;
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    for path in ["/quota", "/absurd"] {
        let url = url::Url::parse(&format!("{}{path}", server.base_url())).unwrap();
        let started = Instant::now();
        let err = http.send(&ApiRequest::get(url)).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: no retry"
        );
        match &err {
            HttpError::Status {
                status: 429,
                message,
                ..
            } => assert!(
                message.contains("longer than palaudit waits (3600 s)"),
                "{message}"
            ),
            other => panic!("{path}: {other}"),
        }
    }
    assert_eq!(server.requests().len(), 2, "one request each");
}

/// Nothing read is dropped without a word: a listed workspace without an id, and a
/// scanned workspace missing from the scan result, are collection errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspaces_the_scanner_lost_are_named() {
    let server = serve_routes(
        r#"{"routes":[
          {"method":"GET","path":"/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments","responses":[{"inline":"{\"value\":[]}"}]},
          {"method":"GET","path":"/powerbi/v1.0/myorg/admin/workspaces/modified","responses":[{"inline":"[{\"id\":\"a0000000-0000-4000-8000-0000000000a1\"},{\"id\":\"a0000000-0000-4000-8000-0000000000a2\"},{\"name\":\"no id\"}]"}]},
          {"method":"POST","path":"/powerbi/v1.0/myorg/admin/workspaces/getInfo","responses":[{"status":202,"inline":"{\"id\":\"5c000000-0000-4000-8000-000000000001\",\"status\":\"NotStarted\"}"}]},
          {"method":"GET","path":"/powerbi/v1.0/myorg/admin/workspaces/scanStatus/5c000000-0000-4000-8000-000000000001","responses":[{"inline":"{\"id\":\"5c000000-0000-4000-8000-000000000001\",\"status\":\"Succeeded\"}"}]},
          {"method":"GET","path":"/powerbi/v1.0/myorg/admin/workspaces/scanResult/5c000000-0000-4000-8000-000000000001","responses":[{"inline":"{\"workspaces\":[{\"id\":\"A0000000-0000-4000-8000-0000000000A1\",\"name\":\"Finance\",\"type\":\"Workspace\",\"state\":\"Active\",\"datasets\":[{\"id\":\"d0000000-0000-4000-8000-0000000000d1\",\"name\":\"Ledger\",\"configuredBy\":\"ann@contoso.com\"}]}]}"}]}
        ]}"#,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi = PowerBiMode::Scanner;
    let report = run(&cfg, &out).await;
    let errors = errors_text(&report);
    assert!(
        errors.contains("1 workspace(s) without `id` were skipped"),
        "{errors}"
    );
    assert!(
        errors.contains("powerbi [a0000000-0000-4000-8000-0000000000a2]")
            && errors.contains("missing from the scan result"),
        "{errors}"
    );
    assert!(
        !errors.contains("0000000000a1]"),
        "the returned workspace is not reported: {errors}"
    );
    let inv = read(&out);
    assert_eq!(inv.resources.len(), 1, "the returned workspace's dataset");
}

/// A 429 speaks for its host: a request sent to the same host while the throttled one
/// waits out its `Retry-After` waits too, instead of drawing its own 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_host_is_paused_for_every_request() {
    use palaudit_collect::http::{ApiRequest, HttpClient, HttpSettings};
    let routes = r#"{"routes":[
      {"method":"GET","path":"/first","responses":[{"status":429,"headers":{"Retry-After":"3"}},{"inline":"{}"}]},
      {"method":"GET","path":"/second","responses":[{"inline":"{}"}]}
    ]}"#;
    let server = serve_routes(routes).await;
    let http = std::sync::Arc::new(HttpClient::new(HttpSettings::default()).unwrap());
    let url = |p: &str| url::Url::parse(&format!("{}{p}", server.base_url())).unwrap();
    let first = {
        let http = http.clone();
        let u = url("/first");
        tokio::spawn(async move { http.send(&ApiRequest::get(u)).await })
    };
    // Let the first request draw its 429 and the client read it (the server logs a
    // request before the client has its answer).
    while server.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    http.send(&ApiRequest::get(url("/second"))).await.unwrap();
    let waited = started.elapsed();
    first.await.unwrap().unwrap();
    assert!(
        waited >= Duration::from_millis(1500),
        "the second request waited out the host's pause: {waited:?}"
    );
    let log = server.requests();
    assert_eq!(
        log.iter()
            .map(|r| r.target.as_str())
            .collect::<Vec<_>>()
            .len(),
        3,
        "429, then both answered once"
    );
}

/// The scanner takes at most 100 workspaces per `getInfo`: 150 workspaces are scanned in
/// two calls of 100 and 50, and every workspace's datasets come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanner_scans_a_hundred_workspaces_at_a_time() {
    use serde_json::json;
    let ws = |i: usize| format!("a0000000-0000-4000-8000-{i:012x}");
    let ids: Vec<String> = (0..150).map(ws).collect();
    let scan = |batch: &[String], n: usize| {
        json!({ "workspaces": batch.iter().enumerate().map(|(k, id)| json!({
            "id": id, "name": format!("W{n}-{k}"), "type": "Workspace", "state": "Active",
            "datasets": [{ "id": format!("d{n:07x}-0000-4000-8000-{k:012x}"), "name": "D",
                           "configuredBy": "ann@contoso.com" }] })).collect::<Vec<_>>() })
    };
    let route = |method: &str,
                 path: &str,
                 body_match: Option<String>,
                 status: u16,
                 body: serde_json::Value| {
        let mut r = json!({ "method": method, "path": path,
            "responses": [{ "status": status, "inline": body.to_string() }] });
        if let Some(m) = body_match {
            r["body_match"] = json!(m);
        }
        r
    };
    let base = "/powerbi/v1.0/myorg/admin/workspaces";
    let mut routes = vec![
        route(
            "GET",
            "/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments",
            None,
            200,
            json!({"value": []}),
        ),
        route(
            "GET",
            &format!("{base}/modified"),
            None,
            200,
            json!(ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>()),
        ),
        route(
            "GET",
            "/graph/v1.0/users/ann@contoso.com",
            None,
            200,
            json!({"id": "a2200000-0000-4000-8000-000000000001", "userPrincipalName": "ann@contoso.com",
                   "userType": "Member", "accountEnabled": true}),
        ),
    ];
    for (n, batch) in ids.chunks(100).enumerate() {
        let scan_id = format!("5c000000-0000-4000-8000-{n:012x}");
        // Each batch is told apart by its first workspace id.
        routes.push(route(
            "POST",
            &format!("{base}/getInfo"),
            Some(format!("[\"{}\"", batch[0])),
            202,
            json!({"id": scan_id, "status": "NotStarted"}),
        ));
        routes.push(route(
            "GET",
            &format!("{base}/scanStatus/{scan_id}"),
            None,
            200,
            json!({"id": scan_id, "status": "Succeeded"}),
        ));
        routes.push(route(
            "GET",
            &format!("{base}/scanResult/{scan_id}"),
            None,
            200,
            scan(batch, n),
        ));
    }
    let server = serve_routes(&json!({ "routes": routes }).to_string()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi = PowerBiMode::Scanner;
    let report = run(&cfg, &out).await;
    assert_complete(&report);
    let inv = read(&out);
    assert_eq!(inv.resources.len(), 150, "one dataset per workspace");
    let log = server.requests();
    let get_info = hits(&log, &format!("{base}/getInfo"));
    assert_eq!(get_info.len(), 2, "150 workspaces in two calls");
    assert!(get_info.iter().all(|r| r.route.is_some()));
}

/// Only Graph's own "not found" makes a publisher `deleted`: a look-up that failed (a 500,
/// throttling past the retries, a 404 that is not Graph's, a 404 on the `mail` filter)
/// leaves the publisher without a directory record, so the audit says
/// `identity_health_unknown` rather than `identity_deleted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_publisher_lookup_is_not_a_deleted_publisher() {
    let datasets: Vec<String> = ["gone", "broken", "busy", "proxy", "nofilter"]
        .iter()
        .enumerate()
        .map(|(i, who)| {
            format!(
                r#"{{\"id\":\"d0000000-0000-4000-8000-00000000000{i}\",\"name\":\"{who}\",\"configuredBy\":\"{who}@contoso.com\"}}"#
            )
        })
        .collect();
    let groups = format!(
        r#"{{\"value\":[{{\"id\":\"a0000000-0000-4000-8000-0000000000a1\",\"name\":\"Finance\",\"type\":\"Workspace\",\"state\":\"Active\",\"datasets\":[{}]}}]}}"#,
        datasets.join(",")
    );
    let not_found = r#"{\"error\":{\"code\":\"Request_ResourceNotFound\",\"message\":\"Resource does not exist.\"}}"#;
    let routes = format!(
        r#"{{"routes":[
          {{"method":"GET","path":"/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments","responses":[{{"inline":"{{\"value\":[]}}"}}]}},
          {{"method":"GET","path":"/powerbi/v1.0/myorg/admin/groups","responses":[{{"inline":"{groups}"}},{{"inline":"{{\"value\":[]}}"}}]}},
          {{"method":"GET","path":"/graph/v1.0/users/gone@contoso.com","responses":[{{"status":404,"inline":"{not_found}"}}]}},
          {{"method":"GET","path":"/graph/v1.0/users","query":{{"$filter":"mail eq 'gone@contoso.com'"}},"responses":[{{"inline":"{{\"value\":[]}}"}}]}},
          {{"method":"GET","path":"/graph/v1.0/users/broken@contoso.com","responses":[{{"status":500,"inline":"{{\"error\":{{\"code\":\"InternalServerError\",\"message\":\"Try again.\"}}}}"}}]}},
          {{"method":"GET","path":"/graph/v1.0/users/busy@contoso.com","responses":[{{"status":429,"headers":{{"Retry-After":"0"}}}}]}},
          {{"method":"GET","path":"/graph/v1.0/users/proxy@contoso.com","responses":[{{"status":404,"inline":"<html>Not Found</html>"}}]}},
          {{"method":"GET","path":"/graph/v1.0/users/nofilter@contoso.com","responses":[{{"status":404,"inline":"{not_found}"}}]}}
        ]}}"#
    );
    let server = serve_routes(&routes).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi_page_size = 5;
    cfg.collect.max_retries = 1;
    let report = run(&cfg, &out).await;
    let errors = errors_text(&report);
    let inv = read(&out);
    assert_eq!(inv.resources.len(), 5, "every dataset is kept");

    // The one Graph does not know: a deleted record under its address.
    let deleted: Vec<Option<&str>> = inv
        .principals
        .iter()
        .filter(|p| p.deleted)
        .map(|p| p.upn.as_deref())
        .collect();
    assert_eq!(deleted, [Some("gone@contoso.com")], "{:?}", inv.principals);
    assert_eq!(inv.principals.len(), 1, "{:?}", inv.principals);

    // The others: a collection error each, naming the look-up, and no record.
    for (who, status) in [
        ("broken", "HTTP 500"),
        ("busy", "HTTP 429"),
        ("proxy", "HTTP 404"),
        ("nofilter", "HTTP 404"),
    ] {
        let line = errors
            .lines()
            .find(|l| l.contains(&format!("{who}@contoso.com")))
            .unwrap_or_else(|| panic!("no error for {who}: {errors}"));
        assert!(line.contains(status), "{who}: {line}");
    }
    assert!(
        errors.contains("mail%20eq%20'nofilter@contoso.com'"),
        "the failed filter is named: {errors}"
    );
    assert!(
        !errors.contains("gone@contoso.com"),
        "a definite not-found is no error: {errors}"
    );
    // Throttling was retried before it counted as a failure.
    let log = server.requests();
    assert_eq!(
        hits(&log, "/graph/v1.0/users/busy@contoso.com").len(),
        2,
        "one retry, then the look-up failed"
    );
}
