//! What the APIs send that palaudit must not take at face value: continuation links that
//! are not strings, arrays that are not arrays, the same item on two pages, and paging
//! that never advances. Each is a collection error naming the endpoint or the item, and
//! nothing is lost or counted twice without a word. Everything runs against a loopback
//! replay server.

mod common;

use common::*;
use palaudit_collect::config::PowerBiMode;
use palaudit_replay::{ReplayServer, ResponseSpec, Tenant};
use serde_json::{Value, json};

const BAP_ENVS: &str = "/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments";

/// A replay server for routes given as JSON; a route's `page` (any JSON) becomes its
/// inline body.
async fn serve_json(routes: Value) -> ReplayServer {
    let mut routes = routes;
    for r in routes["routes"].as_array_mut().unwrap() {
        if let Some(resps) = r["responses"].as_array_mut() {
            for resp in resps {
                if let Some(page) = resp.as_object_mut().unwrap().remove("page") {
                    resp["inline"] = Value::String(page.to_string());
                }
            }
        }
    }
    serve_routes(&routes.to_string()).await
}

fn env(name: &str) -> Value {
    json!({"name": name, "location": "unitedstates",
           "properties": {"displayName": name, "environmentSku": "Production"}})
}

fn no_powerbi(server: &ReplayServer) -> palaudit_collect::config::Config {
    let mut c = config(server);
    c.collect.powerbi = PowerBiMode::Off;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_that_is_not_a_string_is_an_error_naming_the_endpoint() {
    for (odd, kind) in [(json!(2), "a number"), (json!({"href": "x"}), "an object")] {
        let server = serve_json(json!({"routes": [
            {"method": "GET", "path": BAP_ENVS, "responses": [{"page": {"value": [env("e1")], "nextLink": odd}}]}
        ]}))
        .await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap");
        let report = run(&no_powerbi(&server), &out).await;
        let errors = errors_text(&report);
        assert!(
            errors.contains(&format!("`nextLink` is {kind}, not a URL string"))
                && errors.contains(&format!("GET {}{BAP_ENVS}", server.base_url())),
            "{errors}"
        );
        // The page that carried it is kept.
        assert_eq!(read(&out).environments.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_whose_datasets_is_not_an_array_is_an_error_naming_it() {
    let ws = |id: &str, datasets: Value| json!({"id": id, "name": id, "type": "Workspace", "datasets": datasets});
    let server = serve_json(json!({"routes": [
        {"method": "GET", "path": BAP_ENVS, "responses": [{"page": {"value": []}}]},
        {"method": "GET", "path": "/powerbi/v1.0/myorg/admin/groups", "responses": [{"page": {"value": [
            ws("a0000000-0000-4000-8000-0000000000a1", json!({"id": "d1"})),
            ws("a0000000-0000-4000-8000-0000000000a2", json!([{"id": "d0000000-0000-4000-8000-0000000000d2", "name": "Ledger"}]))
        ]}}]}
    ]}))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi_page_size = 5;
    let report = run(&cfg, &out).await;
    let errors = errors_text(&report);
    assert!(
        errors.contains("powerbi [a0000000-0000-4000-8000-0000000000a1]")
            && errors.contains("`datasets` is an object, not an array"),
        "{errors}"
    );
    assert_eq!(report.manifest.collection_errors.len(), 1, "{errors}");
    assert_eq!(
        read(&out).resources.len(),
        1,
        "the other workspace's dataset"
    );
}

/// Contoso with its second environments page also listing the first page's first
/// environment, and its second Power BI page repeating a workspace of the first: every
/// resource is counted once, and each repeat is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_environment_or_workspace_on_two_pages_is_counted_once_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let clean = {
        let server = serve("contoso").await;
        let out = dir.path().join("clean");
        let report = run(&config(&server), &out).await;
        assert_complete(&report);
        read(&out)
    };
    let mut tenant = Tenant::from_dir(&tenant_dir("contoso")).unwrap();
    let body = |r: &[ResponseSpec]| -> Value {
        serde_json::from_slice(r[0].body.as_ref().unwrap()).unwrap()
    };
    let mut first_env = None;
    let mut first_ws = None;
    tenant.edit_responses(|_, path, query, responses| {
        let has = |k: &str, v: &str| query.iter().any(|(qk, qv)| qk == k && qv == v);
        if path == BAP_ENVS && !query.iter().any(|(k, _)| k == "$skiptoken") {
            first_env = Some(body(responses)["value"][0].clone());
        }
        if path == "/powerbi/v1.0/myorg/admin/groups" && has("$skip", "0") && has("$top", "2") {
            first_ws = Some(body(responses)["value"][0].clone());
        }
    });
    tenant.edit_responses(|_, path, query, responses| {
        let has = |k: &str, v: &str| query.iter().any(|(qk, qv)| qk == k && qv == v);
        let again = if path == BAP_ENVS && has("$skiptoken", "p2") {
            first_env.clone()
        } else if path == "/powerbi/v1.0/myorg/admin/groups" && has("$skip", "2") {
            first_ws.clone()
        } else {
            None
        };
        if let Some(item) = again {
            let mut page = body(responses);
            let items = page["value"].as_array_mut().unwrap();
            // The page keeps its length, so Power BI paging goes on as before.
            if path != BAP_ENVS {
                items.pop();
            }
            items.insert(0, item);
            responses[0].body = Some(page.to_string().into_bytes());
        }
    });
    let server = ReplayServer::start(tenant).await.unwrap();
    let out = dir.path().join("dup");
    let report = run(&config(&server), &out).await;
    let inv = read(&out);
    let errors = errors_text(&report);
    // The workspace dropped from the second Power BI page takes its datasets with it.
    let mut env_ids: Vec<_> = inv
        .environments
        .iter()
        .map(|e| e.environment_id.clone())
        .collect();
    let envs = env_ids.len();
    env_ids.sort();
    env_ids.dedup();
    assert_eq!(env_ids.len(), envs, "no environment or workspace twice");
    assert!(envs < clean.environments.len(), "{errors}");
    let mut ids: Vec<_> = inv
        .resources
        .iter()
        .map(|r| {
            (
                r.resource_type,
                r.environment_id.clone(),
                r.resource_id.clone(),
            )
        })
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no resource twice");
    let clean_pp = clean
        .resources
        .iter()
        .filter(|r| r.resource_type != palaudit_model::ResourceType::PowerbiDataset)
        .count();
    let pp = inv
        .resources
        .iter()
        .filter(|r| r.resource_type != palaudit_model::ResourceType::PowerbiDataset)
        .count();
    assert_eq!(pp, clean_pp, "{errors}");
    let env_id = first_env.unwrap()["name"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    let ws_id = first_ws.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        errors.contains(&format!("environments [{env_id}]"))
            && errors.contains("was listed more than once"),
        "{errors}"
    );
    assert!(errors.contains(&format!("powerbi [{ws_id}]")), "{errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_next_links_serving_the_same_items_are_stopped() {
    let page = |n: u32| {
        json!({"value": [env("e1"), env("e2")],
        "nextLink": format!("{{{{base}}}}{BAP_ENVS}?api-version=2020-10-01&$skiptoken={n}")})
    };
    let server = serve_json(json!({"routes": [
        {"method": "GET", "path": BAP_ENVS, "responses": (1..50).map(|n| json!({"page": page(n)})).collect::<Vec<_>>()}
    ]}))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let report = run(&no_powerbi(&server), &out).await;
    let errors = errors_text(&report);
    assert!(errors.contains("paging in a loop"), "{errors}");
    // The page is named (its `$skiptoken` value hidden, as every token-like value is).
    assert!(
        errors.contains("environments?api-version=2020-10-01&$skiptoken=REDACTED"),
        "names the page: {errors}"
    );
    assert_eq!(hits(&server.requests(), BAP_ENVS).len(), 2);
    assert_eq!(read(&out).environments.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_powerbi_server_ignoring_skip_is_stopped() {
    let ws = |id: &str| json!({"id": id, "name": id, "type": "Workspace", "datasets": []});
    let server = serve_json(json!({"routes": [
        {"method": "GET", "path": BAP_ENVS, "responses": [{"page": {"value": []}}]},
        {"method": "GET", "path": "/powerbi/v1.0/myorg/admin/groups", "responses": [{"page": {"value": [
            ws("a0000000-0000-4000-8000-0000000000a1"), ws("a0000000-0000-4000-8000-0000000000a2")]}}]}
    ]}))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let report = run(&config(&server), &out).await;
    let errors = errors_text(&report);
    assert!(
        errors.contains("paging in a loop") && errors.contains("$skip=2"),
        "{errors}"
    );
    assert_eq!(
        hits(&server.requests(), "/powerbi/v1.0/myorg/admin/groups").len(),
        2
    );
    assert_eq!(read(&out).environments.len(), 2);
}

/// A loopback server that answers each connection as `answer(n)` says (n counts
/// connections from 0): bytes to write before closing, or `None` to hold the connection
/// open without a word.
async fn raw_server(
    answer: impl Fn(usize) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let reply = answer(n);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                match reply {
                    Some(bytes) => {
                        let _ = stream.write_all(&bytes).await;
                        let _ = stream.shutdown().await;
                    }
                    None => tokio::time::sleep(std::time::Duration::from_secs(30)).await,
                }
            });
        }
    });
    (format!("http://{addr}/x"), count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_mid_body_is_retried() {
    use palaudit_collect::http::{ApiRequest, HttpClient, HttpSettings, RetryPolicy};
    let body = r#"{"value":[{"name":"e1"}]}"#;
    let (url, connections) = raw_server(move |n| {
        let full = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        // The first answer breaks off after half its body.
        let cut = if n == 0 { body.len() / 2 } else { body.len() };
        Some(format!("{full}{}", &body[..cut]).into_bytes())
    })
    .await;
    let http = HttpClient::new(HttpSettings {
        retry: RetryPolicy {
            base_delay: std::time::Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        ..HttpSettings::default()
    })
    .unwrap();
    let resp = http
        .send(&ApiRequest::get(url::Url::parse(&url).unwrap()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.body, body.as_bytes());
    assert_eq!(http.requests_sent(), 2);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_endpoint_costs_the_budget_not_timeout_times_attempts() {
    use palaudit_collect::http::{ApiRequest, HttpClient, HttpSettings, RetryPolicy};
    use std::time::{Duration, Instant};
    let (url, _) = raw_server(|_| None).await;
    let http = HttpClient::new(HttpSettings {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        timeout: Duration::from_millis(400),
        budget: Duration::from_secs(1),
        ..HttpSettings::default()
    })
    .unwrap();
    let started = Instant::now();
    let err = http
        .send(&ApiRequest::get(url::Url::parse(&url).unwrap()))
        .await
        .unwrap_err();
    let took = started.elapsed();
    let text = err.to_string();
    assert!(
        text.contains("request_budget_secs = 1") && text.contains("is spent"),
        "{text}"
    );
    // 7 attempts of 400 ms would be 2.8 s; the budget stops it after about 1 s.
    assert!(took < Duration::from_millis(1800), "{took:?}");
    assert!(http.requests_sent() < 7, "{}", http.requests_sent());
}
