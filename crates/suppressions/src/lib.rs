//! Accepted findings: the suppressions file (`--suppressions F`, docs/suppressions.md)
//! and the one step, between the verdict engine and the reports, that marks the verdicts
//! it accepts.
//!
//! A suppressed verdict keeps its status; it carries a [`Suppression`] (reason, approver,
//! expiry, `file:line`) that every report renders, and `--fail-under` leaves it out. An
//! entry past its `expires` date suppresses nothing, so the finding counts again; the
//! [`Usage`] after the audit says which entries expired and which matched nothing, for
//! the command line to warn about. Nothing here prints.
//!
//! [`Applier::apply`] marks findings held in memory; [`SuppressingSink`] does the same to
//! verdicts streaming from the engine to any [`VerdictSink`].

mod glob;

use chrono::NaiveDate;
use palaudit_model::lines::{line_at, strip_bom};
use palaudit_model::{
    AuditHeader, AuditSummary, Findings, ResourceType, SinkError, Status, Suppression, Verdict,
    VerdictSink,
};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use glob::Glob;

/// One problem with an entry, at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// Why a suppressions file cannot be used. Every problem is listed with its line, so a
/// file with several mistakes is fixed in one go.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionsError {
    #[error("cannot read the suppressions file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", Problems { path, problems })]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

struct Problems<'a> {
    path: &'a Path,
    problems: &'a [Problem],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{}: {}", self.path.display(), p.line, p.message)?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    suppress: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default)]
    resource_id: Option<Spanned<String>>,
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    environment: Option<Spanned<String>>,
    #[serde(default)]
    resource_type: Option<Spanned<String>>,
    #[serde(default)]
    tenant_id: Option<Spanned<String>>,
    #[serde(default)]
    reason: Option<Spanned<String>>,
    #[serde(default)]
    approved_by: Option<Spanned<String>>,
    #[serde(default)]
    expires: Option<Spanned<toml::Value>>,
}

/// One entry of the file: what it matches, and the suppression it applies.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The line of its `[[suppress]]` header.
    pub line: usize,
    resource_id: Option<String>,
    name: Option<Glob>,
    environment: Option<Glob>,
    resource_type: Option<ResourceType>,
    tenant_id: Option<String>,
    pub suppression: Arc<Suppression>,
}

impl Entry {
    fn matches(&self, tenant_id: &str, v: &Verdict) -> bool {
        self.tenant_id
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(tenant_id))
            && self
                .resource_id
                .as_deref()
                .is_none_or(|id| id.eq_ignore_ascii_case(&v.resource_id))
            && self.resource_type.is_none_or(|t| t == v.resource_type)
            && self
                .name
                .as_ref()
                .is_none_or(|g| g.matches(&v.resource_name))
            && self
                .environment
                .as_ref()
                .is_none_or(|g| g.matches(&v.environment_name) || g.matches(&v.environment_id))
    }

    /// Past its `expires` day on `today`.
    pub fn expired(&self, today: NaiveDate) -> bool {
        today > self.suppression.expires
    }
}

/// A loaded suppressions file.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl Suppressions {
    pub fn load(path: &Path) -> Result<Suppressions, SuppressionsError> {
        let bytes = std::fs::read(path).map_err(|source| SuppressionsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Suppressions::parse(&bytes, path)
    }

    /// Reads the file's text; `path` names it in errors and in each entry's `source`.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Suppressions, SuppressionsError> {
        let invalid = |problems: Vec<Problem>| SuppressionsError::Invalid {
            path: path.to_owned(),
            problems,
        };
        let body = strip_bom(bytes);
        let text = std::str::from_utf8(body).map_err(|e| {
            invalid(vec![Problem {
                line: line_at(body, e.valid_up_to()),
                message: "not UTF-8 text".to_owned(),
            }])
        })?;
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            invalid(vec![Problem {
                line: e.span().map(|s| line_at(body, s.start)).unwrap_or(1),
                message: e.message().trim().to_owned(),
            }])
        })?;
        let mut problems = Vec::new();
        let mut entries = Vec::with_capacity(raw.suppress.len());
        let line = |span: std::ops::Range<usize>| line_at(body, span.start);
        for spanned in raw.suppress {
            let entry_line = line(spanned.span());
            let raw = spanned.into_inner();
            let mut problem = |at: usize, message: String| {
                problems.push(Problem { line: at, message });
            };
            let text_field = |f: &Option<Spanned<String>>| {
                f.as_ref()
                    .map(|s| (line(s.span()), s.get_ref().trim().to_owned()))
            };
            let mut required =
                |key: &str, f: &Option<Spanned<String>>, what: &str| match text_field(f) {
                    Some((_, v)) if !v.is_empty() => Some(v),
                    Some((at, _)) => {
                        problem(at, format!("`{key}` is empty: {what}"));
                        None
                    }
                    None => {
                        problem(entry_line, format!("`{key}` is missing: {what}"));
                        None
                    }
                };
            let reason = required("reason", &raw.reason, "say why the finding is accepted");
            let approved_by = required(
                "approved_by",
                &raw.approved_by,
                "say who accepted the finding",
            );
            let expires = match &raw.expires {
                None => {
                    problem(
                        entry_line,
                        "`expires` is missing: give the last day the entry holds, e.g. `expires = 2026-06-30`"
                            .to_owned(),
                    );
                    None
                }
                Some(v) => match parse_date(v.get_ref()) {
                    Ok(d) => Some(d),
                    Err(m) => {
                        problem(line(v.span()), m);
                        None
                    }
                },
            };
            let glob =
                |f: &Option<Spanned<String>>, key: &str, problem: &mut dyn FnMut(usize, String)| {
                    match text_field(f) {
                        Some((at, v)) if v.is_empty() => {
                            problem(at, format!("`{key}` is empty"));
                            None
                        }
                        Some((_, v)) => Some(Glob::new(&v)),
                        None => None,
                    }
                };
            let name = glob(&raw.name, "name", &mut problem);
            let environment = glob(&raw.environment, "environment", &mut problem);
            let resource_id = match text_field(&raw.resource_id) {
                Some((at, v)) if v.is_empty() => {
                    problem(at, "`resource_id` is empty".to_owned());
                    None
                }
                other => other.map(|(_, v)| v),
            };
            let resource_type = match text_field(&raw.resource_type) {
                Some((at, v)) => match v.parse::<ResourceType>() {
                    Ok(t) => Some(t),
                    Err(_) => {
                        let words: Vec<&str> =
                            ResourceType::ALL.iter().map(|t| t.as_str()).collect();
                        problem(
                            at,
                            format!("`resource_type` `{v}` is not one of {}", words.join(", ")),
                        );
                        None
                    }
                },
                None => None,
            };
            let tenant_id = text_field(&raw.tenant_id).map(|(_, v)| v);
            if raw.resource_id.is_none() && raw.name.is_none() && raw.environment.is_none() {
                problem(
                    entry_line,
                    "the entry matches nothing: give `resource_id`, or a `name` and/or `environment` glob"
                        .to_owned(),
                );
            }
            if let (Some(reason), Some(approved_by), Some(expires)) = (reason, approved_by, expires)
            {
                entries.push(Entry {
                    line: entry_line,
                    resource_id,
                    name,
                    environment,
                    resource_type,
                    tenant_id,
                    suppression: Arc::new(Suppression {
                        reason,
                        approved_by,
                        expires,
                        source: format!("{}:{entry_line}", path.display()),
                    }),
                });
            }
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.line);
            return Err(invalid(problems));
        }
        Ok(Suppressions {
            path: path.to_owned(),
            entries,
        })
    }
}

/// A TOML date (`2026-06-30`) or the same as a string; a time of day is refused, since an
/// entry holds for whole days.
fn parse_date(v: &toml::Value) -> Result<NaiveDate, String> {
    let text = match v {
        toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
        toml::Value::Datetime(d) => {
            return Err(format!(
                "`expires` must be a date without a time, e.g. `expires = 2026-06-30`, not `{d}`"
            ));
        }
        toml::Value::String(s) => s.trim().to_owned(),
        other => {
            return Err(format!(
                "`expires` must be a date, e.g. `expires = 2026-06-30`, not {}",
                other.type_str()
            ));
        }
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| format!("`expires` `{text}` is not a date (YYYY-MM-DD)"))
}

/// What the entries did over an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Entries past their date, with how many verdicts they would have suppressed: those
    /// count again.
    pub expired: Vec<(Arc<Suppression>, u64)>,
    /// Entries in force that matched no verdict.
    pub unused: Vec<Arc<Suppression>>,
    /// Verdicts suppressed.
    pub suppressed: u64,
}

/// Applies a suppressions file to the verdicts of one audit (one or many tenants),
/// counting what each entry matched.
pub struct Applier<'a> {
    set: &'a Suppressions,
    today: NaiveDate,
    applied: Vec<u64>,
    expired_matches: Vec<u64>,
}

impl<'a> Applier<'a> {
    /// `today` decides which entries have expired (an entry holds through its `expires`
    /// day).
    pub fn new(set: &'a Suppressions, today: NaiveDate) -> Applier<'a> {
        let n = set.entries.len();
        Applier {
            set,
            today,
            applied: vec![0; n],
            expired_matches: vec![0; n],
        }
    }

    /// The suppression that applies to `v` of tenant `tenant_id`: the first entry in
    /// force that matches it. Expired entries that match are counted, never applied.
    pub fn annotate(&mut self, tenant_id: &str, v: &Verdict) -> Option<Arc<Suppression>> {
        for (i, e) in self.set.entries.iter().enumerate() {
            if !e.matches(tenant_id, v) {
                continue;
            }
            if e.expired(self.today) {
                self.expired_matches[i] += 1;
                continue;
            }
            self.applied[i] += 1;
            return Some(Arc::clone(&e.suppression));
        }
        None
    }

    /// Marks the findings' verdicts in place.
    pub fn apply(&mut self, findings: &mut Findings) {
        for v in &mut findings.verdicts {
            v.suppression = self.annotate(&findings.tenant_id, v);
        }
    }

    /// What the entries did so far.
    pub fn usage(&self) -> Usage {
        let mut usage = Usage {
            expired: Vec::new(),
            unused: Vec::new(),
            suppressed: self.applied.iter().sum(),
        };
        for (i, e) in self.set.entries.iter().enumerate() {
            if e.expired(self.today) {
                usage
                    .expired
                    .push((Arc::clone(&e.suppression), self.expired_matches[i]));
            } else if self.applied[i] == 0 {
                usage.unused.push(Arc::clone(&e.suppression));
            }
        }
        usage
    }
}

/// A [`VerdictSink`] adapter: marks each verdict the suppressions accept, then hands it
/// to `inner`; `end` passes on a summary whose suppressed counts and not-attributed list
/// carry the marks.
pub struct SuppressingSink<'a, 'b> {
    applier: &'a mut Applier<'b>,
    inner: &'a mut dyn VerdictSink,
    tenant_id: String,
    /// Marks given to verdicts that are not attributed, by (environment, type, id), for
    /// the summary's list of them.
    marked: HashMap<(String, ResourceType, String), Arc<Suppression>>,
    suppressed: palaudit_model::Counts,
    /// The attributed verdicts it marked, in the order seen, for the summary.
    suppressed_attributed: Vec<Verdict>,
}

impl<'a, 'b> SuppressingSink<'a, 'b> {
    pub fn new(applier: &'a mut Applier<'b>, inner: &'a mut dyn VerdictSink) -> Self {
        SuppressingSink {
            applier,
            inner,
            tenant_id: String::new(),
            marked: HashMap::new(),
            suppressed: Default::default(),
            suppressed_attributed: Vec::new(),
        }
    }
}

fn key(v: &Verdict) -> (String, ResourceType, String) {
    (
        v.environment_id.to_string(),
        v.resource_type,
        v.resource_id.clone(),
    )
}

impl SuppressingSink<'_, '_> {
    /// `v` with the mark of the entry that accepts it, counted and remembered for the
    /// summary; `None` when no entry does.
    fn mark(&mut self, v: &Verdict) -> Option<Verdict> {
        let s = self.applier.annotate(&self.tenant_id, v)?;
        self.suppressed.add(v.status);
        if v.status != Status::Attributed {
            self.marked.insert(key(v), Arc::clone(&s));
        }
        let mut marked = v.clone();
        marked.suppression = Some(s);
        if marked.status == Status::Attributed {
            self.suppressed_attributed.push(marked.clone());
        }
        Some(marked)
    }
}

impl VerdictSink for SuppressingSink<'_, '_> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.tenant_id = header.tenant_id.clone();
        self.marked.clear();
        self.suppressed = Default::default();
        self.suppressed_attributed.clear();
        self.inner.begin(header)
    }

    fn verdict(&mut self, v: &Verdict) -> Result<(), SinkError> {
        match self.mark(v) {
            None => self.inner.verdict(v),
            Some(marked) => self.inner.verdict(&marked),
        }
    }

    fn verdicts(&mut self, block: &[Verdict]) -> Result<(), SinkError> {
        // Most blocks have nothing suppressed and pass on as they are; a block with a
        // mark is passed on as a copy that carries it.
        let mut marked: Option<Vec<Verdict>> = None;
        for (i, v) in block.iter().enumerate() {
            if let Some(m) = self.mark(v) {
                marked.get_or_insert_with(|| block[..i].to_vec()).push(m);
            } else if let Some(marked) = &mut marked {
                marked.push(v.clone());
            }
        }
        self.inner.verdicts(marked.as_deref().unwrap_or(block))
    }

    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        let mut summary = summary.clone();
        // The engine's list has no marks yet: rewrite it only when some entry matched.
        if !self.marked.is_empty() {
            summary.not_attributed = summary
                .not_attributed
                .map(|v| v.suppression = self.marked.get(&key(v)).cloned())?;
        }
        summary.suppressed = self.suppressed;
        summary.suppressed_attributed = std::mem::take(&mut self.suppressed_attributed);
        self.inner.end(&summary)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests;
