//! `BottleCa`: the per-bottle CA that bottle makes itself at launch (rcgen: an ECDSA P-256
//! key and a self-signed CA certificate), checked the way any CA is ([`CaCert`],
//! x509-parser). The certificate goes to the agent; certificate and key together go to
//! mitmproxy only, by name, through the docker child's environment (`MITM_CA_ENV`), so a
//! restarted mitmproxy signs with the same CA the agent already trusts. I/O: the clock and
//! the system's randomness only; the key is never written anywhere.

use crate::launch::ca_cert::CaCert;
use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::time::{Duration, SystemTime};

/// How long the CA is valid: far longer than a session, short enough that a copy of the
/// certificate left somewhere soon means nothing (the key dies with the session anyway).
const VALID_DAYS: u32 = 90;
/// Backdated by a day: an agent whose clock lags the host's still accepts it.
const BACKDATE_DAYS: u32 = 1;
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The bottle's CA, made for one launch.
pub struct BottleCa {
    /// The certificate alone, checked: what the agent trusts and the fingerprint shown.
    pub cert: CaCert,
    /// The private key (PKCS#8) and the certificate, PEM: mitmproxy's `mitmproxy-ca.pem`.
    /// Secret: only ever in memory and in mitmproxy's environment and tmpfs.
    pub key_and_cert: String,
}

impl std::fmt::Debug for BottleCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BottleCa")
            .field("cert", &self.cert)
            .field("key_and_cert", &"(secret)")
            .finish()
    }
}

impl BottleCa {
    /// A new CA for the bottle `bottle_id`, valid from a day ago for [`VALID_DAYS`].
    pub fn generate(bottle_id: &str) -> Result<BottleCa> {
        BottleCa::generate_at(bottle_id, SystemTime::now())
    }

    fn generate_at(bottle_id: &str, now: SystemTime) -> Result<BottleCa> {
        let key = KeyPair::generate().context("cannot generate the bottle's CA key")?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, format!("bot-bottle CA {bottle_id}"));
        name.push(DnType::OrganizationName, "bot-bottle");
        params.distinguished_name = name;
        // No intermediate: mitmproxy signs leaf certificates with it directly.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = (now - DAY * BACKDATE_DAYS).into();
        params.not_after = (now + DAY * VALID_DAYS).into();
        let cert = params
            .self_signed(&key)
            .context("cannot sign the bottle's CA certificate")?;
        let cert_pem = cert.pem();
        let checked = CaCert::from_pem(&cert_pem).context("the CA bottle generated")?;
        Ok(BottleCa {
            cert: checked,
            key_and_cert: format!("{}{cert_pem}", key.serialize_pem()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_ca_is_a_checked_ca_whose_key_stays_apart() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
        let ca = BottleCa::generate_at("0123abcd", now).unwrap();
        assert_eq!(ca.cert.subject, "CN=bot-bottle CA 0123abcd, O=bot-bottle");
        assert!(!ca.cert.pem.contains("PRIVATE KEY"));
        assert!(ca.key_and_cert.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(ca.key_and_cert.ends_with(&ca.cert.pem));
        // What mitmproxy reads is a key and the very certificate the agent trusts.
        let (_, pem) = x509_parser::pem::parse_x509_pem(ca.cert.pem.as_bytes()).unwrap();
        let cert = pem.parse_x509().unwrap();
        let validity = cert.validity();
        assert_eq!(
            validity.not_before.timestamp(),
            1_780_000_000 - 24 * 60 * 60
        );
        assert_eq!(
            validity.not_after.timestamp(),
            1_780_000_000 + 90 * 24 * 60 * 60
        );
        let usage = cert.key_usage().unwrap().unwrap().value;
        assert!(usage.key_cert_sign() && usage.crl_sign());
        assert!(!format!("{ca:?}").contains("PRIVATE"));
        // Two bottles never share a CA.
        let other = BottleCa::generate_at("0123abcd", now).unwrap();
        assert_ne!(other.cert.fingerprint, ca.cert.fingerprint);
    }
}
