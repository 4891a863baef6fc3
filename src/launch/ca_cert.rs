//! `CaCert`: the bottle's CA certificate as the agent gets it (bottle made it:
//! `bottle_ca`), parsed with x509-parser, refused unless it is one CA certificate with no
//! private key beside it, and fingerprinted with SHA-256. Pure.

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCert {
    /// The certificate alone, PEM-encoded, as installed in the agent.
    pub pem: String,
    /// SHA-256 of the DER, as `AB:CD:…`.
    pub fingerprint: String,
    pub subject: String,
}

impl CaCert {
    /// A PEM certificate, checked.
    pub fn from_pem(text: &str) -> Result<CaCert> {
        if text.contains("PRIVATE KEY") {
            bail!(
                "refusing the CA file: it contains a private key, which must never leave mitmproxy"
            );
        }
        let (rest, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes())
            .map_err(|e| anyhow::anyhow!("the CA file is not a PEM certificate: {e}"))?;
        if pem.label != "CERTIFICATE" {
            bail!(
                "the CA file holds a {:?} block, not a CERTIFICATE",
                pem.label
            );
        }
        if String::from_utf8_lossy(rest).contains("-----BEGIN") {
            bail!("the CA file holds more than one PEM block; expected exactly one certificate");
        }
        let cert = pem
            .parse_x509()
            .map_err(|e| anyhow::anyhow!("the CA certificate does not parse: {e}"))?;
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca);
        if !is_ca {
            bail!(
                "refusing the certificate `{}`: it is not a CA certificate (basicConstraints CA:TRUE missing)",
                cert.subject()
            );
        }
        let digest = Sha256::digest(&pem.contents);
        let fingerprint = digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let pem_text = text
            .split_inclusive('\n')
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
            .collect::<String>();
        Ok(CaCert {
            pem: pem_text,
            fingerprint,
            subject: cert.subject().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = include_str!("../../tests/fixtures/ca-cert.pem");
    const LEAF: &str = include_str!("../../tests/fixtures/leaf-cert.pem");
    const CA_WITH_KEY: &str = include_str!("../../tests/fixtures/ca-with-key.pem");

    #[test]
    fn accepts_a_ca_and_fingerprints_it_like_openssl() {
        let ca = CaCert::from_pem(CA).unwrap();
        // openssl x509 -in tests/fixtures/ca-cert.pem -noout -fingerprint -sha256
        assert_eq!(
            ca.fingerprint,
            "67:6A:35:8F:8A:1C:C4:A8:97:6E:02:48:FB:A9:E5:91:3C:4F:8C:09:CB:35:80:82:64:47:EC:70:CD:D8:2C:40"
        );
        assert!(ca.subject.contains("bot-bottle fixture CA"));
    }

    #[test]
    fn refuses_leaf_certificates_keys_and_garbage() {
        let leaf = CaCert::from_pem(LEAF).unwrap_err().to_string();
        assert!(leaf.contains("not a CA certificate"), "{leaf}");
        let key = CaCert::from_pem(CA_WITH_KEY).unwrap_err().to_string();
        assert!(key.contains("private key"), "{key}");
        assert!(CaCert::from_pem("hello").is_err());
        assert!(CaCert::from_pem(&format!("{CA}{CA}")).is_err());
    }
}
