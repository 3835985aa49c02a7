use super::*;
use palaudit_model::Findings;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn parse(text: &str) -> Result<Suppressions, SuppressionsError> {
    Suppressions::parse(text.as_bytes(), Path::new("suppressions.toml"))
}

fn problems(text: &str) -> Vec<(usize, String)> {
    match parse(text) {
        Err(SuppressionsError::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.line, p.message)).collect()
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

fn verdict(env: &str, rt: ResourceType, id: &str, name: &str, status: Status) -> Verdict {
    Verdict {
        environment_id: format!("{env}-id").into(),
        environment_name: env.into(),
        environment_type: "Production".into(),
        ..Verdict::new(rt, id, name, status)
    }
}

fn findings() -> Findings {
    use ResourceType::*;
    use Status::*;
    Findings {
        tenant_id: "T1".into(),
        verdicts: vec![
            verdict("Sales", Flow, "F-1", "Daily sales digest", Unattributed),
            verdict("Sales", CanvasApp, "A-1", "Visitor Sign-in", Unattributed),
            verdict(
                "Ops UAT",
                CanvasApp,
                "A-2",
                "Expense Claims (UAT)",
                Unattributed,
            ),
            verdict("Ops UAT", Flow, "F-2", "Invoice approval (UAT)", Unknown),
            verdict("Sales", CanvasApp, "A-3", "Quote Builder", Attributed),
        ],
        ..Findings::default()
    }
}

const FILE: &str = r#"
# Accepted at the March review.
[[suppress]]
resource_id = "f-1"
reason = "Built by Contoso before the engagement"
approved_by = "jane.doe@fabrikam.com"
expires = 2026-06-30

[[suppress]]
environment = "Ops UAT"
name = "* (UAT)"
resource_type = "canvas_app"
reason = "Test copies"
approved_by = "jane.doe@fabrikam.com"
expires = "2026-12-31"

[[suppress]]
name = "Visitor*"
reason = "Expired acceptance"
approved_by = "sam@fabrikam.com"
expires = 2026-01-31

[[suppress]]
name = "No such app"
tenant_id = "t1"
reason = "Never matches"
approved_by = "sam@fabrikam.com"
expires = 2027-01-01
"#;

#[test]
fn entries_match_by_id_and_by_globs_until_they_expire() {
    let set = parse(FILE).unwrap();
    assert_eq!(
        set.entries.iter().map(|e| e.line).collect::<Vec<_>>(),
        [3, 9, 17, 23]
    );
    let mut applier = Applier::new(&set, day("2026-03-01"));
    let mut f = findings();
    applier.apply(&mut f);
    let sources: Vec<Option<&str>> = f
        .verdicts
        .iter()
        .map(|v| v.suppression.as_ref().map(|s| s.source.as_str()))
        .collect();
    assert_eq!(
        sources,
        [
            Some("suppressions.toml:3"),
            // The third entry matches Visitor Sign-in, but it expired on 31 January.
            None,
            Some("suppressions.toml:9"),
            // A flow: the second entry is for canvas apps only.
            None,
            None,
        ]
    );
    // Statuses are untouched; only the gate leaves the suppressed out.
    assert_eq!(f.counts().unattributed, 3);
    assert_eq!(f.suppressed_counts().unattributed, 2);
    assert_eq!(f.gated_counts().total(), 3);
    let usage = applier.usage();
    assert_eq!(usage.suppressed, 2);
    assert_eq!(usage.expired.len(), 1);
    assert_eq!(usage.expired[0].0.source, "suppressions.toml:17");
    assert_eq!(usage.expired[0].1, 1);
    assert_eq!(
        usage
            .unused
            .iter()
            .map(|s| s.source.as_str())
            .collect::<Vec<_>>(),
        ["suppressions.toml:23"]
    );

    // On its expiry day an entry still holds; the day after, it does not.
    let mut f = findings();
    Applier::new(&set, day("2026-06-30")).apply(&mut f);
    assert!(f.verdicts[0].suppression.is_some());
    let mut f = findings();
    Applier::new(&set, day("2026-07-01")).apply(&mut f);
    assert!(f.verdicts[0].suppression.is_none());
}

#[test]
fn the_sink_marks_what_apply_marks() {
    #[derive(Default)]
    struct Seen {
        verdicts: Vec<Option<String>>,
        not_attributed: Vec<Option<String>>,
        suppressed: u64,
    }
    impl VerdictSink for Seen {
        fn begin(&mut self, _: &AuditHeader) -> Result<(), SinkError> {
            Ok(())
        }
        fn verdict(&mut self, v: &Verdict) -> Result<(), SinkError> {
            self.verdicts
                .push(v.suppression.as_ref().map(|s| s.source.clone()));
            Ok(())
        }
        fn end(&mut self, s: &AuditSummary) -> Result<(), SinkError> {
            self.not_attributed = s
                .not_attributed
                .iter()
                .map(|v| v.unwrap().suppression.as_ref().map(|s| s.source.clone()))
                .collect();
            self.suppressed = s.suppressed.total();
            Ok(())
        }
    }
    let set = parse(FILE).unwrap();
    let today = day("2026-03-01");
    let mut applied = findings();
    Applier::new(&set, today).apply(&mut applied);

    let expected: Vec<Option<String>> = applied
        .verdicts
        .iter()
        .map(|v| v.suppression.as_ref().map(|s| s.source.clone()))
        .collect();
    // Replayed in one block (marked verdicts among unmarked ones), then verdict by
    // verdict.
    for by_block in [true, false] {
        let mut seen = Seen::default();
        let mut applier = Applier::new(&set, today);
        let mut sink = SuppressingSink::new(&mut applier, &mut seen);
        let f = findings();
        if by_block {
            f.replay(&mut sink).unwrap();
        } else {
            sink.begin(&f.header()).unwrap();
            for v in &f.verdicts {
                sink.verdict(v).unwrap();
            }
            sink.end(&f.summary()).unwrap();
        }
        assert_eq!(seen.verdicts, expected, "by block: {by_block}");
        assert_eq!(seen.not_attributed, expected[..4].to_vec());
        assert_eq!(seen.suppressed, 2);
        assert_eq!(applier.usage(), {
            let mut a = Applier::new(&set, today);
            a.apply(&mut findings());
            a.usage()
        });
    }
}

#[test]
fn malformed_entries_are_errors_at_their_line() {
    let text = "[[suppress]]\nresource_id = \"x\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = 2026-02-30\n";
    // TOML itself rejects the day; the message is toml's.
    let p = problems(text);
    assert_eq!(p[0].0, 5, "{p:?}");
    assert!(p[0].1.contains("date"), "{p:?}");
    let text = "[[suppress]]\nname = \"x\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = \"2026-02-30\"\n";
    assert_eq!(
        problems(text),
        [(
            5,
            "`expires` `2026-02-30` is not a date (YYYY-MM-DD)".to_owned()
        )]
    );
    let text =
        "[[suppress]]\nname = \"x\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = \"soon\"\n";
    assert_eq!(problems(text)[0].0, 5);
    let text = "[[suppress]]\nname = \"x\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = 2026-02-03T10:00:00Z\n";
    assert!(
        problems(text)[0].1.contains("without a time"),
        "{:?}",
        problems(text)
    );

    // An unknown key: toml names it, at its line.
    let text = "[[suppress]]\nname = \"x\"\nreson = \"r\"\n";
    let p = problems(text);
    assert_eq!(p[0].0, 3, "{p:?}");
    assert!(p[0].1.contains("reson"), "{p:?}");

    // An entry that matches nothing, and one missing what an auditor needs: every
    // problem of the file at once.
    let text = "[[suppress]]\nreason = \"r\"\napproved_by = \"a\"\nexpires = 2026-01-01\n\n[[suppress]]\nresource_id = \"x\"\nreason = \" \"\n";
    assert_eq!(
        problems(text),
        [
            (
                1,
                "the entry matches nothing: give `resource_id`, or a `name` and/or `environment` glob".to_owned()
            ),
            (6, "`approved_by` is missing: say who accepted the finding".to_owned()),
            (
                6,
                "`expires` is missing: give the last day the entry holds, e.g. `expires = 2026-06-30`".to_owned()
            ),
            (8, "`reason` is empty: say why the finding is accepted".to_owned()),
        ]
    );
    let text = "[[suppress]]\nname = \"x\"\nresource_type = \"app\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = 2026-01-01\n";
    assert_eq!(problems(text)[0].0, 3);
    // Not TOML at all.
    assert_eq!(problems("[[suppress]\n")[0].0, 1);
}

#[test]
fn line_numbers_hold_with_crlf_and_a_bom() {
    let text = "\u{feff}# notes\r\n\r\n[[suppress]]\r\nname = \"x\"\r\nreason = \"r\"\r\napproved_by = \"a\"\r\nexpires = 2026-13-01\r\n";
    assert_eq!(problems(text)[0].0, 7);
    let ok = text.replace("2026-13-01", "2026-12-01");
    assert_eq!(parse(&ok).unwrap().entries[0].line, 3);
}

#[test]
fn an_empty_file_suppresses_nothing() {
    assert!(parse("").unwrap().entries.is_empty());
    assert!(
        parse("# nothing accepted yet\n")
            .unwrap()
            .entries
            .is_empty()
    );
}
