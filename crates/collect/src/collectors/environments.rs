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
    let mut pager = LinkPager::new(
        &ctx.http,
        ApiRequest::get(url).bearer(token).for_collector(COLLECTOR),
    );
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
            let (Some(row), Some(name)) = (environment_row(item), text(item, "/name")) else {
                ctx.item_error(
                    COLLECTOR,
                    None,
                    &page.endpoint,
                    "an environment without `name` was skipped".into(),
                );
                continue;
            };
            let env_id = row.environment_id.clone();
            // An environment listed again is written again so the writer reports it, but
            // its apps, flows and tables are read once.
            let again = !found.insert(env_id.clone());
            if allow.as_ref().is_some_and(|a| !a.contains(env_id.as_str())) {
                continue;
            }
            let api_url = row.dataverse_url.clone();
            ctx.emit(RowMsg::Environment(row)).await;
            if again {
                continue;
            }
            ctx.progress.add("environments", 1);
            let dataverse = match api_url {
                Some(api_url) if dataverse_allowed(&ctx.config, &api_url) => {
                    // The token's audience too comes from the page: `instanceUrl` only
                    // when it is a Dataverse host as well, else the API URL itself.
                    let instance_url =
                        text(item, "/properties/linkedEnvironmentMetadata/instanceUrl")
                            .filter(|u| dataverse_allowed(&ctx.config, u));
                    Some(Dataverse {
                        scope: dataverse_scope(instance_url, &api_url),
                        api_url,
                    })
                }
                Some(api_url) => {
                    ctx.item_error(
                        "systemusers",
                        Some(&env_id),
                        &page.endpoint,
                        format!(
                            "the environment's instanceApiUrl `{}` is not a Dataverse host of the {} cloud nor an [endpoints] override; no token is sent there, so its Dataverse tables were not read",
                            crate::secret::scrub_url_text(&api_url),
                            ctx.config.cloud
                        ),
                    );
                    None
                }
                None => None,
            };
            envs.push(EnvInfo {
                id: env_id,
                name: name.to_owned(),
                dataverse,
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

/// An environments-page item as an environment row (`None` without a `name`).
pub(crate) fn environment_row(item: &serde_json::Value) -> Option<Environment> {
    let env_id = id(item, "/name")?;
    let name = text(item, "/name")?;
    Some(Environment {
        display_name: text(item, "/properties/displayName")
            .unwrap_or(name)
            .to_owned(),
        environment_id: env_id,
        environment_type: text(item, "/properties/environmentSku")
            .unwrap_or("")
            .to_owned(),
        is_default: boolean(item, "/properties/isDefault").unwrap_or(false),
        dataverse_url: text(item, "/properties/linkedEnvironmentMetadata/instanceApiUrl")
            .map(|u| u.trim_end_matches('/').to_owned()),
        region: text(item, "/location").map(str::to_owned),
    })
}

/// Whether a Dataverse URL from the environments page may get a token: https to a
/// Dataverse host of the configured cloud, or the origin of an `[endpoints]` override
/// (a replay server, a proxy the partner set up). Anything else would hand a token to a
/// host the page chose.
pub(crate) fn dataverse_allowed(config: &crate::config::Config, url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    let preset = crate::cloud::Endpoints::for_cloud(config.cloud);
    let e = &config.endpoints;
    let overridden = [
        (&e.bap, &preset.bap),
        (&e.powerapps, &preset.powerapps),
        (&e.flow, &preset.flow),
        (&e.powerbi, &preset.powerbi),
        (&e.graph, &preset.graph),
        (&e.arm, &preset.arm),
    ];
    if overridden.iter().any(|(set, preset)| {
        set != preset && url::Url::parse(set).is_ok_and(|s| s.origin() == url.origin())
    }) {
        return true;
    }
    url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && url
            .host_str()
            .is_some_and(|h| config.cloud.is_dataverse_host(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AuthMethod, Cloud, Config};

    #[test]
    fn dataverse_urls_stay_on_dataverse_hosts_or_overrides() {
        let public = Config::new("t", Cloud::Public, AuthMethod::AzureCli);
        assert!(dataverse_allowed(
            &public,
            "https://org.api.crm.dynamics.com"
        ));
        assert!(!dataverse_allowed(
            &public,
            "https://org.api.crm.dynamics.com:8443"
        ));
        assert!(!dataverse_allowed(
            &public,
            "http://org.api.crm.dynamics.com"
        ));
        assert!(!dataverse_allowed(&public, "https://attacker.example.net"));
        assert!(!dataverse_allowed(&public, "https://api.bap.microsoft.com"));
        assert!(!dataverse_allowed(
            &public,
            "http://127.0.0.1:9/dataverse/x"
        ));
        let replay = Config::for_replay("t", "http://127.0.0.1:9");
        assert!(dataverse_allowed(&replay, "http://127.0.0.1:9/dataverse/x"));
        assert!(!dataverse_allowed(
            &replay,
            "http://127.0.0.1:10/dataverse/x"
        ));
        assert!(dataverse_allowed(
            &replay,
            "https://org.api.crm.dynamics.com"
        ));
        let gcc = Config::new("t", Cloud::Gcc, AuthMethod::AzureCli);
        assert!(!dataverse_allowed(&gcc, "https://org.api.crm.dynamics.com"));
    }
}
