//! `--suppressions`: accepted findings keep their status, show as suppressed in every
//! report, leave `--fail-under`; expired entries count again with a warning, unused ones
//! are listed, malformed ones are errors at file:line. Run on the bundled demo tenant.

mod common;

use common::*;
use std::path::Path;

/// Contoso's accepted findings. Daily sales digest by id (in upper case: ids fold case),
/// the three UAT copies by globs, Visitor Sign-in by an entry that expired, and one
/// entry that matches nothing.
const SUPPRESSIONS: &str = r#"# Accepted at the handover review.
[[suppress]]
resource_id = "2AC6ECD1-DA76-4AB5-A7D0-13A113C00165"
reason = "Contoso's own flow, built before the engagement"
approved_by = "jane.doe@fabrikam.com"
expires = 2099-12-31

[[suppress]]
environment = "Contoso Operations UAT"
name = "* (UAT)"
reason = "Test copies; production counts"
approved_by = "jane.doe@fabrikam.com"
expires = 2099-12-31

[[suppress]]
name = "Visitor*"
reason = "Accepted until the January rebuild"
approved_by = "sam.taylor@northwind.example"
expires = 2020-01-31

[[suppress]]
name = "Retired app"
reason = "Kept from an earlier review"
approved_by = "jane.doe@fabrikam.com"
expires = 2099-12-31
"#;

fn demo(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["demo"];
    all.extend_from_slice(args);
    run_in(dir, "unused", &all)
}

#[test]
fn accepted_findings_show_everywhere_and_leave_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("suppressions.toml"), SUPPRESSIONS).unwrap();

    // Contoso: 18 of 42 attributed, 42.9%. Without the four suppressed findings, 18 of
    // 38: 47.4%. A bar of 45% fails without the suppressions and holds with them.
    let (code, _, _) = demo(d, &["--quiet", "--fail-under", "45"]);
    assert_eq!(code, 1);
    let (code, stdout, stderr) = demo(
        d,
        &[
            "--suppressions",
            "suppressions.toml",
            "--fail-under",
            "45",
            "--csv",
            "audit.csv",
            "--json",
            "audit.json",
            "--markdown",
            "audit.md",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("suppressions_warnings", stderr);
    let suppressed_section = stdout
        .split("\nSuppressed (4)")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .unwrap_or_else(|| panic!("{stdout}"));
    insta::assert_snapshot!("suppressions_terminal_section", suppressed_section);
    assert!(
        stdout.contains(
            "4 suppressed findings are accepted in the suppressions file and left out of --fail-under: coverage without them 47.4%."
        ),
        "{stdout}"
    );
    // Still 42.9%: a suppressed verdict keeps its status.
    assert!(
        stdout.contains("Coverage 42.9% — 18 of 42 resources attributed"),
        "{stdout}"
    );

    let rows = read_csv(&std::fs::read_to_string(d.join("audit.csv")).unwrap());
    let suppressed: Vec<&Row> = rows.iter().filter(|r| r["suppressed"] == "true").collect();
    let mut names: Vec<&str> = suppressed
        .iter()
        .map(|r| r["resource_name"].as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Daily sales digest",
            "Expense Claims (UAT)",
            "Field Service Hub (UAT)",
            "Invoice approval (UAT)"
        ]
    );
    assert!(suppressed.iter().all(|r| r["status"] == "unattributed"));
    let visitor = rows
        .iter()
        .find(|r| r["resource_name"] == "Visitor Sign-in")
        .unwrap();
    assert_eq!(
        visitor["suppressed"], "false",
        "an expired entry suppresses nothing"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("audit.json")).unwrap()).unwrap();
    assert_eq!(json["summary"]["suppressed"], 4);
    assert_eq!(json["summary"]["coverage_pct"], 42.9);
    assert_eq!(json["summary"]["gate_coverage_pct"], 47.4);

    let md = std::fs::read_to_string(d.join("audit.md")).unwrap();
    assert_eq!(md.matches("(suppressed)").count(), 4);
    assert!(md.contains(
        "  - **Suppressed** until 2099-12-31 by jane.doe@fabrikam.com (`suppressions.toml:2`): Contoso's own flow, built before the engagement"
    ), "{md}");
}

#[test]
fn malformed_suppressions_are_errors_at_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bad.toml"),
        "[[suppress]]\r\nname = \"Expense*\"\r\nreason = \"r\"\r\napproved_by = \"a\"\r\nexpires = \"31/12/2026\"\r\n\r\n[[suppress]]\r\nreason = \"nothing to match\"\r\napproved_by = \"a\"\r\nexpires = 2026-01-01\r\n",
    )
    .unwrap();
    let (code, stdout, stderr) = demo(d, &["--suppressions", "bad.toml"]);
    assert_eq!(code, 2);
    assert!(
        stdout.is_empty() || !stdout.contains("Coverage"),
        "no report on bad input"
    );
    insta::assert_snapshot!("suppressions_malformed", stderr);

    std::fs::write(
        d.join("typo.toml"),
        "[[suppress]]\nname = \"x\"\nexpiry = 2026-01-01\n",
    )
    .unwrap();
    let (code, _, stderr) = demo(d, &["--suppressions", "typo.toml"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("suppressions_unknown_key", stderr);

    let (code, _, stderr) = demo(d, &["--suppressions", "missing.toml"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("suppressions_missing_file", stderr);
}

#[test]
fn a_portfolio_applies_suppressions_to_every_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, stderr) = demo(d, &["--quiet", "--snapshot", "customers/contoso"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(d.join("suppressions.toml"), SUPPRESSIONS).unwrap();
    let ids = repo().join("fixtures/tenants/contoso/identities.csv");
    let out = palaudit_with_token(d, "unused")
        .args(["audit", "--snapshots", "customers", "--identities"])
        .arg(&ids)
        .args(["--suppressions", "suppressions.toml", "--json", "all.json"])
        .args(["--fail-under", "45"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = redact_times(&text(&out.stdout));
    assert!(stdout.contains("Sup-"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("all.json")).unwrap()).unwrap();
    let line = &json["rollup"]["tenants"][0];
    assert_eq!(line["suppressed"], 4);
    assert_eq!(line["coverage_pct"], 42.9);
    assert_eq!(line["gate_coverage_pct"], 47.4);
}
