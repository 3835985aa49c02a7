//! `palaudit diff OLD NEW`: what changed between two audits of one tenant.

use crate::audit::{evaluate_snapshot, load_rules, require_complete, write_file};
use crate::{DiffArgs, Outcome};
use anyhow::{Context, Result, bail};
use palaudit_model::{DiffSide, Findings, Roster, diff::Side};
use palaudit_rules::RuleSet;
use palaudit_snapshot::Snapshot;
use std::io::Write;
use std::path::Path;

pub fn run(args: &DiffArgs) -> Result<Outcome> {
    let is_snapshot = |p: &Path| p.is_dir();
    let needs_roster = is_snapshot(&args.old) || is_snapshot(&args.new);
    let inputs = match (&args.identities, needs_roster) {
        (Some(path), true) => Some((
            crate::audit::load_roster(path)?,
            load_rules(args.rules.as_deref())?,
        )),
        (None, true) => bail!(
            "diffing a snapshot needs --identities (the PAL identities file the audit credits), as `palaudit audit` does"
        ),
        (_, false) => {
            if args.identities.is_some() || args.rules.is_some() {
                bail!(
                    "--identities and --rules apply to snapshots; {} and {} are JSON reports, whose verdicts are already decided",
                    args.old.display(),
                    args.new.display()
                );
            }
            None
        }
    };
    // Both inputs are opened (and their tenants compared) before either is audited.
    let old = Input::open(&args.old)?;
    let new = Input::open(&args.new)?;
    if !old.tenant().eq_ignore_ascii_case(new.tenant()) {
        bail!(
            "{} is an audit of tenant {} and {} one of tenant {}; a diff compares two audits of one tenant",
            args.old.display(),
            old.tenant(),
            args.new.display(),
            new.tenant()
        );
    }
    let old = old.gather(&args.old, inputs.as_ref(), args.allow_partial)?;
    let new = new.gather(&args.new, inputs.as_ref(), args.allow_partial)?;
    let diff = palaudit_model::diff::compare(old, new)?;

    if let Some(p) = &args.csv {
        write_file(p, "diff CSV", |w| Ok(palaudit_report::diff_csv(&diff, w)?))?;
    }
    if let Some(p) = &args.markdown {
        write_file(p, "diff markdown", |w| {
            Ok(palaudit_report::diff_markdown(&diff, w)?)
        })?;
    }
    if let Some(p) = &args.json {
        write_file(p, "diff JSON", |w| {
            Ok(palaudit_report::diff_json(&diff, w)?)
        })?;
    }
    if !args.quiet {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        palaudit_report::diff_terminal(&diff, &mut out, &crate::audit::terminal_options())?;
        out.flush()?;
    }
    Ok(if args.fail_on_drift && diff.drift() > 0 {
        Outcome::NotMet
    } else {
        Outcome::Done
    })
}

/// One side of the diff: a snapshot to audit now, or a JSON report as it was written.
enum Input {
    Snapshot(Box<Snapshot>),
    Report(Findings),
}

impl Input {
    fn open(path: &Path) -> Result<Input> {
        Ok(if path.is_dir() {
            Input::Snapshot(Box::new(Snapshot::open(path)?))
        } else {
            Input::Report(read_report(path)?)
        })
    }

    fn tenant(&self) -> &str {
        match self {
            Input::Snapshot(s) => &s.manifest.tenant_id,
            Input::Report(f) => &f.tenant_id,
        }
    }

    fn gather(
        self,
        path: &Path,
        inputs: Option<&(Roster, RuleSet)>,
        allow_partial: bool,
    ) -> Result<Side> {
        let findings = match (self, inputs) {
            (Input::Snapshot(snapshot), Some((roster, rules))) => {
                let findings = evaluate_snapshot(&snapshot, roster, rules)?;
                require_complete(&findings, allow_partial)
                    .with_context(|| format!("snapshot {}", path.display()))?;
                findings
            }
            (Input::Report(findings), _) => findings,
            (Input::Snapshot(_), None) => unreachable!("a snapshot side always has a roster"),
        };
        let mut side = DiffSide::default();
        findings
            .replay(&mut side)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(side.into_side())
    }
}

fn read_report(path: &Path) -> Result<Findings> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read {} (a diff takes snapshot directories or JSON reports written by `palaudit audit --json`)",
            path.display()
        )
    })?;
    palaudit_report::read_json(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
