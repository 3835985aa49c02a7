//! Power BI: workspaces (as environments rows) and their datasets, with the publisher
//! (`configuredBy`, a UPN) as the attributing role.
//!
//! Two ways to read them (`[collect] powerbi`):
//! - `groups`: `GET admin/groups?$expand=datasets&$top=N&$skip=M`, until a short page;
//! - `scanner`: `GET admin/workspaces/modified` (every workspace id), `POST
//!   admin/workspaces/getInfo` per 100 ids (no artifact users: the publisher is
//!   `configuredBy`, and user lists would only make scans heavier), poll `scanStatus` with
//!   backoff until `Succeeded`/`Failed`, then `GET scanResult`;
//! - `auto` pages through `groups` and, once `powerbi_auto_threshold` workspaces have
//!   been read with more to come, scans the rest.
//!
//! Request rates stay within the published quotas ([`super::PowerBiLimits`]).

use super::json::{get_ci, id, text};
use super::{Ctx, PrincipalKey, RowMsg};
use crate::config::PowerBiMode;
use crate::http::paging::SkipPager;
use crate::http::url::{build_url, encode_path_segment};
use crate::http::{ApiRequest, Endpoint, HttpError};
use futures::StreamExt;
use palaudit_model::{
    Environment, PrincipalIdKind, PrincipalType, Resource, ResourceType, Role, RoleAssignment,
};
use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const COLLECTOR: &str = "powerbi";
/// Workspaces per `getInfo` call (the API takes 1–100).
const SCAN_CHUNK: usize = 100;
/// How long one scan may take before palaudit gives up on it.
const SCAN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub(crate) async fn collect(ctx: &Ctx) {
    match ctx.config.collect.powerbi {
        PowerBiMode::Off => {}
        PowerBiMode::Groups => {
            groups(ctx, None).await;
        }
        PowerBiMode::Scanner => scanner(ctx, &HashSet::new()).await,
        PowerBiMode::Auto => {
            let threshold = ctx.config.collect.powerbi_auto_threshold;
            if let Some(read) = groups(ctx, Some(threshold)).await {
                tracing::info!(
                    "Power BI: {} workspaces read through admin/groups; scanning the rest",
                    read.len()
                );
                scanner(ctx, &read).await;
            }
        }
    }
}

fn base(ctx: &Ctx) -> &str {
    &ctx.config.endpoints.powerbi
}

/// Reads workspaces through `admin/groups`. With `stop_after`, stops once that many have
/// been read and more remain, returning the ids read so the scanner can do the rest.
async fn groups(ctx: &Ctx, stop_after: Option<usize>) -> Option<HashSet<String>> {
    let url = match build_url(
        base(ctx),
        "/v1.0/myorg/admin/groups",
        &[("$expand", "datasets")],
    ) {
        Ok(u) => u,
        Err(e) => {
            ctx.scope_error(COLLECTOR, None, e.to_string());
            return None;
        }
    };
    let top = ctx.config.collect.powerbi_page_size;
    let token = ctx.token(&ctx.config.scopes.powerbi);
    let mut pager = SkipPager::new(
        &ctx.http,
        ApiRequest::get(url).bearer(token).for_collector(COLLECTOR),
        top,
    );
    let mut read = HashSet::new();
    loop {
        ctx.powerbi_limits.groups.acquire().await;
        let page = match pager.next_page().await? {
            Ok(p) => p,
            Err(e) => {
                ctx.http_error(&e, COLLECTOR, None);
                return None;
            }
        };
        ctx.save_raw(COLLECTOR, &page.endpoint, &page.raw).await;
        let full = page.items.len() >= top as usize;
        for ws in &page.items {
            if let Some(id) = workspace(ctx, ws, &page.endpoint).await
                && stop_after.is_some()
            {
                read.insert(id);
            }
        }
        if let Some(limit) = stop_after
            && full
            && read.len() >= limit
        {
            return Some(read);
        }
    }
}

/// Writes one workspace (groups or scanResult shape) and its datasets; returns its id.
async fn workspace(ctx: &Ctx, ws: &Value, endpoint: &Endpoint) -> Option<String> {
    let Some(ws_id) = id(ws, "/id") else {
        ctx.item_error(
            COLLECTOR,
            None,
            endpoint,
            "a workspace without `id` was skipped".into(),
        );
        return None;
    };
    let name = text(ws, "/name").unwrap_or(&ws_id).to_owned();
    let personal = text(ws, "/type").is_some_and(|t| {
        t.eq_ignore_ascii_case("PersonalGroup") || t.eq_ignore_ascii_case("Personal")
    });
    ctx.emit(RowMsg::Environment(Environment {
        environment_id: ws_id.clone(),
        display_name: name.clone(),
        environment_type: if personal {
            "PowerBIPersonal"
        } else {
            "PowerBIWorkspace"
        }
        .into(),
        is_default: false,
        dataverse_url: None,
        region: None,
    }))
    .await;
    ctx.progress.add("Power BI workspaces", 1);
    // A dataset has no state of its own in these listings; it carries its workspace's
    // (`Active`, `Removing`, `Deleted`), so the audit can tell live work from work that
    // is going away.
    let ws_state = text(ws, "/state");
    // Absent or `null`: a workspace without datasets. Any other shape would lose them
    // without a word, so it is a collection error for the workspace.
    let datasets = match ws.get("datasets") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(list),
        Some(other) => {
            ctx.item_error(
                COLLECTOR,
                Some(&ws_id),
                endpoint,
                format!(
                    "the workspace's `datasets` is {}, not an array; its datasets were not collected",
                    crate::http::paging::json_kind(other)
                ),
            );
            None
        }
    };
    for ds in datasets.into_iter().flatten() {
        let Some((mut resource, publisher)) = dataset_rows(ds, &ws_id, &name) else {
            ctx.item_error(
                COLLECTOR,
                Some(&ws_id),
                endpoint,
                "a dataset without `id` was skipped".into(),
            );
            continue;
        };
        resource.state = ws_state.map(str::to_owned);
        if !publisher.principal_id.is_empty() {
            ctx.resolve(PrincipalKey::Upn(publisher.principal_id.clone()));
        }
        ctx.emit(RowMsg::Resource(resource)).await;
        ctx.emit(RowMsg::RoleAssignment(publisher)).await;
        ctx.progress.add("Power BI datasets", 1);
    }
    Some(ws_id)
}

/// A dataset as a resource and its publisher (`configuredBy`; empty when absent).
pub(crate) fn dataset_rows(
    ds: &Value,
    ws_id: &str,
    ws_name: &str,
) -> Option<(Resource, RoleAssignment)> {
    let resource_id = id(ds, "/id")?;
    let configured_by = id(ds, "/configuredBy");
    // `createdDate` on the admin APIs, `CreatedDate` in the scanner swagger.
    let created_time = get_ci(ds, "createdDate")
        .and_then(Value::as_str)
        .and_then(super::json::parse_time);
    let resource = Resource {
        resource_type: ResourceType::PowerbiDataset,
        display_name: text(ds, "/name").unwrap_or(&resource_id).to_owned(),
        resource_id: resource_id.clone(),
        environment_id: ws_id.to_owned(),
        workspace_name: Some(ws_name.to_owned()),
        created_time,
        created_by: configured_by.clone(),
        modified_time: None,
        modified_by: None,
        published_time: None,
        published_by: None,
        state: None,
        app_type: None,
        alm_mode: None,
        workflow_entity_id: None,
        is_managed: None,
        solution_id: None,
        unique_name: None,
    };
    let publisher = RoleAssignment {
        resource_type: ResourceType::PowerbiDataset,
        resource_id,
        role: Role::Publisher,
        principal_id_kind: if configured_by.is_some() {
            PrincipalIdKind::Upn
        } else {
            PrincipalIdKind::None
        },
        principal_type: if configured_by.is_some() {
            PrincipalType::User
        } else {
            PrincipalType::Unknown
        },
        principal_id: configured_by.unwrap_or_default(),
        display_name: None,
        assigned_on: None,
    };
    Some((resource, publisher))
}

/// The scanner: every workspace id except `skip`, scanned 100 at a time.
async fn scanner(ctx: &Ctx, skip: &HashSet<String>) {
    let token = ctx.token(&ctx.config.scopes.powerbi);
    // Deleted and removing workspaces are left out: they hold nothing to credit, and a
    // scan of one would come back without it.
    let url = match build_url(
        base(ctx),
        "/v1.0/myorg/admin/workspaces/modified",
        &[("excludeInActiveWorkspaces", "true")],
    ) {
        Ok(u) => u,
        Err(e) => return ctx.scope_error(COLLECTOR, None, e.to_string()),
    };
    ctx.powerbi_limits.modified.acquire().await;
    let req = ApiRequest::get(url)
        .bearer(token.clone())
        .for_collector(COLLECTOR);
    let listed = async {
        let resp = ctx.http.send(&req).await?;
        let body = resp.json()?;
        let Some(list) = body.as_array() else {
            return Err(HttpError::MalformedPage {
                endpoint: resp.endpoint.clone(),
                message: "expected a JSON array of workspaces".into(),
            });
        };
        let ids: Vec<String> = list
            .iter()
            .filter_map(|w| text(w, "/id").map(str::to_owned))
            .collect();
        if ids.len() < list.len() {
            ctx.item_error(
                COLLECTOR,
                None,
                &resp.endpoint,
                format!(
                    "{} workspace(s) without `id` were skipped",
                    list.len() - ids.len()
                ),
            );
        }
        Ok((ids, resp.body, resp.endpoint))
    }
    .await;
    let ids = match listed {
        Ok((ids, raw, endpoint)) => {
            ctx.save_raw(COLLECTOR, &endpoint, &raw).await;
            ids
        }
        Err(e) => return ctx.http_error(&e, COLLECTOR, None),
    };
    let todo: Vec<String> = ids
        .into_iter()
        .filter(|i| !skip.contains(&i.to_ascii_lowercase()))
        .collect();
    let chunks: Vec<Vec<String>> = todo.chunks(SCAN_CHUNK).map(<[String]>::to_vec).collect();
    futures::stream::iter(chunks)
        .map(|chunk| scan(ctx, chunk))
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

async fn scan(ctx: &Ctx, ids: Vec<String>) {
    let Ok(_slot) = ctx.powerbi_limits.get_info_slots.acquire().await else {
        return;
    };
    let token = ctx.token(&ctx.config.scopes.powerbi);
    let scope = format!("scan of {} workspace(s)", ids.len());
    let result = async {
        let url = build_url(base(ctx), "/v1.0/myorg/admin/workspaces/getInfo", &[])?;
        ctx.powerbi_limits.get_info.acquire().await;
        let req = ApiRequest::post_json(url, serde_json::json!({ "workspaces": ids }))
            .bearer(token.clone())
            .for_collector(COLLECTOR);
        let resp = ctx.http.send(&req).await?;
        let body = resp.json()?;
        let scan_id = text(&body, "/id")
            .ok_or_else(|| HttpError::MalformedPage {
                endpoint: resp.endpoint.clone(),
                message: "the getInfo answer has no scan `id`".into(),
            })?
            .to_owned();
        let scan_seg = encode_path_segment(&scan_id);

        // Poll with backoff: 0.5 s, 1 s, 2 s, … up to 10 s between polls.
        let started = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
            let url = build_url(
                base(ctx),
                &format!("/v1.0/myorg/admin/workspaces/scanStatus/{scan_seg}"),
                &[],
            )?;
            ctx.powerbi_limits.scan_status.acquire().await;
            let status_resp = ctx
                .http
                .send(
                    &ApiRequest::get(url)
                        .bearer(token.clone())
                        .for_collector(COLLECTOR),
                )
                .await?;
            let status = status_resp.json()?;
            match text(&status, "/status").unwrap_or("") {
                s if s.eq_ignore_ascii_case("Succeeded") => break,
                s if s.eq_ignore_ascii_case("Failed") => {
                    let why = status
                        .pointer("/error/message")
                        .or_else(|| status.pointer("/error/code"))
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given");
                    return Err(HttpError::MalformedPage {
                        endpoint: status_resp.endpoint.clone(),
                        message: format!("the scan failed: {why}"),
                    });
                }
                _ if started.elapsed() > SCAN_TIMEOUT => {
                    return Err(HttpError::MalformedPage {
                        endpoint: status_resp.endpoint.clone(),
                        message: format!(
                            "the scan did not finish within {} minutes",
                            SCAN_TIMEOUT.as_secs() / 60
                        ),
                    });
                }
                _ => {}
            }
        }

        let url = build_url(
            base(ctx),
            &format!("/v1.0/myorg/admin/workspaces/scanResult/{scan_seg}"),
            &[],
        )?;
        ctx.powerbi_limits.scan_result.acquire().await;
        let result = ctx
            .http
            .send(
                &ApiRequest::get(url)
                    .bearer(token.clone())
                    .for_collector(COLLECTOR),
            )
            .await?;
        let body = result.json()?;
        if !body.get("workspaces").is_some_and(Value::is_array) {
            return Err(HttpError::MalformedPage {
                endpoint: result.endpoint.clone(),
                message: "expected a JSON object with a `workspaces` array".into(),
            });
        }
        Ok((body, result.body, result.endpoint))
    }
    .await;
    match result {
        Ok((body, raw, endpoint)) => {
            ctx.save_raw(COLLECTOR, &endpoint, &raw).await;
            for ws in body
                .get("workspaces")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                workspace(ctx, ws, &endpoint).await;
            }
            // Every workspace asked for must come back; one that does not is named.
            let returned: std::collections::HashSet<String> = body
                .get("workspaces")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|w| text(w, "/id").map(str::to_ascii_lowercase))
                .collect();
            for id in ids
                .iter()
                .filter(|i| !returned.contains(&i.to_ascii_lowercase()))
            {
                ctx.item_error(
                    COLLECTOR,
                    Some(id),
                    &endpoint,
                    "the workspace was scanned but is missing from the scan result; its datasets were not collected".into(),
                );
            }
        }
        Err(e) => ctx.http_error(&e, COLLECTOR, Some(&scope)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_and_publishers() {
        let ds = serde_json::json!({"id": "8CE96C50-85A0-4DB3-85C6-7CCC3ED46523", "name": "SalesModel",
            "configuredBy": "Admin@Contoso.com", "CreatedDate": "2019-04-30T21:35:15.867-07:00"});
        let (r, p) = dataset_rows(&ds, "ws", "Finance").unwrap();
        assert_eq!(r.resource_id, "8ce96c50-85a0-4db3-85c6-7ccc3ed46523");
        assert_eq!(r.workspace_name.as_deref(), Some("Finance"));
        assert!(r.created_time.is_some());
        assert_eq!(r.created_by.as_deref(), Some("admin@contoso.com"));
        assert_eq!(p.role, Role::Publisher);
        assert_eq!(
            (p.principal_id.as_str(), p.principal_id_kind),
            ("admin@contoso.com", PrincipalIdKind::Upn)
        );
        let (_, p) = dataset_rows(&serde_json::json!({"id": "d"}), "ws", "W").unwrap();
        assert_eq!(
            (p.principal_id.as_str(), p.principal_id_kind),
            ("", PrincipalIdKind::None)
        );
        assert!(dataset_rows(&serde_json::json!({"name": "x"}), "ws", "W").is_none());
    }
}
