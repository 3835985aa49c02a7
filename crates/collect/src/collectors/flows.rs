//! Cloud flows of one environment (Flow admin `v2/flows`, api-version 2016-11-01, with
//! solution flows): the creator (`properties.creator.objectId`) and, unless
//! `[collect] flow_owners = "creator"`, each flow's `/permissions`.

use super::Ctx;
use super::environments::EnvInfo;
use super::json::{boolean, id, text, time};
use super::permissions::{self, Listing};
use crate::config::FlowOwners;
use crate::http::url::encode_path_segment;
use palaudit_model::{
    PrincipalIdKind, PrincipalType, Resource, ResourceType, Role, RoleAssignment,
};
use serde_json::Value;

const FLOWS: &str = "flows";
const PERMISSIONS: &str = "flow_permissions";

/// A flow list item as a resource row and its creator (`None` without a `name`).
pub(crate) fn flow_rows(item: &Value, env_id: &str) -> Option<(Resource, RoleAssignment)> {
    let resource_id = id(item, "/name")?;
    let creator = id(item, "/properties/creator/objectId");
    let created_time = time(item, "/properties/createdTime");
    let resource = Resource {
        resource_type: ResourceType::Flow,
        display_name: text(item, "/properties/displayName")
            .unwrap_or(&resource_id)
            .to_owned(),
        resource_id: resource_id.clone(),
        environment_id: env_id.to_owned(),
        workspace_name: None,
        created_time,
        created_by: creator.clone(),
        modified_time: time(item, "/properties/lastModifiedTime"),
        modified_by: None,
        published_time: None,
        published_by: None,
        state: text(item, "/properties/state").map(str::to_owned),
        app_type: None,
        alm_mode: None,
        // Only flows in solutions have a Dataverse `workflow` row; the listing names it.
        workflow_entity_id: id(item, "/properties/workflowEntityId"),
        is_managed: boolean(item, "/properties/isManaged"),
        solution_id: None,
        unique_name: None,
    };
    // `creator.userType` was only seen as `ActiveDirectory` (a user); a flow whose API
    // entry names no creator still gets its creator row, empty, so the audit can say so.
    let principal_type = match (&creator, text(item, "/properties/creator/userType")) {
        (None, _) => PrincipalType::Unknown,
        (Some(_), Some(t)) => PrincipalType::from_api(t),
        (Some(_), None) => PrincipalType::Unknown,
    };
    let role = RoleAssignment {
        resource_type: ResourceType::Flow,
        resource_id,
        role: Role::Creator,
        principal_id_kind: if creator.is_some() {
            PrincipalIdKind::EntraObjectId
        } else {
            PrincipalIdKind::None
        },
        principal_id: creator.unwrap_or_default(),
        principal_type,
        display_name: None,
        assigned_on: created_time,
    };
    Some((resource, role))
}

pub(crate) async fn collect(ctx: &Ctx, env: &EnvInfo) {
    let env_seg = encode_path_segment(&env.name);
    let prefix = format!("/providers/Microsoft.ProcessSimple/scopes/admin/environments/{env_seg}");
    permissions::collect_listing(
        ctx,
        Listing {
            collector: FLOWS,
            permissions_collector: PERMISSIONS,
            resource_type: ResourceType::Flow,
            progress: "flows",
            skipped: "a flow without `name` was skipped",
            env,
            base: &ctx.config.endpoints.flow,
            token: ctx.token(&ctx.config.scopes.flow),
            list_path: format!("{prefix}/v2/flows"),
            list_query: &[
                ("api-version", "2016-11-01"),
                ("include", "includeSolutionCloudFlows"),
            ],
            parent: format!("{prefix}/flows"),
            filter_environment: false,
            rows: |item, env_id| flow_rows(item, env_id).map(|(r, c)| (r, Some(c))),
            permissions: ctx.config.collect.flow_owners == FlowOwners::All,
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_and_their_creator() {
        let item = serde_json::json!({
            "name": "FC2D4EF5-4151-4E93-9AAA-1F380D7ED95D",
            "properties": { "displayName": "Invoicing flow", "state": "Started",
                "createdTime": "2024-07-09T21:32:15Z", "lastModifiedTime": "2024-07-10T21:32:15Z",
                "creator": { "objectId": "9723D9B0-B8D6-48AF-B381-FB4A9F0403E4", "userType": "ActiveDirectory" } }
        });
        let (r, c) = flow_rows(&item, "env").unwrap();
        assert_eq!(r.resource_id, "fc2d4ef5-4151-4e93-9aaa-1f380d7ed95d");
        assert_eq!(
            r.created_by.as_deref(),
            Some("9723d9b0-b8d6-48af-b381-fb4a9f0403e4")
        );
        assert_eq!(r.state.as_deref(), Some("Started"));
        assert_eq!(c.role, Role::Creator);
        assert_eq!(c.principal_type, PrincipalType::User);
        assert_eq!(c.assigned_on, r.created_time);

        let (_, c) = flow_rows(&serde_json::json!({"name": "f", "properties": {}}), "env").unwrap();
        assert_eq!(
            (c.principal_id.as_str(), c.principal_id_kind),
            ("", PrincipalIdKind::None)
        );
    }
}
