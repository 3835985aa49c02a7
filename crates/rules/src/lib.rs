//! palaudit's rule book and verdict engine.
//!
//! This crate owns two things: loading and validating `rules/*.toml` (the attribution
//! table, the ownership-change compatibility tables, program eligibility and what each
//! reason code means, as data), and evaluating a snapshot's tables against the partner's
//! PAL roster into one verdict per resource. It is pure: no HTTP, no printing, no command-line handling.

mod engine;
mod load;
mod reasons;

pub use engine::{EvalError, evaluate, evaluate_into};
pub use load::{
    AttributionRule, ChangePathTable, EligibilityRule, LoadError, Problem, Rule, RuleSet,
    RuleStatus, TieBreak,
};
pub use reasons::{ReasonBook, ReasonDoc};
