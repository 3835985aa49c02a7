//! Loading `rules/*.toml` with a strict schema.
//!
//! Unknown fields are denied and every problem is reported with its file and line, all at
//! once. A rule's id is its file stem.

use crate::reasons::{self, ReasonBook};
use palaudit_model::{ChangePath, ResourceType, Role, TypeGuidance};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The rule files compiled into palaudit, so an installed binary needs no rules directory.
const BUNDLED: [(&str, &str); 7] = [
    (
        "canvas_app.toml",
        include_str!("../../../rules/canvas_app.toml"),
    ),
    (
        "model_driven_app.toml",
        include_str!("../../../rules/model_driven_app.toml"),
    ),
    ("flow.toml", include_str!("../../../rules/flow.toml")),
    (
        "powerbi_dataset.toml",
        include_str!("../../../rules/powerbi_dataset.toml"),
    ),
    ("bot.toml", include_str!("../../../rules/bot.toml")),
    (
        "production_only.toml",
        include_str!("../../../rules/production_only.toml"),
    ),
    ("reasons.toml", include_str!("../../../rules/reasons.toml")),
];

/// How several partners' claims on one resource are settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// The partner whose identity shows the latest activity wins.
    LatestPartner,
    /// The role has one holder only (a creator); should the data show several, the
    /// latest-partner procedure still decides, so the verdict stays deterministic.
    SingleHolder,
}

impl TieBreak {
    pub fn as_str(self) -> &'static str {
        match self {
            TieBreak::LatestPartner => "latest_partner",
            TieBreak::SingleHolder => "single_holder",
        }
    }
}

/// How settled a rule is. It gates what users are told: a `preview` rule is marked as
/// such wherever it is explained, and an audit that relies on a `deprecated` rule warns
/// that it will go away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleStatus {
    /// Matches Microsoft's published attribution logic.
    Stable,
    /// palaudit's reading of logic Microsoft has not fully published; its verdicts may
    /// change in a later release.
    Preview,
    /// Kept for existing users, to be removed; its verdicts still count.
    Deprecated,
}

impl RuleStatus {
    pub const ALL: [RuleStatus; 3] = [
        RuleStatus::Stable,
        RuleStatus::Preview,
        RuleStatus::Deprecated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleStatus::Stable => "stable",
            RuleStatus::Preview => "preview",
            RuleStatus::Deprecated => "deprecated",
        }
    }

    fn parse(s: &str) -> Option<RuleStatus> {
        RuleStatus::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The note `palaudit rule` and `docs/rules` show for a rule of this status, and an
    /// audit warns with for a deprecated one; `None` for a stable rule.
    pub fn note(self) -> Option<&'static str> {
        match self {
            RuleStatus::Stable => None,
            RuleStatus::Preview => Some(
                "this rule is a preview: it reads attribution logic Microsoft has not fully published, and its verdicts may change in a later release",
            ),
            RuleStatus::Deprecated => Some(
                "this rule is deprecated and will be removed; its verdicts still count in this release",
            ),
        }
    }
}

/// One row of a compatibility table: which tools can move ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePathTable {
    pub gui: bool,
    pub powershell: bool,
    pub pp_cli: bool,
    pub devops: bool,
}

impl ChangePathTable {
    pub fn paths(&self) -> Vec<ChangePath> {
        [
            (self.gui, ChangePath::Gui),
            (self.powershell, ChangePath::Powershell),
            (self.pp_cli, ChangePath::PpCli),
            (self.devops, ChangePath::Devops),
        ]
        .into_iter()
        .filter_map(|(on, p)| on.then_some(p))
        .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePaths {
    user: ChangePathTable,
    service_principal: ChangePathTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttribution {
    #[allow(dead_code)]
    kind: String,
    resource_type: Spanned<String>,
    status: Spanned<String>,
    title: String,
    product: String,
    metric: String,
    attributing_roles: Spanned<Vec<Spanned<String>>>,
    tie_break: TieBreak,
    summary: String,
    #[serde(default)]
    limitations: Vec<String>,
    change_paths: ChangePaths,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEligibility {
    #[allow(dead_code)]
    kind: String,
    status: Spanned<String>,
    title: String,
    eligible_environment_types: Spanned<Vec<String>>,
    summary: String,
    #[serde(default)]
    limitations: Vec<String>,
}

/// Who earns credit on one resource type, and how ownership can be moved.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionRule {
    pub id: String,
    pub resource_type: ResourceType,
    pub status: RuleStatus,
    pub title: String,
    pub product: String,
    pub metric: String,
    pub attributing_roles: Vec<Role>,
    pub tie_break: TieBreak,
    pub summary: String,
    pub limitations: Vec<String>,
    pub to_user: ChangePathTable,
    pub to_service_principal: ChangePathTable,
}

/// Which environments count for partner programs.
#[derive(Debug, Clone, PartialEq)]
pub struct EligibilityRule {
    pub id: String,
    pub status: RuleStatus,
    pub title: String,
    pub eligible_environment_types: Vec<String>,
    pub summary: String,
    pub limitations: Vec<String>,
}

impl EligibilityRule {
    /// Environment types compare case-insensitively (`Production`, `production`).
    pub fn is_eligible(&self, environment_type: &str) -> bool {
        self.eligible_environment_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(environment_type.trim()))
    }
}

/// Any rule, for listing and explaining.
#[derive(Debug, Clone, Copy)]
pub enum Rule<'a> {
    Attribution(&'a AttributionRule),
    Eligibility(&'a EligibilityRule),
}

impl Rule<'_> {
    pub fn id(&self) -> &str {
        match self {
            Rule::Attribution(r) => &r.id,
            Rule::Eligibility(r) => &r.id,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Rule::Attribution(_) => "attribution",
            Rule::Eligibility(_) => "eligibility",
        }
    }
    pub fn title(&self) -> &str {
        match self {
            Rule::Attribution(r) => &r.title,
            Rule::Eligibility(r) => &r.title,
        }
    }
    pub fn status(&self) -> RuleStatus {
        match self {
            Rule::Attribution(r) => r.status,
            Rule::Eligibility(r) => r.status,
        }
    }

    /// The rule explained in markdown: what `palaudit rule ID` prints and what
    /// `docs/rules/ID.md` holds.
    pub fn explain(&self) -> String {
        let mut s = format!("# {}: {}\n\n", self.id(), self.title());
        s.push_str(&format!(
            "- kind: {}\n- status: {}\n",
            self.kind(),
            self.status().as_str()
        ));
        if let Some(note) = self.status().note() {
            s.push_str(&format!("\n> **{}**: {note}.\n\n", self.status().as_str()));
        }
        match self {
            Rule::Attribution(r) => {
                s.push_str(&format!(
                    "- resource type: `{}` ({})\n",
                    r.resource_type, r.product
                ));
                s.push_str(&format!("- metric: {}\n", r.metric));
                let roles: Vec<String> = r
                    .attributing_roles
                    .iter()
                    .map(|x| format!("`{x}`"))
                    .collect();
                s.push_str(&format!("- attributing roles: {}\n", roles.join(", ")));
                s.push_str(&format!(
                    "- several partners: `{}`\n\n",
                    r.tie_break.as_str()
                ));
                s.push_str(r.summary.trim());
                s.push_str("\n\n## Moving ownership to a PAL-linked identity\n\n");
                s.push_str("| to | GUI | PowerShell | PP CLI | DevOps + Build Tools |\n");
                s.push_str("|---|---|---|---|---|\n");
                for (label, t) in [
                    ("user or service account", r.to_user),
                    ("service principal", r.to_service_principal),
                ] {
                    let yn = |b: bool| if b { "YES" } else { "NO" };
                    s.push_str(&format!(
                        "| {label} | {} | {} | {} | {} |\n",
                        yn(t.gui),
                        yn(t.powershell),
                        yn(t.pp_cli),
                        yn(t.devops)
                    ));
                }
                if !r.limitations.is_empty() {
                    s.push_str("\n## Known limitations\n\n");
                    for l in &r.limitations {
                        s.push_str(&format!("- {l}\n"));
                    }
                }
            }
            Rule::Eligibility(r) => {
                let types: Vec<String> = r
                    .eligible_environment_types
                    .iter()
                    .map(|x| format!("`{x}`"))
                    .collect();
                s.push_str(&format!(
                    "- eligible environment types: {}\n\n",
                    types.join(", ")
                ));
                s.push_str(r.summary.trim());
                s.push('\n');
                if !r.limitations.is_empty() {
                    s.push_str("\n## What to do\n\n");
                    for l in &r.limitations {
                        s.push_str(&format!("- {l}\n"));
                    }
                }
            }
        }
        s
    }
}

/// The whole rule book: one attribution rule per resource type and the eligibility rule.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub attribution: BTreeMap<ResourceType, AttributionRule>,
    pub eligibility: EligibilityRule,
    /// What each reason code means (`reasons.toml`).
    pub reasons: ReasonBook,
    /// Where the rules came from (a directory, or `bundled`).
    pub origin: String,
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the rule set as a whole.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)
        }
    }
}

/// Why the rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read rules from {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Problem>),
    #[error("the rules directory {} has no rule files (`*.toml`)", dir.display())]
    NoRuleFiles { dir: PathBuf },
}

fn render(problems: &[Problem]) -> String {
    let mut s = format!(
        "the rules have {} problem{}:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str(&format!("\n  {p}"));
    }
    s
}

/// The 1-based line of byte `offset` of a rule file (CRLF, lone CR and a BOM counted as
/// an editor shows them).
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    palaudit_model::lines::line_at(text.as_bytes(), offset)
}

impl RuleSet {
    /// The rules compiled into this build of palaudit.
    pub fn bundled() -> RuleSet {
        let files = BUNDLED
            .iter()
            .map(|(name, text)| (PathBuf::from("rules").join(name), (*text).to_owned()));
        // The bundled rules are checked by the test suite; failing here is a build defect.
        RuleSet::from_texts(files, "bundled".into()).expect("bundled rules are valid")
    }

    /// Loads every `*.toml` in `dir`.
    pub fn load_dir(dir: &Path) -> Result<RuleSet, LoadError> {
        let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| LoadError::Io {
                path: dir.to_owned(),
                source,
            })?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            match String::from_utf8(bytes) {
                Ok(text) => files.push((path, text)),
                Err(e) => {
                    let line =
                        palaudit_model::lines::line_at(e.as_bytes(), e.utf8_error().valid_up_to());
                    return Err(LoadError::Invalid(vec![Problem {
                        file: path,
                        line,
                        message: "not UTF-8 text".into(),
                    }]));
                }
            }
        }
        if files.is_empty() {
            return Err(LoadError::NoRuleFiles {
                dir: dir.to_owned(),
            });
        }
        files.sort();
        RuleSet::from_texts(files, dir.display().to_string())
    }

    /// Validates a set of rule files given as (path, text).
    pub fn from_texts(
        files: impl IntoIterator<Item = (PathBuf, String)>,
        origin: String,
    ) -> Result<RuleSet, LoadError> {
        let mut problems = Vec::new();
        let mut attribution: BTreeMap<ResourceType, AttributionRule> = BTreeMap::new();
        let mut eligibility: Option<EligibilityRule> = None;
        let mut reason_book: Option<ReasonBook> = None;
        let mut reasons_seen = false;
        let mut first_file = None;
        // Stems of files that had problems: a broken `flow.toml` is reported once, not
        // again as a missing `flow` rule.
        let mut broken: Vec<String> = Vec::new();
        for (path, text) in files {
            // A byte-order mark is not TOML; it sits before line 1, so lines stay as they are.
            let text = match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_owned(),
                None => text,
            };
            let before = problems.len();
            first_file.get_or_insert_with(|| path.clone());
            let id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut bad = |line: usize, message: String| {
                problems.push(Problem {
                    file: path.clone(),
                    line,
                    message,
                })
            };
            let kind = match toml::from_str::<toml::Table>(&text) {
                Err(e) => {
                    let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(0);
                    bad(line, e.message().trim().to_owned());
                    // Not read at all: its rule is broken, not missing.
                    broken.push(id);
                    continue;
                }
                Ok(table) => table
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .map(str::to_owned),
            };
            match kind.as_deref() {
                Some("attribution") => match toml::from_str::<RawAttribution>(&text) {
                    Err(e) => {
                        let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(0);
                        bad(line, e.message().trim().to_owned());
                    }
                    Ok(raw) => {
                        if let Some(rule) = check_attribution(&id, raw, &text, &mut bad) {
                            if let Some(prev) = attribution.get(&rule.resource_type) {
                                bad(
                                    1,
                                    format!(
                                        "a second attribution rule for `{}` (the first is `{}`)",
                                        rule.resource_type, prev.id
                                    ),
                                );
                            } else {
                                attribution.insert(rule.resource_type, rule);
                            }
                        }
                    }
                },
                Some("eligibility") => match toml::from_str::<RawEligibility>(&text) {
                    Err(e) => {
                        let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(0);
                        bad(line, e.message().trim().to_owned());
                    }
                    Ok(raw) => {
                        let status = check_status(&raw.status, &text, &mut bad);
                        if raw.eligible_environment_types.get_ref().is_empty() {
                            bad(
                                line_of(&text, raw.eligible_environment_types.span().start),
                                "eligible_environment_types is empty: no resource could ever be credited".into(),
                            );
                        }
                        if eligibility.is_some() {
                            bad(
                                1,
                                "a second eligibility rule; there must be exactly one".into(),
                            );
                        } else {
                            eligibility = Some(EligibilityRule {
                                id: id.clone(),
                                status: status.unwrap_or(RuleStatus::Stable),
                                title: raw.title,
                                eligible_environment_types: raw
                                    .eligible_environment_types
                                    .into_inner(),
                                summary: raw.summary,
                                limitations: raw.limitations,
                            });
                        }
                    }
                },
                Some(reasons::KIND) => {
                    if reasons_seen {
                        bad(
                            1,
                            "a second reason-code file; there must be exactly one".into(),
                        );
                    } else {
                        reasons_seen = true;
                        reason_book = ReasonBook::parse(&path, &text, &mut problems);
                    }
                }
                Some(other) => bad(
                    1,
                    format!(
                        "unknown kind `{other}`; expected `attribution`, `eligibility` or `reasons`"
                    ),
                ),
                None => bad(
                    1,
                    "missing `kind` (`attribution`, `eligibility` or `reasons`)".into(),
                ),
            }
            if problems.len() > before {
                broken.push(id);
            }
        }
        let set_file = first_file.unwrap_or_else(|| PathBuf::from(&origin));
        for t in ResourceType::ALL {
            if !attribution.contains_key(&t) && !broken.iter().any(|b| b == t.as_str()) {
                problems.push(Problem {
                    file: set_file.with_file_name(format!("{}.toml", t.as_str())),
                    line: 0,
                    message: format!("no attribution rule for resource type `{t}`"),
                });
            }
        }
        if eligibility.is_none() && !broken.iter().any(|b| b == "production_only") {
            problems.push(Problem {
                file: set_file.with_file_name("production_only.toml"),
                line: 0,
                message: "no eligibility rule (`kind = \"eligibility\"`)".into(),
            });
        }
        if !reasons_seen {
            // A rules directory kept from before reason codes were data has no
            // `reasons.toml`; the codes are palaudit's own vocabulary, so the built-in
            // explanations apply rather than refusing rules that were valid then.
            let (name, text) = BUNDLED
                .iter()
                .find(|(n, _)| *n == "reasons.toml")
                .expect("reasons.toml is bundled");
            reason_book =
                ReasonBook::parse(&PathBuf::from("<built in>").join(name), text, &mut problems);
        }
        match (problems.is_empty(), eligibility, reason_book) {
            (true, Some(eligibility), Some(reasons)) => Ok(RuleSet {
                attribution,
                eligibility,
                reasons,
                origin,
            }),
            _ => Err(LoadError::Invalid(problems)),
        }
    }

    /// Every rule, attribution rules in resource-type order, then eligibility.
    pub fn rules(&self) -> Vec<Rule<'_>> {
        let mut v: Vec<Rule<'_>> = self.attribution.values().map(Rule::Attribution).collect();
        v.push(Rule::Eligibility(&self.eligibility));
        v
    }

    pub fn get(&self, id: &str) -> Option<Rule<'_>> {
        self.rules().into_iter().find(|r| r.id() == id)
    }

    /// What users should be told about the rules an audit relies on: one line per rule
    /// that is not `stable` (`flow: this rule is a preview: …`).
    pub fn notices(&self) -> Vec<String> {
        self.rules()
            .iter()
            .filter_map(|r| r.status().note().map(|n| format!("rule `{}`: {n}", r.id())))
            .collect()
    }

    pub fn rule_for(&self, t: ResourceType) -> &AttributionRule {
        // `from_texts` refuses a rule set that lacks a resource type.
        &self.attribution[&t]
    }

    /// Per-type guidance copied into findings for reports.
    pub fn guidance(&self) -> BTreeMap<ResourceType, TypeGuidance> {
        self.attribution
            .iter()
            .map(|(t, r)| {
                (
                    *t,
                    TypeGuidance {
                        product: r.product.clone(),
                        attributing_roles: r.attributing_roles.clone(),
                        limitations: r.limitations.clone(),
                    },
                )
            })
            .collect()
    }
}

fn check_status(
    status: &Spanned<String>,
    text: &str,
    bad: &mut impl FnMut(usize, String),
) -> Option<RuleStatus> {
    let parsed = RuleStatus::parse(status.get_ref());
    if parsed.is_none() {
        bad(
            line_of(text, status.span().start),
            format!(
                "status `{}` is not `stable`, `preview` or `deprecated`",
                status.get_ref()
            ),
        );
    }
    parsed
}

fn check_attribution(
    id: &str,
    raw: RawAttribution,
    text: &str,
    bad: &mut impl FnMut(usize, String),
) -> Option<AttributionRule> {
    let status = check_status(&raw.status, text, bad);
    let rt_line = line_of(text, raw.resource_type.span().start);
    let resource_type = match raw.resource_type.get_ref().parse::<ResourceType>() {
        Ok(t) => Some(t),
        Err(e) => {
            bad(
                rt_line,
                format!(
                    "{e}; expected one of {}",
                    ResourceType::ALL.map(|t| t.as_str()).join(", ")
                ),
            );
            None
        }
    };
    if let Some(t) = resource_type
        && t.as_str() != id
    {
        bad(
            rt_line,
            format!(
                "the rule id is the file stem `{id}`, but resource_type is `{t}`; name the file `{t}.toml`"
            ),
        );
    }
    let mut roles = Vec::new();
    let mut roles_ok = true;
    for r in raw.attributing_roles.get_ref() {
        let line = line_of(text, r.span().start);
        match r.get_ref().parse::<Role>() {
            Ok(Role::Viewer) => {
                bad(
                    line,
                    "`viewer` can never attribute (a CanView share earns nothing)".into(),
                );
                roles_ok = false;
            }
            Ok(role) => roles.push(role),
            Err(e) => {
                bad(
                    line,
                    format!("{e}; expected owner, co_owner, creator or publisher"),
                );
                roles_ok = false;
            }
        }
    }
    if raw.attributing_roles.get_ref().is_empty() {
        bad(
            line_of(text, raw.attributing_roles.span().start),
            "attributing_roles is empty".into(),
        );
        roles_ok = false;
    }
    if !roles_ok {
        return None;
    }
    Some(AttributionRule {
        id: id.to_owned(),
        resource_type: resource_type?,
        status: status?,
        title: raw.title,
        product: raw.product,
        metric: raw.metric,
        attributing_roles: roles,
        tie_break: raw.tie_break,
        summary: raw.summary,
        limitations: raw.limitations,
        to_user: raw.change_paths.user,
        to_service_principal: raw.change_paths.service_principal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use palaudit_model::Reason;

    fn bundled_with(name: &str, text: &str) -> Result<RuleSet, LoadError> {
        let files = BUNDLED.iter().map(|(n, t)| {
            let t = if *n == name {
                text.to_owned()
            } else {
                (*t).to_owned()
            };
            (PathBuf::from("rules").join(n), t)
        });
        RuleSet::from_texts(files, "test".into())
    }

    fn problems(r: Result<RuleSet, LoadError>) -> Vec<Problem> {
        match r {
            Err(LoadError::Invalid(p)) => p,
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("rules unexpectedly valid"),
        }
    }

    #[test]
    fn bundled_rules_load() {
        let set = RuleSet::bundled();
        assert_eq!(set.attribution.len(), 5);
        assert_eq!(set.rules().len(), 6);
        assert!(set.eligibility.is_eligible("production"));
        assert!(!set.eligibility.is_eligible("Sandbox"));
        assert!(set.get("canvas_app").is_some());
        assert!(set.get("nope").is_none());
    }

    #[test]
    fn unknown_field_is_reported_at_its_line() {
        let text = BUNDLED[2]
            .1
            .replace("tie_break =", "colour = \"red\"\ntie_break =");
        let line = text.lines().position(|l| l.starts_with("colour")).unwrap() + 1;
        let p = problems(bundled_with("flow.toml", &text));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, line);
        assert!(p[0].message.contains("colour"), "{}", p[0].message);
        assert!(p[0].to_string().starts_with("rules/flow.toml:"));
    }

    #[test]
    fn bad_role_and_mismatched_stem_are_both_reported() {
        let text = BUNDLED[0]
            .1
            .replace("[\"owner\", \"co_owner\"]", "[\"owner\", \"viewer\"]")
            .replace("resource_type = \"canvas_app\"", "resource_type = \"flow\"");
        let p = problems(bundled_with("canvas_app.toml", &text));
        let msgs: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert!(msgs.iter().any(|m| m.contains("viewer")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("file stem")), "{msgs:?}");
        assert!(p.iter().all(|p| p.line > 0));
    }

    #[test]
    fn syntax_error_has_a_line() {
        let p = problems(bundled_with(
            "bot.toml",
            "kind = \"attribution\"\nresource_type = \n",
        ));
        assert_eq!(p[0].line, 2, "{p:?}");
        // The file's rule is broken, not missing: one problem, not a second about `bot`.
        assert_eq!(p.len(), 1, "{p:?}");
    }

    #[test]
    fn missing_rule_is_named() {
        let files = BUNDLED
            .iter()
            .filter(|(n, _)| *n != "bot.toml")
            .map(|(n, t)| (PathBuf::from("rules").join(n), (*t).to_owned()));
        let p = problems(RuleSet::from_texts(files, "test".into()));
        assert!(p.iter().any(|p| p.message.contains("`bot`")), "{p:?}");
    }

    const REASONS: usize = 6;

    #[test]
    fn every_reason_code_has_exactly_one_entry() {
        let set = RuleSet::bundled();
        let listed: Vec<Reason> = set.reasons.all().iter().map(|d| d.reason).collect();
        assert_eq!(listed, Reason::ALL);
        // `Reason::ALL` is the list of codes the engine can emit; this match stops
        // compiling when a code is added to the enum, so ALL cannot silently miss it.
        let in_all = |r: Reason| match r {
            Reason::PalIdentityInRole
            | Reason::LatestPartnerWins
            | Reason::TieBrokenByPartnerId
            | Reason::IdentityDeleted
            | Reason::IdentityDisabled
            | Reason::IdentityInvitationPending
            | Reason::IdentityHealthUnknown
            | Reason::PalIdentityLacksRole
            | Reason::GroupPrincipal
            | Reason::OwnerUnresolved
            | Reason::PalLinkOtherTenant
            | Reason::NoPalIdentityInRole
            | Reason::CustomPageOfModelDrivenApp
            | Reason::WorkspaceNotActive
            | Reason::NonProductionEnvironment
            | Reason::EnvironmentUnknown => Reason::ALL.contains(&r),
        };
        assert!(Reason::ALL.into_iter().all(in_all));
        assert_eq!(Reason::ALL.len(), 16, "a new code needs an arm above");
        let doc = set.reasons.find("identity_deleted").unwrap();
        assert!(doc.explain().starts_with("# identity_deleted: "));
        assert!(set.reasons.find("nope").is_none());
    }

    /// The line of the first occurrence of `needle` in `text`, 1-based.
    fn line_with(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn a_missing_reason_code_is_named_with_file_and_line() {
        let text = BUNDLED[REASONS].1.replace(
            "code = \"workspace_not_active\"",
            "code = \"non_production_environment\"",
        );
        let p = problems(bundled_with("reasons.toml", &text));
        let msgs: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert_eq!(p.len(), 2, "{msgs:?}");
        // The second `non_production_environment` is the duplicate, at its own line.
        let second = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("\"non_production_environment\""))
            .nth(1)
            .unwrap()
            .0
            + 1;
        assert_eq!(p[0].line, second, "{msgs:?}");
        assert!(p[0].message.contains("listed twice"), "{msgs:?}");
        assert!(
            msgs[1].starts_with("rules/reasons.toml:")
                && msgs[1].contains("`workspace_not_active`"),
            "{msgs:?}"
        );
        assert!(p[1].line > 0);
    }

    #[test]
    fn an_unknown_reason_code_is_refused_at_its_line() {
        let text = BUNDLED[REASONS]
            .1
            .replace("code = \"identity_deleted\"", "code = \"identity_gone\"");
        let p = problems(bundled_with("reasons.toml", &text));
        assert!(
            p.iter().any(|p| p.message.contains("`identity_gone`")
                && p.line == line_with(&text, "identity_gone")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.message.contains("`identity_deleted`")),
            "{p:?}"
        );
    }

    #[test]
    fn rules_without_reason_codes_use_the_built_in_ones() {
        let files = BUNDLED
            .iter()
            .filter(|(n, _)| *n != "reasons.toml")
            .map(|(n, t)| (PathBuf::from("rules").join(n), (*t).to_owned()));
        let set = RuleSet::from_texts(files, "test".into()).unwrap();
        assert_eq!(
            set.reasons.all().len(),
            RuleSet::bundled().reasons.all().len()
        );
        assert!(set.reasons.find("identity_deleted").is_some());
    }

    #[test]
    fn status_gates_what_users_are_told() {
        assert!(
            RuleSet::bundled().notices().is_empty(),
            "all bundled rules are stable"
        );
        let text = BUNDLED[2]
            .1
            .replace("status = \"stable\"", "status = \"preview\"");
        let set = bundled_with("flow.toml", &text).unwrap();
        assert_eq!(set.rule_for(ResourceType::Flow).status, RuleStatus::Preview);
        assert!(set.get("flow").unwrap().explain().contains("> **preview**"));
        assert!(!set.get("bot").unwrap().explain().contains("> **"));
        let text = BUNDLED[5]
            .1
            .replace("status = \"stable\"", "status = \"deprecated\"");
        let set = bundled_with("production_only.toml", &text).unwrap();
        let notices = set.notices();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].starts_with("rule `production_only`: this rule is deprecated"));
    }

    #[test]
    fn unknown_kind_and_bad_status() {
        let p = problems(bundled_with(
            "production_only.toml",
            "kind = \"whatever\"\n",
        ));
        assert!(p.iter().any(|p| p.message.contains("unknown kind")));
        let text = BUNDLED[5]
            .1
            .replace("status = \"stable\"", "status = \"maybe\"");
        let p = problems(bundled_with("production_only.toml", &text));
        assert!(p[0].message.contains("maybe"));
    }
}
