//! Every report format rendered from the one canned set of findings (and from empty
//! findings), snapshot-tested with insta.

mod common;

use palaudit_model::Findings;
use palaudit_report::{TerminalOptions, csv, json, markdown, roster_csv, terminal};

/// The width snapshot tables are laid out at: a common wide terminal.
const WIDTH: u16 = 150;

fn render(f: impl FnOnce(&mut Vec<u8>) -> Result<(), palaudit_report::ReportError>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("rendering into a Vec cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

fn terminal_text(findings: &Findings) -> String {
    let opts = TerminalOptions {
        width: Some(WIDTH),
        color: false,
    };
    let text = render(|out| terminal(findings, out, &opts));
    assert!(!text.contains('\u{1b}'), "no ANSI codes when color is off");
    text
}

#[test]
fn terminal_canned() {
    insta::assert_snapshot!(terminal_text(&common::findings()));
}

/// At 80 columns the wide tables stack their facts into fewer columns and prose is folded
/// at word boundaries: no column is squeezed to a letter or two, no word split.
#[test]
fn terminal_at_80_columns() {
    let opts = TerminalOptions {
        width: Some(80),
        color: false,
    };
    let text = render(|out| terminal(&common::findings(), out, &opts));
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    insta::assert_snapshot!(text);
}

#[test]
fn terminal_partial() {
    insta::assert_snapshot!(terminal_text(&common::partial_findings()));
}

#[test]
fn terminal_empty() {
    insta::assert_snapshot!(terminal_text(&common::empty_findings()));
}

#[test]
fn terminal_color_uses_ansi() {
    let opts = TerminalOptions {
        width: Some(WIDTH),
        color: true,
    };
    let text = render(|out| terminal(&common::findings(), out, &opts));
    assert!(text.contains("\u{1b}["));
}

#[test]
fn csv_canned() {
    insta::assert_snapshot!(render(|out| csv(&common::findings(), out)));
}

#[test]
fn csv_empty() {
    insta::assert_snapshot!(render(|out| csv(&common::empty_findings(), out)));
}

#[test]
fn roster_csv_canned() {
    insta::assert_snapshot!(render(|out| roster_csv(&common::findings(), out)));
}

#[test]
fn roster_csv_empty() {
    insta::assert_snapshot!(render(|out| roster_csv(&common::empty_findings(), out)));
}

#[test]
fn markdown_canned() {
    insta::assert_snapshot!(render(|out| markdown(&common::findings(), out)));
}

#[test]
fn markdown_partial() {
    insta::assert_snapshot!(render(|out| markdown(&common::partial_findings(), out)));
}

#[test]
fn markdown_empty() {
    insta::assert_snapshot!(render(|out| markdown(&common::empty_findings(), out)));
}

#[test]
fn json_canned() {
    insta::assert_snapshot!(render(|out| json(&common::findings(), out)));
}

#[test]
fn json_partial_header() {
    let text = render(|out| json(&common::partial_findings(), out));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["partial"], true);
    assert_eq!(value["collection_errors"].as_array().unwrap().len(), 2);
}

#[test]
fn json_empty() {
    insta::assert_snapshot!(render(|out| json(&common::empty_findings(), out)));
}
