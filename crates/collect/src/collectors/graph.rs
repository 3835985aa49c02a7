//! Microsoft Graph: what the directory says about every principal that holds a role.
//!
//! Principals arrive while the other collectors run; each distinct one is looked up once,
//! in `$batch` requests of 20 (the Graph maximum):
//! - an object id: `/users/{id}`, on 404 `/servicePrincipals/{id}`, both 404 → a
//!   `deleted` principal;
//! - a UPN (Power BI `configuredBy`): `/users/{upn}` (`#` sent as `%23`); on 404, an
//!   address that is not a guest UPN is looked up as `mail` (Power BI names a guest
//!   publisher by the address it signed in with, and `/users/{address}` cannot find a
//!   guest by it); not found either way → `deleted`;
//! - an application user's app id: `/servicePrincipals(appId='{appId}')`.
//!
//! Only Graph's own word that an object does not exist makes a `deleted` record: a 404
//! whose error code says "not found" (`Request_ResourceNotFound`) on a by-key look-up, or
//! an empty `value` array from the `mail` filter. A 404 without that code, a 404 on the
//! filter (a list never 404s for being empty) or a filter answer without a `value` array
//! is a failed look-up, not a fact about the identity.
//!
//! A 429, 408 or 5xx inside a batch is retried for that item alone (the same rule as whole
//! requests, [`crate::http::retry`]: not 501 or 505), after the item's
//! `Retry-After`. Anything else that fails is a collection error; the principal then has
//! no directory record and the audit says `identity_health_unknown`.

use super::json::{boolean, id, text};
use super::{Ctx, RowMsg};
use crate::http::retry::is_retryable_status;
use crate::http::url::{build_url, encode_path_segment, encode_query_value};
use crate::http::{ApiRequest, HttpError, parse_retry_after};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use palaudit_model::{CollectionError, Principal, PrincipalType};
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

const COLLECTOR: &str = "graph";
/// Graph JSON batching takes at most 20 requests.
pub(crate) const BATCH_SIZE: usize = 20;
const USER_SELECT: &str =
    "id,displayName,userPrincipalName,mail,userType,accountEnabled,externalUserState,creationType";
const SP_SELECT: &str = "id,appId,displayName,accountEnabled,servicePrincipalType";

/// A principal to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PrincipalKey {
    /// An Entra object id (user or service principal).
    ObjectId(String),
    /// A UPN or mail address (Power BI `configuredBy`).
    Upn(String),
    /// A Dataverse application user: its app id, and its object id if Dataverse knows it.
    AppId {
        app_id: String,
        object_id: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    UserById,
    ServicePrincipalById,
    UserByUpn,
    UserByMail,
    ServicePrincipalByAppId,
}

#[derive(Debug, Clone)]
struct Lookup {
    stage: Stage,
    /// The object id, UPN or app id being looked up (lower-case).
    key: String,
    /// For app-id lookups: the object id Dataverse gave, for a `deleted` row.
    object_id: Option<String>,
    retries: u32,
}

impl Lookup {
    fn url(&self) -> String {
        let k = encode_path_segment(&self.key);
        match self.stage {
            Stage::UserById | Stage::UserByUpn => format!("/users/{k}?$select={USER_SELECT}"),
            Stage::ServicePrincipalById => format!("/servicePrincipals/{k}?$select={SP_SELECT}"),
            // A query value: `+` must be encoded, or Graph reads it as a space.
            Stage::UserByMail => format!(
                "/users?$filter=mail%20eq%20'{}'&$select={USER_SELECT}",
                encode_query_value(&self.key.replace('\'', "''"))
            ),
            Stage::ServicePrincipalByAppId => format!(
                "/servicePrincipals(appId='{}')?$select={SP_SELECT}",
                encode_path_segment(&self.key.replace('\'', "''"))
            ),
        }
    }
}

/// One sub-response of a batch.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Value,
}

struct BatchOutcome {
    lookups: Vec<Lookup>,
    answers: Result<Vec<Option<Answer>>, HttpError>,
}

/// Resolves principals until `keys` closes and every lookup is done.
pub(crate) async fn resolve(ctx: &Ctx, mut keys: mpsc::UnboundedReceiver<PrincipalKey>) {
    let mut seen: HashSet<PrincipalKey> = HashSet::new();
    let mut written: HashSet<String> = HashSet::new();
    let mut pending: VecDeque<Lookup> = VecDeque::new();
    let mut delayed: Vec<(Instant, Lookup)> = Vec::new();
    let mut in_flight = FuturesUnordered::new();
    let mut open = true;
    loop {
        // Full batches go out at once; the last, partial one when no more keys can come.
        while (pending.len() >= BATCH_SIZE || (!open && !pending.is_empty()))
            && in_flight.len() < ctx.concurrency()
        {
            let n = pending.len().min(BATCH_SIZE);
            let batch: Vec<Lookup> = pending.drain(..n).collect();
            in_flight.push(send_batch(ctx, batch));
        }
        if !open && pending.is_empty() && delayed.is_empty() && in_flight.is_empty() {
            break;
        }
        let wake = delayed.iter().map(|(t, _)| *t).min();
        tokio::select! {
            key = keys.recv(), if open => match key {
                Some(key) => {
                    if seen.insert(key.clone()) {
                        pending.push_back(first_lookup(key));
                    }
                }
                None => open = false,
            },
            Some(outcome) = in_flight.next(), if !in_flight.is_empty() => {
                handle(ctx, outcome, &mut pending, &mut delayed, &mut written).await;
            }
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                let now = Instant::now();
                let (due, later): (Vec<_>, Vec<_>) = delayed.drain(..).partition(|(t, _)| *t <= now);
                delayed = later;
                pending.extend(due.into_iter().map(|(_, l)| l));
            }
        }
    }
}

fn first_lookup(key: PrincipalKey) -> Lookup {
    match key {
        PrincipalKey::ObjectId(k) => Lookup {
            stage: Stage::UserById,
            key: k,
            object_id: None,
            retries: 0,
        },
        PrincipalKey::Upn(k) => Lookup {
            stage: Stage::UserByUpn,
            key: k,
            object_id: None,
            retries: 0,
        },
        PrincipalKey::AppId { app_id, object_id } => Lookup {
            stage: Stage::ServicePrincipalByAppId,
            key: app_id,
            object_id,
            retries: 0,
        },
    }
}

/// The journal key of one look-up: the `GET` it stands for, as if sent on its own, so a
/// batch composed differently on `--resume` still finds it.
fn lookup_key(ctx: &Ctx, l: &Lookup) -> crate::journal::Key {
    crate::journal::Key::new(
        "GET",
        &format!("{}/v1.0{}", ctx.config.endpoints.graph, l.url()),
        None,
    )
}

/// A journaled sub-answer: its status and body (headers only matter for retries, and
/// answers worth a retry are never journaled).
fn journaled_answer(bytes: &[u8]) -> Option<Answer> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    Some(Answer {
        status: v
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())?,
        headers: HashMap::new(),
        body: v.get("body").cloned().unwrap_or(Value::Null),
    })
}

async fn send_batch(ctx: &Ctx, lookups: Vec<Lookup>) -> BatchOutcome {
    // Look-ups the journal answers are not sent again; the rest go out in one batch.
    let journal = ctx.http.journal().cloned();
    let mut answers: Vec<Option<Answer>> = lookups
        .iter()
        .map(|l| {
            journal
                .as_ref()
                .and_then(|j| j.ask(&lookup_key(ctx, l)))
                .and_then(|b| journaled_answer(&b))
        })
        .collect();
    let to_send: Vec<usize> = (0..lookups.len())
        .filter(|&i| answers[i].is_none())
        .collect();
    if to_send.is_empty() {
        return BatchOutcome {
            lookups,
            answers: Ok(answers),
        };
    }
    let requests: Vec<Value> = to_send
        .iter()
        .enumerate()
        .map(|(i, &l)| serde_json::json!({ "id": (i + 1).to_string(), "method": "GET", "url": lookups[l].url() }))
        .collect();
    let sent = async {
        let url = build_url(&ctx.config.endpoints.graph, "/v1.0/$batch", &[])?;
        let req = ApiRequest::post_json(url, serde_json::json!({ "requests": requests }))
            .bearer(ctx.token(&ctx.config.scopes.graph))
            .for_collector(COLLECTOR)
            .unjournaled();
        let resp = ctx.http.send(&req).await?;
        ctx.save_raw(COLLECTOR, &resp.endpoint, &resp.body).await;
        let body = resp.json()?;
        let Some(answers) = batch_answers(&body, to_send.len()) else {
            return Err(HttpError::MalformedPage {
                endpoint: resp.endpoint.clone(),
                message: "expected a JSON object with a `responses` array".into(),
            });
        };
        Ok(answers)
    }
    .await;
    let answers = sent.map(|sent| {
        for (&i, answer) in to_send.iter().zip(sent) {
            // Only final answers are journaled: found, or Graph's word that it does not
            // exist. Throttling and server errors are asked again on resume.
            if let (Some(j), Some(a)) = (&journal, &answer) {
                let l = &lookups[i];
                if a.status == 200 || (a.status == 404 && says_not_found(l, a)) {
                    let rec = serde_json::json!({ "status": a.status, "body": a.body });
                    j.record(&lookup_key(ctx, l), rec.to_string().as_bytes());
                }
            }
            answers[i] = answer;
        }
        answers
    });
    BatchOutcome { lookups, answers }
}

/// The sub-answers of a `$batch` answer to `n` requests, by request (`None`: no answer
/// came for it; an answer with an unknown `id` is ignored). `None` without a `responses`
/// array.
fn batch_answers(body: &Value, n: usize) -> Option<Vec<Option<Answer>>> {
    let items = body.get("responses").and_then(Value::as_array)?;
    let mut answers: Vec<Option<Answer>> = (0..n).map(|_| None).collect();
    for item in items {
        let Some(i) = item
            .get("id")
            .and_then(|v| match v {
                Value::String(s) => s.parse::<usize>().ok(),
                Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
                _ => None,
            })
            .filter(|i| (1..=n).contains(i))
        else {
            continue;
        };
        let headers = item
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.to_ascii_lowercase(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        answers[i - 1] = Some(Answer {
            status: item
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0),
            headers,
            body: item.get("body").cloned().unwrap_or(Value::Null),
        });
    }
    Some(answers)
}

/// Arbitrary bytes as a `$batch` answer to one look-up of every kind, read as
/// [`handle`] reads it (the fuzz targets' entry point).
pub(crate) fn read_batch_answer(raw: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(raw) else {
        return;
    };
    let lookups: Vec<Lookup> = [
        Stage::UserById,
        Stage::ServicePrincipalById,
        Stage::UserByUpn,
        Stage::UserByMail,
        Stage::ServicePrincipalByAppId,
    ]
    .into_iter()
    .map(|stage| Lookup {
        stage,
        key: "a#b'c@contoso.com".into(),
        object_id: Some("o1".into()),
        retries: 0,
    })
    .collect();
    let Some(answers) = batch_answers(&body, lookups.len()) else {
        return;
    };
    for (l, a) in lookups.iter().zip(&answers) {
        let _ = l.url();
        if let Some(a) = a {
            let _ = says_not_found(l, a);
            let _ = principals_from(l, &a.body);
            let _ = next_stage(l);
            let _ = a.headers.get("retry-after").map(|v| parse_retry_after(v));
        }
    }
}

fn graph_endpoint(ctx: &Ctx, l: &Lookup) -> String {
    format!("GET {}/v1.0{}", ctx.config.endpoints.graph, l.url())
}

async fn handle(
    ctx: &Ctx,
    outcome: BatchOutcome,
    pending: &mut VecDeque<Lookup>,
    delayed: &mut Vec<(Instant, Lookup)>,
    written: &mut HashSet<String>,
) {
    let answers = match outcome.answers {
        Ok(a) => a,
        Err(e) => {
            let keys: Vec<&str> = outcome.lookups.iter().map(|l| l.key.as_str()).collect();
            let mut err = e.to_collection_error(COLLECTOR, None);
            err.message = format!(
                "{}; {} principal(s) left without a directory record: {}",
                err.message,
                keys.len(),
                keys.join(", ")
            );
            ctx.error(err);
            return;
        }
    };
    for (mut lookup, answer) in outcome.lookups.into_iter().zip(answers) {
        let Some(answer) = answer else {
            ctx.error(CollectionError {
                collector: COLLECTOR.into(),
                scope: None,
                endpoint: Some(graph_endpoint(ctx, &lookup)),
                status: None,
                message: "the $batch response has no answer for this request".into(),
            });
            continue;
        };
        match answer.status {
            200 => {
                let found = principals_from(&lookup, &answer.body);
                if found.is_empty() {
                    let what = if lookup.stage == Stage::UserByMail {
                        "Graph answered the `mail` filter without a `value` array"
                    } else {
                        "Graph answered without an object `id`"
                    };
                    ctx.error(CollectionError {
                        collector: COLLECTOR.into(),
                        scope: None,
                        endpoint: Some(graph_endpoint(ctx, &lookup)),
                        status: Some(200),
                        message: format!(
                            "{what}; the principal is left without a directory record"
                        ),
                    });
                }
                for principal in found {
                    write(ctx, principal, written).await;
                }
            }
            404 if !says_not_found(&lookup, &answer) => {
                let mut err = answer_error(ctx, &lookup, &answer, lookup.retries + 1);
                err.message.push_str(
                    "; not Graph's word that the object does not exist, so the principal is left without a directory record",
                );
                ctx.error(err);
            }
            404 => {
                if let Some(next) = next_stage(&lookup) {
                    pending.push_back(Lookup {
                        stage: next,
                        retries: 0,
                        ..lookup
                    });
                } else {
                    write(ctx, deleted(&lookup), written).await;
                }
            }
            s if is_retryable_status(s) => {
                let policy = &ctx.http.settings().retry;
                if lookup.retries >= policy.max_retries {
                    ctx.error(answer_error(ctx, &lookup, &answer, lookup.retries + 1));
                    continue;
                }
                let asked = answer
                    .headers
                    .get("retry-after")
                    .and_then(|v| parse_retry_after(v));
                // As for whole requests: a wait past the cap fails the lookup at once.
                let Some(wait) = policy.wait(lookup.retries, asked) else {
                    ctx.error(answer_error(ctx, &lookup, &answer, lookup.retries + 1));
                    continue;
                };
                lookup.retries += 1;
                delayed.push((Instant::now() + wait.max(Duration::from_millis(1)), lookup));
            }
            _ => ctx.error(answer_error(ctx, &lookup, &answer, lookup.retries + 1)),
        }
    }
}

fn answer_error(ctx: &Ctx, l: &Lookup, a: &Answer, attempts: u32) -> CollectionError {
    let bytes = serde_json::to_vec(&a.body).unwrap_or_default();
    let (code, message) = crate::http::api_error(&bytes);
    let mut text = format!("Graph answered HTTP {} in a $batch", a.status);
    if attempts > 1 {
        text.push_str(&format!(" ({attempts} attempts)"));
    }
    if let Some(m) = message {
        text.push_str(": ");
        if let Some(c) = code {
            text.push_str(&format!("{c}: "));
        }
        text.push_str(&m);
    }
    CollectionError {
        collector: COLLECTOR.into(),
        scope: None,
        endpoint: Some(graph_endpoint(ctx, l)),
        status: Some(a.status),
        message: text,
    }
}

/// Whether a 404 is Graph saying the object does not exist: a by-key look-up answered
/// with a "not found" error code. The `mail` filter is a list: an unknown address gives
/// an empty `value`, so a 404 there means the request itself went wrong.
fn says_not_found(l: &Lookup, a: &Answer) -> bool {
    if l.stage == Stage::UserByMail {
        return false;
    }
    let bytes = serde_json::to_vec(&a.body).unwrap_or_default();
    let (code, _) = crate::http::api_error(&bytes);
    code.is_some_and(|c| c.to_ascii_lowercase().ends_with("notfound"))
}

fn next_stage(l: &Lookup) -> Option<Stage> {
    match l.stage {
        Stage::UserById => Some(Stage::ServicePrincipalById),
        Stage::UserByUpn
            if palaudit_model::ids::guest_external_address(&l.key).is_none()
                && l.key.contains('@') =>
        {
            Some(Stage::UserByMail)
        }
        _ => None,
    }
}

fn principals_from(l: &Lookup, body: &Value) -> Vec<Principal> {
    match l.stage {
        Stage::UserById | Stage::UserByUpn => user(body).into_iter().collect(),
        Stage::ServicePrincipalById | Stage::ServicePrincipalByAppId => {
            service_principal(body).into_iter().collect()
        }
        // Only an empty `value` array says no user has the address; a body without one
        // says nothing (the caller reports it).
        Stage::UserByMail => match body.get("value").and_then(Value::as_array) {
            Some(v) if v.is_empty() => vec![deleted(l)],
            Some(v) => v.iter().filter_map(user).collect(),
            None => Vec::new(),
        },
    }
}

fn user(v: &Value) -> Option<Principal> {
    Some(Principal {
        object_id: id(v, "/id")?,
        app_id: None,
        upn: text(v, "/userPrincipalName").map(str::to_owned),
        mail: text(v, "/mail").map(str::to_owned),
        display_name: text(v, "/displayName").map(str::to_owned),
        principal_type: PrincipalType::User,
        user_type: text(v, "/userType").map(str::to_owned),
        enabled: boolean(v, "/accountEnabled"),
        deleted: false,
        external_user_state: text(v, "/externalUserState").map(str::to_owned),
    })
}

fn service_principal(v: &Value) -> Option<Principal> {
    Some(Principal {
        object_id: id(v, "/id")?,
        app_id: id(v, "/appId"),
        upn: None,
        mail: None,
        display_name: text(v, "/displayName").map(str::to_owned),
        principal_type: PrincipalType::ServicePrincipal,
        user_type: None,
        enabled: boolean(v, "/accountEnabled"),
        deleted: false,
        external_user_state: None,
    })
}

/// The record of a principal Graph does not know (404).
fn deleted(l: &Lookup) -> Principal {
    let mut p = Principal {
        object_id: String::new(),
        app_id: None,
        upn: None,
        mail: None,
        display_name: None,
        principal_type: PrincipalType::Unknown,
        user_type: None,
        enabled: None,
        deleted: true,
        external_user_state: None,
    };
    match l.stage {
        Stage::UserById | Stage::ServicePrincipalById => p.object_id = l.key.clone(),
        Stage::UserByUpn | Stage::UserByMail => {
            p.upn = Some(l.key.clone());
            p.principal_type = PrincipalType::User;
        }
        Stage::ServicePrincipalByAppId => {
            p.object_id = l.object_id.clone().unwrap_or_default();
            p.app_id = Some(l.key.clone());
            p.principal_type = PrincipalType::ServicePrincipal;
        }
    }
    p
}

/// Writes a principal once (an object can be reached by id, UPN and app id).
async fn write(ctx: &Ctx, p: Principal, written: &mut HashSet<String>) {
    let key = if !p.object_id.is_empty() {
        p.object_id.clone()
    } else if let Some(upn) = &p.upn {
        format!("upn:{}", upn.to_ascii_lowercase())
    } else {
        format!("app:{}", p.app_id.clone().unwrap_or_default())
    };
    if written.insert(key) {
        ctx.emit(RowMsg::Principal(p)).await;
        ctx.progress.add("principals", 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(stage: Stage, key: &str) -> Lookup {
        Lookup {
            stage,
            key: key.into(),
            object_id: Some("oid".into()),
            retries: 0,
        }
    }

    #[test]
    fn lookup_urls() {
        assert_eq!(
            lookup(Stage::UserByUpn, "pat_f.com#ext#@c.onmicrosoft.com").url(),
            format!("/users/pat_f.com%23ext%23@c.onmicrosoft.com?$select={USER_SELECT}")
        );
        assert_eq!(
            lookup(Stage::ServicePrincipalByAppId, "4e2b").url(),
            format!("/servicePrincipals(appId='4e2b')?$select={SP_SELECT}")
        );
        assert_eq!(
            lookup(Stage::UserByMail, "pat@f.com").url(),
            format!("/users?$filter=mail%20eq%20'pat@f.com'&$select={USER_SELECT}")
        );
        assert!(
            lookup(Stage::UserByMail, "pat+pal@f.com")
                .url()
                .contains("'pat%2Bpal@f.com'"),
            "a plus sign in a query is encoded"
        );
    }

    #[test]
    fn stages_and_deleted_records() {
        assert_eq!(
            next_stage(&lookup(Stage::UserById, "x")),
            Some(Stage::ServicePrincipalById)
        );
        assert_eq!(next_stage(&lookup(Stage::ServicePrincipalById, "x")), None);
        assert_eq!(
            next_stage(&lookup(Stage::UserByUpn, "pat@f.com")),
            Some(Stage::UserByMail)
        );
        assert_eq!(
            next_stage(&lookup(Stage::UserByUpn, "pat_f.com#ext#@c.com")),
            None
        );
        let d = deleted(&lookup(Stage::ServicePrincipalById, "x"));
        assert!(d.deleted && d.object_id == "x");
        let d = deleted(&lookup(Stage::UserByMail, "pat@f.com"));
        assert_eq!(
            (d.upn.as_deref(), d.object_id.as_str()),
            (Some("pat@f.com"), "")
        );
        let d = deleted(&lookup(Stage::ServicePrincipalByAppId, "app"));
        assert_eq!(
            (d.app_id.as_deref(), d.object_id.as_str()),
            (Some("app"), "oid")
        );
    }

    #[test]
    fn graph_records() {
        let u = user(&serde_json::json!({"id": "9723D9B0", "displayName": "Pat Partner",
            "userPrincipalName": "pat_partner.com#EXT#@contoso.onmicrosoft.com", "mail": "pat@partner.com",
            "userType": "Guest", "accountEnabled": true, "externalUserState": "Accepted"}))
        .unwrap();
        assert_eq!(u.object_id, "9723d9b0");
        assert_eq!(
            u.upn.as_deref(),
            Some("pat_partner.com#EXT#@contoso.onmicrosoft.com")
        );
        assert_eq!(
            (u.enabled, u.user_type.as_deref()),
            (Some(true), Some("Guest"))
        );
        let sp = service_principal(
            &serde_json::json!({"id": "S", "appId": "A", "accountEnabled": false}),
        )
        .unwrap();
        assert_eq!(
            (sp.object_id.as_str(), sp.app_id.as_deref(), sp.enabled),
            ("s", Some("a"), Some(false))
        );
    }
}
