//! `palaudit collect` as a user runs it: a config file whose `[endpoints]` point at a
//! loopback replay server and `static-token` sign-in, then `palaudit audit` on the
//! snapshot. Also the exit codes and messages of incomplete collections and bad input.

mod common;

use assert_cmd::Command;
use common::*;
use std::path::{Path, PathBuf};

const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.palaudit-test-token";

/// The config file a user would write for the replayed tenant.
fn write_config(dir: &Path, served: &Served) -> PathBuf {
    write_replay_config(dir, "tenant.toml", TENANT, served)
}

fn palaudit(dir: &Path) -> Command {
    palaudit_with_token(dir, TOKEN)
}

/// `palaudit collect FLAGS --config CONFIG --out snap` in `dir`.
fn collect(dir: &Path, config: &Path, flags: &[&str]) -> std::process::Output {
    palaudit(dir)
        .arg("collect")
        .args(flags)
        .arg("--config")
        .arg(config)
        .args(["--out", "snap"])
        .output()
        .unwrap()
}

#[test]
fn collect_from_a_config_file_then_audit_gives_every_verdict() {
    let served = serve("contoso");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &served);

    let out = collect(dir.path(), &config, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // stderr holds only how the APIs were used: requests per kind, one line per host.
    let mut usage = stderr.lines();
    assert!(
        usage
            .next()
            .is_some_and(|l| l.starts_with("Requests: ") && l.contains("canvas_app_permissions ")),
        "{stderr}"
    );
    assert!(
        usage.all(|l| l.starts_with("  host 127.0.0.1:") && l.contains(" requests, ")),
        "{stderr}"
    );
    assert!(
        stdout.starts_with(&format!("Collected tenant {TENANT} in ")),
        "{stdout}"
    );
    assert!(stdout.contains(": 42 resources ("), "{stdout}");
    assert!(
        stdout.contains("  Contoso Operations (Production): "),
        "{stdout}"
    );
    assert!(
        stdout.contains("complete: no collection errors"),
        "{stdout}"
    );
    assert!(stdout.contains("Snapshot written to snap"), "{stdout}");
    // The elapsed time and the request count (Graph batches form as principals arrive)
    // vary from run to run.
    let summary: String = stdout
        .lines()
        .map(|l| match (l.find(" in "), l.find(" requests)")) {
            (Some(a), Some(b)) if a < b => format!("{} in [TIME] ([N]{}\n", &l[..a], &l[b..]),
            _ => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!("collect_summary", summary);

    // Every request carried the token; nothing was written to the tenant.
    let log = served.server.requests();
    assert!(log.iter().all(|r| r.authorization));
    assert!(
        log.iter()
            .all(|r| r.method == "GET" || r.target.contains("$batch")),
        "only reads: {:?}",
        log.iter()
            .filter(|r| r.method != "GET")
            .map(|r| &r.target)
            .collect::<Vec<_>>()
    );

    let out = palaudit(dir.path())
        .args(["audit", "--snapshot", "snap", "--identities"])
        .arg(repo().join("fixtures/tenants/contoso/identities.csv"))
        .args(["--csv", "audit.csv", "--quiet", "--fail-under", "40"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let wrong =
        verdict_differences(&std::fs::read_to_string(dir.path().join("audit.csv")).unwrap());
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // Coverage is 42.9%: a stricter threshold fails with exit 1.
    let out = palaudit(dir.path())
        .args(["audit", "--snapshot", "snap", "--identities"])
        .arg(repo().join("fixtures/tenants/contoso/identities.csv"))
        .args(["--quiet", "--fail-under", "50"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn verbose_names_every_request_and_never_the_token() {
    let served = serve("contoso");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &served);
    let out = collect(dir.path(), &config, &["--quiet", "--verbose"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(text(&out.stdout).is_empty(), "--quiet prints no summary");
    let base = served.server.base_url();
    assert!(
        stderr.contains(&format!(
            "GET {base}/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01 -> 200 in "
        )),
        "{stderr}"
    );
    let requests = stderr.lines().filter(|l| l.contains(" -> 200 in ")).count();
    assert!(
        requests
            >= served
                .server
                .requests()
                .iter()
                .filter(|r| !r.in_batch)
                .count()
    );
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert!(!stderr.contains("palaudit-test-token"), "{stderr}");
    assert!(!stderr.to_ascii_lowercase().contains("bearer"), "{stderr}");
}

#[test]
fn an_incomplete_collection_exits_2_unless_allow_partial() {
    let served = serve("faults/malformed");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &served);

    let out = collect(dir.path(), &config, &["--quiet"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Each error names its collector, environment and endpoint.
    assert!(
        stderr.contains("warning: not collected: canvas_apps [")
            && stderr
                .contains("/powerapps/providers/Microsoft.PowerApps/scopes/admin/environments/"),
        "{stderr}"
    );
    assert!(stderr.contains("-> HTTP 401"), "Power BI refused: {stderr}");
    assert!(
        stderr.contains("error: the collection is incomplete"),
        "{stderr}"
    );
    // The snapshot is written all the same, errors in its manifest.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("snap/manifest.json")).unwrap(),
    )
    .unwrap();
    let errors = manifest["collection_errors"].as_array().unwrap().len();
    assert!(errors >= 3, "{manifest}");
    assert_eq!(
        stderr.matches("warning: not collected: ").count(),
        errors,
        "every error listed"
    );

    let out = collect(dir.path(), &config, &["--quiet", "--allow-partial"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Auditing the partial snapshot is an error too, unless accepted.
    let identities = repo().join("fixtures/tenants/contoso/identities.csv");
    let out = palaudit(dir.path())
        .args(["audit", "--quiet", "--snapshot", "snap", "--identities"])
        .arg(&identities)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the snapshot is incomplete"));
    let out = palaudit(dir.path())
        .args([
            "audit",
            "--quiet",
            "--allow-partial",
            "--snapshot",
            "snap",
            "--identities",
        ])
        .arg(&identities)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_rejected_token_writes_no_snapshot_and_exits_2() {
    let served = serve("faults/unauthorized");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &served);
    let out = collect(dir.path(), &config, &["--quiet"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing could be collected"), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(!stderr.contains(TOKEN));
    assert!(!dir.path().join("snap").exists());
}

#[test]
fn static_token_without_the_variable_is_a_clear_error() {
    let served = serve("contoso");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &served);
    let out = palaudit(dir.path())
        .env_remove("PALAUDIT_ACCESS_TOKEN")
        .args(["collect", "--config"])
        .arg(&config)
        .args(["--out", "snap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("collect_missing_token", text(&out.stderr));
    assert!(
        served.server.requests().is_empty(),
        "no request without a token"
    );
}

#[test]
fn bad_config_files_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        format!(
            "tenant_id = \"{TENANT}\"\n\n[endpoints]\nbap = \"http://api.bap.example.com\"\n\n[collect]\nconcurrency = 8\nparallelism = 4\n"
        ),
    )
    .unwrap();
    let out = palaudit(dir.path())
        .args(["collect", "--config", "bad.toml", "--out", "snap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("collect_bad_config", text(&out.stderr));

    // Problems found after parsing are all reported at once.
    std::fs::write(
        dir.path().join("values.toml"),
        "tenant_id = \"contoso.onmicrosoft.com\"\n\n[endpoints]\nbap = \"http://api.bap.example.com\"\n",
    )
    .unwrap();
    let out = palaudit(dir.path())
        .args(["collect", "--config", "values.toml", "--out", "snap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("collect_bad_config_values", text(&out.stderr));

    let out = palaudit(dir.path())
        .args(["collect", "--config", "missing.toml", "--out", "snap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("missing.toml"), "{stderr}");
    assert!(!dir.path().join("snap").exists());
}

/// A custom page of a model-driven app and a dataset of a workspace being removed are
/// collected, audited and shown with their reason, never credited, never dropped.
#[test]
fn custom_pages_and_datasets_of_removed_workspaces_are_shown_uncredited() {
    let served = serve("faults/identities");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &served);
    // This tenant's recorded Power BI pages are five workspaces long.
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("\n[collect]\npowerbi_page_size = 5\n");
    std::fs::write(&config, toml).unwrap();
    let out = collect(dir.path(), &config, &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::write(
        dir.path().join("ids.csv"),
        format!(
            "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name\n1234567,{TENANT},user,9723d9b0-b8d6-48af-b381-fb4a9f0403e4,,pat_fabrikam.com#EXT#@contoso.onmicrosoft.com,Pat (Fabrikam)\n"
        ),
    )
    .unwrap();
    let out = palaudit(dir.path())
        .args([
            "audit",
            "--snapshot",
            "snap",
            "--identities",
            "ids.csv",
            "--csv",
            "audit.csv",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = read_csv(&std::fs::read_to_string(dir.path().join("audit.csv")).unwrap());
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["resource_id"] == id)
            .unwrap_or_else(|| panic!("no row for {id}: {rows:?}"))
    };
    let page = row("ac000000-0000-4000-8000-0000000000ac");
    assert_eq!(page["status"], "unattributed");
    assert_eq!(page["reasons"], "custom_page_of_model_driven_app");
    assert_eq!(page["partner_id"], "");
    let retired = row("dc000000-0000-4000-8000-0000000000dc");
    assert_eq!(retired["status"], "unattributed");
    assert_eq!(retired["reasons"], "workspace_not_active");
    // The same guest's dataset in a live workspace is credited.
    let live = row("da000000-0000-4000-8000-0000000000da");
    assert_eq!(
        (live["status"].as_str(), live["partner_id"].as_str()),
        ("attributed", "1234567")
    );
}
