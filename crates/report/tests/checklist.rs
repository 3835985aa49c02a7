//! The markdown checklist keeps its items on disk past 16 MiB of them: the
//! file it writes from spilled, merged runs is the file it writes from memory.

mod common;

use palaudit_report::ChecklistSink;

fn checklist(findings: &palaudit_model::Findings, run_bytes: Option<usize>) -> String {
    let mut out = Vec::new();
    match run_bytes {
        None => palaudit_report::markdown(findings, &mut out).unwrap(),
        Some(bytes) => {
            let mut sink = ChecklistSink::spilling_past(&mut out, bytes);
            findings.replay(&mut sink).unwrap();
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn a_checklist_from_spilled_runs_is_the_checklist_held_in_memory() {
    for findings in [common::findings(), common::partial_findings()] {
        let held = checklist(&findings, None);
        assert!(held.contains("### To do before handover"), "{held}");
        // One item per run (every item spilled), then a few items per run.
        assert_eq!(checklist(&findings, Some(1)), held);
        assert_eq!(checklist(&findings, Some(2_000)), held);
    }
}

#[test]
fn an_empty_audit_spills_nothing_and_writes_the_same_file() {
    let findings = common::empty_findings();
    assert_eq!(checklist(&findings, Some(1)), checklist(&findings, None));
}
