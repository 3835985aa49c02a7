//! The commands a plan can hold, and how each is written in PowerShell and in bash.
//!
//! Every value that comes from a tenant or a roster (ids, names, URLs) is quoted for the
//! shell it is written in — single quotes, with embedded quotes escaped and control
//! characters replaced — so a resource name can never end a string and start a command.
//! Values built into JSON bodies go through serde_json first. The hosts are the public
//! cloud's; the REST routes are the ones the Microsoft cmdlets call
//! (`../shared/api-reference.md` §3, §4, §11).

use super::Shell;
use serde::Serialize;

/// Who a `pac` auth profile or a sign-in is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "as")]
pub enum SignInAs {
    /// An administrator, interactively.
    Admin,
    /// The target user account, interactively; `upn` pre-fills the sign-in.
    TargetUser { upn: Option<String> },
    /// The target service principal, with its secret read from
    /// `PAL_TARGET_CLIENT_SECRET`.
    TargetServicePrincipal { tenant_id: String, app_id: String },
}

/// How a Dataverse user is looked up: by Entra object id, or (an application user) by
/// app id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "id")]
pub enum DataverseUser {
    ObjectId(String),
    AppId(String),
}

/// The environment variable a service principal's secret is read from. Plans name it;
/// they never hold a secret.
pub const SECRET_VARIABLE: &str = "PAL_TARGET_CLIENT_SECRET";

/// One command of a plan. Values are as the snapshot and roster give them; placeholders
/// for what palaudit cannot know are written `<like this>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    /// Sign in to the Power Apps admin module (PowerShell) or the Azure CLI (bash).
    SignInPowerApps { as_: SignInAs },
    /// Sign in to the Azure CLI, which hands out tokens for the REST calls.
    SignInAzureCli { tenant_id: String, as_: SignInAs },
    /// Sign in to the Power BI management module (PowerShell) or the Azure CLI (bash).
    SignInPowerBi { tenant_id: String, as_: SignInAs },
    /// `Set-AdminPowerAppOwner`: the target becomes owner, the old owner `CanView`.
    SetCanvasAppOwner {
        environment_id: String,
        app_id: String,
        object_id: String,
    },
    /// `Set-AdminPowerAppRoleAssignment -RoleName CanEdit`: the target becomes co-owner.
    AddCanvasAppCoOwner {
        environment_id: String,
        app_id: String,
        object_id: String,
    },
    /// `Set-AdminFlowOwnerRole -RoleName CanEdit`: the target becomes a co-owner, so it
    /// can open the flow to copy it. Earns nothing by itself.
    AddFlowCoOwner {
        environment_id: String,
        flow_id: String,
        object_id: String,
    },
    /// Read-only: the solutions a component is part of (`solutioncomponents`).
    FindSolutions {
        dataverse_url: String,
        component_id: String,
    },
    /// Assign on the flow's `workflow` row: the target becomes its owner.
    AssignFlowOwner {
        dataverse_url: String,
        workflow_id: String,
        owner: DataverseUser,
    },
    /// `pac auth create` for one environment.
    PacAuth {
        environment_id: String,
        as_: SignInAs,
    },
    /// `pac solution add-solution-component`.
    AddToSolution {
        solution: String,
        component_id: String,
        component_type: u32,
    },
    /// `pac solution export --managed`.
    ExportSolution { solution: String, file: String },
    /// `pac solution import`.
    ImportSolution { file: String },
    /// `pac copilot-studio reassign-copilot-agent`.
    ReassignBot {
        environment_id: String,
        bot_id: String,
        object_id: String,
    },
    /// `New-PowerBIReport -ConflictAction CreateOrOverwrite` (bash: the import REST call).
    PublishPbix {
        workspace_id: String,
        dataset_name: String,
        pbix: String,
    },
    /// `Default.TakeOver` on a dataset, as the signed-in identity.
    TakeOverDataset {
        workspace_id: String,
        dataset_id: String,
    },
}

const POWERAPPS: &str =
    "https://api.powerapps.com/providers/Microsoft.PowerApps/scopes/admin/environments";
const FLOW: &str =
    "https://api.flow.microsoft.com/providers/Microsoft.ProcessSimple/scopes/admin/environments";
const POWERAPPS_AUDIENCE: &str = "https://service.powerapps.com/";
const FLOW_AUDIENCE: &str = "https://service.flow.microsoft.com/";
const POWERBI: &str = "https://api.powerbi.com/v1.0/myorg";
const POWERBI_AUDIENCE: &str = "https://analysis.windows.net/powerbi/api";

impl Command {
    /// The command as lines of `shell`, ready to copy.
    pub fn render(&self, shell: Shell) -> Vec<String> {
        match shell {
            Shell::PowerShell => self.powershell(),
            Shell::Bash => self.bash(),
        }
    }

    fn powershell(&self) -> Vec<String> {
        let q = ps;
        match self {
            Command::SignInPowerApps { as_ } => vec![match as_ {
                SignInAs::Admin => "Add-PowerAppsAccount -Endpoint prod".to_owned(),
                SignInAs::TargetUser { upn: Some(upn) } => {
                    format!("Add-PowerAppsAccount -Endpoint prod -Username {}", q(upn))
                }
                SignInAs::TargetUser { upn: None } => "Add-PowerAppsAccount -Endpoint prod".into(),
                SignInAs::TargetServicePrincipal { tenant_id, app_id } => format!(
                    "Add-PowerAppsAccount -Endpoint prod -TenantID {} -ApplicationId {} -ClientSecret $env:{SECRET_VARIABLE}",
                    q(tenant_id),
                    q(app_id)
                ),
            }],
            Command::SignInAzureCli { tenant_id, as_ } => {
                vec![az_login(tenant_id, as_, shell_ps())]
            }
            Command::SignInPowerBi { tenant_id, as_ } => match as_ {
                SignInAs::TargetServicePrincipal { app_id, .. } => vec![
                    format!(
                        "$credential = New-Object System.Management.Automation.PSCredential ({}, (ConvertTo-SecureString $env:{SECRET_VARIABLE} -AsPlainText -Force))",
                        q(app_id)
                    ),
                    format!(
                        "Connect-PowerBIServiceAccount -ServicePrincipal -Credential $credential -Tenant {}",
                        q(tenant_id)
                    ),
                ],
                _ => vec!["Connect-PowerBIServiceAccount".to_owned()],
            },
            Command::SetCanvasAppOwner {
                environment_id,
                app_id,
                object_id,
            } => vec![format!(
                "Set-AdminPowerAppOwner -EnvironmentName {} -AppName {} -AppOwner {}",
                q(environment_id),
                q(app_id),
                q(object_id)
            )],
            Command::AddCanvasAppCoOwner {
                environment_id,
                app_id,
                object_id,
            } => vec![format!(
                "Set-AdminPowerAppRoleAssignment -EnvironmentName {} -AppName {} -RoleName CanEdit -PrincipalType User -PrincipalObjectId {}",
                q(environment_id),
                q(app_id),
                q(object_id)
            )],
            Command::AddFlowCoOwner {
                environment_id,
                flow_id,
                object_id,
            } => vec![format!(
                "Set-AdminFlowOwnerRole -EnvironmentName {} -FlowName {} -PrincipalType User -RoleName CanEdit -PrincipalObjectId {}",
                q(environment_id),
                q(flow_id),
                q(object_id)
            )],
            Command::FindSolutions {
                dataverse_url,
                component_id,
            } => {
                let mut lines = dataverse_headers_ps(dataverse_url);
                lines.push(format!(
                    "(Invoke-RestMethod -Headers $headers -Uri {}).value | ForEach-Object {{ $_.solutionid.uniquename }}",
                    q(&find_solutions_url(dataverse_url, component_id))
                ));
                lines
            }
            Command::AssignFlowOwner {
                dataverse_url,
                workflow_id,
                owner,
            } => {
                let mut lines = dataverse_headers_ps(dataverse_url);
                lines.push(format!(
                    "$owner = (Invoke-RestMethod -Headers $headers -Uri {}).value[0].systemuserid",
                    q(&systemuser_url(dataverse_url, owner))
                ));
                lines.push(format!(
                    "Invoke-RestMethod -Method Patch -Headers $headers -ContentType 'application/json' -Uri {} -Body ('{{\"ownerid@odata.bind\":\"/systemusers(' + $owner + ')\"}}')",
                    q(&workflow_url(dataverse_url, workflow_id))
                ));
                lines
            }
            Command::PacAuth {
                environment_id,
                as_,
            } => vec![pac_auth(environment_id, as_, shell_ps())],
            Command::AddToSolution {
                solution,
                component_id,
                component_type,
            } => vec![format!(
                "pac solution add-solution-component --solutionUniqueName {} --component {} --componentType {component_type}",
                q(solution),
                q(component_id)
            )],
            Command::ExportSolution { solution, file } => vec![format!(
                "pac solution export --name {} --path {} --managed",
                q(solution),
                q(file)
            )],
            Command::ImportSolution { file } => vec![format!(
                "pac solution import --path {} --publish-changes",
                q(file)
            )],
            Command::ReassignBot {
                environment_id,
                bot_id,
                object_id,
            } => vec![format!(
                "pac copilot-studio reassign-copilot-agent --environment {} --bot-id {} --new-owner-aad-user-id {}",
                q(environment_id),
                q(bot_id),
                q(object_id)
            )],
            Command::PublishPbix {
                workspace_id,
                dataset_name,
                pbix,
            } => vec![format!(
                "New-PowerBIReport -Path {} -WorkspaceId {} -Name {} -ConflictAction CreateOrOverwrite",
                q(pbix),
                q(workspace_id),
                q(dataset_name)
            )],
            Command::TakeOverDataset {
                workspace_id,
                dataset_id,
            } => vec![format!(
                "Invoke-PowerBIRestMethod -Url {} -Method Post -Body ''",
                q(&format!(
                    "groups/{}/datasets/{}/Default.TakeOver",
                    segment(workspace_id),
                    segment(dataset_id)
                ))
            )],
        }
    }

    fn bash(&self) -> Vec<String> {
        let q = sh;
        match self {
            Command::SignInPowerApps { as_ } => vec![az_login("", as_, shell_sh())],
            Command::SignInAzureCli { tenant_id, as_ }
            | Command::SignInPowerBi { tenant_id, as_ } => {
                vec![az_login(tenant_id, as_, shell_sh())]
            }
            Command::SetCanvasAppOwner {
                environment_id,
                app_id,
                object_id,
            } => az_rest_post(
                POWERAPPS_AUDIENCE,
                &format!(
                    "{POWERAPPS}/{}/apps/{}/modifyAppOwner?api-version=2016-11-01",
                    segment(environment_id),
                    segment(app_id)
                ),
                &serde_json::json!({ "newAppOwner": object_id, "roleForOldAppOwner": "CanView" })
                    .to_string(),
            ),
            Command::AddCanvasAppCoOwner {
                environment_id,
                app_id,
                object_id,
            } => az_rest_post(
                POWERAPPS_AUDIENCE,
                &format!(
                    "{POWERAPPS}/{}/apps/{}/modifyPermissions?api-version=2016-11-01&%24filter=environment%20eq%20%27{}%27",
                    segment(environment_id),
                    segment(app_id),
                    segment(environment_id)
                ),
                &serde_json::json!({ "put": [ { "properties": {
                    "roleName": "CanEdit", "capabilities": [], "NotifyShareTargetOption": "Notify",
                    "principal": { "id": object_id, "type": "User", "tenantId": "null" } } } ] })
                .to_string(),
            ),
            Command::AddFlowCoOwner {
                environment_id,
                flow_id,
                object_id,
            } => az_rest_post(
                FLOW_AUDIENCE,
                &format!(
                    "{FLOW}/{}/flows/{}/modifyPermissions?api-version=2016-11-01",
                    segment(environment_id),
                    segment(flow_id)
                ),
                &serde_json::json!({ "put": [ { "properties": {
                    "principal": { "id": object_id, "type": "User" }, "roleName": "CanEdit" } } ] })
                .to_string(),
            ),
            Command::FindSolutions {
                dataverse_url,
                component_id,
            } => vec![
                dataverse_token_sh(dataverse_url),
                format!(
                    "curl -sS -H \"Authorization: Bearer $token\" -H 'Accept: application/json' {} | jq -r '.value[].solutionid.uniquename'",
                    q(&find_solutions_url(dataverse_url, component_id))
                ),
            ],
            Command::AssignFlowOwner {
                dataverse_url,
                workflow_id,
                owner,
            } => vec![
                dataverse_token_sh(dataverse_url),
                format!(
                    "owner=$(curl -sS -H \"Authorization: Bearer $token\" -H 'Accept: application/json' {} | jq -r '.value[0].systemuserid')",
                    q(&systemuser_url(dataverse_url, owner))
                ),
                format!(
                    "curl -sS -X PATCH -H \"Authorization: Bearer $token\" -H 'Content-Type: application/json' {} -d \"{{\\\"ownerid@odata.bind\\\":\\\"/systemusers($owner)\\\"}}\"",
                    q(&workflow_url(dataverse_url, workflow_id))
                ),
            ],
            Command::PacAuth {
                environment_id,
                as_,
            } => vec![pac_auth(environment_id, as_, shell_sh())],
            Command::AddToSolution {
                solution,
                component_id,
                component_type,
            } => vec![format!(
                "pac solution add-solution-component --solutionUniqueName {} --component {} --componentType {component_type}",
                q(solution),
                q(component_id)
            )],
            Command::ExportSolution { solution, file } => vec![format!(
                "pac solution export --name {} --path {} --managed",
                q(solution),
                q(file)
            )],
            Command::ImportSolution { file } => vec![format!(
                "pac solution import --path {} --publish-changes",
                q(file)
            )],
            Command::ReassignBot {
                environment_id,
                bot_id,
                object_id,
            } => vec![format!(
                "pac copilot-studio reassign-copilot-agent --environment {} --bot-id {} --new-owner-aad-user-id {}",
                q(environment_id),
                q(bot_id),
                q(object_id)
            )],
            Command::PublishPbix {
                workspace_id,
                dataset_name,
                pbix,
            } => vec![
                format!(
                    "token=$(az account get-access-token --resource {} --query accessToken -o tsv)",
                    q(POWERBI_AUDIENCE)
                ),
                format!(
                    "curl -sS -X POST -H \"Authorization: Bearer $token\" -F {} {}",
                    q(&format!("file=@{pbix}")),
                    q(&format!(
                        "{POWERBI}/groups/{}/imports?datasetDisplayName={}&nameConflict=CreateOrOverwrite",
                        segment(workspace_id),
                        segment(dataset_name)
                    ))
                ),
            ],
            Command::TakeOverDataset {
                workspace_id,
                dataset_id,
            } => vec![format!(
                "az rest --method post --resource {} --url {}",
                q(POWERBI_AUDIENCE),
                q(&format!(
                    "{POWERBI}/groups/{}/datasets/{}/Default.TakeOver",
                    segment(workspace_id),
                    segment(dataset_id)
                ))
            )],
        }
    }
}

/// The two quoting rules, passed where a helper serves both shells.
#[derive(Clone, Copy)]
struct Quoting {
    quote: fn(&str) -> String,
    secret: &'static str,
}

fn shell_ps() -> Quoting {
    Quoting {
        quote: ps,
        secret: "$env:PAL_TARGET_CLIENT_SECRET",
    }
}

fn shell_sh() -> Quoting {
    Quoting {
        quote: sh,
        secret: "\"$PAL_TARGET_CLIENT_SECRET\"",
    }
}

fn az_login(tenant_id: &str, as_: &SignInAs, shell: Quoting) -> String {
    let q = shell.quote;
    let tenant = |t: &str| {
        if t.is_empty() {
            String::new()
        } else {
            format!(" --tenant {}", q(t))
        }
    };
    match as_ {
        SignInAs::Admin | SignInAs::TargetUser { .. } => {
            format!("az login{} --allow-no-subscriptions", tenant(tenant_id))
        }
        SignInAs::TargetServicePrincipal {
            tenant_id: sp_tenant,
            app_id,
        } => format!(
            "az login --service-principal --username {} --password {}{} --allow-no-subscriptions",
            q(app_id),
            shell.secret,
            tenant(sp_tenant)
        ),
    }
}

fn pac_auth(environment_id: &str, as_: &SignInAs, shell: Quoting) -> String {
    let q = shell.quote;
    match as_ {
        SignInAs::Admin => format!(
            "pac auth create --name palaudit-admin --environment {}",
            q(environment_id)
        ),
        SignInAs::TargetUser { upn } => format!(
            "pac auth create --name palaudit-target --environment {}{}",
            q(environment_id),
            upn.as_deref()
                .map(|u| format!(" --username {}", q(u)))
                .unwrap_or_default()
        ),
        SignInAs::TargetServicePrincipal { tenant_id, app_id } => format!(
            "pac auth create --name palaudit-target --environment {} --tenant {} --applicationId {} --clientSecret {}",
            q(environment_id),
            q(tenant_id),
            q(app_id),
            shell.secret
        ),
    }
}

fn az_rest_post(resource: &str, url: &str, body: &str) -> Vec<String> {
    vec![format!(
        "az rest --method post --resource {} --url {} --body {}",
        sh(resource),
        sh(url),
        sh(body)
    )]
}

fn dataverse_base(url: &str) -> String {
    format!("{}/api/data/v9.2", url.trim_end_matches('/'))
}

fn dataverse_headers_ps(url: &str) -> Vec<String> {
    vec![
        format!(
            "$token = az account get-access-token --resource {} --query accessToken -o tsv",
            ps(url)
        ),
        "$headers = @{ Authorization = 'Bearer ' + $token; Accept = 'application/json'; 'OData-Version' = '4.0' }".to_owned(),
    ]
}

fn dataverse_token_sh(url: &str) -> String {
    format!(
        "token=$(az account get-access-token --resource {} --query accessToken -o tsv)",
        sh(url)
    )
}

fn find_solutions_url(url: &str, component_id: &str) -> String {
    format!(
        "{}/solutioncomponents?$filter=objectid%20eq%20{}&$select=componenttype&$expand=solutionid($select=uniquename,friendlyname,ismanaged)",
        dataverse_base(url),
        segment(component_id)
    )
}

fn systemuser_url(url: &str, user: &DataverseUser) -> String {
    let (column, id) = match user {
        DataverseUser::ObjectId(id) => ("azureactivedirectoryobjectid", id),
        DataverseUser::AppId(id) => ("applicationid", id),
    };
    format!(
        "{}/systemusers?$filter={column}%20eq%20{}&$select=systemuserid",
        dataverse_base(url),
        segment(id)
    )
}

fn workflow_url(url: &str, workflow_id: &str) -> String {
    format!(
        "{}/workflows({})",
        dataverse_base(url),
        segment(workflow_id)
    )
}

/// Control characters (a line break would end a comment or a command) become `�`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// A PowerShell single-quoted string: nothing inside is expanded; `'` is doubled.
pub(crate) fn ps(s: &str) -> String {
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('\'');
    for c in s.chars() {
        if c.is_control() {
            quoted.push('\u{FFFD}');
            continue;
        }
        quoted.push(c);
        // PowerShell also ends single-quoted strings at the typographic quotes.
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// A POSIX shell single-quoted string: nothing inside is expanded; `'` is closed,
/// escaped and reopened.
pub(crate) fn sh(s: &str) -> String {
    format!("'{}'", clean(s).replace('\'', "'\\''"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a URL path
/// segment or query value built from tenant data.
pub(crate) fn segment(s: &str) -> String {
    // A placeholder (`<workflowid of the flow>`) stays readable: it is replaced by hand.
    if s.starts_with('<') && s.ends_with('>') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_hostile_names_inside_one_string() {
        assert_eq!(ps("it's"), "'it''s'");
        assert_eq!(ps("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(sh("it's"), "'it'\\''s'");
        assert_eq!(sh("a\nrm -rf /"), "'a\u{FFFD}rm -rf /'");
        assert_eq!(ps("$(evil)"), "'$(evil)'");
    }

    #[test]
    fn segments_encode_reserved_characters() {
        assert_eq!(segment("Default-1a2B"), "Default-1a2B");
        assert_eq!(segment("Sales & Ops/2"), "Sales%20%26%20Ops%2F2");
        assert_eq!(segment("é"), "%C3%A9");
        assert_eq!(
            segment("<workflowid of the flow>"),
            "<workflowid of the flow>"
        );
    }
}
