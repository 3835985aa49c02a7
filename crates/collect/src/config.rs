//! The collection config file (TOML): which tenant, which cloud, how to sign in, and how
//! hard to push the APIs.
//!
//! Every key is checked: unknown keys and bad values are errors naming the file, line and
//! column, and every validation problem is reported at once.
//!
//! ```toml
//! tenant_id = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15"
//! cloud = "public"                 # public | gcc | gcc_high | dod
//!
//! [auth]
//! method = "azure-cli"             # azure-cli | client-secret | managed-identity | static-token
//! # client_id = "…"                # managed-identity only: a user-assigned identity
//!
//! [endpoints]                      # optional overrides of the cloud's base URLs
//! # bap = "https://api.bap.microsoft.com"
//!
//! [collect]
//! concurrency = 256                # the most requests in flight per API host (1..=1024)
//! powerbi = "auto"                 # groups | scanner | auto | off
//! powerbi_page_size = 5000         # $top of the admin groups API (1..=5000)
//! powerbi_auto_threshold = 10000   # auto: switch to the scanner beyond this many workspaces
//! dataverse_page_size = 5000       # Prefer: odata.maxpagesize (1..=5000)
//! max_retries = 6                  # retries per request after the first attempt
//! request_timeout_secs = 120       # one attempt: connect, send, read the whole body
//! request_budget_secs = 600        # one request, all attempts and backoff together
//! # environments = ["Default-…"]   # only these Power Platform environments
//! flow_owners = "all"              # all | creator: each flow's /permissions, or none
//!
//! # `concurrency` is a cap, not a setting to tune: each API host gets its own window of
//! # requests in flight that starts at 4, grows while the host answers fast, and is cut
//! # when it throttles (`429`/`503`), so every host runs at its own limit. The cap used
//! # to be the fixed window (8, at most 64); it is now 256 by default so a host allowing
//! # 500 requests a second that answers in 300 ms (≈150 in flight) is not held back.
//!
//! # `palaudit identities verify` only: service principals of the roster palaudit may
//! # sign in as, to read their own PAL link. Exactly one source per entry; files are
//! # relative to this config file.
//! [[credentials]]
//! app_id = "4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d"
//! client_secret_file = "secrets/fabrikam-deploy.txt"
//! # certificate_file = "certs/fabrikam-deploy.pem"  # certificate + PKCS#8 private key (PEM)
//! # token_env = "FABRIKAM_DEPLOY_ARM_TOKEN"          # an ARM bearer token already issued
//! ```

use serde::Deserialize;
use serde_spanned::Spanned;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub use crate::cloud::{Cloud, Endpoints, Scopes};
use crate::http::url::{Endpoint, is_loopback};

/// Why a config file could not be used. Every problem names the file and, where it has
/// one, the line and column.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// 1-based line and column, when the problem has a place in the file.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

fn render_problems(path: &Path, problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| match (p.line, p.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}: {}", path.display(), p.message),
            _ => format!("{}: {}", path.display(), p.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How palaudit signs in (`[auth] method`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// Reuse `az login` (Azure CLI), for the configured tenant.
    AzureCli,
    /// A service principal: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// The managed identity of the machine; `client_id` picks a user-assigned one.
    ManagedIdentity { client_id: Option<String> },
    /// A bearer token from `PALAUDIT_ACCESS_TOKEN` (air-gapped replays and tests).
    StaticToken,
}

impl AuthMethod {
    /// The config word for this method.
    pub fn name(&self) -> &'static str {
        match self {
            AuthMethod::AzureCli => "azure-cli",
            AuthMethod::ClientSecret => "client-secret",
            AuthMethod::ManagedIdentity { .. } => "managed-identity",
            AuthMethod::StaticToken => "static-token",
        }
    }
}

/// How the Power BI inventory is read (`[collect] powerbi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerBiMode {
    /// `GET admin/groups?$expand=datasets`, paged with `$top`/`$skip`.
    Groups,
    /// The scanner API: modified workspaces → getInfo → scanStatus → scanResult.
    Scanner,
    /// Groups while the tenant has fewer workspaces than `powerbi_auto_threshold`, else
    /// the scanner for the rest.
    #[default]
    Auto,
    /// Do not read Power BI.
    Off,
}

/// The default `[collect] concurrency`: the cap of each host's adaptive window, above
/// the ≈150 requests in flight a host allowing 500 requests a second needs when it
/// answers in 300 ms.
pub const DEFAULT_CONCURRENCY_CAP: usize = 256;
/// The largest `[collect] concurrency` accepted.
pub const MAX_CONCURRENCY_CAP: i64 = 1024;

/// Which flows' `/permissions` (owners, co-owners) are read (`[collect] flow_owners`).
///
/// A flow's credit goes to its creator, whom the flow listing already names, so the
/// owners never change a flow verdict's status or partner. They add evidence: a PAL
/// identity that co-owns a flow without having created it makes the verdict say
/// `pal_identity_lacks_role` rather than `no_pal_identity_in_role`. Collection does not
/// see the PAL identities (they reach the audit, not `collect`), so it cannot tell
/// which flows such an identity co-owns: either every flow's owners are read, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowOwners {
    /// One `/permissions` request per flow: every verdict with its full evidence.
    #[default]
    All,
    /// The listing's creator only, no request per flow: the same statuses and partners,
    /// without co-owning PAL identities in the evidence.
    Creator,
}

/// `[collect]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectSettings {
    /// The most requests in flight per API host: the cap of each host's adaptive
    /// window ([`crate::http::limiter`]).
    pub concurrency: usize,
    pub powerbi: PowerBiMode,
    pub powerbi_page_size: u32,
    pub powerbi_auto_threshold: usize,
    pub dataverse_page_size: u32,
    /// Retries per request after the first attempt (429, 5xx, timeouts, resets).
    pub max_retries: u32,
    /// The longest one attempt may take (connect, send, read the body).
    pub request_timeout: Duration,
    /// The longest one request may take over all its attempts and backoff; waits an API
    /// asks for with `Retry-After` are bounded by their own cap instead.
    pub request_budget: Duration,
    /// The first backoff step between retries (it doubles per retry, with jitter). Not a
    /// config-file key: tests and benchmarks make it tiny.
    pub retry_base_delay: Duration,
    /// Only these Power Platform environments (lower-cased ids); `None` = all.
    pub environments: Option<Vec<String>>,
    pub flow_owners: FlowOwners,
}

impl Default for CollectSettings {
    fn default() -> Self {
        CollectSettings {
            concurrency: DEFAULT_CONCURRENCY_CAP,
            powerbi: PowerBiMode::Auto,
            powerbi_page_size: 5000,
            powerbi_auto_threshold: 10_000,
            dataverse_page_size: 5000,
            max_retries: 6,
            request_timeout: Duration::from_secs(120),
            request_budget: Duration::from_secs(600),
            retry_base_delay: Duration::from_millis(500),
            environments: None,
            flow_owners: FlowOwners::All,
        }
    }
}

/// A validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The customer's Entra tenant id (lower-case GUID).
    pub tenant_id: String,
    pub cloud: Cloud,
    /// The cloud's base URLs with `[endpoints]` overrides applied.
    pub endpoints: Endpoints,
    pub scopes: Scopes,
    pub auth: AuthMethod,
    pub collect: CollectSettings,
    /// `[[credentials]]`: how `palaudit identities verify` signs in as each PAL-linked
    /// service principal of the roster, to read that identity's own PAL link.
    pub credentials: Vec<IdentityCredential>,
}

/// One `[[credentials]]` entry: a PAL-linked service principal palaudit may sign in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCredential {
    /// The line of the entry in the config file, for messages.
    pub line: usize,
    /// The service principal's application (client) id, lower-cased.
    pub app_id: String,
    pub source: CredentialSource,
}

/// Where a service principal's credential comes from. Files are resolved against the
/// config file's directory; their contents are read only when needed and never printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// A file holding the client secret (surrounding white space ignored).
    ClientSecretFile(PathBuf),
    /// A PEM file holding the certificate and its unencrypted PKCS#8 private key.
    CertificateFile(PathBuf),
    /// An environment variable holding a bearer token for ARM already issued to the
    /// identity (air-gapped runs and tests).
    TokenEnv(String),
}

impl Config {
    /// A config for `tenant_id` in `cloud` with default settings.
    pub fn new(tenant_id: &str, cloud: Cloud, auth: AuthMethod) -> Config {
        Config {
            tenant_id: tenant_id.trim().to_ascii_lowercase(),
            cloud,
            endpoints: Endpoints::for_cloud(cloud),
            scopes: Scopes::for_cloud(cloud),
            auth,
            collect: CollectSettings::default(),
            credentials: Vec::new(),
        }
    }

    /// A config that reads everything from a palaudit replay server at `base_url`
    /// (`palaudit demo`): its endpoints, and `static-token` sign-in (give the token through
    /// `CollectOptions::auth`).
    pub fn for_replay(tenant_id: &str, base_url: &str) -> Config {
        let mut c = Config::new(tenant_id, Cloud::Public, AuthMethod::StaticToken);
        c.endpoints = Endpoints::replay(base_url);
        c
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Validates config text; `path` is only used to name the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        // Positions are counted the way an editor shows them (CRLF, lone CR, a BOM).
        let text = palaudit_model::lines::strip_bom_str(text);
        let lines = palaudit_model::lines::LineIndex::new(text.as_bytes());
        let invalid = |problems| ConfigError::Invalid {
            path: path.to_owned(),
            problems,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = lines.line_col(span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            invalid(vec![ConfigProblem {
                line,
                column,
                message: e.message().trim().to_owned(),
            }])
        })?;
        let mut problems = Vec::new();
        let mut problem = |span: Range<usize>, message: String| {
            let (l, c) = lines.line_col(span.start);
            problems.push(ConfigProblem {
                line: Some(l),
                column: Some(c),
                message,
            });
        };

        let tenant_id = raw.tenant_id.get_ref().trim().to_ascii_lowercase();
        if !palaudit_model::ids::is_guid(&tenant_id) {
            problem(
                raw.tenant_id.span(),
                format!(
                    "tenant_id `{}` is not a GUID (the customer's Entra tenant id, e.g. d8d86e5f-13e9-4bb5-bb94-0f99b507cd15)",
                    raw.tenant_id.get_ref()
                ),
            );
        }
        let cloud = raw.cloud.unwrap_or_default();
        let mut endpoints = Endpoints::for_cloud(cloud);
        let overrides = [
            (&raw.endpoints.bap, &mut endpoints.bap, "bap"),
            (
                &raw.endpoints.powerapps,
                &mut endpoints.powerapps,
                "powerapps",
            ),
            (&raw.endpoints.flow, &mut endpoints.flow, "flow"),
            (&raw.endpoints.powerbi, &mut endpoints.powerbi, "powerbi"),
            (&raw.endpoints.graph, &mut endpoints.graph, "graph"),
            (&raw.endpoints.arm, &mut endpoints.arm, "arm"),
        ];
        for (value, slot, key) in overrides {
            if let Some(v) = value {
                match validate_base_url(v.get_ref()) {
                    Ok(u) => *slot = u,
                    Err(m) => problem(v.span(), format!("endpoints.{key}: {m}")),
                }
            }
        }

        let auth = match raw.auth {
            None => AuthMethod::AzureCli,
            Some(a) => {
                let client_id = a.client_id.map(|c| {
                    let id = c.get_ref().trim().to_owned();
                    if a.method != RawAuthMethod::ManagedIdentity {
                        problem(
                            c.span(),
                            "auth.client_id is only used with method = \"managed-identity\"; client-secret reads AZURE_CLIENT_ID".into(),
                        );
                    } else if !palaudit_model::ids::is_guid(&id) {
                        problem(c.span(), format!("auth.client_id `{id}` is not a GUID"));
                    }
                    id
                });
                match a.method {
                    RawAuthMethod::AzureCli => AuthMethod::AzureCli,
                    RawAuthMethod::ClientSecret => AuthMethod::ClientSecret,
                    RawAuthMethod::ManagedIdentity => AuthMethod::ManagedIdentity { client_id },
                    RawAuthMethod::StaticToken => AuthMethod::StaticToken,
                }
            }
        };

        let mut collect = CollectSettings::default();
        let c = raw.collect;
        let mut ranged = |v: &Option<Spanned<i64>>, key: &str, lo: i64, hi: i64| -> Option<i64> {
            let v = v.as_ref()?;
            let n = *v.get_ref();
            if (lo..=hi).contains(&n) {
                Some(n)
            } else {
                problem(
                    v.span(),
                    format!("collect.{key} = {n} is out of range ({lo}..={hi})"),
                );
                None
            }
        };
        // Bounds: Power BI `$top` and Dataverse `odata.maxpagesize` both top out at 5,000.
        if let Some(n) = ranged(&c.concurrency, "concurrency", 1, MAX_CONCURRENCY_CAP) {
            collect.concurrency = n as usize;
        }
        if let Some(n) = ranged(&c.powerbi_page_size, "powerbi_page_size", 1, 5000) {
            collect.powerbi_page_size = n as u32;
        }
        if let Some(n) = ranged(
            &c.powerbi_auto_threshold,
            "powerbi_auto_threshold",
            1,
            10_000_000,
        ) {
            collect.powerbi_auto_threshold = n as usize;
        }
        if let Some(n) = ranged(&c.dataverse_page_size, "dataverse_page_size", 1, 5000) {
            collect.dataverse_page_size = n as u32;
        }
        if let Some(n) = ranged(&c.max_retries, "max_retries", 0, 20) {
            collect.max_retries = n as u32;
        }
        if let Some(n) = ranged(&c.request_timeout_secs, "request_timeout_secs", 1, 3600) {
            collect.request_timeout = Duration::from_secs(n as u64);
        }
        if let Some(n) = ranged(&c.request_budget_secs, "request_budget_secs", 1, 86_400) {
            collect.request_budget = Duration::from_secs(n as u64);
        }
        if let Some(p) = c.powerbi {
            collect.powerbi = p;
        }
        if let Some(f) = c.flow_owners {
            collect.flow_owners = f;
        }
        if let Some(envs) = c.environments {
            let mut ids = Vec::new();
            for e in envs {
                let id = e.get_ref().trim().to_ascii_lowercase();
                if id.is_empty() {
                    problem(e.span(), "collect.environments holds an empty id".into());
                } else {
                    ids.push(id);
                }
            }
            collect.environments = Some(ids);
        }

        let base_dir = path.parent().unwrap_or(Path::new(""));
        let mut credentials: Vec<IdentityCredential> = Vec::new();
        for c in raw.credentials {
            let line = lines.line_col(c.span().start).0;
            let c = c.into_inner();
            let app_id = c.app_id.get_ref().trim().to_ascii_lowercase();
            if !palaudit_model::ids::is_guid(&app_id) {
                problem(
                    c.app_id.span(),
                    format!(
                        "credentials.app_id `{}` is not a GUID (the service principal's application id)",
                        c.app_id.get_ref()
                    ),
                );
                continue;
            }
            if let Some(earlier) = credentials.iter().find(|e| e.app_id == app_id) {
                problem(
                    c.app_id.span(),
                    format!(
                        "a second credential for app_id {app_id} (the first is on line {})",
                        earlier.line
                    ),
                );
                continue;
            }
            for (key, value) in [
                ("client_secret_file", &c.client_secret_file),
                ("certificate_file", &c.certificate_file),
                ("token_env", &c.token_env),
            ] {
                if let Some(v) = value
                    && v.get_ref().trim().is_empty()
                {
                    problem(v.span(), format!("credentials.{key} is empty"));
                }
            }
            let mut sources = Vec::new();
            if let Some(f) = &c.client_secret_file {
                sources.push(CredentialSource::ClientSecretFile(
                    base_dir.join(f.get_ref().trim()),
                ));
            }
            if let Some(f) = &c.certificate_file {
                sources.push(CredentialSource::CertificateFile(
                    base_dir.join(f.get_ref().trim()),
                ));
            }
            if let Some(v) = &c.token_env {
                sources.push(CredentialSource::TokenEnv(v.get_ref().trim().to_owned()));
            }
            if sources.len() != 1 {
                problem(
                    c.app_id.span(),
                    format!(
                        "credentials for app_id {app_id}: give exactly one of client_secret_file, certificate_file or token_env ({} given)",
                        sources.len()
                    ),
                );
                continue;
            }
            credentials.push(IdentityCredential {
                line,
                app_id,
                source: sources.remove(0),
            });
        }

        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(Config {
            tenant_id,
            cloud,
            endpoints,
            scopes: Scopes::for_cloud(cloud),
            auth,
            collect,
            credentials,
        })
    }
}

/// Checks a base URL: http(s), a host, no query or fragment, and plain http only to a
/// loopback host (a bearer token must never cross the network unencrypted). Returns it
/// without a trailing slash.
pub fn validate_base_url(s: &str) -> Result<String, String> {
    // Messages show the value without user info or query values: a config URL may
    // carry a password or a signature, parsed or not.
    let shown = crate::secret::scrub_url_text(s.trim());
    let url = Url::parse(s.trim()).map_err(|e| format!("`{shown}` is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{}` holds a user name or password; palaudit signs in through [auth], never through a URL",
            Endpoint::new(&reqwest::Method::GET, &url).url
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(format!(
                "`{shown}` uses plain http to a host that is not loopback; palaudit sends bearer tokens only over https (or http to 127.0.0.1/localhost)"
            ));
        }
        other => return Err(format!("`{shown}`: scheme `{other}` is not http or https")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{shown}` has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{shown}` must not have a query string or fragment"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    tenant_id: Spanned<String>,
    #[serde(default)]
    cloud: Option<Cloud>,
    #[serde(default)]
    endpoints: RawEndpoints,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    collect: RawCollect,
    #[serde(default)]
    credentials: Vec<Spanned<RawCredential>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredential {
    app_id: Spanned<String>,
    client_secret_file: Option<Spanned<String>>,
    certificate_file: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEndpoints {
    bap: Option<Spanned<String>>,
    powerapps: Option<Spanned<String>>,
    flow: Option<Spanned<String>>,
    powerbi: Option<Spanned<String>>,
    graph: Option<Spanned<String>>,
    arm: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    method: RawAuthMethod,
    client_id: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum RawAuthMethod {
    AzureCli,
    ClientSecret,
    ManagedIdentity,
    StaticToken,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCollect {
    concurrency: Option<Spanned<i64>>,
    powerbi: Option<PowerBiMode>,
    powerbi_page_size: Option<Spanned<i64>>,
    powerbi_auto_threshold: Option<Spanned<i64>>,
    dataverse_page_size: Option<Spanned<i64>>,
    max_retries: Option<Spanned<i64>>,
    request_timeout_secs: Option<Spanned<i64>>,
    request_budget_secs: Option<Spanned<i64>>,
    environments: Option<Vec<Spanned<String>>>,
    flow_owners: Option<FlowOwners>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15";

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("palaudit.toml"))
    }

    #[test]
    fn minimal_config_gets_public_defaults() {
        let c = parse(&format!("tenant_id = \"{}\"\n", TENANT.to_uppercase())).unwrap();
        assert_eq!(c.tenant_id, TENANT);
        assert_eq!(c.cloud, Cloud::Public);
        assert_eq!(c.auth, AuthMethod::AzureCli);
        assert_eq!(c.endpoints.bap, "https://api.bap.microsoft.com");
        assert_eq!(
            c.scopes.powerapps,
            "https://service.powerapps.com//.default"
        );
        assert_eq!(
            c.scopes.flow,
            "https://service.flow.microsoft.com//.default"
        );
        assert_eq!(c.collect, CollectSettings::default());
    }

    #[test]
    fn concurrency_is_a_cap_up_to_1024_and_flow_owners_a_choice() {
        let c = parse(&format!("tenant_id = \"{TENANT}\"\n")).unwrap();
        assert_eq!(c.collect.concurrency, DEFAULT_CONCURRENCY_CAP);
        assert_eq!(c.collect.flow_owners, FlowOwners::All);
        let c = parse(&format!(
            "tenant_id = \"{TENANT}\"\n[collect]\nconcurrency = 1024\nflow_owners = \"creator\"\n"
        ))
        .unwrap();
        assert_eq!(c.collect.concurrency, 1024);
        assert_eq!(c.collect.flow_owners, FlowOwners::Creator);
        let err = parse(&format!(
            "tenant_id = \"{TENANT}\"\n[collect]\nconcurrency = 1025\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                "palaudit.toml:3:15: collect.concurrency = 1025 is out of range (1..=1024)"
            ),
            "{err}"
        );
        let err = parse(&format!(
            "tenant_id = \"{TENANT}\"\n[collect]\nflow_owners = \"some\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("palaudit.toml:3:") && err.contains("`all`"),
            "{err}"
        );
    }

    #[test]
    fn full_config() {
        let c = parse(&format!(
            r#"tenant_id = "{TENANT}"
cloud = "gcc_high"
[auth]
method = "managed-identity"
client_id = "0f747967-84c4-4f29-84c2-682fb00390c8"
[endpoints]
graph = "http://127.0.0.1:8080/graph/"
[collect]
concurrency = 4
powerbi = "scanner"
powerbi_page_size = 2
dataverse_page_size = 100
max_retries = 0
environments = ["Default-{TENANT}"]
"#
        ))
        .unwrap();
        assert_eq!(c.cloud, Cloud::GccHigh);
        assert_eq!(c.endpoints.graph, "http://127.0.0.1:8080/graph");
        assert_eq!(c.endpoints.bap, "https://high.api.bap.microsoft.us");
        assert_eq!(c.endpoints.powerbi, "https://api.high.powerbigov.us");
        assert_eq!(c.scopes.graph, "https://graph.microsoft.us/.default");
        assert_eq!(
            c.auth,
            AuthMethod::ManagedIdentity {
                client_id: Some("0f747967-84c4-4f29-84c2-682fb00390c8".into())
            }
        );
        assert_eq!(c.collect.concurrency, 4);
        assert_eq!(c.collect.powerbi, PowerBiMode::Scanner);
        assert_eq!(c.collect.max_retries, 0);
        assert_eq!(
            c.collect.environments,
            Some(vec![format!("default-{TENANT}")])
        );
    }

    #[test]
    fn unknown_keys_are_errors_at_their_line() {
        let err = parse(&format!(
            "tenant_id = \"{TENANT}\"\n[collect]\nconcurency = 4\n"
        ))
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("palaudit.toml:3:1: "), "{msg}");
        assert!(msg.contains("concurency"), "{msg}");
    }

    #[test]
    fn bad_values_name_file_line_and_column_all_at_once() {
        let err = parse(
            "tenant_id = \"not-a-guid\"\n[endpoints]\nbap = \"http://api.bap.example.com\"\n[collect]\nconcurrency = 0\n",
        )
        .unwrap_err();
        let ConfigError::Invalid { problems, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 3, "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("palaudit.toml:1:13: tenant_id `not-a-guid`"),
            "{msg}"
        );
        assert!(msg.contains("palaudit.toml:3:7: endpoints.bap"), "{msg}");
        assert!(msg.contains("plain http"), "{msg}");
        assert!(
            msg.contains("palaudit.toml:5:15: collect.concurrency = 0"),
            "{msg}"
        );
    }

    #[test]
    fn enum_values_are_checked() {
        let err = parse(&format!("tenant_id = \"{TENANT}\"\ncloud = \"mooncake\"\n")).unwrap_err();
        assert!(err.to_string().starts_with("palaudit.toml:2:9: "), "{err}");
        let err = parse(&format!(
            "tenant_id = \"{TENANT}\"\n[auth]\nmethod = \"password\"\n"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("palaudit.toml:3:"), "{err}");
        let err = parse(&format!(
            "tenant_id = \"{TENANT}\"\n[auth]\nmethod = \"azure-cli\"\nclient_id = \"0f747967-84c4-4f29-84c2-682fb00390c8\"\n"
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("palaudit.toml:4:13: auth.client_id"),
            "{err}"
        );
    }

    #[test]
    fn missing_tenant_is_an_error() {
        let err = parse("cloud = \"public\"\n").unwrap_err();
        assert!(err.to_string().contains("tenant_id"), "{err}");
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            validate_base_url("https://api.bap.microsoft.com/").unwrap(),
            "https://api.bap.microsoft.com"
        );
        assert!(validate_base_url("http://localhost:1234/x").is_ok());
        assert!(validate_base_url("http://[::1]:1234").is_ok());
        assert!(validate_base_url("http://10.0.0.1").is_err());
        assert!(validate_base_url("ftp://x").is_err());
        assert!(validate_base_url("https://x/?a=b").is_err());
        let e = validate_base_url("https://admin:hunter2@api.bap.microsoft.com").unwrap_err();
        assert!(e.contains("user name or password"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn credentials_resolve_files_beside_the_config_and_report_every_problem() {
        let text = format!(
            r#"tenant_id = "{TENANT}"

[[credentials]]
app_id = "4E2B3C1D-6A7F-4B8E-9C0D-1E2F3A4B5C6D"
client_secret_file = "secrets/deploy.txt"

[[credentials]]
app_id = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
certificate_file = "certs/reporting.pem"
"#
        );
        let c = Config::parse(&text, Path::new("configs/contoso.toml")).unwrap();
        assert_eq!(c.credentials.len(), 2);
        assert_eq!(
            c.credentials[0].app_id,
            "4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d"
        );
        assert_eq!(c.credentials[0].line, 3);
        assert_eq!(
            c.credentials[0].source,
            CredentialSource::ClientSecretFile(PathBuf::from("configs/secrets/deploy.txt"))
        );
        assert_eq!(
            c.credentials[1].source,
            CredentialSource::CertificateFile(PathBuf::from("configs/certs/reporting.pem"))
        );

        let bad = format!(
            r#"tenant_id = "{TENANT}"

[[credentials]]
app_id = "not-a-guid"
token_env = "X"

[[credentials]]
app_id = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
client_secret_file = "a.txt"
token_env = "Y"

[[credentials]]
app_id = "8c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
client_secret_file = " "
"#
        );
        let e = parse(&bad).unwrap_err().to_string();
        assert!(
            e.contains(":4:10: credentials.app_id `not-a-guid` is not a GUID"),
            "{e}"
        );
        assert!(e.contains(":8:10: credentials for app_id 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d: give exactly one of"), "{e}");
        assert!(
            e.contains(":14:22: credentials.client_secret_file is empty"),
            "{e}"
        );
    }
}
