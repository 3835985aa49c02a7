//! Microsoft Graph JSON batching (`POST /v1.0/$batch`): each sub-request is routed as if
//! it had been sent on its own, and the answers come back in one `responses` array.

use crate::server::{RecordedRequest, Reply, State, error_body};
use serde::Deserialize;

/// The decoded, lower-cased path of the batch endpoint under the `graph` prefix.
pub(crate) const BATCH_PATH: &str = "/graph/v1.0/$batch";
/// What a sub-request's `url` is relative to.
const GRAPH_VERSION_PREFIX: &str = "/graph/v1.0";
/// Graph accepts at most 20 requests per batch.
pub(crate) const MAX_BATCH: usize = 20;

#[derive(Deserialize)]
struct BatchBody {
    requests: Vec<SubRequest>,
}

#[derive(Deserialize)]
struct SubRequest {
    id: serde_json::Value,
    #[serde(default = "get")]
    method: String,
    url: String,
    #[serde(default)]
    body: Option<serde_json::Value>,
}

fn get() -> String {
    "GET".into()
}

fn bad_request(message: &str) -> Reply {
    Reply {
        status: 400,
        headers: Vec::new(),
        body: Some(error_body("BadRequest", message).to_string().into_bytes()),
    }
}

/// Answers one batch; returns the reply and the log entries of its sub-requests.
pub(crate) fn handle(
    state: &State,
    body: &[u8],
    bearer: Option<&str>,
) -> (Reply, Vec<RecordedRequest>) {
    let batch: BatchBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => {
            return (
                bad_request(&format!("Invalid batch payload format: {e}")),
                Vec::new(),
            );
        }
    };
    if batch.requests.len() > MAX_BATCH {
        return (
            bad_request(&format!(
                "The batch holds {} requests; at most {MAX_BATCH} are allowed.",
                batch.requests.len()
            )),
            Vec::new(),
        );
    }
    let mut responses = Vec::with_capacity(batch.requests.len());
    let mut log = Vec::with_capacity(batch.requests.len());
    for sub in batch.requests {
        let id = match sub.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let url = relative_url(&sub.url);
        let target = format!("{GRAPH_VERSION_PREFIX}{url}");
        let method = sub.method.to_ascii_uppercase();
        let sub_body = sub
            .body
            .map(|b| b.to_string().into_bytes())
            .unwrap_or_default();
        let (reply, record) = state.answer(&method, &target, &sub_body, bearer, true);
        log.push(record);
        let reply = reply.unwrap_or_else(|| not_found(&url));
        let mut headers = serde_json::Map::new();
        for (k, v) in &reply.headers {
            headers.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        let mut item = serde_json::json!({ "id": id, "status": reply.status });
        if let Some(b) = reply.body.filter(|b| !b.is_empty()) {
            let value = serde_json::from_slice::<serde_json::Value>(&b).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&b).into_owned())
            });
            if !headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
            {
                headers.insert(
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                );
            }
            item["body"] = value;
        }
        item["headers"] = serde_json::Value::Object(headers);
        responses.push(item);
    }
    let body = serde_json::json!({ "responses": responses });
    (
        Reply {
            status: 200,
            headers: Vec::new(),
            body: Some(body.to_string().into_bytes()),
        },
        log,
    )
}

/// A sub-request `url` relative to `/v1.0`, starting with `/`. Graph documents relative
/// URLs; an absolute one is cut down to its part after `/v1.0`.
fn relative_url(url: &str) -> String {
    let url = url.trim();
    if (url.starts_with("http://") || url.starts_with("https://"))
        && let Some(i) = url.find("/v1.0/")
    {
        return url[i + "/v1.0".len()..].to_owned();
    }
    if url.starts_with('/') {
        url.to_owned()
    } else {
        format!("/{url}")
    }
}

/// Graph's answer for an object that does not exist.
fn not_found(url: &str) -> Reply {
    let path = url.split('?').next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or(path);
    let body = serde_json::json!({
        "error": {
            "code": "Request_ResourceNotFound",
            "message": format!(
                "Resource '{}' does not exist or one of its queried reference-property objects are not present.",
                crate::matching::decode_path(last)
            ),
        }
    });
    Reply {
        status: 404,
        headers: Vec::new(),
        body: Some(body.to_string().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls() {
        assert_eq!(relative_url("/users/a"), "/users/a");
        assert_eq!(relative_url("users/a"), "/users/a");
        assert_eq!(
            relative_url("https://graph.microsoft.com/v1.0/users/a?$select=id"),
            "/users/a?$select=id"
        );
    }
}
