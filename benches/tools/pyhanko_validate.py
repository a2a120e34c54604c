"""pyHanko validating a signed PDF, for `cargo bench --bench validate`.

Usage: pyhanko_validate.py ROOT.pem FILE.pdf RUNS

Validates every signature of FILE.pdf RUNS times in this process (reader, integrity,
signature, chain to ROOT, revocation from what the file embeds, difference analysis) and
prints the median and each run in milliseconds as JSON; interpreter start-up and reading the
file are outside the timing. The benchmark also runs it with RUNS=1 as a whole process and
times it from outside (Python start and imports included), beside `qsign verify` run the same
way.
"""

import io
import json
import statistics
import sys
import time

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main():
    root_path, path, runs = sys.argv[1:4]
    with open(root_path, "rb") as f:
        data = f.read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    root = x509.Certificate.load(data)
    with open(path, "rb") as f:
        pdf = f.read()
    times = []
    for _ in range(int(runs)):
        start = time.perf_counter()
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        for sig in reader.embedded_regular_signatures:
            vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
            status = validate_pdf_signature(sig, vc)
            assert status.intact and status.valid, status
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"median_ms": statistics.median(times), "runs_ms": times}))


if __name__ == "__main__":
    main()
