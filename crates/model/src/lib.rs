//! palaudit's data model: what a tenant inventory holds, who the partner's PAL-linked
//! identities are, what a verdict says, and how a snapshot is laid out on disk.
//!
//! This crate owns the vocabulary every stage shares. It does no HTTP and evaluates no
//! rules; collectors fill these types, the rules crate reads them, reports render them.

pub mod findings;
pub mod identities;
pub mod ids;
pub mod inventory;
pub mod roster_findings;
pub mod snapshot;

pub use findings::{
    Activity, AttributingRole, Candidate, ChangePath, Counts, Evidence, Findings, Holder, Reason,
    ResourceFacts, Status, TypeGuidance, Verdict,
};
pub use identities::{AccountKind, IdentitiesError, Identity, PrincipalKind, Roster};
pub use inventory::{
    Environment, Inventory, Principal, PrincipalIdKind, PrincipalType, Resource, ResourceType,
    Role, RoleAssignment, SystemUser,
};
pub use roster_findings::{
    IdentityHealth, LinkCheck, LinkState, OtherTenants, RosterEntry, RosterFindings,
};
pub use snapshot::{
    CollectionError, Frames, Manifest, Snapshot, SnapshotError, SnapshotWriter, TableEntry,
};
