//! Helpers shared by the CLI's end-to-end tests: the repository root and a small CSV
//! reader for comparing audit CSVs with `expected.csv`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

pub fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub type Row = BTreeMap<String, String>;

pub fn read_csv(text: &str) -> Vec<Row> {
    let mut lines = text.lines();
    let header: Vec<String> = split(lines.next().unwrap());
    lines
        .filter(|l| !l.is_empty())
        .map(|l| header.iter().cloned().zip(split(l)).collect())
        .collect()
}

/// Splits one CSV line (quoted cells may hold commas and doubled quotes).
pub fn split(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

/// Compares an audit CSV with `fixtures/tenants/contoso/expected.csv`, column by column
/// for the verdict columns; returns one line per difference.
pub fn verdict_differences(audit_csv: &str) -> Vec<String> {
    let got = read_csv(audit_csv);
    let expected = read_csv(
        &std::fs::read_to_string(repo().join("fixtures/tenants/contoso/expected.csv")).unwrap(),
    );
    let mut wrong = Vec::new();
    if got.len() != expected.len() {
        wrong.push(format!("{} rows, expected {}", got.len(), expected.len()));
    }
    let by_id: BTreeMap<&str, &Row> = got.iter().map(|r| (r["resource_id"].as_str(), r)).collect();
    for e in &expected {
        let Some(g) = by_id.get(e["resource_id"].as_str()) else {
            wrong.push(format!(
                "missing {} {}",
                e["resource_type"], e["resource_name"]
            ));
            continue;
        };
        for col in [
            "resource_type",
            "environment_id",
            "status",
            "partner_id",
            "attributing_role",
            "reasons",
        ] {
            if g[col] != e[col] {
                wrong.push(format!(
                    "{} ({}): {col} is `{}`, expected `{}`",
                    e["resource_name"], e["resource_id"], g[col], e[col]
                ));
            }
        }
    }
    wrong
}
