//! The one place requests leave palaudit, in rooms:
//! - [`guard`]: read-only and transport checks, before any network I/O;
//! - [`retry`]: the one retry rule (statuses, `Retry-After`, backoff);
//! - [`url`]: building URLs the way the APIs read them, and showing them without secrets;
//! - [`limiter`]: how many requests go out per host (an adaptive window each), and
//!   published quotas;
//! - [`paging`]: `nextLink` and `$top`/`$skip` listings;
//! - `client`: [`HttpClient`], which puts them together, and `error`: [`HttpError`].
//!
//! [`HttpClient::send`] refuses anything that is not a read and any bearer token over
//! plain http to a remote host; then retries what is worth retrying and fails at once on
//! other 4xx. With `verbose` every attempt is logged through `tracing` (method, URL
//! without secrets, status, duration); header values never are.

mod client;
mod error;
pub mod guard;
pub mod limiter;
pub mod paging;
pub mod retry;
pub mod url;

pub use client::{ApiRequest, ApiResponse, HttpClient, HttpSettings};
pub use error::{HttpError, api_error};
pub use guard::{check_read_only, check_transport};
pub use limiter::{HostUsage, RateLimit};
pub use retry::{RetryPolicy, parse_retry_after};
pub use url::{Endpoint, UrlError, is_loopback};
