//! A bearer token goes only to the host it was issued for. A `nextLink`,
//! `@odata.nextLink` or redirect to another host, plain http off loopback, and a
//! Dataverse URL the environments page points elsewhere are refused and reported, one
//! test per API. "Another host" is a second replay server, which must receive nothing.

mod common;

use common::*;
use palaudit_replay::ReplayServer;
use serde_json::{Value, json};

const ENV: &str = "e0000000-0000-4000-8000-0000000000e1";
const APP: &str = "a0000000-0000-4000-8000-0000000000a1";
const USER: &str = "b0000000-0000-4000-8000-0000000000b1";

async fn serve_json(routes: Value) -> ReplayServer {
    let mut routes = routes;
    for r in routes["routes"].as_array_mut().unwrap() {
        for resp in r["responses"].as_array_mut().unwrap() {
            if let Some(page) = resp.as_object_mut().unwrap().remove("page") {
                resp["inline"] = Value::String(page.to_string());
            }
        }
    }
    serve_routes(&routes.to_string()).await
}

struct Outcome {
    errors: String,
    other_requests: usize,
    base: String,
}

/// One environment with Dataverse; every listing's first page links to `elsewhere`
/// (a path on the other server, or any URL), Power BI and Graph redirect there.
async fn scenario(elsewhere: impl Fn(&str) -> String, dataverse_at: Option<&str>) -> Outcome {
    let other = serve_routes(r#"{"routes":[]}"#).await;
    let away = |p: &str| elsewhere(&format!("{}{p}", other.base_url()));
    let dv = dataverse_at.map_or("{{base}}/dataverse/org1".to_owned(), |d| {
        d.replace("{{other}}", &other.base_url())
    });
    let server = serve_json(json!({"routes": [
        {"method": "GET", "path": "/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments",
         "responses": [{"page": {"value": [{"name": ENV, "properties": {"displayName": "Prod", "environmentSku": "Production",
             "linkedEnvironmentMetadata": {"instanceApiUrl": dv, "instanceUrl": "https://org1.crm.dynamics.com/"}}}],
             "nextLink": away("/bap/envs?page=2")}}]},
        {"method": "GET", "path": format!("/powerapps/providers/Microsoft.PowerApps/scopes/admin/environments/{ENV}/apps"),
         "responses": [{"page": {"value": [{"name": APP, "properties": {"displayName": "App"}}], "nextLink": away("/apps?page=2")}}]},
        {"method": "GET", "path": format!("/powerapps/providers/Microsoft.PowerApps/scopes/admin/environments/{ENV}/apps/{APP}/permissions"),
         "responses": [{"page": {"value": [{"properties": {"roleName": "Owner", "principal": {"id": USER, "type": "User"}}}]}}]},
        {"method": "GET", "path": format!("/flow/providers/Microsoft.ProcessSimple/scopes/admin/environments/{ENV}/v2/flows"),
         "responses": [{"page": {"value": [], "nextLink": away("/flows?page=2")}}]},
        {"method": "GET", "path": "/dataverse/org1/api/data/v9.2/systemusers",
         "responses": [{"page": {"value": [], "@odata.nextLink": away("/systemusers?page=2")}}]},
        {"method": "GET", "path": "/dataverse/org1/api/data/v9.2/appmodules", "responses": [{"page": {"value": []}}]},
        {"method": "GET", "path": "/dataverse/org1/api/data/v9.2/bots", "responses": [{"page": {"value": []}}]},
        {"method": "GET", "path": "/powerbi/v1.0/myorg/admin/groups",
         "responses": [{"status": 302, "headers": {"Location": away("/groups")}}]},
        {"method": "POST", "path": "/graph/v1.0/$batch",
         "responses": [{"status": 307, "headers": {"Location": away("/batch")}}]}
    ]}))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi_page_size = 5;
    let report = run(&cfg, &out).await;
    Outcome {
        errors: errors_text(&report),
        other_requests: other.requests().len(),
        base: server.base_url(),
    }
}

fn same(u: &str) -> String {
    u.to_owned()
}

fn assert_refused(o: &Outcome, collector: &str, path: &str, why: &str) {
    let line = o
        .errors
        .lines()
        .find(|l| l.starts_with(collector) && l.contains(&format!("{}{path}", o.base)))
        .unwrap_or_else(|| panic!("no {collector} error for {path}:\n{}", o.errors));
    assert!(line.contains(why), "{line}");
    assert_eq!(o.other_requests, 0, "the other host got nothing");
}

const ANOTHER_HOST: &str = "nextLink leads to another host";
const REDIRECT: &str = "palaudit does not follow redirects";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bap_next_link_to_another_host_is_refused() {
    let o = scenario(same, None).await;
    assert_refused(&o, "environments", "/bap/", ANOTHER_HOST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerapps_next_link_to_another_host_is_refused() {
    let o = scenario(same, None).await;
    assert_refused(&o, "canvas_apps", "/powerapps/", ANOTHER_HOST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_next_link_to_another_host_is_refused() {
    let o = scenario(same, None).await;
    assert_refused(&o, "flows", "/flow/", ANOTHER_HOST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataverse_odata_next_link_to_another_host_is_refused() {
    let o = scenario(same, None).await;
    assert_refused(&o, "systemusers", "/dataverse/org1/", ANOTHER_HOST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerbi_redirect_is_not_followed() {
    let o = scenario(same, None).await;
    assert_refused(&o, "powerbi", "/powerbi/", REDIRECT);
    assert!(o.errors.contains("HTTP 302"), "{}", o.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_redirect_is_not_followed() {
    let o = scenario(same, None).await;
    assert_refused(&o, "graph", "/graph/v1.0/$batch", REDIRECT);
    assert!(o.errors.contains(USER), "names the principal: {}", o.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_off_loopback_is_refused() {
    let o = scenario(|_| "http://palaudit-test.invalid/next?page=2".into(), None).await;
    for (collector, path) in [
        ("environments", "/bap/"),
        ("canvas_apps", "/powerapps/"),
        ("flows", "/flow/"),
        ("systemusers", "/dataverse/"),
    ] {
        assert_refused(&o, collector, path, ANOTHER_HOST);
    }
}

/// The Dataverse URL comes from the environments page: one on another host (not a
/// Dataverse host of the cloud, not an `[endpoints]` override) gets no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataverse_url_on_another_host_gets_no_token() {
    let o = scenario(same, Some("{{other}}/dataverse/org1")).await;
    assert!(
        o.errors.contains(&format!("systemusers [{ENV}]"))
            && o.errors.contains(
                "is not a Dataverse host of the public cloud nor an [endpoints] override"
            ),
        "{}",
        o.errors
    );
    assert_eq!(o.other_requests, 0);
    let o = scenario(same, Some("https://org1.evil.example.net")).await;
    assert!(
        o.errors
            .contains("`https://org1.evil.example.net` is not a Dataverse host"),
        "{}",
        o.errors
    );
}
