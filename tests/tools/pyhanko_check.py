"""Validates every signature of a PDF with pyHanko, trusting one root, and prints JSON.

Usage: pyhanko_check.py ROOT.pem FILE.pdf [--lta] [--at UNIX]

For each signature (and document timestamp), in file order: the field, whether it is a
document timestamp, intact (digest matches), valid (signature verifies), trusted (chain to
the root), the coverage and modification level pyHanko finds, the DocMDP verdict, and the
attributes claimed in CAdES signer-attributes-v2 as pyHanko decodes them (attribute type ->
values, e.g. "role" -> RoleSyntax with its directoryName; null without the attribute). Then
whether the document security store is there and what it holds; with --lta, the AdES LTA
validation of the newest signature (indication and sub-indication). Fetching is off: only
what the file embeds counts. --at sets the validation time (the service under test may run
ahead of this machine's clock).
"""

import asyncio
import json
import sys

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
from pyhanko_certvalidator import ValidationContext


def load_root(path):
    with open(path, "rb") as f:
        data = f.read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)


def at():
    if "--at" in sys.argv:
        from datetime import datetime, timezone

        return datetime.fromtimestamp(int(sys.argv[sys.argv.index("--at") + 1]), timezone.utc)
    return None


def context(root):
    return ValidationContext(
        trust_roots=[root],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=at(),
    )


def lta(sig, root):
    from pyhanko.sign.validation import ades
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevocationInfoGatheringSpec,
        RevinfoOnlineFetchingRule,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.authority import CertTrustAnchor
    from pyhanko_certvalidator.registry import SimpleTrustManager

    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[root]),
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(
                ee_certificate_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
                intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
            )
        ),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
            ),
        )
    )
    timing = None
    if at() is not None:
        from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

        timing = ValidationTimingInfo(
            validation_time=at(), best_signature_time=at(), point_in_time_validation=False
        )
    result = asyncio.run(ades.ades_lta_validation(sig, spec, timing_info=timing))
    return {
        "indication": str(result.ades_subindic.status.name)
        if result.ades_subindic
        else "PASSED",
        "subindication": str(result.ades_subindic.name) if result.ades_subindic else None,
    }


def claimed_attributes(status):
    """The claimed attributes of signer-attributes-v2 as pyHanko decodes them."""
    found = getattr(status, "cades_signer_attrs", None)
    if found is None or found.claimed_attrs is None:
        return None
    out = {}
    for info in found.claimed_attrs:
        values = []
        for value in info.attr_values:
            try:
                values.append(value.native)
            except Exception as e:  # reported, never raised: the caller asserts on it
                values.append(f"undecodable: {type(e).__name__}: {e}")
        out[info.attr_type.native] = values
    return out


def main():
    root = load_root(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        reader = PdfFileReader(f, strict=False)
        out = {"signatures": []}
        for sig in reader.embedded_signatures:
            timestamp = sig.sig_object_type == "/DocTimeStamp"
            entry = {"field": sig.field_name, "timestamp": timestamp}
            try:
                if timestamp:
                    status = validate_pdf_timestamp(sig, validation_context=context(root))
                else:
                    status = validate_pdf_signature(sig, context(root))
                entry.update(
                    intact=bool(status.intact),
                    valid=bool(status.valid),
                    trusted=bool(status.trusted),
                    coverage=status.coverage.name if status.coverage else None,
                    modification=status.modification_level.name
                    if status.modification_level
                    else None,
                    docmdp_ok=status.docmdp_ok,
                    bottom_line=bool(getattr(status, "bottom_line", status.valid)),
                )
                if not timestamp:
                    entry["claimed_attributes"] = claimed_attributes(status)
                    entry["signer_timestamp"] = status.timestamp_validity is not None
                    if status.timestamp_validity is not None:
                        entry["signer_timestamp_valid"] = bool(
                            status.timestamp_validity.valid
                            and status.timestamp_validity.intact
                        )
            except Exception as e:  # reported, never raised: the caller asserts on it
                entry["error"] = f"{type(e).__name__}: {e}"
            out["signatures"].append(entry)
        try:
            dss = DocumentSecurityStore.read_dss(reader)
            out["dss"] = {
                "certs": len(dss.certs),
                "crls": len(dss.crls),
                "ocsps": len(dss.ocsps),
            }
        except NoDSSFoundError:
            out["dss"] = None
        if "--lta" in sys.argv:
            regular = [s for s in reader.embedded_signatures if s.sig_object_type != "/DocTimeStamp"]
            try:
                out["lta"] = lta(regular[-1], root)
            except Exception as e:
                out["lta"] = {"error": f"{type(e).__name__}: {e}"}
    # default=str: decoded ASN.1 values may hold bytes or dates.
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
