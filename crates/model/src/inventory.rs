//! The inventory of one customer tenant: environments, resources, who holds which role on
//! them, and what the directory and Dataverse say about those principals.
//!
//! These are the rows of the snapshot's tables (see `docs/snapshot.md`). Identifiers are
//! stored as the APIs return them; comparisons normalise through [`crate::ids`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Power Platform or Power BI resource type palaudit audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    CanvasApp,
    ModelDrivenApp,
    Flow,
    PowerbiDataset,
    Bot,
}

impl ResourceType {
    pub const ALL: [ResourceType; 5] = [
        ResourceType::CanvasApp,
        ResourceType::ModelDrivenApp,
        ResourceType::Flow,
        ResourceType::PowerbiDataset,
        ResourceType::Bot,
    ];

    /// The stable word used in CSV, JSON and rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::CanvasApp => "canvas_app",
            ResourceType::ModelDrivenApp => "model_driven_app",
            ResourceType::Flow => "flow",
            ResourceType::PowerbiDataset => "powerbi_dataset",
            ResourceType::Bot => "bot",
        }
    }

    /// The product name a delivery lead knows it by.
    pub fn label(self) -> &'static str {
        match self {
            ResourceType::CanvasApp => "Canvas app",
            ResourceType::ModelDrivenApp => "Model-driven app",
            ResourceType::Flow => "Cloud flow",
            ResourceType::PowerbiDataset => "Power BI dataset",
            ResourceType::Bot => "Copilot Studio bot",
        }
    }

    /// How the identifiers in `created_by`, `modified_by` and `published_by` of this type
    /// are to be read.
    pub fn actor_id_kind(self) -> PrincipalIdKind {
        match self {
            ResourceType::CanvasApp | ResourceType::Flow => PrincipalIdKind::EntraObjectId,
            ResourceType::ModelDrivenApp | ResourceType::Bot => {
                PrincipalIdKind::DataverseSystemUser
            }
            ResourceType::PowerbiDataset => PrincipalIdKind::Upn,
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown resource type `{s}`"))
    }
}

/// A role a principal holds on a resource, in the rule book's words. Only some roles
/// attribute (see `rules/`); the others are kept as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    CoOwner,
    Viewer,
    Creator,
    Publisher,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::CoOwner,
        Role::Viewer,
        Role::Creator,
        Role::Publisher,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::CoOwner => "co_owner",
            Role::Viewer => "viewer",
            Role::Creator => "creator",
            Role::Publisher => "publisher",
        }
    }

    /// Maps a Power Apps / Power Automate permission `roleName` (`Owner`, `CanEdit`,
    /// `CanView`) to a role; unknown names are `None` so the caller can record them.
    pub fn from_permission_role_name(name: &str) -> Option<Role> {
        match name.trim().to_ascii_lowercase().as_str() {
            "owner" => Some(Role::Owner),
            "canedit" => Some(Role::CoOwner),
            "canview" | "canviewwithshare" => Some(Role::Viewer),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

/// What kind of identifier a `principal_id` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalIdKind {
    /// An Entra (Azure AD) object id in the customer tenant.
    EntraObjectId,
    /// A Dataverse `systemuserid`, resolved through the environment's `systemusers`.
    #[serde(rename = "dataverse_systemuser")]
    DataverseSystemUser,
    /// A user principal name or mail address (Power BI's `configuredBy`).
    Upn,
    /// No identifier: tenant-wide shares, or a role whose holder the API did not name.
    None,
}

impl PrincipalIdKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalIdKind::EntraObjectId => "entra_object_id",
            PrincipalIdKind::DataverseSystemUser => "dataverse_systemuser",
            PrincipalIdKind::Upn => "upn",
            PrincipalIdKind::None => "none",
        }
    }
}

impl FromStr for PrincipalIdKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            PrincipalIdKind::EntraObjectId,
            PrincipalIdKind::DataverseSystemUser,
            PrincipalIdKind::Upn,
            PrincipalIdKind::None,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("unknown principal id kind `{s}`"))
    }
}

/// What kind of principal holds a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalType {
    User,
    Group,
    ServicePrincipal,
    /// Shared with the whole tenant ("Everyone").
    Tenant,
    /// A Dataverse team (bots can be team-owned).
    Team,
    Unknown,
}

impl PrincipalType {
    pub const ALL: [PrincipalType; 6] = [
        PrincipalType::User,
        PrincipalType::Group,
        PrincipalType::ServicePrincipal,
        PrincipalType::Tenant,
        PrincipalType::Team,
        PrincipalType::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::User => "user",
            PrincipalType::Group => "group",
            PrincipalType::ServicePrincipal => "service_principal",
            PrincipalType::Tenant => "tenant",
            PrincipalType::Team => "team",
            PrincipalType::Unknown => "unknown",
        }
    }

    /// Reads the `principal.type` the Power Apps and Flow RPs return (`User`, `Group`,
    /// `Tenant`, `ServicePrincipal`); anything else is `Unknown`, never an error.
    pub fn from_api(s: &str) -> PrincipalType {
        match s.trim().to_ascii_lowercase().as_str() {
            "user" | "activedirectory" => PrincipalType::User,
            "group" | "securitygroup" => PrincipalType::Group,
            "serviceprincipal" | "application" | "service_principal" => {
                PrincipalType::ServicePrincipal
            }
            "tenant" | "everyone" => PrincipalType::Tenant,
            "team" => PrincipalType::Team,
            _ => PrincipalType::Unknown,
        }
    }
}

impl FromStr for PrincipalType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PrincipalType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown principal type `{s}`"))
    }
}

/// A Power Platform environment (BAP `environments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// BAP `name`: a GUID, or `Default-{tenantId}` for the default environment.
    pub environment_id: String,
    pub display_name: String,
    /// BAP `environmentSku`: `Production`, `Sandbox`, `Default`, `Developer`, `Trial`, …
    pub environment_type: String,
    #[serde(default)]
    pub is_default: bool,
    /// `linkedEnvironmentMetadata.instanceApiUrl`; `None` when the environment has no
    /// Dataverse database.
    #[serde(default)]
    pub dataverse_url: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

/// One audited resource with the activity the APIs report on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub resource_type: ResourceType,
    /// The API's id: app `name`, flow `name`, `appmoduleid`, `botid`, dataset `id`.
    pub resource_id: String,
    /// The environment for Power Platform resources; the workspace id for datasets.
    pub environment_id: String,
    pub display_name: String,
    /// Power BI workspace name (datasets only).
    #[serde(default)]
    pub workspace_name: Option<String>,
    #[serde(default)]
    pub created_time: Option<DateTime<Utc>>,
    /// Creator, last modifier and last publisher, as ids of `resource_type.actor_id_kind()`.
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub modified_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub modified_by: Option<String>,
    #[serde(default)]
    pub published_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub published_by: Option<String>,
    /// The API's state word (`Started`, `Published`, statecode…); for Power BI datasets,
    /// their workspace's `state` (`Active`, `Removing`, `Deleted`).
    #[serde(default)]
    pub state: Option<String>,
    /// Canvas apps: the listing's `appType` (`ClassicCanvasApp`, `CustomCanvasPage`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
    /// Canvas apps: the listing's `properties.almMode` (`Environment`, `Solution`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alm_mode: Option<String>,
    /// Flows: `properties.workflowEntityId`, the Dataverse `workflow` row of a flow that
    /// lives in a solution; absent for flows outside solutions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_entity_id: Option<String>,
    /// Flows `properties.isManaged`, model-driven apps and bots `ismanaged`: the resource
    /// came in through a managed solution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_managed: Option<bool>,
    /// Model-driven apps and bots: the `solutionid` column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution_id: Option<String>,
    /// Model-driven apps: `uniquename`; bots: `schemaname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
}

/// A principal holding a role on a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub role: Role,
    /// Identifier of the holder, read according to `principal_id_kind`. Empty when the API
    /// left the role's holder blank (that is evidence too: `owner_unresolved`).
    pub principal_id: String,
    pub principal_id_kind: PrincipalIdKind,
    pub principal_type: PrincipalType,
    #[serde(default)]
    pub display_name: Option<String>,
    /// When the role was granted (`createdOn` of a permission, `createdTime` of a flow for
    /// its creator, …), if the API says.
    #[serde(default)]
    pub assigned_on: Option<DateTime<Utc>>,
}

/// What Microsoft Graph said about an Entra principal of the customer tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    /// Entra object id; empty when only the UPN is known (a deleted UPN publisher).
    pub object_id: String,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    pub principal_type: PrincipalType,
    /// Graph `userType`: `Member` or `Guest`.
    #[serde(default)]
    pub user_type: Option<String>,
    /// Graph `accountEnabled`; `None` when Graph did not say.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Graph answered 404 for this principal.
    #[serde(default)]
    pub deleted: bool,
    /// Graph `externalUserState`: `PendingAcceptance`, `Accepted`, or unset.
    #[serde(default)]
    pub external_user_state: Option<String>,
}

/// A Dataverse user (`systemusers`) of one environment, the bridge from Dataverse lookups
/// to Entra identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemUser {
    pub environment_id: String,
    pub systemuser_id: String,
    #[serde(default)]
    pub azure_ad_object_id: Option<String>,
    /// Set for application users (service principals).
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub domain_name: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub is_disabled: Option<bool>,
    #[serde(default)]
    pub access_mode: Option<i32>,
}

/// A whole tenant inventory held in memory: what collectors produce for small tenants and
/// what rule fixtures are written as. Large tenants stream through the snapshot crate's
/// writer instead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub tenant_id: String,
    #[serde(default)]
    pub environments: Vec<Environment>,
    #[serde(default)]
    pub resources: Vec<Resource>,
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignment>,
    #[serde(default)]
    pub principals: Vec<Principal>,
    #[serde(default)]
    pub systemusers: Vec<SystemUser>,
}
