//! The table-driven rule test: every file in `fixtures/cases/` is a small tenant, a
//! roster and the verdicts the rule book demands. Each rule and each reason code has a
//! case where it applies (`<id>.pass.json`) and a near miss where it must not
//! (`<id>.fail.json`).

use palaudit_model::{Inventory, Reason, Roster, Status};
use palaudit_rules::{RuleSet, evaluate};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    identities: String,
    inventory: Inventory,
    expect: Vec<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    resource_id: String,
    status: Status,
    partner_id: Option<String>,
    attributing_role: Option<String>,
    reasons: Vec<Reason>,
    /// Checked when given: whether the credit rests on a personal user account.
    #[serde(default)]
    leaver_risk: Option<bool>,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cases")
}

fn case_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_case_gets_the_verdicts_the_rule_book_demands() {
    let rules = RuleSet::bundled();
    let mut failures = Vec::new();
    let files = case_files();
    assert!(!files.is_empty());
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let case: Case = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let roster = Roster::parse(case.identities.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: identities: {e:?}"));
        let frames = palaudit_snapshot::Frames::of(&case.inventory).unwrap();
        let findings = evaluate(&frames, &case.inventory.tenant_id, &roster, &rules)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            findings.verdicts.len(),
            case.inventory.resources.len(),
            "{name}: one verdict per resource"
        );
        for e in &case.expect {
            let Some(v) = findings
                .verdicts
                .iter()
                .find(|v| v.resource_id == e.resource_id)
            else {
                failures.push(format!("{name}: no verdict for {}", e.resource_id));
                continue;
            };
            let got = (
                v.status,
                v.partner_id.clone(),
                v.attributing_role.map(|r| r.as_str().to_owned()),
                v.reasons.clone(),
            );
            let want = (
                e.status,
                e.partner_id.clone(),
                e.attributing_role.clone(),
                e.reasons.clone(),
            );
            if got != want {
                failures.push(format!(
                    "{name} ({}): {}\n    want {want:?}\n    got  {got:?}\n    evidence {:?}",
                    case.about, e.resource_id, v.evidence
                ));
            }
            if let Some(want) = e.leaver_risk
                && v.leaver_risk != want
            {
                failures.push(format!(
                    "{name}: {}: leaver_risk is {}, expected {want}",
                    e.resource_id, v.leaver_risk
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_and_reason_has_a_passing_and_a_failing_case() {
    let names: Vec<String> = case_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let rules = RuleSet::bundled();
    let mut ids: Vec<String> = rules.rules().iter().map(|r| r.id().to_owned()).collect();
    ids.extend(Reason::ALL.iter().map(|r| r.as_str().to_owned()));
    let missing: Vec<String> = ids
        .iter()
        .flat_map(|id| [format!("{id}.pass.json"), format!("{id}.fail.json")])
        .filter(|f| !names.contains(f))
        .collect();
    assert!(missing.is_empty(), "missing cases: {missing:?}");
}
