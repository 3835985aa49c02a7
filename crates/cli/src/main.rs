//! The `palaudit` binary: command-line flags and the glue between the stages.
//!
//! Everything that decides anything lives in the library crates: `palaudit-collect`
//! (HTTP), `palaudit-model` (snapshots, roster), `palaudit-rules` (verdicts) and
//! `palaudit-report` (rendering). This crate parses flags, wires the stages together,
//! prints, and maps outcomes to the exit codes scripts rely on.

mod audit;
mod collect;
mod demo;
mod diff;
mod evidence;
mod fix_plan;
mod identities;
mod portfolio;
mod suppress;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes (README "Exit codes"): 0 done, 1 `--fail-under` (or `--fail-on-gap`,
/// `--fail-on-drift`) not met, 2 operational error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// A bar the user set is not met: `--fail-under`, or `identities verify --fail-on-gap`.
    NotMet,
    Failed,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        match o {
            Outcome::Done => ExitCode::from(0),
            Outcome::NotMet => ExitCode::from(1),
            Outcome::Failed => ExitCode::from(2),
        }
    }
}

#[derive(Parser)]
#[command(
    name = "palaudit",
    version,
    about = "Audits Partner Admin Link (PAL) attribution of Power Platform work in a customer tenant",
    long_about = "palaudit inventories a customer tenant read-only (collect), then tells you, resource by \
resource, whether your partner ID is credited through Partner Admin Link, and how to move ownership \
where it is not (audit). `palaudit demo` runs the whole pipeline on a bundled sample tenant."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inventory one customer tenant, read-only, into a snapshot directory.
    Collect(CollectArgs),
    /// Evaluate a snapshot against your PAL identities and report.
    Audit(AuditArgs),
    /// Run collect and audit on the bundled sample tenant (no account, no network).
    Demo(DemoArgs),
    /// Compare two audits of one tenant: ownership drift, fixed, new and removed resources.
    Diff(DiffArgs),
    /// Write the commands that would move every unattributed resource to a PAL identity
    /// (PowerShell or bash). palaudit never runs them.
    FixPlan(FixPlanArgs),
    /// List the rules verdicts are reached by.
    Rules(RulesArgs),
    /// Explain one rule, or one reason code a verdict names.
    Rule(RuleArgs),
    /// Check the PAL identities of the roster against the customer tenant.
    #[command(subcommand)]
    Identities(IdentitiesCommand),
}

#[derive(Subcommand)]
pub enum IdentitiesCommand {
    /// Read each identity's PAL link (ManagementPartner API) and Azure RBAC role
    /// assignments in the tenant. Never creates or changes a link: prints the commands
    /// that would fix each gap.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Config file (TOML): tenant_id, [auth] (the identity that reads RBAC), [endpoints],
    /// and [[credentials]] for the service principals palaudit may sign in as.
    #[arg(long)]
    pub config: PathBuf,
    /// PAL identities file (CSV); only rows for the config's tenant are checked.
    #[arg(long)]
    pub identities: PathBuf,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Do not print the table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Exit 1 when an identity is not linked or linked to another partner ID (for
    /// pipelines that gate a handover on it).
    #[arg(long)]
    pub fail_on_gap: bool,
}

#[derive(Args)]
pub struct CollectArgs {
    /// Config file (TOML): tenant_id, [auth], [endpoints], [collect].
    #[arg(long)]
    pub config: PathBuf,
    /// Snapshot directory to write (replaced atomically when complete).
    #[arg(long)]
    pub out: PathBuf,
    /// Exit 0 even when some environments or APIs could not be collected.
    #[arg(long)]
    pub allow_partial: bool,
    /// Also keep every raw API page, for evidence and replay.
    #[arg(long)]
    pub raw: bool,
    /// No progress bars and no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Log every request (method, URL, status, duration) to stderr. Tokens are never logged.
    #[arg(long, short)]
    pub verbose: bool,
    /// Continue an interrupted or incomplete collection from its journal (`<out>.journal`,
    /// beside the snapshot): answers already received are not requested again. Without a
    /// journal, collects from the start with a warning; a journal written for another
    /// tenant or other settings is refused (docs/resume.md).
    #[arg(long)]
    pub resume: bool,
}

/// Report flags shared by `audit` and `demo`.
#[derive(Args, Clone, Default)]
pub struct ReportArgs {
    /// Write the audit CSV (one row per resource) to this file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the pre-handover markdown checklist to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the full findings with evidence as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write every verdict as one Parquet table (tenant_id and every audit CSV column,
    /// typed) for DuckDB, Spark or Fabric; docs/verdicts-parquet.md has the schema.
    #[arg(long, value_name = "FILE")]
    pub verdicts_parquet: Option<PathBuf>,
    /// Write the PAL identity roster (one row per identity for this tenant: health,
    /// PAL link, RBAC assignments, credited resources) as CSV to this file.
    #[arg(long, value_name = "FILE")]
    pub roster_csv: Option<PathBuf>,
    /// Write the evidence workbook (XLSX: Summary, Verdicts, Roster, Fix plan and Run
    /// sheets; docs/evidence.md) to this file.
    #[arg(long, value_name = "FILE")]
    pub xlsx: Option<PathBuf>,
    /// Write the HTML report (one self-contained page: coverage charts, the roster and a
    /// filterable verdict table; docs/evidence.md) to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Accepted findings (TOML, docs/suppressions.md): matching verdicts keep their
    /// status, are marked suppressed in every report and are left out of --fail-under.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
    /// Exit 1 when coverage (attributed ÷ all resources) is below PCT.
    #[arg(long, value_name = "PCT", value_parser = parse_pct)]
    pub fail_under: Option<f64>,
    /// Do not print the terminal table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Rules directory to use instead of the rules built into palaudit.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Report on a snapshot whose collection was incomplete without failing (exit 2).
    #[arg(long)]
    pub allow_partial: bool,
    /// Also write the fix plan (docs/fix-plan.md) to this file; `.ps1` is PowerShell,
    /// `.sh` bash, any other name needs --fix-plan-shell.
    #[arg(long, value_name = "FILE")]
    pub fix_plan: Option<PathBuf>,
    /// The fix plan's shell when its file name does not say: powershell or bash.
    #[arg(long, value_name = "SHELL", requires = "fix_plan", value_parser = parse_shell)]
    pub fix_plan_shell: Option<palaudit_report::fix_plan::Shell>,
    /// The roster identity the fix plan moves resources to (object id, app id or UPN);
    /// default: the tenant's first service account, else its first service principal.
    #[arg(long, value_name = "IDENTITY", requires = "fix_plan")]
    pub fix_plan_to: Option<String>,
}

#[derive(Args)]
pub struct FixPlanArgs {
    /// Snapshot directory written by `palaudit collect`.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// PAL identities file (CSV), as for `audit`.
    #[arg(long)]
    pub identities: PathBuf,
    /// The roster identity to move resources to: an object id, app id or UPN of a row for
    /// the snapshot's tenant. Default: its first service account, else its first service
    /// principal.
    #[arg(long, value_name = "IDENTITY")]
    pub to: Option<String>,
    /// powershell or bash; without it the --out file name decides (`.ps1`, `.sh`).
    #[arg(long, value_name = "SHELL", value_parser = parse_shell)]
    pub shell: Option<palaudit_report::fix_plan::Shell>,
    /// The plan file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Rules directory to use instead of the rules built into palaudit.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Plan from a snapshot whose collection was incomplete without failing (exit 2).
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Args)]
pub struct AuditArgs {
    /// Snapshot directory written by `palaudit collect`. Repeat it to audit a portfolio:
    /// a roll-up by tenant, then each tenant's detail (docs/portfolio.md).
    #[arg(long, value_name = "DIR", required_unless_present = "snapshots")]
    pub snapshot: Vec<PathBuf>,
    /// Audit every snapshot below DIR as one portfolio.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// PAL identities file (CSV): partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name
    /// and optionally account_kind (personal | service_account).
    #[arg(long)]
    pub identities: PathBuf,
    /// Results of `palaudit identities verify --out FILE`: fills the roster section's
    /// PAL link and Azure RBAC columns. In a portfolio, one per tenant.
    #[arg(long, value_name = "FILE")]
    pub roster_check: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Use this identities file instead of the bundled sample roster.
    #[arg(long)]
    pub identities: Option<PathBuf>,
    /// Keep the sample tenant's snapshot in this directory.
    #[arg(long, value_name = "DIR")]
    pub snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The older audit: a snapshot directory, or a JSON report written by `audit --json`.
    pub old: PathBuf,
    /// The newer audit, of the same tenant: a snapshot directory or a JSON report.
    pub new: PathBuf,
    /// PAL identities file (CSV), as for `audit`; needed when either side is a snapshot,
    /// which is audited with it (both snapshots with the same roster).
    #[arg(long)]
    pub identities: Option<PathBuf>,
    /// Rules directory to use instead of the rules built into palaudit (snapshots only).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Write the diff as CSV (one row per resource, with its stable finding id).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the diff as markdown.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the diff as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Exit 1 when a resource credited in the older audit is not credited in the newer.
    #[arg(long)]
    pub fail_on_drift: bool,
    /// Do not print the table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Diff a snapshot whose collection was incomplete without failing (exit 2).
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Args)]
struct RulesArgs {
    /// Rules directory to use instead of the rules built into palaudit.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

#[derive(Args)]
struct RuleArgs {
    /// Rule id (the rule file's stem, e.g. `canvas_app` or `production_only`) or reason
    /// code (e.g. `identity_deleted`).
    id: String,
    /// Rules directory to use instead of the rules built into palaudit.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

fn parse_pct(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("`{s}` is not between 0 and 100"));
    }
    Ok(v)
}

fn parse_shell(s: &str) -> Result<palaudit_report::fix_plan::Shell, String> {
    palaudit_report::fix_plan::Shell::parse(s)
        .ok_or_else(|| format!("`{s}` is not a shell palaudit writes: use powershell or bash"))
}

/// Whether `e` comes from writing to a pipe whose reader has closed it.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, as `{e:#}` prints them, but without a cause
/// its error already quotes (`palaudit.toml: No such file or directory (os error 2)`
/// once, not twice).
fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Collect(args) => collect::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::FixPlan(args) => fix_plan::run(&args),
        Command::Rules(args) => audit::list_rules(args.rules.as_deref()),
        Command::Rule(args) => audit::explain_rule(&args.id, args.rules.as_deref()),
        Command::Identities(IdentitiesCommand::Verify(args)) => identities::verify(&args),
    };
    match result {
        Ok(outcome) => outcome.into(),
        // The reader went away (`palaudit audit … | head`): nothing is wrong with the
        // audit and nobody is left to tell, so end quietly, as ripgrep does.
        Err(e) if is_broken_pipe(&e) => Outcome::Done.into(),
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                // The last word may quote an API's answer: no known secret in it.
                eprintln!(
                    "error: {}",
                    palaudit_collect::secret::redact(&error_text(&e))
                );
            }
            Outcome::Failed.into()
        }
    }
}
