//! The synthetic tenant the scale benchmarks audit: 200 environments, 20,000 users of whom
//! 200 are partner identities (guests), every resource type with owners, co-owners,
//! creators, publishers and viewers, and the PAL identities file that lists those partner
//! users.
//!
//! Shared by `crates/rules/benches/audit_scale.rs` (one tenant through the engine) and
//! `crates/cli/benches/portfolio_scale.rs` (many tenants through `palaudit audit`); it
//! needs `chrono`, `palaudit-model` and `palaudit-snapshot`. Each includes the parts it
//! uses, hence the `dead_code` allowance.

#![allow(dead_code)]

use chrono::{Duration, TimeZone, Utc};
use palaudit_model::{
    Environment, Principal, PrincipalIdKind, PrincipalType, Resource, ResourceType, Role,
    RoleAssignment, SystemUser,
};
use palaudit_snapshot::SnapshotWriter;
use std::path::Path;

/// The tenant of a single-tenant run.
pub const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";
pub const ENVIRONMENTS: usize = 200;
pub const USERS: usize = 20_000;
/// The first `PARTNER_USERS` users are the partner's (guests listed in the roster).
pub const PARTNER_USERS: usize = 200;

pub fn guid(kind: u32, n: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// The tenant id of the `index`-th tenant of a portfolio: distinct for every index, and
/// from every id the generator gives users, environments and resources.
pub fn tenant_id(index: usize) -> String {
    guid(5, index)
}

/// Writes a snapshot of the synthetic tenant `tenant` with `n` resources to `dir`.
pub fn generate(dir: &Path, tenant: &str, n: usize) {
    let mut w = SnapshotWriter::create(dir).unwrap();
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    for e in 0..ENVIRONMENTS {
        w.environment(&Environment {
            environment_id: guid(1, e),
            display_name: format!("Environment {e}"),
            environment_type: if e % 5 == 0 { "Sandbox" } else { "Production" }.into(),
            is_default: e == 0,
            dataverse_url: Some(format!("https://org{e}.api.crm.dynamics.com")),
            region: None,
        })
        .unwrap();
        for u in 0..(USERS / ENVIRONMENTS) {
            let user = e * (USERS / ENVIRONMENTS) + u;
            w.systemuser(&SystemUser {
                environment_id: guid(1, e),
                systemuser_id: guid(2, user),
                azure_ad_object_id: Some(guid(3, user)),
                application_id: None,
                domain_name: Some(format!("user{user}@contoso.com")),
                full_name: Some(format!("User {user}")),
                is_disabled: Some(false),
                access_mode: Some(0),
            })
            .unwrap();
        }
    }
    for user in 0..USERS {
        w.principal(&Principal {
            object_id: guid(3, user),
            app_id: None,
            upn: Some(format!("user{user}@contoso.com")),
            mail: None,
            display_name: Some(format!("User {user}")),
            principal_type: PrincipalType::User,
            user_type: Some(
                if user < PARTNER_USERS {
                    "Guest"
                } else {
                    "Member"
                }
                .into(),
            ),
            enabled: Some(user % 97 != 0),
            deleted: user % 193 == 0,
            external_user_state: None,
        })
        .unwrap();
    }
    for i in 0..n {
        let rt = ResourceType::ALL[i % 5];
        let env = i % ENVIRONMENTS;
        let user = (i * 7919) % USERS;
        let env_user = env * (USERS / ENVIRONMENTS) + (i % (USERS / ENVIRONMENTS));
        let at = t0 + Duration::minutes(i as i64);
        let id = guid(4, i);
        let (actor, kind) = match rt {
            ResourceType::ModelDrivenApp | ResourceType::Bot => {
                (guid(2, env_user), PrincipalIdKind::DataverseSystemUser)
            }
            ResourceType::PowerbiDataset => {
                (format!("user{user}@contoso.com"), PrincipalIdKind::Upn)
            }
            _ => (guid(3, user), PrincipalIdKind::EntraObjectId),
        };
        w.resource(&Resource {
            resource_type: rt,
            resource_id: id.clone(),
            environment_id: guid(1, env),
            display_name: format!("Resource {i}"),
            workspace_name: None,
            created_time: Some(at),
            created_by: Some(actor.clone()),
            modified_time: Some(at),
            modified_by: Some(actor.clone()),
            published_time: None,
            published_by: None,
            state: None,
            app_type: None,
            alm_mode: None,
            workflow_entity_id: None,
            is_managed: None,
            solution_id: None,
            unique_name: None,
        })
        .unwrap();
        let mut assign = |role: Role, pid: String, kind: PrincipalIdKind| {
            w.role_assignment(&RoleAssignment {
                resource_type: rt,
                resource_id: id.clone(),
                role,
                principal_id: pid,
                principal_id_kind: kind,
                principal_type: PrincipalType::User,
                display_name: None,
                assigned_on: Some(at),
            })
            .unwrap();
        };
        // Three role assignments per resource on average (3,000,000 for a million).
        let other = |k: usize| guid(3, (user + k) % USERS);
        match rt {
            ResourceType::CanvasApp => {
                assign(Role::Owner, actor, kind);
                assign(Role::CoOwner, other(1), kind);
                assign(Role::CoOwner, other(4), kind);
                assign(Role::Viewer, other(2), kind);
                assign(Role::Viewer, other(5), kind);
            }
            ResourceType::Flow => {
                assign(Role::Creator, actor.clone(), kind);
                // The creator is listed among the owners too, as Power Automate does.
                assign(Role::Owner, actor, kind);
                assign(Role::CoOwner, other(3), kind);
            }
            ResourceType::Bot => {
                assign(Role::Creator, actor.clone(), kind);
                assign(Role::Owner, actor.clone(), kind);
                assign(Role::Viewer, actor, kind);
            }
            ResourceType::ModelDrivenApp => {
                assign(Role::Creator, actor.clone(), kind);
                assign(Role::Owner, actor, kind);
            }
            ResourceType::PowerbiDataset => {
                assign(Role::Publisher, actor, kind);
                assign(
                    Role::Viewer,
                    format!("user{}@contoso.com", (user + 6) % USERS),
                    kind,
                );
            }
        }
    }
    w.finish(tenant, Utc::now(), Vec::new()).unwrap();
}

/// The PAL identities file for `tenants`: the partner users of each, split between two
/// partner IDs.
pub fn roster_csv_text(tenants: &[&str]) -> String {
    let mut csv =
        String::from("partner_id,tenant_id,principal_type,object_id,app_id,upn,display_name\n");
    for tenant in tenants {
        for user in 0..PARTNER_USERS {
            let partner = if user % 2 == 0 { "1234567" } else { "7654321" };
            csv.push_str(&format!("{partner},{tenant},user,{},,,\n", guid(3, user)));
        }
    }
    csv
}
