//! The evidence a partner hands over, end to end: `palaudit demo --xlsx` on the bundled
//! Contoso tenant, read back with calamine and compared with the audit CSV of the same
//! run; and a two-tenant portfolio in one workbook.

mod common;

use calamine::{Data, Reader, Xlsx, open_workbook};
use common::*;
use std::path::Path;

const CONTOSO: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";
const ADATUM: &str = "5f0c8a44-2b7e-4c1d-9a3f-6e8b0d2c4a71";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.palaudit-evidence-test-token";

fn cell(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => format!("{s:?}"),
        Data::Float(n) => format!("n:{n}"),
        Data::Int(n) => format!("n:{n}"),
        Data::Bool(b) => format!("b:{b}"),
        Data::DateTime(t) => {
            let (y, m, d, h, mi, s, _) = t.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("d:{y:04}-{m:02}-{d:02}")
            } else {
                format!("d:{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        other => format!("?{other:?}"),
    }
}

fn rows(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// A sheet as text, one line per row, cells tagged with their type.
fn grid(rows: &[Vec<Data>]) -> String {
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().map(cell).collect();
        out.push_str(cells.join(" | ").trim_end_matches([' ', '|']));
        out.push('\n');
    }
    redact_port(&out)
}

/// The demo serves its tenant on a fresh loopback port each run; Dataverse addresses in
/// the fix plan carry it.
fn redact_port(text: &str) -> String {
    let marker = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        out.push_str(&rest[..i + marker.len()]);
        rest = &rest[i + marker.len()..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str("[PORT]");
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// The CSV's text for a workbook cell: what the audit CSV writes for the same value.
fn as_csv_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(t) => {
            let (y, m, d, ..) = t.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        other => other.to_string(),
    }
}

#[test]
fn demo_writes_the_plan_and_the_workbook_and_the_workbook_holds_every_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, stderr) = run_in(
        d,
        TOKEN,
        &[
            "demo",
            "--quiet",
            "--csv",
            "audit.csv",
            "--fix-plan",
            "plan.ps1",
            "--xlsx",
            "e.xlsx",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(d.join("plan.ps1").is_file());
    let book = d.join("e.xlsx");

    // The Verdicts sheet is the audit CSV, cell for cell, with typed cells.
    let csv = std::fs::read_to_string(d.join("audit.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let verdicts = rows(&book, "Verdicts");
    assert_eq!(
        verdicts[0].iter().map(as_csv_text).collect::<Vec<_>>(),
        header
    );
    assert_eq!(verdicts.len() - 1, records.len());
    assert!(records.len() >= 10, "the demo tenant has resources");
    for (row, record) in verdicts[1..].iter().zip(&records) {
        for (i, (cell, text)) in row.iter().zip(record.iter()).enumerate() {
            // The CSV guards formula-like names with a leading `'`; the workbook writes
            // them as text and needs no guard.
            let text = text.strip_prefix('\'').unwrap_or(text);
            assert_eq!(as_csv_text(cell), text, "column {}", header[i]);
        }
        let leaver = header.iter().position(|h| h == "leaver_risk").unwrap();
        assert!(matches!(row[leaver], Data::Bool(_)), "{:?}", row[leaver]);
    }

    insta::assert_snapshot!("contoso_workbook_summary", grid(&rows(&book, "Summary")));
    insta::assert_snapshot!("contoso_workbook_roster", grid(&rows(&book, "Roster")));
    insta::assert_snapshot!("contoso_workbook_fix_plan", grid(&rows(&book, "Fix plan")));

    // The Run sheet: what ran, on what; the time and the snapshot's digest vary.
    let run = rows(&book, "Run");
    assert_eq!(run.len(), 2);
    assert!(matches!(run[1][2], Data::DateTime(_)), "{:?}", run[1][2]);
    let digest = as_csv_text(&run[1][6]);
    assert!(
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{digest}"
    );
    assert_eq!(as_csv_text(&run[1][0]), CONTOSO);
    let version = format!("palaudit {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(as_csv_text(&run[1][3]), version);
    assert_eq!(as_csv_text(&run[1][4]), version);
    assert_eq!(as_csv_text(&run[1][7]), format!("bundled ({version})"));
    assert!(as_csv_text(&run[1][8]).starts_with("bundled sample roster"));
}

#[test]
fn a_bad_workbook_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_in(
        dir.path(),
        TOKEN,
        &["demo", "--quiet", "--xlsx", "no/such/dir/e.xlsx"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no/such/dir/e.xlsx"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Collects the recorded tenant `name` into `dir/customers/<name>`.
fn collect(dir: &Path, name: &str, tenant_id: &str) {
    let served = serve(name);
    let config = write_replay_config(dir, &format!("{name}.toml"), tenant_id, &served);
    let run = palaudit_with_token(dir, TOKEN)
        .args(["collect", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(format!("customers/{name}"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
}

#[test]
fn a_portfolio_is_one_workbook_with_every_tenant_and_a_rollup() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    collect(d, "contoso", CONTOSO);
    collect(d, "adatum", ADATUM);
    let roster = |name: &str| {
        std::fs::read_to_string(repo().join(format!("fixtures/tenants/{name}/identities.csv")))
            .unwrap()
    };
    let adatum = roster("adatum");
    std::fs::write(
        d.join("pal-identities.csv"),
        format!(
            "{}\n{}",
            roster("contoso").trim_end(),
            adatum.split_once('\n').unwrap().1
        ),
    )
    .unwrap();
    let (code, _, stderr) = run_in(
        d,
        TOKEN,
        &[
            "audit",
            "--quiet",
            "--snapshots",
            "customers",
            "--identities",
            "pal-identities.csv",
            "--csv",
            "all.csv",
            "--xlsx",
            "all.xlsx",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let book = d.join("all.xlsx");
    let csv = std::fs::read_to_string(d.join("all.csv")).unwrap();
    let verdicts = rows(&book, "Verdicts");
    assert_eq!(verdicts.len(), csv.lines().count());
    let tenants: std::collections::BTreeSet<String> =
        verdicts[1..].iter().map(|r| as_csv_text(&r[0])).collect();
    assert_eq!(tenants.len(), 2);

    let summary = rows(&book, "Summary");
    let total = |tenant: &str| {
        summary
            .iter()
            .find(|r| as_csv_text(&r[0]) == tenant && as_csv_text(&r[1]) == "All environments")
            .map(|r| as_csv_text(&r[8]))
            .unwrap()
    };
    let count = |tenant: &str| {
        verdicts[1..]
            .iter()
            .filter(|r| as_csv_text(&r[0]) == tenant)
            .count()
            .to_string()
    };
    assert_eq!(total(CONTOSO), count(CONTOSO));
    assert_eq!(total(ADATUM), count(ADATUM));
    let all = summary.last().unwrap();
    assert_eq!(as_csv_text(&all[0]), "All tenants");
    assert_eq!(as_csv_text(&all[8]), (verdicts.len() - 1).to_string());

    let run = rows(&book, "Run");
    let labels: Vec<String> = run[1..].iter().map(|r| as_csv_text(&r[1])).collect();
    assert_eq!(labels, ["adatum", "contoso"]);
}
