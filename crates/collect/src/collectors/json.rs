//! Lenient reading of API JSON: every Microsoft doc here says "a subset of properties may
//! be returned", so a missing or oddly typed field is `None`, never a failure.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// A non-empty, trimmed string at a JSON pointer (`/properties/displayName`).
pub(crate) fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An identifier, lower-cased (GUIDs, environment names, UPNs). The all-zero GUID that
/// Dataverse uses for "nobody" is `None`.
pub(crate) fn id(v: &Value, pointer: &str) -> Option<String> {
    text(v, pointer).and_then(norm_id)
}

pub(crate) fn norm_id(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    (!s.is_empty() && s != "00000000-0000-0000-0000-000000000000").then_some(s)
}

pub(crate) fn boolean(v: &Value, pointer: &str) -> Option<bool> {
    match v.pointer(pointer)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn integer(v: &Value, pointer: &str) -> Option<i64> {
    match v.pointer(pointer)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A timestamp at a pointer.
pub(crate) fn time(v: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    text(v, pointer).and_then(parse_time)
}

/// A field of an object looked up without regard to case (`createdDate` / `CreatedDate`).
pub(crate) fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// RFC 3339 with any offset (`2019-04-30T21:35:15.867-07:00`, 7-digit fractions), or a
/// timestamp without a zone, read as UTC.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    tracing::warn!("unreadable timestamp `{s}` left empty");
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_in_the_api_formats() {
        let t = Utc.with_ymd_and_hms(2020, 10, 22, 4, 38, 17).unwrap();
        assert_eq!(
            parse_time("2020-10-22T04:38:17.8550157Z").map(|t| t.timestamp()),
            Some(t.timestamp())
        );
        assert_eq!(
            parse_time("2019-04-30T21:35:15.867-07:00").map(|t| t.timestamp()),
            Some(
                Utc.with_ymd_and_hms(2019, 5, 1, 4, 35, 15)
                    .unwrap()
                    .timestamp()
            )
        );
        assert_eq!(parse_time("2020-10-22T04:38:17"), Some(t));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn lenient_fields() {
        let v = serde_json::json!({"a": {"b": " X "}, "n": 4, "s": "5", "z": "00000000-0000-0000-0000-000000000000",
            "CreatedDate": "2024-01-01T00:00:00Z", "t": "true"});
        assert_eq!(text(&v, "/a/b"), Some("X"));
        assert_eq!(id(&v, "/a/b").as_deref(), Some("x"));
        assert_eq!(id(&v, "/z"), None);
        assert_eq!(integer(&v, "/n"), Some(4));
        assert_eq!(integer(&v, "/s"), Some(5));
        assert_eq!(boolean(&v, "/t"), Some(true));
        assert!(get_ci(&v, "createddate").is_some());
        assert_eq!(text(&v, "/missing"), None);
    }
}
