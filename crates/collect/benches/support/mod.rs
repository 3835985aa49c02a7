//! The made-up tenant both collection benchmarks read: a loopback server that makes up
//! a tenant as it is asked for it — environments, canvas apps and their permissions,
//! flows and their permissions, Dataverse tables, Power BI workspaces and Graph `$batch`
//! — in the real APIs' shapes and page sizes. It serves every API from one origin
//! ([`serve`]) or each API from its own loopback port, behind its own rate limit
//! ([`serve_per_api`]), so the collector's per-host limits see distinct hosts.

#![allow(dead_code)] // each benchmark uses part of it

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use palaudit_collect::config::{Config, PowerBiMode};
use palaudit_replay::throttle::{ThrottlePlan, TokenBucket, retry_after_secs};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";
const APPS_PAGE: usize = 250;
const FLOWS_PAGE: usize = 250;
const DATAVERSE_PAGE: usize = 5000;

/// The made-up tenant's shape.
pub struct Shape {
    environments: usize,
    /// Environments with a Dataverse database (the first ones).
    with_dataverse: usize,
    apps_per_env: usize,
    flows_per_env: usize,
    appmodules_per_env: usize,
    bots_per_env: usize,
    users_per_env: usize,
    workspaces: usize,
    datasets_per_workspace: usize,
    /// Distinct Entra users owning things.
    people: usize,
}

impl Shape {
    /// About `n` resources: 50% canvas apps, 40% flows, 5% datasets, 4% model-driven
    /// apps, 1% bots, over 100 environments (half with Dataverse) and 400 workspaces.
    pub fn for_resources(n: usize) -> Shape {
        let environments = 100;
        let with_dataverse = 50;
        let workspaces = 400;
        Shape {
            environments,
            with_dataverse,
            apps_per_env: (n / 2 / environments).max(1),
            flows_per_env: (n * 2 / 5 / environments).max(1),
            appmodules_per_env: (n / 25 / with_dataverse).max(1),
            bots_per_env: (n / 100 / with_dataverse).max(1),
            users_per_env: 2000,
            workspaces,
            datasets_per_workspace: (n / 20 / workspaces).max(1),
            people: 5000,
        }
    }

    /// About `n` resources in the proportions of [`Shape::for_resources`], over fewer
    /// environments, workspaces and people when `n` is small (one environment per 1,000
    /// resources, 2 to 100), so a small tenant is a scaled-down large one.
    pub fn scaled(n: usize) -> Shape {
        let environments = (n / 1000).clamp(2, 100);
        let with_dataverse = (environments / 2).max(1);
        let workspaces = (n / 250).clamp(2, 400);
        Shape {
            environments,
            with_dataverse,
            apps_per_env: (n / 2 / environments).max(1),
            flows_per_env: (n * 2 / 5 / environments).max(1),
            appmodules_per_env: (n / 25 / with_dataverse).max(1),
            bots_per_env: (n / 100 / with_dataverse).max(1),
            users_per_env: 2000,
            workspaces,
            datasets_per_workspace: (n / 20 / workspaces).max(1),
            people: (n / 20).clamp(50, 5000),
        }
    }

    pub fn total(&self) -> usize {
        self.environments * (self.apps_per_env + self.flows_per_env)
            + self.with_dataverse * (self.appmodules_per_env + self.bots_per_env)
            + self.workspaces * self.datasets_per_workspace
    }
}

fn guid(kind: u32, a: usize, b: usize) -> String {
    format!("{kind:08x}-{a:04x}-4000-8000-{b:012x}")
}

fn person(i: usize) -> String {
    guid(0xA, 0, i)
}

/// The APIs, by the first segment of their paths; each may be its own host.
pub const APIS: [&str; 6] = ["bap", "powerapps", "flow", "dv", "powerbi", "graph"];

/// The made-up tenant: pages are computed from the shape as they are asked for.
struct Server {
    shape: Shape,
    /// Each API's origin (all the same when served from one).
    bases: HashMap<&'static str, String>,
}

impl Server {
    fn base(&self, api: &str) -> &str {
        &self.bases[api]
    }

    fn env_id(&self, e: usize) -> String {
        guid(0xE, e, 0)
    }

    fn page(&self, path: &str, query: &HashMap<String, String>, body: &[u8]) -> Value {
        let skip: usize = query
            .get("$skiptoken")
            .or_else(|| query.get("$skip"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match seg.as_slice() {
            ["bap", .., "environments"] => self.environments(),
            ["powerapps", .., "environments", env, "apps"] => {
                self.listing(env, skip, self.shape.apps_per_env, APPS_PAGE, "powerapps", |id, i| {
                    json!({ "name": id, "properties": {
                        "displayName": format!("App {i}"), "lifeCycleId": "Published",
                        "createdTime": "2025-01-02T03:04:05Z", "lastModifiedTime": "2025-06-02T03:04:05Z",
                        "owner": { "id": person(i), "type": "User" },
                        "createdBy": { "id": person(i) }, "lastModifiedBy": { "id": person(i + 1) } } })
                })
            }
            ["powerapps", .., "apps", app, "permissions"] => {
                let i = usize::from_str_radix(app.rsplit('-').next().unwrap_or("0"), 16)
                    .unwrap_or(0)
                    % self.shape.people;
                json!({ "value": [
                    { "name": person(i), "properties": { "roleName": "Owner",
                        "principal": { "id": person(i), "type": "User" }, "createdOn": "2025-01-02T03:04:05Z" } },
                    { "name": person(i + 7), "properties": { "roleName": "CanEdit",
                        "principal": { "id": person((i * 31 + 7) % self.shape.people), "type": "User" },
                        "createdOn": "2025-02-02T03:04:05Z" } } ] })
            }
            ["flow", .., "environments", env, "v2", "flows"] => {
                self.listing(env, skip, self.shape.flows_per_env, FLOWS_PAGE, "flow", |id, i| {
                    json!({ "name": id, "properties": {
                        "displayName": format!("Flow {i}"), "state": "Started",
                        "createdTime": "2025-01-02T03:04:05Z", "lastModifiedTime": "2025-06-02T03:04:05Z",
                        "creator": { "objectId": person(i % self.shape.people), "userType": "ActiveDirectory" } } })
                })
            }
            ["flow", .., "flows", _, "permissions"] => json!({ "value": [
                { "name": "p1", "properties": { "roleName": "Owner", "permissionType": "Principal",
                    "principal": { "id": person(3), "type": "User" } } } ] }),
            ["dv", env, "api", "data", "v9.2", table] => self.dataverse(env, table, skip),
            ["powerbi", .., "admin", "groups"] => self.workspaces(skip, query),
            ["graph", "v1.0", "$batch"] => self.graph(body),
            _ => json!({ "error": { "code": "NoRoute", "message": path } }),
        }
    }

    fn environments(&self) -> Value {
        let envs: Vec<Value> = (0..self.shape.environments)
            .map(|e| {
                let mut props = json!({
                    "displayName": format!("Environment {e}"),
                    "environmentSku": if e == 0 { "Default" } else { "Production" },
                    "createdTime": "2024-01-01T00:00:00Z",
                });
                if e < self.shape.with_dataverse {
                    props["linkedEnvironmentMetadata"] = json!({
                        "instanceUrl": format!("{}/dv/{}/", self.base("dv"), self.env_id(e)),
                        "instanceApiUrl": format!("{}/dv/{}", self.base("dv"), self.env_id(e)),
                    });
                }
                json!({ "name": self.env_id(e), "properties": props })
            })
            .collect();
        json!({ "value": envs })
    }

    /// One page of a `nextLink`-paged listing of `count` items.
    fn listing(
        &self,
        env: &str,
        skip: usize,
        count: usize,
        page: usize,
        host: &str,
        item: impl Fn(String, usize) -> Value,
    ) -> Value {
        let e = usize::from_str_radix(env.split('-').nth(1).unwrap_or("0"), 16).unwrap_or(0);
        let end = (skip + page).min(count);
        let items: Vec<Value> = (skip..end)
            .map(|i| {
                item(
                    guid(if host == "flow" { 0xF } else { 0xC }, e, i),
                    e * count + i,
                )
            })
            .collect();
        let mut v = json!({ "value": items });
        if end < count {
            let path = if host == "flow" {
                format!(
                    "/flow/providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}/v2/flows"
                )
            } else {
                format!(
                    "/powerapps/providers/Microsoft.PowerApps/scopes/admin/environments/{env}/apps"
                )
            };
            v["nextLink"] = json!(format!(
                "{}{path}?api-version=2016-11-01&$skiptoken={end}",
                self.base(host)
            ));
        }
        v
    }

    fn dataverse(&self, env: &str, table: &str, skip: usize) -> Value {
        let e = usize::from_str_radix(env.split('-').nth(1).unwrap_or("0"), 16).unwrap_or(0);
        let (count, make): (usize, Box<dyn Fn(usize) -> Value>) = match table {
            "systemusers" => (
                self.shape.users_per_env,
                Box::new(move |i| {
                    json!({ "systemuserid": guid(0x5, e, i), "azureactivedirectoryobjectid": person(i % 5000),
                            "domainname": format!("user{i}@contoso.com"), "fullname": format!("User {i}"),
                            "isdisabled": false, "accessmode": 0 })
                }),
            ),
            "appmodules" => (
                self.shape.appmodules_per_env,
                Box::new(move |i| {
                    json!({ "appmoduleid": guid(0x4, e, i), "name": format!("Model app {i}"),
                            "createdon": "2025-01-02T03:04:05Z", "_createdby_value": guid(0x5, e, i % 2000) })
                }),
            ),
            _ => (
                self.shape.bots_per_env,
                Box::new(move |i| {
                    json!({ "botid": guid(0xB, e, i), "name": format!("Bot {i}"),
                            "createdon": "2025-01-02T03:04:05Z", "_createdby_value": guid(0x5, e, i % 2000),
                            "_ownerid_value": guid(0x5, e, (i + 1) % 2000) })
                }),
            ),
        };
        let end = (skip + DATAVERSE_PAGE).min(count);
        let mut v = json!({ "value": (skip..end).map(make).collect::<Vec<_>>() });
        if end < count {
            v["@odata.nextLink"] = json!(format!(
                "{}/dv/{env}/api/data/v9.2/{table}?$skiptoken={end}",
                self.base("dv")
            ));
        }
        v
    }

    fn workspaces(&self, skip: usize, query: &HashMap<String, String>) -> Value {
        let top: usize = query
            .get("$top")
            .and_then(|t| t.parse().ok())
            .unwrap_or(5000);
        let end = (skip + top).min(self.shape.workspaces);
        let groups: Vec<Value> = (skip..end)
            .map(|w| {
                let datasets: Vec<Value> = (0..self.shape.datasets_per_workspace)
                    .map(|d| json!({ "id": guid(0xD, w, d), "name": format!("Dataset {d}"),
                                     "configuredBy": format!("user{}@contoso.com", (w + d) % 300) }))
                    .collect();
                json!({ "id": guid(0x3, w, 0), "name": format!("Workspace {w}"), "type": "Workspace",
                        "state": "Active", "datasets": datasets })
            })
            .collect();
        json!({ "value": groups })
    }

    fn graph(&self, body: &[u8]) -> Value {
        let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let responses: Vec<Value> = req["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let url = r["url"].as_str().unwrap_or("");
                let key = url
                    .trim_start_matches("/users/")
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .replace("%40", "@");
                let id = if key.contains('@') { person(key.len()) } else { key.clone() };
                json!({ "id": r["id"], "status": 200, "headers": {}, "body": {
                    "id": id, "displayName": "Someone", "userPrincipalName": if key.contains('@') { key.clone() } else { format!("{key}@contoso.com") },
                    "userType": "Member", "accountEnabled": true } })
            })
            .collect();
        json!({ "responses": responses })
    }
}

/// What one API host served: answers with its page, and `429`s.
#[derive(Debug, Clone, Copy, Default)]
pub struct Served {
    pub pages: u64,
    pub throttled: u64,
}

/// One API's listener: the tenant, and this host's latency and rate limit.
struct Api {
    server: Arc<Server>,
    latency: Duration,
    bucket: Option<TokenBucket>,
    pages: AtomicU64,
    throttled: AtomicU64,
}

async fn handle(
    api: Arc<Api>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if !api.latency.is_zero() {
        tokio::time::sleep(api.latency).await;
    }
    if let Some(bucket) = &api.bucket
        && let Err(wait) = bucket.take()
    {
        api.throttled.fetch_add(1, Ordering::Relaxed);
        let mut resp = Response::new(Full::new(Bytes::from_static(
            br#"{"error":{"code":"TooManyRequests","message":"rate limit exceeded"}}"#,
        )));
        *resp.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from(retry_after_secs(wait)),
        );
        return Ok(resp);
    }
    api.pages.fetch_add(1, Ordering::Relaxed);
    let value = api.server.page(&path, &query, &body);
    let mut resp = Response::new(Full::new(Bytes::from(value.to_string())));
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn listen(listener: tokio::net::TcpListener, api: Arc<Api>) {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let api = api.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(api.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

/// Serves every API from one origin with `latency` per answer and no rate limit.
pub async fn serve(shape: Shape, latency: Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let server = Arc::new(Server {
        shape,
        bases: APIS.iter().map(|a| (*a, base.clone())).collect(),
    });
    listen(
        listener,
        Arc::new(Api {
            server,
            latency,
            bucket: None,
            pages: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }),
    );
    addr
}

/// A tenant served with each API on its own loopback port, each behind its own token
/// bucket of `plan`.
pub struct PerApi {
    apis: Vec<(&'static str, Arc<Api>)>,
}

impl PerApi {
    fn base(&self, api: &str) -> String {
        self.apis
            .iter()
            .find(|(a, _)| *a == api)
            .map(|(_, a)| a.server.base(api).to_owned())
            .unwrap_or_default()
    }

    /// A config reading every API from its own port. Dataverse URLs come from the
    /// environments page; a token may go to them because they share the origin of an
    /// `[endpoints]` override (`arm`, which collection does not call).
    pub fn config(&self) -> Config {
        let mut config = Config::for_replay(TENANT, &self.base("bap"));
        config.endpoints.powerapps = format!("{}/powerapps", self.base("powerapps"));
        config.endpoints.flow = format!("{}/flow", self.base("flow"));
        config.endpoints.powerbi = format!("{}/powerbi", self.base("powerbi"));
        config.endpoints.graph = format!("{}/graph", self.base("graph"));
        config.endpoints.arm = format!("{}/arm", self.base("dv"));
        config.collect.powerbi = PowerBiMode::Groups;
        config
    }

    /// Per API: what it served so far.
    pub fn served(&self) -> Vec<(&'static str, Served)> {
        self.apis
            .iter()
            .map(|(name, a)| {
                (
                    *name,
                    Served {
                        pages: a.pages.load(Ordering::Relaxed),
                        throttled: a.throttled.load(Ordering::Relaxed),
                    },
                )
            })
            .collect()
    }

    /// Forgets what was served (between runs on the same server).
    pub fn reset(&self) {
        for (_, a) in &self.apis {
            a.pages.store(0, Ordering::Relaxed);
            a.throttled.store(0, Ordering::Relaxed);
        }
    }
}

/// Serves `shape` with each API on its own loopback port behind its own token bucket.
pub async fn serve_per_api(shape: Shape, plan: ThrottlePlan) -> PerApi {
    let mut listeners = Vec::new();
    let mut bases = HashMap::new();
    for api in APIS {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        bases.insert(api, format!("http://{}", listener.local_addr().unwrap()));
        listeners.push((api, listener));
    }
    let server = Arc::new(Server { shape, bases });
    let mut apis = Vec::new();
    for (name, listener) in listeners {
        let api = Arc::new(Api {
            server: server.clone(),
            latency: plan.latency,
            bucket: Some(TokenBucket::new(plan.rate, plan.burst)),
            pages: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        });
        listen(listener, api.clone());
        apis.push((name, api));
    }
    PerApi { apis }
}
