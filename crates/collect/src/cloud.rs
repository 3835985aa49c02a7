//! The Microsoft clouds palaudit knows: for each, the API hosts and the token scopes.
//! Sovereign presets live here, apart from the config file that picks one.

use serde::Deserialize;
use std::fmt;

/// The Microsoft cloud the tenant lives in; picks the API hosts and token scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    #[default]
    Public,
    /// US Government Community Cloud (moderate): commercial Entra ID, `gov.` hosts.
    Gcc,
    /// US Government Community Cloud High: Azure Government Entra ID, `high.` hosts.
    GccHigh,
    /// US Department of Defense.
    Dod,
}

impl Cloud {
    /// Whether Entra ID sign-in for this cloud goes to Azure Government
    /// (`login.microsoftonline.us`) rather than the public authority.
    pub fn uses_government_authority(self) -> bool {
        matches!(self, Cloud::GccHigh | Cloud::Dod)
    }
}

/// Base URLs of the APIs palaudit reads (no trailing slash; paths are appended exactly as
/// the real APIs use them). Dataverse URLs come from each environment instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub bap: String,
    pub powerapps: String,
    pub flow: String,
    pub powerbi: String,
    pub graph: String,
    pub arm: String,
}

/// OAuth scopes (`…/.default`) per API. Dataverse scopes are derived per environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes {
    pub bap: String,
    pub powerapps: String,
    pub flow: String,
    pub powerbi: String,
    pub graph: String,
    pub arm: String,
}

impl Endpoints {
    /// The cloud's hosts.
    ///
    /// Public hosts: as Microsoft's admin PowerShell module (Microsoft.PowerApps.
    /// Administration.PowerShell) and the Power BI, Graph and ARM REST docs name them. The
    /// Power Platform hosts of GCC, GCC High and DoD come from that module's host map.
    /// The Power BI, Graph and ARM hosts of those clouds are the well-known ones
    /// from public Microsoft docs (Power BI for US Government, Graph national cloud
    /// deployments, Azure Government developer guide), not re-verified here.
    pub fn for_cloud(cloud: Cloud) -> Endpoints {
        let e = |bap: &str, powerapps: &str, flow: &str, powerbi: &str, graph: &str, arm: &str| {
            Endpoints {
                bap: bap.into(),
                powerapps: powerapps.into(),
                flow: flow.into(),
                powerbi: powerbi.into(),
                graph: graph.into(),
                arm: arm.into(),
            }
        };
        match cloud {
            Cloud::Public => e(
                "https://api.bap.microsoft.com",
                "https://api.powerapps.com",
                "https://api.flow.microsoft.com",
                "https://api.powerbi.com",
                "https://graph.microsoft.com",
                "https://management.azure.com",
            ),
            // From public Microsoft docs: GCC keeps the commercial Graph.
            Cloud::Gcc => e(
                "https://gov.api.bap.microsoft.us",
                "https://gov.api.powerapps.us",
                "https://gov.api.flow.microsoft.us",
                "https://api.powerbigov.us",
                "https://graph.microsoft.com",
                "https://management.usgovcloudapi.net",
            ),
            // From public Microsoft docs.
            Cloud::GccHigh => e(
                "https://high.api.bap.microsoft.us",
                "https://high.api.powerapps.us",
                "https://high.api.flow.microsoft.us",
                "https://api.high.powerbigov.us",
                "https://graph.microsoft.us",
                "https://management.usgovcloudapi.net",
            ),
            // From public Microsoft docs.
            Cloud::Dod => e(
                "https://api.bap.appsplatform.us",
                "https://api.apps.appsplatform.us",
                "https://api.flow.appsplatform.us",
                "https://api.mil.powerbigov.us",
                "https://dod-graph.microsoft.us",
                "https://management.usgovcloudapi.net",
            ),
        }
    }

    /// The endpoints of a palaudit replay server at `base` (`http://127.0.0.1:<port>`):
    /// `{base}/bap`, `{base}/powerapps`, … (docs/fixtures.md).
    pub fn replay(base: &str) -> Endpoints {
        let base = base.trim_end_matches('/');
        Endpoints {
            bap: format!("{base}/bap"),
            powerapps: format!("{base}/powerapps"),
            flow: format!("{base}/flow"),
            powerbi: format!("{base}/powerbi"),
            graph: format!("{base}/graph"),
            arm: format!("{base}/arm"),
        }
    }
}

impl Scopes {
    /// The token scopes of a cloud. Public: the audiences the admin PowerShell module
    /// maps each host to, including the intentional double slash of the Power Apps and
    /// Flow audiences (the audience `https://service.powerapps.com/` followed by
    /// `/.default`, as Microsoft's Power Platform authentication docs show). Sovereign
    /// audiences of the Power Platform RPs come from the same host map, built the same way. Power BI, Graph and ARM audiences of the
    /// government clouds: from public Microsoft docs.
    pub fn for_cloud(cloud: Cloud) -> Scopes {
        let s = |powerapps: &str, flow: &str, powerbi: &str, graph: &str, arm: &str| Scopes {
            bap: powerapps.into(),
            powerapps: powerapps.into(),
            flow: flow.into(),
            powerbi: powerbi.into(),
            graph: graph.into(),
            arm: arm.into(),
        };
        match cloud {
            Cloud::Public => s(
                "https://service.powerapps.com//.default",
                "https://service.flow.microsoft.com//.default",
                "https://analysis.windows.net/powerbi/api/.default",
                "https://graph.microsoft.com/.default",
                "https://management.azure.com/.default",
            ),
            Cloud::Gcc => s(
                "https://gov.service.powerapps.us//.default",
                "https://gov.service.flow.microsoft.us//.default",
                "https://analysis.usgovcloudapi.net/powerbi/api/.default",
                "https://graph.microsoft.com/.default",
                "https://management.usgovcloudapi.net/.default",
            ),
            Cloud::GccHigh => s(
                "https://high.service.powerapps.us//.default",
                "https://high.service.flow.microsoft.us//.default",
                "https://high.analysis.usgovcloudapi.net/powerbi/api/.default",
                "https://graph.microsoft.us/.default",
                "https://management.usgovcloudapi.net/.default",
            ),
            Cloud::Dod => s(
                "https://service.apps.appsplatform.us//.default",
                "https://service.flow.appsplatform.us//.default",
                "https://mil.analysis.usgovcloudapi.net/powerbi/api/.default",
                "https://dod-graph.microsoft.us/.default",
                "https://management.usgovcloudapi.net/.default",
            ),
        }
    }
}

impl Cloud {
    /// Whether `host` is a Dataverse host of this cloud: the only hosts a Dataverse URL
    /// from the BAP environments page may name, so a page cannot send a token elsewhere.
    /// Public: `{org}.crm{N}.dynamics.com` and `{org}.api.crm{N}.dynamics.com` (every
    /// region's `crm`, `crm2`…`crm21`); GCC: `crm9.dynamics.com`; GCC High:
    /// `crm.microsoftdynamics.us`; DoD: `crm.appsplatform.us` (Microsoft's Dataverse and
    /// US Government docs).
    pub fn is_dataverse_host(self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let under = |suffix: &str| {
            host.strip_suffix(suffix)
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|org| !org.is_empty())
        };
        match self {
            Cloud::Public => {
                let Some(rest) = host.strip_suffix(".dynamics.com") else {
                    return false;
                };
                let Some((org, region)) = rest.rsplit_once('.') else {
                    return false;
                };
                !org.is_empty()
                    && region
                        .strip_prefix("crm")
                        .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
            }
            Cloud::Gcc => under("crm9.dynamics.com"),
            Cloud::GccHigh => under("crm.microsoftdynamics.us"),
            Cloud::Dod => under("crm.appsplatform.us"),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Public => "public",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcc_high",
            Cloud::Dod => "dod",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataverse_hosts_per_cloud() {
        let p = Cloud::Public;
        assert!(p.is_dataverse_host("org0fadb1dd.api.crm.dynamics.com"));
        assert!(p.is_dataverse_host("contoso.crm4.dynamics.com"));
        assert!(p.is_dataverse_host("Contoso.API.CRM11.dynamics.com"));
        assert!(!p.is_dataverse_host("crm.dynamics.com"));
        assert!(!p.is_dataverse_host("evil.example.com"));
        assert!(!p.is_dataverse_host("org.crm.dynamics.com.evil.net"));
        assert!(!p.is_dataverse_host("org.crmx.dynamics.com"));
        assert!(!p.is_dataverse_host("login.dynamics.com"));
        assert!(Cloud::Gcc.is_dataverse_host("org.api.crm9.dynamics.com"));
        assert!(!Cloud::Gcc.is_dataverse_host("org.api.crm.dynamics.com"));
        assert!(Cloud::GccHigh.is_dataverse_host("org.api.crm.microsoftdynamics.us"));
        assert!(Cloud::Dod.is_dataverse_host("org.api.crm.appsplatform.us"));
        assert!(!Cloud::Dod.is_dataverse_host("crm.appsplatform.us"));
    }
}
