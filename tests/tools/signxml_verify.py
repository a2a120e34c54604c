"""Verifies an XAdES signature with signxml, given only the root certificate (as a verifier has
it): the signature must carry the rest of its chain in ds:KeyInfo.

Usage: signxml_verify.py SIGNED.xml ROOT.pem
Prints OK and exits 0 when every reference and the signature verify and the signer's
certificate chains to the root; prints the reason and exits 1 otherwise.

signxml's default policy for the signer's certificate asks for the digitalSignature key usage
(as web PKI does); a certificate for electronic signatures under EN 319 412-2 sets
nonRepudiation (contentCommitment), which is what this check asks for instead.
"""

import sys

from cryptography import x509
from signxml import SignatureConfiguration
from signxml.xades import XAdESVerifier


def commitment(policy, cert, key_usage):
    if not key_usage.content_commitment:
        raise ValueError("certificate KeyUsage does not allow contentCommitment")


def main():
    signed_path, root_path = sys.argv[1:3]
    with open(signed_path, "rb") as f:
        signed = f.read()
    ee_policy = x509.verification.ExtensionPolicy.permit_all().require_present(
        x509.KeyUsage, x509.verification.Criticality.AGNOSTIC, commitment
    )
    try:
        results = XAdESVerifier().verify(
            signed,
            ca_pem_file=root_path,
            expect_config=SignatureConfiguration(expect_references=2),
            ee_policy=ee_policy,
        )
    except Exception as e:  # the reason is what the test reports
        print(f"FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"OK ({len(results)} references)")


if __name__ == "__main__":
    main()
