//! Which route answers a request: method, path (case-insensitive, percent-decoded), a
//! subset of the query (decoded), and optionally a string in the body. The most specific
//! match wins; ties go to the route written first.

use crate::routes::Route;

/// Percent-decodes a URL path (`+` stays a plus sign in paths).
pub(crate) fn decode_path(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits and decodes a query string (form encoding: `+` is a space).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A request as the matcher sees it.
pub(crate) struct Incoming<'a> {
    pub method: &'a str,
    /// Percent-decoded, lower-cased path.
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    /// The request's bearer token, compared and then forgotten (never logged).
    pub bearer: Option<&'a str>,
}

impl Incoming<'_> {
    fn matches(&self, route: &Route) -> bool {
        route.method.eq_ignore_ascii_case(self.method)
            && route.match_path == self.path
            && route
                .query
                .iter()
                .all(|(k, v)| self.query.iter().any(|(qk, qv)| qk == k && qv == v))
            && route
                .bearer
                .as_deref()
                .is_none_or(|want| self.bearer == Some(want))
            && route.body_match.as_ref().is_none_or(|needle| {
                let body = String::from_utf8_lossy(self.body);
                body.contains(needle.as_str())
            })
    }
}

/// The index of the route that answers `req`, if any.
pub(crate) fn find_route(routes: &[Route], req: &Incoming<'_>) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, route) in routes.iter().enumerate() {
        if !req.matches(route) {
            continue;
        }
        let specificity = route.query.len()
            + usize::from(route.body_match.is_some())
            + usize::from(route.bearer.is_some());
        if best.is_none_or(|(_, s)| specificity > s) {
            best = Some((i, specificity));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::Tenant;

    fn tenant(routes: &str) -> Tenant {
        Tenant::from_files(vec![("routes.json".into(), routes.as_bytes().to_vec())]).unwrap()
    }

    fn find(t: &Tenant, method: &str, target: &str, body: &str) -> Option<usize> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let path = decode_path(path).to_lowercase();
        let query = parse_query(query);
        find_route(
            t.routes(),
            &Incoming {
                method,
                path: &path,
                query: &query,
                body: body.as_bytes(),
                bearer: None,
            },
        )
    }

    #[test]
    fn decodes_paths_and_queries() {
        assert_eq!(decode_path("/users/a%23EXT%23%40b"), "/users/a#EXT#@b");
        assert_eq!(decode_path("/a%2"), "/a%2");
        assert_eq!(decode_path("/a+b%zz"), "/a+b%zz");
        assert_eq!(
            parse_query("$filter=environment+eq+%27x%27&a=%24b"),
            vec![
                ("$filter".to_owned(), "environment eq 'x'".to_owned()),
                ("a".to_owned(), "$b".to_owned())
            ]
        );
    }

    #[test]
    fn path_is_case_insensitive_and_decoded() {
        let t = tenant(
            r#"{"routes":[{"method":"GET","path":"/graph/v1.0/users/pat_f.com%23EXT%23@c.com","responses":[{}]}]}"#,
        );
        assert_eq!(
            find(&t, "GET", "/Graph/V1.0/users/PAT_f.com#EXT#@c.com", ""),
            Some(0)
        );
        assert_eq!(
            find(
                &t,
                "GET",
                "/graph/v1.0/users/pat_f.com%23ext%23%40c.com",
                ""
            ),
            Some(0)
        );
        assert_eq!(
            find(&t, "POST", "/graph/v1.0/users/pat_f.com#EXT#@c.com", ""),
            None
        );
        assert_eq!(find(&t, "GET", "/graph/v1.0/users/other", ""), None);
    }

    #[test]
    fn query_is_a_subset_and_the_most_specific_route_wins() {
        let t = tenant(
            r#"{"routes":[
              {"method":"GET","path":"/pbi/groups","query":{"$top":"2"},"responses":[{}]},
              {"method":"GET","path":"/pbi/groups","query":{"$top":"2","$skip":"2"},"responses":[{}]},
              {"method":"GET","path":"/pbi/groups","responses":[{}]}
            ]}"#,
        );
        assert_eq!(find(&t, "GET", "/pbi/groups?$top=2&$skip=0", ""), Some(0));
        assert_eq!(
            find(&t, "GET", "/pbi/groups?%24skip=2&%24top=2&x=y", ""),
            Some(1)
        );
        assert_eq!(find(&t, "GET", "/pbi/groups?$top=5", ""), Some(2));
        assert_eq!(find(&t, "GET", "/pbi/groups", ""), Some(2));
    }

    #[test]
    fn ties_go_to_the_first_route_and_body_match_counts() {
        let t = tenant(
            r#"{"routes":[
              {"method":"POST","path":"/x","responses":[{}]},
              {"method":"POST","path":"/x","responses":[{}]},
              {"method":"POST","path":"/x","body_match":"\"abc\"","responses":[{}]}
            ]}"#,
        );
        assert_eq!(find(&t, "POST", "/x", "{\"id\":\"abc\"}"), Some(2));
        assert_eq!(find(&t, "POST", "/x", "{}"), Some(0));
    }

    #[test]
    fn a_route_naming_a_bearer_token_answers_only_that_caller() {
        let t = tenant(
            r#"{"routes":[
              {"method":"GET","path":"/arm/partners","responses":[{"status":404}]},
              {"method":"GET","path":"/arm/partners","bearer":"token-a","responses":[{}]}
            ]}"#,
        );
        let path = "/arm/partners";
        let ask = |bearer| {
            find_route(
                t.routes(),
                &Incoming {
                    method: "GET",
                    path,
                    query: &[],
                    body: b"",
                    bearer,
                },
            )
        };
        assert_eq!(ask(Some("token-a")), Some(1));
        assert_eq!(ask(Some("token-b")), Some(0));
        assert_eq!(ask(None), Some(0));
    }
}
