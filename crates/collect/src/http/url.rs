//! URLs as the admin APIs want them, and as palaudit shows them.
//!
//! - building: [`build_url`] joins a base, a path and query values, encoding them the way
//!   OData servers read them; a URL that cannot be built is a [`UrlError`] naming it;
//! - showing: [`Endpoint`] is a request's method and URL with user info dropped and the
//!   values of secret-looking query parameters replaced, the only form in which a URL
//!   reaches a log line, an error or the manifest;
//! - [`is_loopback`]: the one test of "this host is this machine" the guards and the
//!   config share.
//!
//! This room imports nothing else of the crate but [`crate::secret`] (which imports
//! nothing), so the config can use it without an import circle (config → `http::url`;
//! auth → config; the rest of `http` → auth).

use reqwest::Method;
use std::fmt;
use std::net::IpAddr;
use url::Url;

/// A URL palaudit could not build: the text it tried, and why it is not a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a URL ({reason})")]
pub struct UrlError {
    /// The URL as far as it was built. Built from a base the config validated and from
    /// ids the APIs returned; it carries no secret query values.
    pub text: String,
    pub reason: url::ParseError,
}

/// Parses `text` as a URL, or says which text was not one.
pub fn parse(text: &str) -> Result<Url, UrlError> {
    Url::parse(text).map_err(|reason| UrlError {
        text: text.to_owned(),
        reason,
    })
}

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
            // A known token in a query value is hidden whatever the parameter's name.
            url: crate::secret::redact(&redact(url)).into_owned(),
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

/// `url` without user info and with secret query values replaced by `REDACTED`.
pub fn redact(url: &Url) -> String {
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

/// Percent-encodes every byte of `v` except unreserved characters and those in `keep`.
fn percent_encode(v: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes a query value, leaving the characters OData syntax uses and servers read
/// literally (`$`, `,`, `'`, `(`, `)`, `:`, `@`, `/`); `+` is encoded, or it would read as
/// a space.
pub fn encode_query_value(v: &str) -> String {
    percent_encode(v, b"$,'():@/")
}

/// Percent-encodes one path segment (ids, UPNs: `#` becomes `%23`).
pub fn encode_path_segment(v: &str) -> String {
    percent_encode(v, b"@'()=!$+,;*")
}

/// `{base}{path}?k=v&…`, values encoded as OData servers expect.
pub fn build_url(base: &str, path: &str, query: &[(&str, &str)]) -> Result<Url, UrlError> {
    let mut s = format!("{}{}", base.trim_end_matches('/'), path);
    append_query(&mut s, path.contains('?'), query);
    parse(&s)
}

/// `url` with `query` appended (after any query it already has).
pub fn with_query(url: &Url, query: &[(&str, &str)]) -> Result<Url, UrlError> {
    let mut s = url.to_string();
    append_query(&mut s, url.query().is_some(), query);
    parse(&s)
}

fn append_query(s: &mut String, has_query: bool, query: &[(&str, &str)]) {
    for (i, (k, v)) in query.iter().enumerate() {
        s.push(if i == 0 && !has_query { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(&encode_query_value(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_odata_syntax_readable() {
        let u = build_url(
            "https://org.api.crm.dynamics.com/",
            "/api/data/v9.2/systemusers",
            &[
                ("$select", "systemuserid,fullname"),
                ("$filter", "name eq 'a b'"),
            ],
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://org.api.crm.dynamics.com/api/data/v9.2/systemusers?$select=systemuserid,fullname&$filter=name%20eq%20%27a%20b%27"
        );
        assert_eq!(
            encode_path_segment("pat_f.com#EXT#@c.onmicrosoft.com"),
            "pat_f.com%23EXT%23@c.onmicrosoft.com"
        );
        assert_eq!(encode_path_segment("a/b?c%"), "a%2Fb%3Fc%25");
        let more = with_query(&u, &[("$top", "10")]).unwrap();
        assert!(more.as_str().ends_with("%27&$top=10"), "{more}");
        let bare = with_query(&Url::parse("https://x/a").unwrap(), &[("$top", "1")]).unwrap();
        assert_eq!(bare.as_str(), "https://x/a?$top=1");
    }

    #[test]
    fn a_url_that_cannot_be_built_names_itself() {
        let err = build_url("not a base", "/x", &[]).unwrap_err();
        assert_eq!(err.text, "not a base/x");
        assert!(
            err.to_string().starts_with("`not a base/x` is not a URL ("),
            "{err}"
        );
    }

    #[test]
    fn endpoints_hide_secret_query_values() {
        let u = Url::parse("https://user:pw@x.com/a?api-version=1&$skiptoken=abc&sig=zzz").unwrap();
        let e = Endpoint::new(&Method::GET, &u);
        assert_eq!(
            e.to_string(),
            "GET https://x.com/a?api-version=1&$skiptoken=REDACTED&sig=REDACTED"
        );
    }
}
