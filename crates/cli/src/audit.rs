//! `palaudit audit`, `rules` and `rule`: snapshot + roster + rules → reports.

use crate::{AuditArgs, Outcome, ReportArgs};
use anyhow::{Context, Result, bail};
use palaudit_model::{AuditHeader, AuditSummary, Fanout, Findings, Roster};
use palaudit_model::{SinkError, VerdictSink};
use palaudit_report::{ChecklistSink, CsvSink, JsonSink};
use palaudit_rules::RuleSet;
use palaudit_snapshot::{Snapshot, VerdictsParquet};
use palaudit_suppressions::{Applier, SuppressingSink};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Loads the rule book, warning about every rule that is not `stable` (a preview rule's
/// verdicts may change; a deprecated rule will go away).
pub fn load_rules(dir: Option<&Path>) -> Result<RuleSet> {
    let rules = match dir {
        Some(d) => RuleSet::load_dir(d)?,
        None => RuleSet::bundled(),
    };
    for notice in rules.notices() {
        warn(&notice);
    }
    Ok(rules)
}

/// Reads the identities file, warning (`file:line`) about what it ignores.
pub fn load_roster(path: &Path) -> Result<Roster> {
    let roster = Roster::load(path)?;
    for w in &roster.warnings {
        warn(&format!("{}:{}: {}", path.display(), w.line, w.message));
    }
    Ok(roster)
}

pub fn run(args: &AuditArgs) -> Result<Outcome> {
    let rules = load_rules(args.report.rules.as_deref())?;
    let roster = load_roster(&args.identities)?;
    if args.snapshots.is_some() || args.snapshot.len() > 1 {
        let paths = crate::portfolio::snapshot_paths(&args.snapshot, args.snapshots.as_deref())?;
        return crate::portfolio::run(
            &paths,
            &roster,
            &args.identities,
            &rules,
            &args.roster_check,
            &args.report,
        );
    }
    let snapshot = Snapshot::open(&args.snapshot[0])?;
    let run = crate::evidence::run_info(&snapshot, &rules, &args.identities.display().to_string());
    let checks = match &args.roster_check[..] {
        [] => None,
        [path] => Some(load_roster_check(path, &snapshot.manifest.tenant_id)?),
        _ => bail!("--roster-check is given once per tenant, and this audit has one tenant"),
    };
    audit_snapshot(
        &snapshot,
        &roster,
        &rules,
        checks.as_deref(),
        &run,
        &args.report,
    )
}

/// Reads `identities verify --out` results for `tenant`.
pub fn load_roster_check(path: &Path, tenant: &str) -> Result<Vec<palaudit_model::LinkCheck>> {
    Ok(palaudit_model::RosterCheck::load(path, tenant)?.link_checks())
}

/// Audits a verified snapshot, streaming its verdicts into every requested report.
///
/// Only the [`AuditSummary`] is held: the CSV, JSON, checklist, verdicts Parquet,
/// workbook and HTML reports take the verdicts as the engine reaches them (suppressions
/// marked first), and the terminal table, the roster CSV and the fix plan are rendered
/// from the summary afterwards.
pub fn audit_snapshot(
    snapshot: &Snapshot,
    roster: &Roster,
    rules: &RuleSet,
    link_checks: Option<&[palaudit_model::LinkCheck]>,
    run: &palaudit_model::RunInfo,
    report: &ReportArgs,
) -> Result<Outcome> {
    let suppressions = crate::suppress::load(report)?;
    let header = audit_header(snapshot, rules, Some(run));
    warn_if_no_identity(roster, &header.tenant_id);
    // The plan's target is checked before any report is written, so a bad --fix-plan-to
    // leaves no half set of files behind. The target comes from the roster section,
    // which the directory records decide, not the verdicts: it is known without them.
    let plan = match &report.fix_plan {
        Some(path) => {
            let shell =
                crate::fix_plan::shell_for(path, report.fix_plan_shell, "--fix-plan-shell")?;
            check_plan_target(
                snapshot,
                roster,
                rules,
                &header,
                report.fix_plan_to.as_deref(),
            )?;
            Some((path, shell))
        }
        None => None,
    };

    let mut csv = match &report.csv {
        Some(p) => Some((p, CsvSink::new(create(p, "CSV")?))),
        None => None,
    };
    let mut json = match &report.json {
        Some(p) => Some((
            p,
            JsonSink::spooled(create(p, "JSON")?)
                .with_context(|| format!("writing JSON to {}", p.display()))?,
        )),
        None => None,
    };
    let mut markdown = match &report.markdown {
        Some(p) => Some((p, ChecklistSink::new(create(p, "markdown")?))),
        None => None,
    };
    let mut parquet = match &report.verdicts_parquet {
        Some(p) => Some((
            p,
            VerdictsParquet::create(p)
                .with_context(|| format!("writing the verdicts Parquet table {}", p.display()))?,
        )),
        None => None,
    };
    let mut workbook = crate::evidence::workbook(report)?;
    let mut html = crate::evidence::html(report)?;

    let mut labelled: Vec<Labelled<'_>> = Vec::new();
    if let Some((p, sink)) = &mut csv {
        labelled.push(Labelled::new(
            sink,
            format!("writing CSV to {}", p.display()),
        ));
    }
    if let Some((p, sink)) = &mut markdown {
        labelled.push(Labelled::new(
            sink,
            format!("writing markdown to {}", p.display()),
        ));
    }
    if let Some((p, sink)) = &mut json {
        labelled.push(Labelled::new(
            sink,
            format!("writing JSON to {}", p.display()),
        ));
    }
    if let Some((p, sink)) = &mut parquet {
        let what = format!("writing the verdicts Parquet table {}", p.display());
        labelled.push(Labelled::new(sink, what));
    }
    if let (Some(book), Some(p)) = (&mut workbook, &report.xlsx) {
        let what = format!("writing the evidence workbook {}", p.display());
        labelled.push(Labelled::new(book, what));
    }
    if let (Some(page), Some(p)) = (&mut html, &report.html) {
        labelled.push(Labelled::new(
            page,
            format!("writing the HTML report {}", p.display()),
        ));
    }
    let mut reports = Fanout::default();
    for sink in &mut labelled {
        reports.push(sink);
    }
    let mut applier = suppressions
        .as_ref()
        .map(|set| Applier::new(set, crate::suppress::today()));
    let mut checked = Finishing::new(link_checks, applier.is_some(), &mut reports);
    let frames = snapshot.frames();
    let evaluated = match &mut applier {
        Some(applier) => {
            let mut suppressing = SuppressingSink::new(applier, &mut checked);
            evaluate_into(&frames, roster, rules, &header, &mut suppressing)
        }
        None => evaluate_into(&frames, roster, rules, &header, &mut checked),
    };
    let returned =
        evaluated.with_context(|| format!("auditing snapshot {}", snapshot.dir.display()))?;
    drop(frames);
    let summary = match checked.summary.take() {
        Some(kept) => kept,
        None => returned,
    };
    drop(reports);
    drop(labelled);
    if let Some(applier) = &applier {
        crate::suppress::warn_usage(&applier.usage());
    }

    if let Some((p, sink)) = csv {
        let context = || format!("writing CSV to {}", p.display());
        let mut w = sink.into_inner().with_context(context)?;
        w.flush().with_context(context)?;
    }
    if let Some((p, sink)) = json {
        sink.into_inner()
            .flush()
            .with_context(|| format!("writing JSON to {}", p.display()))?;
    }
    if let Some((p, sink)) = markdown {
        sink.into_inner()
            .flush()
            .with_context(|| format!("writing markdown to {}", p.display()))?;
    }
    if let Some((p, mut sink)) = parquet {
        sink.finish()
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("writing the verdicts Parquet table {}", p.display()))?;
    }
    if let Some(p) = &report.roster_csv {
        write_file(p, "roster CSV", |w| {
            Ok(palaudit_report::roster_csv_summary(&header, &summary, w)?)
        })?;
    }
    if let Some((path, shell)) = plan {
        let plan = fix_plan_from(&header, &summary, report.fix_plan_to.as_deref())?;
        crate::fix_plan::write(path, shell, &plan)?;
    }
    if let (Some(mut book), Some(p)) = (workbook, &report.xlsx) {
        book.finish()
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("writing the evidence workbook {}", p.display()))?;
    }
    if let (Some(mut page), Some(p)) = (html, &report.html) {
        page.finish()
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("writing the HTML report {}", p.display()))?;
    }
    if !report.quiet {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        palaudit_report::terminal_summary(&header, &summary, &mut out, &terminal_options())?;
        out.flush()?;
    }
    require_complete_header(&header, report.allow_partial)?;
    Ok(threshold(&summary.gated_counts(), report.fail_under))
}

/// What every report is told about `snapshot`'s audit before the first verdict.
pub fn audit_header(
    snapshot: &Snapshot,
    rules: &RuleSet,
    run: Option<&palaudit_model::RunInfo>,
) -> AuditHeader {
    AuditHeader {
        tenant_id: palaudit_model::ids::norm(&snapshot.manifest.tenant_id),
        collected_at: Some(snapshot.manifest.collected_at),
        collection_errors: snapshot
            .manifest
            .collection_errors
            .iter()
            .map(|e| e.to_string())
            .collect(),
        guidance: rules.guidance(),
        run: run.cloned(),
    }
}

/// Streams the audit of `frames` into `sink`; `header` names the tenant.
pub fn evaluate_into(
    frames: &palaudit_snapshot::Frames,
    roster: &Roster,
    rules: &RuleSet,
    header: &AuditHeader,
    sink: &mut dyn VerdictSink,
) -> Result<AuditSummary, palaudit_rules::EvalError> {
    palaudit_rules::evaluate_into(frames, &header.tenant_id, roster, rules, header, sink)
}

/// Fails, before any report is written, when the fix plan's target cannot be chosen.
///
/// The roster section is computed from the snapshot's directory records alone (an
/// audit of no resources), which is the roster the full audit reports, less the credit
/// counts a target is never chosen by.
fn check_plan_target(
    snapshot: &Snapshot,
    roster: &Roster,
    rules: &RuleSet,
    header: &AuditHeader,
    to: Option<&str>,
) -> Result<()> {
    let mut frames = snapshot.frames();
    frames.resources = frames.resources.clear();
    frames.role_assignments = frames.role_assignments.clear();
    let summary = evaluate_into(&frames, roster, rules, header, &mut Discard)
        .with_context(|| format!("auditing snapshot {}", snapshot.dir.display()))?;
    fix_plan_from(header, &summary, to).map(|_| ())
}

/// The fix plan for a streamed audit, to the identity `to` names or the default target.
fn fix_plan_from<'a>(
    header: &AuditHeader,
    summary: &'a AuditSummary,
    to: Option<&str>,
) -> Result<palaudit_report::fix_plan::StreamedPlan<'a>> {
    use palaudit_report::fix_plan::{self, TargetChoice};
    let choice = match to {
        Some(identity) => TargetChoice::Named(identity),
        None => TargetChoice::Default,
    };
    Ok(fix_plan::streamed(header, summary, choice)?)
}

/// A sink that keeps nothing: for an audit run only for its summary.
struct Discard;

impl VerdictSink for Discard {
    fn begin(&mut self, _: &AuditHeader) -> Result<(), SinkError> {
        Ok(())
    }
    fn verdict(&mut self, _: &palaudit_model::Verdict) -> Result<(), SinkError> {
        Ok(())
    }
    fn end(&mut self, _: &AuditSummary) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Hands verdicts on unchanged; in `end`, records `identities verify` results in the
/// summary's roster before any report sees it, and keeps that summary for the reports
/// rendered after the stream when it differs from the one the engine returns (link
/// checks applied, or suppressions marked upstream). Otherwise it keeps nothing, so the
/// not-attributed list is held once.
pub struct Finishing<'a> {
    checks: Option<&'a [palaudit_model::LinkCheck]>,
    /// A [`SuppressingSink`] upstream hands on a summary of its own.
    marked_upstream: bool,
    inner: &'a mut dyn VerdictSink,
    tenant_id: String,
    /// The summary the reports saw, once `end` has run.
    pub summary: Option<AuditSummary>,
}

impl<'a> Finishing<'a> {
    pub fn new(
        checks: Option<&'a [palaudit_model::LinkCheck]>,
        marked_upstream: bool,
        inner: &'a mut dyn VerdictSink,
    ) -> Finishing<'a> {
        Finishing {
            checks,
            marked_upstream,
            inner,
            tenant_id: String::new(),
            summary: None,
        }
    }
}

impl VerdictSink for Finishing<'_> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.tenant_id = header.tenant_id.clone();
        self.summary = None;
        self.inner.begin(header)
    }
    fn verdict(&mut self, verdict: &palaudit_model::Verdict) -> Result<(), SinkError> {
        self.inner.verdict(verdict)
    }
    fn verdicts(&mut self, block: &[palaudit_model::Verdict]) -> Result<(), SinkError> {
        self.inner.verdicts(block)
    }
    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        if self.checks.is_none() && !self.marked_upstream {
            return self.inner.end(summary);
        }
        let mut summary = summary.clone();
        if let Some(checks) = self.checks {
            warn_unmatched(&self.tenant_id, summary.roster.apply_link_checks(checks));
        }
        self.inner.end(&summary)?;
        self.summary = Some(summary);
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.inner.finish()
    }
}

/// A report in a [`Fanout`], its errors said with the file it was writing.
pub struct Labelled<'a> {
    inner: &'a mut (dyn VerdictSink + Send),
    what: String,
}

impl<'a> Labelled<'a> {
    pub fn new(inner: &'a mut (dyn VerdictSink + Send), what: String) -> Labelled<'a> {
        Labelled { inner, what }
    }

    fn label(&self, e: SinkError) -> SinkError {
        anyhow::anyhow!(e).context(self.what.clone()).into()
    }
}

impl VerdictSink for Labelled<'_> {
    fn begin(&mut self, header: &AuditHeader) -> Result<(), SinkError> {
        self.inner.begin(header).map_err(|e| self.label(e))
    }
    fn verdict(&mut self, verdict: &palaudit_model::Verdict) -> Result<(), SinkError> {
        self.inner.verdict(verdict).map_err(|e| self.label(e))
    }
    fn verdicts(&mut self, block: &[palaudit_model::Verdict]) -> Result<(), SinkError> {
        self.inner.verdicts(block).map_err(|e| self.label(e))
    }
    fn end(&mut self, summary: &AuditSummary) -> Result<(), SinkError> {
        self.inner.end(summary).map_err(|e| self.label(e))
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.inner.finish().map_err(|e| self.label(e))
    }
}

fn create(path: &Path, what: &str) -> Result<BufWriter<File>> {
    let file = File::create(path)
        .with_context(|| format!("cannot create {what} file {}", path.display()))?;
    Ok(BufWriter::new(file))
}

/// Warns about the `identities verify` results that name nobody the identities file
/// lists for the tenant.
fn warn_unmatched(tenant: &str, unmatched: Vec<&palaudit_model::LinkCheck>) {
    for unmatched in unmatched {
        warn(&format!(
            "the roster check names {} of partner {}, which the identities file does not list for tenant {tenant}",
            unmatched.principal_id, unmatched.partner_id
        ));
    }
}

pub fn warn_if_no_identity(roster: &Roster, tenant: &str) {
    if roster.for_tenant(tenant).next().is_none() {
        warn(&format!(
            "the identities file has no identity for tenant {tenant}: nothing in this snapshot can be credited"
        ));
    }
}

/// Evaluates a verified snapshot: the findings every report and the fix plan render.
pub fn evaluate_snapshot(
    snapshot: &Snapshot,
    roster: &Roster,
    rules: &RuleSet,
) -> Result<Findings> {
    let tenant = &snapshot.manifest.tenant_id;
    let mut findings = palaudit_rules::evaluate(&snapshot.frames(), tenant, roster, rules)
        .with_context(|| format!("auditing snapshot {}", snapshot.dir.display()))?;
    findings.collected_at = Some(snapshot.manifest.collected_at);
    findings.collection_errors = snapshot
        .manifest
        .collection_errors
        .iter()
        .map(|e| e.to_string())
        .collect();
    warn_if_no_identity(roster, tenant);
    Ok(findings)
}

/// Fails (exit 2) on findings from an incomplete collection unless `--allow-partial`.
pub fn require_complete(findings: &Findings, allow_partial: bool) -> Result<()> {
    require_complete_header(&findings.header(), allow_partial)
}

/// [`require_complete`] for a streamed audit.
pub fn require_complete_header(header: &AuditHeader, allow_partial: bool) -> Result<()> {
    if !header.collection_errors.is_empty() && !allow_partial {
        bail!(
            "the snapshot is incomplete: {} collection error(s) (listed above); the verdicts cover only what was collected. Use --allow-partial to accept a partial audit",
            header.collection_errors.len()
        );
    }
    Ok(())
}

/// Compares coverage with `--fail-under` at the precision reports show (tenths of a
/// percent), so a coverage printed as 61.5% never fails `--fail-under 61.5`. Suppressed
/// verdicts are left out.
fn threshold(gated: &palaudit_model::Counts, fail_under: Option<f64>) -> Outcome {
    match fail_under {
        Some(min) if below(gated, min) => {
            // Said on stderr even under `-q`: exit 1 must never come without a word.
            warn(&format!(
                "coverage {} is below --fail-under {min}% (suppressed findings left out)",
                palaudit_report::format_coverage(gated)
            ));
            Outcome::NotMet
        }
        _ => Outcome::Done,
    }
}

/// True when `counts`' coverage, as reports show it, is below `min` percent.
pub fn below(counts: &palaudit_model::Counts, min: f64) -> bool {
    palaudit_report::coverage_tenths(counts) < (min * 10.0).round() as u64
}

#[allow(clippy::print_stderr)]
pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}

pub fn write_file(
    path: &Path,
    what: &str,
    render: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot create {what} file {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    render(&mut out).with_context(|| format!("writing {what} to {}", path.display()))?;
    out.flush()
        .with_context(|| format!("writing {what} to {}", path.display()))?;
    Ok(())
}

/// How the terminal reports are laid out: the terminal's width, colour only on a terminal
/// and only when `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn terminal_options() -> palaudit_report::TerminalOptions {
    palaudit_report::TerminalOptions {
        width: None,
        color: std::io::IsTerminal::is_terminal(&std::io::stdout())
            && color_allowed(std::env::var_os("NO_COLOR").as_deref()),
    }
}

/// Whether a `NO_COLOR` value allows colour: only an absent or empty one does.
fn color_allowed(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(|v| v.is_empty())
}

pub fn list_rules(dir: Option<&Path>) -> Result<Outcome> {
    let rules = load_rules(dir)?;
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["id", "kind", "status", "title"]);
    for r in rules.rules() {
        table.add_row([r.id(), r.kind(), r.status().as_str(), r.title()]);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "\n{} rules from {}. `palaudit rule ID` explains one.",
        rules.rules().len(),
        rules.origin
    )?;
    Ok(Outcome::Done)
}

/// Explains a rule id (`canvas_app`) or a reason code a verdict names (`identity_deleted`).
pub fn explain_rule(id: &str, dir: Option<&Path>) -> Result<Outcome> {
    let rules = load_rules(dir)?;
    let text = match (rules.get(id), rules.reasons.find(id)) {
        (Some(rule), _) => rule.explain(),
        (None, Some(reason)) => reason.explain(),
        (None, None) => {
            let ids: Vec<String> = rules.rules().iter().map(|r| r.id().to_owned()).collect();
            bail!("no rule `{id}`; the rules are: {}", ids.join(", "));
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    write!(out, "{text}")?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::color_allowed;
    use std::ffi::OsStr;

    #[test]
    fn no_color_set_to_anything_turns_colour_off() {
        assert!(color_allowed(None));
        assert!(color_allowed(Some(OsStr::new(""))));
        assert!(!color_allowed(Some(OsStr::new("1"))));
        assert!(!color_allowed(Some(OsStr::new("false"))));
    }
}
