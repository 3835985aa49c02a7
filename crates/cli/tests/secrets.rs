//! No bearer token leaves palaudit: a collection whose APIs quote the token back (a 401
//! body, a 400 error message, a Graph `$batch` sub-answer, a `nextLink` cursor) is run
//! with `--verbose --raw`, then audited, and `identities verify` is run with its
//! callers' tokens quoted back by ARM; the token appears in no stdout, no stderr, no log
//! line and no byte of any file written (snapshot, manifest, raw pages, index, reports,
//! roster check).

mod common;

use common::*;
use palaudit_replay::Tenant;
use std::path::Path;

const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

/// A token shaped like the real ones (a JWT), made up for this test.
const TOKEN: &str =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJsZWFrIjoidGVzdCJ9.bGVhay10ZXN0LXNpZ25hdHVyZQ";

/// Every file under `dir` whose bytes contain `needle`, and the first place in each.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&p).unwrap();
            if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
                let from = at.saturating_sub(60);
                found.push(format!(
                    "{}: …{}…",
                    p.display(),
                    String::from_utf8_lossy(
                        &bytes[from..(at + needle.len() + 20).min(bytes.len())]
                    )
                ));
            }
        }
    }
    assert!(files > 5, "only {files} files under {}", dir.display());
    found
}

fn json_error(message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "error": {"code": "InvalidAuthenticationToken", "message": message}
    }))
    .unwrap()
}

/// Contoso, with the token quoted back by four APIs.
fn quoting_tenant() -> Tenant {
    let mut tenant = Tenant::from_dir(&repo().join("fixtures/tenants/contoso")).unwrap();
    let mut edited = [false; 4];
    tenant.edit_responses(|_, path, query, responses| {
        let first = &mut responses[0];
        if path.ends_with("/scopes/admin/environments") && query.len() == 1 {
            // The next page's link carries the token as a cursor.
            let body = String::from_utf8(first.body.clone().unwrap()).unwrap();
            assert!(body.contains("$skiptoken=p2"), "{body}");
            first.body = Some(
                body.replace("$skiptoken=p2", &format!("$skiptoken=p2&cursor={TOKEN}"))
                    .into_bytes(),
            );
            edited[0] = true;
        } else if path.ends_with("/apps/390d7a36-c0d0-42f2-a906-2a23e04e8ed9/permissions") {
            first.status = 401;
            first.body = Some(json_error(&format!(
                "The access token '{TOKEN}' is not valid for this app."
            )));
            edited[1] = true;
        } else if path.ends_with("/flows/3762aff0-782d-445e-8c98-45f5b94118a9/permissions") {
            first.status = 400;
            first.body = Some(json_error(&format!(
                "Bad request from Authorization: Bearer {TOKEN}"
            )));
            edited[2] = true;
        } else if path == "/graph/v1.0/users/77683a7d-7f5f-40ee-b171-212656ea1f96" {
            first.status = 403;
            first.body = Some(json_error(&format!("token {TOKEN} lacks User.Read.All")));
            edited[3] = true;
        }
    });
    assert_eq!(edited, [true; 4], "the contoso fixture changed shape");
    tenant
}

#[test]
fn collect_verbose_raw_and_audit_never_show_the_token() {
    let served = serve_tenant(quoting_tenant());
    let dir = tempfile::tempdir().unwrap();
    write_replay_config(dir.path(), "contoso.toml", TENANT, &served);
    let out = palaudit_with_token(dir.path(), TOKEN)
        .args([
            "collect",
            "--config",
            "contoso.toml",
            "--out",
            "snap",
            "--raw",
            "--verbose",
        ])
        .env("PALAUDIT_LOG", "debug")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // The quoted answers are collection errors: the run is partial and says so.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(stderr.contains("HTTP 400"), "{stderr}");
    assert!(stderr.contains("REDACTED"), "{stderr}");
    // The second environments page was read through the cursor link.
    assert!(stderr.contains("cursor=REDACTED"), "{stderr}");
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "{stdout}\n{stderr}"
    );

    let audit = palaudit_with_token(dir.path(), TOKEN)
        .args(["audit", "--snapshot", "snap", "--identities"])
        .arg(repo().join("fixtures/tenants/contoso/identities.csv"))
        .args([
            "--allow-partial",
            "--csv",
            "audit.csv",
            "--json",
            "audit.json",
            "--markdown",
            "checklist.md",
            "--html",
            "report.html",
            "--xlsx",
            "evidence.xlsx",
            "--fix-plan",
            "fix-plan.sh",
        ])
        .output()
        .unwrap();
    let (a_out, a_err) = (text(&audit.stdout), text(&audit.stderr));
    assert!(audit.status.code().is_some_and(|c| c <= 1), "{a_err}");
    assert!(
        !a_out.contains(TOKEN) && !a_err.contains(TOKEN),
        "{a_out}\n{a_err}"
    );
    assert!(dir.path().join("snap.raw/index.tsv").exists());
    let leaks = files_containing(dir.path(), TOKEN.as_bytes());
    assert!(leaks.is_empty(), "the token is in:\n{}", leaks.join("\n"));
}

#[test]
fn identities_verify_never_shows_a_callers_token() {
    let tokens: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("fixtures/tenants/roster/tokens.json")).unwrap(),
    )
    .unwrap();
    let token = |name: &str| tokens["tokens"][name].as_str().unwrap().to_owned();
    let (auditor, deploy) = (token("auditor"), token("deploy"));
    let mut tenant = Tenant::from_dir(&repo().join("fixtures/tenants/roster")).unwrap();
    // ARM rejects the deploy identity's link read and the auditor's subscription list,
    // quoting both tokens.
    let quoted = json_error(&format!("rejected {auditor} and {deploy}"));
    let mut edited = [false; 2];
    tenant.edit_responses(|_, path, _, responses| {
        if path.ends_with("/Microsoft.ManagementPartner/partners") && responses[0].status == 429 {
            responses[0].status = 401;
            responses[0].headers.clear();
            responses[0].body = Some(quoted.clone());
            edited[0] = true;
        } else if path == "/arm/subscriptions" {
            for r in responses.iter_mut() {
                r.status = 403;
                r.body = Some(quoted.clone());
            }
            edited[1] = true;
        }
    });
    assert_eq!(edited, [true; 2], "the roster fixture changed shape");
    let served = serve_tenant(tenant);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("contoso.toml"),
        format!(
            "tenant_id = \"{TENANT}\"\n\n[auth]\nmethod = \"static-token\"\n\n[endpoints]\narm = \"{}\"\n\n[[credentials]]\napp_id = \"4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d\"\ntoken_env = \"FABRIKAM_DEPLOY_TOKEN\"\n",
            served.server.endpoint("arm")
        ),
    )
    .unwrap();
    let out = palaudit_with_token(dir.path(), &auditor)
        .env("FABRIKAM_DEPLOY_TOKEN", &deploy)
        .env("PALAUDIT_LOG", "debug")
        .args([
            "identities",
            "verify",
            "--config",
            "contoso.toml",
            "--out",
            "check.json",
            "--identities",
        ])
        .arg(repo().join("fixtures/tenants/roster/identities.csv"))
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.code().is_some_and(|c| c <= 2), "{stderr}");
    let check = std::fs::read_to_string(dir.path().join("check.json")).unwrap();
    // The quoted answers did reach what verify reports, with the tokens taken out.
    assert!(
        check.contains("rejected REDACTED and REDACTED") || stdout.contains("rejected REDACTED"),
        "{check}\n{stdout}"
    );
    for secret in [&auditor, &deploy] {
        assert!(
            !stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()),
            "{stdout}\n{stderr}"
        );
        let leaks = files_containing_any(dir.path(), secret.as_bytes());
        assert!(leaks.is_empty(), "a token is in:\n{}", leaks.join("\n"));
    }
}

/// [`files_containing`] without the "enough files" check (verify writes one file).
fn files_containing_any(dir: &Path, needle: &[u8]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            std::fs::read(p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
        })
        .map(|p| p.display().to_string())
        .collect()
}
