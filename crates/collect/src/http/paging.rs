//! Paging as the admin APIs do it:
//! - [`LinkPager`]: a top-level `nextLink` (BAP, Power Apps, Flow) or `@odata.nextLink`
//!   (Dataverse, Graph) next to `value`; for Dataverse with `Prefer: odata.maxpagesize`
//!   on every page ([`dataverse_request`]);
//! - [`SkipPager`]: Power BI `$top`/`$skip`, stopping at the first short page.
//!
//! A page that is not a JSON object with a `value` array, or whose `nextLink` is neither
//! a string nor `null`, is a [`HttpError::MalformedPage`] naming the endpoint: a listing
//! never ends quietly on a shape palaudit does not read. A `nextLink` is only followed to
//! the origin of the first request (the bearer token must not travel elsewhere) and never
//! twice.
//!
//! Paging that does not advance is stopped with an error naming the endpoint: a page
//! whose every item was already read on an earlier page of the same listing (fresh
//! `nextLink`s serving the same items again, or a Power BI server ignoring `$skip`)
//! would otherwise be followed to the page cap, or re-read at the hourly quota forever.

use super::url::{Endpoint, with_query};
use super::{ApiRequest, HttpClient, HttpError};
use serde_json::Value;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use url::Url;

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    /// The `value` array.
    pub items: Vec<Value>,
    /// The body as received (for `--raw`).
    pub raw: Vec<u8>,
    pub endpoint: Endpoint,
}

/// A bound on pages per listing, far beyond any real tenant, so a misbehaving API
/// cannot keep palaudit paging forever.
const MAX_PAGES: usize = 100_000;

/// The next page's link: top-level `@odata.nextLink` or `nextLink`; `None` when absent,
/// `null` or empty. Any other value (a number, an object) is an error: ending the listing
/// there would drop the pages after it without a word.
pub fn next_link(body: &Value) -> Result<Option<&str>, String> {
    for key in ["@odata.nextLink", "nextLink"] {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let s = s.trim();
                if !s.is_empty() {
                    return Ok(Some(s));
                }
            }
            Some(other) => {
                return Err(format!(
                    "`{key}` is {}, not a URL string; the pages after this one could not be read",
                    json_kind(other)
                ));
            }
        }
    }
    Ok(None)
}

/// What kind of JSON value `v` is, for messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The items of one listing read so far, by content, to tell a page that brings nothing
/// new (paging in a loop) from one that advances.
#[derive(Default)]
struct SeenItems(HashSet<u64>);

impl SeenItems {
    /// Records `items`; an error when there were items and every one was read before.
    fn check(&mut self, items: &[Value], endpoint: &Endpoint) -> Result<(), HttpError> {
        let mut fresh = false;
        for item in items {
            let mut h = DefaultHasher::new();
            item.to_string().hash(&mut h);
            fresh |= self.0.insert(h.finish());
        }
        if items.is_empty() || fresh {
            Ok(())
        } else {
            Err(HttpError::MalformedPage {
                endpoint: endpoint.clone(),
                message: format!(
                    "the page repeats {} item(s) already read on earlier pages of this listing; the API is paging in a loop, so paging stopped",
                    items.len()
                ),
            })
        }
    }
}

/// The `value` array of a page [`parse_page`] accepted.
pub(crate) fn take_items(body: Value) -> Vec<Value> {
    match body {
        Value::Object(mut m) => match m.remove("value") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Reads a page body: a JSON object with a `value` array.
pub fn parse_page(endpoint: &Endpoint, raw: &[u8]) -> Result<Value, HttpError> {
    let malformed = |message: String| HttpError::MalformedPage {
        endpoint: endpoint.clone(),
        message,
    };
    let body: Value = serde_json::from_slice(raw)
        .map_err(|e| malformed(format!("the body is not JSON ({e})")))?;
    if !body.get("value").is_some_and(Value::is_array) {
        return Err(malformed(
            "expected a JSON object with a `value` array".into(),
        ));
    }
    Ok(body)
}

/// A Dataverse Web API GET: JSON, OData 4.0, and `Prefer: odata.maxpagesize` so the
/// server pages with `@odata.nextLink` (`$skip` is not supported there).
pub fn dataverse_request(url: Url, page_size: u32, extra_prefer: Option<&str>) -> ApiRequest {
    let mut prefer = format!("odata.maxpagesize={page_size}");
    if let Some(p) = extra_prefer {
        prefer.push(',');
        prefer.push_str(p);
    }
    ApiRequest::get(url)
        .header("Accept", "application/json")
        .header("OData-MaxVersion", "4.0")
        .header("OData-Version", "4.0")
        .header("Prefer", prefer)
}

/// Whether a `nextLink` may be followed with the first request's token: to the same
/// origin, or over https to a subdomain of the API's own domain (`api.powerapps.com` may
/// page through `unitedstates.api.powerapps.com`, as its regional runtime endpoints
/// suggest). A regional host may name a port: the flow service pages through
/// `https://emea.api.flow.microsoft.com:11777/…`. Graph and Dataverse hosts page on the
/// same host only.
pub fn may_follow(origin: &url::Origin, first: &Url, next: &Url) -> bool {
    if next.origin() == *origin {
        return true;
    }
    if first.scheme() != "https" || next.scheme() != "https" {
        return false;
    }
    let (Some(host), Some(next_host)) = (first.host_str(), next.host_str()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    let stem = ["api.", "gov.api.", "high.api."]
        .iter()
        .find_map(|p| host.strip_prefix(p));
    match stem {
        Some(stem) if stem.contains('.') => next_host
            .to_ascii_lowercase()
            .ends_with(&format!(".{stem}")),
        _ => false,
    }
}

/// Follows `nextLink` / `@odata.nextLink` from a first request. Every page is sent like
/// the first one (same token and headers).
pub struct LinkPager<'a> {
    http: &'a HttpClient,
    template: ApiRequest,
    next: Option<Url>,
    first: Url,
    origin: url::Origin,
    seen: HashSet<String>,
    items: SeenItems,
    pages: usize,
    /// A bad `nextLink`, reported after the (good) page that carried it.
    deferred: Option<HttpError>,
}

impl<'a> LinkPager<'a> {
    pub fn new(http: &'a HttpClient, first: ApiRequest) -> LinkPager<'a> {
        LinkPager {
            http,
            origin: first.url.origin(),
            first: first.url.clone(),
            next: Some(first.url.clone()),
            template: first,
            seen: HashSet::new(),
            items: SeenItems::default(),
            pages: 0,
            deferred: None,
        }
    }

    /// The next page; `None` when the listing is done or after an error.
    pub async fn next_page(&mut self) -> Option<Result<Page, HttpError>> {
        if let Some(e) = self.deferred.take() {
            return Some(Err(e));
        }
        let url = self.next.take()?;
        let mut req = self.template.clone();
        req.url = url;
        let endpoint = req.endpoint();
        let resp = match self.http.send(&req).await {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let body = match parse_page(&endpoint, &resp.body) {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        self.pages += 1;
        self.seen.insert(req.url.as_str().to_owned());
        match next_link(&body) {
            Ok(Some(link)) => match self.follow(&req.url, link, &endpoint) {
                Ok(next) => self.next = Some(next),
                Err(e) => self.deferred = Some(e),
            },
            Ok(None) => {}
            Err(message) => {
                self.deferred = Some(HttpError::MalformedPage {
                    endpoint: endpoint.clone(),
                    message,
                })
            }
        }
        let items = take_items(body);
        if let Err(e) = self.items.check(&items, &endpoint) {
            self.next = None;
            self.deferred = None;
            return Some(Err(e));
        }
        Some(Ok(Page {
            items,
            raw: resp.body,
            endpoint,
        }))
    }

    fn follow(&self, current: &Url, link: &str, endpoint: &Endpoint) -> Result<Url, HttpError> {
        let malformed = |message: String| HttpError::MalformedPage {
            endpoint: endpoint.clone(),
            message,
        };
        let next = current
            .join(link)
            .map_err(|e| malformed(format!("nextLink `{link}` is not a URL ({e})")))?;
        if !may_follow(&self.origin, &self.first, &next) {
            return Err(malformed(format!(
                "nextLink leads to another host ({}); not followed, so the token stays with the API it is for",
                next.origin().ascii_serialization()
            )));
        }
        if self.seen.contains(next.as_str()) {
            return Err(malformed(
                "nextLink repeats a page already read; paging stopped".into(),
            ));
        }
        if self.pages >= MAX_PAGES {
            return Err(malformed(format!(
                "more than {MAX_PAGES} pages; paging stopped"
            )));
        }
        Ok(next)
    }
}

/// Power BI's `$top`/`$skip` paging: no continuation link; the listing ends at the first
/// page shorter than `$top`.
pub struct SkipPager<'a> {
    http: &'a HttpClient,
    template: ApiRequest,
    top: u32,
    skip: u64,
    done: bool,
    items: SeenItems,
}

impl<'a> SkipPager<'a> {
    /// `template.url` carries every parameter but `$top` and `$skip`.
    pub fn new(http: &'a HttpClient, template: ApiRequest, top: u32) -> SkipPager<'a> {
        SkipPager {
            http,
            template,
            top: top.max(1),
            skip: 0,
            done: false,
            items: SeenItems::default(),
        }
    }

    /// Rows requested so far (the next page's `$skip`).
    pub fn skip(&self) -> u64 {
        self.skip
    }

    pub async fn next_page(&mut self) -> Option<Result<Page, HttpError>> {
        if self.done {
            return None;
        }
        let mut req = self.template.clone();
        let top = self.top.to_string();
        let skip = self.skip.to_string();
        req.url = match with_query(&req.url, &[("$top", &top), ("$skip", &skip)]) {
            Ok(u) => u,
            Err(e) => {
                self.done = true;
                return Some(Err(e.into()));
            }
        };
        let endpoint = req.endpoint();
        let result = async {
            let resp = self.http.send(&req).await?;
            let body = parse_page(&endpoint, &resp.body)?;
            Ok::<_, HttpError>((body, resp.body))
        }
        .await;
        let (body, raw) = match result {
            Ok(r) => r,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let items = take_items(body);
        if let Err(e) = self.items.check(&items, &endpoint) {
            self.done = true;
            return Some(Err(e));
        }
        if (items.len() as u64) < u64::from(self.top)
            || self.skip / u64::from(self.top) >= MAX_PAGES as u64
        {
            self.done = true;
        }
        self.skip += u64::from(self.top);
        Some(Ok(Page {
            items,
            raw,
            endpoint,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_stay_with_the_api() {
        let ok = |first: &str, next: &str| {
            let first = Url::parse(first).unwrap();
            may_follow(&first.origin(), &first, &Url::parse(next).unwrap())
        };
        assert!(ok(
            "https://api.powerapps.com/a",
            "https://api.powerapps.com/b"
        ));
        assert!(ok(
            "https://api.powerapps.com/a",
            "https://unitedstates.api.powerapps.com/b"
        ));
        assert!(ok(
            "https://api.bap.microsoft.com/a",
            "https://europe.api.bap.microsoft.com/b"
        ));
        assert!(ok(
            "https://gov.api.flow.microsoft.us/a",
            "https://x.flow.microsoft.us/b"
        ));
        assert!(!ok(
            "https://api.bap.microsoft.com/a",
            "https://evil.microsoft.com/b"
        ));
        assert!(!ok(
            "https://api.powerapps.com/a",
            "http://unitedstates.api.powerapps.com/b"
        ));
        assert!(!ok(
            "https://api.powerapps.com/a",
            "https://powerapps.com.evil.net/b"
        ));
        assert!(!ok(
            "https://graph.microsoft.com/a",
            "https://other.microsoft.com/b"
        ));
        assert!(!ok(
            "https://org.api.crm.dynamics.com/a",
            "https://org2.api.crm.dynamics.com/b"
        ));
        // The flow service's regional host with an explicit port, as it really pages.
        assert!(ok(
            "https://api.flow.microsoft.com/a",
            "https://emea.api.flow.microsoft.com:11777/providers/Microsoft.ProcessSimple/b?api-version=2016-11-01&$skiptoken=x"
        ));
        // A port does not make another host the service's own.
        assert!(!ok(
            "https://api.flow.microsoft.com/a",
            "https://emea.api.flow.microsoft.com.evil.net:11777/b"
        ));
        assert!(!ok(
            "https://api.flow.microsoft.com/a",
            "https://evil.microsoft.com:11777/b"
        ));
        assert!(!ok(
            "https://api.flow.microsoft.com/a",
            "http://emea.api.flow.microsoft.com:11777/b"
        ));
        assert!(ok("http://127.0.0.1:5/a", "http://127.0.0.1:5/b?x"));
        assert!(!ok("http://127.0.0.1:5/a", "http://127.0.0.1:6/b"));
    }

    #[test]
    fn next_links_and_pages() {
        let b: Value = serde_json::json!({"value": [], "nextLink": "https://x/a"});
        assert_eq!(next_link(&b), Ok(Some("https://x/a")));
        let b: Value = serde_json::json!({"value": [], "@odata.nextLink": "https://x/b"});
        assert_eq!(next_link(&b), Ok(Some("https://x/b")));
        let b: Value = serde_json::json!({"value": [], "nextLink": null});
        assert_eq!(next_link(&b), Ok(None));
        for odd in [
            serde_json::json!(2),
            serde_json::json!({"href": "https://x/c"}),
        ] {
            let b: Value = serde_json::json!({"value": [], "nextLink": odd});
            let err = next_link(&b).unwrap_err();
            assert!(err.contains("`nextLink` is a"), "{err}");
        }
        let b: Value = serde_json::json!({"value": [], "nextLink": ""});
        assert_eq!(next_link(&b), Ok(None));
        let e = Endpoint {
            method: "GET".into(),
            url: "https://x/y".into(),
        };
        let err = parse_page(&e, b"{\"values\":[]}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("GET https://x/y: malformed page"),
            "{err}"
        );
        assert!(parse_page(&e, b"<html>").is_err());
        assert!(parse_page(&e, b"{\"value\":[1]}").is_ok());
    }
}
