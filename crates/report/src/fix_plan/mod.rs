//! The fix plan: for every resource that is not attributed, the steps that would move it
//! to a PAL-linked identity of the roster, and an honest word on what each one changes.
//!
//! [`build`] turns findings into a [`FixPlan`] — plain data, so any writer (the text
//! plans here, a workbook sheet elsewhere) can render it. [`render`] writes the plan as a
//! PowerShell or bash file. Nothing here runs a command or touches a tenant: the plan is
//! text for a person to review. `docs/fix-plan.md` cites the Microsoft documentation
//! behind every path and credit grade.

mod commands;
mod paths;
mod text;

pub use commands::Command;
pub use text::render;

use crate::ReportError;
use chrono::{DateTime, Utc};
use palaudit_model::{
    AccountKind, AuditHeader, AuditSummary, ChangePath, Findings, Holder, IdentityHealth,
    LinkState, PrincipalKind, Reason, ResourceType, RosterEntry, RosterFindings, Status,
    VerdictList,
};
use rayon::prelude::*;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use std::path::Path;

/// The two shell flavours a plan is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shell {
    PowerShell,
    Bash,
}

impl Shell {
    pub fn as_str(self) -> &'static str {
        match self {
            Shell::PowerShell => "powershell",
            Shell::Bash => "bash",
        }
    }

    /// `powershell` or `bash` (any case); `None` for anything else.
    pub fn parse(s: &str) -> Option<Shell> {
        match s.trim().to_ascii_lowercase().as_str() {
            "powershell" | "pwsh" => Some(Shell::PowerShell),
            "bash" | "sh" => Some(Shell::Bash),
            _ => None,
        }
    }

    /// The flavour a file name asks for: `.ps1` is PowerShell, `.sh` is bash.
    pub fn from_extension(path: &Path) -> Option<Shell> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "ps1" => Some(Shell::PowerShell),
            "sh" => Some(Shell::Bash),
            _ => None,
        }
    }
}

impl fmt::Display for Shell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which roster identity the plan moves resources to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetChoice<'a> {
    /// The tenant's first PAL service account (a user with `account_kind =
    /// service_account`), else its first service principal.
    Default,
    /// An object id, app id or UPN of a roster row for the tenant (`--to`).
    Named(&'a str),
}

/// The plan could not be made for the target asked for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FixPlanError {
    #[error(
        "`{identity}` is not on the roster for tenant {tenant_id}: name an object id, app id or UPN of an identities-file row for this tenant"
    )]
    UnknownTarget { identity: String, tenant_id: String },
    #[error(
        "`{identity}` names {count} roster rows for tenant {tenant_id} (identities file lines {lines}); name one by its object id or app id"
    )]
    AmbiguousTarget {
        identity: String,
        tenant_id: String,
        count: usize,
        lines: String,
    },
    #[error(
        "the roster has no service account (account_kind = service_account) and no service principal for tenant {tenant_id}; name the identity to move resources to with --to"
    )]
    NoDefaultTarget { tenant_id: String },
}

/// How the target was chosen, so the plan can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetSource {
    /// Named with `--to`.
    Named,
    /// The roster's first service account for the tenant.
    DefaultServiceAccount,
    /// The roster's first service principal for the tenant (it has no service account).
    DefaultServicePrincipal,
}

/// The PAL identity the plan moves resources to: a roster row for the audited tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanTarget {
    pub partner_id: String,
    pub principal_type: PrincipalKind,
    pub account_kind: AccountKind,
    pub display_name: Option<String>,
    pub upn: Option<String>,
    /// From the roster, else as the directory resolved it; `None` when neither knows.
    pub object_id: Option<String>,
    pub app_id: Option<String>,
    /// The identities-file line of the row.
    pub line: u64,
    pub health: IdentityHealth,
    pub link_state: LinkState,
    pub source: TargetSource,
}

impl PlanTarget {
    fn from_entry(e: &RosterEntry, source: TargetSource) -> PlanTarget {
        PlanTarget {
            partner_id: e.partner_id.clone(),
            principal_type: e.principal_type,
            account_kind: e.account_kind,
            display_name: e.display_name.clone(),
            upn: e.upn.clone(),
            object_id: e.object_id.clone(),
            app_id: e.app_id.clone(),
            line: e.line,
            health: e.health,
            link_state: e.link_state,
            source,
        }
    }

    pub fn is_service_principal(&self) -> bool {
        self.principal_type == PrincipalKind::ServicePrincipal
    }

    /// The name to show: display name, else UPN, else object id, else app id.
    pub fn label(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.upn.clone())
            .or_else(|| self.object_id.clone())
            .or_else(|| self.app_id.clone())
            .unwrap_or_else(|| format!("identities file line {}", self.line))
    }
}

/// Whether a path earns the credit once done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Credit {
    /// Afterwards the target holds the role the rule book names for the type.
    Certain,
    /// It changes something else (usually the owner); whether attribution follows is
    /// not documented.
    Possible,
}

impl Credit {
    pub fn as_str(self) -> &'static str {
        match self {
            Credit::Certain => "certain",
            Credit::Possible => "possible",
        }
    }
}

/// Who has to be signed in for a path's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunAs {
    /// A Power Platform (or environment) administrator acting on the resource.
    Admin,
    /// The target identity itself: an import or a publish is made *by* whoever runs it.
    Target,
}

impl RunAs {
    pub fn as_str(self) -> &'static str {
        match self {
            RunAs::Admin => "an admin",
            RunAs::Target => "the target",
        }
    }
}

/// One step of a path: something a person does in a portal, or a command.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Step {
    /// Done by hand (a portal, a pipeline); the text says where and what.
    Manual(String),
    /// A command, rendered for the chosen shell by [`Command::render`].
    Command(Command),
}

/// One way of moving a resource to the target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanPath {
    /// The rule book's column this path belongs to.
    pub path: ChangePath,
    /// What it is, in a few words: `Make the target the owner`.
    pub title: String,
    /// The tool it uses: `Power Apps admin module`, `Power Platform CLI`, …
    pub tool: String,
    pub run_as: RunAs,
    /// What the steps change, in a delivery lead's words.
    pub changes: String,
    pub credit: Credit,
    /// Why the credit is certain or only possible.
    pub credit_reason: String,
    pub steps: Vec<Step>,
}

/// A path that is not offered for this resource and target, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotOffered {
    pub path: ChangePath,
    /// The command or route concerned, when the reason is about one in particular.
    pub what: Option<String>,
    pub why: String,
}

/// Why a resource's item has no paths at all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocker {
    pub reason: Reason,
    /// What to do instead.
    pub remedy: String,
}

/// One resource that is not attributed, and the ways to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanItem {
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub resource_name: String,
    pub environment_id: String,
    pub environment_name: String,
    pub environment_type: String,
    pub status: Status,
    pub reasons: Vec<Reason>,
    /// The holders of the attributing role as the snapshot resolved them; empty when it
    /// recorded none.
    pub holders: Vec<Holder>,
    /// What the snapshot says about the resource that decides the paths, in words
    /// (`solution-aware: Dataverse workflow …`, `solution-awareness unknown: …`).
    pub situation: Vec<String>,
    /// Set when no ownership move can help (the environment does not count, or is
    /// missing); `paths` is then empty.
    pub blocker: Option<Blocker>,
    pub paths: Vec<PlanPath>,
    pub not_offered: Vec<NotOffered>,
    /// Other ways out the reasons suggest (re-enable an identity, link it here, …).
    pub notes: Vec<String>,
}

impl PlanItem {
    /// The best credit any offered path earns, if any path is offered.
    pub fn best_credit(&self) -> Option<Credit> {
        if self.paths.iter().any(|p| p.credit == Credit::Certain) {
            Some(Credit::Certain)
        } else if self.paths.is_empty() {
            None
        } else {
            Some(Credit::Possible)
        }
    }
}

/// The plan for one tenant: one item per resource that is not attributed, in the
/// findings' order (environment, type, name).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixPlan {
    pub tenant_id: String,
    pub collected_at: Option<DateTime<Utc>>,
    pub target: PlanTarget,
    pub items: Vec<PlanItem>,
}

/// Picks the target from the findings' roster: the identity `choice` names, or the
/// default (the first service account, else the first service principal).
pub fn choose_target(
    findings: &Findings,
    choice: TargetChoice<'_>,
) -> Result<PlanTarget, FixPlanError> {
    choose_from(&findings.tenant_id, &findings.roster, choice)
}

/// [`choose_target`] from a tenant's roster findings (what a streamed audit's summary
/// holds).
fn choose_from(
    tenant_id: &str,
    roster: &RosterFindings,
    choice: TargetChoice<'_>,
) -> Result<PlanTarget, FixPlanError> {
    let entries = &roster.identities;
    match choice {
        TargetChoice::Named(identity) => {
            let matches: Vec<&RosterEntry> =
                entries.iter().filter(|e| e.is_named_by(identity)).collect();
            match matches.as_slice() {
                [] => Err(FixPlanError::UnknownTarget {
                    identity: identity.to_owned(),
                    tenant_id: tenant_id.to_owned(),
                }),
                [one] => Ok(PlanTarget::from_entry(one, TargetSource::Named)),
                many => Err(FixPlanError::AmbiguousTarget {
                    identity: identity.to_owned(),
                    tenant_id: tenant_id.to_owned(),
                    count: many.len(),
                    lines: many
                        .iter()
                        .map(|e| e.line.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            }
        }
        TargetChoice::Default => {
            let service_account = entries.iter().find(|e| {
                e.principal_type == PrincipalKind::User
                    && e.account_kind == AccountKind::ServiceAccount
            });
            if let Some(e) = service_account {
                return Ok(PlanTarget::from_entry(
                    e,
                    TargetSource::DefaultServiceAccount,
                ));
            }
            entries
                .iter()
                .find(|e| e.principal_type == PrincipalKind::ServicePrincipal)
                .map(|e| PlanTarget::from_entry(e, TargetSource::DefaultServicePrincipal))
                .ok_or_else(|| FixPlanError::NoDefaultTarget {
                    tenant_id: tenant_id.to_owned(),
                })
        }
    }
}

/// Builds the plan for every verdict of `findings` that is not attributed, moving
/// resources to the identity `choice` picks. Every item is held; a streamed audit's
/// summary uses [`streamed`] instead, which builds each item as it is written.
pub fn build(findings: &Findings, choice: TargetChoice<'_>) -> Result<FixPlan, FixPlanError> {
    let target = choose_from(&findings.tenant_id, &findings.roster, choice)?;
    let items = findings
        .verdicts
        .iter()
        .filter(|v| v.status != Status::Attributed)
        .map(|v| paths::item(v, &target, &findings.tenant_id))
        .collect();
    Ok(FixPlan {
        tenant_id: findings.tenant_id.clone(),
        collected_at: findings.collected_at,
        target,
        items,
    })
}

/// The plan for a streamed audit's summary: its verdicts that are not attributed, each
/// item built when it is written, so a plan of a million items is never held.
pub fn streamed<'a>(
    header: &AuditHeader,
    summary: &'a AuditSummary,
    choice: TargetChoice<'_>,
) -> Result<StreamedPlan<'a>, FixPlanError> {
    Ok(StreamedPlan {
        tenant_id: header.tenant_id.clone(),
        collected_at: header.collected_at,
        target: choose_from(&header.tenant_id, &summary.roster, choice)?,
        verdicts: &summary.not_attributed,
    })
}

/// A plan whose items are built from the verdicts each time they are walked.
#[derive(Debug)]
pub struct StreamedPlan<'a> {
    pub tenant_id: String,
    pub collected_at: Option<DateTime<Utc>>,
    pub target: PlanTarget,
    verdicts: &'a VerdictList,
}

/// What a plan's header says: the tenant, when it was collected and the target.
#[derive(Debug, Clone, Copy)]
pub struct PlanHead<'a> {
    pub tenant_id: &'a str,
    pub collected_at: Option<DateTime<Utc>>,
    pub target: &'a PlanTarget,
}

/// A plan's header and its items, walked in order: a [`FixPlan`] holds the items, a
/// [`StreamedPlan`] builds them on the way.
pub trait PlanItems: Sync {
    fn head(&self) -> PlanHead<'_>;
    /// Calls `f` with every item in order; stops at the first error.
    fn each_item(
        &self,
        f: &mut dyn FnMut(&PlanItem) -> Result<(), ReportError>,
    ) -> Result<(), ReportError>;
    /// Every item, in runs of consecutive items (the same runs every time): `f` gets a
    /// run's number and its items, each built as `f` reaches it, on whichever core is
    /// free, and `take` receives what `f` made of each run in the plan's order. Stops at
    /// the first error.
    fn runs(
        &self,
        f: &RunMaker<'_>,
        take: &mut dyn FnMut(Run) -> Result<(), ReportError>,
    ) -> Result<(), ReportError>;
}

/// The items of one run, each built as it is reached.
pub type RunItems<'a> = dyn Iterator<Item = Cow<'a, PlanItem>> + 'a;

/// What [`PlanItems::runs`] calls for each run: its number and its items.
pub type RunMaker<'m> = dyn for<'a> Fn(usize, &mut RunItems<'a>) -> Run + Sync + 'm;

/// What rendering one run of a plan's items made: their text, or their tally (whose
/// total is the run's number of items).
#[derive(Debug, Default)]
pub struct Run {
    pub(crate) text: String,
    pub(crate) tally: Tally,
}

/// What a plan's header and sign-ins need to know of its items.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) total: usize,
    pub(crate) certain: usize,
    pub(crate) possible: usize,
    pub(crate) blocked: usize,
    /// Some step runs a Power Apps admin cmdlet (or its REST call).
    pub(crate) power_apps: bool,
    /// Some step runs a Power BI cmdlet (or its REST call).
    pub(crate) power_bi: bool,
}

/// Runs made at once, whatever the number of cores: each is megabytes of text.
const MAX_WINDOW: usize = 8;

/// Items in a run of a held plan, as in a [`VerdictList`] chunk.
const RUN: usize = palaudit_model::verdict_list::CHUNK;

/// Runs `make` over `runs` on every core a few at a time (so only a few runs' text is
/// held, at most three windows of [`MAX_WINDOW`] runs), handing the results to `take`
/// in order on the calling thread; the next runs are made while `take` writes the last
/// ones.
fn in_order<T: Sync>(
    runs: &[T],
    make: impl Fn(usize, &T) -> Result<Run, ReportError> + Sync,
    take: &mut dyn FnMut(Run) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let window = (2 * rayon::current_num_threads()).clamp(1, MAX_WINDOW);
    let made = |w: usize, group: &[T]| -> Vec<Result<Run, ReportError>> {
        group
            .par_iter()
            .enumerate()
            .map(|(i, run)| make(w * window + i, run))
            .collect()
    };
    if rayon::current_thread_index().is_some() {
        // Called from the pool itself: waiting on a thread that waits on the pool could
        // hang a pool of one thread, so each window is made, then written.
        for (w, group) in runs.chunks(window).enumerate() {
            for run in made(w, group) {
                take(run?)?;
            }
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (made_tx, ready) = std::sync::mpsc::sync_channel::<Vec<Result<Run, ReportError>>>(1);
        let made = &made;
        scope.spawn(move || {
            for (w, group) in runs.chunks(window).enumerate() {
                // The receiver is gone when `take` failed: stop making runs.
                if made_tx.send(made(w, group)).is_err() {
                    return;
                }
            }
        });
        for runs in ready {
            for run in runs {
                take(run?)?;
            }
        }
        Ok(())
    })
}

impl PlanItems for FixPlan {
    fn head(&self) -> PlanHead<'_> {
        PlanHead {
            tenant_id: &self.tenant_id,
            collected_at: self.collected_at,
            target: &self.target,
        }
    }
    fn each_item(
        &self,
        f: &mut dyn FnMut(&PlanItem) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        self.items.iter().try_for_each(f)
    }
    fn runs(
        &self,
        f: &RunMaker<'_>,
        take: &mut dyn FnMut(Run) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        let runs: Vec<&[PlanItem]> = self.items.chunks(RUN).collect();
        in_order(
            &runs,
            |n, items| Ok(f(n, &mut items.iter().map(Cow::Borrowed))),
            take,
        )
    }
}

impl PlanItems for StreamedPlan<'_> {
    fn head(&self) -> PlanHead<'_> {
        PlanHead {
            tenant_id: &self.tenant_id,
            collected_at: self.collected_at,
            target: &self.target,
        }
    }
    fn each_item(
        &self,
        f: &mut dyn FnMut(&PlanItem) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        for v in self.verdicts.iter() {
            let v = v?;
            if v.status != Status::Attributed {
                f(&paths::item(&v, &self.target, &self.tenant_id))?;
            }
        }
        Ok(())
    }
    fn runs(
        &self,
        f: &RunMaker<'_>,
        take: &mut dyn FnMut(Run) -> Result<(), ReportError>,
    ) -> Result<(), ReportError> {
        // One run per chunk of the list: read back, and each item built, rendered and
        // dropped in turn on one core, while it is in the core's cache.
        in_order(
            &self.verdicts.chunks(),
            |n, chunk| {
                let verdicts = chunk.verdicts()?;
                let mut items = verdicts
                    .iter()
                    .filter(|v| v.status != Status::Attributed)
                    .map(|v| Cow::Owned(paths::item(v, &self.target, &self.tenant_id)));
                Ok(f(n, &mut items))
            },
            take,
        )
    }
}
