//! `palaudit audit`, `rules` and `rule`: snapshot + roster + rules → reports.

use crate::{AuditArgs, Outcome, ReportArgs};
use anyhow::{Context, Result, bail};
use palaudit_model::{Findings, Roster};
use palaudit_model::{SinkError, VerdictSink};
use palaudit_rules::RuleSet;
use palaudit_snapshot::{Snapshot, VerdictsParquet};
use palaudit_suppressions::Applier;
use std::io::Write;
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

/// Evaluates a verified snapshot and writes every requested report.
pub fn audit_snapshot(
    snapshot: &Snapshot,
    roster: &Roster,
    rules: &RuleSet,
    link_checks: Option<&[palaudit_model::LinkCheck]>,
    run: &palaudit_model::RunInfo,
    report: &ReportArgs,
) -> Result<Outcome> {
    let suppressions = crate::suppress::load(report)?;
    let mut findings = evaluate_snapshot(snapshot, roster, rules)?;
    if let Some(checks) = link_checks {
        apply_link_checks(&mut findings, checks);
    }
    if let Some(set) = &suppressions {
        let mut applier = Applier::new(set, crate::suppress::today());
        applier.apply(&mut findings);
        crate::suppress::warn_usage(&applier.usage());
    }
    write_reports(&findings, run, report)?;
    require_complete(&findings, report.allow_partial)?;
    Ok(threshold(&findings, report.fail_under))
}

/// Records `identities verify` results in the roster, warning about the ones that name
/// nobody the identities file lists for the tenant.
pub fn apply_link_checks(findings: &mut Findings, checks: &[palaudit_model::LinkCheck]) {
    for unmatched in findings.apply_link_checks(checks) {
        warn(&format!(
            "the roster check names {} of partner {}, which the identities file does not list for tenant {}",
            unmatched.principal_id, unmatched.partner_id, findings.tenant_id
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
    if roster.for_tenant(tenant).next().is_none() {
        warn(&format!(
            "the identities file has no identity for tenant {tenant}: nothing in this snapshot can be credited"
        ));
    }
    Ok(findings)
}

/// Fails (exit 2) on findings from an incomplete collection unless `--allow-partial`.
pub fn require_complete(findings: &Findings, allow_partial: bool) -> Result<()> {
    if !findings.collection_errors.is_empty() && !allow_partial {
        bail!(
            "the snapshot is incomplete: {} collection error(s) (listed above); the verdicts cover only what was collected. Use --allow-partial to accept a partial audit",
            findings.collection_errors.len()
        );
    }
    Ok(())
}

/// Compares coverage with `--fail-under` at the precision reports show (tenths of a
/// percent), so a coverage printed as 61.5% never fails `--fail-under 61.5`. Suppressed
/// verdicts are left out.
fn threshold(findings: &Findings, fail_under: Option<f64>) -> Outcome {
    match fail_under {
        Some(min) if below(&findings.gated_counts(), min) => {
            // Said on stderr even under `-q`: exit 1 must never come without a word.
            warn(&format!(
                "coverage {} is below --fail-under {min}% (suppressed findings left out)",
                palaudit_report::format_coverage(&findings.gated_counts())
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

pub fn write_reports(
    findings: &Findings,
    run: &palaudit_model::RunInfo,
    report: &ReportArgs,
) -> Result<()> {
    // The plan's target is checked before any report is written, so a bad --fix-plan-to
    // leaves no half set of files behind.
    let plan = match &report.fix_plan {
        Some(path) => Some((
            path,
            crate::fix_plan::shell_for(path, report.fix_plan_shell, "--fix-plan-shell")?,
            crate::fix_plan::build(findings, report.fix_plan_to.as_deref())?,
        )),
        None => None,
    };
    if let Some(p) = &report.csv {
        write_file(p, "CSV", |w| Ok(palaudit_report::csv(findings, w)?))?;
    }
    if let Some(p) = &report.markdown {
        write_file(p, "markdown", |w| {
            Ok(palaudit_report::markdown(findings, w)?)
        })?;
    }
    if let Some(p) = &report.json {
        write_file(p, "JSON", |w| Ok(palaudit_report::json(findings, w)?))?;
    }
    if let Some(p) = &report.verdicts_parquet {
        write_parquet(p, |sink| findings.replay(sink))?;
    }
    if let Some(p) = &report.roster_csv {
        write_file(p, "roster CSV", |w| {
            Ok(palaudit_report::roster_csv(findings, w)?)
        })?;
    }
    if let Some((path, shell, plan)) = &plan {
        crate::fix_plan::write(path, *shell, plan)?;
    }
    crate::evidence::write(findings, run, report)?;
    if !report.quiet {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        palaudit_report::terminal(findings, &mut out, &terminal_options())?;
        out.flush()?;
    }
    Ok(())
}

/// Writes the verdicts Parquet table at `path`, fed by `feed` (every tenant's audit).
pub fn write_parquet(
    path: &Path,
    feed: impl FnOnce(&mut dyn VerdictSink) -> Result<(), SinkError>,
) -> Result<()> {
    let context = || format!("writing the verdicts Parquet table {}", path.display());
    let mut sink = VerdictsParquet::create(path).with_context(context)?;
    feed(&mut sink)
        .and_then(|()| sink.finish())
        .map_err(|e| anyhow::anyhow!(e))
        .with_context(context)
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
