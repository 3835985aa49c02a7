//! Secret values palaudit knows, and their removal from any text that leaves it.
//!
//! Bearer tokens and client secrets live in [`azure_core::credentials::Secret`], whose
//! `Debug` shows nothing and which has no `Display`. But an API may quote a token back
//! (a 401 body, a Graph `$batch` sub-answer, a `nextLink` cursor), and such text reaches
//! error messages, the manifest, logs and raw pages. So every token palaudit sends and
//! every secret it reads is [`remember`]ed, and [`redact`] replaces each of them — the
//! values themselves, not only parameters with suspicious names — wherever text leaves
//! palaudit: [`crate::http::Endpoint`], API error messages, collection errors, raw pages,
//! and the CLI's last error line.
//!
//! The set is process-wide: a token is only known once a credential issued it, deep in
//! the HTTP client, and the text to clean can come from anywhere after that.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::RwLock;

/// What a known secret is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Shorter values are not remembered: replacing them would mangle ordinary text, and no
/// real token or client secret is that short.
const MIN_LEN: usize = 8;

static KNOWN: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());

/// Remembers `value` (a token, a client secret) so that [`redact`] removes it, in the
/// form it has and percent-encoded (as a query value would carry it).
pub fn remember(value: &str) {
    let value = value.trim();
    if value.len() < MIN_LEN {
        return;
    }
    let encoded: String =
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    if known.contains(value) {
        return;
    }
    known.insert(value.to_owned());
    if encoded != value {
        known.insert(encoded.replace('+', "%20"));
        known.insert(encoded);
    }
}

/// `text` with every known secret replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    // Longest first, so a secret that contains another is replaced whole.
    let mut by_len: Vec<&String> = known.iter().collect();
    by_len.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for s in by_len {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    Cow::Owned(out)
}

/// `bytes` with every known secret replaced, for raw pages (bytes that are not UTF-8
/// are cleaned where they are, so nothing is lost around a secret).
pub fn redact_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    let found = known.iter().any(|s| contains(bytes, s.as_bytes()));
    if !found {
        return Cow::Borrowed(bytes);
    }
    let mut by_len: Vec<&String> = known.iter().collect();
    by_len.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = bytes.to_vec();
    for s in by_len {
        out = replace(&out, s.as_bytes(), REDACTED.as_bytes());
    }
    Cow::Owned(out)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn replace(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// A URL as text that may not even parse (a config value), with anything between
/// `scheme://` and an `@` (a user name and password) replaced and every query value
/// hidden: palaudit cannot tell which of them is a secret.
pub fn scrub_url_text(text: &str) -> String {
    let mut s = text.to_owned();
    if let Some(start) = s.find("://").map(|i| i + 3) {
        let rest = &s[start..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            s.replace_range(start..start + at, REDACTED);
        }
    }
    if let Some(q) = s.find('?') {
        let (head, query) = s.split_at(q + 1);
        let (query, fragment) = match query.find('#') {
            Some(h) => query.split_at(h),
            None => (query, ""),
        };
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) => format!("{k}={REDACTED}"),
                None => pair.to_owned(),
            })
            .collect();
        s = format!("{head}{}{fragment}", query.join("&"));
    }
    redact(&s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_replaced_wherever_they_appear() {
        remember("tok-3f9a1c77e2d04b1b-secret");
        remember("short");
        let t = "Bearer tok-3f9a1c77e2d04b1b-secret rejected; cursor=tok-3f9a1c77e2d04b1b-secret";
        assert_eq!(redact(t), "Bearer REDACTED rejected; cursor=REDACTED");
        assert_eq!(redact("short is fine"), "short is fine");
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
        remember("p@ss word+/=9");
        assert_eq!(redact("x=p%40ss+word%2B%2F%3D9"), "x=REDACTED");
        assert_eq!(redact("x=p%40ss%20word%2B%2F%3D9"), "x=REDACTED");
        let raw = b"{\"cursor\":\"tok-3f9a1c77e2d04b1b-secret\",\"\xff\"}";
        assert_eq!(
            redact_bytes(raw).as_ref(),
            b"{\"cursor\":\"REDACTED\",\"\xff\"}"
        );
    }

    #[test]
    fn url_text_loses_user_info_and_query_values() {
        assert_eq!(
            scrub_url_text("https://me:hunter2@api.bap.microsoft.com:99999/x"),
            "https://REDACTED@api.bap.microsoft.com:99999/x"
        );
        assert_eq!(
            scrub_url_text("https://x.com/a?sv=1&sig=abc#f"),
            "https://x.com/a?sv=REDACTED&sig=REDACTED#f"
        );
        assert_eq!(scrub_url_text("not a url"), "not a url");
    }
}
