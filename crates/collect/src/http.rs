//! The one place requests leave palaudit.
//!
//! [`HttpClient::send`] enforces, before any network I/O:
//! - **read-only**: `GET`, and `POST` only to the read-only endpoints Power BI
//!   `admin/workspaces/getInfo`, Graph `$batch` (whose sub-requests must all be `GET`) and
//!   Graph `directoryObjects/getByIds`; every other method or POST is refused;
//! - **no token in clear**: a bearer token goes only over https, or plain http to a
//!   loopback address (the replay server).
//!
//! It then retries what is worth retrying — 429 honouring `Retry-After` (seconds or an
//! HTTP date, capped), 5xx, timeouts and connection resets with bounded exponential
//! backoff and jitter — and fails at once on other 4xx. Requests in flight are bounded per
//! host. With `verbose` every attempt is logged through `tracing` (method, URL without
//! secrets, status, duration); header values never are.

pub mod paging;

use crate::auth::{AuthError, TokenSource};
use palaudit_model::CollectionError;
use rand::Rng;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use url::Url;

/// A request's method and URL, safe to show: query values that could be secrets are
/// replaced and user info is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub method: String,
    pub url: String,
}

impl Endpoint {
    pub fn new(method: &Method, url: &Url) -> Endpoint {
        Endpoint {
            method: method.as_str().to_owned(),
            url: redact(url),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

/// Query parameters whose values are never shown (SAS signatures, codes, tokens).
fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "sig",
        "token",
        "secret",
        "code",
        "key",
        "password",
        "assertion",
    ]
    .iter()
    .any(|s| n.contains(s))
}

fn redact(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if u.query().is_some() && u.query_pairs().any(|(k, _)| is_secret_param(&k)) {
        let query: Vec<String> = url
            .query()
            .unwrap_or("")
            .split('&')
            .map(|pair| {
                let name = pair.split('=').next().unwrap_or("");
                let decoded = url::form_urlencoded::parse(name.as_bytes())
                    .next()
                    .map(|(k, _)| k.into_owned())
                    .unwrap_or_default();
                if is_secret_param(&decoded) {
                    format!("{name}=REDACTED")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        u.set_query(Some(&query.join("&")));
    }
    u.to_string()
}

/// Why a request failed. Every variant carries the endpoint.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error(
        "{endpoint}: refused: palaudit only reads ({reason}); allowed are GET, and POST to Power BI admin/workspaces/getInfo, Graph $batch of GETs and Graph directoryObjects/getByIds"
    )]
    NotReadOnly { endpoint: Endpoint, reason: String },
    #[error(
        "{endpoint}: refused to send a bearer token over plain http to a host that is not loopback; use https"
    )]
    InsecureTransport { endpoint: Endpoint },
    #[error("{endpoint}: {source}")]
    Token {
        endpoint: Endpoint,
        #[source]
        source: AuthError,
    },
    #[error("{endpoint} -> HTTP {status}: {message}")]
    Status {
        endpoint: Endpoint,
        status: u16,
        /// The API's `error.code`, when it sent one.
        code: Option<String>,
        message: String,
    },
    #[error("{endpoint}: {message}")]
    Transport { endpoint: Endpoint, message: String },
    #[error("{endpoint}: malformed page: {message}")]
    MalformedPage { endpoint: Endpoint, message: String },
}

impl HttpError {
    pub fn endpoint(&self) -> &Endpoint {
        match self {
            HttpError::NotReadOnly { endpoint, .. }
            | HttpError::InsecureTransport { endpoint }
            | HttpError::Token { endpoint, .. }
            | HttpError::Status { endpoint, .. }
            | HttpError::Transport { endpoint, .. }
            | HttpError::MalformedPage { endpoint, .. } => endpoint,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What went wrong, without the endpoint and status (the manifest keeps those
    /// separately).
    pub fn detail(&self) -> String {
        match self {
            HttpError::Status { message, .. } | HttpError::Transport { message, .. } => {
                message.clone()
            }
            HttpError::MalformedPage { message, .. } => format!("malformed page: {message}"),
            HttpError::Token { source, .. } => source.to_string(),
            HttpError::NotReadOnly { .. } | HttpError::InsecureTransport { .. } => {
                let full = self.to_string();
                let prefix = format!("{}: ", self.endpoint());
                full.strip_prefix(&prefix)
                    .map(str::to_owned)
                    .unwrap_or(full)
            }
        }
    }

    /// The manifest entry for this failure.
    pub fn to_collection_error(&self, collector: &str, scope: Option<&str>) -> CollectionError {
        CollectionError {
            collector: collector.to_owned(),
            scope: scope.map(str::to_owned),
            endpoint: Some(self.endpoint().to_string()),
            status: self.status(),
            message: self.detail(),
        }
    }
}

/// How failed requests are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; a request is sent at most `max_retries + 1` times.
    pub max_retries: u32,
    /// First backoff step; doubles per retry, with jitter.
    pub base_delay: Duration,
    /// Longest backoff step.
    pub max_delay: Duration,
    /// Longest `Retry-After` palaudit waits for. Power BI's admin quotas are per hour, so
    /// an hour is honoured; a longer wait fails the request at once, saying so, instead
    /// of retrying early into a quota that is still spent.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before the retry after attempt `retry + 1`: what `Retry-After` asks, else
    /// exponential backoff with jitter. `None` when the API asks for longer than
    /// [`RetryPolicy::retry_after_cap`]: the request fails now instead.
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        match retry_after {
            Some(d) if d > self.retry_after_cap => None,
            Some(d) => Some(d),
            None => Some(self.backoff(retry)),
        }
    }

    /// Exponential backoff with jitter: between half and all of `base * 2^retry`, capped.
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = rand::rng().random_range(0..=half.as_millis().min(u64::MAX as u128) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// Settings of an [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Requests in flight per host.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Log every attempt at `info` (otherwise `debug`).
    pub verbose: bool,
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            concurrency: 8,
            retry: RetryPolicy::default(),
            verbose: false,
            timeout: Duration::from_secs(120),
        }
    }
}

/// A request to send through [`HttpClient::send`].
#[derive(Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub url: Url,
    pub token: Option<Arc<dyn TokenSource>>,
    pub headers: Vec<(&'static str, String)>,
    pub json: Option<serde_json::Value>,
}

impl ApiRequest {
    pub fn new(method: Method, url: Url) -> ApiRequest {
        ApiRequest {
            method,
            url,
            token: None,
            headers: Vec::new(),
            json: None,
        }
    }

    pub fn get(url: Url) -> ApiRequest {
        ApiRequest::new(Method::GET, url)
    }

    pub fn post_json(url: Url, body: serde_json::Value) -> ApiRequest {
        let mut r = ApiRequest::new(Method::POST, url);
        r.json = Some(body);
        r
    }

    pub fn bearer(mut self, token: Arc<dyn TokenSource>) -> ApiRequest {
        self.token = Some(token);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> ApiRequest {
        self.headers.push((name, value.into()));
        self
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.method, &self.url)
    }
}

/// A successful (2xx) response with its body read.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub endpoint: Endpoint,
}

impl ApiResponse {
    /// The body as JSON; anything else is a [`HttpError::MalformedPage`].
    pub fn json(&self) -> Result<serde_json::Value, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::MalformedPage {
            endpoint: self.endpoint.clone(),
            message: format!("the body is not JSON ({e})"),
        })
    }
}

/// Is `url`'s host a loopback address (`127.0.0.0/8`, `::1`, `localhost`)?
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

/// The read-only guard: `GET` anything; `POST` only to the read-only endpoints, and a
/// Graph `$batch` only when every sub-request is a `GET`.
pub fn check_read_only(
    method: &Method,
    url: &Url,
    json: Option<&serde_json::Value>,
) -> Result<(), HttpError> {
    let refuse = |reason: String| HttpError::NotReadOnly {
        endpoint: Endpoint::new(method, url),
        reason,
    };
    if *method == Method::GET {
        return Ok(());
    }
    if *method != Method::POST {
        return Err(refuse(format!("{method} is not a read")));
    }
    let path = percent_encoding::percent_decode_str(url.path())
        .decode_utf8_lossy()
        .to_ascii_lowercase();
    let path = path.trim_end_matches('/');
    if path.ends_with("/v1.0/myorg/admin/workspaces/getinfo")
        || path.ends_with("/v1.0/directoryobjects/getbyids")
    {
        return Ok(());
    }
    if path.ends_with("/v1.0/$batch") {
        let requests = json
            .and_then(|b| b.get("requests"))
            .and_then(|r| r.as_array())
            .ok_or_else(|| refuse("a Graph $batch without a `requests` array".into()))?;
        for r in requests {
            let m = r.get("method").and_then(|m| m.as_str()).unwrap_or("");
            if !m.eq_ignore_ascii_case("GET") {
                return Err(refuse(format!(
                    "the Graph $batch holds a `{m}` sub-request; only GET is allowed"
                )));
            }
        }
        return Ok(());
    }
    Err(refuse(format!(
        "POST to {} is not a read-only endpoint",
        url.path()
    )))
}

/// The transport guard: a bearer token only over https or to loopback http.
pub fn check_transport(method: &Method, url: &Url, bearer: bool) -> Result<(), HttpError> {
    let ok = match url.scheme() {
        "https" => true,
        "http" => !bearer || is_loopback(url),
        _ => false,
    };
    if ok {
        Ok(())
    } else if url.scheme() == "http" {
        Err(HttpError::InsecureTransport {
            endpoint: Endpoint::new(method, url),
        })
    } else {
        Err(HttpError::NotReadOnly {
            endpoint: Endpoint::new(method, url),
            reason: format!("scheme `{}` is not http or https", url.scheme()),
        })
    }
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        // Absurdly large values saturate rather than panic; the caller caps them.
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The API's own error description: `{"error":{"code","message"}}` (Power Platform,
/// Dataverse, Graph, ARM), Power BI's `error.pbi.error.code`, or a short text body.
pub fn api_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = crate::auth::one_line(&text);
        return (None, (!text.is_empty()).then_some(text));
    };
    let err = v.get("error").unwrap_or(&v);
    if let Some(s) = err.as_str() {
        return (None, Some(crate::auth::one_line(s)));
    }
    let code = err
        .get("code")
        .and_then(|c| c.as_str())
        .map(str::to_owned)
        .or_else(|| {
            err.pointer("/pbi.error/code")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        });
    let message = err
        .get("message")
        .and_then(|m| m.as_str())
        .or_else(|| v.get("message").and_then(|m| m.as_str()))
        .map(crate::auth::one_line);
    (code, message)
}

/// What a status means for someone reading the manifest.
fn status_hint(status: u16) -> &'static str {
    match status {
        401 => {
            "the API rejected the token; check [auth] and that the identity can sign in to this tenant"
        }
        403 => "the identity lacks the admin rights this API needs",
        404 => "not found",
        429 => "throttled, and still throttled after the retries",
        s if s >= 500 => "the service failed, and kept failing after the retries",
        _ => "the API refused the request",
    }
}

/// Sliding-window limits for APIs with published per-minute / per-hour quotas: a request
/// waits until it fits every window.
#[derive(Debug)]
pub struct RateLimit {
    name: &'static str,
    windows: Vec<(usize, Duration)>,
    history: tokio::sync::Mutex<VecDeque<Instant>>,
}

impl RateLimit {
    /// `windows`: (at most this many requests, per this long).
    pub fn new(name: &'static str, windows: &[(usize, Duration)]) -> RateLimit {
        RateLimit {
            name,
            windows: windows.to_vec(),
            history: tokio::sync::Mutex::new(VecDeque::new()),
        }
    }

    /// Waits for a slot and takes it.
    pub async fn acquire(&self) {
        let longest = self.windows.iter().map(|w| w.1).max().unwrap_or_default();
        let mut history = self.history.lock().await;
        loop {
            let now = Instant::now();
            while history
                .front()
                .is_some_and(|t| now.duration_since(*t) >= longest)
            {
                history.pop_front();
            }
            let mut wait = Duration::ZERO;
            for (limit, window) in &self.windows {
                let in_window: Vec<&Instant> = history
                    .iter()
                    .filter(|t| now.duration_since(**t) < *window)
                    .collect();
                if in_window.len() >= *limit {
                    // The slot frees when the oldest request of the window leaves it.
                    let oldest_needed = in_window[in_window.len() - limit];
                    wait = wait.max(*window - now.duration_since(*oldest_needed));
                }
            }
            if wait.is_zero() {
                history.push_back(now);
                return;
            }
            tracing::info!(
                "waiting {:.0} s to stay within the published limits of {}",
                wait.as_secs_f64().ceil(),
                self.name
            );
            // Holding the lock while waiting keeps the requests in order.
            tokio::time::sleep(wait).await;
        }
    }
}

/// The HTTP client every collector uses.
pub struct HttpClient {
    client: reqwest::Client,
    settings: HttpSettings,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Per host: no request before this instant. A 429's `Retry-After` speaks for the
    /// host (Dataverse counts per user per server), so every request to it waits, not
    /// just the one that was throttled.
    pauses: Mutex<HashMap<String, tokio::time::Instant>>,
    requests: AtomicU64,
    stopped: AtomicBool,
}

impl HttpClient {
    pub fn new(settings: HttpSettings) -> Result<HttpClient, HttpError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("palaudit/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the request somewhere the guards did not check.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            .timeout(settings.timeout)
            .build()
            .map_err(|e| HttpError::Transport {
                endpoint: Endpoint {
                    method: String::new(),
                    url: String::new(),
                },
                message: format!("could not build the HTTP client: {e}"),
            })?;
        Ok(HttpClient {
            client,
            settings,
            hosts: Mutex::new(HashMap::new()),
            pauses: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        })
    }

    /// Refuses every later request: the collection cannot use what it would read (the
    /// snapshot writer has failed), so no more quota is spent on it.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// HTTP attempts sent so far (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    fn host_key(url: &Url) -> String {
        format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        )
    }

    /// Waits out a pause the host asked for.
    async fn wait_for_host(&self, host: &str) {
        let until = self
            .pauses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .copied();
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }

    /// Whether `url`'s host asked for a pause that has not passed yet.
    fn host_paused(&self, host: &str) -> bool {
        self.pauses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .is_some_and(|until| *until > tokio::time::Instant::now())
    }

    /// Pauses every request to `url`'s host for `wait`.
    fn pause_host(&self, host: &str, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        let slot = pauses.entry(host.to_owned()).or_insert(until);
        if *slot < until {
            *slot = until;
        }
    }

    fn host_slots(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slots) = hosts.get(host) {
            return slots.clone();
        }
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.concurrency.max(1))))
            .clone()
    }

    /// Sends `req` with the guards, retries and per-host limit; `Ok` only for 2xx.
    pub async fn send(&self, req: &ApiRequest) -> Result<ApiResponse, HttpError> {
        let endpoint = req.endpoint();
        // Guards first: nothing below may run for a refused request.
        check_read_only(&req.method, &req.url, req.json.as_ref())?;
        check_transport(&req.method, &req.url, req.token.is_some())?;
        let policy = &self.settings.retry;
        // The host's slots and pause are shared by every request to it.
        let host = Self::host_key(&req.url);
        let mut retry = 0u32;
        loop {
            // Checked before every attempt, retries included.
            if self.stopped.load(Ordering::Relaxed) {
                return Err(HttpError::Transport {
                    endpoint,
                    message: "not sent: the collection was stopped".into(),
                });
            }
            let bearer = match &req.token {
                Some(t) => Some(t.token().await.map_err(|source| HttpError::Token {
                    endpoint: endpoint.clone(),
                    source,
                })?),
                None => None,
            };
            let mut builder = self.client.request(req.method.clone(), req.url.clone());
            if let Some(b) = &bearer {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", b.secret())).map_err(|_| {
                        HttpError::Token {
                            endpoint: endpoint.clone(),
                            source: AuthError::Credential {
                                method: "token",
                                message: "the token holds characters an HTTP header cannot".into(),
                            },
                        }
                    })?;
                value.set_sensitive(true);
                builder = builder.header(reqwest::header::AUTHORIZATION, value);
            }
            for (name, value) in &req.headers {
                builder = builder.header(*name, value);
            }
            if let Some(body) = &req.json {
                builder = builder.json(body);
            }

            let slots = self.host_slots(&host);
            // A request that waited for a slot while the host asked for a pause waits out
            // the pause too, instead of walking into the next 429.
            let permit = loop {
                self.wait_for_host(&host).await;
                let permit =
                    slots
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| HttpError::Transport {
                            endpoint: endpoint.clone(),
                            message: "the client is shutting down".into(),
                        })?;
                if !self.host_paused(&host) {
                    break permit;
                }
            };
            let started = Instant::now();
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = match builder.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) => Ok((status, headers, body.to_vec())),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            // The host's pause is set before the slot is given up, so no request queued
            // behind this one goes out into the same 429.
            let retry_after = match &outcome {
                Ok((_, headers, _)) => headers
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after),
                Err(_) => None,
            };
            if let Ok((429, _, _)) = &outcome
                && let Some(d) = retry_after
                && d <= policy.retry_after_cap
            {
                self.pause_host(&host, d);
            }
            drop(permit);
            let elapsed = started.elapsed();

            let delay = match outcome {
                Ok((status, headers, body)) => {
                    self.log(&endpoint, &status.to_string(), elapsed, retry);
                    if (200..300).contains(&status) {
                        return Ok(ApiResponse {
                            status,
                            headers,
                            body,
                            endpoint,
                        });
                    }
                    let retryable = status == 429
                        || status == 408
                        || (status >= 500 && status != 501 && status != 505);
                    if !retryable || retry >= policy.max_retries {
                        let (code, message) = api_error(&body);
                        let mut text = status_hint(status).to_owned();
                        if retryable && retry > 0 {
                            text.push_str(&format!(" ({} attempts)", retry + 1));
                        }
                        if let Some(m) = message {
                            text.push_str(": ");
                            if let Some(c) = &code {
                                text.push_str(&format!("{c}: "));
                            }
                            text.push_str(&m);
                        } else if let Some(c) = &code {
                            text.push_str(&format!(": {c}"));
                        }
                        return Err(HttpError::Status {
                            endpoint,
                            status,
                            code,
                            message: text,
                        });
                    }
                    match policy.wait(retry, retry_after) {
                        None => {
                            let d = retry_after.unwrap_or(Duration::MAX);
                            let (code, _) = api_error(&body);
                            return Err(HttpError::Status {
                                endpoint,
                                status,
                                code,
                                message: format!(
                                    "throttled: the API asks to retry after {}, longer than palaudit waits ({} s); its quota is spent, collect again later",
                                    describe_wait(d),
                                    policy.retry_after_cap.as_secs()
                                ),
                            });
                        }
                        Some(d) => {
                            if retry_after.is_some() && d >= Duration::from_secs(60) {
                                tracing::warn!(
                                    target: "palaudit::http",
                                    "{endpoint} -> {status}: waiting {} as the API asks (Retry-After)",
                                    describe_wait(d)
                                );
                            }
                            d
                        }
                    }
                }
                Err(e) => {
                    // The endpoint is named already, redacted; reqwest's own text would
                    // repeat the raw URL.
                    let e = e.without_url();
                    let retryable =
                        e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
                    let what = if e.is_timeout() {
                        "timed out"
                    } else if e.is_connect() {
                        "could not connect"
                    } else {
                        "the connection failed"
                    };
                    self.log(&endpoint, what, elapsed, retry);
                    if !retryable || retry >= policy.max_retries {
                        return Err(HttpError::Transport {
                            endpoint,
                            message: format!(
                                "{what} after {} attempt(s): {}",
                                retry + 1,
                                crate::auth::one_line(&error_chain(&e))
                            ),
                        });
                    }
                    policy.backoff(retry)
                }
            };
            retry += 1;
            tokio::time::sleep(delay).await;
        }
    }

    fn log(&self, endpoint: &Endpoint, outcome: &str, elapsed: Duration, retry: u32) {
        let ms = elapsed.as_millis();
        if self.settings.verbose {
            tracing::info!(target: "palaudit::http", "{endpoint} -> {outcome} in {ms} ms (attempt {})", retry + 1);
        } else {
            tracing::debug!(target: "palaudit::http", "{endpoint} -> {outcome} in {ms} ms (attempt {})", retry + 1);
        }
    }
}

/// A wait as people read it: `90 s`, or `about 2 h` for absurd values.
fn describe_wait(d: Duration) -> String {
    match d.as_secs() {
        s if s < 3 * 3600 => format!("{s} s"),
        s if s < 3 * 86_400 => format!("about {} h", s / 3600),
        _ => "days".to_owned(),
    }
}

/// An error and its sources, joined (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn only_reads_pass_the_guard() {
        let u = url("https://api.powerapps.com/providers/Microsoft.PowerApps/apps/1");
        assert!(check_read_only(&Method::GET, &u, None).is_ok());
        for m in [
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::HEAD,
            Method::OPTIONS,
        ] {
            let err = check_read_only(&m, &u, None).unwrap_err();
            assert!(matches!(err, HttpError::NotReadOnly { .. }), "{m}");
        }
        let modify = url(
            "https://api.powerapps.com/providers/Microsoft.PowerApps/scopes/admin/environments/e/apps/a/modifyPermissions?api-version=2016-11-01",
        );
        assert!(check_read_only(&Method::POST, &modify, None).is_err());
        let take_over =
            url("https://api.powerbi.com/v1.0/myorg/groups/g/datasets/d/Default.TakeOver");
        assert!(check_read_only(&Method::POST, &take_over, None).is_err());
        let get_info = url(
            "https://api.powerbi.com/v1.0/myorg/admin/workspaces/getInfo?getArtifactUsers=true",
        );
        assert!(check_read_only(&Method::POST, &get_info, None).is_ok());
        let by_ids = url("https://graph.microsoft.com/v1.0/directoryObjects/getByIds");
        assert!(check_read_only(&Method::POST, &by_ids, None).is_ok());
        let batch = url("https://graph.microsoft.com/v1.0/$batch");
        let reads = serde_json::json!({"requests":[{"id":"1","method":"GET","url":"/users/x"}]});
        assert!(check_read_only(&Method::POST, &batch, Some(&reads)).is_ok());
        let sneaky = serde_json::json!({"requests":[{"id":"1","method":"GET","url":"/users/x"},
            {"id":"2","method":"DELETE","url":"/users/x"}]});
        let err = check_read_only(&Method::POST, &batch, Some(&sneaky)).unwrap_err();
        assert!(err.to_string().contains("DELETE"), "{err}");
        assert!(check_read_only(&Method::POST, &batch, None).is_err());
    }

    #[test]
    fn tokens_only_over_https_or_loopback() {
        let g = Method::GET;
        assert!(check_transport(&g, &url("https://api.bap.microsoft.com/x"), true).is_ok());
        assert!(check_transport(&g, &url("http://127.0.0.1:9/x"), true).is_ok());
        assert!(check_transport(&g, &url("http://127.8.0.1:9/x"), true).is_ok());
        assert!(check_transport(&g, &url("http://localhost:9/x"), true).is_ok());
        assert!(check_transport(&g, &url("http://[::1]:9/x"), true).is_ok());
        let err = check_transport(&g, &url("http://api.bap.microsoft.com/x"), true).unwrap_err();
        assert!(matches!(err, HttpError::InsecureTransport { .. }));
        assert!(check_transport(&g, &url("http://10.1.2.3/x"), true).is_err());
        assert!(check_transport(&g, &url("http://example.com/x"), false).is_ok());
        assert!(check_transport(&g, &url("ftp://example.com/x"), false).is_err());
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
        // Absurd values saturate instead of panicking.
        assert_eq!(parse_retry_after("1e20"), Some(Duration::MAX));
        assert!(parse_retry_after("18446744073709551616").is_some());
        assert_eq!(parse_retry_after("-1"), None);
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.wait(0, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(policy.wait(0, Some(Duration::from_secs(3601))), None);
        let backoff = policy.wait(3, None).unwrap();
        assert!(backoff >= Duration::from_secs(2) && backoff <= Duration::from_secs(4));
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            let d = p.backoff(retry);
            assert!(d <= p.max_delay, "{d:?}");
        }
        let first = p.backoff(0);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
    }

    #[test]
    fn api_errors_are_read_from_the_usual_shapes() {
        assert_eq!(
            api_error(br#"{"error":{"code":"Forbidden","message":"No admin"}}"#),
            (Some("Forbidden".into()), Some("No admin".into()))
        );
        assert_eq!(
            api_error(
                br#"{"error":{"code":"PowerBINotAuthorizedException","pbi.error":{"code":"X"}}}"#
            ),
            (Some("PowerBINotAuthorizedException".into()), None)
        );
        assert_eq!(api_error(b""), (None, None));
        assert_eq!(
            api_error(b"Bad\n gateway"),
            (None, Some("Bad gateway".into()))
        );
    }

    #[test]
    fn collection_errors_keep_endpoint_status_and_message_apart() {
        let e = HttpError::Status {
            endpoint: Endpoint {
                method: "GET".into(),
                url: "https://x/y".into(),
            },
            status: 403,
            code: Some("Forbidden".into()),
            message: "the identity lacks the admin rights this API needs: Forbidden: no".into(),
        };
        let c = e.to_collection_error("flows", Some("env"));
        assert_eq!(c.endpoint.as_deref(), Some("GET https://x/y"));
        assert_eq!(c.status, Some(403));
        assert_eq!(
            c.message,
            "the identity lacks the admin rights this API needs: Forbidden: no"
        );
        assert_eq!(
            c.to_string(),
            "flows [env] GET https://x/y -> HTTP 403: the identity lacks the admin rights this API needs: Forbidden: no"
        );
        let e = HttpError::InsecureTransport {
            endpoint: Endpoint {
                method: "GET".into(),
                url: "http://x/y".into(),
            },
        };
        assert!(
            e.detail().starts_with("refused to send a bearer token"),
            "{}",
            e.detail()
        );
    }

    #[test]
    fn endpoints_hide_secret_query_values() {
        let u = url("https://user:pw@x.com/a?api-version=1&$skiptoken=abc&sig=zzz");
        let e = Endpoint::new(&Method::GET, &u);
        assert_eq!(
            e.to_string(),
            "GET https://x.com/a?api-version=1&$skiptoken=REDACTED&sig=REDACTED"
        );
    }

    #[tokio::test]
    async fn rate_limits_hold_requests_back() {
        let short = Duration::from_millis(100);
        let long = Duration::from_millis(300);
        let limit = RateLimit::new("test", &[(2, short), (3, long)]);
        let t0 = Instant::now();
        limit.acquire().await;
        limit.acquire().await;
        assert!(t0.elapsed() < short);
        limit.acquire().await; // the third waits for the short window
        assert!(t0.elapsed() >= short);
        limit.acquire().await; // the fourth waits for the long window
        assert!(t0.elapsed() >= long);
    }
}
