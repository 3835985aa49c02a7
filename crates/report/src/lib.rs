//! palaudit's report writers: they render [`Findings`] as the terminal table, the audit
//! CSV, a markdown pre-handover checklist, JSON and the roster CSV, and
//! build and render the fix plan ([`fix_plan`]), and stream verdicts into the evidence
//! workbook ([`EvidenceWorkbook`]), the HTML report ([`HtmlReport`]), the audit CSV
//! ([`CsvSink`]), the JSON report ([`JsonSink`]) and the checklist ([`ChecklistSink`]).
//!
//! The terminal table, the roster CSV and the fix plan need only what an
//! [`AuditSummary`] holds (counts, the roster, the verdicts that are not attributed), so
//! a streamed audit renders them from its summary ([`terminal_summary`],
//! [`roster_csv_summary`], [`fix_plan::streamed`]); the [`Findings`] forms build
//! that summary with [`Findings::summary`] and render through the same code.
//!
//! This crate owns how findings look, and nothing else. It does no HTTP, evaluates no
//! rules (every verdict, reason and change path arrives ready-made in the findings) and
//! never prints: every writer takes an injected [`std::io::Write`] and returns a typed
//! [`ReportError`], so the CLI decides where output goes and tests capture it.
//!
//! Every writer accepts any findings without panicking — empty findings, empty or very
//! long names, unicode, control characters. Names come from customer tenants, so each
//! format neutralises what could be read as markup in it: control characters in the
//! terminal, formulas in the CSV, markdown syntax in the checklist.

mod audit_csv;
mod checklist;
mod coverage;
mod diff_report;
pub mod fix_plan;
mod html;
mod json_read;
mod json_report;
mod portfolio;
mod roster_csv;
mod sorted_spill;
mod table;
mod text;
mod workbook;

use palaudit_model::{AuditHeader, AuditSummary, Diff, Findings, Rollup};
use std::fmt;
use std::io::{self, Write};

pub use audit_csv::{CSV_COLUMNS, CSV_EXTRA_COLUMNS, CsvSink};
pub use checklist::ChecklistSink;
pub use coverage::{coverage_tenths, format_coverage};
pub use diff_report::{DIFF_CSV_COLUMNS, DIFF_SCHEMA_VERSION};
pub use html::HtmlReport;
pub use json_read::{JsonReadError, read_json};
pub use json_report::{JsonSink, SCHEMA_VERSION};
pub use portfolio::{PORTFOLIO_SCHEMA_VERSION, PortfolioJson, PortfolioTenant};
pub use roster_csv::ROSTER_CSV_COLUMNS;
pub use table::TerminalOptions;
pub use workbook::{
    EvidenceWorkbook, FIX_PLAN_COLUMNS, RUN_COLUMNS, SHEETS, SUMMARY_COLUMNS, WorkbookOptions,
};

/// The output formats, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Terminal,
    Csv,
    Markdown,
    Json,
    RosterCsv,
    DiffTerminal,
    DiffCsv,
    DiffMarkdown,
    DiffJson,
    FixPlan,
    Workbook,
    Html,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Terminal => "terminal table",
            Format::Csv => "audit CSV",
            Format::Markdown => "markdown checklist",
            Format::Json => "JSON report",
            Format::RosterCsv => "roster CSV",
            Format::DiffTerminal => "diff table",
            Format::DiffCsv => "diff CSV",
            Format::DiffMarkdown => "diff markdown",
            Format::DiffJson => "diff JSON",
            Format::FixPlan => "fix plan",
            Format::Workbook => "evidence workbook",
            Format::Html => "HTML report",
        })
    }
}

/// Writing a report failed. Each variant says which report and which part of it was
/// being written; the underlying error is the [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the {format} ({part})")]
    Io {
        format: Format,
        /// The part of the report being written, e.g. `coverage table`.
        part: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the {format} ({part})")]
    Csv {
        /// The audit CSV, the roster CSV or the diff CSV.
        format: Format,
        /// `header`, or the row number (1-based, header excluded) and resource id.
        part: String,
        #[source]
        source: csv::Error,
    },
    #[error("cannot write the {format} ({part})")]
    Xlsx {
        format: Format,
        /// The sheet (and row) being written, or `saving the workbook`.
        part: String,
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
    #[error("cannot write the JSON report")]
    Json {
        #[source]
        source: serde_json::Error,
    },
    /// The verdicts kept for the reports that list them could not be read back.
    #[error(transparent)]
    Kept(#[from] palaudit_model::ListError),
}

/// Writes `text` as one part of a report, naming that part if the writer fails.
pub(crate) fn write_part(
    out: &mut dyn Write,
    format: Format,
    part: impl Into<String>,
    text: &str,
) -> Result<(), ReportError> {
    out.write_all(text.as_bytes())
        .map_err(|source| ReportError::Io {
            format,
            part: part.into(),
            source,
        })
}

/// The terminal report: coverage per environment × resource type with a total row, the
/// resources that are not attributed (sorted by environment, type, name) with their
/// reasons and change paths, the PAL identity roster of the tenant, a leaver-risk count
/// and a one-line verdict summary. When the snapshot recorded
/// collection errors, a warning block says the audit is partial.
///
/// With `opts.color` false the output holds no ANSI escape codes. Control characters
/// in names (including ANSI escapes and bidirectional overrides) are replaced, so a
/// resource name cannot restyle or reorder the terminal.
pub fn terminal(
    findings: &Findings,
    out: &mut dyn Write,
    opts: &TerminalOptions,
) -> Result<(), ReportError> {
    table::render(&findings.header(), &findings.summary(), out, opts)
}

/// [`terminal`] from a streamed audit's header and summary.
pub fn terminal_summary(
    header: &AuditHeader,
    summary: &AuditSummary,
    out: &mut dyn Write,
    opts: &TerminalOptions,
) -> Result<(), ReportError> {
    table::render(header, summary, out, opts)
}

/// The audit CSV (README "The audit CSV"): the header
/// `tenant_id,environment_id,environment_name,environment_type,resource_type,resource_id,resource_name,status,partner_id,attributed_principal_id,attributing_role,reasons,change_paths_user,change_paths_service_principal`
/// followed by the extra columns [`CSV_EXTRA_COLUMNS`] (`attributed_principal_name`,
/// `leaver_risk`, then `suppressed`, `suppression_reason`, `suppression_approved_by`,
/// `suppression_expires`), then one row per verdict in the order given. `leaver_risk`
/// and `suppressed` are `true` or `false`; `suppression_expires` is a `YYYY-MM-DD` date,
/// empty like the other suppression cells when the verdict is not suppressed.
///
/// `reasons` is `;`-joined reason codes; the change path cells are
/// [`ChangePath::join`](palaudit_model::ChangePath::join) (`none` when empty); absent
/// values are empty cells.
///
/// **CSV-injection safety.** These files are opened in Excel and resource names come
/// from customer tenants, so any cell that begins with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`, which makes spreadsheets show it as text instead
/// of evaluating it as a formula. Ids, stable words, partner ids and change path cells
/// never begin with those characters, so in practice only names are ever altered.
pub fn csv(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    audit_csv::render(findings, out, true)
}

/// The rows of [`csv`] without the header: another tenant appended to a portfolio's CSV.
pub fn csv_rows(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    audit_csv::render(findings, out, false)
}

/// The markdown pre-handover checklist: tenant and collection time, coverage summary,
/// then per environment an unchecked item for every unattributed or unknown resource
/// (reasons with their explanations, how ownership can be moved to a PAL-linked user or
/// service principal, the resource type's known limitations, and the latest-partner
/// evidence where several partners were compared) and a checked item per attributed
/// resource (with a note when its credit rests on a personal account), then the PAL
/// identity roster. Names are escaped so they cannot inject markdown or HTML.
/// [`ChecklistSink`] writes the same bytes from a streamed audit.
pub fn markdown(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    checklist::render(findings, out)
}

/// The full findings as pretty JSON: `schema_version` ([`SCHEMA_VERSION`]), tenant,
/// collection time and errors, a `summary` (counts, coverage and leaver risk overall,
/// counts and coverage per environment × resource type), the per-type guidance, the
/// `roster` and every verdict with its evidence. Keys appear in a fixed order (struct field order; maps sorted), so two runs
/// over the same findings produce identical bytes.
/// [`JsonSink`] writes the same bytes from a streamed audit.
pub fn json(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    json_report::render(findings, out)
}

/// The roster CSV: the header [`ROSTER_CSV_COLUMNS`], then one row per PAL identity of
/// the audited tenant, in identities-file order. `rbac_assignments` is empty until it has
/// been checked; other absent values are empty cells too. Names and UPNs get the same
/// CSV-injection guard as the audit CSV.
pub fn roster_csv(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    roster_csv::render(&findings.tenant_id, &findings.roster, out, true)
}

/// [`roster_csv`] from a streamed audit's header and summary.
pub fn roster_csv_summary(
    header: &AuditHeader,
    summary: &AuditSummary,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    roster_csv::render(&header.tenant_id, &summary.roster, out, true)
}

/// The rows of [`roster_csv`] without the header: another tenant appended to a
/// portfolio's roster CSV.
pub fn roster_csv_rows(findings: &Findings, out: &mut dyn Write) -> Result<(), ReportError> {
    roster_csv::render(&findings.tenant_id, &findings.roster, out, false)
}

/// [`roster_csv_rows`] from a streamed audit's header and summary.
pub fn roster_csv_rows_summary(
    header: &AuditHeader,
    summary: &AuditSummary,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    roster_csv::render(&header.tenant_id, &summary.roster, out, false)
}

/// The diff of two audits (`palaudit diff`) as the terminal shows it: the two collection
/// times, a table per kind of change (drift first; unchanged resources are only counted)
/// with each finding's verdict before and now and its finding id, then the counts.
pub fn diff_terminal(
    diff: &Diff,
    out: &mut dyn Write,
    opts: &TerminalOptions,
) -> Result<(), ReportError> {
    diff_report::terminal(diff, out, opts)
}

/// The diff as CSV: the header [`DIFF_CSV_COLUMNS`], then one row per resource of either
/// audit (unchanged ones included, so a finding can be followed from run to run by its
/// `finding_id`), grouped by change in [`palaudit_model::Change`] order. Cells get the
/// audit CSV's formula guard.
pub fn diff_csv(diff: &Diff, out: &mut dyn Write) -> Result<(), ReportError> {
    diff_report::csv(diff, out)
}

/// The diff as markdown: a counts table, then a table per kind of change (unchanged
/// resources are only counted).
pub fn diff_markdown(diff: &Diff, out: &mut dyn Write) -> Result<(), ReportError> {
    diff_report::markdown(diff, out)
}

/// The diff as pretty JSON: `schema_version` ([`DIFF_SCHEMA_VERSION`]), `kind` `diff`,
/// tenant, both collection times, `partial`, a `summary` of counts per change and every
/// finding (unchanged ones included) with its verdict `old` and `new`.
pub fn diff_json(diff: &Diff, out: &mut dyn Write) -> Result<(), ReportError> {
    diff_report::json(diff, out)
}

/// The fix plan for `findings` as a `shell` file: every resource that is not attributed,
/// with the steps that would move it to the target `choice` picks, what each changes and
/// whether it earns credit for certain. See [`fix_plan::build`] for the plan as data.
pub fn fix_plan(
    findings: &Findings,
    choice: fix_plan::TargetChoice<'_>,
    shell: fix_plan::Shell,
    out: &mut dyn Write,
) -> Result<(), FixPlanReportError> {
    let plan = fix_plan::build(findings, choice)?;
    fix_plan::render(&plan, shell, out)?;
    Ok(())
}

/// Why [`fix_plan`] failed: no such target, or the writer failed.
#[derive(Debug, thiserror::Error)]
pub enum FixPlanReportError {
    #[error(transparent)]
    Target(#[from] fix_plan::FixPlanError),
    #[error(transparent)]
    Write(#[from] ReportError),
}

/// A portfolio's roll-up as the terminal shows it before each tenant's report: one line
/// per tenant (counts, coverage, leaver risk, roster gaps) and one for all tenants.
pub fn rollup_terminal(
    rollup: &Rollup,
    out: &mut dyn Write,
    opts: &TerminalOptions,
) -> Result<(), ReportError> {
    portfolio::terminal(rollup, out, opts)
}

/// A portfolio's roll-up as markdown, written before each tenant's checklist.
pub fn rollup_markdown(rollup: &Rollup, out: &mut dyn Write) -> Result<(), ReportError> {
    portfolio::markdown(rollup, out)
}
