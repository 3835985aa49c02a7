//! The fix plan: its data (which paths, which credit, which target) and both shell
//! renderings, for every resource type and both targets, snapshot-tested with insta.

use chrono::{TimeZone, Utc};
use palaudit_model::{
    AccountKind, ChangePath, Evidence, Findings, Holder, IdentityHealth, LinkState, PrincipalKind,
    PrincipalType, Reason, ResourceFacts, ResourceType, Role, RosterEntry, RosterFindings, Status,
    Verdict,
};
use palaudit_report::fix_plan::{
    self, Credit, FixPlan, FixPlanError, PlanItem, Shell, Step, TargetChoice, TargetSource,
};
use std::sync::Arc;

const TENANT: &str = "7c1f0e2a-4b7d-4c8e-9a51-3f2d6b8e0c11";
const PROD: (&str, &str, &str) = (
    "0f6a1d2e-8c3b-4e5f-a1b2-c3d4e5f60718",
    "Contoso Sales",
    "Production",
);
const DEFAULT: (&str, &str, &str) = (
    "Default-7c1f0e2a-4b7d-4c8e-9a51-3f2d6b8e0c11",
    "Contoso (default)",
    "Default",
);
const WORKSPACE: (&str, &str, &str) = (
    "a7d3c2b1-9e8f-4a6b-b5c4-d3e2f1a0b9c8",
    "Finance Reporting",
    "PowerBIWorkspace",
);
const PERSONAL: (&str, &str, &str) = (
    "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
    "My workspace",
    "PersonalWorkspace",
);
const DATAVERSE: &str = "https://contososales.api.crm.dynamics.com";
const SVC_OID: &str = "2b7e4c1a-9d3f-4e8b-a6c5-1f0e9d8c7b6a";
const SP_OID: &str = "8f7e6d5c-4b3a-4291-8e7f-6d5c4b3a2918";
const SP_APP: &str = "4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d";

fn paths(t: ResourceType) -> (Arc<[ChangePath]>, Arc<[ChangePath]>) {
    use ChangePath::*;
    // Cell for cell from rules/<type>.toml.
    let (u, s): (Vec<ChangePath>, Vec<ChangePath>) = match t {
        ResourceType::CanvasApp => (vec![Gui, Powershell, PpCli, Devops], vec![PpCli, Devops]),
        ResourceType::Flow => (
            vec![Gui, Powershell, PpCli, Devops],
            vec![Gui, Powershell, PpCli, Devops],
        ),
        ResourceType::ModelDrivenApp | ResourceType::Bot => {
            (vec![PpCli, Devops], vec![PpCli, Devops])
        }
        ResourceType::PowerbiDataset => (vec![Powershell], vec![Powershell]),
    };
    (u.into(), s.into())
}

fn holder(role: Role, id: &str, name: &str, upn: &str) -> Holder {
    Holder {
        role,
        principal_id: id.into(),
        principal_type: PrincipalType::User,
        display_name: Some(name.into()),
        upn: Some(upn.into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn verdict(
    env: (&str, &str, &str),
    resource_type: ResourceType,
    id: &str,
    name: &str,
    status: Status,
    reasons: &[Reason],
    holders: Vec<Holder>,
    facts: Option<ResourceFacts>,
) -> Verdict {
    let (change_paths_user, change_paths_service_principal) = paths(resource_type);
    Verdict {
        environment_id: env.0.into(),
        environment_name: env.1.into(),
        environment_type: env.2.into(),
        resource_type,
        resource_id: id.into(),
        resource_name: name.into(),
        status,
        partner_id: None,
        attributed_principal_id: None,
        attributed_principal_name: None,
        attributing_role: None,
        leaver_risk: false,
        reasons: reasons.to_vec(),
        change_paths_user,
        change_paths_service_principal,
        evidence: Evidence {
            holders,
            ..Evidence::default()
        },
        facts: facts.map(Box::new),
        suppression: None,
    }
}

fn dataverse() -> ResourceFacts {
    ResourceFacts {
        dataverse_url: Some(DATAVERSE.into()),
        ..ResourceFacts::default()
    }
}

fn entry(
    line: u64,
    kind: PrincipalKind,
    account_kind: AccountKind,
    name: &str,
    upn: Option<&str>,
    object_id: Option<&str>,
    app_id: Option<&str>,
) -> RosterEntry {
    RosterEntry {
        line,
        partner_id: "4412345".into(),
        principal_type: kind,
        account_kind,
        display_name: Some(name.into()),
        upn: upn.map(str::to_owned),
        object_id: object_id.map(str::to_owned),
        app_id: app_id.map(str::to_owned),
        health: IdentityHealth::Ok,
        link_state: LinkState::Unverified,
        rbac_assignments: None,
        credited_resources: 0,
    }
}

fn roster() -> RosterFindings {
    RosterFindings {
        identities: vec![
            entry(
                2,
                PrincipalKind::User,
                AccountKind::Personal,
                "Pat Northwind",
                Some("pat_northwind.com#EXT#@contoso.onmicrosoft.com"),
                Some("5b2c8e41-7a3d-4f9e-b6c1-d0e9f8a7b6c5"),
                None,
            ),
            entry(
                3,
                PrincipalKind::ServicePrincipal,
                AccountKind::ServiceAccount,
                "Northwind Deployment",
                None,
                Some(SP_OID),
                Some(SP_APP),
            ),
            entry(
                4,
                PrincipalKind::User,
                AccountKind::ServiceAccount,
                "Northwind delivery account",
                Some("svc-northwind@contoso.onmicrosoft.com"),
                Some(SVC_OID),
                None,
            ),
        ],
        ..RosterFindings::default()
    }
}

/// One resource of every type, flows in every state of solution-awareness, both kinds
/// of item that no move helps, an attributed resource (no item) and a hostile name.
fn findings() -> Findings {
    use ResourceType::*;
    use Status::*;
    let alex = || {
        holder(
            Role::Owner,
            "11111111-2222-4333-8444-555555555555",
            "Alex Wilber",
            "alex@contoso.com",
        )
    };
    let nestor = |role| {
        holder(
            role,
            "43ab1ab1-16d6-4711-84c7-f75b8bb73bc1",
            "Nestor Wilke",
            "nestor@contoso.com",
        )
    };
    let mut attributed = verdict(
        PROD,
        CanvasApp,
        "c0ffee00-0000-4000-8000-000000000001",
        "Quote Builder",
        Attributed,
        &[Reason::PalIdentityInRole],
        vec![],
        None,
    );
    attributed.partner_id = Some("4412345".into());
    Findings {
        tenant_id: TENANT.into(),
        collected_at: Some(Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()),
        verdicts: vec![
            verdict(
                DEFAULT,
                CanvasApp,
                "bc28a619-14c6-451a-bdde-0ceb42e3ead6",
                "Visitor Sign-in",
                Unattributed,
                &[Reason::NoPalIdentityInRole],
                vec![alex()],
                Some(ResourceFacts {
                    app_type: Some("ClassicCanvasApp".into()),
                    alm_mode: Some("Environment".into()),
                    ..ResourceFacts::default()
                }),
            ),
            verdict(
                DEFAULT,
                Flow,
                "2ac6ecd1-da76-4ab5-a7d0-13a113c00165",
                "Daily sales digest",
                Unattributed,
                &[Reason::NoPalIdentityInRole],
                vec![nestor(Role::Creator)],
                Some(ResourceFacts {
                    solution_aware: Some(false),
                    ..ResourceFacts::default()
                }),
            ),
            attributed,
            verdict(
                PROD,
                CanvasApp,
                "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                "Evil'; Remove-Item -Recurse C:\\ #\n$(whoami)",
                Unattributed,
                &[Reason::IdentityDisabled],
                vec![alex()],
                Some(dataverse()),
            ),
            verdict(
                PROD,
                Flow,
                "4a2ea1e2-c6ff-4e8a-9e42-8f2df0dd9f3b",
                "Purchase order sync",
                Unattributed,
                &[Reason::PalIdentityLacksRole],
                vec![nestor(Role::Creator)],
                Some(ResourceFacts {
                    dataverse_record_id: Some("e8732acd-e590-4561-92cc-8b2b509f12a2".into()),
                    is_managed: Some(false),
                    solution_aware: Some(true),
                    ..dataverse()
                }),
            ),
            verdict(
                PROD,
                Flow,
                "f1028bc0-76e7-46ff-ad10-c636c7c62934",
                "Weekly pipeline export",
                Unattributed,
                &[Reason::GroupPrincipal, Reason::NoPalIdentityInRole],
                vec![nestor(Role::Creator)],
                Some(ResourceFacts {
                    solution_aware: Some(false),
                    ..dataverse()
                }),
            ),
            verdict(
                PROD,
                Flow,
                "7f155de8-086e-41c8-80b4-bf0fcced48d0",
                "Inspection report archiving",
                Unattributed,
                &[Reason::PalLinkOtherTenant],
                vec![],
                None,
            ),
            verdict(
                PROD,
                ModelDrivenApp,
                "aaaa0000-bb11-4222-83cc-444444dddddd",
                "Account Planning",
                Unattributed,
                &[Reason::NoPalIdentityInRole],
                vec![nestor(Role::Creator)],
                Some(ResourceFacts {
                    is_managed: Some(true),
                    solution_id: Some("f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9".into()),
                    unique_name: Some("contoso_AccountPlanning".into()),
                    ..dataverse()
                }),
            ),
            verdict(
                PROD,
                Bot,
                "dddd3333-eeee-4fff-8000-111122223333",
                "Sales Enablement Copilot",
                Unknown,
                &[Reason::OwnerUnresolved],
                vec![Holder {
                    role: Role::Creator,
                    principal_id: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6".into(),
                    principal_type: PrincipalType::Unknown,
                    display_name: None,
                    upn: None,
                }],
                Some(ResourceFacts {
                    is_managed: Some(false),
                    unique_name: Some("cr5e3_salesEnablement".into()),
                    ..dataverse()
                }),
            ),
            verdict(
                WORKSPACE,
                PowerbiDataset,
                "8ce96c50-85a0-4db3-85c6-7ccc3ed46523",
                "Budget vs Actuals",
                Unattributed,
                &[Reason::NoPalIdentityInRole],
                vec![Holder {
                    role: Role::Publisher,
                    principal_id: "nestor@contoso.com".into(),
                    principal_type: PrincipalType::User,
                    display_name: Some("Nestor Wilke".into()),
                    upn: Some("nestor@contoso.com".into()),
                }],
                None,
            ),
            verdict(
                PERSONAL,
                PowerbiDataset,
                "e7e8a355-0000-4000-8000-00000000beef",
                "Sales Pipeline (draft)",
                Unattributed,
                &[Reason::NonProductionEnvironment],
                vec![],
                None,
            ),
            verdict(
                ("e4d5c6b7-a8f9-4e0d-9c1b-2a3f4e5d6c7b", "", ""),
                CanvasApp,
                "12121212-3434-4565-8787-909090909090",
                "Orphaned Tracker",
                Unknown,
                &[Reason::EnvironmentUnknown],
                vec![],
                None,
            ),
        ],
        roster: roster(),
        ..Findings::default()
    }
}

fn render(plan: &FixPlan, shell: Shell) -> String {
    let mut out = Vec::new();
    fix_plan::render(plan, shell, &mut out).expect("rendering into a Vec cannot fail");
    String::from_utf8(out).expect("plans are UTF-8")
}

fn plan_for(choice: TargetChoice<'_>) -> FixPlan {
    fix_plan::build(&findings(), choice).expect("the target is on the roster")
}

fn item<'a>(plan: &'a FixPlan, name: &str) -> &'a PlanItem {
    plan.items
        .iter()
        .find(|i| i.resource_name.starts_with(name))
        .unwrap_or_else(|| panic!("no item for {name}"))
}

#[test]
fn service_account_target_powershell() {
    let plan = plan_for(TargetChoice::Default);
    insta::assert_snapshot!(render(&plan, Shell::PowerShell));
}

#[test]
fn service_account_target_bash() {
    let plan = plan_for(TargetChoice::Default);
    insta::assert_snapshot!(render(&plan, Shell::Bash));
}

#[test]
fn service_principal_target_powershell() {
    let plan = plan_for(TargetChoice::Named(SP_APP));
    insta::assert_snapshot!(render(&plan, Shell::PowerShell));
}

#[test]
fn service_principal_target_bash() {
    let plan = plan_for(TargetChoice::Named(SP_APP));
    insta::assert_snapshot!(render(&plan, Shell::Bash));
}

#[test]
fn every_resource_not_attributed_gets_exactly_one_item() {
    let f = findings();
    let plan = fix_plan::build(&f, TargetChoice::Default).unwrap();
    let expected: Vec<&str> = f
        .verdicts
        .iter()
        .filter(|v| v.status != Status::Attributed)
        .map(|v| v.resource_id.as_str())
        .collect();
    let got: Vec<&str> = plan.items.iter().map(|i| i.resource_id.as_str()).collect();
    assert_eq!(got, expected);
}

#[test]
fn default_target_is_the_first_service_account_then_the_first_service_principal() {
    let plan = plan_for(TargetChoice::Default);
    assert_eq!(plan.target.line, 4);
    assert_eq!(plan.target.source, TargetSource::DefaultServiceAccount);

    let mut f = findings();
    f.roster.identities.retain(|e| e.line != 4);
    let plan = fix_plan::build(&f, TargetChoice::Default).unwrap();
    assert_eq!(plan.target.line, 3);
    assert_eq!(plan.target.source, TargetSource::DefaultServicePrincipal);

    f.roster.identities.retain(|e| e.line != 3);
    assert_eq!(
        fix_plan::build(&f, TargetChoice::Default).unwrap_err(),
        FixPlanError::NoDefaultTarget {
            tenant_id: TENANT.into()
        }
    );
}

#[test]
fn named_targets_match_object_id_app_id_or_upn() {
    for name in [
        SVC_OID,
        "SVC-NORTHWIND@contoso.onmicrosoft.com",
        "pat@northwind.com",
        SP_APP,
    ] {
        let plan = plan_for(TargetChoice::Named(name));
        assert_eq!(plan.target.source, TargetSource::Named, "{name}");
    }
    let err = fix_plan::build(&findings(), TargetChoice::Named("nobody@contoso.com")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`nobody@contoso.com` is not on the roster for tenant 7c1f0e2a-4b7d-4c8e-9a51-3f2d6b8e0c11: name an object id, app id or UPN of an identities-file row for this tenant"
    );

    let mut f = findings();
    let mut twin = f.roster.identities[1].clone();
    twin.line = 9;
    f.roster.identities.push(twin);
    assert!(matches!(
        fix_plan::build(&f, TargetChoice::Named(SP_APP)).unwrap_err(),
        FixPlanError::AmbiguousTarget { count: 2, .. }
    ));
}

#[test]
fn credit_grades_follow_the_documentation() {
    let user = plan_for(TargetChoice::Default);
    let sp = plan_for(TargetChoice::Named(SP_OID));
    let grades = |plan: &FixPlan, name: &str| -> Vec<(ChangePath, Credit)> {
        item(plan, name)
            .paths
            .iter()
            .map(|p| (p.path, p.credit))
            .collect()
    };
    use ChangePath::*;
    use Credit::*;
    // Canvas app: owner and co-owner both earn it; a service principal gets no GUI or
    // PowerShell path.
    assert_eq!(
        grades(&user, "Visitor Sign-in"),
        [
            (Gui, Certain),
            (Powershell, Certain),
            (Powershell, Certain),
            (PpCli, Certain),
            (Devops, Certain)
        ]
    );
    assert_eq!(
        grades(&sp, "Visitor Sign-in"),
        [(PpCli, Certain), (Devops, Certain)]
    );
    // A solution-aware flow: in-place owner changes only possibly, the import certainly.
    assert_eq!(
        grades(&user, "Purchase order sync"),
        [
            (Gui, Possible),
            (Powershell, Possible),
            (PpCli, Certain),
            (Devops, Certain)
        ]
    );
    // A flow outside any solution in an environment without Dataverse: only a new flow.
    assert_eq!(grades(&user, "Daily sales digest"), [(Gui, Certain)]);
    assert!(grades(&sp, "Daily sales digest").is_empty());
    // Bots: every grade is only possible (the PAL page lists no bot row).
    assert!(
        item(&user, "Sales Enablement")
            .paths
            .iter()
            .all(|p| p.credit == Possible)
    );
    // Datasets: re-publish is certain, take-over only possible.
    assert_eq!(
        grades(&user, "Budget vs Actuals"),
        [(Powershell, Certain), (Powershell, Possible)]
    );
    // Blocked items offer nothing.
    assert!(item(&user, "Sales Pipeline (draft)").paths.is_empty());
    assert!(item(&user, "Orphaned Tracker").blocker.is_some());
}

#[test]
fn set_admin_flow_owner_role_is_never_offered_as_a_fix() {
    let plan = plan_for(TargetChoice::Default);
    for i in plan
        .items
        .iter()
        .filter(|i| i.resource_type == ResourceType::Flow && i.blocker.is_none())
    {
        assert!(
            i.not_offered
                .iter()
                .any(|n| n.what.as_deref() == Some("Set-AdminFlowOwnerRole")),
            "{}",
            i.resource_name
        );
        for p in &i.paths {
            for s in &p.steps {
                if let Step::Command(c) = s {
                    let text = c.render(Shell::PowerShell).join("\n");
                    // It may only appear as the preparation of a copy, which is a new
                    // flow: the path's credit comes from the copy, not the co-owner.
                    if text.contains("Set-AdminFlowOwnerRole") {
                        assert!(p.title.starts_with("Make a new flow"), "{}", p.title);
                    }
                }
            }
        }
    }
}

#[test]
fn unknown_solution_awareness_is_said_never_guessed() {
    let plan = plan_for(TargetChoice::Default);
    let i = item(&plan, "Inspection report archiving");
    assert!(i.situation[0].starts_with("solution-awareness unknown"));
    assert!(
        i.paths
            .iter()
            .any(|p| p.changes.starts_with("If the flow is solution-aware"))
    );
    assert!(
        i.paths
            .iter()
            .any(|p| p.changes.starts_with("If the flow is not solution-aware"))
    );
}

#[test]
fn hostile_names_stay_inside_comments_and_quotes() {
    for shell in [Shell::PowerShell, Shell::Bash] {
        for choice in [TargetChoice::Default, TargetChoice::Named(SP_APP)] {
            let text = render(&plan_for(choice), shell);
            for line in text.lines() {
                if line.contains("whoami") || line.contains("Remove-Item") {
                    assert!(
                        line.starts_with('#')
                            || line.contains("'Evil''; Remove-Item")
                            || line.contains("'Evil'\\''; Remove-Item")
                            || line.contains("Evil%27%3B%20Remove-Item"),
                        "{shell}: unquoted name in {line:?}"
                    );
                }
            }
            assert!(
                !text.contains("\n$(whoami)"),
                "{shell}: a line break escaped"
            );
        }
    }
}

#[test]
fn the_file_refuses_to_run_whole() {
    let plan = plan_for(TargetChoice::Default);
    let ps = render(&plan, Shell::PowerShell);
    let first_code = ps.lines().find(|l| !l.starts_with('#')).unwrap();
    assert!(first_code.starts_with("throw "), "{first_code}");
    let sh = render(&plan, Shell::Bash);
    let code: Vec<&str> = sh.lines().filter(|l| !l.starts_with('#')).take(2).collect();
    assert!(
        code[0].starts_with("echo ") && code[1] == "exit 1",
        "{code:?}"
    );
}

#[test]
fn shells_come_from_the_file_name_or_a_word() {
    use std::path::Path;
    assert_eq!(
        Shell::from_extension(Path::new("plan.PS1")),
        Some(Shell::PowerShell)
    );
    assert_eq!(
        Shell::from_extension(Path::new("plan.sh")),
        Some(Shell::Bash)
    );
    assert_eq!(Shell::from_extension(Path::new("plan.txt")), None);
    assert_eq!(Shell::parse("Bash"), Some(Shell::Bash));
    assert_eq!(Shell::parse("cmd"), None);
}

#[test]
fn a_plan_without_items_says_so() {
    let mut f = findings();
    f.verdicts.retain(|v| v.status == Status::Attributed);
    let plan = fix_plan::build(&f, TargetChoice::Default).unwrap();
    let text = render(&plan, Shell::Bash);
    assert!(text.contains("Every resource in the snapshot is attributed"));
}

/// The summary a streamed audit of `findings` hands the reports, its not-attributed
/// list holding at most `held` verdicts in memory and the rest in its temporary file.
fn summary_holding(findings: &Findings, held: usize) -> palaudit_model::AuditSummary {
    let mut b = palaudit_model::SummaryBuilder::holding(held);
    for v in &findings.verdicts {
        b.add(v);
    }
    b.finish(findings.roster.clone())
        .expect("the temporary file is writable")
}

#[test]
fn a_plan_streamed_from_a_spilled_summary_is_the_plan_built_from_the_findings() {
    let f = findings();
    let summary = summary_holding(&f, 1);
    assert!(!summary.not_attributed.is_held(), "the list spilled");
    let choice = TargetChoice::Default;
    let held = fix_plan::build(&f, choice).expect("the target is on the roster");
    let streamed =
        fix_plan::streamed(&f.header(), &summary, choice).expect("the target is on the roster");
    for shell in [Shell::PowerShell, Shell::Bash] {
        let mut out = Vec::new();
        fix_plan::render(&streamed, shell, &mut out).expect("rendering into a Vec cannot fail");
        assert_eq!(String::from_utf8(out).unwrap(), render(&held, shell));
    }
}

#[test]
fn the_terminal_reads_a_spilled_summary_as_it_reads_a_held_one() {
    let f = findings();
    let terminal = |summary: &palaudit_model::AuditSummary| {
        let mut out = Vec::new();
        palaudit_report::terminal_summary(&f.header(), summary, &mut out, &Default::default())
            .expect("writing into a Vec cannot fail");
        String::from_utf8(out).unwrap()
    };
    let held = terminal(&f.summary());
    assert!(held.contains("Orphaned Tracker"), "{held}");
    assert_eq!(terminal(&summary_holding(&f, 1)), held);
}

#[test]
fn the_terminal_lists_the_first_thousand_in_its_order_and_says_where_the_rest_are() {
    let mut f = findings();
    let template = f
        .verdicts
        .iter()
        .find(|v| v.status == Status::Unattributed)
        .expect("the findings have an unattributed verdict")
        .clone();
    // Names whose case-folded order differs from their byte order, in reverse.
    f.verdicts = (0..2_500)
        .rev()
        .map(|i| Verdict {
            resource_id: format!("id-{i:04}"),
            resource_name: if i % 2 == 0 {
                format!("app {i:04}")
            } else {
                format!("App {i:04}")
            },
            ..template.clone()
        })
        .collect();
    let mut out = Vec::new();
    palaudit_report::terminal_summary(
        &f.header(),
        &summary_holding(&f, 100),
        &mut out,
        &Default::default(),
    )
    .expect("writing into a Vec cannot fail");
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Not attributed (2500)"), "{text}");
    assert!(text.contains("The first 1000 of 2500 are listed"), "{text}");
    let listed: Vec<usize> = text
        .lines()
        .filter_map(|l| {
            // `app 0000` and `App 0001`; the type column says `Canvas app ` too.
            let at = l.find("pp 0")?;
            l.get(at + 3..at + 7)?.parse().ok()
        })
        .collect();
    assert_eq!(listed, (0..1_000).collect::<Vec<_>>());
}

#[test]
fn a_plan_of_many_runs_is_written_in_order_and_numbered_once() {
    let mut f = findings();
    let templates: Vec<Verdict> = f
        .verdicts
        .iter()
        .filter(|v| v.status != Status::Attributed)
        .cloned()
        .collect();
    // More than two runs of items built and rendered in parallel, and a part run.
    let n = 2 * palaudit_model::verdict_list::CHUNK + 77;
    f.verdicts = (0..n)
        .map(|i| Verdict {
            resource_id: format!("id-{i:05}"),
            resource_name: format!("Resource {i:05}"),
            ..templates[i % templates.len()].clone()
        })
        .collect();
    let choice = TargetChoice::Default;
    let held = fix_plan::build(&f, choice).expect("the target is on the roster");
    assert_eq!(held.items.len(), n);
    let text = render(&held, Shell::PowerShell);
    // Every item's heading, `# 12/4173 Canvas app "Resource 00011"`, in verdict order.
    let headings: Vec<(usize, usize, usize)> = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("# ")?;
            let (number, rest) = rest.split_once('/')?;
            let (total, rest) = rest.split_once(' ')?;
            let name = rest.split_once("\"Resource ")?.1.strip_suffix('"')?;
            Some((
                number.parse().ok()?,
                total.parse().ok()?,
                name.parse().ok()?,
            ))
        })
        .collect();
    let expected: Vec<(usize, usize, usize)> = (0..n).map(|i| (i + 1, n, i)).collect();
    assert_eq!(headings, expected);
    // Streamed from a summary whose list spilled, item for item the same file.
    let summary = summary_holding(&f, 100);
    let streamed =
        fix_plan::streamed(&f.header(), &summary, choice).expect("the target is on the roster");
    let mut out = Vec::new();
    fix_plan::render(&streamed, Shell::PowerShell, &mut out).expect("rendering into a Vec");
    assert!(
        String::from_utf8(out).unwrap() == text,
        "streamed plan differs"
    );
    // Rendered from inside a thread pool of one thread, window after window.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut out = Vec::new();
    pool.install(|| fix_plan::render(&streamed, Shell::PowerShell, &mut out))
        .expect("rendering into a Vec");
    assert!(
        String::from_utf8(out).unwrap() == text,
        "plan rendered in the pool differs"
    );
}
