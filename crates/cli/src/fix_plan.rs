//! `palaudit fix-plan` and the `--fix-plan` flag of `audit` and `demo`: findings → the
//! plan file. The plan is only ever written; nothing in it is run.

use crate::{FixPlanArgs, Outcome};
use anyhow::{Context, Result, bail};
use palaudit_model::Findings;
use palaudit_report::fix_plan::{self, FixPlan, Shell, TargetChoice};
use palaudit_snapshot::Snapshot;
use std::io::Write;
use std::path::Path;

pub fn run(args: &FixPlanArgs) -> Result<Outcome> {
    let shell = shell_for(&args.out, args.shell, "--shell")?;
    let rules = crate::audit::load_rules(args.rules.as_deref())?;
    let roster = crate::audit::load_roster(&args.identities)?;
    let snapshot = Snapshot::open(&args.snapshot)?;
    let findings = crate::audit::evaluate_snapshot(&snapshot, &roster, &rules)?;
    crate::audit::require_complete(&findings, args.allow_partial)?;
    let plan = build(&findings, args.to.as_deref()).with_context(|| {
        format!(
            "choosing the fix plan's target from {}",
            args.identities.display()
        )
    })?;
    write(&args.out, shell, &plan)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "Wrote {}: a {} fix plan for the {} resources that are not attributed (target: {}). palaudit ran none of it.",
        args.out.display(),
        match shell {
            Shell::PowerShell => "PowerShell",
            Shell::Bash => "bash",
        },
        plan.items.len(),
        plan.target.label()
    )?;
    Ok(Outcome::Done)
}

/// The shell a plan file is written in: the flag when given, else the file's extension.
pub fn shell_for(path: &Path, flag: Option<Shell>, flag_name: &str) -> Result<Shell> {
    if let Some(shell) = flag {
        return Ok(shell);
    }
    match Shell::from_extension(path) {
        Some(shell) => Ok(shell),
        None => bail!(
            "cannot tell which shell the fix plan {} is for: name it .ps1 (PowerShell) or .sh (bash), or pass {flag_name} powershell|bash",
            path.display()
        ),
    }
}

/// The plan for `findings`, to the identity `to` names or to the default target.
pub fn build(findings: &Findings, to: Option<&str>) -> Result<FixPlan> {
    let choice = match to {
        Some(identity) => TargetChoice::Named(identity),
        None => TargetChoice::Default,
    };
    Ok(fix_plan::build(findings, choice)?)
}

pub fn write(path: &Path, shell: Shell, plan: &dyn fix_plan::PlanItems) -> Result<()> {
    crate::audit::write_file(path, "fix plan", |w| Ok(fix_plan::render(plan, shell, w)?))
}
