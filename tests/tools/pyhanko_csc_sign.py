"""Signs a PDF through a CSC service with pyHanko's own CSC client, unmodified
(pyhanko.sign.signers.csc_signer: CSCSigner, CSCServiceSessionInfo, CSCAuthorizationInfo),
as PAdES B-B.

Usage: pyhanko_csc_sign.py SERVICE_URL API_VERSION TOKEN CREDENTIAL_ID IN.pdf OUT.pdf

pyHanko reads the credential's certificates with credentials/info and signs with
signatures/signHash, both under SERVICE_URL/csc/API_VERSION/ (v1 or v2), with the bearer TOKEN.
The SAD comes from the caller, as pyHanko leaves it to its user: once pyHanko knows the hash
to sign, this script prints `HASHES <JSON list of base64 hashes>` on stdout and reads a line
`SAD <sad>` from stdin (the test gets that SAD from the service's credentials/authorize).
"""

import asyncio
import json
import sys

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import csc_signer


class AskingAuthorizationManager(csc_signer.CSCAuthorizationManager):
    """Hands the hashes to the caller and takes the SAD it obtained for exactly them."""

    async def authorize_signature(self, hash_b64s):
        print("HASHES " + json.dumps(hash_b64s), flush=True)
        line = sys.stdin.readline().strip()
        if not line.startswith("SAD "):
            raise SigningError("no SAD from the caller")
        return csc_signer.CSCAuthorizationInfo(sad=line[len("SAD "):])


async def main():
    url, version, token, credential, src, dst = sys.argv[1:7]
    session_info = csc_signer.CSCServiceSessionInfo(
        service_url=url,
        credential_id=credential,
        oauth_token=token,
        api_ver=version,
    )
    async with aiohttp.ClientSession() as session:
        info = await csc_signer.fetch_certs_in_csc_credential(session, session_info)
        manager = AskingAuthorizationManager(session_info, info)
        signer = csc_signer.CSCSigner(session, manager)
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1", subfilter=SigSeedSubFilter.PADES
        )
        with open(src, "rb") as f:
            writer = IncrementalPdfFileWriter(f)
            with open(dst, "wb") as out:
                await signers.async_sign_pdf(writer, meta, signer=signer, output=out)


if __name__ == "__main__":
    asyncio.run(main())
