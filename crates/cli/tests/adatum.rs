//! A second recorded tenant, Adatum, written from the API reference and the rule book
//! independently of the collectors: `palaudit collect` against its replay, then
//! `palaudit audit`, must give every verdict of `fixtures/tenants/adatum/expected.csv`,
//! and the collectors must ask only for what the recorded tenant holds.

mod common;

use assert_cmd::Command;
use common::*;
use palaudit_replay::{ReplayServer, Tenant};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TENANT: &str = "5f0c8a44-2b7e-4c1d-9a3f-6e8b0d2c4a71";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.palaudit-adatum-test-token";
const FIXTURE: &str = "fixtures/tenants/adatum";

/// The replay server on its own runtime, so it keeps serving while the test blocks on
/// the `palaudit` process.
struct Served {
    server: ReplayServer,
    _rt: tokio::runtime::Runtime,
}

fn serve() -> Served {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tenant = Tenant::from_dir(&repo().join(FIXTURE)).unwrap_or_else(|e| panic!("{e}"));
    let server = rt.block_on(ReplayServer::start(tenant)).unwrap();
    Served { server, _rt: rt }
}

/// The config a user would write: all six `[endpoints]` keys and `static-token` sign-in.
fn write_config(dir: &Path, served: &Served) -> PathBuf {
    let mut text =
        format!("tenant_id = \"{TENANT}\"\n\n[auth]\nmethod = \"static-token\"\n\n[endpoints]\n");
    for key in ["bap", "powerapps", "flow", "powerbi", "graph", "arm"] {
        text.push_str(&format!("{key} = \"{}\"\n", served.server.endpoint(key)));
    }
    let path = dir.join("adatum.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn palaudit(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("palaudit").unwrap();
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .env_remove("PALAUDIT_LOG")
        .env("PALAUDIT_ACCESS_TOKEN", TOKEN);
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One line per difference between the audit CSV and Adatum's `expected.csv`, on the
/// verdict columns; also rows missing on either side.
fn adatum_differences(audit_csv: &str) -> Vec<String> {
    let got = read_csv(audit_csv);
    let expected =
        read_csv(&std::fs::read_to_string(repo().join(FIXTURE).join("expected.csv")).unwrap());
    let mut wrong = Vec::new();
    let by_id: BTreeMap<String, &Row> = got
        .iter()
        .map(|r| (r["resource_id"].to_ascii_lowercase(), r))
        .collect();
    let expected_ids: Vec<String> = expected
        .iter()
        .map(|r| r["resource_id"].to_ascii_lowercase())
        .collect();
    for g in &got {
        if !expected_ids.contains(&g["resource_id"].to_ascii_lowercase()) {
            wrong.push(format!(
                "unexpected row {} {} ({})",
                g["resource_type"], g["resource_name"], g["resource_id"]
            ));
        }
    }
    for e in &expected {
        let Some(g) = by_id.get(&e["resource_id"].to_ascii_lowercase()) else {
            wrong.push(format!(
                "missing {} {} ({})",
                e["resource_type"], e["resource_name"], e["resource_id"]
            ));
            continue;
        };
        for col in [
            "resource_type",
            "environment_id",
            "status",
            "partner_id",
            "attributing_role",
            "reasons",
        ] {
            let got = g.get(col).map(String::as_str).unwrap_or("<no column>");
            if got != e[col] {
                wrong.push(format!(
                    "{} ({}): {col} is `{got}`, expected `{}`",
                    e["resource_name"], e["resource_id"], e[col]
                ));
            }
        }
    }
    wrong
}

#[test]
fn adatum_collect_then_audit_gives_every_expected_verdict() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &served);

    // (a) collection completes without errors.
    let out = palaudit(dir.path())
        .args(["collect", "--config"])
        .arg(&config)
        .args(["--out", "snap"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{stdout}");
    assert!(
        stdout.contains("complete: no collection errors"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains(": 28 resources ("), "{stdout}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("snap/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["collection_errors"].as_array().map(Vec::len),
        Some(0),
        "{manifest}"
    );

    // (c) every request was one the recorded tenant answers: no unrouted request (for
    // Graph an unrouted lookup would read as "deleted"), every one with the token, and
    // only reads.
    let log = served.server.requests();
    let unmatched: Vec<String> = log
        .iter()
        .filter(|r| r.unmatched())
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert!(
        unmatched.is_empty(),
        "{} unrouted requests:\n{}",
        unmatched.len(),
        unmatched.join("\n")
    );
    assert!(log.iter().all(|r| r.authorization));
    assert!(
        log.iter()
            .all(|r| r.method == "GET" || r.target.contains("$batch")),
        "only reads"
    );
    // The paged lists were followed to their last page.
    for page in [
        "$skiptoken=MSExMDAhQWRhdHVtUGFnZTI", // default environment's flows, page 2
        "$skiptoken=MSExMDAhUGVybWlzc2lvbnNf2", // Timesheet reminder's permissions, page 2
        "$skiptoken=eyJza2lwIjoz0fQ",         // Canteen Menu's permissions, page 2
        "$skiptoken=%3Ccookie%20pagenumber",  // Adatum Operations' systemusers, page 2
    ] {
        assert!(
            log.iter().any(|r| r.target.contains(page)),
            "no request followed {page}"
        );
    }

    // (b) every verdict as derived by hand in the fixture's README.
    let out = palaudit(dir.path())
        .args(["audit", "--snapshot", "snap", "--identities"])
        .arg(repo().join(FIXTURE).join("identities.csv"))
        .args(["--csv", "audit.csv", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let wrong = adatum_differences(&std::fs::read_to_string(dir.path().join("audit.csv")).unwrap());
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
