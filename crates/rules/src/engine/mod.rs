//! The verdict engine: snapshot tables × PAL roster × rules → one verdict per resource.
//!
//! It lives in four rooms:
//! - [`resolve`]: hash joins over the snapshot's Arrow columns to typed rows — each role
//!   assignment resolved to its Entra identity and matched against the roster;
//! - [`decide`]: the decision on one resource from those rows, pure logic;
//! - [`roster`]: the roster section (each PAL identity's health and credit);
//! - [`driver`]: resources in report order, one at a time, verdicts streamed on.
//!
//! `facts` reads what a fix plan needs beyond the roles. `docs/verdicts.md` describes the
//! procedure in a delivery lead's words.

mod decide;
mod driver;
mod facts;
mod resolve;
mod roster;

pub use driver::{evaluate, evaluate_into};
pub use resolve::EvalError;
