"""Signs the corpus's PDFs with pyHanko and its XML with signxml (called by regenerate.sh).

pyHanko: PAdES B-B, B-T (timestamps from pyHanko's in-process DummyTimeStamper with the corpus
TSA's key: no network), B-LT (validation data in the DSS from the corpus CRLs, no fetching),
B-LT by two signers (the second in a later revision), a B-T file with one signed byte flipped,
and a B-B signature by a certificate under a root nobody trusts. signxml: enveloped XML-DSig
with exclusive and inclusive C14N (and inclusive over an inherited xml:lang, which
signxml leaves out of SignedInfo), and XAdES B-B (with a copy with one signed byte flipped).
"""

import io
import os

from asn1crypto import crl as asn1_crl
from asn1crypto import keys, pem, x509
from lxml import etree
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator import ValidationContext
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, SignatureMethod
from signxml.xades import XAdESSigner

HERE = os.path.dirname(os.path.abspath(__file__))


def path(*parts):
    return os.path.join(HERE, *parts)


def read(*parts):
    with open(path(*parts), "rb") as f:
        return f.read()


def der(data):
    return pem.unarmor(data)[2] if pem.detect(data) else data


def cert(name):
    return x509.Certificate.load(der(read("pki", name + ".pem")))


def tiny_pdf():
    """A one-page PDF with one line of text and a classic cross-reference table."""
    text = b"BT /F1 14 Tf 72 760 Td (Lease of Rungstedlund, rent 9500 DKK) Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]"
        b"/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
        b"<</Length %d>>\nstream\n%s\nendstream" % (len(text), text),
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n\r\n" % offset
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_sign(source, out, key, signer_cert, chain, field, timestamper=None, lt=False):
    signer = signers.SimpleSigner.load(
        path("pki", key), path("pki", signer_cert), ca_chain_files=(path("pki", chain),)
    )
    meta = {"field_name": field, "subfilter": SigSeedSubFilter.PADES}
    if lt:
        meta["embed_validation_info"] = True
        meta["validation_context"] = ValidationContext(
            trust_roots=[cert("root")],
            crls=[asn1_crl.CertificateList.load(read("pki", n)) for n in ("root.crl", "issuing.crl")],
            allow_fetching=False,
        )
    writer = IncrementalPdfFileWriter(io.BytesIO(source))
    signed = signers.sign_pdf(
        writer, signers.PdfSignatureMetadata(**meta), signer=signer, timestamper=timestamper
    ).getvalue()
    with open(path("pdf", out), "wb") as f:
        f.write(signed)
    return signed


def flip(data, needle):
    at = data.index(needle)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def pdfs():
    tsa = timestamps.DummyTimeStamper(
        tsa_cert=cert("tsa"),
        tsa_key=keys.PrivateKeyInfo.load(der(read("pki", "tsa.key"))),
        certs_to_embed=[cert("issuing")],
    )
    source = tiny_pdf()
    mine = ("signer.key", "signer.pem", "issuing.pem")
    pdf_sign(source, "pyhanko-bb.pdf", *mine, "Signature1")
    bt = pdf_sign(source, "pyhanko-bt.pdf", *mine, "Signature1", timestamper=tsa)
    lt = pdf_sign(source, "pyhanko-blt.pdf", *mine, "Signature1", timestamper=tsa, lt=True)
    pdf_sign(
        lt,
        "pyhanko-blt-two-signers.pdf",
        "signer2.key",
        "signer2.pem",
        "issuing.pem",
        "Signature2",
        timestamper=tsa,
        lt=True,
    )
    with open(path("pdf", "pyhanko-bt-flipped.pdf"), "wb") as f:
        f.write(flip(bt, b"rent 9500"))
    pdf_sign(source, "pyhanko-unknown-root.pdf", "rogue.key", "rogue.pem", "rogue-root.pem", "Signature1")


def xml():
    key = read("pki", "signer.key")
    chain = [read("pki", "signer.pem").decode(), read("pki", "issuing.pem").decode()]
    # Namespaces in scope (a default one and a prefix the signature does not use).
    document = (
        b'<lease xmlns="urn:example:lease" xmlns:app="urn:example:app">'
        b'<party>Karen Blixen</party><app:rent currency="DKK">9500</app:rent></lease>'
    )
    # The same with xml:lang on the root: inclusive C14N carries it into SignedInfo, which
    # signxml leaves out when it signs (signxml accepts its own signature; xmlsec1 does not).
    with_lang = document.replace(b'xmlns:app="urn:example:app"', b'xmlns:app="urn:example:app" xml:lang="da"')

    def write(name, signed):
        with open(path("xml", name), "wb") as f:
            f.write(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))

    for name, method, source in [
        ("signxml-exclusive.xml", CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0, with_lang),
        ("signxml-inclusive.xml", CanonicalizationMethod.CANONICAL_XML_1_0, document),
        ("signxml-inclusive-xml-lang.xml", CanonicalizationMethod.CANONICAL_XML_1_0, with_lang),
    ]:
        signer = XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256, c14n_algorithm=method)
        write(name, signer.sign(etree.fromstring(source), key=key, cert=chain))
    # XAdES B-B with signxml's default, inclusive C14N 1.1.
    xades = XAdESSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256)
    write("xades-signxml.xml", xades.sign(etree.fromstring(document), key=key, cert=chain))
    with open(path("xml", "xades-signxml-flipped.xml"), "wb") as f:
        f.write(flip(read("xml", "xades-signxml.xml"), b"9500"))


if __name__ == "__main__":
    pdfs()
    xml()
