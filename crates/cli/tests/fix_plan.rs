//! `palaudit fix-plan` and `--fix-plan` on `audit` and `demo`, run as a user runs them
//! over the bundled Contoso tenant: exit codes, stdout, stderr and the plan files,
//! snapshot-tested with the collection time redacted.

mod common;

use common::{read_csv, repo, text};
use std::collections::BTreeSet;
use std::path::Path;

const IDENTITIES: &str = "fixtures/tenants/contoso/identities.csv";
const SERVICE_PRINCIPAL_APP_ID: &str = "4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn palaudit(dir: &Path, args: &[&str]) -> Run {
    let out = assert_cmd::Command::cargo_bin("palaudit")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .output()
        .unwrap();
    let redact = |s: &[u8]| text(s).replace(&dir.display().to_string(), "[DIR]");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: redact(&out.stdout),
        stderr: redact(&out.stderr),
    }
}

/// A Contoso snapshot in `dir/snap`, collected by the demo.
fn contoso_snapshot(dir: &Path) {
    let r = palaudit(dir, &["demo", "--quiet", "--snapshot", "snap"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn identities() -> String {
    repo().join(IDENTITIES).display().to_string()
}

/// The plan file with what changes from run to run redacted: the collection time (the
/// demo collects now) and the replay server's loopback port in Dataverse URLs.
fn plan_file(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.starts_with("# Collected") {
            out.push_str("# Collected    [TIME]\n");
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("http://127.0.0.1:") {
            out.push_str(&rest[..at]);
            let after = &rest[at + "http://127.0.0.1:".len()..];
            let port_len = after.bytes().take_while(u8::is_ascii_digit).count();
            out.push_str("http://[REPLAY]");
            rest = &after[port_len..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

/// The resource ids the plan has an item for, each as often as it appears.
fn item_ids(plan: &str) -> Vec<String> {
    plan.lines()
        .filter_map(|l| l.strip_prefix("#   id           "))
        .map(|id| id.trim().to_ascii_lowercase())
        .collect()
}

fn not_attributed_contoso_ids() -> BTreeSet<String> {
    let expected =
        std::fs::read_to_string(repo().join("fixtures/tenants/contoso/expected.csv")).unwrap();
    read_csv(&expected)
        .into_iter()
        .filter(|r| r["status"] != "attributed")
        .map(|r| r["resource_id"].to_ascii_lowercase())
        .collect()
}

/// `bash -n` parses the plan without running it, where bash exists.
fn assert_bash_parses(path: &Path) {
    match std::process::Command::new("bash")
        .arg("-n")
        .arg(path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "bash -n {}: {}",
            path.display(),
            text(&out.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("running bash: {e}"),
    }
}

#[test]
fn the_demo_plan_covers_every_contoso_resource_that_is_not_attributed_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let r = palaudit(
        dir.path(),
        &[
            "demo",
            "--quiet",
            "--fix-plan",
            "plan.sh",
            "--csv",
            "audit.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = std::fs::read_to_string(dir.path().join("plan.sh")).unwrap();
    let ids = item_ids(&plan);
    let expected = not_attributed_contoso_ids();
    assert_eq!(ids.len(), expected.len(), "one item per resource");
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    // Every attributed resource stays out of the plan.
    let audit = std::fs::read_to_string(dir.path().join("audit.csv")).unwrap();
    for row in read_csv(&audit) {
        if row["status"] == "attributed" {
            assert!(
                !plan.contains(&row["resource_id"]),
                "{}",
                row["resource_name"]
            );
        }
    }
    assert_bash_parses(&dir.path().join("plan.sh"));
}

#[test]
fn fix_plan_to_the_default_service_account_in_powershell() {
    let dir = tempfile::tempdir().unwrap();
    contoso_snapshot(dir.path());
    let r = palaudit(
        dir.path(),
        &[
            "fix-plan",
            "--snapshot",
            "snap",
            "--identities",
            &identities(),
            "--out",
            "plan.ps1",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("fix_plan_stdout", r.stdout);
    insta::assert_snapshot!(
        "fix_plan_service_account_powershell",
        plan_file(&dir.path().join("plan.ps1"))
    );
}

#[test]
fn fix_plan_to_a_named_service_principal_in_bash() {
    let dir = tempfile::tempdir().unwrap();
    contoso_snapshot(dir.path());
    let r = palaudit(
        dir.path(),
        &[
            "fix-plan",
            "--snapshot",
            "snap",
            "--identities",
            &identities(),
            "--to",
            SERVICE_PRINCIPAL_APP_ID,
            "--shell",
            "bash",
            "--out",
            "plan.txt",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = plan_file(&dir.path().join("plan.txt"));
    assert!(plan.starts_with("#!/usr/bin/env bash"));
    insta::assert_snapshot!("fix_plan_service_principal_bash", plan);
    assert_bash_parses(&dir.path().join("plan.txt"));
}

#[test]
fn a_target_not_on_the_roster_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    contoso_snapshot(dir.path());
    let r = palaudit(
        dir.path(),
        &[
            "fix-plan",
            "--snapshot",
            "snap",
            "--identities",
            &identities(),
            "--to",
            "dana.whitfield_fabrikam.com#EXT#@woodgrove.onmicrosoft.com",
            "--out",
            "plan.ps1",
        ],
    );
    assert_eq!(r.code, 2);
    insta::assert_snapshot!(
        "fix_plan_unknown_target",
        r.stderr.replace(&repo().display().to_string(), "[REPO]")
    );
    assert!(!dir.path().join("plan.ps1").exists(), "no plan is written");
}

#[test]
fn a_plan_file_without_a_shell_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    contoso_snapshot(dir.path());
    let r = palaudit(
        dir.path(),
        &[
            "fix-plan",
            "--snapshot",
            "snap",
            "--identities",
            &identities(),
            "--out",
            "plan.txt",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("cannot tell which shell the fix plan plan.txt is for"),
        "{}",
        r.stderr
    );
}

#[test]
fn audit_checks_the_plan_target_before_writing_any_report() {
    let dir = tempfile::tempdir().unwrap();
    contoso_snapshot(dir.path());
    let r = palaudit(
        dir.path(),
        &[
            "audit",
            "--snapshot",
            "snap",
            "--identities",
            &identities(),
            "--quiet",
            "--csv",
            "audit.csv",
            "--fix-plan",
            "plan.ps1",
            "--fix-plan-to",
            "nobody@contoso.com",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("`nobody@contoso.com` is not on the roster"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("audit.csv").exists());
    assert!(!dir.path().join("plan.ps1").exists());

    let r = palaudit(
        dir.path(),
        &[
            "audit",
            "--snapshot",
            "snap",
            "--identities",
            &identities(),
            "--quiet",
            "--fix-plan",
            "plan.ps1",
            "--fix-plan-to",
            SERVICE_PRINCIPAL_APP_ID,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = std::fs::read_to_string(dir.path().join("plan.ps1")).unwrap();
    assert!(plan.contains("# Target       Fabrikam Deployment Automation"));
}
