//! `palaudit identities verify` against a loopback ARM (`fixtures/tenants/roster/`):
//! linked, not linked (404), another partner, a credential that fails, identities with
//! and without Azure RBAC assignments, and the bad input that exits 2.

mod common;

use assert_cmd::Command;
use common::*;
use std::path::Path;

const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

/// The made-up caller tokens of the fixture.
fn token(name: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("fixtures/tenants/roster/tokens.json")).unwrap(),
    )
    .unwrap();
    v["tokens"][name].as_str().unwrap().to_owned()
}

fn config(served: &Served, credentials: &str) -> String {
    format!(
        "tenant_id = \"{TENANT}\"\n\n[auth]\nmethod = \"static-token\"\n\n[endpoints]\narm = \"{}\"\n\n{credentials}",
        served.server.endpoint("arm")
    )
}

const CREDENTIALS: &str = r#"[[credentials]]
app_id = "4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d"
token_env = "FABRIKAM_DEPLOY_TOKEN"

[[credentials]]
app_id = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
token_env = "FABRIKAM_REPORTING_TOKEN"

[[credentials]]
app_id = "8c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
token_env = "FABRIKAM_LEGACY_TOKEN"

[[credentials]]
app_id = "ae5f6a7b-8c9d-4e0f-9a1b-3c4d5e6f7a8b"
token_env = "FABRIKAM_PIPELINE_TOKEN"
"#;

fn palaudit(dir: &Path) -> Command {
    let mut cmd = palaudit_with_token(dir, &token("auditor"));
    cmd.env("FABRIKAM_DEPLOY_TOKEN", token("deploy"))
        .env("FABRIKAM_REPORTING_TOKEN", token("reporting"))
        .env("FABRIKAM_LEGACY_TOKEN", token("old_integration"))
        .env("FABRIKAM_PIPELINE_TOKEN", token("expired"));
    cmd
}

/// `palaudit identities verify ARGS --identities <the roster fixture>` on `cmd`.
fn verify(cmd: &mut Command, args: &[&str]) -> std::process::Output {
    cmd.args(["identities", "verify"])
        .args(args)
        .arg("--identities")
        .arg(repo().join("fixtures/tenants/roster/identities.csv"))
        .output()
        .unwrap()
}

#[test]
fn verify_reads_each_link_and_rbac_and_prints_the_fixes() {
    let served = serve("roster");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("contoso.toml"),
        config(&served, CREDENTIALS),
    )
    .unwrap();
    let out = verify(
        &mut palaudit(dir.path()),
        &["--config", "contoso.toml", "--out", "check.json"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let base = served.server.base_url();
    insta::assert_snapshot!("verify_stdout", stdout.replace(&base, "[BASE]"));

    let check: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("check.json")).unwrap())
            .unwrap();
    let by_line = |line: u64| {
        check["identities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["line"] == line)
            .unwrap()
            .clone()
    };
    let state = |line| by_line(line)["link_state"].as_str().unwrap().to_owned();
    assert_eq!(state(2), "linked", "the [auth] user");
    assert_eq!(state(3), "linked", "after a 429");
    assert_eq!(state(4), "not_linked");
    assert_eq!(state(5), "other_partner");
    assert_eq!(by_line(5)["linked_partner_id"], "9999999");
    assert_eq!(state(6), "cannot_check", "ARM refused the token");
    assert!(
        by_line(6)["detail"]
            .as_str()
            .unwrap()
            .contains("the ManagementPartner API answered HTTP 401")
    );
    assert_eq!(state(7), "cannot_check", "no credential");
    assert_eq!(
        check["identities"].as_array().unwrap().len(),
        6,
        "other tenants are not checked"
    );
    assert_eq!(by_line(2)["rbac_assignments"], 1);
    assert_eq!(
        by_line(3)["rbac_assignments"],
        2,
        "subscription and resource group"
    );
    assert_eq!(by_line(4)["rbac_assignments"], 0);
    // The roster row had no object id; the identity's own token names it.
    assert!(
        by_line(6)["object_id"].is_null(),
        "the roster's own ids are kept"
    );
    assert_eq!(
        by_line(6)["resolved_object_id"],
        "be6f7a8b-9c0d-4e1f-8a2b-4c5d6e7f8a9b"
    );
    assert_eq!(by_line(6)["rbac_assignments"], 0);
    assert_eq!(check["subscriptions"], 2, "both pages, after a 503");
    assert!(
        by_line(4)["fix"][0]
            .as_str()
            .unwrap()
            .ends_with("az managementpartner create --partner-id 1234567")
    );

    // --fail-on-gap turns the not-linked and other-partner identities into exit 1.
    let out = verify(
        &mut palaudit(dir.path()),
        &["--quiet", "--fail-on-gap", "--config", "contoso.toml"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    // Read-only: every request was a GET, and no token reached the output.
    assert!(served.server.requests().iter().all(|r| r.method == "GET"));
    for name in [
        "auditor",
        "deploy",
        "reporting",
        "old_integration",
        "expired",
    ] {
        assert!(!stdout.contains(&token(name)));
        assert!(
            !std::fs::read_to_string(dir.path().join("check.json"))
                .unwrap()
                .contains(&token(name))
        );
    }
}

#[test]
fn bad_credentials_and_an_unknown_tenant_exit_2() {
    let served = serve("roster");
    let dir = tempfile::tempdir().unwrap();
    let identities = repo().join("fixtures/tenants/roster/identities.csv");
    let run = |config_text: String, extra_env: Option<(&str, String)>| {
        std::fs::write(dir.path().join("c.toml"), config_text).unwrap();
        let mut cmd = palaudit(dir.path());
        if let Some((k, v)) = extra_env {
            cmd.env(k, v);
        }
        let out = cmd
            .args(["identities", "verify", "--config", "c.toml", "--identities"])
            .arg(&identities)
            .output()
            .unwrap();
        (out.status.code(), text(&out.stderr))
    };

    let (code, stderr) = run(
        config(
            &served,
            "[[credentials]]\napp_id = \"4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d\"\nclient_secret_file = \"secrets/deploy.txt\"\n",
        ),
        None,
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("c.toml:9: credentials for app_id 4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d: client_secret_file"), "{stderr}");
    assert!(stderr.contains("secrets/deploy.txt"), "{stderr}");

    std::fs::write(
        dir.path().join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (code, stderr) = run(
        config(
            &served,
            "[[credentials]]\napp_id = \"4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d\"\ncertificate_file = \"broken.pem\"\n",
        ),
        None,
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("certificate_file") && stderr.contains("broken.pem"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("secret.txt"), "s3cr3t-value-never-printed").unwrap();
    let (code, stderr) = run(
        config(
            &served,
            "[[credentials]]\napp_id = \"not-a-guid\"\nclient_secret_file = \"secret.txt\"\n",
        ),
        None,
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("c.toml:10:10: credentials.app_id `not-a-guid` is not a GUID"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"));

    // A token of another tenant would read another tenant's link: refused before any
    // request, when its claims say so …
    let (code, stderr) = run(
        config(&served, ""),
        Some(("PALAUDIT_ACCESS_TOKEN", token("other_tenant"))),
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("c.toml: the [auth] sign-in is for tenant 11111111-2222-3333-4444-555555555555, not for tenant_id"),
        "{stderr}"
    );
    // … and when ARM says so.
    let (code, stderr) = run(
        config(&served, ""),
        Some(("PALAUDIT_ACCESS_TOKEN", token("opaque_other_tenant"))),
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!(
            "c.toml: tenant {TENANT} cannot be read with this sign-in"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("InvalidAuthenticationTokenTenant"),
        "{stderr}"
    );

    // A token_env token must be the service principal's own.
    let (code, stderr) = run(
        config(
            &served,
            "[[credentials]]\napp_id = \"6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\"\ntoken_env = \"FABRIKAM_DEPLOY_TOKEN\"\n",
        ),
        None,
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("c.toml:9: credentials for app_id 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d: the token was issued to application 4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d"),
        "{stderr}"
    );
    let (code, stderr) = run(
        config(
            &served,
            "[[credentials]]\napp_id = \"6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\"\ntoken_env = \"FABRIKAM_DEPLOY_TOKEN\"\n",
        ),
        Some(("FABRIKAM_DEPLOY_TOKEN", token("auditor"))),
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("the token is a user's"), "{stderr}");
}

/// A 404 that is not the API's `NotFound` (a wrong `[endpoints] arm`, a proxy) is not
/// "no link": nobody is told to create one.
#[test]
fn a_foreign_404_is_cannot_check_not_not_linked() {
    let served = serve("roster");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        config(
            &served,
            "[[credentials]]\napp_id = \"6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\"\ntoken_env = \"PROXY_TOKEN\"\n",
        ),
    )
    .unwrap();
    let out = verify(
        palaudit(dir.path()).env("PROXY_TOKEN", token("reporting_via_proxy")),
        &["--quiet", "--config", "c.toml", "--out", "check.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let check: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("check.json")).unwrap())
            .unwrap();
    let reporting = check["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["line"] == 4)
        .unwrap();
    assert_eq!(reporting["link_state"], "cannot_check");
    assert!(reporting["fix"].as_array().unwrap().is_empty());
    assert!(
        reporting["detail"].as_str().unwrap().contains("HTTP 404"),
        "{reporting}"
    );
}

#[test]
fn audit_shows_the_verified_links_in_its_roster_section() {
    let served = serve("roster");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("contoso.toml"),
        config(&served, CREDENTIALS),
    )
    .unwrap();
    let out = verify(
        &mut palaudit(dir.path()),
        &["--quiet", "--config", "contoso.toml", "--out", "check.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "--quiet");

    // The sample tenant is the same Contoso: Pat and the deployment service principal
    // are on both rosters.
    let out = palaudit(dir.path())
        .args(["demo", "--quiet", "--snapshot", "snap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = palaudit(dir.path())
        .args([
            "audit",
            "--quiet",
            "--snapshot",
            "snap",
            "--roster-check",
            "check.json",
            "--roster-csv",
            "roster.csv",
            "--identities",
        ])
        .arg(repo().join("fixtures/tenants/contoso/identities.csv"))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Checked identities Contoso's roster does not list are named, not dropped.
    assert!(
        stderr.contains("warning: the roster check names 7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e of partner 1234567"),
        "{stderr}"
    );
    let roster = read_csv(&std::fs::read_to_string(dir.path().join("roster.csv")).unwrap());
    let row = |name: &str| {
        roster
            .iter()
            .find(|r| r["display_name"] == name)
            .unwrap()
            .clone()
    };
    let pat = row("Pat Kowalski (Fabrikam guest)");
    assert_eq!(
        (pat["link_state"].as_str(), pat["rbac_assignments"].as_str()),
        ("linked", "1")
    );
    let sp = row("Fabrikam Deployment Automation");
    assert_eq!(
        (sp["link_state"].as_str(), sp["rbac_assignments"].as_str()),
        ("linked", "2")
    );
    let marco = row("Marco Rossi (Fabrikam guest)");
    assert_eq!(
        marco["link_state"], "unverified",
        "another object id than the roster fixture's Marco"
    );
    let priya = row("Priya Sharma (Northwind guest)");
    assert_eq!(
        (
            priya["link_state"].as_str(),
            priya["rbac_assignments"].as_str()
        ),
        ("unverified", "")
    );

    // A check for another tenant, or a file that is not a check, is refused.
    let audit_with = |check: &str| {
        palaudit(dir.path())
            .args([
                "audit",
                "--quiet",
                "--snapshot",
                "snap",
                "--roster-check",
                check,
                "--identities",
            ])
            .arg(repo().join("fixtures/tenants/contoso/identities.csv"))
            .output()
            .unwrap()
    };
    let other = std::fs::read_to_string(dir.path().join("check.json"))
        .unwrap()
        .replace(TENANT, "11111111-2222-3333-4444-555555555555");
    std::fs::write(dir.path().join("other.json"), other).unwrap();
    let out = audit_with("other.json");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(
        "is for tenant 11111111-2222-3333-4444-555555555555, but the snapshot is of tenant"
    ));
    std::fs::write(dir.path().join("broken.json"), "{\"tenant_id\": 7}").unwrap();
    let out = audit_with("broken.json");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("broken.json:1:"),
        "{}",
        text(&out.stderr)
    );
}
