//! One row per thing, however the APIs page: an environment, workspace, resource or
//! systemuser that arrives twice (the same item on two pages, or a page served again) is
//! written once, and reported as a collection error naming it, so it is never counted
//! twice and the inconsistency is not hidden. Role assignments and principals that repeat
//! exactly are merged without a word: a resource read twice brings its holders twice.

use palaudit_model::{
    CollectionError, Environment, Principal, Resource, ResourceType, RoleAssignment, SystemUser,
};
use std::collections::{HashMap, HashSet};

/// The keys written so far, and what arrived more than once.
#[derive(Default)]
pub(crate) struct Dedup {
    environments: HashMap<String, u32>,
    resources: HashMap<(ResourceType, String, String), u32>,
    systemusers: HashSet<(String, String)>,
    roles: HashSet<String>,
    principals: HashSet<String>,
    errors: Vec<CollectionError>,
}

/// The collector that lists a resource type, for the error's `collector`.
fn collector_of(t: ResourceType) -> &'static str {
    match t {
        ResourceType::CanvasApp => "canvas_apps",
        ResourceType::ModelDrivenApp => "appmodules",
        ResourceType::Flow => "flows",
        ResourceType::PowerbiDataset => "powerbi",
        ResourceType::Bot => "bots",
    }
}

impl Dedup {
    /// Whether `e` is new (to be written).
    pub(crate) fn environment(&mut self, e: &Environment) -> bool {
        let n = self
            .environments
            .entry(e.environment_id.clone())
            .or_default();
        *n += 1;
        if *n == 2 {
            let (collector, what) = if e.environment_type.starts_with("PowerBI") {
                ("powerbi", "workspace")
            } else {
                ("environments", "environment")
            };
            self.errors.push(CollectionError {
                collector: collector.into(),
                scope: Some(e.environment_id.clone()),
                endpoint: None,
                status: None,
                message: format!(
                    "the {what} `{}` was listed more than once; it is counted once, but the API's paging is inconsistent, so items may also be missing",
                    e.display_name
                ),
            });
        }
        *n == 1
    }

    pub(crate) fn resource(&mut self, r: &Resource) -> bool {
        let key = (
            r.resource_type,
            r.environment_id.clone(),
            r.resource_id.clone(),
        );
        let n = self.resources.entry(key).or_default();
        *n += 1;
        if *n == 2 {
            self.errors.push(CollectionError {
                collector: collector_of(r.resource_type).into(),
                scope: Some(r.environment_id.clone()),
                endpoint: None,
                status: None,
                message: format!(
                    "{} {} `{}` was listed more than once; it is counted once, but the API's paging is inconsistent, so items may also be missing",
                    r.resource_type, r.resource_id, r.display_name
                ),
            });
        }
        *n == 1
    }

    pub(crate) fn systemuser(&mut self, u: &SystemUser) -> bool {
        self.systemusers
            .insert((u.environment_id.clone(), u.systemuser_id.clone()))
    }

    pub(crate) fn role_assignment(&mut self, r: &RoleAssignment) -> bool {
        // Every field is part of the key: only exact repeats are merged.
        self.roles.insert(format!("{r:?}"))
    }

    pub(crate) fn principal(&mut self, p: &Principal) -> bool {
        self.principals.insert(format!("{p:?}"))
    }

    /// The duplicates reported.
    pub(crate) fn into_errors(self) -> Vec<CollectionError> {
        self.errors
    }
}
