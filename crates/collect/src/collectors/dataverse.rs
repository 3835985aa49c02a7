//! Dataverse of one environment (Web API v9.2 at `instanceApiUrl`): every `systemusers`
//! row, then model-driven apps (`appmodules`) and Copilot Studio bots (`bots`), paged
//! with `Prefer: odata.maxpagesize` and `@odata.nextLink`.
//!
//! Dataverse lookups (`_createdby_value`, `_ownerid_value`) are systemuser ids. The
//! systemusers are read first, so each role holder is written with its principal type
//! (an application user is a service principal) and its Entra identity is queued for
//! Graph: the app id of an application user, the object id of anyone else. An
//! environment without Dataverse is skipped without a request.

use super::environments::EnvInfo;
use super::json::{boolean, id, integer, text, time};
use super::{Ctx, PrincipalKey, RowMsg};
use crate::auth::TokenSource;
use crate::http::HttpError;
use crate::http::paging::{LinkPager, dataverse_request};
use crate::http::url::build_url;
use palaudit_model::{
    PrincipalIdKind, PrincipalType, Resource, ResourceType, Role, RoleAssignment, SystemUser,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

const SYSTEMUSERS: &str = "systemusers";
const APPMODULES: &str = "appmodules";
const BOTS: &str = "bots";

const SYSTEMUSER_SELECT: &str = "systemuserid,azureactivedirectoryobjectid,applicationid,domainname,fullname,isdisabled,accessmode";
/// `appmodule` is organization-owned and has no `publishedby` column (DV-APPMOD);
/// selecting a column that does not exist fails the whole query.
const APPMODULE_SELECT: &str = "appmoduleid,name,uniquename,createdon,modifiedon,publishedon,_createdby_value,_modifiedby_value,statecode,ismanaged,solutionid";
const BOT_SELECT: &str = "botid,name,schemaname,createdon,modifiedon,publishedon,_createdby_value,_modifiedby_value,_publishedby_value,_ownerid_value,_owningteam_value,statecode,ismanaged,solutionid";
/// Asks for the lookup's target table, so a team-owned bot is told from a user-owned one
/// (`_owningteam_value` says the same when the annotation is not returned).
const LOOKUP_ANNOTATION: &str =
    "odata.include-annotations=\"Microsoft.Dynamics.CRM.lookuplogicalname\"";

/// What the role rows need to know about a systemuser.
#[derive(Debug, Clone, Default)]
pub(crate) struct SystemUserInfo {
    object_id: Option<String>,
    app_id: Option<String>,
    full_name: Option<String>,
}

type Users = HashMap<String, SystemUserInfo>;

pub(crate) async fn collect(ctx: &Ctx, env: &EnvInfo) {
    let Some(dv) = &env.dataverse else {
        return;
    };
    let base = format!("{}/api/data/v9.2", dv.api_url);
    if let Err(e) = url::Url::parse(&base) {
        ctx.scope_error(
            SYSTEMUSERS,
            Some(&env.id),
            format!(
                "the environment's instanceApiUrl `{}` is not a URL ({e}); its Dataverse tables were not read",
                dv.api_url
            ),
        );
        return;
    }
    let token = ctx.token(&dv.scope);
    if let Err(e) = preflight(&base, &token).await {
        // Dataverse cannot be reached safely or signed in to: every table would fail the
        // same way, so it is recorded once.
        ctx.http_error(&e, SYSTEMUSERS, Some(&env.id));
        return;
    }
    // The three tables are read side by side. Creators and owners are systemuser ids, so
    // their role assignments are written once every systemuser is known.
    let (users, app_holders, bot_holders) = tokio::join!(
        systemusers(ctx, env, &base, token.clone()),
        appmodules(ctx, env, &base, token.clone()),
        bots(ctx, env, &base, token),
    );
    // Without the users (Dataverse unreachable), the holders stay unresolved: the audit
    // reports them as such rather than lose them.
    let users = users.unwrap_or_default();
    for pending in app_holders.into_iter().chain(bot_holders) {
        write_role(ctx, pending.resolve(&users)).await;
    }
}

/// Checks, before any request, that a token may be sent to the environment's Dataverse
/// and that one can be had (the credential caches it for the requests that follow).
async fn preflight(base: &str, token: &Arc<dyn TokenSource>) -> Result<(), HttpError> {
    let url = build_url(base, "/systemusers", &[("$select", SYSTEMUSER_SELECT)])?;
    crate::http::check_transport(&reqwest::Method::GET, &url, true)?;
    token.token().await.map_err(|source| HttpError::Token {
        endpoint: crate::http::Endpoint::new(&reqwest::Method::GET, &url),
        source,
    })?;
    Ok(())
}

/// A Dataverse role holder read before the environment's systemusers are all known.
struct PendingHolder {
    resource_type: ResourceType,
    resource_id: String,
    role: Role,
    systemuser: Option<String>,
    is_team: bool,
    assigned_on: Option<chrono::DateTime<chrono::Utc>>,
}

impl PendingHolder {
    /// The creator of a Dataverse resource (`_createdby_value`, at `createdon`).
    fn creator(resource: &Resource) -> PendingHolder {
        PendingHolder {
            resource_type: resource.resource_type,
            resource_id: resource.resource_id.clone(),
            role: Role::Creator,
            systemuser: resource.created_by.clone(),
            is_team: false,
            assigned_on: resource.created_time,
        }
    }

    fn resolve(self, users: &Users) -> (RoleAssignment, Option<PrincipalKey>) {
        holder(
            users,
            self.resource_type,
            &self.resource_id,
            self.role,
            self.systemuser,
            self.is_team,
            self.assigned_on,
        )
    }
}

/// A listing's pages, each item handed to `each`; failures are recorded for `collector`
/// and the failure that stopped the listing is returned.
#[allow(clippy::too_many_arguments)]
async fn pages(
    ctx: &Ctx,
    env: &EnvInfo,
    collector: &'static str,
    base: &str,
    table: &str,
    select: &str,
    prefer: Option<&str>,
    token: Arc<dyn TokenSource>,
    mut each: impl AsyncFnMut(&Value, &crate::http::Endpoint),
) -> Option<HttpError> {
    let url = match build_url(base, &format!("/{table}"), &[("$select", select)]) {
        Ok(u) => u,
        Err(e) => {
            let e = HttpError::from(e);
            ctx.http_error(&e, collector, Some(&env.id));
            return Some(e);
        }
    };
    let req = dataverse_request(url, ctx.config.collect.dataverse_page_size, prefer)
        .bearer(token)
        .for_collector(collector);
    let mut pager = LinkPager::new(&ctx.http, req);
    while let Some(page) = pager.next_page().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                ctx.http_error(&e, collector, Some(&env.id));
                return Some(e);
            }
        };
        ctx.save_raw(collector, &page.endpoint, &page.raw).await;
        for item in &page.items {
            each(item, &page.endpoint).await;
        }
    }
    None
}

/// Every systemuser of the environment; `None` when Dataverse cannot be reached at all.
async fn systemusers(
    ctx: &Ctx,
    env: &EnvInfo,
    base: &str,
    token: Arc<dyn TokenSource>,
) -> Option<Users> {
    let mut users = Users::new();
    let failure = pages(
        ctx,
        env,
        SYSTEMUSERS,
        base,
        "systemusers",
        SYSTEMUSER_SELECT,
        None,
        token,
        async |item, endpoint| {
            let Some(row) = systemuser_row(item, &env.id) else {
                ctx.item_error(
                    SYSTEMUSERS,
                    Some(&env.id),
                    endpoint,
                    "a systemuser without `systemuserid` was skipped".into(),
                );
                return;
            };
            users.insert(
                row.systemuser_id.clone(),
                SystemUserInfo {
                    object_id: row.azure_ad_object_id.clone(),
                    app_id: row.application_id.clone(),
                    full_name: row.full_name.clone(),
                },
            );
            ctx.emit(RowMsg::SystemUser(row)).await;
            ctx.progress.add("Dataverse users", 1);
        },
    )
    .await;
    match failure {
        Some(HttpError::InsecureTransport { .. } | HttpError::Token { .. }) => None,
        _ => Some(users),
    }
}

pub(crate) fn systemuser_row(item: &Value, env_id: &str) -> Option<SystemUser> {
    Some(SystemUser {
        environment_id: env_id.to_owned(),
        systemuser_id: id(item, "/systemuserid")?,
        azure_ad_object_id: id(item, "/azureactivedirectoryobjectid"),
        application_id: id(item, "/applicationid"),
        domain_name: text(item, "/domainname").map(str::to_owned),
        full_name: text(item, "/fullname").map(str::to_owned),
        is_disabled: boolean(item, "/isdisabled"),
        access_mode: integer(item, "/accessmode").and_then(|n| i32::try_from(n).ok()),
    })
}

/// A Dataverse role holder as a role assignment, and the Entra identity to resolve.
pub(crate) fn holder(
    users: &Users,
    resource_type: ResourceType,
    resource_id: &str,
    role: Role,
    systemuser: Option<String>,
    is_team: bool,
    assigned_on: Option<chrono::DateTime<chrono::Utc>>,
) -> (RoleAssignment, Option<PrincipalKey>) {
    let mut row = RoleAssignment {
        resource_type,
        resource_id: resource_id.to_owned(),
        role,
        principal_id: String::new(),
        principal_id_kind: PrincipalIdKind::None,
        principal_type: PrincipalType::Unknown,
        display_name: None,
        assigned_on,
    };
    let Some(su) = systemuser else {
        return (row, None);
    };
    row.principal_id = su.clone();
    row.principal_id_kind = PrincipalIdKind::DataverseSystemUser;
    if is_team {
        row.principal_type = PrincipalType::Team;
        return (row, None);
    }
    let Some(info) = users.get(&su) else {
        // Not among the environment's systemusers: the audit reports it unresolved.
        return (row, None);
    };
    row.display_name = info.full_name.clone();
    let key = if let Some(app_id) = &info.app_id {
        row.principal_type = PrincipalType::ServicePrincipal;
        Some(PrincipalKey::AppId {
            app_id: app_id.clone(),
            object_id: info.object_id.clone(),
        })
    } else {
        row.principal_type = PrincipalType::User;
        info.object_id.clone().map(PrincipalKey::ObjectId)
    };
    (row, key)
}

fn state(item: &Value) -> Option<String> {
    match integer(item, "/statecode") {
        Some(0) => Some("Active".into()),
        Some(1) => Some("Inactive".into()),
        Some(n) => Some(n.to_string()),
        None => None,
    }
}

pub(crate) fn dataverse_resource(
    item: &Value,
    env_id: &str,
    resource_type: ResourceType,
    id_field: &str,
) -> Option<Resource> {
    let resource_id = id(item, id_field)?;
    Some(Resource {
        resource_type,
        display_name: text(item, "/name").unwrap_or(&resource_id).to_owned(),
        resource_id,
        environment_id: env_id.to_owned(),
        workspace_name: None,
        created_time: time(item, "/createdon"),
        created_by: id(item, "/_createdby_value"),
        modified_time: time(item, "/modifiedon"),
        modified_by: id(item, "/_modifiedby_value"),
        published_time: time(item, "/publishedon"),
        published_by: id(item, "/_publishedby_value"),
        state: state(item),
        app_type: None,
        alm_mode: None,
        workflow_entity_id: None,
        is_managed: boolean(item, "/ismanaged"),
        solution_id: id(item, "/solutionid"),
        // `uniquename` on appmodules, `schemaname` on bots.
        unique_name: text(item, "/uniquename")
            .or_else(|| text(item, "/schemaname"))
            .map(str::to_owned),
    })
}

async fn write_role(ctx: &Ctx, (row, key): (RoleAssignment, Option<PrincipalKey>)) {
    if let Some(key) = key {
        ctx.resolve(key);
    }
    ctx.emit(RowMsg::RoleAssignment(row)).await;
}

async fn appmodules(
    ctx: &Ctx,
    env: &EnvInfo,
    base: &str,
    token: Arc<dyn TokenSource>,
) -> Vec<PendingHolder> {
    let mut holders = Vec::new();
    pages(
        ctx,
        env,
        APPMODULES,
        base,
        "appmodules",
        APPMODULE_SELECT,
        None,
        token,
        async |item, endpoint| {
            let Some(resource) =
                dataverse_resource(item, &env.id, ResourceType::ModelDrivenApp, "/appmoduleid")
            else {
                ctx.item_error(
                    APPMODULES,
                    Some(&env.id),
                    endpoint,
                    "an appmodule without `appmoduleid` was skipped".into(),
                );
                return;
            };
            holders.push(PendingHolder::creator(&resource));
            ctx.emit(RowMsg::Resource(resource)).await;
            ctx.progress.add("model-driven apps", 1);
        },
    )
    .await;
    holders
}

async fn bots(
    ctx: &Ctx,
    env: &EnvInfo,
    base: &str,
    token: Arc<dyn TokenSource>,
) -> Vec<PendingHolder> {
    let mut holders = Vec::new();
    pages(
        ctx,
        env,
        BOTS,
        base,
        "bots",
        BOT_SELECT,
        Some(LOOKUP_ANNOTATION),
        token,
        async |item, endpoint| {
            let Some(resource) = dataverse_resource(item, &env.id, ResourceType::Bot, "/botid")
            else {
                ctx.item_error(
                    BOTS,
                    Some(&env.id),
                    endpoint,
                    "a bot without `botid` was skipped".into(),
                );
                return;
            };
            let owner_is_team = text(
                item,
                "/_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname",
            )
            .is_some_and(|t| t.eq_ignore_ascii_case("team"))
                || (id(item, "/_owningteam_value").is_some()
                    && id(item, "/_owningteam_value") == id(item, "/_ownerid_value"));
            holders.push(PendingHolder::creator(&resource));
            if let Some(owner) = id(item, "/_ownerid_value") {
                holders.push(PendingHolder {
                    resource_type: ResourceType::Bot,
                    resource_id: resource.resource_id.clone(),
                    role: Role::Owner,
                    systemuser: Some(owner),
                    is_team: owner_is_team,
                    assigned_on: None,
                });
            }
            ctx.emit(RowMsg::Resource(resource)).await;
            ctx.progress.add("bots", 1);
        },
    )
    .await;
    holders
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn systemusers_and_holders() {
        let app_user = systemuser_row(
            &json!({"systemuserid": "AAAA", "azureactivedirectoryobjectid": "00000000-0000-0000-0000-000000000000",
                    "applicationid": "APP1", "fullname": "# Deploy app", "isdisabled": false, "accessmode": 4}),
            "env",
        )
        .unwrap();
        assert_eq!(app_user.azure_ad_object_id, None);
        assert_eq!(app_user.application_id.as_deref(), Some("app1"));
        assert_eq!(app_user.access_mode, Some(4));
        let mut users = Users::new();
        users.insert(
            "aaaa".into(),
            SystemUserInfo {
                object_id: None,
                app_id: Some("app1".into()),
                full_name: Some("# Deploy app".into()),
            },
        );
        users.insert(
            "bbbb".into(),
            SystemUserInfo {
                object_id: Some("oid-b".into()),
                app_id: None,
                full_name: Some("Pat".into()),
            },
        );
        let (row, key) = holder(
            &users,
            ResourceType::Bot,
            "b",
            Role::Creator,
            Some("aaaa".into()),
            false,
            None,
        );
        assert_eq!(row.principal_type, PrincipalType::ServicePrincipal);
        assert_eq!(row.principal_id_kind, PrincipalIdKind::DataverseSystemUser);
        assert!(matches!(key, Some(PrincipalKey::AppId { ref app_id, .. }) if app_id == "app1"));
        let (row, key) = holder(
            &users,
            ResourceType::Bot,
            "b",
            Role::Owner,
            Some("bbbb".into()),
            false,
            None,
        );
        assert_eq!(
            (row.principal_type, row.display_name.as_deref()),
            (PrincipalType::User, Some("Pat"))
        );
        assert!(matches!(key, Some(PrincipalKey::ObjectId(ref o)) if o == "oid-b"));
        let (row, key) = holder(
            &users,
            ResourceType::Bot,
            "b",
            Role::Owner,
            Some("team1".into()),
            true,
            None,
        );
        assert_eq!(row.principal_type, PrincipalType::Team);
        assert!(key.is_none());
        let (row, key) = holder(
            &users,
            ResourceType::Bot,
            "b",
            Role::Creator,
            Some("zzzz".into()),
            false,
            None,
        );
        assert_eq!(
            (row.principal_type, row.principal_id.as_str()),
            (PrincipalType::Unknown, "zzzz")
        );
        assert!(key.is_none());
        let (row, _) = holder(
            &users,
            ResourceType::Bot,
            "b",
            Role::Creator,
            None,
            false,
            None,
        );
        assert_eq!(row.principal_id_kind, PrincipalIdKind::None);
    }
}
