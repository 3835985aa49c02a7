//! The HTML report: self-contained, escaped, and fed as a stream.

mod common;

use palaudit_model::{Findings, ResourceType, Status, Verdict, VerdictSink};
use palaudit_report::HtmlReport;

fn render(tenants: &[Findings]) -> String {
    let mut out = Vec::new();
    {
        let mut page = HtmlReport::new(&mut out);
        for f in tenants {
            f.replay(&mut page).unwrap();
        }
        page.finish().unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// The contents of every `<script type="application/json">` block.
fn json_blocks(html: &str) -> Vec<serde_json::Value> {
    let open = "<script type=\"application/json\"";
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(open) {
        let after = &rest[i..];
        let start = after.find('>').unwrap() + 1;
        let end = after.find("</script>").unwrap();
        out.push(serde_json::from_str(&after[start..end]).unwrap());
        rest = &after[end..];
    }
    out
}

#[test]
fn the_page_needs_no_network() {
    let html = render(&[common::findings()]);
    // Resource names may hold addresses (the canned set has a `=HYPERLINK("http://…")`
    // name); what must not appear is markup or CSS that would fetch one.
    for needle in [
        "href=\"http",
        "src=\"http",
        "//cdn",
        "@import",
        "url(",
        "<link",
        " src=",
    ] {
        assert!(!html.contains(needle), "the page refers to {needle}");
    }
    assert!(html.contains("<svg"));
    assert!(html.contains("Content-Security-Policy"));
}

#[test]
fn a_name_cannot_break_out_of_the_data_block_or_the_markup() {
    let nasty = "</script><script>alert(1)</script><!-- & \u{2028} <img src=x onerror=alert(2)>";
    let f = Findings {
        tenant_id: "t".into(),
        verdicts: vec![
            Verdict {
                environment_name: "env </script>".into(),
                environment_id: "e".into(),
                ..Verdict::new(
                    ResourceType::Flow,
                    "id</script>",
                    nasty,
                    Status::Unattributed,
                )
            },
            Verdict::new(ResourceType::Bot, "b", "plain", Status::Attributed),
        ],
        ..Findings::default()
    };
    let html = render(&[f]);
    // The only closing script tags are the page's own: the lookups, one data block, the
    // renderer.
    assert_eq!(html.matches("</script>").count(), 3, "{html}");
    assert_eq!(html.matches("<script").count(), 3);
    assert!(!html.contains("<img"));
    assert!(!html.contains("<!--"));
    assert!(!html.contains('\u{2028}'));
    // The data still says exactly what the tenant holds.
    let blocks = json_blocks(&html);
    let rows = blocks[1].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][3], nasty);
    assert_eq!(rows[0][4], "id</script>");
    // In the markup (the not-attributed list) the name is escaped text.
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)"));
}

#[test]
fn every_verdict_is_in_the_data_block_and_none_is_a_table_row() {
    let mut f = common::findings();
    let template = f.verdicts[0].clone();
    for i in 0..5000 {
        f.verdicts.push(Verdict {
            resource_id: format!("bulk-{i}"),
            resource_name: format!("Bulk {i}"),
            ..template.clone()
        });
    }
    let html = render(std::slice::from_ref(&f));
    let blocks = json_blocks(&html);
    assert_eq!(blocks[1].as_array().unwrap().len(), f.verdicts.len());
    // Static rows: the roster and at most 200 not-attributed resources, never the verdicts.
    assert!(
        html.matches("<tr>").count() < 250,
        "{}",
        html.matches("<tr>").count()
    );
}

#[test]
fn a_portfolio_gets_a_rollup_and_a_section_per_tenant() {
    let a = common::findings();
    let mut b = common::findings();
    b.tenant_id = "22222222-2222-2222-2222-222222222222".into();
    b.verdicts.truncate(3);
    let html = render(&[a.clone(), b.clone()]);
    assert!(html.contains("id=\"portfolio\""));
    assert!(html.contains("id=\"tenant-0\"") && html.contains("id=\"tenant-1\""));
    let blocks = json_blocks(&html);
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[2].as_array().unwrap().len(), b.verdicts.len());
    let all = a.verdicts.len() + b.verdicts.len();
    assert!(
        html.contains(&format!(
            "<strong>All tenants</strong></td><td><code></code></td><td class=\"num\">{all}</td>"
        )),
        "{html}"
    );
}

#[test]
fn no_tenant_and_an_empty_tenant_still_make_a_page() {
    let html = render(&[]);
    assert!(html.ends_with("</html>\n"));
    let html = render(&[Findings::default()]);
    assert!(html.contains("No resources."));
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn canned_html() {
    insta::assert_snapshot!("html_canned", render(&[common::findings()]));
}
