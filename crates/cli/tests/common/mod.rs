//! Helpers shared by the CLI's end-to-end tests: the repository root, a replay server for
//! a recorded tenant, the config a user would write for it, and a small CSV reader for
//! comparing audit CSVs with a tenant's `expected.csv`.

#![allow(dead_code)]

use palaudit_replay::{ReplayServer, Tenant};
use std::collections::BTreeMap;
use std::path::Path;

pub fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Writes the tenant and roster of a rule case (`fixtures/cases/<case>`) into `dir`: a
/// snapshot in `dir/snapshot` and `dir/identities.csv`.
pub fn case_tenant(case: &str, dir: &Path) {
    use chrono::TimeZone;
    let text = std::fs::read_to_string(repo().join("fixtures/cases").join(case)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let inv: palaudit_model::Inventory = serde_json::from_value(v["inventory"].clone()).unwrap();
    let at = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
    palaudit_snapshot::write_inventory(&inv, &dir.join("snapshot"), at).unwrap();
    std::fs::write(
        dir.join("identities.csv"),
        v["identities"].as_str().unwrap(),
    )
    .unwrap();
}

/// A replay server for `fixtures/tenants/<name>` on its own runtime, which keeps serving
/// while a test blocks on the `palaudit` process.
pub struct Served {
    pub server: ReplayServer,
    _rt: tokio::runtime::Runtime,
}

pub fn serve(name: &str) -> Served {
    let tenant = Tenant::from_dir(&repo().join("fixtures/tenants").join(name))
        .unwrap_or_else(|e| panic!("{e}"));
    serve_tenant(tenant)
}

/// A replay server for a tenant built in the test (recorded pages with some changed).
pub fn serve_tenant(tenant: Tenant) -> Served {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(ReplayServer::start(tenant)).unwrap();
    Served { server, _rt: rt }
}

/// A replay server for `fixtures/tenants/<name>` behind `plan`'s rate limits and latency.
pub fn serve_throttled(name: &str, plan: palaudit_replay::ThrottlePlan) -> Served {
    let tenant = Tenant::from_dir(&repo().join("fixtures/tenants").join(name))
        .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(ReplayServer::start_throttled(tenant, plan))
        .unwrap();
    Served { server, _rt: rt }
}

/// A replay server for `fixtures/tenants/<name>` misbehaving as `plan` says.
pub fn serve_faulty(name: &str, plan: palaudit_replay::FaultPlan) -> Served {
    let tenant = Tenant::from_dir(&repo().join("fixtures/tenants").join(name))
        .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(ReplayServer::start_with_faults(tenant, plan))
        .unwrap();
    Served { server, _rt: rt }
}

/// The config a user would write for a replayed tenant: `tenant_id`, `static-token`
/// sign-in and all six `[endpoints]` keys (DESIGN.md keys only).
pub fn replay_config(tenant_id: &str, served: &Served) -> String {
    let mut text = format!(
        "tenant_id = \"{tenant_id}\"\n\n[auth]\nmethod = \"static-token\"\n\n[endpoints]\n"
    );
    for key in palaudit_replay::ENDPOINT_KEYS {
        text.push_str(&format!("{key} = \"{}\"\n", served.server.endpoint(key)));
    }
    text
}

/// Writes [`replay_config`] to `dir/file` and returns its path.
pub fn write_replay_config(
    dir: &Path,
    file: &str,
    tenant_id: &str,
    served: &Served,
) -> std::path::PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, replay_config(tenant_id, served)).unwrap();
    path
}

/// `palaudit` run in `dir` as CI runs it (no colour, no progress bars, no request log
/// filter), signing in with the static `token`.
pub fn palaudit_with_token(dir: &Path, token: &str) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("palaudit").unwrap();
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .env_remove("PALAUDIT_LOG")
        .env("PALAUDIT_ACCESS_TOKEN", token);
    cmd
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `palaudit ARGS` in `dir` as [`palaudit_with_token`] does: (exit code, stdout,
/// stderr), with `dir` written `[DIR]` in both.
pub fn run_in(dir: &Path, token: &str, args: &[&str]) -> (i32, String, String) {
    let out = palaudit_with_token(dir, token).args(args).output().unwrap();
    let clean = |b: &[u8]| text(b).replace(&dir.display().to_string(), "[DIR]");
    (
        out.status.code().unwrap_or(-1),
        clean(&out.stdout),
        clean(&out.stderr),
    )
}

/// Collection times differ from run to run: `2026-01-02 03:04:05 UTC` becomes `[TIME]`.
/// Other times (the recorded activity in evidence, with milliseconds) stay as they are.
pub fn redact_times(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(end) = rest.find(" UTC") {
        let start = end.saturating_sub(19);
        let stamp = rest.get(start..end).unwrap_or("");
        let b = stamp.as_bytes();
        let is_stamp = b.len() == 19 && b[4] == b'-' && b[10] == b' ' && b[13] == b':';
        if is_stamp {
            out.push_str(&rest[..start]);
            out.push_str("[TIME]");
        } else {
            out.push_str(&rest[..end + 4]);
        }
        rest = &rest[end + 4..];
    }
    out.push_str(rest);
    out
}

pub type Row = BTreeMap<String, String>;

/// The rows of a CSV text with a header row, each as column → cell.
pub fn read_csv(text: &str) -> Vec<Row> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            header
                .iter()
                .map(str::to_owned)
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Compares an audit CSV with Contoso's `expected.csv`; one line per difference.
pub fn verdict_differences(audit_csv: &str) -> Vec<String> {
    expected_differences("contoso", audit_csv)
}

/// Compares an audit CSV with `fixtures/tenants/<tenant>/expected.csv`, column by column
/// for the verdict columns, rows missing or unexpected included; one line per
/// difference.
pub fn expected_differences(tenant: &str, audit_csv: &str) -> Vec<String> {
    let got = read_csv(audit_csv);
    let expected = read_csv(
        &std::fs::read_to_string(
            repo()
                .join("fixtures/tenants")
                .join(tenant)
                .join("expected.csv"),
        )
        .unwrap(),
    );
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
