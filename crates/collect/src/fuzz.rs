//! Entry points for palaudit's fuzz targets (`fuzz/`) and for their stable stand-in,
//! the `palaudit-fuzzing` crate's tests: arbitrary bytes as one API's answer, read by the
//! same functions collection reads real answers with — the page check, `nextLink`, and
//! every item parser of that API. Each returns whatever the bytes hold; none may panic.
//!
//! Not part of palaudit's interface: only the fuzzers call these.

use crate::collectors::{dataverse, environments, flows, graph, permissions, powerapps, powerbi};
use crate::http::paging::{may_follow, next_link, parse_page, take_items};
use crate::http::{Endpoint, parse_retry_after};
use palaudit_model::ResourceType;
use serde_json::Value;
use url::Url;

/// The API an answer is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// BAP `scopes/admin/environments`.
    Environments,
    /// Power Apps admin `apps`.
    CanvasApps,
    /// Power Apps / Flow `permissions` of one app or flow.
    Permissions,
    /// Flow admin `flows`.
    Flows,
    /// Dataverse `systemusers`, `appmodules` and `bots`.
    Dataverse,
    /// Power BI `admin/groups?$expand=datasets` and the scanner's `scanResult`.
    PowerBi,
    /// Microsoft Graph `$batch`.
    GraphBatch,
    /// A `Retry-After` header value.
    RetryAfter,
}

impl Api {
    pub const ALL: [Api; 8] = [
        Api::Environments,
        Api::CanvasApps,
        Api::Permissions,
        Api::Flows,
        Api::Dataverse,
        Api::PowerBi,
        Api::GraphBatch,
        Api::RetryAfter,
    ];
}

/// Reads `raw` as an answer of `api`; returns how many rows it yielded.
pub fn read_answer(api: Api, raw: &[u8]) -> usize {
    match api {
        Api::GraphBatch => {
            graph::read_batch_answer(raw);
            0
        }
        Api::RetryAfter => {
            let _ = parse_retry_after(&String::from_utf8_lossy(raw));
            0
        }
        Api::PowerBi => {
            // The scanner's result has `workspaces`, the groups listing `value`.
            let Ok(body) = serde_json::from_slice::<Value>(raw) else {
                return 0;
            };
            let mut rows = 0;
            for list in ["value", "workspaces"] {
                for ws in body
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let id = ws.get("id").and_then(Value::as_str).unwrap_or("w");
                    let name = ws.get("name").and_then(Value::as_str).unwrap_or(id);
                    if let Some(Value::Array(datasets)) = ws.get("datasets") {
                        rows += datasets
                            .iter()
                            .filter_map(|ds| powerbi::dataset_rows(ds, id, name))
                            .count();
                    }
                }
            }
            rows + page_items(raw).len()
        }
        _ => page_items(raw)
            .iter()
            .map(|item| read_item(api, item))
            .sum(),
    }
}

/// The items of a listing page, after the checks paging makes (a `value` array, a
/// `nextLink` that is a string and stays with the API).
fn page_items(raw: &[u8]) -> Vec<Value> {
    let first = Url::parse("https://api.bap.microsoft.com/providers/x?api-version=1")
        .expect("a fixed URL parses");
    let endpoint = Endpoint::new(&reqwest::Method::GET, &first);
    let Ok(body) = parse_page(&endpoint, raw) else {
        return Vec::new();
    };
    if let Ok(Some(link)) = next_link(&body)
        && let Ok(next) = first.join(link)
    {
        let _ = may_follow(&first.origin(), &first, &next);
        let _ = Endpoint::new(&reqwest::Method::GET, &next);
    }
    take_items(body)
}

fn read_item(api: Api, item: &Value) -> usize {
    match api {
        Api::Environments => {
            let Some(env) = environments::environment_row(item) else {
                return 0;
            };
            if let Some(url) = &env.dataverse_url {
                let _ = crate::secret::scrub_url_text(url);
                let _ = Url::parse(url);
            }
            1
        }
        Api::CanvasApps => powerapps::app_resource(item, "env").map_or(0, |_| 1),
        Api::Flows => flows::flow_rows(item, "env").map_or(0, |_| 2),
        Api::Permissions => [ResourceType::CanvasApp, ResourceType::Flow]
            .into_iter()
            .filter(|t| permissions::assignment(*t, "r1", item).is_ok())
            .count(),
        Api::Dataverse => {
            let user = dataverse::systemuser_row(item, "env").map_or(0, |_| 1);
            let apps = [
                (ResourceType::ModelDrivenApp, "/appmoduleid"),
                (ResourceType::Bot, "/botid"),
            ]
            .into_iter()
            .filter_map(|(t, field)| dataverse::dataverse_resource(item, "env", t, field))
            .count();
            user + apps
        }
        Api::PowerBi | Api::GraphBatch | Api::RetryAfter => 0,
    }
}
