//! `rules/reasons.toml`: what each reason code on a verdict means and what to do about it.
//!
//! The codes themselves are [`Reason`] (the engine emits them; reports and the CSV print
//! them). This file gives each one a title, an explanation and a next step, as data a
//! partner can read and adapt, so `palaudit rule CODE` and `docs/rules` can explain the
//! codes users see. The file must cover exactly the codes palaudit emits: a code missing
//! here, named twice, or unknown to this build is a load error naming file and line.

use crate::load::{Problem, line_of};
use palaudit_model::Reason;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// The `kind` of the reason-code file.
pub(crate) const KIND: &str = "reasons";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReasons {
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    reason: Vec<RawReason>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReason {
    code: Spanned<String>,
    title: String,
    explanation: String,
    what_to_do: String,
}

/// One reason code explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonDoc {
    pub reason: Reason,
    pub title: String,
    pub explanation: String,
    pub what_to_do: String,
}

impl ReasonDoc {
    /// The code explained in markdown: what `palaudit rule CODE` prints and what
    /// `docs/rules/reasons.md` holds.
    pub fn explain(&self) -> String {
        format!(
            "# {}: {}\n\n- kind: reason code\n\n{}\n\n## What to do\n\n{}\n",
            self.reason.as_str(),
            self.title.trim(),
            self.explanation.trim(),
            self.what_to_do.trim()
        )
    }
}

/// Every reason code explained, in [`Reason::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonBook {
    docs: Vec<ReasonDoc>,
}

impl ReasonBook {
    /// All entries, in the order verdicts list their reasons.
    pub fn all(&self) -> &[ReasonDoc] {
        &self.docs
    }

    pub fn get(&self, reason: Reason) -> &ReasonDoc {
        // `parse` refuses a file that lacks a code, so every reason has its entry.
        self.docs
            .iter()
            .find(|d| d.reason == reason)
            .expect("every reason code has an entry")
    }

    /// The entry of code `code` (`identity_deleted`), if it is one.
    pub fn find(&self, code: &str) -> Option<&ReasonDoc> {
        Reason::parse(code).map(|r| self.get(r))
    }

    /// Reads the reason-code file `path` (already known to be `kind = "reasons"`),
    /// reporting every problem into `problems`.
    pub(crate) fn parse(
        path: &Path,
        text: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<ReasonBook> {
        let mut bad = |line: usize, message: String| {
            problems.push(Problem {
                file: path.to_owned(),
                line,
                message,
            })
        };
        let raw = match toml::from_str::<RawReasons>(text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
                bad(line, e.message().trim().to_owned());
                return None;
            }
        };
        let mut found: Vec<Option<ReasonDoc>> = vec![None; Reason::ALL.len()];
        let mut ok = true;
        for r in raw.reason {
            let line = line_of(text, r.code.span().start);
            let code = r.code.get_ref();
            let Some(reason) = Reason::parse(code) else {
                bad(
                    line,
                    format!("unknown reason code `{code}`; palaudit never emits it"),
                );
                ok = false;
                continue;
            };
            for (field, value) in [
                ("title", &r.title),
                ("explanation", &r.explanation),
                ("what_to_do", &r.what_to_do),
            ] {
                if value.trim().is_empty() {
                    bad(line, format!("reason `{code}` has an empty `{field}`"));
                    ok = false;
                }
            }
            let slot = &mut found[position(reason)];
            if slot.is_some() {
                bad(line, format!("reason code `{code}` is listed twice"));
                ok = false;
                continue;
            }
            *slot = Some(ReasonDoc {
                reason,
                title: r.title,
                explanation: r.explanation,
                what_to_do: r.what_to_do,
            });
        }
        // A missing entry belongs at the end of the file, where it would be added.
        let end = line_of(text, text.trim_end().len());
        for (reason, doc) in Reason::ALL.iter().zip(&found) {
            if doc.is_none() {
                bad(
                    end,
                    format!(
                        "no entry for reason code `{reason}`; every code palaudit emits needs a [[reason]]"
                    ),
                );
                ok = false;
            }
        }
        ok.then(|| ReasonBook {
            docs: found.into_iter().flatten().collect(),
        })
    }
}

fn position(reason: Reason) -> usize {
    Reason::ALL
        .iter()
        .position(|r| *r == reason)
        .expect("Reason::ALL lists every reason")
}
