//! The `palaudit` binary as a user runs it: exit codes, stdout and stderr, snapshot-tested.
//! Snapshots are built from the rule cases in `fixtures/cases/`, so these tests need no
//! network.

mod common;

use assert_cmd::Command;
use common::case_tenant;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn palaudit(args: &[&str], dir: &Path) -> Run {
    let out = Command::cargo_bin("palaudit")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).replace(&dir.display().to_string(), "[DIR]"),
    }
}

#[test]
fn rules_lists_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let r = palaudit(&["rules"], dir.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("rules", r.stdout);
}

#[test]
fn rule_explains_one_and_rejects_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let r = palaudit(&["rule", "bot"], dir.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("rule_bot", r.stdout);
    let r = palaudit(&["rule", "nope"], dir.path());
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("rule_unknown_stderr", r.stderr);
}

#[test]
fn rule_explains_a_reason_code_from_the_reasons_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = palaudit(&["rule", "identity_deleted"], dir.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("# identity_deleted: ") && r.stdout.contains("## What to do"),
        "{}",
        r.stdout
    );
    // A rules directory brings its own reasons file, which must cover every code.
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for entry in std::fs::read_dir(repo().join("rules")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
    }
    let reasons = rules.join("reasons.toml");
    let text = std::fs::read_to_string(&reasons)
        .unwrap()
        .replace("code = \"group_principal\"", "code = \"group_owner\"");
    std::fs::write(&reasons, text).unwrap();
    let r = palaudit(
        &["rule", "identity_deleted", "--rules", "rules"],
        dir.path(),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("rules/reasons.toml:") && r.stderr.contains("`group_owner`"),
        "{}",
        r.stderr
    );
}

#[test]
fn audit_prints_the_table_and_writes_reports() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.pass.json", dir.path());
    let r = palaudit(
        &[
            "audit",
            "--snapshot",
            "snapshot",
            "--identities",
            "identities.csv",
            "--csv",
            "out.csv",
            "--markdown",
            "out.md",
            "--json",
            "out.json",
            "--roster-csv",
            "roster.csv",
        ],
        dir.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("audit_stdout", r.stdout);
    let roster = std::fs::read_to_string(dir.path().join("roster.csv")).unwrap();
    insta::assert_snapshot!("audit_roster_csv", roster);
    let csv = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(csv.lines().count() == 2, "{csv}");
    assert!(csv.contains(",attributed,1234567,"), "{csv}");
    assert!(dir.path().join("out.md").exists());
    assert!(dir.path().join("out.json").exists());
}

#[test]
fn fail_under_exits_1_when_coverage_is_low() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.fail.json", dir.path());
    let args = [
        "audit",
        "--snapshot",
        "snapshot",
        "--identities",
        "identities.csv",
        "--quiet",
    ];
    let r = palaudit(&[&args[..], &["--fail-under", "50"]].concat(), dir.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "--quiet prints nothing: {}", r.stdout);
    // Exit 1 comes with its reason, even under --quiet.
    assert!(
        r.stderr.contains(
            "warning: coverage 0.0% is below --fail-under 50% (suppressed findings left out)"
        ),
        "{}",
        r.stderr
    );
    let r = palaudit(&[&args[..], &["--fail-under", "0"]].concat(), dir.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn bad_identities_name_the_file_and_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.pass.json", dir.path());
    let bad = "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name\n\
               1234567,d8d86e5f-13e9-4bb5-bb94-0f99b507cd15,user,not-a-guid,,,\n\
               1234567,d8d86e5f-13e9-4bb5-bb94-0f99b507cd15,robot,,,x@y.com,\n\
               1234567,d8d86e5f-13e9-4bb5-bb94-0f99b507cd15,user,,,pat@fabrikam.com,\n\
               7654321,d8d86e5f-13e9-4bb5-bb94-0f99b507cd15,user,,,PAT@fabrikam.com,\n";
    std::fs::write(dir.path().join("bad.csv"), bad).unwrap();
    std::fs::write(dir.path().join("nocols.csv"), "partner_id,tenant_id\n1,2\n").unwrap();
    for (file, name) in [
        ("bad.csv", "bad_identities"),
        ("nocols.csv", "identities_missing_column"),
    ] {
        let r = palaudit(
            &["audit", "--snapshot", "snapshot", "--identities", file],
            dir.path(),
        );
        assert_eq!(r.code, 2, "{file}");
        assert!(r.stdout.is_empty());
        insta::assert_snapshot!(name, r.stderr);
    }
}

#[test]
fn a_bad_account_kind_names_the_file_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.pass.json", dir.path());
    let bad = "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name,account_kind\n\
               1234567,d8d86e5f-13e9-4bb5-bb94-0f99b507cd15,user,,,pat@fabrikam.com,Pat,personal\n\
               1234567,d8d86e5f-13e9-4bb5-bb94-0f99b507cd15,user,,,svc@fabrikam.com,Svc,shared\n\
               1234567,d8d86e5f-13e9-4bb5-bb94-0f99b507cd15,service_principal,,4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d,,App,personal\n";
    std::fs::write(dir.path().join("kinds.csv"), bad).unwrap();
    let r = palaudit(
        &[
            "audit",
            "--snapshot",
            "snapshot",
            "--identities",
            "kinds.csv",
        ],
        dir.path(),
    );
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    insta::assert_snapshot!("bad_account_kind", r.stderr);
}

#[test]
fn missing_corrupt_or_tampered_snapshots_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.pass.json", dir.path());
    let audit = |snap: &str| {
        palaudit(
            &[
                "audit",
                "--snapshot",
                snap,
                "--identities",
                "identities.csv",
            ],
            dir.path(),
        )
    };

    let r = audit("nowhere");
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("snapshot_missing", r.stderr);

    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let r = audit("empty");
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("snapshot_not_a_snapshot", r.stderr);

    let f = dir.path().join("snapshot/principals.parquet");
    let mut bytes = std::fs::read(&f).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&f, bytes).unwrap();
    let r = audit("snapshot");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("principals.parquet"), "{}", r.stderr);
    assert!(r.stderr.contains("checksum mismatch"), "{}", r.stderr);

    std::fs::write(
        dir.path().join("snapshot/manifest.json"),
        "{\"format_version\": 1, \"tenant_id\": 3",
    )
    .unwrap();
    let r = audit("snapshot");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("manifest.json: corrupt manifest"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_broken_rules_directory_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for entry in std::fs::read_dir(repo().join("rules")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
    }
    let flow = rules.join("flow.toml");
    let text = std::fs::read_to_string(&flow).unwrap().replace(
        "attributing_roles = [\"creator\"]",
        "attributing_roles = [\"creater\"]",
    );
    std::fs::write(&flow, text).unwrap();
    let r = palaudit(&["rules", "--rules", "rules"], dir.path());
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("broken_rules", r.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let r = palaudit(
        &[
            "audit",
            "--snapshot",
            "x",
            "--identities",
            "y",
            "--fail-under",
            "120",
        ],
        dir.path(),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("between 0 and 100"), "{}", r.stderr);
}
