//! [`HttpClient`]: the guards, then the host's limits, then the attempt, then the retry
//! rule — the one path every request of palaudit takes.

use super::error::{HttpError, status_message};
use super::guard;
use super::limiter::{Answer, HostLimits, HostUsage, host_key};
use super::retry::{RetryPolicy, describe_wait, is_retryable_status, parse_retry_after};
use super::url::Endpoint;
use crate::auth::{AuthError, TokenSource};
use crate::journal::{Journal, Key};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// Settings of an [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The most requests in flight per host: each host's adaptive window grows up to
    /// this (see [`super::limiter`]).
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Log every attempt at `info` (otherwise `debug`).
    pub verbose: bool,
    /// One attempt's timeout (connect, send, read the body).
    pub timeout: Duration,
    /// One request's budget over all its attempts and the backoff between them, so a
    /// hung endpoint costs minutes, not `timeout` × attempts. Waits an API asks for with
    /// `Retry-After` do not count: [`RetryPolicy::retry_after_cap`] bounds those.
    pub budget: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            concurrency: crate::config::DEFAULT_CONCURRENCY_CAP,
            retry: RetryPolicy::default(),
            verbose: false,
            timeout: Duration::from_secs(120),
            budget: Duration::from_secs(600),
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
    /// What the request is for (a collector name such as `canvas_app_permissions`), to
    /// count requests per kind; empty when not said.
    pub purpose: &'static str,
    /// Whether the answer goes to the collection journal, and comes from it on
    /// `--resume` ([`crate::journal`]). Off for a Graph `$batch`, whose sub-answers are
    /// journaled one by one instead.
    pub journal: bool,
}

impl ApiRequest {
    pub fn new(method: Method, url: Url) -> ApiRequest {
        ApiRequest {
            method,
            url,
            token: None,
            headers: Vec::new(),
            json: None,
            purpose: "",
            journal: true,
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

    /// Counts the request's attempts under `collector` ([`HttpClient::requests_by_purpose`]).
    pub fn for_collector(mut self, collector: &'static str) -> ApiRequest {
        self.purpose = collector;
        self
    }

    /// Neither answered from nor written to the collection journal.
    pub fn unjournaled(mut self) -> ApiRequest {
        self.journal = false;
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

/// The HTTP client every collector uses.
pub struct HttpClient {
    client: reqwest::Client,
    settings: HttpSettings,
    limits: HostLimits,
    requests: AtomicU64,
    /// Attempts per [`ApiRequest::purpose`].
    by_purpose: Mutex<BTreeMap<&'static str, u64>>,
    stopped: AtomicBool,
    journal: Option<Arc<Journal>>,
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
            .map_err(|e| HttpError::Client {
                message: e.to_string(),
            })?;
        Ok(HttpClient {
            client,
            limits: HostLimits::new(settings.concurrency, settings.verbose),
            settings,
            requests: AtomicU64::new(0),
            by_purpose: Mutex::new(BTreeMap::new()),
            stopped: AtomicBool::new(false),
            journal: None,
        })
    }

    /// Answers requests from `journal` where it holds them, and journals every other
    /// successful answer ([`crate::journal`]).
    pub fn with_journal(mut self, journal: Arc<Journal>) -> HttpClient {
        self.journal = Some(journal);
        self
    }

    /// The collection journal, if this client keeps one.
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref()
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

    /// HTTP attempts sent so far per [`ApiRequest::purpose`] (retries included);
    /// requests that named none are counted under `other`.
    pub fn requests_by_purpose(&self) -> BTreeMap<String, u64> {
        self.by_purpose
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (if k.is_empty() { "other" } else { k }.to_string(), *v))
            .collect()
    }

    /// Per host: requests, throttles, requests in flight, the window; busiest first.
    pub fn host_usage(&self) -> Vec<HostUsage> {
        self.limits.usage()
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Sends `req` with the guards, retries and per-host limit; `Ok` only for 2xx.
    pub async fn send(&self, req: &ApiRequest) -> Result<ApiResponse, HttpError> {
        let endpoint = req.endpoint();
        // Guards first: nothing below may run for a refused request.
        guard::check(
            &req.method,
            &req.url,
            req.json.as_ref(),
            req.token.is_some(),
        )?;
        // Guards before the journal too: a resumed run refuses what a fresh one would.
        let journaled = match &self.journal {
            Some(j) if req.journal => {
                let key = Key::new(req.method.as_str(), req.url.as_str(), req.json.as_ref());
                if let Some(body) = j.ask(&key) {
                    self.log(&endpoint, "from the journal", Duration::ZERO, 0);
                    return Ok(ApiResponse {
                        status: 200,
                        headers: HeaderMap::new(),
                        body,
                        endpoint,
                    });
                }
                Some((j, key))
            }
            _ => None,
        };
        let policy = &self.settings.retry;
        // The host's slots and pause are shared by every request to it.
        let host = host_key(&req.url);
        let mut retry = 0u32;
        // Attempts and backoff so far, against the budget.
        let mut spent = Duration::ZERO;
        loop {
            // Checked before every attempt, retries included.
            if self.stopped.load(Ordering::Relaxed) {
                return Err(HttpError::Transport {
                    endpoint,
                    message: "not sent: the collection was stopped".into(),
                });
            }
            let remaining = self.settings.budget.saturating_sub(spent);
            let builder = self
                .request(req, &endpoint)
                .await?
                .timeout(self.settings.timeout.min(remaining));
            let mut slot = self
                .limits
                .acquire(&host)
                .await
                .map_err(|_| HttpError::Transport {
                    endpoint: endpoint.clone(),
                    message: "the client is shutting down".into(),
                })?;
            let started = Instant::now();
            self.requests.fetch_add(1, Ordering::Relaxed);
            *self
                .by_purpose
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(req.purpose)
                .or_default() += 1;
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
                self.limits.pause(&host, d);
            }
            // What the answer says about the host's load sizes its window.
            slot.answered(match &outcome {
                Ok((200..=299, _, _)) => Answer::Served,
                Ok((429 | 503, _, _)) => Answer::Throttled,
                _ => Answer::Other,
            });
            drop(slot);
            let elapsed = started.elapsed();
            spent += elapsed;

            let (delay, waited, last) = match outcome {
                Ok((status, headers, body)) => {
                    self.log(&endpoint, &status.to_string(), elapsed, retry);
                    if (200..300).contains(&status) {
                        // Only an answer the collectors can read is kept: a body cut
                        // short or an HTML error page with a 200 is asked again on resume.
                        if let Some((j, key)) = &journaled
                            && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok()
                        {
                            j.record(key, &body);
                        }
                        return Ok(ApiResponse {
                            status,
                            headers,
                            body,
                            endpoint,
                        });
                    }
                    if (300..400).contains(&status) {
                        // Redirects are never followed: the token would go to a host the
                        // answer chose.
                        let to = headers
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map(|l| match req.url.join(l) {
                                Ok(u) => u.origin().ascii_serialization(),
                                Err(_) => crate::secret::scrub_url_text(l),
                            })
                            .unwrap_or_else(|| "no Location given".into());
                        return Err(HttpError::Status {
                            endpoint,
                            status,
                            code: None,
                            message: format!(
                                "the API redirects ({to}); palaudit does not follow redirects, so the token stays with the host it was issued for"
                            ),
                        });
                    }
                    let retryable = is_retryable_status(status);
                    if !retryable || retry >= policy.max_retries {
                        let attempts = if retryable { retry + 1 } else { 1 };
                        let (code, message) = status_message(status, attempts, &body);
                        return Err(HttpError::Status {
                            endpoint,
                            status,
                            code,
                            message,
                        });
                    }
                    match policy.wait(retry, retry_after) {
                        None => {
                            let d = retry_after.unwrap_or(Duration::MAX);
                            let (code, _) = super::error::api_error(&body);
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
                            let waited = if retry_after.is_some() {
                                Waited::RetryAfter
                            } else {
                                Waited::Backoff
                            };
                            (d, waited, format!("HTTP {status}"))
                        }
                    }
                }
                Err(e) => {
                    // The endpoint is named already, redacted; reqwest's own text would
                    // repeat the raw URL.
                    let e = e.without_url();
                    // A connection reset while the body is read surfaces as a body or
                    // decode error (palaudit reads raw bytes, so "decode" can only mean
                    // the transfer broke off): retried like a reset before the answer.
                    let retryable = e.is_timeout()
                        || e.is_connect()
                        || e.is_request()
                        || e.is_body()
                        || e.is_decode();
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
                    (policy.backoff(retry), Waited::Backoff, what.to_owned())
                }
            };
            // Backoff counts against the budget; a wait the API asked for does not.
            let backoff = match waited {
                Waited::RetryAfter => Duration::ZERO,
                Waited::Backoff => delay,
            };
            if spent + backoff >= self.settings.budget {
                return Err(HttpError::Transport {
                    endpoint,
                    message: format!(
                        "gave up after {} attempt(s) and {} s: the request's budget ([collect] request_budget_secs = {}) is spent; the last attempt: {last}",
                        retry + 1,
                        spent.as_secs(),
                        self.settings.budget.as_secs()
                    ),
                });
            }
            spent += backoff;
            retry += 1;
            tokio::time::sleep(delay).await;
        }
    }

    /// The attempt as reqwest sends it, with a fresh token (the source caches it).
    async fn request(
        &self,
        req: &ApiRequest,
        endpoint: &Endpoint,
    ) -> Result<reqwest::RequestBuilder, HttpError> {
        let bearer = match &req.token {
            Some(t) => Some(t.token().await.map_err(|source| HttpError::Token {
                endpoint: endpoint.clone(),
                source,
            })?),
            None => None,
        };
        let mut builder = self.client.request(req.method.clone(), req.url.clone());
        if let Some(b) = &bearer {
            // Known from now on, so an API quoting it back never gets it printed.
            crate::secret::remember(b.secret());
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
        Ok(builder)
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

/// What the wait before a retry is: counted against the request's budget, or not.
enum Waited {
    /// palaudit's own backoff.
    Backoff,
    /// What the API asked for with `Retry-After`.
    RetryAfter,
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
