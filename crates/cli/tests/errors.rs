//! What a user sees for bad input, run as a user runs palaudit: each message names the
//! input (file and line), says it once, and exits 2 — and `docs/errors.md` names a test
//! that exists for every row.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;

fn palaudit(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_in(dir, "unused-token-value", args)
}

#[test]
fn an_os_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = palaudit(
        dir.path(),
        &["collect", "--config", "nope.toml", "--out", "s"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: nope.toml: No such file or directory (os error 2)"
    );
    let (code, _, stderr) = palaudit(
        dir.path(),
        &[
            "identities",
            "verify",
            "--config",
            "nope.toml",
            "--identities",
            "x.csv",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
}

#[test]
fn a_missing_identities_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.pass.json", dir.path());
    let (code, _, stderr) = palaudit(
        dir.path(),
        &[
            "audit",
            "--snapshot",
            "snapshot",
            "--identities",
            "missing.csv",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim_end(),
        "error: cannot read identities file missing.csv: No such file or directory (os error 2)"
    );
}

#[test]
fn an_output_file_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.pass.json", dir.path());
    let (code, _, stderr) = palaudit(
        dir.path(),
        &[
            "audit",
            "--snapshot",
            "snapshot",
            "--identities",
            "identities.csv",
            "--quiet",
            "--csv",
            "no/such/dir/audit.csv",
        ],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("no/such/dir/audit.csv"), "{stderr}");
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
}

#[test]
fn a_wrong_argument_exits_2_with_usage() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = palaudit(dir.path(), &["audit", "--snapshot", "s", "--colour"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unexpected argument '--colour'"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage: palaudit audit"), "{stderr}");
}

#[test]
fn a_config_problem_is_on_its_line_with_any_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        "tenant_id = \"d8d86e5f-13e9-4bb5-bb94-0f99b507cd15\"",
        "",
        "[collect]",
        "max_retries = -3",
    ];
    // A lone CR is not TOML (the parser says so); LF, CRLF and a BOM are.
    for (eol, bom) in [("\n", ""), ("\r\n", ""), ("\r\n", "\u{feff}")] {
        std::fs::write(
            dir.path().join("c.toml"),
            format!("{bom}{}{eol}", lines.join(eol)),
        )
        .unwrap();
        let (code, _, stderr) =
            palaudit(dir.path(), &["collect", "--config", "c.toml", "--out", "s"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("c.toml:4:15: collect.max_retries = -3"),
            "{eol:?} {bom:?}: {stderr}"
        );
    }
}

#[test]
fn a_rule_file_problem_is_on_its_line_once_with_any_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    // A lone CR is not TOML (the parser says so); LF, CRLF and a BOM are.
    for (eol, bom) in [("\n", ""), ("\r\n", ""), ("\r\n", "\u{feff}")] {
        let _ = std::fs::remove_dir_all(&rules);
        std::fs::create_dir(&rules).unwrap();
        for f in std::fs::read_dir(repo().join("rules")).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, rules.join(f.file_name().unwrap())).unwrap();
        }
        let flow = std::fs::read_to_string(rules.join("flow.toml")).unwrap();
        let n = flow.lines().count();
        let broken: Vec<&str> = flow.lines().chain(["title = \"unterminated"]).collect();
        std::fs::write(
            rules.join("flow.toml"),
            format!("{bom}{}{eol}", broken.join(eol)),
        )
        .unwrap();
        let (code, _, stderr) = palaudit(dir.path(), &["rules", "--rules", "rules"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains(&format!("rules/flow.toml:{}:", n + 1)),
            "{eol:?} {bom:?}: {stderr}"
        );
        assert!(
            !stderr.contains("no attribution rule"),
            "a broken file is not also a missing rule: {stderr}"
        );
    }
}

#[test]
fn an_empty_rules_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    let (code, _, stderr) = palaudit(dir.path(), &["rules", "--rules", "rules"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim_end(),
        "error: the rules directory rules has no rule files (`*.toml`)"
    );
}

#[test]
fn a_roster_check_of_another_tenant_or_malformed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.pass.json", dir.path());
    let audit = |file: &str| {
        palaudit(
            dir.path(),
            &[
                "audit",
                "--snapshot",
                "snapshot",
                "--identities",
                "identities.csv",
                "--quiet",
                "--roster-check",
                file,
            ],
        )
    };
    std::fs::write(
        dir.path().join("bad.json"),
        "\u{feff}{\r\n  \"tenant_id\": 3\r\n}",
    )
    .unwrap();
    let (code, _, stderr) = audit("bad.json");
    assert_eq!(code, 2);
    assert!(stderr.contains("bad.json:2:"), "{stderr}");
    std::fs::write(
        dir.path().join("other.json"),
        r#"{"tenant_id": "0b7e0b9c-5d0e-4a56-9f43-3b7a1c2d4e5f", "checked_at": "2026-11-30T10:00:00Z", "identities": []}"#,
    )
    .unwrap();
    let (code, _, stderr) = audit("other.json");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("other.json is for tenant 0b7e0b9c-5d0e-4a56-9f43-3b7a1c2d4e5f"),
        "{stderr}"
    );
}

#[test]
fn a_sealed_manifest_with_another_tenant_is_refused_by_audit() {
    let dir = tempfile::tempdir().unwrap();
    case_tenant("canvas_app.pass.json", dir.path());
    let m = dir.path().join("snapshot/manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tenant = v["tenant_id"].as_str().unwrap().to_owned();
    std::fs::write(
        &m,
        text.replace(&tenant, "0b7e0b9c-5d0e-4a56-9f43-3b7a1c2d4e5f"),
    )
    .unwrap();
    let (code, _, stderr) = palaudit(
        dir.path(),
        &[
            "audit",
            "--snapshot",
            "snapshot",
            "--identities",
            "identities.csv",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        stderr
            .contains("manifest.json: corrupt manifest: the manifest was changed after collection"),
        "{stderr}"
    );
}

/// Every row of `docs/errors.md` names at least one test, and every test it names is a
/// `fn` in the repository's Rust sources, so the table cannot promise what is not tested.
#[test]
fn every_row_of_docs_errors_names_tests_that_exist() {
    let doc = std::fs::read_to_string(repo().join("docs/errors.md")).unwrap();
    let mut fns = BTreeSet::new();
    let mut files = BTreeSet::new();
    let mut stack = vec![repo().join("crates")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.insert(p.file_name().unwrap().to_string_lossy().into_owned());
                let text = std::fs::read_to_string(&p).unwrap();
                for line in text.lines() {
                    let line = line.trim_start();
                    let rest = line
                        .strip_prefix("fn ")
                        .or_else(|| line.strip_prefix("async fn "))
                        .or_else(|| line.strip_prefix("pub fn "));
                    if let Some(rest) = rest {
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        fns.insert(name);
                    }
                }
            }
        }
    }
    let mut rows = 0;
    let mut problems = Vec::new();
    for (n, line) in doc.lines().enumerate() {
        let cells: Vec<&str> = line.split(" | ").collect();
        if !line.starts_with("| ") || cells.len() < 4 || line.starts_with("| input") {
            continue;
        }
        rows += 1;
        let tests = cells[cells.len() - 1];
        let named: Vec<&str> = tests.split('`').skip(1).step_by(2).collect();
        let mut fns_named = 0;
        for name in named {
            if name.ends_with(".rs") {
                let file = name.rsplit('/').next().unwrap();
                if !files.contains(file) {
                    problems.push(format!("docs/errors.md:{}: no file {name}", n + 1));
                }
            } else if name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                fns_named += 1;
                if !fns.contains(name) {
                    problems.push(format!("docs/errors.md:{}: no test fn {name}", n + 1));
                }
            }
        }
        if fns_named == 0 {
            problems.push(format!("docs/errors.md:{}: the row names no test", n + 1));
        }
    }
    assert!(rows >= 40, "only {rows} rows read from docs/errors.md");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
