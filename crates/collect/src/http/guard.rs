//! The guards every request passes before any network I/O, in [`check`]:
//! - **read-only** ([`check_read_only`]): `GET`, and `POST` only to the read-only
//!   endpoints Power BI `admin/workspaces/getInfo`, Graph `$batch` (whose sub-requests
//!   must all be `GET`) and Graph `directoryObjects/getByIds`; every other method or POST
//!   is refused;
//! - **no token in clear** ([`check_transport`]): a bearer token goes only over https, or
//!   plain http to a loopback address (the replay server).
//!
//! [`super::HttpClient::send`] calls [`check`] first, and nothing else in palaudit sends
//! a request; code that must know in advance whether a token may go somewhere (the
//! Dataverse preflight) calls [`check_transport`] itself.

use super::error::HttpError;
use super::url::{Endpoint, is_loopback};
use reqwest::Method;
use url::Url;

/// Both guards, in the order `send` applies them.
pub fn check(
    method: &Method,
    url: &Url,
    json: Option<&serde_json::Value>,
    bearer: bool,
) -> Result<(), HttpError> {
    check_read_only(method, url, json)?;
    check_transport(method, url, bearer)
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
        // The read-only guard speaks first.
        let err = check(&Method::DELETE, &url("http://example.com/x"), None, true).unwrap_err();
        assert!(matches!(err, HttpError::NotReadOnly { .. }));
    }
}
