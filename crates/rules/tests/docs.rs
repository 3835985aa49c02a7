//! `docs/rules/` is generated from the rule files and `rules/reasons.toml`; this test
//! fails when it is stale.
//! Regenerate with `PALAUDIT_BLESS=1 cargo test -p palaudit-rules --test docs`.

use palaudit_model::Reason;
use palaudit_rules::RuleSet;
use std::path::Path;

fn expected() -> Vec<(String, String)> {
    let rules = RuleSet::bundled();
    let mut files: Vec<(String, String)> = rules
        .rules()
        .iter()
        .map(|r| (format!("{}.md", r.id()), r.explain()))
        .collect();
    let mut index = String::from(
        "# Rules and reason codes\n\nGenerated from `rules/*.toml` by \
         `PALAUDIT_BLESS=1 cargo test -p palaudit-rules --test docs`; do not edit by hand.\n\n\
         | rule | kind | title |\n|---|---|---|\n",
    );
    for r in rules.rules() {
        index.push_str(&format!(
            "| [{0}]({0}.md) | {1} | {2} |\n",
            r.id(),
            r.kind(),
            r.title()
        ));
    }
    index.push_str(
        "\n## What `status` and `tie_break` do\n\n\
         - `status = \"stable\"`: the rule follows Microsoft's published attribution logic.\n\
         - `status = \"preview\"`: palaudit's reading of logic Microsoft has not fully \
         published; `palaudit rule ID` and the rule's page say so, and every command that \
         loads it warns that its verdicts may change in a later release.\n\
         - `status = \"deprecated\"`: the rule will be removed; its verdicts still count, and \
         every command that loads it warns.\n\
         - `tie_break = \"latest_partner\"`: when PAL identities of several partners qualify, \
         the partner whose identity shows the latest activity wins (`latest_partner_wins`); \
         identical activity goes to the lower partner ID (`tie_broken_by_partner_id`).\n\
         - `tie_break = \"single_holder\"`: the role has one holder (a creator), so its \
         partner wins uncontested; should the data show several partners anyway, the \
         latest-partner procedure decides, so the verdict stays repeatable.\n",
    );
    index.push_str(
        "\n## Reason codes\n\nEach verdict lists why it was reached (`rules/reasons.toml`); \
         [reasons.md](reasons.md) explains every code and what to do about it, as \
         `palaudit rule CODE` does.\n\n| code | title | in one sentence |\n|---|---|---|\n",
    );
    let mut reasons = String::from(
        "# Reason codes\n\nGenerated from `rules/reasons.toml` by \
         `PALAUDIT_BLESS=1 cargo test -p palaudit-rules --test docs`; do not edit by hand.\n",
    );
    for doc in rules.reasons.all() {
        index.push_str(&format!(
            "| `{}` | {} | {} |\n",
            doc.reason.as_str(),
            doc.title.trim(),
            doc.reason.explanation()
        ));
        // One level down: each code is a section of the page.
        for line in doc.explain().lines() {
            reasons.push('\n');
            if line.starts_with('#') {
                reasons.push('#');
            }
            reasons.push_str(line);
        }
        reasons.push('\n');
    }
    assert_eq!(
        rules
            .reasons
            .all()
            .iter()
            .map(|d| d.reason)
            .collect::<Vec<_>>(),
        Reason::ALL,
        "every reason code is documented"
    );
    files.push(("README.md".into(), index));
    files.push(("reasons.md".into(), reasons));
    files
}

#[test]
fn generated_rule_docs_are_current() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules"));
    let bless = std::env::var_os("PALAUDIT_BLESS").is_some();
    let mut stale = Vec::new();
    if bless {
        std::fs::create_dir_all(dir).unwrap();
    }
    for (name, text) in expected() {
        let path = dir.join(&name);
        if bless {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/rules is stale ({stale:?}); run PALAUDIT_BLESS=1 cargo test -p palaudit-rules --test docs"
    );
}
