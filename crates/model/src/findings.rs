//! Verdicts: what the audit concluded about each resource, and why.
//!
//! Findings are data, not errors. The rules crate produces them; every report renders
//! them; none of them is ever printed by this crate.

use crate::inventory::{PrincipalType, ResourceType, Role};
use crate::roster_findings::{LinkCheck, RosterFindings};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The verdict on one resource: the `status` column of the audit CSV (README "The audit
/// CSV"); these three words are an interface scripts match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Attributed,
    Unattributed,
    /// The data needed to decide is missing. Counts against coverage.
    Unknown,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Attributed, Status::Unattributed, Status::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Attributed => "attributed",
            Status::Unattributed => "unattributed",
            Status::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role that earned (or would earn) credit. Only the attributing roles appear here.
pub type AttributingRole = Role;

/// Stable reason codes. Their order here is the order they are listed in a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    PalIdentityInRole,
    LatestPartnerWins,
    TieBrokenByPartnerId,
    IdentityDeleted,
    IdentityDisabled,
    IdentityInvitationPending,
    IdentityHealthUnknown,
    PalIdentityLacksRole,
    GroupPrincipal,
    OwnerUnresolved,
    PalLinkOtherTenant,
    NoPalIdentityInRole,
    /// A canvas-app row that is a custom page of a model-driven app (`appType`
    /// `CustomCanvasPage`): a component, not an application of its own.
    CustomPageOfModelDrivenApp,
    /// A Power BI dataset of a workspace that is being removed or was deleted.
    WorkspaceNotActive,
    NonProductionEnvironment,
    EnvironmentUnknown,
}

impl Reason {
    pub const ALL: [Reason; 16] = [
        Reason::PalIdentityInRole,
        Reason::LatestPartnerWins,
        Reason::TieBrokenByPartnerId,
        Reason::IdentityDeleted,
        Reason::IdentityDisabled,
        Reason::IdentityInvitationPending,
        Reason::IdentityHealthUnknown,
        Reason::PalIdentityLacksRole,
        Reason::GroupPrincipal,
        Reason::OwnerUnresolved,
        Reason::PalLinkOtherTenant,
        Reason::NoPalIdentityInRole,
        Reason::CustomPageOfModelDrivenApp,
        Reason::WorkspaceNotActive,
        Reason::NonProductionEnvironment,
        Reason::EnvironmentUnknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PalIdentityInRole => "pal_identity_in_role",
            Reason::LatestPartnerWins => "latest_partner_wins",
            Reason::TieBrokenByPartnerId => "tie_broken_by_partner_id",
            Reason::IdentityDeleted => "identity_deleted",
            Reason::IdentityDisabled => "identity_disabled",
            Reason::IdentityInvitationPending => "identity_invitation_pending",
            Reason::IdentityHealthUnknown => "identity_health_unknown",
            Reason::PalIdentityLacksRole => "pal_identity_lacks_role",
            Reason::GroupPrincipal => "group_principal",
            Reason::OwnerUnresolved => "owner_unresolved",
            Reason::PalLinkOtherTenant => "pal_link_other_tenant",
            Reason::NoPalIdentityInRole => "no_pal_identity_in_role",
            Reason::CustomPageOfModelDrivenApp => "custom_page_of_model_driven_app",
            Reason::WorkspaceNotActive => "workspace_not_active",
            Reason::NonProductionEnvironment => "non_production_environment",
            Reason::EnvironmentUnknown => "environment_unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// One sentence a delivery lead can act on.
    pub fn explanation(self) -> &'static str {
        match self {
            Reason::PalIdentityInRole => {
                "A PAL-linked identity of the partner holds the attributing role."
            }
            Reason::LatestPartnerWins => {
                "PAL identities of several partners hold the role; the one with the latest activity wins."
            }
            Reason::TieBrokenByPartnerId => {
                "The partners' latest activity is identical; the lower partner ID wins so results are repeatable."
            }
            Reason::IdentityDeleted => {
                "The PAL identity in the role no longer exists in the customer directory; deleted identities stop attribution."
            }
            Reason::IdentityDisabled => {
                "The PAL identity in the role is disabled; disabled identities stop attribution."
            }
            Reason::IdentityInvitationPending => {
                "The PAL identity in the role is a guest whose invitation was never accepted, so it has never signed in to the customer tenant and earns no credit."
            }
            Reason::IdentityHealthUnknown => {
                "A PAL identity holds the role but the snapshot has no directory record of it, so its health cannot be checked."
            }
            Reason::PalIdentityLacksRole => {
                "A PAL identity is on the resource, but only in a role that earns no credit."
            }
            Reason::GroupPrincipal => {
                "A group holds the attributing role; credit goes to named users and service principals, not groups."
            }
            Reason::OwnerUnresolved => {
                "The holder of the attributing role is missing or cannot be resolved to an Entra identity."
            }
            Reason::PalLinkOtherTenant => {
                "The holder is on the roster, but linked in another tenant; a PAL link holds in one tenant only."
            }
            Reason::NoPalIdentityInRole => "No PAL-linked identity holds the attributing role.",
            Reason::CustomPageOfModelDrivenApp => {
                "A custom page of a model-driven app, listed with the canvas apps; it is part of its model-driven app, which is where the credit is decided, so it earns none of its own."
            }
            Reason::WorkspaceNotActive => {
                "The Power BI workspace is being removed or has been deleted; its datasets are not live work and earn no credit."
            }
            Reason::NonProductionEnvironment => {
                "The environment is not a production environment; partner programs count production work."
            }
            Reason::EnvironmentUnknown => {
                "The resource's environment is missing from the snapshot."
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A way of moving ownership, as in the rule book's compatibility tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangePath {
    Gui,
    Powershell,
    PpCli,
    Devops,
}

impl ChangePath {
    pub const ALL: [ChangePath; 4] = [
        ChangePath::Gui,
        ChangePath::Powershell,
        ChangePath::PpCli,
        ChangePath::Devops,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangePath::Gui => "gui",
            ChangePath::Powershell => "powershell",
            ChangePath::PpCli => "pp_cli",
            ChangePath::Devops => "devops",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ChangePath::Gui => "GUI",
            ChangePath::Powershell => "PowerShell",
            ChangePath::PpCli => "Power Platform CLI",
            ChangePath::Devops => "DevOps + Build Tools",
        }
    }

    /// The audit CSV's cell form (README "The audit CSV"): `;`-joined in table order, or
    /// `none`.
    pub fn join(paths: &[ChangePath]) -> String {
        if paths.is_empty() {
            return "none".to_owned();
        }
        let mut sorted = paths.to_vec();
        sorted.sort();
        sorted.dedup();
        sorted
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// One timestamped piece of activity an identity showed on a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Which API field it came from: `lastModifiedTime`, `lastPublishTime`,
    /// `createdTime`, `assignment.createdOn`.
    pub source: String,
    pub at: DateTime<Utc>,
}

/// A PAL identity found on a resource, with what palaudit made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub partner_id: String,
    /// The identity as the customer tenant knows it (Entra object id, else app id, else UPN).
    pub principal_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    pub role: Role,
    /// How the role holder matched the roster row: `object_id`, `app_id` or `upn`.
    pub matched_by: String,
    /// True when this identity could earn credit (attributing role, healthy).
    pub qualifies: bool,
    /// Why it cannot earn credit, when it cannot.
    #[serde(default)]
    pub disqualified_by: Option<Reason>,
    /// The activity compared by the latest-partner tie-break, newest first.
    #[serde(default)]
    pub activity: Vec<Activity>,
}

impl Candidate {
    /// The newest activity timestamp, if any.
    pub fn latest_activity(&self) -> Option<DateTime<Utc>> {
        self.activity.iter().map(|a| a.at).max()
    }
}

/// A principal holding the attributing role on a resource, PAL-linked or not, as the
/// snapshot resolved it: who a fix plan moves the resource away from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub role: Role,
    /// The Entra object id when the holder resolved to one, else the id the API gave
    /// (a Dataverse systemuser id, a UPN); empty when the API named nobody.
    pub principal_id: String,
    pub principal_type: PrincipalType,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
}

/// Everything palaudit weighed for one verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Every PAL identity (of this tenant) found on the resource, credited or not.
    pub candidates: Vec<Candidate>,
    /// The partner that would be credited if the environment were eligible.
    #[serde(default)]
    pub would_be_partner_id: Option<String>,
    /// Every holder of the attributing role, recorded for verdicts that are not
    /// attributed (an attributed verdict's holder is its credited candidate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<Holder>,
}

/// What the snapshot says about a resource beyond who holds which role: the facts a fix
/// plan needs to say which ownership moves exist. Every field is optional because older
/// snapshots do not record them and the APIs do not always return them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceFacts {
    /// The environment's Dataverse Web API base (`instanceApiUrl`); `None` without
    /// Dataverse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataverse_url: Option<String>,
    /// Canvas apps: the listing's `appType` (`ClassicCanvasApp`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
    /// Canvas apps: the listing's `almMode` (`Environment`, `Solution`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alm_mode: Option<String>,
    /// Flows: the Dataverse `workflow` row behind the flow (`workflowEntityId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataverse_record_id: Option<String>,
    /// Whether the resource came in through a managed solution (`isManaged`,
    /// `ismanaged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_managed: Option<bool>,
    /// Model-driven apps and bots: the `solutionid` column (for a managed component,
    /// the solution that installed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution_id: Option<String>,
    /// Model-driven apps: `uniquename`; bots: `schemaname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    /// Flows: whether an in-place owner change is possible (the flow lives in a
    /// solution). `None` when the snapshot cannot tell: it predates the columns this is
    /// read from, and the environment has Dataverse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution_aware: Option<bool>,
}

/// The verdict on one resource: one row of the audit CSV.
///
/// Values that repeat across a tenant (environment fields, a type's change paths) are
/// shared, not copied, so a million verdicts stay small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub environment_id: Arc<str>,
    pub environment_name: Arc<str>,
    pub environment_type: Arc<str>,
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub resource_name: String,
    pub status: Status,
    #[serde(default)]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub attributed_principal_id: Option<String>,
    #[serde(default)]
    pub attributed_principal_name: Option<String>,
    #[serde(default)]
    pub attributing_role: Option<AttributingRole>,
    /// The credit rests on a person's own user account (`account_kind` `personal`), not
    /// on a dedicated service account or a service principal: it ends when that person
    /// leaves. Only ever true for an `attributed` verdict.
    #[serde(default)]
    pub leaver_risk: bool,
    pub reasons: Vec<Reason>,
    pub change_paths_user: Arc<[ChangePath]>,
    pub change_paths_service_principal: Arc<[ChangePath]>,
    #[serde(default)]
    pub evidence: Evidence,
    /// What the snapshot recorded about the resource for fix plans, on verdicts that are
    /// not attributed; boxed because most verdicts of a large tenant never need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<Box<ResourceFacts>>,
    /// Set when an entry of the suppressions file accepts this finding: the verdict
    /// keeps its status, every report says it is suppressed, and `--fail-under` leaves
    /// it out. Shared by every verdict the entry matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Arc<Suppression>>,
}

impl Verdict {
    /// A verdict on a resource with only its status decided: no environment (the
    /// `environment_*` fields are empty), no credited identity, reasons, change paths,
    /// evidence or suppression. The fields are public; set the rest with struct update
    /// syntax.
    pub fn new(
        resource_type: ResourceType,
        resource_id: &str,
        resource_name: &str,
        status: Status,
    ) -> Verdict {
        Verdict {
            environment_id: Arc::from(""),
            environment_name: Arc::from(""),
            environment_type: Arc::from(""),
            resource_type,
            resource_id: resource_id.to_owned(),
            resource_name: resource_name.to_owned(),
            status,
            partner_id: None,
            attributed_principal_id: None,
            attributed_principal_name: None,
            attributing_role: None,
            leaver_risk: false,
            reasons: Vec::new(),
            change_paths_user: Arc::from([]),
            change_paths_service_principal: Arc::from([]),
            evidence: Evidence::default(),
            facts: None,
            suppression: None,
        }
    }
}

/// An accepted finding: an entry of the suppressions file (docs/suppressions.md) that
/// matched a verdict and has not expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub reason: String,
    pub approved_by: String,
    /// The last day the entry holds; from the day after, the finding counts again.
    pub expires: chrono::NaiveDate,
    /// Where the entry is: `file:line`.
    pub source: String,
}

/// Per-resource-type guidance reports show next to unattributed resources, copied from
/// the rule files so reports need not read rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TypeGuidance {
    pub product: String,
    pub attributing_roles: Vec<Role>,
    pub limitations: Vec<String>,
}

/// Counts of verdicts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub attributed: u64,
    pub unattributed: u64,
    pub unknown: u64,
}

impl Counts {
    /// These counts less `other` (a subset of them, such as the suppressed verdicts).
    pub fn without(&self, other: &Counts) -> Counts {
        Counts {
            attributed: self.attributed.saturating_sub(other.attributed),
            unattributed: self.unattributed.saturating_sub(other.unattributed),
            unknown: self.unknown.saturating_sub(other.unknown),
        }
    }

    pub fn add(&mut self, status: Status) {
        match status {
            Status::Attributed => self.attributed += 1,
            Status::Unattributed => self.unattributed += 1,
            Status::Unknown => self.unknown += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.attributed + self.unattributed + self.unknown
    }

    /// Attributed ÷ all, in percent; 100 for an empty set (nothing is missing credit).
    pub fn coverage_pct(&self) -> f64 {
        match self.total() {
            0 => 100.0,
            t => self.attributed as f64 * 100.0 / t as f64,
        }
    }
}

/// The outcome of one audit: every verdict, plus what reports need around them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    pub tenant_id: String,
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
    /// Collection errors recorded in the snapshot manifest: the audit is partial.
    #[serde(default)]
    pub collection_errors: Vec<String>,
    pub verdicts: Vec<Verdict>,
    #[serde(default)]
    pub guidance: BTreeMap<ResourceType, TypeGuidance>,
    /// Every PAL identity of the roster for this tenant, with its health and credit.
    #[serde(default)]
    pub roster: RosterFindings,
}

impl Findings {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for v in &self.verdicts {
            c.add(v.status);
        }
        c
    }

    /// Counts of the suppressed verdicts, by status.
    pub fn suppressed_counts(&self) -> Counts {
        let mut c = Counts::default();
        for v in self.verdicts.iter().filter(|v| v.suppression.is_some()) {
            c.add(v.status);
        }
        c
    }

    /// The counts `--fail-under` compares: every verdict that is not suppressed.
    pub fn gated_counts(&self) -> Counts {
        self.counts().without(&self.suppressed_counts())
    }

    /// Attributed verdicts whose credit rests on a personal user account.
    pub fn leaver_risk_count(&self) -> u64 {
        self.verdicts
            .iter()
            .filter(|v| v.status == Status::Attributed && v.leaver_risk)
            .count() as u64
    }

    /// Records what `palaudit identities verify` found out about PAL links and Azure
    /// role assignments. A check applies to the roster identity of the same partner
    /// whose object id, app id or UPN is its `principal_id` (compared case-insensitively).
    /// Returns the checks that matched no identity, so the caller can say so.
    pub fn apply_link_checks<'a>(&mut self, checks: &'a [LinkCheck]) -> Vec<&'a LinkCheck> {
        self.roster.apply_link_checks(checks)
    }

    /// Coverage per (environment id, resource type), in environment then type order.
    pub fn counts_by_environment_and_type(&self) -> BTreeMap<(String, ResourceType), Counts> {
        let mut map: BTreeMap<(String, ResourceType), Counts> = BTreeMap::new();
        for v in &self.verdicts {
            map.entry((v.environment_id.to_string(), v.resource_type))
                .or_default()
                .add(v.status);
        }
        map
    }

    /// Environment id → (display name, type), for the environments verdicts mention.
    pub fn environments(&self) -> BTreeMap<String, (String, String)> {
        let mut map = BTreeMap::new();
        for v in &self.verdicts {
            map.entry(v.environment_id.to_string()).or_insert_with(|| {
                (
                    v.environment_name.to_string(),
                    v.environment_type.to_string(),
                )
            });
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_paths_join_in_table_order() {
        assert_eq!(ChangePath::join(&[]), "none");
        assert_eq!(
            ChangePath::join(&[ChangePath::Devops, ChangePath::Gui, ChangePath::PpCli]),
            "gui;pp_cli;devops"
        );
    }

    #[test]
    fn coverage_counts_unknown_against() {
        let mut c = Counts::default();
        c.add(Status::Attributed);
        c.add(Status::Unknown);
        assert_eq!(c.coverage_pct(), 50.0);
        assert_eq!(Counts::default().coverage_pct(), 100.0);
    }

    #[test]
    fn leaver_risk_counts_only_attributed_verdicts() {
        let verdict = |status, leaver_risk| Verdict {
            environment_id: "e".into(),
            environment_name: "E".into(),
            environment_type: "Production".into(),
            leaver_risk,
            ..Verdict::new(ResourceType::Flow, "r", "R", status)
        };
        let f = Findings {
            verdicts: vec![
                verdict(Status::Attributed, true),
                verdict(Status::Attributed, false),
                verdict(Status::Unattributed, true),
            ],
            ..Findings::default()
        };
        assert_eq!(f.leaver_risk_count(), 1);
    }

    #[test]
    fn reason_words_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }
}
