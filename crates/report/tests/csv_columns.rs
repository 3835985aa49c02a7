//! The audit CSV is an interface (DESIGN.md "Audit CSV"): read it back as a script would.

mod common;

use palaudit_model::{ChangePath, Findings};
use palaudit_report::{CSV_COLUMNS, CSV_EXTRA_COLUMNS};

/// DESIGN.md's columns, in order, spelled out here rather than taken from the crate so
/// that a change to the crate's list cannot pass unnoticed.
const DESIGN_COLUMNS: [&str; 14] = [
    "tenant_id",
    "environment_id",
    "environment_name",
    "environment_type",
    "resource_type",
    "resource_id",
    "resource_name",
    "status",
    "partner_id",
    "attributed_principal_id",
    "attributing_role",
    "reasons",
    "change_paths_user",
    "change_paths_service_principal",
];

fn read_back(findings: &Findings) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut out = Vec::new();
    palaudit_report::csv(findings, &mut out).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader.records().map(Result::unwrap).collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

#[test]
fn header_is_design_columns_then_extras() {
    let (header, _) = read_back(&common::findings());
    assert_eq!(&header[..14], DESIGN_COLUMNS);
    assert_eq!(&header[14..], CSV_EXTRA_COLUMNS);
    assert_eq!(CSV_COLUMNS, DESIGN_COLUMNS);
}

#[test]
fn one_row_per_verdict_in_order_with_status_and_change_paths() {
    let findings = common::findings();
    let (header, rows) = read_back(&findings);
    assert_eq!(rows.len(), findings.verdicts.len());
    let status = column(&header, "status");
    let user = column(&header, "change_paths_user");
    let sp = column(&header, "change_paths_service_principal");
    let id = column(&header, "resource_id");
    let tenant = column(&header, "tenant_id");
    for (row, v) in rows.iter().zip(&findings.verdicts) {
        assert_eq!(row.len(), header.len());
        assert_eq!(&row[id], v.resource_id);
        assert_eq!(&row[tenant], common::TENANT);
        assert_eq!(&row[status], v.status.as_str());
        assert!(["attributed", "unattributed", "unknown"].contains(&&row[status]));
        for cell in [&row[user], &row[sp]] {
            assert!(
                cell == "none"
                    || cell
                        .split(';')
                        .all(|w| ChangePath::ALL.iter().any(|p| p.as_str() == w)),
                "{cell}"
            );
        }
        assert_eq!(&row[user], ChangePath::join(&v.change_paths_user));
        assert_eq!(
            &row[sp],
            ChangePath::join(&v.change_paths_service_principal)
        );
    }
    // Spot checks against the rule book's compatibility tables.
    let by_name = |name: &str| {
        rows.iter()
            .find(|r| &r[column(&header, "resource_name")] == name)
            .unwrap()
    };
    let canvas = by_name("Sales Pipeline");
    assert_eq!(&canvas[user], "gui;powershell;pp_cli;devops");
    assert_eq!(&canvas[sp], "pp_cli;devops");
    let dataset = by_name("Revenue Q2");
    assert_eq!(&dataset[user], "powershell");
    assert_eq!(&dataset[column(&header, "partner_id")], common::NORTHWIND);
    assert_eq!(&dataset[column(&header, "attributing_role")], "publisher");
}

#[test]
fn unattributed_rows_leave_partner_cells_empty_and_join_reasons() {
    let (header, rows) = read_back(&common::findings());
    let name = column(&header, "resource_name");
    let row = rows.iter().find(|r| &r[name] == "Asset Register").unwrap();
    assert_eq!(&row[column(&header, "status")], "unattributed");
    assert_eq!(&row[column(&header, "partner_id")], "");
    assert_eq!(&row[column(&header, "attributed_principal_id")], "");
    assert_eq!(&row[column(&header, "attributing_role")], "");
    assert_eq!(&row[column(&header, "attributed_principal_name")], "");
    assert_eq!(
        &row[column(&header, "reasons")],
        "no_pal_identity_in_role;non_production_environment"
    );
    assert_eq!(&row[column(&header, "leaver_risk")], "false");
}

#[test]
fn leaver_risk_follows_the_verdicts() {
    let findings = common::findings();
    let (header, rows) = read_back(&findings);
    assert_eq!(
        header.last().map(String::as_str),
        Some("suppression_expires")
    );
    let risk = column(&header, "leaver_risk");
    for (row, v) in rows.iter().zip(&findings.verdicts) {
        assert_eq!(&row[risk], if v.leaver_risk { "true" } else { "false" });
    }
    let at_risk = rows.iter().filter(|r| &r[risk] == "true").count();
    assert_eq!(at_risk as u64, findings.leaver_risk_count());
    assert!(at_risk > 0 && at_risk < findings.counts().attributed as usize);
}

#[test]
fn roster_csv_has_one_row_per_identity() {
    let findings = common::findings();
    let mut out = Vec::new();
    palaudit_report::roster_csv(&findings, &mut out).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, palaudit_report::ROSTER_CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), findings.roster.identities.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (row, e) in rows.iter().zip(&findings.roster.identities) {
        assert_eq!(&row[col("health")], e.health.as_str());
        assert_eq!(&row[col("link_state")], e.link_state.as_str());
        assert_eq!(
            &row[col("rbac_assignments")],
            e.rbac_assignments
                .map(|n| n.to_string())
                .unwrap_or_default()
        );
    }
}

#[test]
fn formula_names_are_neutralised() {
    let (header, rows) = read_back(&common::findings());
    let name = column(&header, "resource_name");
    let cell = rows
        .iter()
        .map(|r| &r[name])
        .find(|n| n.contains("HYPERLINK"))
        .unwrap();
    assert_eq!(cell, "'=HYPERLINK(\"http://evil.example\",\"Open\")");
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "cell {cell:?} could run as a formula"
            );
        }
    }
}

#[test]
fn empty_findings_give_the_header_only() {
    let (header, rows) = read_back(&common::empty_findings());
    assert_eq!(&header[..14], DESIGN_COLUMNS);
    assert!(rows.is_empty());
}
