//! The loopback HTTP/1.1 server: accepts connections on `127.0.0.1:0`, answers from the
//! tenant's routes, and logs every request (never a header value).

use crate::batch;
use crate::faults::{self, Fault, FaultPlan, Injector};
use crate::matching::{Incoming, decode_path, find_route, parse_query};
use crate::routes::{ReplayError, Tenant};
use crate::throttle::{ThrottlePlan, TokenBucket, retry_after_secs};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The `[endpoints]` keys of palaudit's config; the server serves each under `/<key>`.
pub const ENDPOINT_KEYS: [&str; 6] = ["bap", "powerapps", "flow", "powerbi", "graph", "arm"];

/// One request the server received, as tests see it. The `Authorization` header's value
/// is never stored, only whether it was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query as received (not decoded). For a `$batch` sub-request: `/graph/v1.0`
    /// followed by its `url`.
    pub target: String,
    /// Whether the request carried an `Authorization` header (sub-requests inherit it).
    pub authorization: bool,
    /// The route (index in `routes.json`) that answered; `None` when nothing matched.
    pub route: Option<usize>,
    pub status: u16,
    /// A sub-request of a Graph `$batch`.
    pub in_batch: bool,
    /// Answered by the built-in Graph `$batch` handler (no recorded route needed).
    pub builtin: bool,
    /// The fault injected into the answer ([`ReplayServer::start_with_faults`]).
    pub fault: Option<Fault>,
}

impl RecordedRequest {
    /// Nothing answered this request: it got the replay server's 404. A collector that
    /// sends such requests asked for something the recorded tenant does not hold.
    pub fn unmatched(&self) -> bool {
        self.route.is_none() && !self.builtin
    }

    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(p, _)| p)
    }
}

/// A response about to be sent (or embedded in a batch).
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

pub(crate) struct State {
    tenant: Tenant,
    /// Responses served so far, per route.
    counters: Mutex<Vec<usize>>,
    log: Mutex<Vec<RecordedRequest>>,
    base: String,
    faults: Option<Injector>,
    /// [`ReplayServer::heal`]: no more faults from now on.
    healed: std::sync::atomic::AtomicBool,
    /// Fresh URLs handed out by [`Fault::RepeatedPage`].
    repeats: Mutex<u64>,
    /// Rate limits per `[endpoints]` key, with the plan's latency.
    throttle: Option<Throttle>,
}

/// [`ReplayServer::start_throttled`]: one bucket per `[endpoints]` key, as each API is
/// its own host.
struct Throttle {
    plan: ThrottlePlan,
    buckets: Vec<(&'static str, TokenBucket)>,
}

impl Throttle {
    fn new(plan: ThrottlePlan) -> Throttle {
        Throttle {
            plan,
            buckets: ENDPOINT_KEYS
                .iter()
                .map(|k| (*k, TokenBucket::new(plan.rate, plan.burst)))
                .collect(),
        }
    }

    /// The bucket of the API a path belongs to (its first segment; `/dataverse/…` and
    /// anything else not under a key share one with `arm`).
    fn bucket(&self, path: &str) -> &TokenBucket {
        let key = path.trim_start_matches('/').split('/').next().unwrap_or("");
        self.buckets
            .iter()
            .find(|(k, _)| *k == key)
            .or_else(|| self.buckets.last())
            .map(|(_, b)| b)
            .expect("one bucket per endpoint key")
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these plain vectors inconsistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    /// Routes a request (top-level or batch sub-request): the reply (`None` when no route
    /// matches) and the log entry to record for it.
    pub(crate) fn answer(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        bearer: Option<&str>,
        in_batch: bool,
    ) -> (Option<Reply>, RecordedRequest) {
        let authorization = bearer.is_some();
        let found = self.route_for(method, target, body, bearer);
        let reply = found.map(|i| self.next_reply(i));
        let record = RecordedRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            authorization,
            route: found,
            status: reply.as_ref().map_or(404, |r| r.status),
            in_batch,
            builtin: false,
            fault: None,
        };
        (reply, record)
    }

    /// The route that answers a top-level request and the reply it would give, without
    /// taking it from the route's sequence (a fault may answer instead).
    fn peek(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        bearer: Option<&str>,
    ) -> (Option<(usize, Reply)>, RecordedRequest) {
        let found = self.route_for(method, target, body, bearer);
        let reply = found.map(|i| (i, self.reply_at(i, false)));
        let record = RecordedRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            authorization: bearer.is_some(),
            route: found,
            status: reply.as_ref().map_or(404, |(_, r)| r.status),
            in_batch: false,
            builtin: false,
            fault: None,
        };
        (reply, record)
    }

    /// The recorded route a request matches: its path decoded and lower-cased, its query
    /// parsed, as every route is written.
    fn route_for(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        bearer: Option<&str>,
    ) -> Option<usize> {
        let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        let path = decode_path(raw_path).to_lowercase();
        let query = parse_query(raw_query);
        find_route(
            &self.tenant.routes,
            &Incoming {
                method,
                path: &path,
                query: &query,
                body,
                bearer,
            },
        )
    }

    fn record(&self, entries: impl IntoIterator<Item = RecordedRequest>) {
        lock(&self.log).extend(entries);
    }

    fn next_reply(&self, route: usize) -> Reply {
        self.reply_at(route, true)
    }

    /// The route's current reply; `advance` takes it from the sequence.
    fn reply_at(&self, route: usize, advance: bool) -> Reply {
        let responses = &self.tenant.routes[route].responses;
        let n = {
            let mut counters = lock(&self.counters);
            let n = counters[route];
            if advance {
                counters[route] += 1;
            }
            n
        };
        // The last response repeats.
        let spec = &responses[n.min(responses.len() - 1)];
        Reply {
            status: spec.status,
            headers: spec
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), self.substitute_str(v)))
                .collect(),
            body: spec.body.as_ref().map(|b| self.substitute(b)),
        }
    }

    fn substitute(&self, body: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(body) {
            Ok(s) if s.contains("{{base}}") => s.replace("{{base}}", &self.base).into_bytes(),
            _ => body.to_vec(),
        }
    }

    fn substitute_str(&self, s: &str) -> String {
        s.replace("{{base}}", &self.base)
    }
}

/// A running replay server. It stops when dropped.
pub struct ReplayServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl ReplayServer {
    /// Binds `127.0.0.1:0` and starts serving `tenant` on the current tokio runtime.
    pub async fn start(tenant: Tenant) -> Result<ReplayServer, ReplayError> {
        ReplayServer::start_inner(tenant, None, None).await
    }

    /// Like [`ReplayServer::start`], behind rate limits ([`crate::throttle`]): every
    /// `[endpoints]` key has its own token bucket of `plan`, answers `429` with
    /// `Retry-After` when it is empty, and every answer waits `plan.latency`.
    pub async fn start_throttled(
        tenant: Tenant,
        plan: ThrottlePlan,
    ) -> Result<ReplayServer, ReplayError> {
        ReplayServer::start_inner(tenant, None, Some(Throttle::new(plan))).await
    }

    /// Like [`ReplayServer::start`], misbehaving as `plan` says ([`crate::faults`]).
    pub async fn start_with_faults(
        tenant: Tenant,
        plan: FaultPlan,
    ) -> Result<ReplayServer, ReplayError> {
        ReplayServer::start_inner(tenant, Some(Injector::new(plan)), None).await
    }

    async fn start_inner(
        tenant: Tenant,
        faults: Option<Injector>,
        throttle: Option<Throttle>,
    ) -> Result<ReplayServer, ReplayError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|source| ReplayError::Bind { source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ReplayError::Bind { source })?;
        let state = Arc::new(State {
            counters: Mutex::new(vec![0; tenant.routes.len()]),
            tenant,
            log: Mutex::new(Vec::new()),
            base: format!("http://{addr}"),
            faults,
            healed: std::sync::atomic::AtomicBool::new(false),
            repeats: Mutex::new(0),
            throttle,
        });
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(ReplayServer { addr, state, task })
    }

    /// The server's origin, `http://127.0.0.1:<port>` (no trailing slash): the value of
    /// `{{base}}` in pages.
    pub fn base_url(&self) -> String {
        self.state.base.clone()
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL for one `[endpoints]` key (`bap`, `powerapps`, `flow`, `powerbi`,
    /// `graph`, `arm`): `{base}/{key}`.
    pub fn endpoint(&self, key: &str) -> String {
        format!("{}/{key}", self.state.base)
    }

    /// Every request received so far, in arrival order (batch sub-requests follow their
    /// batch).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.log).clone()
    }

    /// Stops injecting faults: every later request is answered as recorded (a tenant
    /// whose outage is over, for tests that collect again from the same server).
    pub fn heal(&self) {
        self.state
            .healed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Forgets the request log (route sequences keep their position).
    pub fn clear_requests(&self) {
        lock(&self.state.log).clear();
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            // A client hanging up mid-request is not the server's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<ReplayBody>, Infallible> {
    let method = req.method().as_str().to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    // The token is only compared with routes that name one; it is never stored.
    let bearer: Option<String> = req.headers().get(hyper::header::AUTHORIZATION).map(|v| {
        let v = v.to_str().unwrap_or("");
        v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned()
    });
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(json_response(
                400,
                &error_body("BadRequest", &format!("could not read the body: {e}")),
            ));
        }
    };
    let (peeked, mut record) = state.peek(&method, &target, &body, bearer.as_deref());
    let path = decode_path(target.split('?').next().unwrap_or("")).to_lowercase();
    if let Some(t) = &state.throttle {
        tokio::time::sleep(t.plan.latency).await;
        if let Err(wait) = t.bucket(&path).take() {
            // Throttled before routing: the route's sequence stays where it was.
            record.status = 429;
            state.record([record]);
            return Ok(to_response(Reply {
                status: 429,
                headers: vec![("Retry-After".into(), retry_after_secs(wait).to_string())],
                body: Some(
                    error_body("TooManyRequests", "rate limit exceeded")
                        .to_string()
                        .into_bytes(),
                ),
            }));
        }
    }
    let builtin_batch = peeked.is_none() && method == "POST" && path == batch::BATCH_PATH;
    if peeked.is_none() && !builtin_batch {
        state.record([record]);
        return Ok(json_response(
            404,
            &error_body(
                "NoRoute",
                &format!("the replay server has no route for {method} {target}"),
            ),
        ));
    }
    let has_link = peeked
        .as_ref()
        .and_then(|(_, r)| r.body.as_deref())
        .is_some_and(faults::has_next_link);
    let fault = state
        .faults
        .as_ref()
        .filter(|_| !state.healed.load(std::sync::atomic::Ordering::Relaxed))
        .and_then(|f| f.draw(has_link));
    record.fault = fault;
    if let Some(f) = fault.filter(|f| f.replaces_answer()) {
        let reply = match f {
            Fault::Throttle => Reply {
                status: 429,
                headers: vec![("Retry-After".into(), "0".into())],
                body: Some(
                    error_body("TooManyRequests", "injected throttling")
                        .to_string()
                        .into_bytes(),
                ),
            },
            _ => Reply {
                status: 503,
                headers: Vec::new(),
                body: None,
            },
        };
        record.status = reply.status;
        // Recorded first: the client gives up on a hung request and the connection (and
        // with it this future) is dropped before the answer.
        state.record([record]);
        if f == Fault::Hang
            && let Some(inj) = &state.faults
        {
            tokio::time::sleep(inj.hang()).await;
        }
        return Ok(to_response(reply));
    }
    // The route's answer (or the built-in Graph batch), then damaged as the fault says.
    let mut reply = match peeked {
        Some((route, _)) => {
            let reply = state.next_reply(route);
            state.record([record.clone()]);
            reply
        }
        None => {
            let (reply, sub_requests) = batch::handle(&state, &body, bearer.as_deref());
            record.status = reply.status;
            record.builtin = true;
            state.record(std::iter::once(record.clone()).chain(sub_requests));
            reply
        }
    };
    let own_url = format!("{}{target}", state.base);
    match fault {
        Some(Fault::ResetMidBody) => {
            let full = reply.body.take().unwrap_or_default();
            return Ok(reset_response(reply, full));
        }
        Some(Fault::Truncated) => {
            if let Some(b) = &mut reply.body {
                b.truncate(b.len() / 2);
            }
        }
        Some(Fault::Malformed) => {
            reply.status = 200;
            reply.body = Some(b"<html><body>The service is busy</body></html>".to_vec());
        }
        Some(Fault::LoopingNextLink) => {
            reply.body = reply
                .body
                .map(|b| faults::rewrite_next_link(&b, |_| own_url.clone()));
        }
        Some(Fault::ForeignNextLink) => {
            reply.body = reply.body.map(|b| {
                faults::rewrite_next_link(&b, |old| {
                    old.replacen(&state.base, "https://palaudit-fault.invalid", 1)
                })
            });
        }
        Some(Fault::RepeatedPage) => {
            let n = {
                let mut r = lock(&state.repeats);
                *r += 1;
                *r
            };
            let sep = if own_url.contains('?') { '&' } else { '?' };
            let fresh = format!("{own_url}{sep}palaudit-repeat={n}");
            reply.body = reply
                .body
                .map(|b| faults::rewrite_next_link(&b, |_| fresh.clone()));
        }
        _ => {}
    }
    Ok(to_response(reply))
}

/// A response body: whole, or broken off after its first half.
pub struct ReplayBody {
    data: Option<Bytes>,
    /// Fail with a reset after `data`.
    reset: bool,
}

impl hyper::body::Body for ReplayBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        if let Some(d) = self.data.take() {
            return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(d))));
        }
        if self.reset {
            self.reset = false;
            return std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected reset",
            ))));
        }
        std::task::Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && !self.reset
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match (&self.data, self.reset) {
            (Some(d), false) => hyper::body::SizeHint::with_exact(d.len() as u64),
            (None, false) => hyper::body::SizeHint::with_exact(0),
            _ => hyper::body::SizeHint::default(),
        }
    }
}

/// The status and headers of `reply`, a `Content-Length` for all of `full`, half of it,
/// then a reset.
fn reset_response(reply: Reply, full: Vec<u8>) -> Response<ReplayBody> {
    let len = full.len();
    let mut resp = to_response(Reply {
        body: None,
        ..reply
    });
    *resp.body_mut() = ReplayBody {
        data: Some(Bytes::from(full).slice(..len / 2)),
        reset: true,
    };
    resp.headers_mut()
        .insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(len as u64));
    resp
}

pub(crate) fn error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code, "message": message } })
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<ReplayBody> {
    to_response(Reply {
        status,
        headers: Vec::new(),
        body: Some(body.to_string().into_bytes()),
    })
}

fn to_response(reply: Reply) -> Response<ReplayBody> {
    let has_body = reply.body.as_ref().is_some_and(|b| !b.is_empty());
    let mut resp = Response::new(ReplayBody {
        data: reply.body.map(Bytes::from).filter(|b| !b.is_empty()),
        reset: false,
    });
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let headers = resp.headers_mut();
    for (k, v) in &reply.headers {
        // Validated when the tenant was loaded; `{{base}}` substitution keeps them valid.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.append(name, value);
        }
    }
    if has_body && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Answer {
        status: u16,
        headers: String,
        body: String,
    }

    /// A minimal HTTP/1.1 client: one request per connection.
    async fn send(
        server: &ReplayServer,
        method: &str,
        target: &str,
        body: &str,
        auth: bool,
    ) -> Answer {
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let auth = if auth {
            "Authorization: Bearer secret-token\r\n"
        } else {
            ""
        };
        let req = format!(
            "{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head[9..12].parse().unwrap();
        Answer {
            status,
            headers: head.to_owned(),
            body: body.to_owned(),
        }
    }

    async fn server(routes: &str, files: &[(&str, &str)]) -> ReplayServer {
        let mut all = vec![("routes.json".to_owned(), routes.as_bytes().to_vec())];
        all.extend(
            files
                .iter()
                .map(|(p, b)| (p.to_string(), b.as_bytes().to_vec())),
        );
        ReplayServer::start(Tenant::from_files(all).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn throttled_mode_answers_429_per_api_once_its_bucket_is_empty() {
        let routes = r#"{"routes":[
            {"method":"GET","path":"/bap/envs","responses":[{"inline":"{}"}]},
            {"method":"GET","path":"/powerapps/apps","responses":[{"inline":"{}"}]}]}"#;
        let tenant =
            Tenant::from_files(vec![("routes.json".into(), routes.as_bytes().to_vec())]).unwrap();
        // A bucket of 2 refilled once a minute: the third request in a row is throttled.
        let plan = ThrottlePlan {
            rate: 1.0 / 60.0,
            burst: 2.0,
            latency: std::time::Duration::ZERO,
        };
        let s = ReplayServer::start_throttled(tenant, plan).await.unwrap();
        for _ in 0..2 {
            assert_eq!(send(&s, "GET", "/bap/envs", "", true).await.status, 200);
        }
        let a = send(&s, "GET", "/bap/envs", "", true).await;
        assert_eq!(a.status, 429);
        let retry_after: u64 = a
            .headers
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("retry-after: ")
                    .map(str::to_owned)
            })
            .and_then(|v| v.trim().parse().ok())
            .unwrap();
        assert!((59..=60).contains(&retry_after), "{retry_after}");
        assert!(a.body.contains("TooManyRequests"), "{}", a.body);
        // Another API is another host with its own bucket.
        assert_eq!(
            send(&s, "GET", "/powerapps/apps", "", true).await.status,
            200
        );
        let statuses: Vec<u16> = s.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, 200, 429, 200]);
    }

    #[tokio::test]
    async fn sequences_repeat_the_last_response_and_substitute_base() {
        let s = server(
            r#"{"routes":[{"method":"GET","path":"/bap/envs","responses":[
                {"status":429,"headers":{"Retry-After":"1"}},
                {"status":200,"body":"page.json"}]}]}"#,
            &[("page.json", r#"{"nextLink":"{{base}}/bap/envs?p=2"}"#)],
        )
        .await;
        let a = send(&s, "GET", "/bap/envs", "", true).await;
        assert_eq!(a.status, 429);
        assert!(a.headers.to_ascii_lowercase().contains("retry-after: 1"));
        for _ in 0..2 {
            let a = send(&s, "GET", "/bap/envs?x=1", "", false).await;
            assert_eq!(a.status, 200);
            assert_eq!(
                a.body,
                format!(r#"{{"nextLink":"{}/bap/envs?p=2"}}"#, s.base_url())
            );
            assert!(
                a.headers
                    .to_ascii_lowercase()
                    .contains("content-type: application/json")
            );
        }
        let log = s.requests();
        assert_eq!(log.len(), 3);
        assert!(log[0].authorization && !log[1].authorization);
        assert_eq!(log[1].target, "/bap/envs?x=1");
        assert_eq!(log[1].path(), "/bap/envs");
        assert_eq!(
            log.iter().map(|r| r.status).collect::<Vec<_>>(),
            [429, 200, 200]
        );
        // The token itself is nowhere in the log.
        assert!(!format!("{log:?}").contains("secret-token"));
    }

    #[tokio::test]
    async fn unmatched_requests_get_a_json_404_naming_the_path() {
        let s = server(r#"{"routes":[]}"#, &[]).await;
        let a = send(&s, "DELETE", "/powerapps/apps/1?api-version=x", "", true).await;
        assert_eq!(a.status, 404);
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("DELETE /powerapps/apps/1?api-version=x"),
            "{msg}"
        );
        assert_eq!(s.requests()[0].route, None);
        assert!(s.requests()[0].unmatched());
    }

    #[tokio::test]
    async fn inline_bodies_and_empty_bodies() {
        let s = server(
            r#"{"routes":[{"method":"GET","path":"/a","responses":[{"inline":"{not json"}]},
                          {"method":"GET","path":"/b","responses":[{"status":503}]}]}"#,
            &[],
        )
        .await;
        assert_eq!(send(&s, "GET", "/a", "", false).await.body, "{not json");
        let b = send(&s, "GET", "/b", "", false).await;
        assert_eq!((b.status, b.body.as_str()), (503, ""));
    }

    #[tokio::test]
    async fn graph_batch_routes_each_sub_request() {
        let s = server(
            r#"{"routes":[
              {"method":"GET","path":"/graph/v1.0/users/u1","responses":[
                 {"status":429,"headers":{"Retry-After":"1"}},{"body":"u1.json"}]},
              {"method":"GET","path":"/graph/v1.0/users/pat_f.com#EXT#@c.com","responses":[{"body":"u1.json"}]}
            ]}"#,
            &[("u1.json", r#"{"id":"u1","displayName":"U One"}"#)],
        )
        .await;
        let body = r#"{"requests":[
            {"id":"1","method":"GET","url":"/users/u1?$select=id"},
            {"id":"2","method":"GET","url":"/users/gone"},
            {"id":"3","method":"GET","url":"/users/pat_f.com%23EXT%23@c.com"}]}"#;
        let a = send(&s, "POST", "/graph/v1.0/$batch", body, true).await;
        assert_eq!(a.status, 200);
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        let r = v["responses"].as_array().unwrap();
        assert_eq!(r[0]["id"], "1");
        assert_eq!(r[0]["status"], 429);
        assert_eq!(r[0]["headers"]["Retry-After"], "1");
        assert_eq!(r[1]["status"], 404);
        assert_eq!(r[1]["body"]["error"]["code"], "Request_ResourceNotFound");
        assert_eq!(r[2]["status"], 200);
        assert_eq!(r[2]["body"]["displayName"], "U One");
        // The sequence advances per sub-request.
        let a = send(
            &s,
            "POST",
            "/graph/v1.0/%24batch",
            r#"{"requests":[{"id":"9","url":"/users/u1"}]}"#,
            true,
        )
        .await;
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(v["responses"][0]["status"], 200);
        let log = s.requests();
        assert_eq!(log.len(), 6);
        assert_eq!(
            (log[0].method.as_str(), log[0].status, log[0].in_batch),
            ("POST", 200, false)
        );
        assert!(log[0].builtin && !log[0].unmatched());
        assert!(log[1].in_batch && log[1].authorization);
        assert_eq!(log[1].target, "/graph/v1.0/users/u1?$select=id");
        assert!(log[2].unmatched());
    }

    #[tokio::test]
    async fn graph_batch_rejects_more_than_20_and_bad_json() {
        let s = server(r#"{"routes":[]}"#, &[]).await;
        let reqs: Vec<String> = (0..21)
            .map(|i| format!(r#"{{"id":"{i}","method":"GET","url":"/users/{i}"}}"#))
            .collect();
        let body = format!(r#"{{"requests":[{}]}}"#, reqs.join(","));
        let a = send(&s, "POST", "/graph/v1.0/$batch", &body, true).await;
        assert_eq!(a.status, 400);
        assert!(a.body.contains("at most 20"), "{}", a.body);
        let a = send(&s, "POST", "/graph/v1.0/$batch", "{", true).await;
        assert_eq!(a.status, 400);
        // Exactly 20 is fine.
        let body = format!(r#"{{"requests":[{}]}}"#, reqs[..20].join(","));
        assert_eq!(
            send(&s, "POST", "/graph/v1.0/$batch", &body, true)
                .await
                .status,
            200
        );
    }

    #[tokio::test]
    async fn a_recorded_batch_route_wins_over_the_builtin_handler() {
        let s = server(
            r#"{"routes":[{"method":"POST","path":"/graph/v1.0/$batch","responses":[{"status":503}]}]}"#,
            &[],
        )
        .await;
        assert_eq!(
            send(&s, "POST", "/graph/v1.0/$batch", r#"{"requests":[]}"#, true)
                .await
                .status,
            503
        );
    }

    #[tokio::test]
    async fn dropping_the_server_stops_it() {
        let s = server(r#"{"routes":[]}"#, &[]).await;
        let addr = s.addr();
        assert_eq!(s.endpoint("bap"), format!("http://{addr}/bap"));
        drop(s);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
