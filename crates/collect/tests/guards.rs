//! The HTTP layer's guards, end to end: nothing but reads leaves palaudit, and a bearer
//! token never crosses plain http to a host that is not loopback.

mod common;

use common::*;
use palaudit_collect::auth::Auth;
use palaudit_collect::config::Config;
use palaudit_collect::http::{ApiRequest, HttpClient, HttpError, HttpSettings};
use reqwest::Method;
use std::time::{Duration, Instant};
use url::Url;

fn client() -> HttpClient {
    HttpClient::new(HttpSettings::default()).unwrap()
}

#[tokio::test]
async fn writes_are_refused_before_any_network_io() {
    let server = serve("faults/unauthorized").await;
    let http = client();
    let token = Auth::static_token("t").source("https://service.powerapps.com//.default");
    let base = server.base_url();
    let attempts = [
        (
            Method::PUT,
            format!(
                "{base}/bap/providers/Microsoft.BusinessAppPlatform/adminApplications/x?api-version=2020-10-01"
            ),
        ),
        (
            Method::PATCH,
            format!("{base}/dataverse/org/api/data/v9.2/bots(1)"),
        ),
        (
            Method::DELETE,
            format!(
                "{base}/arm/providers/Microsoft.ManagementPartner/partners/123456?api-version=2018-02-01"
            ),
        ),
        (
            Method::POST,
            format!(
                "{base}/powerapps/providers/Microsoft.PowerApps/scopes/admin/environments/e/apps/a/modifyAppOwner?api-version=2016-11-01"
            ),
        ),
        (
            Method::POST,
            format!("{base}/powerbi/v1.0/myorg/groups/g/datasets/d/Default.TakeOver"),
        ),
    ];
    for (method, url) in attempts {
        let mut req =
            ApiRequest::new(method.clone(), Url::parse(&url).unwrap()).bearer(token.clone());
        req.json = Some(serde_json::json!({}));
        let err = http.send(&req).await.unwrap_err();
        assert!(
            matches!(err, HttpError::NotReadOnly { .. }),
            "{method} {url}: {err}"
        );
        assert!(err.to_string().contains("refused"), "{err}");
    }
    // A Graph batch smuggling a write is refused too.
    let batch = ApiRequest::post_json(
        Url::parse(&format!("{base}/graph/v1.0/$batch")).unwrap(),
        serde_json::json!({"requests": [{"id": "1", "method": "PATCH", "url": "/users/x", "body": {}}]}),
    )
    .bearer(token.clone());
    assert!(matches!(
        http.send(&batch).await.unwrap_err(),
        HttpError::NotReadOnly { .. }
    ));
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_eq!(http.requests_sent(), 0);

    // The allowed reads do go out.
    let get = ApiRequest::get(Url::parse(&format!("{base}/bap/x")).unwrap()).bearer(token);
    let err = http.send(&get).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn no_token_over_plain_http_to_a_remote_host() {
    let http = client();
    let token = Auth::static_token("t").source("s");
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there; the guard must fail first.
    let started = Instant::now();
    let req =
        ApiRequest::get(Url::parse("http://192.0.2.1:9/bap/x").unwrap()).bearer(token.clone());
    let err = http.send(&req).await.unwrap_err();
    assert!(matches!(err, HttpError::InsecureTransport { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(http.requests_sent(), 0);
    let req = ApiRequest::get(Url::parse("http://api.bap.microsoft.com/x").unwrap()).bearer(token);
    assert!(matches!(
        http.send(&req).await.unwrap_err(),
        HttpError::InsecureTransport { .. }
    ));
    assert_eq!(http.requests_sent(), 0);

    // The config refuses such an endpoint at its line as well.
    let err = Config::parse(
        &format!("tenant_id = \"{TENANT}\"\n[endpoints]\ngraph = \"http://graph.example.com\"\n"),
        std::path::Path::new("t.toml"),
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("t.toml:3:9: endpoints.graph"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataverse_url_over_plain_http_elsewhere_gets_no_token() {
    // The environments list can name any instanceApiUrl; the HTTP layer checks it, not
    // the config. Here the identities tenant is served, but its Dataverse URL is rewritten
    // to a remote http host by listing the environment from an inline route.
    let dir = tempfile::tempdir().unwrap();
    let routes = r#"{"routes":[
      {"method":"GET","path":"/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments","responses":[{"inline":
        "{\"value\":[{\"name\":\"e1\",\"properties\":{\"displayName\":\"E\",\"environmentSku\":\"Production\",\"linkedEnvironmentMetadata\":{\"instanceApiUrl\":\"http://org.crm.example.com\"}}}]}"}]},
      {"method":"GET","path":"/powerapps/providers/Microsoft.PowerApps/scopes/admin/environments/e1/apps","responses":[{"inline":"{\"value\":[]}"}]},
      {"method":"GET","path":"/flow/providers/Microsoft.ProcessSimple/scopes/admin/environments/e1/v2/flows","responses":[{"inline":"{\"value\":[]}"}]}
    ]}"#;
    let server = serve_routes(routes).await;
    let mut cfg = config(&server);
    cfg.collect.powerbi = palaudit_collect::config::PowerBiMode::Off;
    let out = dir.path().join("snap");
    let report = run(&cfg, &out).await;
    let errors = &report.manifest.collection_errors;
    assert_eq!(errors.len(), 1, "{}", errors_text(&report));
    assert_eq!(errors[0].collector, "systemusers");
    assert!(
        // Refused before the transport guard: the host is not a Dataverse host of the cloud.
        errors[0]
            .message
            .contains("`http://org.crm.example.com` is not a Dataverse host"),
        "{}",
        errors_text(&report)
    );
    assert!(errors[0].endpoint.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_allow_list_limits_what_is_read() {
    let server = serve("faults/identities").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let mut cfg = config(&server);
    cfg.collect.powerbi = palaudit_collect::config::PowerBiMode::Off;
    cfg.collect.environments = Some(vec![
        "d1d1d1d1-0000-4000-8000-00000000000e".into(),
        "not-there".into(),
    ]);
    let report = run(&cfg, &out).await;
    let errors = &report.manifest.collection_errors;
    assert_eq!(errors.len(), 1, "{}", errors_text(&report));
    assert_eq!(errors[0].scope.as_deref(), Some("not-there"));
    let log = server.requests();
    assert!(
        log.iter().all(|r| !r
            .target
            .to_ascii_lowercase()
            .contains("d1d1d1d1-0000-4000-8000-00000000000f")),
        "{log:?}"
    );
    assert!(log.iter().all(|r| !r.target.starts_with("/dataverse/")));
    assert!(log.iter().all(|r| !r.target.starts_with("/powerbi/")));
    let inv = read(&out);
    assert_eq!(inv.environments.len(), 1);
    assert_eq!(report.summary.environments.len(), 1);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn verbose_logs_name_requests_but_never_a_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = serve("faults/identities").await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&server);
    cfg.collect.powerbi_page_size = 5;
    let mut opts = options(&dir.path().join("snap"));
    opts.verbose = true;
    palaudit_collect::collect(&cfg, &opts).await.unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let base = server.base_url();
    assert!(
        log.contains(&format!("GET {base}/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01 -> 200 in ")),
        "{log}"
    );
    assert!(
        log.contains(&format!("POST {base}/graph/v1.0/$batch -> 200 in ")),
        "{log}"
    );
    assert!(log.contains(" ms (attempt 1)"), "{log}");
    assert!(!log.contains("replay-token"), "{log}");
    assert!(!log.to_ascii_lowercase().contains("bearer"), "{log}");
    assert!(!log.to_ascii_lowercase().contains("authorization"), "{log}");
}

#[tokio::test]
async fn a_stopped_client_sends_nothing_more() {
    let server = serve("contoso").await;
    let http = client();
    http.stop();
    let url = url::Url::parse(&format!(
        "{}/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01",
        server.base_url()
    ))
    .unwrap();
    let err = http.send(&ApiRequest::get(url)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("not sent: the collection was stopped"),
        "{err}"
    );
    assert!(server.requests().is_empty());
}
