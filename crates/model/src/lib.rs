//! palaudit's data model: what a tenant inventory holds, who the partner's PAL-linked
//! identities are, what a verdict says, and what went wrong while collecting.
//!
//! This crate owns the vocabulary every stage shares, and nothing heavier: no HTTP, no
//! rule evaluation, no dataframes or Parquet (the snapshot crate owns the on-disk
//! format). Collectors fill these types, the rules crate reads them, reports render them.

pub mod audit;
pub mod collection;
pub mod diff;
pub mod findings;
pub mod identities;
pub mod ids;
pub mod inventory;
pub mod lines;
pub mod portfolio;
pub mod roster_check;
pub mod roster_findings;
pub mod verdict_list;

pub use audit::{
    AuditHeader, AuditSummary, Fanout, RunInfo, SinkError, SummaryBuilder, VerdictSink,
};
pub use collection::CollectionError;
pub use diff::{Change, Diff, DiffEntry, DiffSide, Observed, finding_id};
pub use findings::{
    Activity, AttributingRole, Candidate, ChangePath, Counts, Evidence, Findings, Holder, Reason,
    ResourceFacts, Status, Suppression, TypeGuidance, Verdict,
};
pub use identities::{
    AccountKind, IdentitiesError, Identity, MATCH_KEY_NAMES, PrincipalKind, Roster, RosterIndex,
};
pub use inventory::{
    Environment, Inventory, Principal, PrincipalIdKind, PrincipalType, Resource, ResourceType,
    Role, RoleAssignment, SystemUser,
};
pub use portfolio::{Rollup, RollupSink, TenantRollup};
pub use roster_check::{IdentityCheck, RosterCheck, RosterCheckError};
pub use roster_findings::{
    HealthSignals, IdentityHealth, LinkCheck, LinkState, OtherTenants, RosterEntry, RosterFindings,
};
pub use verdict_list::{Chunk, ListError, VerdictList, VerdictListBuilder};
