//! Which paths each resource type offers a user or a service principal target, what
//! each changes and how sure its credit is. The grades follow `docs/fix-plan.md`, which
//! cites the Microsoft reference for each; the rule book's compatibility cells arrive
//! on the verdict (`change_paths_user`, `change_paths_service_principal`).

use super::commands::{Command, DataverseUser, SignInAs};
use super::{Blocker, Credit, NotOffered, PlanItem, PlanPath, PlanTarget, RunAs, Step};
use crate::text::one_line;
use palaudit_model::{ChangePath, Reason, ResourceFacts, ResourceType, Verdict};

/// The solution component type of a cloud flow (`workflow`) in
/// `AddSolutionComponent` / `pac solution add-solution-component`.
const WORKFLOW_COMPONENT: u32 = 29;

/// Everything a path builder reads about one resource and the target.
struct Ctx<'a> {
    v: &'a Verdict,
    target: &'a PlanTarget,
    tenant_id: &'a str,
    facts: Option<&'a ResourceFacts>,
}

impl Ctx<'_> {
    fn name(&self) -> String {
        let n = one_line(&self.v.resource_name);
        if n.trim().is_empty() {
            self.v.resource_id.clone()
        } else {
            n
        }
    }

    fn sp(&self) -> bool {
        self.target.is_service_principal()
    }

    fn target_label(&self) -> String {
        one_line(&self.target.label())
    }

    /// The target's object id, or a placeholder naming it.
    fn object_id(&self) -> String {
        self.target
            .object_id
            .clone()
            .unwrap_or_else(|| format!("<object id of {}>", self.target_label()))
    }

    fn sign_in(&self) -> SignInAs {
        match (&self.target.app_id, self.sp()) {
            (Some(app_id), true) => SignInAs::TargetServicePrincipal {
                tenant_id: self.tenant_id.to_owned(),
                app_id: app_id.clone(),
            },
            (None, true) => SignInAs::TargetServicePrincipal {
                tenant_id: self.tenant_id.to_owned(),
                app_id: format!("<app id of {}>", self.target_label()),
            },
            (_, false) => SignInAs::TargetUser {
                upn: self.target.upn.clone(),
            },
        }
    }

    fn dataverse_url(&self) -> Option<&str> {
        self.facts.and_then(|f| f.dataverse_url.as_deref())
    }

    /// True when the snapshot recorded the environment's (missing) Dataverse: older
    /// snapshots carry no facts at all, and then nothing is assumed.
    fn known_without_dataverse(&self) -> bool {
        self.facts.is_some_and(|f| f.dataverse_url.is_none())
    }

    fn table_allows(&self, path: ChangePath) -> bool {
        let cells = if self.sp() {
            &self.v.change_paths_service_principal
        } else {
            &self.v.change_paths_user
        };
        cells.contains(&path)
    }

    fn target_kind(&self) -> &'static str {
        if self.sp() {
            "service principal"
        } else {
            "user account"
        }
    }

    /// The rule book's "no" for this path and target, as a not-offered entry.
    fn table_says_no(&self, path: ChangePath, extra: &str) -> NotOffered {
        let mut why = format!(
            "the rule book's compatibility table marks {} \"no\" for moving a {} to a {}",
            path.label(),
            noun(self.v.resource_type),
            self.target_kind()
        );
        if !extra.is_empty() {
            why.push_str("; ");
            why.push_str(extra);
        }
        NotOffered {
            path,
            what: None,
            why,
        }
    }
}

/// The resource type as a noun inside a sentence.
fn noun(t: ResourceType) -> &'static str {
    match t {
        ResourceType::CanvasApp => "canvas app",
        ResourceType::ModelDrivenApp => "model-driven app",
        ResourceType::Flow => "cloud flow",
        ResourceType::PowerbiDataset => "Power BI dataset",
        ResourceType::Bot => "Copilot Studio bot",
    }
}

/// The plan item for one verdict that is not attributed.
pub(super) fn item(v: &Verdict, target: &PlanTarget, tenant_id: &str) -> PlanItem {
    let cx = Ctx {
        v,
        target,
        tenant_id,
        facts: v.facts.as_deref(),
    };
    let mut item = PlanItem {
        resource_type: v.resource_type,
        resource_id: v.resource_id.clone(),
        resource_name: v.resource_name.clone(),
        environment_id: v.environment_id.to_string(),
        environment_name: v.environment_name.to_string(),
        environment_type: v.environment_type.to_string(),
        status: v.status,
        reasons: v.reasons.clone(),
        holders: v.evidence.holders.clone(),
        situation: situation(&cx),
        blocker: blocker(v),
        paths: Vec::new(),
        not_offered: Vec::new(),
        notes: notes(v),
    };
    if item.blocker.is_some() {
        return item;
    }
    let (paths, not_offered) = match v.resource_type {
        ResourceType::CanvasApp => canvas_app(&cx),
        ResourceType::Flow => flow(&cx),
        ResourceType::ModelDrivenApp => model_driven_app(&cx),
        ResourceType::Bot => bot(&cx),
        ResourceType::PowerbiDataset => dataset(&cx),
    };
    item.paths = paths;
    item.not_offered = not_offered;
    item
}

/// No ownership move helps a resource whose environment does not count or is missing,
/// nor one the rule book does not count on its own.
fn blocker(v: &Verdict) -> Option<Blocker> {
    if v.reasons.contains(&Reason::CustomPageOfModelDrivenApp) {
        return Some(Blocker {
            reason: Reason::CustomPageOfModelDrivenApp,
            remedy: "A custom page earns no credit of its own: the model-driven app that holds it is where the credit is decided (its creator). Move that app's solution instead (see the model-driven app's item).".into(),
        });
    }
    if v.reasons.contains(&Reason::WorkspaceNotActive) {
        return Some(Blocker {
            reason: Reason::WorkspaceNotActive,
            remedy: "The workspace is being removed or was deleted: nothing done to it earns credit. Publish the dataset to an active shared workspace as the target (New-PowerBIReport -WorkspaceId <shared workspace>, signed in as the target).".into(),
        });
    }
    if v.reasons.contains(&Reason::EnvironmentUnknown) {
        return Some(Blocker {
            reason: Reason::EnvironmentUnknown,
            remedy: "The resource's environment is missing from the snapshot: collect the tenant again before moving anything.".into(),
        });
    }
    if v.reasons.contains(&Reason::NonProductionEnvironment) {
        let remedy = if v.resource_type == ResourceType::PowerbiDataset {
            "Partner programs count production work only, and a personal workspace is not that: publish the dataset to a shared workspace as the target (New-PowerBIReport -WorkspaceId <shared workspace>, signed in as the target); a take-over here earns nothing."
        } else {
            "Partner programs count production work only: changing ownership in this environment earns nothing. Deploy the work to a production environment as the target (import its managed solution there with the target's pac auth profile)."
        };
        return Some(Blocker {
            reason: Reason::NonProductionEnvironment,
            remedy: remedy.into(),
        });
    }
    None
}

/// Other ways out the reasons point to, next to moving the resource.
fn notes(v: &Verdict) -> Vec<String> {
    let mut notes = Vec::new();
    for r in &v.reasons {
        let note = match r {
            Reason::IdentityDisabled => {
                "Alternatively, ask the customer to re-enable the PAL identity that holds the role: disabled identities stop attribution."
            }
            Reason::IdentityDeleted => {
                "The PAL identity that held the role has been deleted; it cannot be restored from here, so move the resource."
            }
            Reason::IdentityInvitationPending => {
                "Alternatively, have the guest that holds the role accept its invitation to the customer tenant."
            }
            Reason::IdentityHealthUnknown => {
                "The snapshot has no directory record of the PAL identity in the role: collect again with Graph read rights before moving anything."
            }
            Reason::PalLinkOtherTenant => {
                "Alternatively, link the holder's identity to your partner ID in this tenant too (`palaudit identities verify` prints the commands): a PAL link holds in one tenant only."
            }
            Reason::OwnerUnresolved => {
                "The current holder could not be resolved to an identity: check who it is in the portal before moving the resource."
            }
            Reason::GroupPrincipal => {
                "A group holds the role; credit goes to named users and service principals only."
            }
            _ => continue,
        };
        notes.push(note.to_owned());
    }
    notes
}

/// What the snapshot says that decides the paths, in words.
fn situation(cx: &Ctx) -> Vec<String> {
    let mut lines = Vec::new();
    let f = cx.facts;
    match cx.v.resource_type {
        ResourceType::Flow => lines.push(match flow_awareness(cx) {
            Some(true) => match f.and_then(|f| f.dataverse_record_id.as_deref()) {
                Some(id) => format!(
                    "solution-aware: the flow has a Dataverse workflow record ({})",
                    one_line(id)
                ),
                None => "solution-aware: it came in through a managed solution".to_owned(),
            },
            Some(false) if cx.known_without_dataverse() => {
                "not solution-aware: the environment has no Dataverse, and solutions live in Dataverse".to_owned()
            }
            Some(false) => {
                "not solution-aware: the flow listing gave it no Dataverse workflow record".to_owned()
            }
            None => {
                "solution-awareness unknown: this snapshot does not record it (collected before palaudit read it); both kinds of path are listed".to_owned()
            }
        }),
        ResourceType::CanvasApp => {
            if let Some(f) = f {
                let mut parts = Vec::new();
                if let Some(t) = &f.app_type {
                    parts.push(format!("app type {}", one_line(t)));
                }
                if let Some(m) = &f.alm_mode {
                    parts.push(format!("ALM mode {}", one_line(m)));
                }
                if !parts.is_empty() {
                    lines.push(parts.join(", "));
                }
            }
        }
        ResourceType::ModelDrivenApp | ResourceType::Bot => {
            if let Some(f) = f {
                let mut parts = Vec::new();
                match f.is_managed {
                    Some(true) => parts.push("installed by a managed solution".to_owned()),
                    Some(false) => parts.push("unmanaged".to_owned()),
                    None => {}
                }
                if let Some(s) = &f.solution_id {
                    parts.push(format!("solutionid {}", one_line(s)));
                }
                if let Some(u) = &f.unique_name {
                    parts.push(format!("unique name {}", one_line(u)));
                }
                if !parts.is_empty() {
                    lines.push(parts.join(", "));
                }
            }
        }
        ResourceType::PowerbiDataset => lines.push(format!(
            "workspace {}",
            one_line(&cx.v.environment_id)
        )),
    }
    lines
}

/// Whether the flow is solution-aware: as recorded, else `None` (never a guess).
fn flow_awareness(cx: &Ctx) -> Option<bool> {
    cx.facts.and_then(|f| f.solution_aware)
}

fn manual(s: impl Into<String>) -> Step {
    Step::Manual(s.into())
}

fn cmd(c: Command) -> Step {
    Step::Command(c)
}

/// The steps that find the solution holding a component: a read-only look-up when the
/// snapshot has what it needs (the Dataverse URL and the component's id), else where to
/// look in the portal.
fn find_solution_steps(cx: &Ctx, component_id: Option<&str>) -> Vec<Step> {
    match (cx.dataverse_url(), component_id) {
        (Some(url), Some(id)) => vec![
            manual(format!(
                "Find the solution that holds \"{}\" (a read-only look-up; it prints unique names):",
                cx.name()
            )),
            cmd(Command::FindSolutions {
                dataverse_url: url.to_owned(),
                component_id: id.to_owned(),
            }),
        ],
        _ => vec![manual(format!(
            "Find the solution that holds \"{}\": in the maker portal, environment {}, open Solutions and search for it.",
            cx.name(),
            one_line(&cx.v.environment_name)
        ))],
    }
}

/// Export a solution from where it is built and import it as the target: the steps of
/// the Power Platform CLI path, shared by every type that ships in solutions.
fn solution_import_steps(cx: &Ctx, component_id: Option<&str>) -> Vec<Step> {
    let solution = "<unique name of the solution>".to_owned();
    let file = "<solution>_managed.zip".to_owned();
    let mut steps = find_solution_steps(cx, component_id);
    steps.extend([
        manual("Export it as managed from the environment you build it in (select that environment's pac auth profile first)."),
        cmd(Command::ExportSolution {
            solution,
            file: file.clone(),
        }),
        manual(format!(
            "Sign in as the target ({}) for this environment and import it. The import makes the target the owner and creator of what it creates; an import over an existing copy in this environment updates that copy and keeps its creator, so import where the solution is not installed yet.",
            cx.target_label()
        )),
        cmd(Command::PacAuth {
            environment_id: cx.v.environment_id.to_string(),
            as_: cx.sign_in(),
        }),
        cmd(Command::ImportSolution { file }),
    ]);
    steps
}

/// `text` after a condition such as "If the flow is solution-aware: ", or on its own
/// with its first letter capitalised.
fn conditional(prefix: &str, text: &str) -> String {
    if prefix.is_empty() {
        let mut c = text.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    } else {
        format!("{prefix}{text}")
    }
}

fn devops_steps(cx: &Ctx) -> Vec<Step> {
    vec![manual(format!(
        "In the Azure DevOps release pipeline, import the managed solution into environment {} with the Power Platform Build Tools \"Import Solution\" task, using a service connection that signs in as the target ({}).",
        one_line(&cx.v.environment_id),
        cx.target_label()
    ))]
}

fn canvas_app(cx: &Ctx) -> (Vec<PlanPath>, Vec<NotOffered>) {
    let mut paths = Vec::new();
    let mut not = Vec::new();
    let env = cx.v.environment_id.to_string();
    let app = cx.v.resource_id.clone();
    const ROLE_REASON: &str =
        "the rule book credits the owner or a co-owner of a canvas app, and the target becomes one";

    if cx.table_allows(ChangePath::Gui) {
        paths.push(PlanPath {
            path: ChangePath::Gui,
            title: "Share the app with the target as co-owner".into(),
            tool: "Power Apps maker portal".into(),
            run_as: RunAs::Admin,
            changes: "adds the target as a co-owner; the owner stays".into(),
            credit: Credit::Certain,
            credit_reason: ROLE_REASON.into(),
            steps: vec![manual(format!(
                "In make.powerapps.com, environment {}: Apps → \"{}\" → Share; add {} and tick Co-owner.",
                one_line(&cx.v.environment_name),
                cx.name(),
                cx.target_label()
            ))],
        });
    } else {
        not.push(cx.table_says_no(ChangePath::Gui, "the Share dialog picks users and groups"));
    }

    if cx.table_allows(ChangePath::Powershell) {
        paths.push(PlanPath {
            path: ChangePath::Powershell,
            title: "Make the target the owner".into(),
            tool: "Power Apps admin module (Set-AdminPowerAppOwner)".into(),
            run_as: RunAs::Admin,
            changes: "the target becomes the owner; the previous owner keeps \"Can view\"".into(),
            credit: Credit::Certain,
            credit_reason: ROLE_REASON.into(),
            steps: vec![cmd(Command::SetCanvasAppOwner {
                environment_id: env.clone(),
                app_id: app.clone(),
                object_id: cx.object_id(),
            })],
        });
        paths.push(PlanPath {
            path: ChangePath::Powershell,
            title: "Add the target as co-owner (the owner stays)".into(),
            tool: "Power Apps admin module (Set-AdminPowerAppRoleAssignment)".into(),
            run_as: RunAs::Admin,
            changes: "adds the target as a co-owner (CanEdit); nothing else changes".into(),
            credit: Credit::Certain,
            credit_reason: ROLE_REASON.into(),
            steps: vec![cmd(Command::AddCanvasAppCoOwner {
                environment_id: env,
                app_id: app.clone(),
                object_id: cx.object_id(),
            })],
        });
    } else {
        not.push(cx.table_says_no(
            ChangePath::Powershell,
            "Set-AdminPowerAppRoleAssignment takes -PrincipalType User, Group or Tenant only",
        ));
    }

    let in_solution = cx
        .facts
        .and_then(|f| f.alm_mode.as_deref())
        .map(|m| m.eq_ignore_ascii_case("solution"));
    let solution_note = match in_solution {
        Some(false) => " The app is not in a solution (ALM mode Environment): add it to one first.",
        _ => "",
    };
    if cx.table_allows(ChangePath::PpCli) {
        paths.push(PlanPath {
            path: ChangePath::PpCli,
            title: "Import the app's solution as the target".into(),
            tool: "Power Platform CLI (pac solution)".into(),
            run_as: RunAs::Target,
            changes: format!(
                "the import creates the app with the target as its owner, where the solution is not installed yet.{solution_note}"
            ),
            credit: Credit::Certain,
            credit_reason: "PAL: the account used to import a solution becomes the owner of each deliverable in it, and an owner earns the credit".into(),
            steps: solution_import_steps(cx, None),
        });
    } else {
        not.push(cx.table_says_no(ChangePath::PpCli, ""));
    }
    if cx.table_allows(ChangePath::Devops) {
        paths.push(PlanPath {
            path: ChangePath::Devops,
            title: "Import the app's solution from a pipeline as the target".into(),
            tool: "Power Platform Build Tools".into(),
            run_as: RunAs::Target,
            changes: format!(
                "as the CLI path: the import creates the app with the target as owner.{solution_note}"
            ),
            credit: Credit::Certain,
            credit_reason: "PAL: the importing account becomes the owner of each deliverable".into(),
            steps: devops_steps(cx),
        });
    } else {
        not.push(cx.table_says_no(ChangePath::Devops, ""));
    }
    (paths, not)
}

fn flow(cx: &Ctx) -> (Vec<PlanPath>, Vec<NotOffered>) {
    let mut paths = Vec::new();
    let mut not = Vec::new();
    let aware = flow_awareness(cx);
    // Unknown awareness lists both families, each saying which flows it is for.
    let in_place = aware != Some(false);
    let copy = aware != Some(true);
    let unknown_prefix = if aware.is_none() {
        "If the flow is solution-aware: "
    } else {
        ""
    };
    let copy_prefix = if aware.is_none() {
        "If the flow is not solution-aware: "
    } else {
        ""
    };
    let workflow_id = cx.facts.and_then(|f| f.dataverse_record_id.clone());
    const OWNER_NOT_CREATOR: &str = "the rule book credits the creator of a flow, and changing the owner does not change the creator (Dataverse keeps createdby apart from ownerid)";
    const NEW_CREATOR: &str =
        "the copy is a new flow that the target creates, so the target is its creator";

    // The cmdlet people reach for only ever adds a co-owner: say so on every flow.
    not.push(NotOffered {
        path: ChangePath::Powershell,
        what: Some("Set-AdminFlowOwnerRole".into()),
        why: "it adds a co-owner (-RoleName CanView or CanEdit); there is no Set-AdminFlowOwner, and a co-owner of a flow earns no credit".into(),
    });

    if cx.table_allows(ChangePath::Gui) {
        if in_place {
            let who = if cx.sp() {
                format!(
                    "the application user of {} (it must exist in the environment; share the flow's connections with it)",
                    cx.target_label()
                )
            } else {
                cx.target_label()
            };
            paths.push(PlanPath {
                path: ChangePath::Gui,
                title: "Change the owner in place".into(),
                tool: "Power Automate maker portal".into(),
                run_as: RunAs::Admin,
                changes: conditional(
                    unknown_prefix,
                    "the owner becomes the target and the previous owner a co-owner; the creator stays",
                ),
                credit: Credit::Possible,
                credit_reason: OWNER_NOT_CREATOR.into(),
                steps: vec![manual(format!(
                    "In make.powerautomate.com, environment {}: open \"{}\" (My flows, or Solutions → its solution), Details → Edit → Owner; replace the owner with {who}.",
                    one_line(&cx.v.environment_name),
                    cx.name()
                ))],
            });
        }
        if copy {
            if cx.sp() {
                not.push(NotOffered {
                    path: ChangePath::Gui,
                    what: Some("Save as / export and import, as the target".into()),
                    why: conditional(
                        copy_prefix,
                        "a service principal cannot sign in to the maker portal to make the copy; add the flow to a solution and use the Power Platform CLI path",
                    ),
                });
            } else {
                paths.push(PlanPath {
                    path: ChangePath::Gui,
                    title: "Make a new flow as the target (Save as, or export and import)".into(),
                    tool: "Power Automate maker portal".into(),
                    run_as: RunAs::Target,
                    changes: conditional(
                        copy_prefix,
                        "a new flow: a new flow id, created by the target; the original keeps its run history and stays unattributed until you turn it off",
                    ),
                    credit: Credit::Certain,
                    credit_reason: NEW_CREATOR.into(),
                    steps: vec![
                        manual("Let the target open the flow: add it as a co-owner (this alone earns nothing)."),
                        cmd(Command::AddFlowCoOwner {
                            environment_id: cx.v.environment_id.to_string(),
                            flow_id: cx.v.resource_id.clone(),
                            object_id: cx.object_id(),
                        }),
                        manual(format!(
                            "Sign in to make.powerautomate.com as the target ({}), environment {}: My flows → Shared with me → \"{}\" → Save As (or Export → Package, then Import). Re-create its connections as the target.",
                            cx.target_label(),
                            one_line(&cx.v.environment_name),
                            cx.name()
                        )),
                        manual("Turn the new flow on, check a run, then turn the original off."),
                    ],
                });
            }
        }
    } else {
        not.push(cx.table_says_no(ChangePath::Gui, ""));
    }

    if cx.table_allows(ChangePath::Powershell) {
        if in_place {
            let steps = match (cx.dataverse_url(), workflow_id.as_deref()) {
                (Some(url), id) => {
                    let owner = match (&cx.target.app_id, cx.sp()) {
                        (Some(app), true) => DataverseUser::AppId(app.clone()),
                        _ => DataverseUser::ObjectId(cx.object_id()),
                    };
                    vec![cmd(Command::AssignFlowOwner {
                        dataverse_url: url.to_owned(),
                        workflow_id: id
                            .map(str::to_owned)
                            .unwrap_or_else(|| "<workflowid of the flow>".to_owned()),
                        owner,
                    })]
                }
                (None, _) => vec![manual(
                    "The snapshot does not hold the environment's Dataverse URL: use the maker-portal path.",
                )],
            };
            paths.push(PlanPath {
                path: ChangePath::Powershell,
                title: "Assign the flow's Dataverse record to the target".into(),
                tool: "Dataverse Web API (workflow table)".into(),
                run_as: RunAs::Admin,
                changes: conditional(
                    unknown_prefix,
                    "the owner (ownerid) of the flow's workflow row becomes the target; the creator (createdby) stays",
                ),
                credit: Credit::Possible,
                credit_reason: OWNER_NOT_CREATOR.into(),
                steps,
            });
        }
        if copy {
            not.push(NotOffered {
                path: ChangePath::Powershell,
                what: Some("an in-place owner or creator change".into()),
                why: conditional(
                    copy_prefix,
                    "Microsoft says in-place ownership change for non-solution-aware cloud flows isn't available because the owner is part of the flow identity",
                ),
            });
        }
    }

    let no_dataverse = cx.known_without_dataverse();
    if cx.table_allows(ChangePath::PpCli) {
        if no_dataverse {
            not.push(NotOffered {
                path: ChangePath::PpCli,
                what: None,
                why: "the environment has no Dataverse database, and solutions live in Dataverse"
                    .into(),
            });
        } else {
            let mut steps = Vec::new();
            if aware != Some(true) {
                steps.push(manual(conditional(
                    copy_prefix,
                    "add the flow to an unmanaged solution first (in the environment it is built in).",
                )));
                steps.push(cmd(Command::AddToSolution {
                    solution: "<unique name of the solution>".into(),
                    component_id: workflow_id
                        .clone()
                        .unwrap_or_else(|| "<workflowid of the flow>".to_owned()),
                    component_type: WORKFLOW_COMPONENT,
                }));
            }
            steps.extend(solution_import_steps(cx, workflow_id.as_deref()));
            paths.push(PlanPath {
                path: ChangePath::PpCli,
                title: "Import the flow's solution as the target".into(),
                tool: "Power Platform CLI (pac solution)".into(),
                run_as: RunAs::Target,
                changes: "the import creates the flow with the target as its creator and owner, where the solution is not installed yet".into(),
                credit: Credit::Certain,
                credit_reason: "PAL: the account used to import a solution becomes the owner of each deliverable; a flow the import creates is created by the importer".into(),
                steps,
            });
        }
    } else {
        not.push(cx.table_says_no(ChangePath::PpCli, ""));
    }
    if cx.table_allows(ChangePath::Devops) {
        if no_dataverse {
            not.push(NotOffered {
                path: ChangePath::Devops,
                what: None,
                why: "the environment has no Dataverse database, and solutions live in Dataverse"
                    .into(),
            });
        } else {
            paths.push(PlanPath {
                path: ChangePath::Devops,
                title: "Import the flow's solution from a pipeline as the target".into(),
                tool: "Power Platform Build Tools".into(),
                run_as: RunAs::Target,
                changes: "as the CLI path: the import creates the flow with the target as creator".into(),
                credit: Credit::Certain,
                credit_reason: "PAL: the importing account becomes the owner of each deliverable; a flow the import creates is created by the importer".into(),
                steps: devops_steps(cx),
            });
        }
    } else {
        not.push(cx.table_says_no(ChangePath::Devops, ""));
    }
    (paths, not)
}

fn model_driven_app(cx: &Ctx) -> (Vec<PlanPath>, Vec<NotOffered>) {
    let mut paths = Vec::new();
    let mut not = Vec::new();
    const NO_OWNER: &str =
        "an app module is organization-owned: there is no owner or co-owner to set";
    for p in [ChangePath::Gui, ChangePath::Powershell] {
        if cx.table_allows(p) {
            not.push(NotOffered {
                path: p,
                what: None,
                why: NO_OWNER.into(),
            });
        } else {
            not.push(cx.table_says_no(p, NO_OWNER));
        }
    }
    const IMPORT_REASON: &str = "the rule book credits the creator of a model-driven app, and an app the import creates is created by the importer";
    if cx.table_allows(ChangePath::PpCli) {
        paths.push(PlanPath {
            path: ChangePath::PpCli,
            title: "Import the app's solution as the target".into(),
            tool: "Power Platform CLI (pac solution)".into(),
            run_as: RunAs::Target,
            changes: "the import creates the app with the target as its creator, where the solution is not installed yet".into(),
            credit: Credit::Certain,
            credit_reason: IMPORT_REASON.into(),
            steps: solution_import_steps(cx, Some(&cx.v.resource_id)),
        });
    } else {
        not.push(cx.table_says_no(ChangePath::PpCli, ""));
    }
    if cx.table_allows(ChangePath::Devops) {
        paths.push(PlanPath {
            path: ChangePath::Devops,
            title: "Import the app's solution from a pipeline as the target".into(),
            tool: "Power Platform Build Tools".into(),
            run_as: RunAs::Target,
            changes: "as the CLI path: the import creates the app with the target as creator"
                .into(),
            credit: Credit::Certain,
            credit_reason: IMPORT_REASON.into(),
            steps: devops_steps(cx),
        });
    } else {
        not.push(cx.table_says_no(ChangePath::Devops, ""));
    }
    (paths, not)
}

fn bot(cx: &Ctx) -> (Vec<PlanPath>, Vec<NotOffered>) {
    let mut paths = Vec::new();
    let mut not = Vec::new();
    for p in [ChangePath::Gui, ChangePath::Powershell] {
        if !cx.table_allows(p) {
            not.push(cx.table_says_no(
                p,
                "there is no owner or creator change for a bot in the GUI or PowerShell",
            ));
        }
    }
    const NOT_LISTED: &str = "the rule book credits the bot's creator, and an import makes the importer the creator of a bot it creates; but Microsoft's current PAL attribution table lists no bot row, so whether bots earn PAL credit at all is not documented";
    if cx.table_allows(ChangePath::PpCli) {
        if cx.sp() {
            not.push(NotOffered {
                path: ChangePath::PpCli,
                what: Some("pac copilot-studio reassign-copilot-agent".into()),
                why: "it names the new owner by an Entra user id (--new-owner-aad-user-id), and it changes the owner, not the creator".into(),
            });
        } else {
            paths.push(PlanPath {
                path: ChangePath::PpCli,
                title: "Reassign the bot to the target".into(),
                tool: "Power Platform CLI (pac copilot-studio)".into(),
                run_as: RunAs::Admin,
                changes: "the owner becomes the target (the old owner loses access); the creator stays".into(),
                credit: Credit::Possible,
                credit_reason: "the rule book credits the bot's creator, and reassigning changes the owner, not the creator".into(),
                steps: vec![
                    cmd(Command::PacAuth {
                        environment_id: cx.v.environment_id.to_string(),
                        as_: SignInAs::Admin,
                    }),
                    cmd(Command::ReassignBot {
                        environment_id: cx.v.environment_id.to_string(),
                        bot_id: cx.v.resource_id.clone(),
                        object_id: cx.object_id(),
                    }),
                ],
            });
        }
        paths.push(PlanPath {
            path: ChangePath::PpCli,
            title: "Import the bot's solution as the target".into(),
            tool: "Power Platform CLI (pac solution)".into(),
            run_as: RunAs::Target,
            changes: "the import creates the bot with the target as its creator and owner, where the solution is not installed yet".into(),
            credit: Credit::Possible,
            credit_reason: NOT_LISTED.into(),
            steps: solution_import_steps(cx, Some(&cx.v.resource_id)),
        });
    } else {
        not.push(cx.table_says_no(ChangePath::PpCli, ""));
    }
    if cx.table_allows(ChangePath::Devops) {
        paths.push(PlanPath {
            path: ChangePath::Devops,
            title: "Import the bot's solution from a pipeline as the target".into(),
            tool: "Power Platform Build Tools".into(),
            run_as: RunAs::Target,
            changes: "as the CLI import: the import creates the bot with the target as creator"
                .into(),
            credit: Credit::Possible,
            credit_reason: NOT_LISTED.into(),
            steps: devops_steps(cx),
        });
    } else {
        not.push(cx.table_says_no(ChangePath::Devops, ""));
    }
    (paths, not)
}

fn dataset(cx: &Ctx) -> (Vec<PlanPath>, Vec<NotOffered>) {
    let mut paths = Vec::new();
    let mut not = Vec::new();
    let workspace = cx.v.environment_id.to_string();
    if cx.table_allows(ChangePath::Powershell) {
        paths.push(PlanPath {
            path: ChangePath::Powershell,
            title: "Re-publish the dataset as the target".into(),
            tool: "Power BI management module (New-PowerBIReport)".into(),
            run_as: RunAs::Target,
            changes: "the target publishes the .pbix over the dataset of the same name in the workspace".into(),
            credit: Credit::Certain,
            credit_reason: "the rule book credits the publisher of a dataset, and publishing is what makes one".into(),
            steps: vec![
                manual(format!(
                    "Get the .pbix of \"{}\" (from the project, or Download this file in the service) and sign in as the target ({}).",
                    cx.name(),
                    cx.target_label()
                )),
                cmd(Command::PublishPbix {
                    workspace_id: workspace.clone(),
                    dataset_name: cx.v.resource_name.clone(),
                    pbix: format!("<path to the .pbix of {}>", cx.name()),
                }),
            ],
        });
        paths.push(PlanPath {
            path: ChangePath::Powershell,
            title: "Take over the dataset as the target".into(),
            tool: "Power BI REST API (Default.TakeOver)".into(),
            run_as: RunAs::Target,
            changes: "the dataset's owner (configuredBy) becomes the target, the identity that calls it; nobody publishes anything".into(),
            credit: Credit::Possible,
            credit_reason: "the rule book credits the publisher, and a take-over changes the owner; palaudit reads configuredBy, so its next audit will show the dataset attributed either way".into(),
            steps: vec![cmd(Command::TakeOverDataset {
                workspace_id: workspace,
                dataset_id: cx.v.resource_id.clone(),
            })],
        });
    } else {
        not.push(cx.table_says_no(ChangePath::Powershell, ""));
    }
    not.push(NotOffered {
        path: ChangePath::Gui,
        what: Some("the service's Take over button".into()),
        why: "the rule book's table marks GUI \"no\" for Power BI publishing; the button is the same take-over, which changes the owner, not the publisher".into(),
    });
    for p in [ChangePath::PpCli, ChangePath::Devops] {
        not.push(NotOffered {
            path: p,
            what: None,
            why: "solutions are not available for Power BI".into(),
        });
    }
    (paths, not)
}
