//! Power Platform environments (BAP `scopes/admin/environments`, api-version 2020-10-01).

use super::json::{boolean, id, text};
use super::{Ctx, RowMsg};
use crate::auth::dataverse_scope;
use crate::http::ApiRequest;
use crate::http::paging::LinkPager;
use crate::http::url::build_url;
use palaudit_model::Environment;
use std::collections::HashSet;

const COLLECTOR: &str = "environments";

/// An environment's Dataverse database.
#[derive(Debug, Clone)]
pub(crate) struct Dataverse {
    /// `linkedEnvironmentMetadata.instanceApiUrl`, no trailing slash.
    pub api_url: String,
    /// Token scope derived from `instanceUrl` (or the API URL).
    pub scope: String,
}

/// What the per-environment collectors need.
#[derive(Debug, Clone)]
pub(crate) struct EnvInfo {
    /// Lower-cased `name`, as stored in the snapshot.
    pub id: String,
    /// `name` as the API wrote it, for URLs.
    pub name: String,
    pub dataverse: Option<Dataverse>,
}

/// Lists the environments, writes their rows, and returns those to collect (all, or the
/// `[collect] environments` allow-list).
pub(crate) async fn collect(ctx: &Ctx) -> Vec<EnvInfo> {
    let url = match build_url(
        &ctx.config.endpoints.bap,
        "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments",
        &[("api-version", "2020-10-01")],
    ) {
        Ok(u) => u,
        Err(e) => {
            ctx.scope_error(COLLECTOR, None, e.to_string());
            return Vec::new();
        }
    };
    let token = ctx.token(&ctx.config.scopes.bap);
    let mut pager = LinkPager::new(&ctx.http, ApiRequest::get(url).bearer(token));
    let allow: Option<HashSet<&str>> = ctx
        .config
        .collect
        .environments
        .as_ref()
        .map(|ids| ids.iter().map(String::as_str).collect());
    let mut found = HashSet::new();
    let mut envs = Vec::new();
    let mut listed = true;
    while let Some(page) = pager.next_page().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                ctx.http_error(&e, COLLECTOR, None);
                listed = false;
                break;
            }
        };
        ctx.save_raw(COLLECTOR, &page.endpoint, &page.raw).await;
        for item in &page.items {
            let (Some(env_id), Some(name)) = (id(item, "/name"), text(item, "/name")) else {
                ctx.item_error(
                    COLLECTOR,
                    None,
                    &page.endpoint,
                    "an environment without `name` was skipped".into(),
                );
                continue;
            };
            found.insert(env_id.clone());
            if allow.as_ref().is_some_and(|a| !a.contains(env_id.as_str())) {
                continue;
            }
            let api_url = text(item, "/properties/linkedEnvironmentMetadata/instanceApiUrl")
                .map(|u| u.trim_end_matches('/').to_owned());
            let row = Environment {
                environment_id: env_id.clone(),
                display_name: text(item, "/properties/displayName")
                    .unwrap_or(name)
                    .to_owned(),
                environment_type: text(item, "/properties/environmentSku")
                    .unwrap_or("")
                    .to_owned(),
                is_default: boolean(item, "/properties/isDefault").unwrap_or(false),
                dataverse_url: api_url.clone(),
                region: text(item, "/location").map(str::to_owned),
            };
            ctx.emit(RowMsg::Environment(row)).await;
            ctx.progress.add("environments", 1);
            envs.push(EnvInfo {
                id: env_id,
                name: name.to_owned(),
                dataverse: api_url.map(|api_url| Dataverse {
                    scope: dataverse_scope(
                        text(item, "/properties/linkedEnvironmentMetadata/instanceUrl"),
                        &api_url,
                    ),
                    api_url,
                }),
            });
        }
    }
    // An allow-listed environment the tenant does not have is a typo or a deletion; say so.
    if let Some(allow) = &ctx.config.collect.environments
        && listed
    {
        for wanted in allow {
            if !found.contains(wanted) {
                ctx.scope_error(
                    COLLECTOR,
                    Some(wanted),
                    "listed in [collect] environments, but the tenant has no such environment"
                        .into(),
                );
            }
        }
    }
    envs
}
