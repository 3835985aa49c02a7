//! `palaudit demo` end to end: the bundled sample tenant is served by the loopback replay
//! server, collected by the real collectors, audited, and every verdict compared with
//! `fixtures/tenants/contoso/expected.csv`.

mod common;

use assert_cmd::Command;
use common::*;
use std::collections::BTreeMap;

/// Replaces the collection timestamp, which is the time the demo ran.
fn redact_time(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        match line.find("collected 20") {
            Some(i) => {
                let rest = &line[i + "collected ".len()..];
                let end = rest.find(" UTC").map(|e| e + 4).unwrap_or(rest.len());
                out.push_str(&line[..i]);
                out.push_str("collected [TIME]");
                out.push_str(&rest[end..]);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn demo_collects_the_sample_tenant_and_every_verdict_is_right() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("palaudit")
        .unwrap()
        .args([
            "demo",
            "--csv",
            "audit.csv",
            "--json",
            "findings.json",
            "--markdown",
            "checklist.md",
            "--roster-csv",
            "roster.csv",
        ])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.is_empty(),
        "the demo tenant collects cleanly: {stderr}"
    );
    insta::assert_snapshot!(
        "demo_stdout",
        redact_time(&String::from_utf8_lossy(&out.stdout))
    );

    let audit_csv = std::fs::read_to_string(dir.path().join("audit.csv")).unwrap();
    let wrong = verdict_differences(&audit_csv);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let got = read_csv(&audit_csv);
    let expected_rows = read_csv(
        &std::fs::read_to_string(repo().join("fixtures/tenants/contoso/expected.csv")).unwrap(),
    )
    .len();

    // Change paths, cell for cell from the rule book's compatibility tables.
    let seed: BTreeMap<&str, (&str, &str)> = BTreeMap::from([
        (
            "canvas_app",
            ("gui;powershell;pp_cli;devops", "pp_cli;devops"),
        ),
        ("model_driven_app", ("pp_cli;devops", "pp_cli;devops")),
        (
            "flow",
            (
                "gui;powershell;pp_cli;devops",
                "gui;powershell;pp_cli;devops",
            ),
        ),
        ("powerbi_dataset", ("powershell", "powershell")),
        ("bot", ("pp_cli;devops", "pp_cli;devops")),
    ]);
    for (rt, (user, sp)) in &seed {
        let rows: Vec<&Row> = got.iter().filter(|r| r["resource_type"] == *rt).collect();
        assert!(!rows.is_empty(), "no {rt} rows");
        for r in rows {
            assert_eq!(r["change_paths_user"], *user, "{rt} {}", r["resource_name"]);
            assert_eq!(
                r["change_paths_service_principal"], *sp,
                "{rt} {}",
                r["resource_name"]
            );
        }
    }

    // Credit resting on a personal account: everything attributed except what
    // svc-fabrikam (a service account) and the deployment service principal won.
    let not_at_risk = [
        "Field Inspection",
        "Invoice approval",
        "Vendor Onboarding",
        "General Ledger",
        "Field Service Hub",
        "IT Helpdesk Agent",
    ];
    for r in &got {
        let want =
            r["status"] == "attributed" && !not_at_risk.contains(&r["resource_name"].as_str());
        assert_eq!(
            r["leaver_risk"],
            want.to_string(),
            "leaver_risk of {}",
            r["resource_name"]
        );
    }

    // The roster: Contoso's eight identities in file order; Woodgrove's three counted only.
    let roster = read_csv(&std::fs::read_to_string(dir.path().join("roster.csv")).unwrap());
    let health: Vec<(&str, &str, &str)> = roster
        .iter()
        .map(|r| {
            (
                r["display_name"].as_str(),
                r["health"].as_str(),
                r["credited_resources"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        health,
        [
            ("Pat Kowalski (Fabrikam guest)", "ok", "4"),
            ("Marco Rossi (Fabrikam guest)", "ok", "2"),
            (
                "Jordan Blake (Fabrikam guest; left Fabrikam)",
                "deleted",
                "0"
            ),
            ("Fabrikam delivery account", "ok", "4"),
            ("Fabrikam Deployment Automation", "ok", "2"),
            ("Priya Sharma (Northwind guest)", "ok", "5"),
            ("Sam Taylor (Northwind guest)", "disabled", "0"),
            ("Lee Chen (Northwind guest)", "ok", "1"),
        ]
    );
    let svc = &roster[3];
    assert_eq!(svc["account_kind"], "service_account");
    assert!(
        !svc["object_id"].is_empty(),
        "resolved from the UPN by Graph"
    );
    assert!(
        roster
            .iter()
            .all(|r| r["link_state"] == "unverified" && r["rbac_assignments"].is_empty())
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("findings.json")).unwrap())
            .unwrap();
    assert_eq!(json["verdicts"].as_array().unwrap().len(), expected_rows);
    assert_eq!(json["roster"]["other_tenants"]["identities"], 3);
    assert_eq!(json["roster"]["other_tenants"]["tenants"], 1);
    let md = std::fs::read_to_string(dir.path().join("checklist.md")).unwrap();
    assert!(md.contains("- [ ]") && md.contains("- [x]"));
}

#[test]
fn demo_takes_a_roster_and_fail_under() {
    let dir = tempfile::tempdir().unwrap();
    // A roster for another tenant only: nothing in Contoso can be credited.
    std::fs::write(
        dir.path().join("other.csv"),
        "partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name\n\
         1234567,11111111-2222-3333-4444-555555555555,user,9723d9b0-b8d6-48af-b381-fb4a9f0403e4,,,\n",
    )
    .unwrap();
    let out = Command::cargo_bin("palaudit")
        .unwrap()
        .args([
            "demo",
            "--identities",
            "other.csv",
            "--quiet",
            "--fail-under",
            "1",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no identity for tenant d8d86e5f"),
        "{stderr}"
    );
}

/// `palaudit demo | head -1`: once the reader has gone, palaudit ends quietly with exit 0
/// (as ripgrep does) instead of reporting the closed pipe as an error.
#[test]
fn a_reader_that_goes_away_ends_the_run_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("palaudit"))
        .arg("demo")
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the demo has written anything: its first write fails
    // with a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.is_empty(),
        "nothing to say about a closed pipe: {stderr}"
    );
}
