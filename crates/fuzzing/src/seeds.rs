//! Seeds for every target, taken from what the repository already holds: the recorded
//! API pages under `fixtures/tenants`, the sample identities files, the bundled rules, the
//! config and suppressions examples of the documentation, and a snapshot written by the
//! snapshot writer itself. Fuzzing starts from valid inputs so mutations reach past the
//! first syntax check.

use crate::{Target, repo_root};
use chrono::TimeZone;
use palaudit_collect::fuzz::Api;
use palaudit_model::{
    Environment, Inventory, Principal, PrincipalIdKind, PrincipalType, Resource, ResourceType,
    Role, RoleAssignment, SystemUser,
};
use std::path::{Path, PathBuf};

/// The tenant of the generated seeds.
pub const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

/// The seeds of `target`, as (where it came from, bytes). `scratch` is a directory the
/// snapshot seeds may be written to.
pub fn seeds(target: Target, scratch: &Path) -> Vec<(String, Vec<u8>)> {
    let root = repo_root();
    let fixtures = root.join("fixtures/tenants");
    let pages = |pick: &dyn Fn(&str) -> bool| -> Vec<(String, Vec<u8>)> {
        files_under(&fixtures)
            .into_iter()
            .filter(|p| {
                let rel = p.strip_prefix(&fixtures).unwrap_or(p).to_string_lossy();
                p.extension().is_some_and(|x| x == "json") && pick(&rel)
            })
            .filter_map(|p| read(&p))
            .collect()
    };
    let mut seeds = match target {
        Target::Identities => files_under(&fixtures)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "identities.csv"))
            .filter_map(|p| read(&p))
            .collect(),
        Target::Config => fenced(&root.join("crates/collect/src/config.rs"), "toml", "//! "),
        Target::Rules => files_under(&root.join("rules"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter_map(|p| read(&p))
            .collect(),
        Target::Suppressions => fenced(&root.join("docs/suppressions.md"), "toml", ""),
        Target::RosterCheck => vec![("generated".into(), roster_check())],
        Target::Manifest | Target::SnapshotTable => snapshot(target, scratch),
        Target::Api(api) => pages(&|rel: &str| match api {
            Api::Environments => rel.contains("/bap/"),
            Api::CanvasApps => rel.contains("/powerapps/") && !rel.contains("permissions"),
            Api::Permissions => rel.contains("permissions"),
            Api::Flows => rel.contains("/flow/") && !rel.contains("permissions"),
            Api::Dataverse => rel.contains("/dataverse/"),
            Api::PowerBi => rel.contains("/powerbi/"),
            Api::GraphBatch => rel.contains("/graph/"),
            Api::RetryAfter => false,
        }),
    };
    if target == Target::Api(Api::RetryAfter) {
        for v in ["120", "0", "Wed, 21 Oct 2015 07:28:00 GMT", "1.5"] {
            seeds.push(("literal".into(), v.as_bytes().to_vec()));
        }
    }
    seeds.sort();
    seeds
}

fn read(p: &Path) -> Option<(String, Vec<u8>)> {
    std::fs::read(p).ok().map(|b| (p.display().to_string(), b))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The fenced code blocks of language `lang` in `file`, with `prefix` taken off each line
/// (`//! ` for a Rust module's documentation).
fn fenced(file: &Path, lang: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line
            .strip_prefix(prefix)
            .or_else(|| line.strip_prefix(prefix.trim_end()))
            .unwrap_or(line);
        let fence = line.trim_start();
        match &mut current {
            None if fence == format!("```{lang}") => current = Some(String::new()),
            Some(block) if fence == "```" => {
                blocks.push((
                    format!("{}#{}", file.display(), blocks.len()),
                    std::mem::take(block).into_bytes(),
                ));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

fn roster_check() -> Vec<u8> {
    let json = serde_json::json!({
        "tenant_id": TENANT,
        "checked_at": "2026-11-30T10:00:00Z",
        "subscriptions": 2,
        "notes": ["subscription 1 could not be read"],
        "identities": [{
            "line": 2,
            "partner_id": "4829301",
            "principal_type": "user",
            "object_id": "7f3e2d1c-0b9a-4876-9543-210fedcba987",
            "upn": "pat@fabrikam.com",
            "link_state": "linked",
            "linked_partner_id": "4829301",
            "detail": "read with the identity's own token",
            "rbac_assignments": 1,
            "rbac_scopes": ["/subscriptions/1"],
            "fix": []
        }]
    });
    serde_json::to_vec_pretty(&json).unwrap_or_default()
}

/// A small snapshot written by the real writer: its manifest, or its tables (each
/// prefixed with the byte that picks it in [`Target::SnapshotTable`]).
fn snapshot(target: Target, scratch: &Path) -> Vec<(String, Vec<u8>)> {
    let out = scratch.join(format!("seed-snapshot-{}", target.name()));
    let t = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).single();
    let inv = Inventory {
        tenant_id: TENANT.into(),
        environments: vec![Environment {
            environment_id: "env1".into(),
            display_name: "Contoso Prod".into(),
            environment_type: "Production".into(),
            is_default: false,
            dataverse_url: Some("https://org.api.crm.dynamics.com".into()),
            region: Some("europe".into()),
        }],
        resources: vec![Resource {
            resource_type: ResourceType::CanvasApp,
            resource_id: "a1".into(),
            environment_id: "env1".into(),
            display_name: "Expenses".into(),
            workspace_name: None,
            created_time: t,
            created_by: Some("o1".into()),
            modified_time: t,
            modified_by: Some("o1".into()),
            published_time: None,
            published_by: None,
            state: Some("Published".into()),
            app_type: Some("ClassicCanvasApp".into()),
            alm_mode: Some("Environment".into()),
            workflow_entity_id: None,
            is_managed: Some(false),
            solution_id: None,
            unique_name: None,
        }],
        role_assignments: vec![RoleAssignment {
            resource_type: ResourceType::CanvasApp,
            resource_id: "a1".into(),
            role: Role::Owner,
            principal_id: "o1".into(),
            principal_id_kind: PrincipalIdKind::EntraObjectId,
            principal_type: PrincipalType::User,
            display_name: Some("Pat".into()),
            assigned_on: t,
        }],
        principals: vec![Principal {
            object_id: "o1".into(),
            app_id: None,
            upn: Some("pat@fabrikam.com".into()),
            mail: None,
            display_name: Some("Pat".into()),
            principal_type: PrincipalType::User,
            user_type: Some("Guest".into()),
            enabled: Some(true),
            deleted: false,
            external_user_state: Some("Accepted".into()),
        }],
        systemusers: vec![SystemUser {
            environment_id: "env1".into(),
            systemuser_id: "su1".into(),
            azure_ad_object_id: Some("o1".into()),
            application_id: None,
            domain_name: Some("pat@fabrikam.com".into()),
            full_name: Some("Pat".into()),
            is_disabled: Some(false),
            access_mode: Some(0),
        }],
    };
    let Some(when) = t else { return Vec::new() };
    if palaudit_snapshot::write_inventory(&inv, &out, when).is_err() {
        return Vec::new();
    }
    match target {
        Target::Manifest => read(&out.join(palaudit_snapshot::MANIFEST_FILE))
            .into_iter()
            .collect(),
        _ => palaudit_snapshot::TABLES
            .iter()
            .enumerate()
            .filter_map(|(i, table)| {
                let (name, bytes) = read(&out.join(format!("{table}.parquet")))?;
                let mut picked = vec![i as u8];
                picked.extend(bytes);
                Some((name, picked))
            })
            .collect(),
    }
}
