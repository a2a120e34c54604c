#!/usr/bin/env bash
# Regenerates the corpus of files signed by other tools (docs/validation.md, "Files signed by
# other tools"): a small test PKI, then signatures made the way pyHanko, signxml, xmlsec1 and
# openssl make them, a few broken on purpose, and manifest.toml with the verdict of the
# independent tool for each file, recorded by running that tool here. tests/it/corpus.rs runs
# qsign's validator over every file and compares.
#
# Usage: tests/corpus/regenerate.sh   (from anywhere; needs openssl, xmlsec1 and the venv that
# `make deps-test` creates at $PYHANKO_PYTHON, default /var/tmp/qsign-venv/bin/python)
#
# The keys in pki/ are test keys, committed on purpose. Every run makes new keys and new
# signatures: the files are not meant to be reproducible byte for byte, only the verdicts.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYHANKO_PYTHON:-/var/tmp/qsign-venv/bin/python}"
for tool in openssl xmlsec1 "$PYTHON"; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run make deps-test" >&2; exit 1; }
done

rm -rf pki pdf xml cms manifest.toml pki.srl
mkdir -p pki pdf xml cms
DAYS=9125 # 25 years: the committed corpus outlives many releases.

# --- The PKI: root -> issuing CA -> signers and TSA; a rogue root nobody trusts. ------------
cat > pki/ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[signer]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[tsa]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "pki/$1.key" 2>/dev/null; }
self_signed() { # NAME SUBJECT
  ec_key "$1"
  openssl req -new -x509 -key "pki/$1.key" -subj "$2" -days "$DAYS" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -out "pki/$1.pem"
}
issue() { # NAME SUBJECT ISSUER PROFILE
  openssl req -new -key "pki/$1.key" -subj "$2" -out "pki/$1.csr"
  openssl x509 -req -in "pki/$1.csr" -CA "pki/$3.pem" -CAkey "pki/$3.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days "$DAYS" -sha256 -extfile pki/ext.cnf -extensions "$4" -out "pki/$1.pem" 2>/dev/null
  rm "pki/$1.csr"
}
self_signed root "/C=DK/O=qsign corpus/CN=qsign Corpus Root"
ec_key issuing; issue issuing "/C=DK/O=qsign corpus/CN=qsign Corpus Issuing CA" root ca
ec_key signer; issue signer "/C=DK/O=qsign corpus/CN=Corpus Signer" issuing signer
ec_key signer2; issue signer2 "/C=DK/O=qsign corpus/CN=Corpus Second Signer" issuing signer
# pyHanko's in-process timestamper signs with RSA only.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out pki/tsa.key 2>/dev/null
issue tsa "/C=DK/O=qsign corpus/CN=Corpus TSA" issuing tsa
self_signed rogue-root "/C=DK/O=Elsewhere/CN=Unknown Root"
ec_key rogue; issue rogue "/C=DK/O=Elsewhere/CN=Signer Under An Unknown Root" rogue-root signer

# CRLs of the root and the issuing CA, nothing revoked, valid as long as the certificates.
crl() { # CA
  local db="pki/$1.db"
  mkdir -p "$db"; : > "$db/index.txt"; echo 01 > "$db/crlnumber"
  cat > "$db/ca.cnf" <<CNF
[ca]
default_ca = this
[this]
database = $db/index.txt
crlnumber = $db/crlnumber
default_md = sha256
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
CNF
  openssl ca -gencrl -config "$db/ca.cnf" -keyfile "pki/$1.key" -cert "pki/$1.pem" \
    -crldays "$DAYS" -out "pki/$1.crl.pem" 2>/dev/null
  openssl crl -in "pki/$1.crl.pem" -outform DER -out "pki/$1.crl"
  rm -rf "$db" "pki/$1.crl.pem"
}
crl root
crl issuing
rm pki/ext.cnf

# --- The manifest: one entry per file, with the independent tool's verdict. ----------------
{
  echo "# Files signed by other tools, with the verdict of an independent tool recorded by"
  echo "# regenerate.sh when it made them (tests/it/corpus.rs compares qsign's validator)."
  echo "# verdict: the tool's; revocation: \"embedded\" when the file carries CRLs for its"
  echo "# chain, else \"none\"; case: what was done to a negative file."
} > manifest.toml
record() { # FILE CONTENT TOOL VERDICT REVOCATION CASE
  {
    echo
    echo "[[file]]"
    echo "path = \"$1\""
    [ -n "$2" ] && echo "content = \"$2\""
    echo "tool = \"$3\""
    echo "verdict = \"$4\""
    echo "revocation = \"$5\""
    [ -n "$6" ] && echo "case = \"$6\""
  } >> manifest.toml
  printf '%-34s %-8s (%s)\n' "$1" "$4" "$3"
}
# Flips one byte of FILE at the first occurrence of NEEDLE (in place in the copy OUT).
flip() { # FILE NEEDLE OUT
  "$PYTHON" - "$1" "$2" "$3" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(sys.argv[2].encode())
assert at >= 0, sys.argv[2]
data[at] ^= 0x01
open(sys.argv[3], "wb").write(bytes(data))
PY
}

# --- CMS: openssl cms -sign, attached and detached, with and without -cades. ---------------
printf 'A lease signed with openssl.\n' > cms/content.txt
cms_sign() { # OUT SIGNER KEY CHAIN [OPTIONS...]
  local out=$1 signer=$2 key=$3 chain=$4; shift 4
  openssl cms -sign -binary -md sha256 -outform DER -in cms/content.txt -signer "pki/$signer" \
    -inkey "pki/$key" -certfile "pki/$chain" -out "cms/$out" "$@"
}
cms_verdict() { # FILE [CONTENT]
  local args=(-verify -binary -inform DER -in "$1" -CAfile pki/root.pem -purpose any -out /dev/null)
  [ -n "${2:-}" ] && args+=(-content "$2")
  if openssl cms "${args[@]}" 2>/dev/null; then echo valid; else echo invalid; fi
}
record_cms() { # FILE CONTENT CASE
  record "$1" "$2" "openssl cms -verify" "$(cms_verdict "$1" "$2")" none "$3"
}
cms_sign attached.p7s signer.pem signer.key issuing.pem -nodetach
cms_sign attached-cades.p7s signer.pem signer.key issuing.pem -nodetach -cades
cms_sign detached.p7s signer.pem signer.key issuing.pem
cms_sign detached-cades.p7s signer.pem signer.key issuing.pem -cades
cms_sign unknown-root.p7s rogue.pem rogue.key rogue-root.pem -cades
flip cms/attached-cades.p7s "A lease" cms/attached-cades-flipped.p7s
printf 'A lease signed with openssl.\n' | sed 's/lease/least/' > cms/content-flipped.txt
for f in attached attached-cades; do
  record_cms "cms/$f.p7s" "" ""
done
for f in detached detached-cades; do
  record_cms "cms/$f.p7s" cms/content.txt ""
done
record_cms cms/attached-cades-flipped.p7s "" "flipped byte"
record_cms cms/detached-cades.p7s cms/content-flipped.txt "flipped byte"
record_cms cms/unknown-root.p7s cms/content.txt "unknown root"

# --- XML: xmlsec1 enveloped signatures (exclusive and inclusive C14N). -----------------------
xmlsec_template() { # C14N
  cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<lease xmlns="urn:example:lease" xml:lang="da"><party>Karen Blixen</party><rent currency="DKK">9500</rent><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="$1"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="$1"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature></lease>
XML
}
xml_verdict() { # FILE
  if xmlsec1 --verify --trusted-pem pki/root.pem \
      --id-attr:Id "http://uri.etsi.org/01903/v1.3.2#:SignedProperties" "$1" >/dev/null 2>&1; then
    echo valid
  else
    echo invalid
  fi
}
record_xml() { # FILE CASE
  record "$1" "" "xmlsec1 --verify" "$(xml_verdict "$1")" none "$2"
}
xmlsec_sign() { # OUT C14N KEY CERTS
  xmlsec_template "$2" > "xml/$1.template"
  xmlsec1 --sign --privkey-pem "pki/$3,$4" --output "xml/$1" "xml/$1.template"
  rm "xml/$1.template"
}
xmlsec_sign xmlsec-exclusive.xml "http://www.w3.org/2001/10/xml-exc-c14n#" signer.key pki/signer.pem,pki/issuing.pem
xmlsec_sign xmlsec-inclusive.xml "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" signer.key pki/signer.pem,pki/issuing.pem
xmlsec_sign xmlsec-unknown-root.xml "http://www.w3.org/2001/10/xml-exc-c14n#" rogue.key pki/rogue.pem,pki/rogue-root.pem
flip xml/xmlsec-exclusive.xml "9500" xml/xmlsec-exclusive-flipped.xml

# --- PDF (pyHanko) and XML (signxml), made in Python. --------------------------------------
PYTHONWARNINGS=ignore "$PYTHON" sign.py 2>&1 | grep -v "fetching is not allowed" >&2 || true

for f in xmlsec-exclusive xmlsec-inclusive signxml-exclusive signxml-inclusive xades-signxml; do
  record_xml "xml/$f.xml" ""
done
record_xml xml/signxml-inclusive-xml-lang.xml "inherited xml:lang left out of SignedInfo"
record_xml xml/xmlsec-exclusive-flipped.xml "flipped byte"
record_xml xml/xades-signxml-flipped.xml "flipped byte"
record_xml xml/xmlsec-unknown-root.xml "unknown root"
pdf_verdict() { # FILE
  PYTHONWARNINGS=ignore "$PYTHON" pyhanko_verdict.py pki/root.pem "$1" 2>/dev/null
}
record_pdf() { # FILE REVOCATION CASE
  record "$1" "" "pyHanko validate" "$(pdf_verdict "$1")" "$2" "$3"
}
for f in bb bt blt; do
  rev=none; [ "$f" = blt ] && rev=embedded
  record_pdf "pdf/pyhanko-$f.pdf" "$rev" ""
done
record_pdf pdf/pyhanko-blt-two-signers.pdf embedded ""
record_pdf pdf/pyhanko-bt-flipped.pdf none "flipped byte"
record_pdf pdf/pyhanko-unknown-root.pdf none "unknown root"
echo "corpus size: $(du -sh . | cut -f1)"
