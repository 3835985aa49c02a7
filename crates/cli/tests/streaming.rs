//! `palaudit audit` streams verdicts into its reports without holding them; what it
//! writes must be byte for byte what the held findings render. Run on the bundled demo
//! tenant with suppressions, one of them on an attributed resource.

mod common;

use common::*;
use palaudit_model::Findings;
use palaudit_rules::RuleSet;
use palaudit_snapshot::Snapshot;
use palaudit_suppressions::{Applier, Suppressions};
use std::path::Path;

const SUPPRESSIONS: &str = r#"[[suppress]]
name = "* (UAT)"
reason = "Test copies; production counts"
approved_by = "jane.doe@fabrikam.com"
expires = 2099-12-31

[[suppress]]
name = "Field Inspection"
reason = "Credited already; kept out of the gate on purpose"
approved_by = "jane.doe@fabrikam.com"
expires = 2099-12-31
"#;

/// The audit as the held path computes it: every verdict in memory, suppressions marked
/// on them, then rendered.
fn held(snapshot: &Path, identities: &Path, suppressions: &Path) -> Findings {
    let snapshot = Snapshot::open(snapshot).unwrap();
    let roster = palaudit_model::Roster::load(identities).unwrap();
    let rules = RuleSet::bundled();
    let mut findings = palaudit_rules::evaluate(
        &snapshot.frames(),
        &snapshot.manifest.tenant_id,
        &roster,
        &rules,
    )
    .unwrap();
    findings.collected_at = Some(snapshot.manifest.collected_at);
    findings.collection_errors = snapshot
        .manifest
        .collection_errors
        .iter()
        .map(|e| e.to_string())
        .collect();
    let set = Suppressions::load(suppressions).unwrap();
    Applier::new(&set, chrono::Utc::now().date_naive()).apply(&mut findings);
    findings
}

fn render(f: impl FnOnce(&mut Vec<u8>) -> Result<(), palaudit_report::ReportError>) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    out
}

#[test]
fn streamed_reports_match_the_held_findings_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let suppressions = d.join("suppressions.toml");
    std::fs::write(&suppressions, SUPPRESSIONS).unwrap();
    let (code, _, stderr) = run_in(d, "unused", &["demo", "--quiet", "--snapshot", "snap"]);
    assert_eq!(code, 0, "{stderr}");

    let identities = repo().join("fixtures/tenants/contoso/identities.csv");
    let suppressions_arg = suppressions.display().to_string();
    let identities_arg = identities.display().to_string();
    let (code, _, stderr) = run_in(
        d,
        "unused",
        &[
            "audit",
            "--quiet",
            "--snapshot",
            "snap",
            "--identities",
            &identities_arg,
            "--suppressions",
            &suppressions_arg,
            "--csv",
            "audit.csv",
            "--json",
            "audit.json",
            "--markdown",
            "audit.md",
            "--roster-csv",
            "roster.csv",
        ],
    );
    assert_eq!(code, 0, "{stderr}");

    let findings = held(&d.join("snap"), &identities, &suppressions);
    assert!(
        findings
            .verdicts
            .iter()
            .any(|v| v.suppression.is_some() && v.status == palaudit_model::Status::Attributed),
        "the test needs a suppressed attributed verdict"
    );
    let read = |name: &str| std::fs::read(d.join(name)).unwrap();
    assert_eq!(
        text(&read("audit.csv")),
        text(&render(|w| palaudit_report::csv(&findings, w)))
    );
    assert_eq!(
        text(&read("audit.json")),
        text(&render(|w| palaudit_report::json(&findings, w)))
    );
    assert_eq!(
        text(&read("audit.md")),
        text(&render(|w| palaudit_report::markdown(&findings, w)))
    );
    assert_eq!(
        text(&read("roster.csv")),
        text(&render(|w| palaudit_report::roster_csv(&findings, w)))
    );
}

#[test]
fn a_streamed_summary_is_the_held_findings_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let suppressions = d.join("suppressions.toml");
    std::fs::write(&suppressions, SUPPRESSIONS).unwrap();
    let (code, _, stderr) = run_in(d, "unused", &["demo", "--quiet", "--snapshot", "snap"]);
    assert_eq!(code, 0, "{stderr}");
    let identities = repo().join("fixtures/tenants/contoso/identities.csv");
    let findings = held(&d.join("snap"), &identities, &suppressions);

    let snapshot = Snapshot::open(&d.join("snap")).unwrap();
    let roster = palaudit_model::Roster::load(&identities).unwrap();
    let set = Suppressions::load(&suppressions).unwrap();
    let mut applier = Applier::new(&set, chrono::Utc::now().date_naive());
    let mut kept = Kept::default();
    let mut sink = palaudit_suppressions::SuppressingSink::new(&mut applier, &mut kept);
    palaudit_rules::evaluate_into(
        &snapshot.frames(),
        &snapshot.manifest.tenant_id,
        &roster,
        &RuleSet::bundled(),
        &findings.header(),
        &mut sink,
    )
    .unwrap();
    let streamed = kept.0.expect("end was called");
    assert_eq!(streamed, findings.summary());
    assert!(!streamed.suppressed_attributed.is_empty());
}

/// Keeps the summary `end` is handed.
#[derive(Default)]
struct Kept(Option<palaudit_model::AuditSummary>);

impl palaudit_model::VerdictSink for Kept {
    fn begin(&mut self, _: &palaudit_model::AuditHeader) -> Result<(), palaudit_model::SinkError> {
        Ok(())
    }
    fn verdict(&mut self, _: &palaudit_model::Verdict) -> Result<(), palaudit_model::SinkError> {
        Ok(())
    }
    fn end(
        &mut self,
        summary: &palaudit_model::AuditSummary,
    ) -> Result<(), palaudit_model::SinkError> {
        self.0 = Some(summary.clone());
        Ok(())
    }
}
