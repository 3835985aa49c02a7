//! palaudit's replay server: serves one recorded customer tenant (`fixtures/tenants/<name>/`)
//! on a loopback port, so the demo and the tests run the real collectors over real HTTP
//! without an account or a network.
//!
//! This crate owns the `routes.json` format (`docs/fixtures.md` is the reference), the
//! request matching, the Graph `$batch` endpoint and a request log tests assert on. It
//! never listens on anything but `127.0.0.1`, never stores a bearer token (the log only
//! records whether an `Authorization` header was present), and knows nothing of
//! palaudit's collectors or snapshot format.
//!
//! ```no_run
//! # async fn demo() -> Result<(), palaudit_replay::ReplayError> {
//! let tenant = palaudit_replay::Tenant::from_dir(std::path::Path::new("fixtures/tenants/contoso"))?;
//! let server = palaudit_replay::ReplayServer::start(tenant).await?;
//! let bap = server.endpoint("bap"); // http://127.0.0.1:<port>/bap
//! # let _ = bap; Ok(()) }
//! ```

mod batch;
pub mod faults;
mod matching;
mod routes;
mod server;
pub mod throttle;

pub use faults::{Fault, FaultPlan};
pub use routes::{ReplayError, ResponseSpec, Route, Tenant};
pub use server::{ENDPOINT_KEYS, RecordedRequest, ReplayServer};
pub use throttle::{ThrottlePlan, TokenBucket};
