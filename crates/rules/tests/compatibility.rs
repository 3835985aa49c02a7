//! `rules/` must reproduce the rule book's two ownership-change compatibility tables,
//! cell for cell. The tables are kept verbatim in `fixtures/rulebook/compatibility.md`;
//! when the source document sits beside the repository (`../shared/seeds/`), the copy is
//! checked against it too.

use palaudit_model::ResourceType;
use palaudit_rules::{ChangePathTable, RuleSet};
use std::path::Path;

fn product(name: &str) -> ResourceType {
    match name {
        "Power App Canvas" => ResourceType::CanvasApp,
        "Power App Model Driven" => ResourceType::ModelDrivenApp,
        "Power Automate" => ResourceType::Flow,
        "Power BI (Publishing)" => ResourceType::PowerbiDataset,
        "Power Virtual Agent" => ResourceType::Bot,
        other => panic!("unknown product row `{other}`"),
    }
}

/// The data rows of every `| Product | GUI | …` table in `text`, table by table.
fn tables(text: &str) -> Vec<Vec<(ResourceType, [bool; 4])>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<(ResourceType, [bool; 4])>> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("| Product | GUI") {
            current = Some(Vec::new());
            continue;
        }
        match (&mut current, line.starts_with('|')) {
            (Some(rows), true) => {
                let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
                if cells[0].starts_with("---") {
                    continue;
                }
                assert_eq!(cells.len(), 5, "row `{line}`");
                let yes = |c: &str| match c {
                    "YES" => true,
                    "NO" => false,
                    other => panic!("cell `{other}` in `{line}`"),
                };
                rows.push((
                    product(cells[0]),
                    [yes(cells[1]), yes(cells[2]), yes(cells[3]), yes(cells[4])],
                ));
            }
            (Some(_), false) => out.push(current.take().unwrap()),
            (None, _) => {}
        }
    }
    if let Some(rows) = current {
        out.push(rows);
    }
    out
}

fn cells(t: &ChangePathTable) -> [bool; 4] {
    [t.gui, t.powershell, t.pp_cli, t.devops]
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn rules_reproduce_both_compatibility_tables_cell_by_cell() {
    let text = std::fs::read_to_string(repo().join("fixtures/rulebook/compatibility.md")).unwrap();
    let t = tables(&text);
    assert_eq!(t.len(), 2, "two tables");
    for rows in &t {
        assert_eq!(rows.len(), 5, "five products per table");
    }
    for rules in [
        RuleSet::bundled(),
        RuleSet::load_dir(&repo().join("rules")).unwrap(),
    ] {
        for (rt, expected) in &t[0] {
            assert_eq!(
                cells(&rules.rule_for(*rt).to_user),
                *expected,
                "{rt}: to a user"
            );
        }
        for (rt, expected) in &t[1] {
            assert_eq!(
                cells(&rules.rule_for(*rt).to_service_principal),
                *expected,
                "{rt}: to a service principal"
            );
        }
    }
}

#[test]
fn the_kept_tables_match_the_source_document_when_it_is_present() {
    let seeds = repo().join("../shared/seeds");
    let Ok(entries) = std::fs::read_dir(&seeds) else {
        return; // Outside the project's workspace the source document is not beside us.
    };
    let ours = tables(
        &std::fs::read_to_string(repo().join("fixtures/rulebook/compatibility.md")).unwrap(),
    );
    for entry in entries {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("Owner / Co-owner Compatibility") {
            assert_eq!(
                tables(&text),
                ours,
                "{} differs from the kept copy",
                path.display()
            );
            return;
        }
    }
}
