//! The evidence workbook, read back with calamine (and, for what calamine does not
//! expose — frozen panes, autofilters — from the sheet XML inside the zip).

mod common;

use calamine::{Data, Reader, Xlsx, open_workbook};
use palaudit_model::{
    AuditHeader, Findings, ResourceType, RunInfo, Status, Suppression, Verdict, VerdictSink,
};
use palaudit_report::{
    CSV_COLUMNS, CSV_EXTRA_COLUMNS, EvidenceWorkbook, FIX_PLAN_COLUMNS, ROSTER_CSV_COLUMNS,
    RUN_COLUMNS, SHEETS, SUMMARY_COLUMNS, WorkbookOptions,
};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

fn run_info() -> RunInfo {
    RunInfo {
        palaudit_version: "palaudit 9.9.9".into(),
        label: Some("contoso".into()),
        snapshot: Some("/snapshots/contoso".into()),
        snapshot_checksum: Some("ab".repeat(32)),
        collected_by: Some("palaudit 9.9.8".into()),
        rules: "bundled (palaudit 9.9.9)".into(),
        identities: "identities.csv".into(),
    }
}

/// The canned findings with one verdict suppressed and one name that looks like a formula.
fn canned() -> Findings {
    let mut f = common::findings();
    let u = f
        .verdicts
        .iter()
        .position(|v| v.status == Status::Unattributed)
        .unwrap();
    f.verdicts[u].suppression = Some(Arc::new(Suppression {
        reason: "Built by the customer".into(),
        approved_by: "jane.doe@fabrikam.com".into(),
        expires: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        source: "suppressions.toml:3".into(),
    }));
    f.verdicts[0].resource_name = "=HYPERLINK(\"http://x\")".into();
    f
}

fn write(findings: &[Findings], path: &Path) {
    let mut book = EvidenceWorkbook::create(path, WorkbookOptions::default()).unwrap();
    for f in findings {
        let header = AuditHeader {
            run: Some(run_info()),
            ..f.header()
        };
        f.replay_with(&header, &mut book).unwrap();
    }
    book.finish().unwrap();
}

/// A sheet as text: one line per row, each cell tagged with its type, so a snapshot
/// shows numbers as numbers and dates as dates.
fn grid(path: &Path, sheet: &str) -> String {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    let mut out = String::new();
    for row in range.rows() {
        let cells: Vec<String> = row.iter().map(cell).collect();
        out.push_str(cells.join(" | ").trim_end_matches([' ', '|']));
        out.push('\n');
    }
    out
}

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

fn sheet_xml(path: &Path, n: usize) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut xml = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml"))
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

fn header_of(path: &Path, sheet: &str) -> Vec<String> {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect()
}

#[test]
fn the_sheets_and_their_headers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.xlsx");
    write(&[canned()], &path);
    let book: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(book.sheet_names(), SHEETS.map(String::from).to_vec());
    let csv: Vec<&str> = CSV_COLUMNS
        .iter()
        .chain(&CSV_EXTRA_COLUMNS)
        .copied()
        .collect();
    assert_eq!(header_of(&path, "Verdicts"), csv);
    assert_eq!(header_of(&path, "Summary"), SUMMARY_COLUMNS);
    assert_eq!(header_of(&path, "Roster"), ROSTER_CSV_COLUMNS);
    assert_eq!(header_of(&path, "Fix plan"), FIX_PLAN_COLUMNS);
    assert_eq!(header_of(&path, "Run"), RUN_COLUMNS);
}

#[test]
fn every_verdict_is_a_typed_row_in_csv_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.xlsx");
    let f = canned();
    write(std::slice::from_ref(&f), &path);
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let range = book.worksheet_range("Verdicts").unwrap();
    let rows: Vec<&[Data]> = range.rows().skip(1).collect();
    assert_eq!(rows.len(), f.verdicts.len());
    for (row, v) in rows.iter().zip(&f.verdicts) {
        assert_eq!(row[0], Data::String(f.tenant_id.clone()));
        assert_eq!(row[5], Data::String(v.resource_id.clone()));
        assert_eq!(row[7], Data::String(v.status.as_str().into()));
        assert_eq!(row[15], Data::Bool(v.leaver_risk));
        assert_eq!(row[16], Data::Bool(v.suppression.is_some()));
        match &v.suppression {
            Some(_) => assert!(matches!(row[19], Data::DateTime(_)), "{:?}", row[19]),
            None => assert_eq!(row[19], Data::Empty),
        }
    }
    // A name that looks like a formula is text, not a formula.
    assert_eq!(rows[0][6], Data::String("=HYPERLINK(\"http://x\")".into()));
    let formulas = book.worksheet_formula("Verdicts").unwrap();
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
}

#[test]
fn header_rows_are_frozen_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.xlsx");
    let f = canned();
    write(std::slice::from_ref(&f), &path);
    let verdicts = sheet_xml(&path, 2);
    assert!(verdicts.contains(r#"ySplit="1""#), "{verdicts}");
    assert!(verdicts.contains(r#"state="frozen""#));
    let last = f.verdicts.len() + 1;
    assert!(
        verdicts.contains(&format!(r#"<autoFilter ref="A1:T{last}"/>"#)),
        "{verdicts}"
    );
    for n in 1..=5 {
        let xml = sheet_xml(&path, n);
        assert!(xml.contains("<autoFilter"), "sheet {n} has no filter");
        assert!(xml.contains(r#"state="frozen""#), "sheet {n} is not frozen");
    }
}

#[test]
fn canned_grids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.xlsx");
    write(&[canned()], &path);
    for sheet in SHEETS {
        let name = format!("workbook_{}", sheet.replace(' ', "_").to_lowercase());
        insta::assert_snapshot!(name, grid(&path, sheet));
    }
}

#[test]
fn a_portfolio_adds_each_tenant_and_an_all_tenants_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.xlsx");
    let a = canned();
    let mut b = common::findings();
    b.tenant_id = "22222222-2222-2222-2222-222222222222".into();
    b.verdicts.truncate(2);
    write(&[a.clone(), b.clone()], &path);
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let verdicts = book.worksheet_range("Verdicts").unwrap();
    assert_eq!(
        verdicts.rows().count() - 1,
        a.verdicts.len() + b.verdicts.len()
    );
    let summary = book.worksheet_range("Summary").unwrap();
    let last = summary.rows().next_back().unwrap();
    assert_eq!(last[0], Data::String("All tenants".into()));
    let total = (a.counts().total() + b.counts().total()) as f64;
    assert_eq!(last[8], Data::Float(total));
    let run = book.worksheet_range("Run").unwrap();
    assert_eq!(run.rows().count(), 3);
}

#[test]
fn odd_names_and_an_empty_tenant_do_not_break_the_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.xlsx");
    let long = "x".repeat(40_000);
    let odd = Findings {
        tenant_id: "t".into(),
        verdicts: vec![
            Verdict::new(ResourceType::Flow, "a", &long, Status::Unattributed),
            Verdict::new(
                ResourceType::Bot,
                "b",
                "\u{1}ctl\u{202e}bidi</x>&",
                Status::Unknown,
            ),
            Verdict::new(ResourceType::CanvasApp, "c", "", Status::Attributed),
        ],
        ..Findings::default()
    };
    write(&[odd, Findings::default()], &path);
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let range = book.worksheet_range("Verdicts").unwrap();
    let rows: Vec<&[Data]> = range.rows().skip(1).collect();
    assert_eq!(rows.len(), 3);
    match &rows[0][6] {
        Data::String(s) => assert_eq!(s.chars().count(), 32_767),
        other => panic!("{other:?}"),
    }
    assert_eq!(rows[1][6], Data::String("\u{1}ctl\u{202e}bidi</x>&".into()));
    // No roster, so no fix-plan target: the plan sheet says why instead of failing.
    let plan = grid(&path, "Fix plan");
    assert!(plan.contains("no service account"), "{plan}");
}
