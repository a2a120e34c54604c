"""Signs a PDF with pyHanko (PAdES B-B) using a PEM key and certificate, for the validation tests.

Usage: pyhanko_sign_pem.py KEY.pem CERT.pem CHAIN.pem IN.pdf OUT.pdf [FIELD]
"""

import sys

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter


def main():
    key, cert, chain, src, dst = sys.argv[1:6]
    field = sys.argv[6] if len(sys.argv) > 6 else "Signature1"
    signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
    meta = signers.PdfSignatureMetadata(field_name=field, subfilter=SigSeedSubFilter.PADES)
    with open(src, "rb") as f:
        writer = IncrementalPdfFileWriter(f)
        with open(dst, "wb") as out:
            signers.sign_pdf(writer, meta, signer=signer, output=out)


if __name__ == "__main__":
    main()
