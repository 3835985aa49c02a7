//! The facts a fix plan needs about a resource beyond who holds which role: whether a
//! flow lives in a solution (so its owner can change in place) or needs a new flow, which
//! solution a model-driven app or bot came in with, and what kind of canvas app it is.
//!
//! They are read from the optional `resources` columns (`app_type`, `alm_mode`,
//! `workflow_entity_id`, `is_managed`, `solution_id`, `unique_name`). A snapshot written
//! before palaudit recorded them lacks the columns; then a fact is unknown, never
//! assumed absent: "not recorded" and "not in a solution" lead to different plans.
//!
//! Two of these facts also decide whether a resource counts at all: a custom page of a
//! model-driven app (`appType` `CustomCanvasPage`) is listed with the canvas apps but is
//! a component of its model-driven app, not an application; a dataset of a Power BI
//! workspace that is being removed or was deleted (`state` `Removing`, `Deleted`) is not
//! live work. Both stay in the audit with a reason, never silently dropped.

use super::resolve::{EvalError, table_err};
use palaudit_model::{Reason, ResourceFacts, ResourceType};
use polars::prelude::*;

const T: &str = "resources";

/// The fact columns of the resources table, each `None` when the snapshot has no such
/// column.
pub(crate) struct FactColumns<'a> {
    app_type: Option<&'a StringChunked>,
    alm_mode: Option<&'a StringChunked>,
    workflow_entity_id: Option<&'a StringChunked>,
    is_managed: Option<&'a BooleanChunked>,
    solution_id: Option<&'a StringChunked>,
    unique_name: Option<&'a StringChunked>,
    /// The state word: for datasets, their workspace's `state`.
    state: Option<&'a StringChunked>,
}

/// `appType` of a custom page of a model-driven app.
const CUSTOM_PAGE: &str = "CustomCanvasPage";

/// Power BI workspace states that are not live (`Active` is; an empty state is read as
/// live, as the API listed the workspace).
const WORKSPACE_GONE: [&str; 2] = ["Removing", "Deleted"];

/// A string column that may be absent; present but of another type is an error.
fn opt_str<'a>(df: &'a DataFrame, name: &str) -> Result<Option<&'a StringChunked>, EvalError> {
    match df.column(name) {
        Ok(c) => c.str().map(Some).map_err(table_err(T)),
        Err(_) => Ok(None),
    }
}

fn opt_bool<'a>(df: &'a DataFrame, name: &str) -> Result<Option<&'a BooleanChunked>, EvalError> {
    match df.column(name) {
        Ok(c) => c.bool().map(Some).map_err(table_err(T)),
        Err(_) => Ok(None),
    }
}

/// A cell with blank text read as missing.
fn text(c: Option<&StringChunked>, r: usize) -> Option<String> {
    c.and_then(|c| c.get(r))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl<'a> FactColumns<'a> {
    pub(crate) fn read(df: &'a DataFrame) -> Result<FactColumns<'a>, EvalError> {
        Ok(FactColumns {
            app_type: opt_str(df, "app_type")?,
            alm_mode: opt_str(df, "alm_mode")?,
            workflow_entity_id: opt_str(df, "workflow_entity_id")?,
            is_managed: opt_bool(df, "is_managed")?,
            solution_id: opt_str(df, "solution_id")?,
            unique_name: opt_str(df, "unique_name")?,
            state: opt_str(df, "state")?,
        })
    }

    /// Why resource row `r` of type `rt` earns no credit whoever holds its role, if the
    /// rule book says so.
    pub(crate) fn not_counted(&self, r: usize, rt: ResourceType) -> Option<Reason> {
        match rt {
            ResourceType::CanvasApp => text(self.app_type, r)
                .is_some_and(|t| t.eq_ignore_ascii_case(CUSTOM_PAGE))
                .then_some(Reason::CustomPageOfModelDrivenApp),
            ResourceType::PowerbiDataset => text(self.state, r)
                .is_some_and(|s| WORKSPACE_GONE.iter().any(|g| s.eq_ignore_ascii_case(g)))
                .then_some(Reason::WorkspaceNotActive),
            _ => None,
        }
    }

    /// The facts of resource row `r` of type `rt`, in an environment whose Dataverse Web
    /// API base is `dataverse_url` (`None`: the environment has no Dataverse).
    pub(crate) fn of(
        &self,
        r: usize,
        rt: ResourceType,
        dataverse_url: Option<&str>,
    ) -> ResourceFacts {
        let record = text(self.workflow_entity_id, r);
        let is_managed = self.is_managed.and_then(|c| c.get(r));
        ResourceFacts {
            dataverse_url: dataverse_url.map(str::to_owned),
            app_type: text(self.app_type, r),
            alm_mode: text(self.alm_mode, r),
            solution_aware: (rt == ResourceType::Flow)
                .then(|| self.flow_in_solution(record.is_some(), is_managed, dataverse_url))
                .flatten(),
            dataverse_record_id: record,
            is_managed,
            solution_id: text(self.solution_id, r),
            unique_name: text(self.unique_name, r),
        }
    }

    /// Whether a flow lives in a solution. Solutions live in Dataverse, so a flow of an
    /// environment without one never does; otherwise only flows in solutions have a
    /// Dataverse `workflow` record (`workflowEntityId`) and a managed flow came in through
    /// a solution. A snapshot that never recorded the record column cannot tell.
    fn flow_in_solution(
        &self,
        has_record: bool,
        is_managed: Option<bool>,
        dataverse_url: Option<&str>,
    ) -> Option<bool> {
        if dataverse_url.is_none() {
            Some(false)
        } else if self.workflow_entity_id.is_none() {
            None
        } else {
            Some(has_record || is_managed == Some(true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(with_facts: bool) -> DataFrame {
        let mut df = df!(
            "resource_id" => ["f1", "f2", "f3"],
        )
        .unwrap();
        if with_facts {
            df.with_column(Column::new(
                "workflow_entity_id".into(),
                [
                    Some("2d4e1b6f-0c43-ef11-8409-000d3a5a1b2c"),
                    None,
                    Some(" "),
                ],
            ))
            .unwrap();
            df.with_column(Column::new(
                "is_managed".into(),
                [Some(false), Some(true), None],
            ))
            .unwrap();
        }
        df
    }

    const DV: Option<&str> = Some("https://org.crm.dynamics.com");

    #[test]
    fn flows_in_solutions_are_told_from_flows_outside_them() {
        let df = frame(true);
        let cols = FactColumns::read(&df).unwrap();
        let f1 = cols.of(0, ResourceType::Flow, DV);
        assert_eq!(f1.solution_aware, Some(true));
        assert_eq!(
            f1.dataverse_record_id.as_deref(),
            Some("2d4e1b6f-0c43-ef11-8409-000d3a5a1b2c")
        );
        // Managed without a record id: still came in through a solution.
        assert_eq!(
            cols.of(1, ResourceType::Flow, DV).solution_aware,
            Some(true)
        );
        // A blank record id is no record.
        let f3 = cols.of(2, ResourceType::Flow, DV);
        assert_eq!(
            (f3.solution_aware, f3.dataverse_record_id),
            (Some(false), None)
        );
        // Without Dataverse no flow is in a solution.
        assert_eq!(
            cols.of(0, ResourceType::Flow, None).solution_aware,
            Some(false)
        );
        // Solution-awareness is a flow fact only.
        assert_eq!(cols.of(0, ResourceType::Bot, DV).solution_aware, None);
    }

    #[test]
    fn a_snapshot_without_the_columns_leaves_the_facts_unknown() {
        let df = frame(false);
        let cols = FactColumns::read(&df).unwrap();
        let f = cols.of(0, ResourceType::Flow, DV);
        assert_eq!(f.solution_aware, None);
        assert_eq!(f.dataverse_url.as_deref(), DV);
        assert_eq!(
            cols.of(0, ResourceType::Flow, None).solution_aware,
            Some(false)
        );
    }

    #[test]
    fn custom_pages_and_datasets_of_removed_workspaces_do_not_count() {
        let df = df!(
            "app_type" => [Some("ClassicCanvasApp"), Some("customcanvaspage"), None],
            "state" => [Some("Active"), Some("Removing"), Some("Deleted")],
        )
        .unwrap();
        let cols = FactColumns::read(&df).unwrap();
        let canvas: Vec<_> = (0..3)
            .map(|r| cols.not_counted(r, ResourceType::CanvasApp))
            .collect();
        assert_eq!(
            canvas,
            [None, Some(Reason::CustomPageOfModelDrivenApp), None]
        );
        let datasets: Vec<_> = (0..3)
            .map(|r| cols.not_counted(r, ResourceType::PowerbiDataset))
            .collect();
        assert_eq!(
            datasets,
            [
                None,
                Some(Reason::WorkspaceNotActive),
                Some(Reason::WorkspaceNotActive)
            ]
        );
        // The state word of other types is theirs, not a workspace's.
        assert_eq!(cols.not_counted(2, ResourceType::Flow), None);
    }

    #[test]
    fn a_fact_column_of_the_wrong_type_is_an_error() {
        let df = df!("is_managed" => ["yes"]).unwrap();
        assert!(FactColumns::read(&df).is_err());
    }
}
