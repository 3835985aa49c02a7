//! `docs/rules/` is generated from the rule files; this test fails when it is stale.
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
    index.push_str("\n## Reason codes\n\n| code | meaning |\n|---|---|\n");
    for reason in Reason::ALL {
        index.push_str(&format!(
            "| `{}` | {} |\n",
            reason.as_str(),
            reason.explanation()
        ));
    }
    files.push(("README.md".into(), index));
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
