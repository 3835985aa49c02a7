//! The one canned set of findings every report format is rendered from.
//!
//! Hand-built to exercise each format: all five resource types, all three statuses,
//! Production, Default, Sandbox and a Power BI workspace, an environment missing from
//! the snapshot, a two-partner latest-partner verdict (and a tie broken by partner id),
//! an unknown verdict, names that need CSV-injection and markdown escaping, a unicode
//! name, attributed verdicts with and without leaver risk, a roster with every identity
//! health and every PAL link state, and a variant with collection errors.

#![allow(dead_code)] // each test binary uses a different part of this module

use chrono::{DateTime, TimeZone, Utc};
use palaudit_model::{
    AccountKind, Activity, Candidate, ChangePath, Evidence, Findings, IdentityHealth, LinkState,
    OtherTenants, PrincipalKind, Reason, ResourceType, Role, RosterEntry, RosterFindings, Status,
    TypeGuidance, Verdict,
};
use std::collections::BTreeMap;

pub const TENANT: &str = "7c1f0e2a-4b7d-4c8e-9a51-3f2d6b8e0c11";
/// Our partner (Northwind Consulting).
pub const NORTHWIND: &str = "4412345";
/// Another partner that also worked in the tenant.
pub const FABRIKAM: &str = "5598765";

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
const SANDBOX: (&str, &str, &str) = (
    "3b9e7c51-2d4a-4f6b-8e1c-0a9b8c7d6e5f",
    "Field Service UAT",
    "Sandbox",
);
const WORKSPACE: (&str, &str, &str) = (
    "a7d3c2b1-9e8f-4a6b-b5c4-d3e2f1a0b9c8",
    "Finance Reporting",
    "PowerBIWorkspace",
);
/// An environment the snapshot does not hold (`environment_unknown`): the rules crate
/// leaves its name and type empty.
const MISSING: (&str, &str, &str) = ("e4d5c6b7-a8f9-4e0d-9c1b-2a3f4e5d6c7b", "", "");

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn paths(t: ResourceType) -> (Vec<ChangePath>, Vec<ChangePath>) {
    use ChangePath::*;
    // Cell for cell from rules/<type>.toml.
    match t {
        ResourceType::CanvasApp => (vec![Gui, Powershell, PpCli, Devops], vec![PpCli, Devops]),
        ResourceType::Flow => (
            vec![Gui, Powershell, PpCli, Devops],
            vec![Gui, Powershell, PpCli, Devops],
        ),
        ResourceType::ModelDrivenApp | ResourceType::Bot => {
            (vec![PpCli, Devops], vec![PpCli, Devops])
        }
        ResourceType::PowerbiDataset => (vec![Powershell], vec![Powershell]),
    }
}

fn verdict(
    env: (&str, &str, &str),
    resource_type: ResourceType,
    resource_id: &str,
    resource_name: &str,
    status: Status,
    reasons: &[Reason],
) -> Verdict {
    let (change_paths_user, change_paths_service_principal) = paths(resource_type);
    Verdict {
        environment_id: env.0.into(),
        environment_name: env.1.into(),
        environment_type: env.2.into(),
        resource_type,
        resource_id: resource_id.to_owned(),
        resource_name: resource_name.to_owned(),
        status,
        partner_id: None,
        attributed_principal_id: None,
        attributed_principal_name: None,
        attributing_role: None,
        leaver_risk: false,
        reasons: reasons.to_vec(),
        change_paths_user: change_paths_user.into(),
        change_paths_service_principal: change_paths_service_principal.into(),
        evidence: Evidence::default(),
        facts: None,
        suppression: None,
    }
}

/// Credits `v`; Pat is a personal account (leaver risk), the deployment SP is not.
fn credited(mut v: Verdict, partner: &str, principal: &str, name: &str, role: Role) -> Verdict {
    v.leaver_risk = principal != DEPLOY_SP.0;
    v.partner_id = Some(partner.to_owned());
    v.attributed_principal_id = Some(principal.to_owned());
    v.attributed_principal_name = Some(name.to_owned());
    v.attributing_role = Some(role);
    v
}

#[allow(clippy::too_many_arguments)]
fn candidate(
    partner: &str,
    principal: &str,
    name: Option<&str>,
    upn: Option<&str>,
    role: Role,
    matched_by: &str,
    disqualified_by: Option<Reason>,
    activity: &[(&str, DateTime<Utc>)],
) -> Candidate {
    Candidate {
        partner_id: partner.to_owned(),
        principal_id: principal.to_owned(),
        display_name: name.map(str::to_owned),
        upn: upn.map(str::to_owned),
        role,
        matched_by: matched_by.to_owned(),
        qualifies: disqualified_by.is_none(),
        disqualified_by,
        activity: activity
            .iter()
            .map(|(source, at)| Activity {
                source: (*source).to_owned(),
                at: *at,
            })
            .collect(),
    }
}

const PAT: (&str, &str, &str) = (
    "5b2c8e41-7a3d-4f9e-b6c1-d0e9f8a7b6c5",
    "Pat Northwind",
    "pat_northwind.com#EXT#@contoso.onmicrosoft.com",
);
const SAM: (&str, &str, &str) = (
    "c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f",
    "Sam Fabrikam",
    "sam_fabrikam.com#EXT#@contoso.onmicrosoft.com",
);
/// Northwind's deployment service principal (Entra object id; app id matched).
const DEPLOY_SP: (&str, &str) = ("8f7e6d5c-4b3a-4291-8e7f-6d5c4b3a2918", "northwind-deploy");

fn guidance() -> BTreeMap<ResourceType, TypeGuidance> {
    let g = |product: &str, roles: &[Role], limitations: &[&str]| TypeGuidance {
        product: product.to_owned(),
        attributing_roles: roles.to_vec(),
        limitations: limitations.iter().map(|l| (*l).to_owned()).collect(),
    };
    BTreeMap::from([
        (
            ResourceType::CanvasApp,
            g(
                "Power Apps canvas app",
                &[Role::Owner, Role::CoOwner],
                &[
                    "Make the PAL-linked user or service account the owner or a co-owner of the app.",
                    "The owner itself can only be changed with the PowerShell cmdlet Set-AdminPowerAppOwner; adding a co-owner is enough for credit.",
                ],
            ),
        ),
        (
            ResourceType::ModelDrivenApp,
            g(
                "Power Apps model-driven app",
                &[Role::Creator],
                &[
                    "There is no co-owner option, and the owner cannot be changed in the GUI or directly with PowerShell.",
                    "Re-import the managed solution with the PAL-linked identity (Power Platform CLI or DevOps build tools).",
                ],
            ),
        ),
        (
            ResourceType::Flow,
            g(
                "Power Automate cloud flow",
                &[Role::Creator],
                &[
                    "Make sure the flow's creator is PAL-linked.",
                    "Ownership can be changed in the web GUI or with the PowerShell cmdlet Set-AdminFlowOwnerRole.",
                ],
            ),
        ),
        (
            ResourceType::PowerbiDataset,
            g(
                "Power BI dataset",
                &[Role::Publisher],
                &[
                    "Publishing to the service sets the owner: make sure the identity that publishes is PAL-linked.",
                    "Solutions are not available for Power BI.",
                ],
            ),
        ),
        (
            ResourceType::Bot,
            g(
                "Copilot Studio bot (Power Virtual Agents)",
                &[Role::Creator],
                &[
                    "Make sure the bot's creator is PAL-linked.",
                    "The owner cannot be changed in the GUI or with a PowerShell command.",
                ],
            ),
        ),
    ])
}

#[allow(clippy::too_many_arguments)]
fn roster_entry(
    line: u64,
    principal_type: PrincipalKind,
    account_kind: AccountKind,
    name: Option<&str>,
    upn: Option<&str>,
    object_id: Option<&str>,
    app_id: Option<&str>,
    health: IdentityHealth,
    link_state: LinkState,
    rbac_assignments: Option<u32>,
    credited_resources: u64,
) -> RosterEntry {
    RosterEntry {
        line,
        partner_id: NORTHWIND.to_owned(),
        principal_type,
        account_kind,
        display_name: name.map(str::to_owned),
        upn: upn.map(str::to_owned),
        object_id: object_id.map(str::to_owned),
        app_id: app_id.map(str::to_owned),
        health,
        link_state,
        rbac_assignments,
        credited_resources,
    }
}

/// Northwind's roster for the tenant: every health and every link state once at least.
fn roster() -> RosterFindings {
    use AccountKind::*;
    use IdentityHealth::*;
    use PrincipalKind::*;
    RosterFindings {
        identities: vec![
            roster_entry(
                2,
                User,
                Personal,
                Some(PAT.1),
                Some(PAT.2),
                Some(PAT.0),
                None,
                Ok,
                LinkState::Linked,
                Some(2),
                4,
            ),
            roster_entry(
                3,
                ServicePrincipal,
                ServiceAccount,
                Some("Northwind deploy"),
                None,
                Some(DEPLOY_SP.0),
                Some("0d1c2b3a-4f5e-4a6b-9c7d-8e9f0a1b2c3d"),
                Ok,
                LinkState::Linked,
                Some(1),
                2,
            ),
            // The Power BI publisher whose health is unknown in the verdicts: Graph
            // never resolved it.
            roster_entry(
                4,
                User,
                Personal,
                None,
                Some("jo@northwind.com"),
                None,
                None,
                NotSeen,
                LinkState::Unverified,
                None,
                0,
            ),
            roster_entry(
                5,
                User,
                ServiceAccount,
                Some("svc-northwind | *delivery*"),
                Some("svc-northwind@contoso.onmicrosoft.com"),
                None,
                None,
                Disabled,
                LinkState::CannotCheck,
                None,
                0,
            ),
            roster_entry(
                6,
                User,
                Personal,
                Some("Morgan (left Northwind)"),
                Some("morgan_northwind.com#EXT#@contoso.onmicrosoft.com"),
                Some("2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"),
                None,
                Deleted,
                LinkState::NotLinked,
                Some(0),
                0,
            ),
            roster_entry(
                7,
                User,
                Personal,
                Some("Riley Northwind"),
                Some("riley_northwind.com#EXT#@contoso.onmicrosoft.com"),
                None,
                None,
                InvitationPending,
                LinkState::OtherPartner,
                Some(0),
                0,
            ),
            roster_entry(
                8,
                User,
                Personal,
                None,
                None,
                Some("6a5b4c3d-2e1f-4a0b-8c9d-0e1f2a3b4c5d"),
                None,
                Unknown,
                LinkState::Unverified,
                None,
                0,
            ),
        ],
        other_tenants: OtherTenants {
            identities: 3,
            tenants: 2,
        },
    }
}

/// The canned findings: 16 resources, 6 attributed (4 at leaver risk), 7 unattributed,
/// 3 unknown, and a 7-identity roster.
pub fn findings() -> Findings {
    use ResourceType::*;
    use Status::*;
    let verdicts = vec![
        // --- Contoso Sales (Production) ---
        credited(
            verdict(
                PROD,
                CanvasApp,
                "1a2b3c4d-0001-4000-8000-000000000001",
                "Sales Pipeline",
                Attributed,
                &[Reason::PalIdentityInRole],
            ),
            NORTHWIND,
            PAT.0,
            PAT.1,
            Role::Owner,
        ),
        {
            // Two partners co-own the app; Northwind edited it last and wins.
            let mut v = credited(
                verdict(
                    PROD,
                    CanvasApp,
                    "1a2b3c4d-0002-4000-8000-000000000002",
                    "Field Inspections",
                    Attributed,
                    &[Reason::PalIdentityInRole, Reason::LatestPartnerWins],
                ),
                NORTHWIND,
                PAT.0,
                PAT.1,
                Role::CoOwner,
            );
            v.evidence.candidates = vec![
                candidate(
                    FABRIKAM,
                    SAM.0,
                    Some(SAM.1),
                    Some(SAM.2),
                    Role::Owner,
                    "object_id",
                    None,
                    &[
                        ("createdTime", at(2024, 11, 4, 9, 15)),
                        ("assignment.createdOn", at(2024, 11, 4, 9, 15)),
                    ],
                ),
                candidate(
                    NORTHWIND,
                    PAT.0,
                    Some(PAT.1),
                    Some(PAT.2),
                    Role::CoOwner,
                    "upn",
                    None,
                    &[
                        ("lastModifiedTime", at(2025, 5, 20, 14, 3)),
                        ("assignment.createdOn", at(2025, 2, 3, 10, 0)),
                    ],
                ),
            ];
            v
        },
        // A name crafted to run as a formula when the CSV is opened in Excel.
        verdict(
            PROD,
            CanvasApp,
            "1a2b3c4d-0003-4000-8000-000000000003",
            "=HYPERLINK(\"http://evil.example\",\"Open\")",
            Unattributed,
            &[Reason::NoPalIdentityInRole],
        ),
        {
            let mut v = verdict(
                PROD,
                CanvasApp,
                "1a2b3c4d-0004-4000-8000-000000000004",
                "Shared Budget Tracker",
                Unattributed,
                &[Reason::GroupPrincipal, Reason::PalIdentityLacksRole],
            );
            v.evidence.candidates = vec![candidate(
                NORTHWIND,
                PAT.0,
                Some(PAT.1),
                Some(PAT.2),
                Role::Viewer,
                "object_id",
                Some(Reason::PalIdentityLacksRole),
                &[],
            )];
            v
        },
        credited(
            verdict(
                PROD,
                ModelDrivenApp,
                "2b3c4d5e-0001-4000-8000-000000000011",
                "Case Management",
                Attributed,
                &[Reason::PalIdentityInRole],
            ),
            NORTHWIND,
            DEPLOY_SP.0,
            DEPLOY_SP.1,
            Role::Creator,
        ),
        verdict(
            PROD,
            Flow,
            "3c4d5e6f-0001-4000-8000-000000000021",
            "Invoice_approval *v2* | [draft] <beta>",
            Unattributed,
            &[Reason::PalIdentityLacksRole],
        ),
        credited(
            verdict(
                PROD,
                Bot,
                "4d5e6f70-0001-4000-8000-000000000031",
                "Service Desk Copilot",
                Attributed,
                &[Reason::PalIdentityInRole],
            ),
            NORTHWIND,
            DEPLOY_SP.0,
            DEPLOY_SP.1,
            Role::Creator,
        ),
        verdict(
            PROD,
            Bot,
            "4d5e6f70-0002-4000-8000-000000000032",
            "Customer Help Bot",
            Unknown,
            &[Reason::OwnerUnresolved],
        ),
        // --- Contoso (default) (Default) ---
        verdict(
            DEFAULT,
            CanvasApp,
            "1a2b3c4d-0005-4000-8000-000000000005",
            "Team Tracker",
            Unattributed,
            &[Reason::PalLinkOtherTenant],
        ),
        {
            let mut v = verdict(
                DEFAULT,
                Flow,
                "3c4d5e6f-0002-4000-8000-000000000022",
                "Daily export to SharePoint",
                Unattributed,
                &[Reason::IdentityDisabled],
            );
            v.evidence.candidates = vec![candidate(
                NORTHWIND,
                PAT.0,
                Some(PAT.1),
                Some(PAT.2),
                Role::Creator,
                "object_id",
                Some(Reason::IdentityDisabled),
                &[("createdTime", at(2024, 9, 12, 16, 40))],
            )];
            v
        },
        // --- Field Service UAT (Sandbox) ---
        {
            let mut v = verdict(
                SANDBOX,
                CanvasApp,
                "1a2b3c4d-0006-4000-8000-000000000006",
                "Inspection App (UAT)",
                Unattributed,
                &[Reason::NonProductionEnvironment],
            );
            v.evidence.would_be_partner_id = Some(NORTHWIND.to_owned());
            v.evidence.candidates = vec![candidate(
                NORTHWIND,
                PAT.0,
                Some(PAT.1),
                Some(PAT.2),
                Role::Owner,
                "object_id",
                None,
                &[("createdTime", at(2025, 4, 1, 8, 0))],
            )];
            v
        },
        verdict(
            SANDBOX,
            ModelDrivenApp,
            "2b3c4d5e-0002-4000-8000-000000000012",
            "Asset Register",
            Unattributed,
            &[
                Reason::NoPalIdentityInRole,
                Reason::NonProductionEnvironment,
            ],
        ),
        // --- Finance Reporting (Power BI workspace) ---
        credited(
            verdict(
                WORKSPACE,
                PowerbiDataset,
                "5e6f7081-0001-4000-8000-000000000041",
                "Revenue Q2",
                Attributed,
                &[Reason::PalIdentityInRole],
            ),
            NORTHWIND,
            PAT.2,
            PAT.1,
            Role::Publisher,
        ),
        {
            // Both partners' publishers show the same latest activity: the lower
            // partner id wins so the result is repeatable.
            let mut v = credited(
                verdict(
                    WORKSPACE,
                    PowerbiDataset,
                    "5e6f7081-0002-4000-8000-000000000042",
                    "Margin Analysis",
                    Attributed,
                    &[
                        Reason::PalIdentityInRole,
                        Reason::LatestPartnerWins,
                        Reason::TieBrokenByPartnerId,
                    ],
                ),
                NORTHWIND,
                PAT.2,
                PAT.1,
                Role::Publisher,
            );
            v.evidence.candidates = vec![
                candidate(
                    NORTHWIND,
                    PAT.2,
                    Some(PAT.1),
                    Some(PAT.2),
                    Role::Publisher,
                    "upn",
                    None,
                    &[("lastPublishTime", at(2025, 5, 28, 17, 30))],
                ),
                candidate(
                    FABRIKAM,
                    SAM.2,
                    None,
                    Some(SAM.2),
                    Role::Publisher,
                    "upn",
                    None,
                    &[("lastPublishTime", at(2025, 5, 28, 17, 30))],
                ),
            ];
            v
        },
        {
            let mut v = verdict(
                WORKSPACE,
                PowerbiDataset,
                "5e6f7081-0003-4000-8000-000000000043",
                "Pipeline – 販売 📊",
                Unknown,
                &[Reason::IdentityHealthUnknown],
            );
            v.evidence.candidates = vec![candidate(
                NORTHWIND,
                "jo@northwind.com",
                None,
                Some("jo@northwind.com"),
                Role::Publisher,
                "upn",
                Some(Reason::IdentityHealthUnknown),
                &[("lastPublishTime", at(2025, 3, 14, 11, 5))],
            )];
            v
        },
        // --- an environment missing from the snapshot ---
        verdict(
            MISSING,
            Flow,
            "3c4d5e6f-0003-4000-8000-000000000023",
            "Nightly sync",
            Unknown,
            &[Reason::EnvironmentUnknown],
        ),
    ];
    Findings {
        tenant_id: TENANT.to_owned(),
        collected_at: Some(at(2025, 6, 2, 8, 30)),
        collection_errors: Vec::new(),
        verdicts,
        guidance: guidance(),
        roster: roster(),
    }
}

/// The canned findings from a snapshot whose collection half-failed.
pub fn partial_findings() -> Findings {
    let mut f = findings();
    f.collection_errors = vec![
        "flows [Contoso Sales] GET https://api.flow.microsoft.com/providers/Microsoft.ProcessSimple/scopes/admin/environments/0f6a1d2e-8c3b-4e5f-a1b2-c3d4e5f60718/v2/flows -> HTTP 429: throttled after 5 retries".to_owned(),
        "powerbi_datasets [Finance Reporting]: scanner result not ready after 300 s".to_owned(),
    ];
    f
}

/// Findings with nothing in them.
pub fn empty_findings() -> Findings {
    Findings {
        tenant_id: TENANT.to_owned(),
        collected_at: Some(at(2025, 6, 2, 8, 30)),
        ..Findings::default()
    }
}
