//! No findings make a writer panic: odd names, huge names, narrow terminals.

mod common;

use palaudit_model::{Findings, Status};
use palaudit_report::{TerminalOptions, csv, json, markdown, roster_csv, terminal};

fn odd_findings() -> Findings {
    let mut f = common::findings();
    let names = [
        String::new(),
        " ".to_owned(),
        "x".repeat(5_000),
        "販売".repeat(400),
        "\u{1b}[2J\u{1b}[31mcleared".to_owned(),
        "line one\nline two\r\n\ttabbed".to_owned(),
        "abc\u{202E}txt.exe".to_owned(),
        "# heading\n- list\n> quote".to_owned(),
        "@SUM(A1:A9)".to_owned(),
        "-2+3".to_owned(),
        "+cmd".to_owned(),
        "\tTAB".to_owned(),
        "`rm -rf`".to_owned(),
        "🙂".repeat(100),
    ];
    for (v, name) in f.verdicts.iter_mut().zip(names.clone()) {
        v.resource_name = name;
        v.status = Status::Unattributed;
    }
    for (e, name) in f.roster.identities.iter_mut().zip(names.into_iter().rev()) {
        e.upn = Some(name.clone());
        e.display_name = Some(name);
    }
    f.verdicts[0].environment_name = "\u{1b}]0;pwned\u{7}".into();
    f.verdicts[1].partner_id = None;
    f.verdicts[1].status = Status::Attributed;
    f.collection_errors = vec!["\u{1b}[31merror\n with newline".to_owned()];
    f
}

fn all_formats(f: &Findings, width: Option<u16>) -> [String; 5] {
    let mut t = Vec::new();
    terminal(
        f,
        &mut t,
        &TerminalOptions {
            width,
            color: false,
        },
    )
    .unwrap();
    let mut c = Vec::new();
    csv(f, &mut c).unwrap();
    let mut m = Vec::new();
    markdown(f, &mut m).unwrap();
    let mut j = Vec::new();
    json(f, &mut j).unwrap();
    let mut r = Vec::new();
    roster_csv(f, &mut r).unwrap();
    [t, c, m, j, r].map(|b| String::from_utf8(b).unwrap())
}

#[test]
fn odd_names_render_in_every_format() {
    for width in [None, Some(0), Some(1), Some(20), Some(80), Some(400)] {
        let [t, _, m, j, r] = all_formats(&odd_findings(), width);
        for row in csv::Reader::from_reader(r.as_bytes()).records() {
            for cell in row.unwrap().iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "roster cell {cell:?} could run as a formula"
                );
            }
        }
        assert!(
            !t.contains('\u{1b}'),
            "terminal leaks an escape: width {width:?}"
        );
        assert!(!t.contains('\u{202E}'));
        assert!(!m.contains('\u{1b}'));
        // Every markdown checklist item stays on one line.
        assert!(m.lines().all(|l| !l.starts_with("- list")));
        assert!(!m.lines().any(|l| l.starts_with("# heading")));
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["schema_version"], 1);
    }
}

#[test]
fn default_findings_render() {
    let f = Findings::default();
    let [t, c, m, j, r] = all_formats(&f, None);
    assert!(t.contains("nothing to attribute"));
    assert_eq!(c.lines().count(), 1);
    assert_eq!(r.lines().count(), 1);
    assert!(m.contains("nothing to check"));
    assert!(j.contains("\"verdicts\": []"));
}

#[test]
fn write_errors_name_the_report_part() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let f = common::findings();
    let err = terminal(&f, &mut Broken, &TerminalOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "cannot write the terminal table (title)");
    let err = markdown(&f, &mut Broken).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot write the markdown checklist")
    );
    let err = csv(&f, &mut Broken).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot write the audit CSV"),
        "{err}"
    );
    let err = roster_csv(&f, &mut Broken).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot write the roster CSV"),
        "{err}"
    );
    let err = json(&f, &mut Broken).unwrap_err();
    assert_eq!(err.to_string(), "cannot write the JSON report");
    assert!(std::error::Error::source(&err).is_some());
}
