//! Suppressed verdicts in every format: they keep their status, say they are suppressed
//! (until when, by whom, why, which entry), and the coverage `--fail-under` compares
//! leaves them out.

mod common;

use palaudit_model::{Findings, Status, Suppression};
use palaudit_report::{TerminalOptions, csv, json, markdown, terminal};
use std::sync::Arc;

/// The canned findings with the first unattributed verdict and the first unknown one
/// accepted by two entries of a suppressions file.
fn suppressed_findings() -> Findings {
    let mut f = common::findings();
    let entry = |line: u32, reason: &str| {
        Arc::new(Suppression {
            reason: reason.to_owned(),
            approved_by: "jane.doe@fabrikam.com".to_owned(),
            expires: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            source: format!("suppressions.toml:{line}"),
        })
    };
    let first = |f: &Findings, s: Status| f.verdicts.iter().position(|v| v.status == s).unwrap();
    let u = first(&f, Status::Unattributed);
    f.verdicts[u].suppression = Some(entry(3, "Built by the customer before the engagement"));
    let k = first(&f, Status::Unknown);
    f.verdicts[k].suppression = Some(entry(9, "=cmd|' /C calc'!A0 (a name to neutralise)"));
    f
}

fn render(f: impl FnOnce(&mut Vec<u8>) -> Result<(), palaudit_report::ReportError>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("rendering into a Vec cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

#[test]
fn terminal_suppressed() {
    let opts = TerminalOptions {
        width: Some(150),
        color: false,
    };
    let text = render(|out| terminal(&suppressed_findings(), out, &opts));
    assert!(text.contains("(suppressed)"));
    // 6 of 16 attributed is 37.5%; without the 2 suppressed, 6 of 14 is 42.9%.
    assert!(text.contains("coverage without them 42.9%"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn csv_suppressed() {
    let text = render(|out| csv(&suppressed_findings(), out));
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let suppressed: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[col("suppressed")] == "true")
        .collect();
    assert_eq!(suppressed.len(), 2);
    assert_eq!(&suppressed[0][col("suppression_expires")], "2026-06-30");
    assert_eq!(
        &suppressed[0][col("suppression_approved_by")],
        "jane.doe@fabrikam.com"
    );
    // A reason that reads as a formula is guarded like every other text cell.
    assert!(
        rows.iter()
            .any(|r| r[col("suppression_reason")].starts_with("'=cmd"))
    );
    assert!(
        rows.iter()
            .filter(|r| &r[col("suppressed")] == "false")
            .all(|r| {
                r[col("suppression_reason")].is_empty() && r[col("suppression_expires")].is_empty()
            })
    );
    insta::assert_snapshot!(text);
}

#[test]
fn markdown_suppressed() {
    let text = render(|out| markdown(&suppressed_findings(), out));
    assert_eq!(text.matches("**Suppressed** until 2026-06-30").count(), 2);
    insta::assert_snapshot!(text);
}

#[test]
fn json_suppressed() {
    let text = render(|out| json(&suppressed_findings(), out));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["summary"]["suppressed"], 2);
    assert_eq!(v["summary"]["coverage_pct"], 37.5);
    assert_eq!(v["summary"]["gate_coverage_pct"], 42.9);
    let marked: Vec<&serde_json::Value> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.get("suppression").is_some())
        .collect();
    assert_eq!(marked.len(), 2);
    assert_eq!(marked[0]["suppression"]["source"], "suppressions.toml:3");
    // And it reads back as written.
    assert_eq!(
        palaudit_report::read_json(text.as_bytes()).unwrap(),
        suppressed_findings()
    );
}
