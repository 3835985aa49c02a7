//! The diff formats rendered from the canned findings against a later audit with one of
//! every change, snapshot-tested; and the JSON report read back as it was written.

mod common;

use palaudit_model::diff::{Side, compare};
use palaudit_model::{Change, Diff, DiffSide, Findings, Reason, Status};
use palaudit_report::{
    DIFF_CSV_COLUMNS, TerminalOptions, diff_csv, diff_json, diff_markdown, diff_terminal, json,
    read_json,
};

fn side(findings: &Findings) -> Side {
    let mut s = DiffSide::default();
    findings.replay(&mut s).unwrap();
    s.into_side()
}

/// The canned findings a month later: the first attributed resource lost its owner
/// (drift), the first unattributed one was fixed, the second unattributed one now lacks
/// data (changed), the last resource is gone, and two resources are new.
fn later() -> Findings {
    let mut f = common::findings();
    f.collected_at = Some(f.collected_at.unwrap() + chrono::Duration::days(30));
    let drift = f
        .verdicts
        .iter()
        .position(|v| v.status == Status::Attributed)
        .unwrap();
    let v = &mut f.verdicts[drift];
    v.status = Status::Unattributed;
    v.partner_id = None;
    v.attributed_principal_id = None;
    v.attributed_principal_name = None;
    v.attributing_role = None;
    v.reasons = vec![Reason::NoPalIdentityInRole];
    let mut unattributed = f
        .verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| v.status == Status::Unattributed && !v.reasons.is_empty())
        .map(|(i, _)| i)
        .filter(|i| *i != drift);
    let (fixed, changed) = (unattributed.next().unwrap(), unattributed.next().unwrap());
    let credited = f.verdicts[drift + 1].clone();
    let v = &mut f.verdicts[fixed];
    v.status = Status::Attributed;
    v.partner_id = credited.partner_id.clone();
    v.attributed_principal_id = credited.attributed_principal_id.clone();
    v.attributed_principal_name = credited.attributed_principal_name.clone();
    v.reasons = vec![Reason::PalIdentityInRole];
    let v = &mut f.verdicts[changed];
    v.status = Status::Unknown;
    v.reasons = vec![Reason::OwnerUnresolved];
    f.verdicts.pop();
    let mut fresh = f.verdicts[fixed].clone();
    fresh.resource_id = "9f9f9f9f-0001-4000-8000-00000000000a".into();
    fresh.resource_name = "Onboarding | *new*".into();
    let mut fresh_open = f.verdicts[changed].clone();
    fresh_open.resource_id = "9f9f9f9f-0002-4000-8000-00000000000b".into();
    fresh_open.resource_name = "=HYPERLINK(\"x\")".into();
    fresh_open.status = Status::Unattributed;
    fresh_open.reasons = vec![Reason::GroupPrincipal];
    f.verdicts.push(fresh);
    f.verdicts.push(fresh_open);
    f
}

fn diff() -> Diff {
    compare(side(&common::findings()), side(&later())).unwrap()
}

fn render(f: impl FnOnce(&mut Vec<u8>) -> Result<(), palaudit_report::ReportError>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("rendering into a Vec cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

#[test]
fn one_of_every_change() {
    let counts = diff().counts();
    for change in [
        Change::Drift,
        Change::Fixed,
        Change::Changed,
        Change::Removed,
        Change::New,
        Change::NewlyUnattributed,
    ] {
        assert_eq!(counts[&change], 1, "{change}");
    }
    assert_eq!(counts[&Change::Unchanged], 12);
}

#[test]
fn diff_terminal_at_80_columns() {
    let opts = TerminalOptions {
        width: Some(80),
        color: false,
    };
    let text = render(|out| diff_terminal(&diff(), out, &opts));
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn diff_without_changes_says_so() {
    let f = common::findings();
    let same = compare(side(&f), side(&f)).unwrap();
    let opts = TerminalOptions {
        width: Some(80),
        color: false,
    };
    let text = render(|out| diff_terminal(&same, out, &opts));
    assert!(
        text.contains("No changes: all 16 resources have the same verdict in both audits."),
        "{text}"
    );
}

#[test]
fn diff_csv_canned() {
    let text = render(|out| diff_csv(&diff(), out));
    assert!(text.starts_with(&DIFF_CSV_COLUMNS.join(",")));
    // A name that reads as a formula is neutralised as in the audit CSV.
    assert!(text.contains(",\"'=HYPERLINK"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn diff_markdown_canned() {
    insta::assert_snapshot!(render(|out| diff_markdown(&diff(), out)));
}

#[test]
fn diff_json_canned() {
    insta::assert_snapshot!(render(|out| diff_json(&diff(), out)));
}

#[test]
fn a_json_report_reads_back_as_written() {
    for findings in [
        common::findings(),
        common::partial_findings(),
        common::empty_findings(),
    ] {
        let text = render(|out| json(&findings, out));
        let back = read_json(text.as_bytes()).unwrap();
        assert_eq!(back, findings);
        // With Windows line ends and a byte-order mark, as an editor may save it.
        let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        assert_eq!(read_json(crlf.as_bytes()).unwrap(), findings);
    }
}
