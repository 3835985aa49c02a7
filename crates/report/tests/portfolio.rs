//! The portfolio formats rendered from two tenants of canned findings, snapshot-tested.

mod common;

use palaudit_model::{Findings, Rollup, RollupSink, Status};
use palaudit_report::{PortfolioJson, TerminalOptions, rollup_markdown, rollup_terminal};

/// The canned tenant, and a second one whose every unknown verdict is unattributed.
fn tenants() -> [Findings; 2] {
    let a = common::findings();
    let mut b = common::findings();
    b.tenant_id = "0b2e4f60-8a1c-4e3d-9f7b-5c6d7e8f9a0b".into();
    for v in &mut b.verdicts {
        if v.status == Status::Unknown {
            v.status = Status::Unattributed;
        }
    }
    b.verdicts.truncate(10);
    [a, b]
}

fn rollup(tenants: &[Findings]) -> Rollup {
    let mut sink = RollupSink::new([(tenants[0].tenant_id.clone(), "Contoso".to_owned())]);
    for t in tenants {
        t.replay(&mut sink).unwrap();
    }
    sink.into_rollup()
}

fn render(f: impl FnOnce(&mut Vec<u8>) -> Result<(), palaudit_report::ReportError>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("rendering into a Vec cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

#[test]
fn rollup_terminal_at_80_columns() {
    let opts = TerminalOptions {
        width: Some(80),
        color: false,
    };
    let text = render(|out| rollup_terminal(&rollup(&tenants()), out, &opts));
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn rollup_markdown_canned() {
    insta::assert_snapshot!(render(|out| rollup_markdown(&rollup(&tenants()), out)));
}

#[test]
fn portfolio_json_holds_every_report_then_the_rollup() {
    let tenants = tenants();
    let text = render(|out| {
        let mut doc = PortfolioJson::begin(out)?;
        for t in &tenants {
            doc.tenant(t, out)?;
        }
        doc.end(&rollup(&tenants), out)
    });
    let value: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(value["tenants"][1]["tenant_id"], tenants[1].tenant_id);
    assert_eq!(
        value["tenants"][0]["verdicts"].as_array().unwrap().len(),
        16
    );
    assert_eq!(value["rollup"]["overall"]["total"], 26);
    // Each tenant's report is the one `audit --json` writes, indented into place.
    let single = render(|out| palaudit_report::json(&tenants[1], out));
    let single: serde_json::Value = serde_json::from_str(&single).unwrap();
    assert_eq!(value["tenants"][1], single);
    insta::assert_snapshot!(text.lines().take(8).collect::<Vec<_>>().join("\n"));
    let rollup_at = text.find("\n  \"rollup\"").unwrap();
    insta::assert_snapshot!("portfolio_json_rollup", &text[rollup_at..]);
}

#[test]
fn an_empty_portfolio_is_still_a_document() {
    let text = render(|out| PortfolioJson::begin(out)?.end(&Rollup::default(), out));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["tenants"], serde_json::json!([]));
    assert_eq!(value["rollup"]["overall"]["total"], 0);
}

#[test]
fn streamed_tenants_write_the_same_portfolio_document() {
    let tenants = tenants();
    let rollup = rollup(&tenants);
    let held = render(|out| {
        let mut doc = PortfolioJson::begin(out)?;
        for t in &tenants {
            doc.tenant(t, out)?;
        }
        doc.end(&rollup, out)
    });
    let streamed = render(|out| {
        let mut doc = PortfolioJson::begin(out)?;
        for t in &tenants {
            let mut sink = doc.tenant_sink(out)?;
            t.replay(&mut sink).expect("writing into a Vec cannot fail");
            sink.done();
        }
        doc.end(&rollup, out)
    });
    assert_eq!(streamed, held);
}

#[test]
fn streamed_json_and_checklist_match_the_held_renderers() {
    for f in tenants() {
        let mut json = palaudit_report::JsonSink::spooled(Vec::new()).unwrap();
        f.replay(&mut json).unwrap();
        assert_eq!(
            String::from_utf8(json.into_inner()).unwrap(),
            render(|w| palaudit_report::json(&f, w))
        );
        let mut md = palaudit_report::ChecklistSink::new(Vec::new());
        f.replay(&mut md).unwrap();
        assert_eq!(
            String::from_utf8(md.into_inner()).unwrap(),
            render(|w| palaudit_report::markdown(&f, w))
        );
    }
}
