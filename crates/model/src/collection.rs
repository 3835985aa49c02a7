//! What went wrong while a tenant was collected, kept with the snapshot so every later
//! stage knows the inventory is partial.

use serde::{Deserialize, Serialize};

/// Something that went wrong during collection, kept so the audit knows it is partial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionError {
    /// What was being collected: `environments`, `canvas_apps`, `graph`, …
    pub collector: String,
    /// The environment or workspace concerned, if any.
    #[serde(default)]
    pub scope: Option<String>,
    /// The endpoint (method and URL without secrets).
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    pub message: String,
}

impl std::fmt::Display for CollectionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.collector)?;
        if let Some(s) = &self.scope {
            write!(f, " [{s}]")?;
        }
        if let Some(e) = &self.endpoint {
            write!(f, " {e}")?;
        }
        if let Some(s) = self.status {
            write!(f, " -> HTTP {s}")?;
        }
        write!(f, ": {}", self.message)
    }
}
