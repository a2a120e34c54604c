"""pyHanko's verdict on a PDF (called by regenerate.sh): prints "valid" when every signature
is intact, its signature value verifies and its signer chains to ROOT (revocation soft-fail,
no fetching: only what the file embeds counts), else "invalid".

Usage: pyhanko_verdict.py ROOT.pem FILE.pdf
"""

import sys

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    root = x509.Certificate.load(pem.unarmor(data)[2] if pem.detect(data) else data)
    with open(sys.argv[2], "rb") as f:
        reader = PdfFileReader(f, strict=False)
        signatures = reader.embedded_regular_signatures
        valid = bool(signatures)
        for sig in signatures:
            context = ValidationContext(
                trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail"
            )
            try:
                status = validate_pdf_signature(sig, context)
                valid = valid and status.bottom_line
            except Exception as e:  # a file pyHanko cannot read is not valid
                print(f"{sig.field_name}: {type(e).__name__}: {e}", file=sys.stderr)
                valid = False
    print("valid" if valid else "invalid")


if __name__ == "__main__":
    main()
