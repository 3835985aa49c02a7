//! `palaudit identities verify`: is each PAL identity of the roster really linked to its
//! partner ID in this customer tenant, and does it hold Azure RBAC roles there?
//!
//! The ManagementPartner API answers only for the identity that calls it ("gets the
//! partner ID of the current authenticated user or service principal"), so a link can be read only for identities palaudit can sign in as: the config's
//! `[auth]` identity (e.g. the `az login` user) and the service principals given in
//! `[[credentials]]`. Every other identity is `cannot_check`, with what would make it
//! checkable. Azure RBAC role assignments are read with the `[auth]` identity for every
//! roster identity whose object id is known.
//!
//! Only reads: `GET` on ARM. It never creates or changes a link; it prints the commands a
//! partner would run to fix each gap.

use crate::auth::{Auth, AuthError, TokenSource, client_options, token_endpoint};
use crate::certificate::CertificateAssertion;
use crate::config::{Config, CredentialSource, IdentityCredential};
use crate::http::paging::LinkPager;
use crate::http::url::{build_url, encode_path_segment};
use crate::http::{ApiRequest, HttpClient, HttpError, HttpSettings};
use base64::Engine;
use palaudit_model::{Identity, IdentityCheck, LinkState, PrincipalKind, RosterCheck};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

const MANAGEMENT_PARTNER: &str = "/providers/Microsoft.ManagementPartner/partners";
const MANAGEMENT_PARTNER_VERSION: &str = "2018-02-01";
const SUBSCRIPTIONS_VERSION: &str = "2022-12-01";
const ROLE_ASSIGNMENTS_VERSION: &str = "2022-04-01";

/// Why the check could not run at all. All of these are bad input or a tenant that
/// cannot be read, and exit 2.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{config}:{line}: credentials for app_id {app_id}: {message}")]
    Credential {
        config: PathBuf,
        line: usize,
        app_id: String,
        message: String,
    },
    #[error(
        "{config}: tenant {tenant_id} cannot be read with this sign-in ({endpoint} -> HTTP {status} {code}): check tenant_id, and that the identity belongs to that tenant"
    )]
    UnknownTenant {
        config: PathBuf,
        tenant_id: String,
        endpoint: String,
        status: u16,
        code: String,
    },
    #[error(
        "{config}: the [auth] sign-in is for tenant {token_tenant}, not for tenant_id {tenant_id}: a PAL link read there says nothing about this tenant"
    )]
    AuditorTenant {
        config: PathBuf,
        tenant_id: String,
        token_tenant: String,
    },
}

/// Checks every roster identity of `config.tenant_id`. `auditor` signs in as the `[auth]`
/// identity; `env` reads environment variables (`token_env` credentials); `config_path`
/// names the config in messages.
pub async fn verify(
    config: &Config,
    config_path: &std::path::Path,
    roster: &[Identity],
    auditor: Auth,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RosterCheck, VerifyError> {
    let http = HttpClient::new(HttpSettings {
        concurrency: config.collect.concurrency,
        ..HttpSettings::default()
    })?;
    let rows: Vec<&Identity> = roster
        .iter()
        .filter(|i| i.tenant_id.eq_ignore_ascii_case(&config.tenant_id))
        .collect();
    let mut checks: Vec<IdentityCheck> = rows.iter().map(|i| unchecked(i, config)).collect();

    // Every credential is read before the first request: a missing secret file or a
    // malformed certificate is bad input, reported at once.
    let mut identity_auths = Vec::with_capacity(config.credentials.len());
    for cred in &config.credentials {
        let auth =
            identity_auth(config, cred, env).map_err(|m| credential_error(config_path, cred, m))?;
        identity_auths.push(auth);
    }

    // 1. The [auth] identity: who it is, and its own link.
    let auditor_source = auditor.source(&config.scopes.arm);
    let who = caller_identity(&*auditor_source).await?;
    // The ManagementPartner API has no tenant in its path: it answers for the token's
    // own tenant. A token of the partner's home tenant would read the wrong link.
    if let Some(tid) = &who.tenant_id
        && !tid.eq_ignore_ascii_case(&config.tenant_id)
    {
        return Err(VerifyError::AuditorTenant {
            config: config_path.to_owned(),
            tenant_id: config.tenant_id.clone(),
            token_tenant: tid.clone(),
        });
    }
    let auditor_link = read_link(&http, config, config_path, auditor_source.clone()).await?;
    let mut checked_as_auditor = false;
    for (row, check) in rows.iter().zip(checks.iter_mut()) {
        if who.is(row) {
            apply_link(
                check,
                row,
                &auditor_link,
                "signed in as the config's [auth] identity",
            );
            checked_as_auditor = true;
        }
    }
    let mut notes = Vec::new();
    if !checked_as_auditor {
        notes.push(format!(
            "the [auth] identity ({}) is not on the roster for this tenant",
            who.describe()
        ));
    }

    // 2. Service principals with a credential of their own.
    for (cred, auth) in config.credentials.iter().zip(identity_auths) {
        let matching: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.principal_type == PrincipalKind::ServicePrincipal
                    && r.app_id
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(&cred.app_id))
            })
            .map(|(i, _)| i)
            .collect();
        if matching.is_empty() {
            notes.push(format!(
                "{}:{}: credentials for app_id {} match no service principal of the roster for this tenant",
                config_path.display(),
                cred.line,
                cred.app_id
            ));
            continue;
        }
        let source = auth.source(&config.scopes.arm);
        // Who the token is for, when it says (a sign-in Entra refuses says nothing here:
        // the link read below records why).
        let sp = caller_identity(&*source).await.ok();
        if let Some(sp) = &sp {
            sp.is_service_principal(&cred.app_id, &config.tenant_id)
                .map_err(|m| credential_error(config_path, cred, m))?;
        }
        let link = read_link(&http, config, config_path, source.clone()).await?;
        for i in matching {
            apply_link(
                &mut checks[i],
                rows[i],
                &link,
                credential_kind(&cred.source),
            );
            if checks[i].object_id.is_none() {
                checks[i].resolved_object_id = sp.as_ref().and_then(|w| w.object_id.clone());
            }
        }
    }

    // 3. Azure RBAC, read by the [auth] identity for every identity with an object id.
    let subscriptions = match list_subscriptions(&http, config, auditor_source.clone()).await {
        Ok(s) => Some(s),
        Err(e) => {
            notes.push(format!("Azure subscriptions could not be listed: {e}"));
            None
        }
    };
    match &subscriptions {
        Some(subs) if subs.is_empty() => notes.push(
            "the [auth] identity sees no Azure subscription in this tenant: RBAC role assignments were not read".into(),
        ),
        Some(subs) => {
            for check in checks.iter_mut() {
                if let Some(oid) = check.object_id.clone().or(check.resolved_object_id.clone())
                    && let Some(scopes) =
                        rbac(&http, config, &auditor_source, subs, &oid, &mut notes).await
                {
                    check.rbac_assignments = Some(scopes.0);
                    check.rbac_scopes = scopes.1;
                }
            }
        }
        None => {}
    }

    Ok(RosterCheck {
        tenant_id: config.tenant_id.clone(),
        checked_at: chrono::Utc::now(),
        subscriptions: subscriptions.map(|s| s.len() as u32),
        notes,
        identities: checks,
    })
}

/// A credential problem, at its `[[credentials]]` line.
fn credential_error(
    config: &std::path::Path,
    cred: &IdentityCredential,
    message: String,
) -> VerifyError {
    VerifyError::Credential {
        config: config.to_owned(),
        line: cred.line,
        app_id: cred.app_id.clone(),
        message,
    }
}

/// `principal`'s Azure role assignments over every subscription: (distinct assignments,
/// their scopes). `None`, with a note, when a subscription could not be read.
async fn rbac(
    http: &HttpClient,
    config: &Config,
    token: &Arc<dyn TokenSource>,
    subscriptions: &[String],
    principal: &str,
    notes: &mut Vec<String>,
) -> Option<(u32, Vec<String>)> {
    // An assignment above the subscriptions (a management group) is listed once per
    // subscription: count each assignment once.
    let mut ids = BTreeSet::new();
    let mut scopes = BTreeSet::new();
    let mut complete = true;
    for sub in subscriptions {
        match role_assignments(http, config, token.clone(), sub, principal).await {
            Ok(found) => {
                for (id, scope) in found {
                    ids.insert(id);
                    scopes.insert(scope);
                }
            }
            Err(e) => {
                complete = false;
                notes.push(format!(
                    "role assignments of {principal} in subscription {sub}: {e}"
                ));
            }
        }
    }
    complete.then(|| (ids.len() as u32, scopes.into_iter().collect()))
}

/// A roster row before any check: `cannot_check`, saying what would make it checkable.
fn unchecked(row: &Identity, config: &Config) -> IdentityCheck {
    let detail = match row.principal_type {
        PrincipalKind::ServicePrincipal => match &row.app_id {
            Some(app) => format!(
                "no credential: add a [[credentials]] entry with app_id = \"{app}\" and its client_secret_file or certificate_file to the config"
            ),
            None => "no credential, and the roster row has no app_id to sign in with".into(),
        },
        PrincipalKind::User => format!(
            "a user's link can be read only while signed in as that user: `az login --tenant {}` as {}, then run verify with [auth] method = \"azure-cli\"",
            config.tenant_id,
            row.upn.as_deref().unwrap_or("the user")
        ),
    };
    IdentityCheck {
        line: row.line,
        partner_id: row.partner_id.clone(),
        principal_type: row.principal_type.as_str().to_owned(),
        object_id: row.object_id.clone(),
        resolved_object_id: None,
        app_id: row.app_id.clone(),
        upn: row.upn.clone(),
        display_name: row.display_name.clone(),
        link_state: LinkState::CannotCheck,
        linked_partner_id: None,
        detail,
        rbac_assignments: None,
        rbac_scopes: Vec::new(),
        fix: Vec::new(),
    }
}

/// The ManagementPartner answer for the calling identity.
enum Link {
    Linked { partner_id: String },
    NotLinked,
    Unreadable(String),
}

fn apply_link(check: &mut IdentityCheck, row: &Identity, link: &Link, how: &str) {
    let tenant = &row.tenant_id;
    let pid = &row.partner_id;
    let login = match row.principal_type {
        PrincipalKind::User => format!("az login --tenant {tenant}"),
        PrincipalKind::ServicePrincipal => format!(
            "az login --service-principal --username {} --tenant {tenant} --password <client secret> (or --certificate <PEM file>)",
            row.app_id.as_deref().unwrap_or("<app id>")
        ),
    };
    let connect = match row.principal_type {
        PrincipalKind::User => format!("Connect-AzAccount -Tenant {tenant}"),
        PrincipalKind::ServicePrincipal => format!(
            "Connect-AzAccount -ServicePrincipal -Tenant {tenant} -Credential (Get-Credential {})",
            row.app_id.as_deref().unwrap_or("<app id>")
        ),
    };
    match link {
        Link::Linked { partner_id } if partner_id == pid => {
            check.link_state = LinkState::Linked;
            check.linked_partner_id = Some(partner_id.clone());
            check.detail = how.to_owned();
            check.fix.clear();
        }
        Link::Linked { partner_id } => {
            check.link_state = LinkState::OtherPartner;
            check.linked_partner_id = Some(partner_id.clone());
            check.detail = format!(
                "{how}; linked to partner ID {partner_id}, the roster says {pid} (PAL wants the associated, location partner ID)"
            );
            check.fix = vec![
                format!("{login} && az managementpartner update --partner-id {pid}"),
                format!("{connect}; Update-AzManagementPartner -PartnerId {pid}"),
            ];
        }
        Link::NotLinked => {
            check.link_state = LinkState::NotLinked;
            check.linked_partner_id = None;
            check.detail = format!("{how}; no partner ID is linked");
            check.fix = vec![
                format!("{login} && az managementpartner create --partner-id {pid}"),
                format!("{connect}; New-AzManagementPartner -PartnerId {pid}"),
            ];
        }
        Link::Unreadable(message) => {
            check.link_state = LinkState::CannotCheck;
            check.detail = format!("{how}; {message}");
        }
    }
}

fn credential_kind(source: &CredentialSource) -> &'static str {
    match source {
        CredentialSource::ClientSecretFile(_) => {
            "signed in as the service principal (client secret)"
        }
        CredentialSource::CertificateFile(_) => "signed in as the service principal (certificate)",
        CredentialSource::TokenEnv(_) => "signed in as the service principal (token_env)",
    }
}

/// Sign-in as one service principal. Errors are bad input (a missing file, a malformed
/// certificate, an unset variable); a secret Entra rejects shows up later as
/// `cannot_check`.
fn identity_auth(
    config: &Config,
    cred: &IdentityCredential,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Auth, String> {
    let tenant = config.tenant_id.clone();
    match &cred.source {
        CredentialSource::TokenEnv(var) => match env(var).map(|v| v.trim().to_owned()) {
            Some(t) if !t.is_empty() => Ok(Auth::static_token(t)),
            _ => Err(format!(
                "token_env: the environment variable {var} is not set or is empty"
            )),
        },
        CredentialSource::ClientSecretFile(path) => {
            let secret = std::fs::read_to_string(path)
                .map_err(|e| format!("client_secret_file {}: {e}", path.display()))?;
            let secret = secret.trim().to_owned();
            crate::secret::remember(&secret);
            if secret.is_empty() {
                return Err(format!("client_secret_file {} is empty", path.display()));
            }
            let credential = azure_identity::ClientSecretCredential::new(
                &tenant,
                cred.app_id.clone(),
                azure_core::credentials::Secret::new(secret),
                Some(azure_identity::ClientSecretCredentialOptions {
                    client_options: client_options(config),
                }),
            )
            .map_err(|e| crate::auth::one_line(&e.to_string()))?;
            Ok(Auth::from_named_credential(credential, "client secret"))
        }
        CredentialSource::CertificateFile(path) => {
            let assertion =
                CertificateAssertion::from_pem_file(path, &cred.app_id, token_endpoint(config))
                    .map_err(|m| format!("certificate_file {m}"))?;
            let credential = azure_identity::ClientAssertionCredential::new(
                tenant,
                cred.app_id.clone(),
                assertion,
                Some(azure_identity::ClientAssertionCredentialOptions {
                    client_options: client_options(config),
                }),
            )
            .map_err(|e| crate::auth::one_line(&e.to_string()))?;
            Ok(Auth::from_named_credential(credential, "certificate"))
        }
    }
}

/// Who a token belongs to, from its (unverified) claims: only used to find the roster
/// row of the signed-in identity, never to trust anything.
#[derive(Debug, Default)]
struct Caller {
    object_id: Option<String>,
    /// Set only for an app-only token (a service principal signed in as itself).
    app_id: Option<String>,
    upn: Option<String>,
    /// The token's tenant (`tid`).
    tenant_id: Option<String>,
}

impl Caller {
    fn is(&self, row: &Identity) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
        eq(&self.object_id, &row.object_id)
            || (row.principal_type == PrincipalKind::ServicePrincipal
                && eq(&self.app_id, &row.app_id))
            || (row.principal_type == PrincipalKind::User
                && matches!((&self.upn, &row.upn), (Some(a), Some(b)) if same_person(a, b)))
    }

    /// Whether this token is the service principal `app_id`'s own, in `tenant_id`: the
    /// reason it is not, otherwise. A token whose claims say nothing passes.
    fn is_service_principal(&self, app_id: &str, tenant_id: &str) -> Result<(), String> {
        if let Some(tid) = &self.tenant_id
            && !tid.eq_ignore_ascii_case(tenant_id)
        {
            return Err(format!(
                "the token is for tenant {tid}, not for tenant_id {tenant_id}"
            ));
        }
        match &self.app_id {
            Some(app) if app.eq_ignore_ascii_case(app_id) => Ok(()),
            Some(app) => Err(format!(
                "the token was issued to application {app}, not to this service principal"
            )),
            None if self.object_id.is_some() => {
                Err("the token is a user's, not this service principal's".into())
            }
            None => Ok(()),
        }
    }

    fn describe(&self) -> String {
        self.upn
            .clone()
            .or_else(|| self.object_id.clone().map(|o| format!("object id {o}")))
            .unwrap_or_else(|| "not identifiable from its token".into())
    }
}

/// Whether a token's user name and a roster UPN name the same person. A guest's token
/// carries the home address (`pat@fabrikam.com`, sometimes as `live.com#pat@…`), the
/// roster the guest UPN of the customer tenant (`pat_fabrikam.com#EXT#@contoso…`).
fn same_person(token_name: &str, roster_upn: &str) -> bool {
    let token_name = if token_name.to_ascii_lowercase().contains("#ext#") {
        token_name
    } else {
        token_name
            .rsplit_once('#')
            .map_or(token_name, |(_, address)| address)
    };
    palaudit_model::ids::upn_match_key(token_name) == palaudit_model::ids::upn_match_key(roster_upn)
}

async fn caller_identity(source: &dyn TokenSource) -> Result<Caller, AuthError> {
    let token = source.token().await?;
    let claims = token
        .secret()
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let Some(claims) = claims else {
        return Ok(Caller::default());
    };
    let claim = |k: &str| {
        claims
            .get(k)
            .and_then(|v| v.as_str())
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
    };
    // A user token names the client app it was issued through in `appid` too; only an
    // app-only token (`idtyp` = app, or neither a user name nor delegated scopes)
    // identifies a service principal by it.
    let upn = claim("upn").or_else(|| claim("unique_name"));
    let app_only = match claim("idtyp").as_deref() {
        Some("app") => true,
        Some(_) => false,
        None => upn.is_none() && claims.get("scp").is_none(),
    };
    Ok(Caller {
        object_id: claim("oid"),
        app_id: if app_only {
            claim("appid").or_else(|| claim("azp"))
        } else {
            None
        },
        upn,
        tenant_id: claim("tid"),
    })
}

async fn read_link(
    http: &HttpClient,
    config: &Config,
    config_path: &std::path::Path,
    token: Arc<dyn TokenSource>,
) -> Result<Link, VerifyError> {
    let url = arm_url(
        config,
        MANAGEMENT_PARTNER,
        &[("api-version", MANAGEMENT_PARTNER_VERSION)],
    )?;
    match http.send(&ApiRequest::get(url).bearer(token)).await {
        Ok(resp) => {
            let body = resp.json()?;
            let pid = body
                .pointer("/properties/partnerId")
                .or_else(|| body.get("name"))
                .and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.trim().to_owned()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            let deleted = body
                .pointer("/properties/state")
                .and_then(|v| v.as_str())
                .is_some_and(|s| s.eq_ignore_ascii_case("Deleted"));
            Ok(match pid {
                _ if deleted => Link::NotLinked,
                Some(p) if !p.is_empty() => Link::Linked { partner_id: p },
                _ => Link::Unreadable(format!("{} answered without a partnerId", resp.endpoint)),
            })
        }
        // No link is a 404 `NotFound`; a 404 of another kind (a wrong [endpoints] arm, a
        // proxy) must not send anyone off to create a link.
        Err(HttpError::Status {
            status: 404, code, ..
        }) if code.as_deref().is_none_or(|c| {
            c.eq_ignore_ascii_case("NotFound") || c.to_ascii_lowercase().contains("partner")
        }) =>
        {
            Ok(Link::NotLinked)
        }
        Err(HttpError::Status {
            endpoint,
            status,
            code: Some(code),
            ..
        }) if is_tenant_error(&code) => Err(VerifyError::UnknownTenant {
            config: config_path.to_owned(),
            tenant_id: config.tenant_id.clone(),
            endpoint: endpoint.to_string(),
            status,
            code,
        }),
        Err(HttpError::Token { source, .. }) => {
            Ok(Link::Unreadable(format!("sign-in failed: {source}")))
        }
        Err(HttpError::Status {
            status, message, ..
        }) => Ok(Link::Unreadable(format!(
            "the ManagementPartner API answered HTTP {status}: {message}"
        ))),
        Err(e) => Ok(Link::Unreadable(e.to_string())),
    }
}

/// An ARM URL. The base URL was validated when the config was read, so this fails only
/// for a path no ARM API has.
fn arm_url(config: &Config, path: &str, query: &[(&str, &str)]) -> Result<url::Url, HttpError> {
    Ok(build_url(&config.endpoints.arm, path, query)?)
}

/// ARM error codes meaning the token's tenant is not the one asked for, or does not
/// exist.
fn is_tenant_error(code: &str) -> bool {
    [
        "InvalidAuthenticationTokenTenant",
        "TenantNotFound",
        "InvalidTenant",
    ]
    .iter()
    .any(|c| code.eq_ignore_ascii_case(c))
}

async fn list_subscriptions(
    http: &HttpClient,
    config: &Config,
    token: Arc<dyn TokenSource>,
) -> Result<Vec<String>, HttpError> {
    let url = arm_url(
        config,
        "/subscriptions",
        &[("api-version", SUBSCRIPTIONS_VERSION)],
    )?;
    let mut pager = LinkPager::new(http, ApiRequest::get(url).bearer(token));
    let mut subs = Vec::new();
    while let Some(page) = pager.next_page().await {
        for item in page?.items {
            if let Some(id) = item.get("subscriptionId").and_then(|v| v.as_str()) {
                subs.push(id.trim().to_ascii_lowercase());
            }
        }
    }
    Ok(subs)
}

/// `principal`'s role assignments seen from one subscription, as (assignment id, scope):
/// at, above and below the subscription (resource groups and resources included).
async fn role_assignments(
    http: &HttpClient,
    config: &Config,
    token: Arc<dyn TokenSource>,
    subscription: &str,
    principal: &str,
) -> Result<Vec<(String, String)>, HttpError> {
    let path = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments",
        encode_path_segment(subscription)
    );
    let filter = format!("principalId eq '{principal}'");
    let url = arm_url(
        config,
        &path,
        &[
            ("api-version", ROLE_ASSIGNMENTS_VERSION),
            ("$filter", &filter),
        ],
    )?;
    let mut pager = LinkPager::new(http, ApiRequest::get(url).bearer(token));
    let mut scopes = Vec::new();
    while let Some(page) = pager.next_page().await {
        for item in page?.items {
            // The filter also returns assignments of groups the principal is in only
            // with `assignedTo()`; `principalId eq` is the principal's own.
            let own = item
                .pointer("/properties/principalId")
                .and_then(|v| v.as_str())
                .is_none_or(|p| p.eq_ignore_ascii_case(principal));
            if own {
                let scope = item
                    .pointer("/properties/scope")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned();
                let id = item
                    .get("id")
                    .and_then(|v| v.as_str())
                    .map(str::to_ascii_lowercase)
                    .unwrap_or_else(|| format!("{scope}#{}", scopes.len()));
                scopes.push((id, scope));
            }
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_token_names_the_roster_guest() {
        let roster = "pat_fabrikam.com#EXT#@contoso.onmicrosoft.com";
        assert!(same_person("pat@fabrikam.com", roster));
        assert!(same_person("live.com#Pat@Fabrikam.com", roster));
        assert!(same_person(
            "PAT_fabrikam.com#ext#@contoso.onmicrosoft.com",
            roster
        ));
        assert!(!same_person("pat@northwind.com", roster));
        assert!(same_person(
            "svc@contoso.onmicrosoft.com",
            "SVC@contoso.onmicrosoft.com"
        ));
    }
}
