//! Normalisation of the identifiers the admin APIs hand out.
//!
//! The APIs disagree on case (Power BI returns upper-case workspace ids, Power Apps mixes
//! `default-…` and `Default-…`), so every comparison goes through these helpers.

use std::borrow::Cow;

/// Lower-cases and trims an identifier (GUID, environment name, UPN).
pub fn norm(id: &str) -> String {
    id.trim().to_ascii_lowercase()
}

/// [`norm`], borrowing `id` when it is already normal (trimmed, no ASCII capitals), as
/// the GUIDs the admin APIs hand out nearly always are: the audit normalises millions of
/// them and copies only the ones that change.
pub fn norm_cow(id: &str) -> Cow<'_, str> {
    // Most ids start and end with an ASCII letter or digit: no trimming to look for.
    let plain = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    let trimmed = if plain(id.as_bytes().first()) && plain(id.as_bytes().last()) {
        id
    } else {
        id.trim()
    };
    if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// True when `s` is a GUID in the 8-4-4-4-12 hexadecimal form (any case).
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// The external address behind a B2B guest UPN: `pat_fabrikam.com#EXT#@contoso.onmicrosoft.com`
/// is `pat@fabrikam.com`. Entra builds the guest UPN by replacing the `@` of the invited
/// address with `_`, so the last `_` before `#EXT#` is read back as `@`. Returns `None`
/// for a UPN that is not in the guest form.
pub fn guest_external_address(upn: &str) -> Option<String> {
    let lower = upn.trim().to_ascii_lowercase();
    let idx = lower.find("#ext#")?;
    let local = &lower[..idx];
    let at = local.rfind('_')?;
    if at == 0 || at + 1 == local.len() {
        return None;
    }
    Some(format!("{}@{}", &local[..at], &local[at + 1..]))
}

/// The keys under which a UPN or mail address can match another: the address itself,
/// lower-cased, and for a guest UPN also its external address. Power BI's `configuredBy`
/// shows either form, depending on how the guest signed in.
pub fn upn_keys(upn: &str) -> Vec<String> {
    let n = norm(upn);
    if n.is_empty() {
        return Vec::new();
    }
    let mut keys = vec![n.clone()];
    if let Some(ext) = guest_external_address(&n) {
        keys.push(ext);
    }
    keys
}

/// The key one UPN is matched on: the external address of a guest UPN, otherwise the
/// lower-cased UPN. Two UPNs name the same person when their match keys are equal.
pub fn upn_match_key(upn: &str) -> String {
    guest_external_address(upn).unwrap_or_else(|| norm(upn))
}

/// [`upn_match_key`], borrowing `upn` when it is already its own key (no `#`, so not in
/// the guest form, and already normal).
pub fn upn_match_key_cow(upn: &str) -> Cow<'_, str> {
    if upn.contains('#') {
        Cow::Owned(upn_match_key(upn))
    } else {
        norm_cow(upn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_shapes() {
        assert!(is_guid("37ea6004-f07b-46ca-8ef3-a256b67b4dbb"));
        assert!(is_guid("94E57E92-CEE2-486D-8CC8-218C97200579"));
        assert!(!is_guid("37ea6004f07b46ca8ef3a256b67b4dbb"));
        assert!(!is_guid("37ea6004-f07b-46ca-8ef3-a256b67b4dbz"));
        assert!(!is_guid(""));
    }

    #[test]
    fn guest_upn_reads_back_to_the_invited_address() {
        assert_eq!(
            guest_external_address("Pat_Fabrikam.com#EXT#@contoso.onmicrosoft.com").as_deref(),
            Some("pat@fabrikam.com")
        );
        assert_eq!(
            guest_external_address("first_last_fabrikam.com#EXT#@contoso.onmicrosoft.com")
                .as_deref(),
            Some("first_last@fabrikam.com")
        );
        assert_eq!(guest_external_address("pat@contoso.com"), None);
        assert_eq!(guest_external_address("_#EXT#@x"), None);
    }

    #[test]
    fn match_keys_equal_for_both_forms() {
        assert_eq!(
            upn_match_key("pat_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
            upn_match_key("PAT@fabrikam.com")
        );
        assert_ne!(
            upn_match_key("pat@fabrikam.com"),
            upn_match_key("pat@contoso.com")
        );
        assert!(upn_keys("  ").is_empty());
    }

    #[test]
    fn borrowed_keys_equal_the_copied_ones() {
        for s in [
            "37ea6004-f07b-46ca-8ef3-a256b67b4dbb",
            "94E57E92-CEE2-486D-8CC8-218C97200579",
            "  pat@contoso.com ",
            "Pat_Fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "weird#ext#@x",
            "José@Contoso.com",
            "",
            " \t",
        ] {
            assert_eq!(norm_cow(s), norm(s), "{s:?}");
            assert_eq!(upn_match_key_cow(s), upn_match_key(s), "{s:?}");
        }
        assert!(matches!(
            norm_cow("37ea6004-f07b-46ca-8ef3-a256b67b4dbb"),
            Cow::Borrowed(_)
        ));
    }
}
