//! A recorded tenant: `routes.json` and the page files it names, loaded and checked up
//! front so a broken fixture fails with the file and the problem, not with a 404 later.

use crate::matching::{decode_path, parse_query};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The file in a tenant directory that lists the routes.
pub const ROUTES_FILE: &str = "routes.json";

/// Why a tenant could not be loaded or the server could not start. Every variant names
/// the file (or address) involved.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: route {route} ({method} {route_path}): {message}")]
    InvalidRoute {
        path: PathBuf,
        /// 1-based position of the route in the `routes` array.
        route: usize,
        method: String,
        route_path: String,
        message: String,
    },
    #[error("{path}: no {ROUTES_FILE} among the tenant's files")]
    NoRoutes { path: PathBuf },
    #[error("could not listen on 127.0.0.1: {source}")]
    Bind {
        #[source]
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    routes: Vec<RawRoute>,
    /// Free text for the fixture's author; ignored.
    #[serde(default, rename = "comment")]
    _comment: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    body_match: Option<String>,
    #[serde(default)]
    bearer: Option<String>,
    responses: Vec<RawResponse>,
    #[serde(default, rename = "comment")]
    _comment: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    inline: Option<String>,
    #[serde(default, rename = "comment")]
    _comment: Option<serde_json::Value>,
}

fn default_status() -> u16 {
    200
}

/// One route: which requests it answers and the responses it gives, in order.
#[derive(Debug, Clone)]
pub struct Route {
    /// Upper-case HTTP method.
    pub method: String,
    /// The path as written in `routes.json`.
    pub path: String,
    /// Percent-decoded, lower-cased path used for matching.
    pub(crate) match_path: String,
    /// Parameters that must be present with these (decoded) values.
    pub query: Vec<(String, String)>,
    /// A string the request body must contain (POST routes).
    pub body_match: Option<String>,
    /// The bearer token the request must carry: for APIs whose answer depends on who
    /// asks (ManagementPartner answers for the calling identity). Test tokens only.
    pub bearer: Option<String>,
    pub responses: Vec<ResponseSpec>,
}

/// One recorded response.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body bytes (from the `body` file or `inline`), before `{{base}}` substitution.
    pub body: Option<Vec<u8>>,
}

/// A recorded tenant: its routes with their bodies loaded.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub(crate) routes: Vec<Route>,
}

impl Tenant {
    /// Lets `edit` change the recorded responses of every route (tests that need a
    /// recorded tenant with one page altered). `edit` sees the route's method, path as
    /// written and query; matching is not affected.
    pub fn edit_responses(
        &mut self,
        mut edit: impl FnMut(&str, &str, &[(String, String)], &mut Vec<ResponseSpec>),
    ) {
        for r in &mut self.routes {
            edit(&r.method, &r.path, &r.query, &mut r.responses);
        }
    }

    /// Loads `dir/routes.json` and every page file it names.
    pub fn from_dir(dir: &Path) -> Result<Tenant, ReplayError> {
        let routes_path = dir.join(ROUTES_FILE);
        let text = std::fs::read(&routes_path).map_err(|source| ReplayError::Io {
            path: routes_path.clone(),
            source,
        })?;
        Tenant::build(&routes_path, &text, |rel| {
            let p = dir.join(rel);
            std::fs::read(&p).map_err(|e| format!("body file {}: {e}", p.display()))
        })
    }

    /// Builds a tenant from in-memory files (relative path with `/` separators, contents),
    /// e.g. a fixture embedded in the binary with `include_dir`. One of them must be
    /// `routes.json`.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> Result<Tenant, ReplayError> {
        let files: HashMap<String, Vec<u8>> = files
            .into_iter()
            .map(|(p, b)| (normalise_rel(&p), b))
            .collect();
        let routes_path = PathBuf::from(ROUTES_FILE);
        let text = files
            .get(ROUTES_FILE)
            .ok_or_else(|| ReplayError::NoRoutes {
                path: PathBuf::from("<embedded tenant>"),
            })?;
        Tenant::build(&routes_path, text, |rel| {
            files
                .get(&normalise_rel(rel))
                .cloned()
                .ok_or_else(|| format!("body file `{rel}` is not among the tenant's files"))
        })
    }

    /// The routes, in file order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    fn build(
        routes_path: &Path,
        text: &[u8],
        mut read: impl FnMut(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Tenant, ReplayError> {
        let file: RoutesFile = serde_json::from_slice(text).map_err(|e| ReplayError::Syntax {
            path: routes_path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let mut routes = Vec::with_capacity(file.routes.len());
        for (i, raw) in file.routes.into_iter().enumerate() {
            let invalid = |message: String| ReplayError::InvalidRoute {
                path: routes_path.to_owned(),
                route: i + 1,
                method: raw.method.clone(),
                route_path: raw.path.clone(),
                message,
            };
            let method = raw.method.trim().to_ascii_uppercase();
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(invalid(format!("`{}` is not an HTTP method", raw.method)));
            }
            if !raw.path.starts_with('/') {
                return Err(invalid("`path` must start with `/`".into()));
            }
            // A query string written into the path is read as `query` entries.
            let (path_part, path_query) = match raw.path.split_once('?') {
                Some((p, q)) => (p, parse_query(q)),
                None => (raw.path.as_str(), Vec::new()),
            };
            let mut query = path_query;
            for (k, v) in &raw.query {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(invalid(format!(
                            "query parameter `{k}` must be a string, not {other}"
                        )));
                    }
                };
                query.push((k.clone(), v));
            }
            if raw.responses.is_empty() {
                return Err(invalid("`responses` is empty".into()));
            }
            let mut responses = Vec::with_capacity(raw.responses.len());
            for (j, r) in raw.responses.into_iter().enumerate() {
                let body = match (&r.body, &r.inline) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(format!(
                            "response {}: give either `body` or `inline`, not both",
                            j + 1
                        )));
                    }
                    (Some(file), None) => {
                        Some(read(file).map_err(|m| invalid(format!("response {}: {m}", j + 1)))?)
                    }
                    (None, Some(text)) => Some(text.clone().into_bytes()),
                    (None, None) => None,
                };
                if !(100..=599).contains(&r.status) {
                    return Err(invalid(format!(
                        "response {}: status {} is not an HTTP status",
                        j + 1,
                        r.status
                    )));
                }
                let mut headers = Vec::with_capacity(r.headers.len());
                for (name, value) in r.headers {
                    let value = match value {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Number(n) => n.to_string(),
                        other => {
                            return Err(invalid(format!(
                                "response {}: header `{name}` must be a string, not {other}",
                                j + 1
                            )));
                        }
                    };
                    if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                        || hyper::header::HeaderValue::from_str(&value).is_err()
                    {
                        return Err(invalid(format!(
                            "response {}: header `{name}: {value}` is not a valid HTTP header",
                            j + 1
                        )));
                    }
                    headers.push((name, value));
                }
                responses.push(ResponseSpec {
                    status: r.status,
                    headers,
                    body,
                });
            }
            routes.push(Route {
                match_path: decode_path(path_part).to_lowercase(),
                method,
                path: raw.path,
                query,
                body_match: raw.body_match,
                bearer: raw.bearer,
                responses,
            });
        }
        Ok(Tenant { routes })
    }
}

fn normalise_rel(p: &str) -> String {
    let p = p.replace('\\', "/");
    let mut s = p.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.trim_start_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(routes: &str) -> Vec<(String, Vec<u8>)> {
        vec![
            ("routes.json".into(), routes.as_bytes().to_vec()),
            ("bap/envs.json".into(), b"{\"value\":[]}".to_vec()),
        ]
    }

    #[test]
    fn loads_bodies_and_normalises_paths() {
        let t = Tenant::from_files(files(
            r#"{"routes":[{"method":"get","path":"/BAP/x%20y?api-version=1","query":{"$top":2},
               "responses":[{"body":"./bap/envs.json","headers":{"Retry-After":1}}]}]}"#,
        ))
        .unwrap();
        let r = &t.routes()[0];
        assert_eq!(r.method, "GET");
        assert_eq!(r.match_path, "/bap/x y");
        assert!(r.query.contains(&("api-version".into(), "1".into())));
        assert!(r.query.contains(&("$top".into(), "2".into())));
        assert_eq!(r.responses[0].status, 200);
        assert_eq!(
            r.responses[0].headers[0],
            ("Retry-After".into(), "1".into())
        );
        assert_eq!(r.responses[0].body.as_deref(), Some(&b"{\"value\":[]}"[..]));
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let err = Tenant::from_files(files("{\"routes\": [\n  {\"method\": }]}")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("routes.json:2:"), "{msg}");

        let err = Tenant::from_files(files(
            r#"{"routes":[{"method":"GET","path":"/a","responses":[{"body":"missing.json"}]}]}"#,
        ))
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("route 1 (GET /a)") && msg.contains("missing.json"),
            "{msg}"
        );

        let err = Tenant::from_files(files(
            r#"{"routes":[{"method":"GET","path":"/a","respones":[]}]}"#,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("respones"), "{err}");

        let err = Tenant::from_files(vec![]).unwrap_err();
        assert!(matches!(err, ReplayError::NoRoutes { .. }));
    }

    #[test]
    fn from_dir_reads_relative_bodies() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("graph")).unwrap();
        std::fs::write(dir.path().join("graph/nf.json"), "{}").unwrap();
        std::fs::write(
            dir.path().join("routes.json"),
            r#"{"routes":[{"method":"GET","path":"/graph/v1.0/users/x","responses":[{"status":404,"body":"graph/nf.json"}]}]}"#,
        )
        .unwrap();
        let t = Tenant::from_dir(dir.path()).unwrap();
        assert_eq!(t.routes()[0].responses[0].status, 404);
        let err = Tenant::from_dir(&dir.path().join("nope")).unwrap_err();
        assert!(err.to_string().contains("routes.json"), "{err}");
    }
}
