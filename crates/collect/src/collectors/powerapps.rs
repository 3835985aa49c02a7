//! Canvas apps of one environment (Power Apps admin `apps`, api-version 2016-11-01) and
//! each app's `/permissions` (owner, co-owner, viewer).

use super::Ctx;
use super::environments::EnvInfo;
use super::json::{id, text, time};
use super::permissions::{self, Listing};
use crate::http::url::encode_path_segment;
use palaudit_model::{Resource, ResourceType};
use serde_json::Value;

const APPS: &str = "canvas_apps";
const PERMISSIONS: &str = "canvas_app_permissions";

/// An app list item as a resource row (`None` without a `name`).
pub(crate) fn app_resource(item: &Value, env_id: &str) -> Option<Resource> {
    let resource_id = id(item, "/name")?;
    Some(Resource {
        resource_type: ResourceType::CanvasApp,
        display_name: text(item, "/properties/displayName")
            .unwrap_or(&resource_id)
            .to_owned(),
        resource_id,
        environment_id: env_id.to_owned(),
        workspace_name: None,
        created_time: time(item, "/properties/createdTime"),
        created_by: id(item, "/properties/createdBy/id"),
        modified_time: time(item, "/properties/lastModifiedTime"),
        modified_by: id(item, "/properties/lastModifiedBy/id"),
        published_time: time(item, "/properties/lastPublishTime"),
        published_by: id(item, "/properties/lastPublishedBy/id"),
        state: text(item, "/properties/lifeCycleId")
            .or_else(|| text(item, "/properties/status"))
            .map(str::to_owned),
        // `appType` sits beside `properties`, not inside it (a custom page of a
        // model-driven app is `CustomCanvasPage`); `almMode` is inside.
        app_type: text(item, "/appType").map(str::to_owned),
        alm_mode: text(item, "/properties/almMode").map(str::to_owned),
        workflow_entity_id: None,
        is_managed: None,
        solution_id: None,
        unique_name: None,
    })
}

pub(crate) async fn collect(ctx: &Ctx, env: &EnvInfo) {
    let env_seg = encode_path_segment(&env.name);
    let apps = format!("/providers/Microsoft.PowerApps/scopes/admin/environments/{env_seg}/apps");
    permissions::collect_listing(
        ctx,
        Listing {
            collector: APPS,
            permissions_collector: PERMISSIONS,
            resource_type: ResourceType::CanvasApp,
            progress: "canvas apps",
            skipped: "an app without `name` was skipped",
            env,
            base: &ctx.config.endpoints.powerapps,
            token: ctx.token(&ctx.config.scopes.powerapps),
            list_path: apps.clone(),
            list_query: &[("api-version", "2016-11-01"), ("$top", "250")],
            parent: apps,
            filter_environment: true,
            rows: |item, env_id| app_resource(item, env_id).map(|r| (r, None)),
            // Owners and co-owners are who earn an app's credit.
            permissions: true,
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_rows_carry_activity() {
        let item = serde_json::json!({
            "name": "37EA6004-F07B-46CA-8EF3-A256B67B4DBB",
            "properties": {
                "displayName": "Expense App", "lifeCycleId": "Published",
                "createdTime": "2022-10-25T21:28:12.7171469Z",
                "lastModifiedTime": "2022-10-25T21:28:12.7456297Z",
                "lastPublishTime": "2022-10-25T21:28:12Z",
                "createdBy": {"id": "A1"}, "lastModifiedBy": {"id": "B2"}, "lastPublishedBy": {"id": "C3"}
            }
        });
        let r = app_resource(&item, "env").unwrap();
        assert_eq!(r.resource_id, "37ea6004-f07b-46ca-8ef3-a256b67b4dbb");
        assert_eq!(r.display_name, "Expense App");
        assert_eq!(
            (
                r.created_by.as_deref(),
                r.modified_by.as_deref(),
                r.published_by.as_deref()
            ),
            (Some("a1"), Some("b2"), Some("c3"))
        );
        assert!(
            r.created_time.is_some() && r.modified_time.is_some() && r.published_time.is_some()
        );
        assert_eq!(r.state.as_deref(), Some("Published"));
        assert_eq!((r.app_type, r.alm_mode), (None, None));
        assert!(app_resource(&serde_json::json!({"properties": {}}), "env").is_none());
    }
}
