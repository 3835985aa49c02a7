//! Certificate sign-in for a service principal without OpenSSL: the certificate's private
//! key signs a client assertion (a JWT, RS256) that Entra ID exchanges for a token
//! (azure_identity's `ClientAssertionCredential`).
//!
//! The PEM file holds the certificate and its unencrypted PKCS#8 RSA private key, as
//! `az ad sp create-for-rbac --create-cert` writes them. The key never leaves this
//! module and is never printed; errors say what is wrong with the file, not what is in it.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use azure_core::http::ClientMethodOptions;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;

/// A certificate credential's signing half.
pub struct CertificateAssertion {
    key: Arc<RsaKeyPair>,
    /// `x5t#S256`: base64url SHA-256 thumbprint of the DER certificate.
    thumbprint_s256: String,
    /// `x5t`: base64url SHA-1 thumbprint, for tenants that still ask for it.
    thumbprint_sha1: String,
    client_id: String,
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` (or the sovereign
    /// authority's): the assertion's audience.
    audience: String,
}

impl std::fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("client_id", &self.client_id)
            .field("x5t#S256", &self.thumbprint_s256)
            .finish_non_exhaustive()
    }
}

impl CertificateAssertion {
    /// Reads `path`: the first certificate and the PKCS#8 RSA private key in it.
    pub fn from_pem_file(
        path: &Path,
        client_id: &str,
        audience: String,
    ) -> Result<CertificateAssertion, String> {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        CertificateAssertion::from_pem(&pem, client_id, audience)
            .map_err(|m| format!("{}: {m}", path.display()))
    }

    pub fn from_pem(
        pem: &[u8],
        client_id: &str,
        audience: String,
    ) -> Result<CertificateAssertion, String> {
        let cert = CertificateDer::from_pem_slice(pem).map_err(|e| {
            format!("no PEM certificate (`-----BEGIN CERTIFICATE-----`) could be read: {e}")
        })?;
        let key = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|e| {
            format!(
                "no unencrypted PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`) could be read: {e}"
            )
        })?;
        let key = RsaKeyPair::from_pkcs8(key.secret_pkcs8_der())
            .map_err(|e| format!("the private key is not a usable RSA key: {e}"))?;
        // The certificate carries its public key (SubjectPublicKeyInfo holds the DER
        // RSAPublicKey); a key that is not the certificate's would only fail at sign-in.
        let public = key.public_key().as_ref().to_vec();
        if !cert
            .as_ref()
            .windows(public.len())
            .any(|w| w == public.as_slice())
        {
            return Err("the private key does not belong to the certificate".into());
        }
        let s256 = digest::digest(&digest::SHA256, cert.as_ref());
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert.as_ref());
        Ok(CertificateAssertion {
            key: Arc::new(key),
            thumbprint_s256: URL_SAFE_NO_PAD.encode(s256.as_ref()),
            thumbprint_sha1: URL_SAFE_NO_PAD.encode(sha1.as_ref()),
            client_id: client_id.to_owned(),
            audience,
        })
    }

    /// A signed assertion valid for ten minutes from `now` (seconds since the epoch).
    pub fn assertion_at(&self, now: i64) -> Result<String, String> {
        let header = serde_json::json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t": self.thumbprint_sha1,
            "x5t#S256": self.thumbprint_s256,
        });
        let claims = serde_json::json!({
            "aud": self.audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": format!("{:032x}", rand::random::<u128>()),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the client assertion failed".to_owned())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[async_trait::async_trait]
impl azure_identity::ClientAssertion for CertificateAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.assertion_at(chrono::Utc::now().timestamp())
            .map_err(|m| {
                azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, m)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_files_are_named_without_their_contents() {
        let e = CertificateAssertion::from_pem(b"not a pem file", "app", "aud".into()).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
        let only_cert =
            b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
        let e = CertificateAssertion::from_pem(only_cert, "app", "aud".into()).unwrap_err();
        assert!(e.contains("private key"), "{e}");
        let bad_key = b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n";
        let e = CertificateAssertion::from_pem(bad_key, "app", "aud".into()).unwrap_err();
        assert!(e.contains("not a usable RSA key"), "{e}");
        assert!(!e.contains("c2VjcmV0"), "{e}");
        let e =
            CertificateAssertion::from_pem_file(Path::new("/nonexistent/sp.pem"), "a", "b".into())
                .unwrap_err();
        assert!(e.starts_with("cannot read /nonexistent/sp.pem"), "{e}");
    }

    #[test]
    fn signs_an_rs256_assertion_the_certificate_key_verifies() {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/credentials/test-sp.pem");
        let a = CertificateAssertion::from_pem_file(
            &path,
            "4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d",
            "https://login.microsoftonline.com/t/oauth2/v2.0/token".into(),
        )
        .unwrap();
        let jwt = a.assertion_at(1_800_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["x5t#S256"].as_str().unwrap().len(),
            43,
            "32 bytes base64url"
        );
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "4e2b3c1d-6a7f-4b8e-9c0d-1e2f3a4b5c6d");
        assert_eq!(claims["sub"], claims["iss"]);
        assert_eq!(claims["exp"], 1_800_000_600);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let public =
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, a.key.public_key().as_ref());
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
        assert!(public.verify(b"tampered", &signature).is_err());
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/credentials/mismatched-sp.pem");
        let e = CertificateAssertion::from_pem_file(&path, "app", "aud".into()).unwrap_err();
        assert!(
            e.ends_with("the private key does not belong to the certificate"),
            "{e}"
        );
    }
}
