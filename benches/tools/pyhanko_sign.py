"""pyHanko signing a PDF with a P-256 key in SoftHSM, for `cargo bench --bench pades`.

Usage: pyhanko_sign.py MODULE TOKEN_LABEL PIN FILE.pdf RUNS

Generates a P-256 key pair on the token, certifies its public key with a throwaway CA (in
memory), then signs FILE.pdf RUNS times in this process (PAdES B-B, ETSI.CAdES.detached, by
incremental update) and prints the median and each run in milliseconds as JSON. Interpreter
start-up and key set-up are outside the timing.
"""

import datetime
import io
import json
import statistics
import sys
import time

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, KeyType
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.pkcs11 import PKCS11Signer


def main():
    module, label, pin, path, runs = sys.argv[1:6]
    session = pkcs11.lib(module).get_token(token_label=label).open(user_pin=pin, rw=True)
    params = session.create_domain_parameters(
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
    )
    public, _private = params.generate_keypair(store=True, label="pyhanko-bench")
    spki = serialization.load_der_public_key(encode_ec_public_key(public))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("pyHanko bench signer"))
        .issuer_name(name("pyHanko bench CA"))
        .public_key(spki)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
        .sign(ca_key, hashes.SHA256())
    )
    signing_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    # SoftHSM has no CKM_ECDSA_SHA256: pyHanko hashes and the token signs the digest (CKM_ECDSA),
    # as qsign does.
    signer = PKCS11Signer(
        session, signing_cert=signing_cert, key_label="pyhanko-bench", use_raw_mechanism=True
    )
    with open(path, "rb") as f:
        data = f.read()
    meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=SigSeedSubFilter.PADES)
    times = []
    for _ in range(int(runs)):
        start = time.perf_counter()
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        out = signers.sign_pdf(writer, meta, signer=signer)
        out.getvalue()
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"median_ms": statistics.median(times), "runs_ms": times}))


if __name__ == "__main__":
    main()
