use crate::{CollectArgs, DemoArgs, Outcome};
pub fn run_collect(_: &CollectArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("todo")
}
pub fn run(_: &DemoArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("todo")
}
