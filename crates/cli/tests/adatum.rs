//! A second recorded tenant, Adatum, written from the API reference and the rule book
//! independently of the collectors: `palaudit collect` against its replay, then
//! `palaudit audit`, must give every verdict of `fixtures/tenants/adatum/expected.csv`,
//! and the collectors must ask only for what the recorded tenant holds.

mod common;

use assert_cmd::Command;
use common::*;
use std::path::{Path, PathBuf};

const TENANT: &str = "5f0c8a44-2b7e-4c1d-9a3f-6e8b0d2c4a71";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.palaudit-adatum-test-token";
const FIXTURE: &str = "fixtures/tenants/adatum";

/// The config file a user would write for the replayed tenant.
fn write_config(dir: &Path, served: &Served) -> PathBuf {
    write_replay_config(dir, "adatum.toml", TENANT, served)
}

fn palaudit(dir: &Path) -> Command {
    palaudit_with_token(dir, TOKEN)
}

#[test]
fn adatum_collect_then_audit_gives_every_expected_verdict() {
    let served = serve("adatum");
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
    let wrong = expected_differences(
        "adatum",
        &std::fs::read_to_string(dir.path().join("audit.csv")).unwrap(),
    );
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
