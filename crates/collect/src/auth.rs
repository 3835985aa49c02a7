//! Bearer tokens, one [`TokenSource`] per audience (scope).
//!
//! `static-token` reads `PALAUDIT_ACCESS_TOKEN` once; the other methods wrap an
//! azure_identity credential (which caches tokens per scope). Tokens live in
//! [`azure_core::credentials::Secret`], whose `Debug` never shows the value, and are
//! never logged. SDK errors are reduced to one line of their `Display` form: their
//! `Debug` form carries a full backtrace.

use crate::config::{AuthMethod, Config};
use async_trait::async_trait;
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The environment variable `static-token` reads.
pub const STATIC_TOKEN_VAR: &str = "PALAUDIT_ACCESS_TOKEN";

/// Why no token could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error(
        "the environment variable {var} is not set or is empty; [auth] method = \"{method}\" needs it"
    )]
    MissingVariable {
        var: &'static str,
        method: &'static str,
    },
    #[error("[auth] method = \"{method}\": {message}")]
    Credential {
        method: &'static str,
        message: String,
    },
    #[error("could not get a token for {scope} ([auth] method = \"{method}\"): {message}")]
    Token {
        scope: String,
        method: &'static str,
        message: String,
    },
}

/// Tokens for one audience.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A bearer token for [`TokenSource::scope`].
    async fn token(&self) -> Result<Secret, AuthError>;
    /// The OAuth scope the tokens are for (`https://…/.default`).
    fn scope(&self) -> &str;
}

#[derive(Clone)]
enum Provider {
    Static(Secret),
    Credential {
        credential: Arc<dyn TokenCredential>,
        method: &'static str,
    },
}

/// Makes and caches the [`TokenSource`] of each audience.
#[derive(Clone)]
pub struct Auth {
    provider: Provider,
    sources: Arc<Mutex<HashMap<String, Arc<dyn TokenSource>>>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.provider {
            Provider::Static(_) => "static-token",
            Provider::Credential { method, .. } => method,
        };
        f.debug_struct("Auth").field("method", &kind).finish()
    }
}

impl Auth {
    fn with(provider: Provider) -> Auth {
        Auth {
            provider,
            sources: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The same bearer token for every audience (replays, tests, air-gapped runs).
    pub fn static_token(token: impl Into<String>) -> Auth {
        let token = token.into();
        crate::secret::remember(&token);
        Auth::with(Provider::Static(Secret::new(token)))
    }

    /// Tokens from any azure_core credential (tests inject a fake one here).
    pub fn from_credential(credential: Arc<dyn TokenCredential>) -> Auth {
        Auth::with(Provider::Credential {
            credential,
            method: "injected credential",
        })
    }

    /// The sign-in `config` asks for. Fails early for what can be checked before the
    /// first request: a missing `PALAUDIT_ACCESS_TOKEN`, missing client-secret variables.
    pub fn from_config(config: &Config) -> Result<Auth, AuthError> {
        Auth::from_config_with_env(config, &|name| std::env::var(name).ok())
    }

    /// [`Auth::from_config`] with the environment read through `env` (tests cannot set
    /// process variables: `unsafe_code` is forbidden).
    pub fn from_config_with_env(
        config: &Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Auth, AuthError> {
        let method = config.auth.name();
        let cred_err = |e: azure_core::Error| AuthError::Credential {
            method,
            message: one_line(&e.to_string()),
        };
        let client_options = || client_options(config);
        let credential: Arc<dyn TokenCredential> = match &config.auth {
            AuthMethod::StaticToken => {
                let token = env(STATIC_TOKEN_VAR).unwrap_or_default();
                let token = token.trim();
                if token.is_empty() {
                    return Err(AuthError::MissingVariable {
                        var: STATIC_TOKEN_VAR,
                        method,
                    });
                }
                return Ok(Auth::static_token(token));
            }
            AuthMethod::AzureCli => azure_identity::AzureCliCredential::new(Some(
                azure_identity::AzureCliCredentialOptions {
                    tenant_id: Some(config.tenant_id.clone()),
                    ..Default::default()
                },
            ))
            .map_err(cred_err)?,
            AuthMethod::ClientSecret => {
                let var = |name: &'static str| {
                    env(name)
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .ok_or(AuthError::MissingVariable { var: name, method })
                };
                let client_id = var("AZURE_CLIENT_ID")?;
                let secret = var("AZURE_CLIENT_SECRET")?;
                crate::secret::remember(&secret);
                let tenant = match var("AZURE_TENANT_ID") {
                    Ok(t) if !t.eq_ignore_ascii_case(&config.tenant_id) => {
                        return Err(AuthError::Credential {
                            method,
                            message: format!(
                                "AZURE_TENANT_ID ({t}) is not the tenant_id of the config ({}); a token for another tenant cannot read this one",
                                config.tenant_id
                            ),
                        });
                    }
                    _ => config.tenant_id.clone(),
                };
                azure_identity::ClientSecretCredential::new(
                    &tenant,
                    client_id,
                    Secret::new(secret),
                    Some(azure_identity::ClientSecretCredentialOptions {
                        client_options: client_options(),
                    }),
                )
                .map_err(cred_err)?
            }
            AuthMethod::ManagedIdentity { client_id } => {
                azure_identity::ManagedIdentityCredential::new(Some(
                    azure_identity::ManagedIdentityCredentialOptions {
                        user_assigned_id: client_id
                            .clone()
                            .map(azure_identity::UserAssignedId::ClientId),
                        client_options: client_options(),
                    },
                ))
                .map_err(cred_err)?
            }
        };
        Ok(Auth::with(Provider::Credential { credential, method }))
    }

    /// Tokens from `credential`, labelled `method` in error messages.
    pub fn from_named_credential(
        credential: Arc<dyn TokenCredential>,
        method: &'static str,
    ) -> Auth {
        Auth::with(Provider::Credential { credential, method })
    }

    /// The token source for `scope`, made once per scope.
    pub fn source(&self, scope: &str) -> Arc<dyn TokenSource> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources
            .entry(scope.to_owned())
            .or_insert_with(|| -> Arc<dyn TokenSource> {
                match &self.provider {
                    Provider::Static(token) => Arc::new(StaticSource {
                        token: token.clone(),
                        scope: scope.to_owned(),
                    }),
                    Provider::Credential { credential, method } => Arc::new(CredentialSource {
                        credential: credential.clone(),
                        method,
                        scope: scope.to_owned(),
                    }),
                }
            })
            .clone()
    }
}

/// Sign-in options for azure_identity credentials: the tenant's cloud authority, and a
/// short retry so that a sign-in problem surfaces quickly.
pub(crate) fn client_options(config: &Config) -> ClientOptions {
    ClientOptions {
        // The SDK default retries for up to a minute; one short retry is enough for a
        // transient failure.
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(500),
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(15),
            max_delay: azure_core::time::Duration::seconds(5),
        }),
        cloud: Some(Arc::new(if config.cloud.uses_government_authority() {
            azure_core::cloud::CloudConfiguration::AzureGovernment
        } else {
            azure_core::cloud::CloudConfiguration::AzurePublic
        })),
        ..Default::default()
    }
}

/// The token endpoint of the tenant's authority: the audience of a client assertion.
pub(crate) fn token_endpoint(config: &Config) -> String {
    let authority = if config.cloud.uses_government_authority() {
        "https://login.microsoftonline.us"
    } else {
        "https://login.microsoftonline.com"
    };
    format!("{authority}/{}/oauth2/v2.0/token", config.tenant_id)
}

struct StaticSource {
    token: Secret,
    scope: String,
}

#[async_trait]
impl TokenSource for StaticSource {
    async fn token(&self) -> Result<Secret, AuthError> {
        Ok(self.token.clone())
    }
    fn scope(&self) -> &str {
        &self.scope
    }
}

struct CredentialSource {
    credential: Arc<dyn TokenCredential>,
    method: &'static str,
    scope: String,
}

#[async_trait]
impl TokenSource for CredentialSource {
    async fn token(&self) -> Result<Secret, AuthError> {
        self.credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map(|t| t.token)
            .map_err(|e| AuthError::Token {
                scope: self.scope.clone(),
                method: self.method,
                message: one_line(&e.to_string()),
            })
    }
    fn scope(&self) -> &str {
        &self.scope
    }
}

/// The scope of a Dataverse environment: `{instanceUrl}/.default`
/// (`https://org.crm.dynamics.com/.default`). Without an `instanceUrl` the API host
/// itself is the resource, which Dataverse also accepts (Microsoft's Dataverse Web API authentication docs).
pub fn dataverse_scope(instance_url: Option<&str>, instance_api_url: &str) -> String {
    let base = instance_url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(instance_api_url);
    match url::Url::parse(base) {
        Ok(u) => format!("{}/.default", u.origin().ascii_serialization()),
        Err(_) => format!("{}/.default", base.trim_end_matches('/')),
    }
}

/// An SDK message as one short line: whitespace collapsed, capped.
pub fn one_line(s: &str) -> String {
    let mut out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > 400 {
        out = out.chars().take(400).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::{AccessToken, TokenRequestOptions};

    #[test]
    fn dataverse_scopes() {
        assert_eq!(
            dataverse_scope(
                Some("https://org0fadb1dd.crm.dynamics.com/"),
                "https://org0fadb1dd.api.crm.dynamics.com"
            ),
            "https://org0fadb1dd.crm.dynamics.com/.default"
        );
        assert_eq!(
            dataverse_scope(None, "https://org.api.crm4.dynamics.com/"),
            "https://org.api.crm4.dynamics.com/.default"
        );
    }

    #[derive(Debug)]
    struct Failing;

    #[async_trait]
    impl TokenCredential for Failing {
        async fn get_token(
            &self,
            _scopes: &[&str],
            _options: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "AADSTS700016: Application not found\n  in the directory",
            ))
        }
    }

    #[tokio::test]
    async fn sdk_errors_become_one_line_naming_the_scope() {
        let auth = Auth::from_credential(Arc::new(Failing));
        let err = auth
            .source("https://graph.microsoft.com/.default")
            .token()
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(
            msg.contains("https://graph.microsoft.com/.default"),
            "{msg}"
        );
        assert!(
            msg.contains("AADSTS700016: Application not found in the directory"),
            "{msg}"
        );
    }

    #[test]
    fn static_token_needs_its_variable_and_never_shows_it() {
        let config = Config::new(
            "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15",
            crate::config::Cloud::Public,
            AuthMethod::StaticToken,
        );
        let err = Auth::from_config_with_env(&config, &|_| Some("  ".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the environment variable PALAUDIT_ACCESS_TOKEN is not set or is empty; [auth] method = \"static-token\" needs it"
        );
        let auth = Auth::from_config_with_env(&config, &|n| {
            (n == STATIC_TOKEN_VAR).then(|| "tok-123".to_owned())
        })
        .unwrap();
        assert!(!format!("{auth:?}").contains("tok-123"));

        let config = Config::new(
            "d8d86e5f-13e9-4bb5-bb94-0f99b507cd15",
            crate::config::Cloud::Public,
            AuthMethod::ClientSecret,
        );
        let err = Auth::from_config_with_env(&config, &|n| {
            (n == "AZURE_CLIENT_ID").then(|| "x".to_owned())
        })
        .unwrap_err();
        assert!(err.to_string().contains("AZURE_CLIENT_SECRET"), "{err}");
    }

    #[tokio::test]
    async fn static_tokens_are_shared_and_never_debug_printed() {
        let auth = Auth::static_token("s3cret");
        let a = auth.source("a");
        let t = a.token().await.unwrap();
        assert_eq!(t.secret(), "s3cret");
        assert!(!format!("{t:?} {auth:?}").contains("s3cret"));
        assert!(Arc::ptr_eq(&a, &auth.source("a")));
    }
}
