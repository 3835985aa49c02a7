//! [`HttpError`]: why a request failed, always naming the endpoint when there was one,
//! and the API's own words about it ([`api_error`]).

use super::url::{Endpoint, UrlError};
use crate::auth::AuthError;
use palaudit_model::CollectionError;

/// Why a request failed. Every variant but [`HttpError::Url`] and
/// [`HttpError::Client`] carries the endpoint.
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
    /// The request's URL could not be built (from a base URL and ids the APIs returned);
    /// nothing was sent.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The HTTP client itself could not be set up; nothing was sent.
    #[error("could not build the HTTP client: {message}")]
    Client { message: String },
}

impl HttpError {
    /// The request that failed; `None` when there was no request to name.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        match self {
            HttpError::NotReadOnly { endpoint, .. }
            | HttpError::InsecureTransport { endpoint }
            | HttpError::Token { endpoint, .. }
            | HttpError::Status { endpoint, .. }
            | HttpError::Transport { endpoint, .. }
            | HttpError::MalformedPage { endpoint, .. } => Some(endpoint),
            HttpError::Url(_) | HttpError::Client { .. } => None,
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
            HttpError::Url(_) | HttpError::Client { .. } => self.to_string(),
            HttpError::NotReadOnly { endpoint, .. } | HttpError::InsecureTransport { endpoint } => {
                let full = self.to_string();
                let prefix = format!("{endpoint}: ");
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
            endpoint: self.endpoint().map(ToString::to_string),
            status: self.status(),
            message: self.detail(),
        }
    }
}

/// The API's own error description: `{"error":{"code","message"}}` (Power Platform,
/// Dataverse, Graph, ARM), Power BI's `error.pbi.error.code`, or a short text body.
pub fn api_error(body: &[u8]) -> (Option<String>, Option<String>) {
    // An error body may quote the request's token; it never reaches a message.
    let (code, message) = api_error_raw(body);
    let clean = |s: String| crate::secret::redact(&s).into_owned();
    (code.map(clean), message.map(clean))
}

fn api_error_raw(body: &[u8]) -> (Option<String>, Option<String>) {
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
pub(crate) fn status_hint(status: u16) -> &'static str {
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

/// The message of a failed status: the hint, the attempts if it was retried, and the
/// API's own code and message.
pub(crate) fn status_message(status: u16, attempts: u32, body: &[u8]) -> (Option<String>, String) {
    let (code, message) = api_error(body);
    let mut text = status_hint(status).to_owned();
    if attempts > 1 {
        text.push_str(&format!(" ({attempts} attempts)"));
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
    (code, text)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = HttpError::from(crate::http::url::parse("nope").unwrap_err());
        let c = e.to_collection_error("flows", Some("env"));
        assert_eq!(c.endpoint, None);
        assert!(
            c.message.starts_with("`nope` is not a URL"),
            "{}",
            c.message
        );
    }
}
