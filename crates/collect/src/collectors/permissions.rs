//! App and flow `/permissions` entries as role assignments: `Owner` → owner, `CanEdit` →
//! co_owner, `CanView` → viewer; principal `User`, `Group`, `Tenant`, `ServicePrincipal`.
//! Also the listing both APIs share: pages of items, each with its own `/permissions`.

use super::environments::EnvInfo;
use super::json::{id, text, time};
use super::{Ctx, PrincipalKey, RowMsg};
use crate::auth::TokenSource;
use crate::http::ApiRequest;
use crate::http::paging::LinkPager;
use crate::http::url::{build_url, encode_path_segment};
use futures::StreamExt;
use palaudit_model::{
    PrincipalIdKind, PrincipalType, Resource, ResourceType, Role, RoleAssignment,
};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;
use url::Url;

/// One permission entry as a role assignment, and the principal Graph should resolve.
/// An unknown `roleName` is an error for the caller to record, never skipped silently.
pub(crate) fn assignment(
    resource_type: ResourceType,
    resource_id: &str,
    item: &Value,
) -> Result<(RoleAssignment, Option<PrincipalKey>), String> {
    let role_name = text(item, "/properties/roleName").unwrap_or("");
    let Some(role) = Role::from_permission_role_name(role_name) else {
        return Err(format!(
            "unknown permission roleName `{role_name}` on {resource_type} {resource_id}; the assignment was not recorded"
        ));
    };
    let principal_type = text(item, "/properties/principal/type")
        .map(PrincipalType::from_api)
        .unwrap_or(PrincipalType::Unknown);
    let principal_id = id(item, "/properties/principal/id");
    let (principal_id, kind) = match (principal_type, principal_id) {
        // A share with the whole tenant names no principal (only `tenantId`).
        (PrincipalType::Tenant, _) | (_, None) => (String::new(), PrincipalIdKind::None),
        (_, Some(oid)) => (oid, PrincipalIdKind::EntraObjectId),
    };
    // Users and service principals get a directory record; groups and tenant shares
    // cannot earn credit, so no lookup is spent on them.
    let key = (kind == PrincipalIdKind::EntraObjectId
        && !matches!(principal_type, PrincipalType::Group | PrincipalType::Tenant))
    .then(|| PrincipalKey::ObjectId(principal_id.clone()));
    let display_name = text(item, "/properties/principal/displayName")
        .or_else(|| text(item, "/properties/principal/email"))
        .map(str::to_owned);
    Ok((
        RoleAssignment {
            resource_type,
            resource_id: resource_id.to_owned(),
            role,
            principal_id,
            principal_id_kind: kind,
            principal_type,
            display_name,
            assigned_on: time(item, "/properties/createdOn"),
        },
        key,
    ))
}

/// A listed item's resource row and, if the listing names one, its creator.
pub(crate) type ItemRows = (Resource, Option<RoleAssignment>);

/// A Power Platform listing whose items each have `/permissions`: canvas apps and flows.
pub(crate) struct Listing<'a> {
    /// Collector names for the listing and for the permissions calls.
    pub collector: &'static str,
    pub permissions_collector: &'static str,
    pub resource_type: ResourceType,
    /// Spinner label.
    pub progress: &'static str,
    /// The collection error for an item without a `name`.
    pub skipped: &'static str,
    pub env: &'a EnvInfo,
    pub base: &'a str,
    pub token: Arc<dyn TokenSource>,
    /// The listing's path under `base`, e.g. `…/environments/{env}/apps`; each item's
    /// permissions are at `{parent}/{name}/permissions`.
    pub list_path: String,
    pub list_query: &'a [(&'a str, &'a str)],
    pub parent: String,
    /// `$filter=environment eq '{environment}'` on the permissions calls (the admin
    /// PowerShell module sends it with this api-version for canvas apps).
    pub filter_environment: bool,
    /// An item as its resource row and, if the listing names one, its creator.
    pub rows: fn(&Value, &str) -> Option<ItemRows>,
    /// Whether each item's `/permissions` is read (flows: `[collect] flow_owners`).
    pub permissions: bool,
}

/// Reads every page of `listing`, writes each item's rows, and reads each item's
/// `/permissions`. The pages and the permissions calls run side by side: the pager
/// queues items as pages arrive and never waits for a page's permissions to finish, so
/// the host always has work for its whole window (the queue holds a few windows' worth,
/// which bounds memory on a huge environment).
pub(crate) async fn collect_listing(ctx: &Ctx, listing: Listing<'_>) {
    let (queue, queued) = mpsc::channel::<(String, String)>(ctx.concurrency().max(250) * 2);
    tokio::join!(
        list(ctx, &listing, queue),
        collect_permissions(ctx, &listing, queued)
    );
}

/// The listing's pages: rows written, items whose permissions to read queued as (the
/// API's name of the resource, its row id).
async fn list(ctx: &Ctx, listing: &Listing<'_>, queue: mpsc::Sender<(String, String)>) {
    let env = listing.env;
    let url = match build_url(listing.base, &listing.list_path, listing.list_query) {
        Ok(u) => u,
        Err(e) => {
            ctx.scope_error(listing.collector, Some(&env.id), e.to_string());
            return;
        }
    };
    let mut pager = LinkPager::new(
        &ctx.http,
        ApiRequest::get(url)
            .bearer(listing.token.clone())
            .for_collector(listing.collector),
    );
    while let Some(page) = pager.next_page().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                ctx.http_error(&e, listing.collector, Some(&env.id));
                return;
            }
        };
        ctx.save_raw(listing.collector, &page.endpoint, &page.raw)
            .await;
        for item in &page.items {
            let Some((resource, creator)) = (listing.rows)(item, &env.id) else {
                ctx.item_error(
                    listing.collector,
                    Some(&env.id),
                    &page.endpoint,
                    listing.skipped.into(),
                );
                continue;
            };
            let named = (
                text(item, "/name").unwrap_or_default().to_owned(),
                resource.resource_id.clone(),
            );
            ctx.emit(RowMsg::Resource(resource)).await;
            if let Some(creator) = creator {
                if creator.principal_id_kind == PrincipalIdKind::EntraObjectId {
                    ctx.resolve(PrincipalKey::ObjectId(creator.principal_id.clone()));
                }
                ctx.emit(RowMsg::RoleAssignment(creator)).await;
            }
            ctx.progress.add(listing.progress, 1);
            if listing.permissions {
                // The reader only stops once this sender is gone.
                let _ = queue.send(named).await;
            }
        }
    }
}

/// Reads the `/permissions` of the queued resources as they come, up to the cap of
/// requests in flight (the host's window decides how many actually go out).
async fn collect_permissions(
    ctx: &Ctx,
    listing: &Listing<'_>,
    queued: mpsc::Receiver<(String, String)>,
) {
    let env = listing.env;
    let filter = listing
        .filter_environment
        .then(|| format!("environment eq '{}'", env.name));
    let filter = filter.as_deref();
    futures::stream::unfold(
        queued,
        |mut q| async move { q.recv().await.map(|x| (x, q)) },
    )
    .map(|(name, resource_id)| {
        let token = listing.token.clone();
        async move {
            let path = format!(
                "{}/{}/permissions",
                listing.parent,
                encode_path_segment(&name)
            );
            let mut query = vec![("api-version", "2016-11-01")];
            if let Some(f) = filter {
                query.push(("$filter", f));
            }
            match build_url(listing.base, &path, &query) {
                Ok(url) => {
                    collect(
                        ctx,
                        listing.permissions_collector,
                        &env.id,
                        listing.resource_type,
                        &resource_id,
                        url,
                        token,
                    )
                    .await;
                }
                Err(e) => {
                    ctx.scope_error(listing.permissions_collector, Some(&env.id), e.to_string())
                }
            }
        }
    })
    .buffer_unordered(ctx.concurrency())
    .collect::<Vec<()>>()
    .await;
}

/// Reads every page of one resource's `/permissions` and writes the assignments.
pub(crate) async fn collect(
    ctx: &Ctx,
    collector: &'static str,
    env_id: &str,
    resource_type: ResourceType,
    resource_id: &str,
    url: Url,
    token: Arc<dyn TokenSource>,
) {
    let mut pager = LinkPager::new(
        &ctx.http,
        ApiRequest::get(url).bearer(token).for_collector(collector),
    );
    while let Some(page) = pager.next_page().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                ctx.http_error(&e, collector, Some(env_id));
                return;
            }
        };
        ctx.save_raw(collector, &page.endpoint, &page.raw).await;
        for item in &page.items {
            match assignment(resource_type, resource_id, item) {
                Ok((row, key)) => {
                    if let Some(key) = key {
                        ctx.resolve(key);
                    }
                    ctx.emit(RowMsg::RoleAssignment(row)).await;
                }
                Err(message) => ctx.item_error(collector, Some(env_id), &page.endpoint, message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn perm(role: &str, ptype: &str, id: Option<&str>) -> Value {
        let mut principal =
            json!({ "type": ptype, "displayName": "John Doe", "email": "john@contoso.com" });
        if let Some(id) = id {
            principal["id"] = json!(id);
        }
        json!({ "properties": { "roleName": role, "principal": principal,
                "createdOn": "2022-10-25T21:28:14.2122305Z" } })
    }

    #[test]
    fn roles_and_principals() {
        let (a, key) = assignment(
            ResourceType::CanvasApp,
            "app",
            &perm(
                "Owner",
                "User",
                Some("FE36F75E-C103-410B-A18A-2BF6DF06AC3A"),
            ),
        )
        .unwrap();
        assert_eq!(a.role, Role::Owner);
        assert_eq!(a.principal_id, "fe36f75e-c103-410b-a18a-2bf6df06ac3a");
        assert_eq!(a.principal_id_kind, PrincipalIdKind::EntraObjectId);
        assert_eq!(a.principal_type, PrincipalType::User);
        assert_eq!(a.display_name.as_deref(), Some("John Doe"));
        assert!(a.assigned_on.is_some());
        assert!(
            matches!(key, Some(PrincipalKey::ObjectId(ref k)) if k == "fe36f75e-c103-410b-a18a-2bf6df06ac3a")
        );

        let (a, key) = assignment(
            ResourceType::CanvasApp,
            "app",
            &perm("CanEdit", "Group", Some("g1")),
        )
        .unwrap();
        assert_eq!(
            (a.role, a.principal_type),
            (Role::CoOwner, PrincipalType::Group)
        );
        assert!(key.is_none());

        let (a, key) = assignment(
            ResourceType::CanvasApp,
            "app",
            &perm("CanView", "Tenant", None),
        )
        .unwrap();
        assert_eq!(
            (a.role, a.principal_id_kind, a.principal_id.as_str()),
            (Role::Viewer, PrincipalIdKind::None, "")
        );
        assert!(key.is_none());

        let (a, key) = assignment(
            ResourceType::Flow,
            "f",
            &perm("CanEdit", "ServicePrincipal", Some("s1")),
        )
        .unwrap();
        assert_eq!(a.principal_type, PrincipalType::ServicePrincipal);
        assert!(key.is_some());

        let err = assignment(
            ResourceType::CanvasApp,
            "app",
            &perm("CanShare", "User", Some("u")),
        )
        .unwrap_err();
        assert!(
            err.contains("CanShare") && err.contains("canvas_app app"),
            "{err}"
        );
    }
}
