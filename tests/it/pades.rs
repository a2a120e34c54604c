//! PAdES: PDFs of every kind (classic cross-reference, object and cross-reference streams,
//! linearized, hybrid, PDF 2.0, earlier incremental updates) signed at B-B, B-T, B-LT and
//! B-LTA with a user key in SoftHSM; every output checked by `pdfsig` (poppler), pyHanko
//! (trusting the service's root) and `qpdf --check`. Also: a visible signature with its
//! embedded font, a certified two-signer contract, tampering, and the refusals.
//!
//! Fixtures are made by the tests: `support::sample_pdf` writes a classic PDF; `qpdf`
//! rewrites it with object streams (`--object-streams=generate`), linearized
//! (`--linearize`), as PDF 2.0 (`--force-version=2.0`) and encrypted (`--encrypt`); the
//! hybrid file and the earlier incremental update are written here, byte by byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use qsign::formats::cms::Level;
use qsign::formats::pades::{self, Options, Visible};
use qsign::formats::pdf::{self, Dict, Object, Pdf, Update};
use qsign::hsm::WrappedKey;
use qsign::pki::Ca;
use serde_json::Value;

use crate::support::{self, run, sample_pdf, Service};

/// The Python with pyHanko (the Makefile makes the venv).
pub(crate) fn python() -> PathBuf {
    std::env::var_os("PYHANKO_PYTHON").map_or_else(
        || PathBuf::from("/var/tmp/qsign-venv/bin/python"),
        PathBuf::from,
    )
}

/// Signs the PDF `from` into `to` with pyHanko (`tests/tools/pyhanko_sign_pem.py`, PAdES B-B)
/// in the field `field`, with the key, certificate and chain of the PEM files `pem`; answers
/// the signed file.
pub(crate) fn pyhanko_sign_pem<P: AsRef<Path>>(
    pem: [P; 3],
    from: &Path,
    to: &Path,
    field: &str,
) -> Vec<u8> {
    let out = run(Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/tools/pyhanko_sign_pem.py"
        ))
        .args(pem.iter().map(AsRef::<Path>::as_ref))
        .args([from, to])
        .arg(field));
    assert!(
        out.status.success(),
        "pyHanko signing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(to).unwrap()
}

fn checker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/pyhanko_check.py")
}

/// A signer: a P-256 key in the HSM and its certificate.
pub(crate) struct Key {
    wrapped: WrappedKey,
    pub(crate) cert: Vec<u8>,
}

pub(crate) async fn key(svc: &Service) -> Key {
    let (wrapped, cert) = support::user_key(svc).await;
    Key { wrapped, cert }
}

/// Signs `pdf` at `level` the way the service does: prepare (from B-LT with the DSS in the
/// same revision), sign the signed attributes' digest in the HSM, CMS (with a signature
/// timestamp from B-T), assemble; B-LTA then through the service's extension (a document
/// timestamp).
pub(crate) async fn sign(
    svc: &Service,
    key: &Key,
    pdf: Vec<u8>,
    options: &Options,
    level: Level,
) -> Vec<u8> {
    let validation = if level >= Level::BLT {
        Some(
            svc.service
                .documents
                .pdf_validation(std::slice::from_ref(&key.cert))
                .await
                .unwrap(),
        )
    } else {
        None
    };
    let out = support::pades_sign(
        svc,
        &key.wrapped,
        &key.cert,
        pdf,
        options,
        level,
        validation.as_ref(),
    )
    .await;
    if level == Level::BLTA {
        svc.service.documents.extend_pdf(out, level).await.unwrap()
    } else {
        out
    }
}

/// `pdfsig` on a file: per signature, whether it is valid and whether it covers the whole
/// document.
pub(crate) fn pdfsig(svc: &Service, pdf: &[u8]) -> (Vec<(bool, bool)>, String) {
    let file = svc.file(&format!("{}.pdf", uuid::Uuid::new_v4()), pdf);
    let out = run(Command::new("pdfsig").arg(&file));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let signatures = text
        .split("Signature #")
        .skip(1)
        .map(|s| {
            (
                s.contains("Signature Validation: Signature is Valid."),
                s.contains("Total document signed"),
            )
        })
        .collect();
    (signatures, text)
}

/// pyHanko's findings (see `tests/tools/pyhanko_check.py`).
async fn pyhanko(svc: &Service, pdf: &[u8], lta: bool) -> Value {
    let root = svc.pki.ca_certificate(Ca::Root).await.unwrap();
    pyhanko_trusting(svc, &root, pdf, lta)
}

/// [`pyhanko`] trusting `root` (DER) alone.
pub(crate) fn pyhanko_trusting(svc: &Service, root: &[u8], pdf: &[u8], lta: bool) -> Value {
    let name = uuid::Uuid::new_v4();
    let root_file = svc.file(&format!("{name}.pem"), support::cert_pem(root).as_bytes());
    let file = svc.file(&format!("{name}.pdf"), pdf);
    let mut cmd = Command::new(python());
    cmd.arg(checker())
        .arg(&root_file)
        .arg(&file)
        .arg("--at")
        .arg((svc.now() + 5).to_string());
    if lta {
        cmd.arg("--lta");
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "pyHanko's Python {} cannot run ({e}): run `make test`",
            python().display()
        )
    });
    assert!(
        out.status.success(),
        "pyHanko check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `qpdf --check`: no errors, no warnings.
fn qpdf_check(svc: &Service, pdf: &[u8]) {
    let file = svc.file(&format!("{}.pdf", uuid::Uuid::new_v4()), pdf);
    let out = run(Command::new("qpdf").arg("--check").arg(&file));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "qpdf --check: {text}");
    assert!(
        text.contains("No syntax or stream encoding errors"),
        "qpdf --check: {text}"
    );
}

/// Runs qpdf over `input` with `args`; answers the output.
fn qpdf(svc: &Service, input: &[u8], args: &[&str]) -> Vec<u8> {
    let name = uuid::Uuid::new_v4();
    let src = svc.file(&format!("{name}-in.pdf"), input);
    let dst = svc.dir.path().join(format!("{name}-out.pdf"));
    let out = run(Command::new("qpdf").args(args).arg(&src).arg(&dst));
    assert!(
        out.status.success() || out.status.code() == Some(3),
        "qpdf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dst).unwrap()
}

/// A hybrid file: a classic table whose trailer's `/XRefStm` names a cross-reference stream
/// for the page, which lives in an object stream.
fn hybrid() -> Vec<u8> {
    let page = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 3 0 R>>>>/Contents 5 0 R>>";
    let text = b"BT /F1 20 Tf 72 760 Td (Hybrid file) Tj ET";
    let mut out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = [0usize; 8];
    let mut put = |out: &mut Vec<u8>, n: usize, body: &[u8]| {
        offsets[n] = out.len();
        out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    put(&mut out, 1, b"<</Type/Catalog/Pages 2 0 R>>");
    put(&mut out, 2, b"<</Type/Pages/Kids[4 0 R]/Count 1>>");
    put(
        &mut out,
        3,
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    );
    put(
        &mut out,
        5,
        &[
            format!("<</Length {}>>\nstream\n", text.len()).as_bytes(),
            text,
            b"\nendstream",
        ]
        .concat(),
    );
    let header = b"4 0 ";
    let objstm = [
        format!(
            "<</Type/ObjStm/N 1/First {}/Length {}>>\nstream\n",
            header.len(),
            header.len() + page.len()
        )
        .as_bytes(),
        header,
        page,
        b"\nendstream",
    ]
    .concat();
    put(&mut out, 6, &objstm);
    put(
        &mut out,
        7,
        b"<</Type/XRef/Size 8/W[1 2 1]/Index[4 1]/Length 4>>\nstream\n\x02\x00\x06\x00\nendstream",
    );
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 8\n0000000000 65535 f\r\n");
    for (n, off) in offsets.iter().enumerate().skip(1) {
        if n == 4 {
            out.extend_from_slice(b"0000000000 00000 f\r\n");
        } else {
            out.extend_from_slice(format!("{off:010} 00000 n\r\n").as_bytes());
        }
    }
    out.extend_from_slice(
        format!(
            "trailer\n<</Size 8/Root 1 0 R/XRefStm {}>>\nstartxref\n{xref}\n%%EOF\n",
            offsets[7]
        )
        .as_bytes(),
    );
    out
}

/// `pdf` with an earlier incremental update (an amendment added to page 1).
fn amended(mut bytes: Vec<u8>) -> Vec<u8> {
    let update = {
        let pdf = Pdf::parse(&bytes).unwrap();
        let (num, mut page) = pdf.page(0).unwrap();
        let mut update = Update::new(&pdf).unwrap();
        let extra = update.allocate();
        update.put_stream(
            extra,
            Dict::default(),
            b"BT /F1 12 Tf 72 600 Td (Amended clause 7.) Tj ET",
        );
        let old = page.get("Contents").cloned().unwrap();
        page.set("Contents", Object::Array(vec![old, Object::Ref(extra, 0)]));
        update.put(num, &Object::Dict(page));
        update
    };
    update.write(&mut bytes);
    bytes
}

/// Every signature valid and intact in pdfsig and pyHanko, the last covering the whole file,
/// and qpdf content. pdfsig (poppler 22) cannot check document timestamps ("Signature Type:
/// unknown"): their tokens go to `openssl ts -verify` over the byte ranges' digest instead.
pub(crate) async fn assert_valid(
    svc: &Service,
    pdf: &[u8],
    count: usize,
    lta: bool,
    what: &str,
) -> Value {
    let (sigs, text) = pdfsig(svc, pdf);
    assert_eq!(sigs.len(), count, "{what}: pdfsig: {text}");
    let ours = pades::signatures(pdf).unwrap();
    let timestamps = ours.iter().filter(|s| s.timestamp).count();
    assert_eq!(
        text.matches("Signature Type: unknown").count(),
        timestamps,
        "{what}: {text}"
    );
    assert_eq!(
        sigs.iter().filter(|(valid, _)| *valid).count(),
        count - timestamps,
        "{what}: pdfsig: {text}"
    );
    assert!(sigs.last().unwrap().1, "{what}: pdfsig: {text}");
    for stamp in ours.iter().filter(|s| s.timestamp) {
        let [a, b, c, d] = <[i64; 4]>::try_from(stamp.byte_range.clone())
            .unwrap()
            .map(|v| usize::try_from(v).unwrap());
        let digest = support::sha256(&[&pdf[a..a + b], &pdf[c..c + d]].concat());
        let token = svc.file(&format!("{}.tst", uuid::Uuid::new_v4()), &stamp.contents);
        let chain = format!(
            "{}{}",
            support::cert_pem(&svc.pki.tsa_certificate().await.unwrap()),
            support::cert_pem(&svc.pki.ca_certificate(Ca::Issuing).await.unwrap())
        );
        let untrusted = svc.file(&format!("{}.pem", uuid::Uuid::new_v4()), chain.as_bytes());
        let root = svc.file(
            &format!("{}.pem", uuid::Uuid::new_v4()),
            support::cert_pem(&svc.pki.ca_certificate(Ca::Root).await.unwrap()).as_bytes(),
        );
        support::ts_verify(&digest, &token, &root, &untrusted);
    }
    let report = pyhanko(svc, pdf, lta).await;
    let found = report["signatures"].as_array().unwrap();
    assert_eq!(found.len(), count, "{what}: pyHanko: {report}");
    for s in found {
        assert_eq!(s["intact"], true, "{what}: pyHanko: {report}");
        assert_eq!(s["valid"], true, "{what}: pyHanko: {report}");
        assert_eq!(s["trusted"], true, "{what}: pyHanko: {report}");
    }
    assert_eq!(
        found.last().unwrap()["coverage"],
        "ENTIRE_FILE",
        "{what}: pyHanko: {report}"
    );
    qpdf_check(svc, pdf);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_pdf_is_signed_at_every_level_and_validates_in_pdfsig_and_pyhanko() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let classic = sample_pdf(2, "1.4", 0);
    let kinds: Vec<(&str, Vec<u8>)> = vec![
        ("classic cross-reference table, PDF 1.4", classic.clone()),
        (
            "object streams and a cross-reference stream",
            qpdf(&svc, &classic, &["--object-streams=generate"]),
        ),
        ("linearized", qpdf(&svc, &classic, &["--linearize"])),
        (
            "PDF 2.0 with object streams",
            qpdf(
                &svc,
                &classic,
                &["--force-version=2.0", "--object-streams=generate"],
            ),
        ),
        ("hybrid (/XRefStm)", hybrid()),
        ("an earlier incremental update", amended(classic.clone())),
    ];
    let levels = [Level::BB, Level::BT, Level::BLT, Level::BLTA];
    for (i, (what, input)) in kinds.iter().enumerate() {
        qpdf_check(&svc, input);
        // Each kind at B-B and B-LTA, and the levels between on alternating kinds.
        for level in [Level::BB, levels[1 + i % 2], Level::BLTA] {
            let what = format!("{what} at {level:?}");
            let signed = sign(&svc, &signer, input.clone(), &Options::default(), level).await;
            assert_eq!(
                &signed[..input.len()],
                input.as_slice(),
                "{what}: original bytes changed"
            );
            assert_eq!(pades::level(&signed).unwrap(), Some(level), "{what}");
            let count = if level == Level::BLTA { 2 } else { 1 };
            let report = assert_valid(&svc, &signed, count, level == Level::BLTA, &what).await;
            let first = &report["signatures"][0];
            assert_eq!(first["timestamp"], false, "{what}: {report}");
            assert_eq!(
                first["signer_timestamp"],
                level >= Level::BT,
                "{what}: {report}"
            );
            if level >= Level::BT {
                assert_eq!(first["signer_timestamp_valid"], true, "{what}: {report}");
            }
            if level >= Level::BLT {
                let dss = &report["dss"];
                assert!(dss["certs"].as_u64().unwrap() >= 5, "{what}: {report}");
                assert!(dss["crls"].as_u64().unwrap() >= 2, "{what}: {report}");
                assert!(dss["ocsps"].as_u64().unwrap() >= 1, "{what}: {report}");
            } else {
                assert!(report["dss"].is_null(), "{what}: {report}");
            }
            if level == Level::BLTA {
                assert_eq!(
                    report["signatures"][1]["timestamp"], true,
                    "{what}: {report}"
                );
                assert_eq!(report["lta"]["indication"], "PASSED", "{what}: {report}");
            }
        }
        // Signatures extended later: B-B to B-T with a document timestamp; B-T to B-LTA (the
        // DSS in a revision of its own, then a document timestamp), and an archive renewal.
        let what = format!("{what} extended");
        let bb = sign(&svc, &signer, input.clone(), &Options::default(), Level::BB).await;
        let stamped = svc
            .service
            .documents
            .extend_pdf(bb.clone(), Level::BT)
            .await
            .unwrap();
        assert_eq!(&stamped[..bb.len()], bb.as_slice());
        assert_eq!(pades::level(&stamped).unwrap(), Some(Level::BT), "{what}");
        assert_valid(&svc, &stamped, 2, false, &what).await;
        let bt = sign(&svc, &signer, input.clone(), &Options::default(), Level::BT).await;
        let lta = svc
            .service
            .documents
            .extend_pdf(bt.clone(), Level::BLTA)
            .await
            .unwrap();
        assert_eq!(&lta[..bt.len()], bt.as_slice());
        assert_eq!(pades::level(&lta).unwrap(), Some(Level::BLTA), "{what}");
        let report = assert_valid(&svc, &lta, 2, true, &what).await;
        assert_eq!(report["lta"]["indication"], "PASSED", "{what}: {report}");
        let renewed = svc
            .service
            .documents
            .extend_pdf(lta, Level::BLTA)
            .await
            .unwrap();
        let report = assert_valid(&svc, &renewed, 3, true, &what).await;
        assert_eq!(report["lta"]["indication"], "PASSED", "{what}: {report}");
        let refused = svc
            .service
            .documents
            .extend_pdf(renewed, Level::BT)
            .await
            .unwrap_err();
        assert_eq!(refused.code.as_str(), "invalid_request");
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visible_signature_embeds_its_font_and_renders_on_the_chosen_page() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let options = Options {
        reason: Some("Tenancy agreement".into()),
        location: Some("København".into()),
        visible: Some(Visible {
            page: 2,
            rect: [300.0, 80.0, 540.0, 150.0],
            signer: "Karen Blixen".into(),
            organisation: Some("Rungstedlund Fonden".into()),
            cvr: Some("12345678".into()),
        }),
        ..Options::default()
    };
    let signed = sign(&svc, &signer, sample_pdf(2, "1.7", 0), &options, Level::BT).await;
    assert_valid(&svc, &signed, 1, false, "visible").await;
    let file = svc.file("visible.pdf", &signed);
    let fonts = run(Command::new("pdffonts")
        .arg("-f")
        .arg("2")
        .arg("-l")
        .arg("2")
        .arg(&file));
    let fonts = String::from_utf8_lossy(&fonts.stdout).into_owned();
    let line = fonts
        .lines()
        .find(|l| l.contains("DejaVuSans"))
        .unwrap_or_else(|| panic!("no DejaVu Sans on page 2: {fonts}"));
    assert!(
        line.contains("TrueType") && line.contains(" yes "),
        "{fonts}"
    );
    // Page 2 rendered: the box (light blue) is drawn inside the rectangle, the rest of that
    // band is white; page 1 has no box.
    let prefix = svc.dir.path().join("page");
    let out = run(Command::new("pdftoppm")
        .args(["-r", "72", "-gray", "-f", "2", "-l", "2"])
        .arg(&file)
        .arg(&prefix));
    assert!(out.status.success());
    let pgm = std::fs::read_dir(svc.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("page"))
        .unwrap();
    let image = std::fs::read(pgm).unwrap();
    let (width, pixels) = parse_pgm(&image);
    // PDF y runs up from the bottom (842 points high); the image's rows run down.
    let at = |x: usize, y_pdf: usize| pixels[(842 - y_pdf) * width + x];
    // The border is drawn along the rectangle's top edge...
    let border: Vec<u8> = (310..530)
        .step_by(10)
        .map(|x| (148..=151).map(|y| at(x, y)).min().unwrap())
        .collect();
    assert!(
        border.iter().all(|p| *p < 250),
        "no border drawn: {border:?}"
    );
    // ...but the box is not filled: most of it stays as transparent as the page, so it can
    // never hide content under it.
    let blank = (85..145)
        .flat_map(|y| (305..535).map(move |x| (x, y)))
        .filter(|(x, y)| at(*x, *y) > 250)
        .count();
    assert!(
        blank > 60 * 230 / 2,
        "the box is filled ({blank} blank pixels)"
    );
    let dark = (85..145)
        .flat_map(|y| (305..535).map(move |x| (x, y)))
        .filter(|(x, y)| at(*x, *y) < 128)
        .count();
    assert!(dark > 200, "no text in the appearance ({dark} dark pixels)");
    let outside: Vec<u8> = (20..280).step_by(10).map(|x| at(x, 120)).collect();
    assert!(outside.iter().all(|p| *p > 250), "{outside:?}");
    svc.stop().await;
}

/// Width and pixels of a binary PGM (P5, 8 bits).
fn parse_pgm(image: &[u8]) -> (usize, &[u8]) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while image[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !image[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&image[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    (fields[1].parse().unwrap(), &image[i + 1..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certified_contract_signed_by_two_keeps_both_signatures_valid_and_tampering_fails() {
    let svc = Service::start().await;
    let (first, second) = (key(&svc).await, key(&svc).await);
    let contract = sample_pdf(3, "1.7", 0);
    let certified = sign(
        &svc,
        &first,
        contract,
        &Options {
            certify: true,
            reason: Some("Landlord".into()),
            ..Options::default()
        },
        Level::BT,
    )
    .await;
    // Certifying again is refused: a certification signature must come first.
    assert!(matches!(
        pades::prepare(
            certified.clone(),
            &Options {
                certify: true,
                ..Options::default()
            },
            0,
            None
        ),
        Err(pades::Error::Options(_))
    ));
    // A new visible field would change a page, which the certification does not permit.
    let visible = Options {
        visible: Some(Visible {
            page: 3,
            rect: [60.0, 60.0, 260.0, 110.0],
            signer: "Isak Dinesen".into(),
            organisation: None,
            cvr: None,
        }),
        ..Options::default()
    };
    assert!(matches!(
        pades::prepare(certified.clone(), &visible, 0, None),
        Err(pades::Error::Options(_))
    ));
    let both = sign(
        &svc,
        &second,
        certified.clone(),
        &Options {
            reason: Some("Tenant".into()),
            ..Options::default()
        },
        Level::BLTA,
    )
    .await;
    assert_eq!(&both[..certified.len()], certified.as_slice());
    let report = assert_valid(&svc, &both, 3, false, "two signers").await;
    let sigs = report["signatures"].as_array().unwrap();
    // The certification allows the later signature and the LTA additions.
    assert_eq!(sigs[0]["docmdp_ok"], true, "{report}");
    assert_eq!(sigs[0]["bottom_line"], true, "{report}");
    assert_eq!(sigs[1]["bottom_line"], true, "{report}");
    assert_eq!(pades::signatures(&both).unwrap().len(), 3);

    // One byte changed inside the first signature's range (the page text): invalid for both.
    let mut tampered = both.clone();
    let at = find(&tampered, b"Tenancy agreement, page 1").unwrap();
    tampered[at] = b'P';
    let (sigs, text) = pdfsig(&svc, &tampered);
    assert!(
        !sigs.is_empty() && sigs.iter().all(|(valid, _)| !valid),
        "{text}"
    );
    let report = pyhanko(&svc, &tampered, false).await;
    for s in report["signatures"].as_array().unwrap() {
        assert!(s["intact"] == false || s.get("error").is_some(), "{report}");
    }
    // A byte changed in the last revision only: the earlier signatures stay valid, the newest
    // (the document timestamp) fails.
    let mut tail = both.clone();
    let at = tail
        .windows(13)
        .rposition(|w| w == b"Adobe.PPKLite")
        .unwrap();
    tail[at] = b'B';
    let (sigs, text) = pdfsig(&svc, &tail);
    assert!(!sigs.last().unwrap().0, "{text}");
    svc.stop().await;
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_pdfs_get_their_own_codes_and_never_a_panic() {
    let svc = Service::start().await;
    let classic = sample_pdf(1, "1.7", 0);
    let code = |bytes: Vec<u8>| {
        pades::prepare(bytes, &Options::default(), 0, None)
            .unwrap_err()
            .code()
    };
    assert_eq!(code(b"PK\x03\x04 a zip file".to_vec()), "not_pdf");
    assert_eq!(code(Vec::new()), "not_pdf");
    let encrypted = qpdf(&svc, &classic, &["--encrypt", "user", "owner", "256", "--"]);
    assert_eq!(code(encrypted), "pdf_encrypted");
    // A cross-reference whose offsets point into the middle of other objects.
    let broken = {
        let xref = find(&classic, b"xref\n").unwrap();
        let table = String::from_utf8(classic[xref..].to_vec()).unwrap();
        let shifted: Vec<String> = table
            .split('\n')
            .map(|line| match line.strip_suffix(" 00000 n\r") {
                Some(offset) => format!("{:010} 00000 n\r", offset.parse::<usize>().unwrap() + 3),
                None => line.to_owned(),
            })
            .collect();
        [&classic[..xref], shifted.join("\n").as_bytes()].concat()
    };
    assert_eq!(code(broken), "pdf_malformed");
    let no_startxref = classic[..classic.len() - 30].to_vec();
    assert_eq!(code(no_startxref), "pdf_malformed");
    // Certified with no changes allowed (P = 1).
    let locked = {
        let mut bytes = classic.clone();
        let update = {
            let pdf = Pdf::parse(&bytes).unwrap();
            let mut catalog = pdf.catalog().unwrap();
            let mut update = Update::new(&pdf).unwrap();
            let sig = update.allocate();
            let params = Dict::of(vec![("P", Object::Int(1))]);
            let reference = Dict::of(vec![
                ("TransformMethod", Object::name("DocMDP")),
                ("TransformParams", Object::Dict(params)),
            ]);
            update.put(
                sig,
                &Object::Dict(Dict::of(vec![
                    ("Type", Object::name("Sig")),
                    ("Reference", Object::Array(vec![Object::Dict(reference)])),
                ])),
            );
            catalog.set(
                "Perms",
                Object::Dict(Dict::of(vec![("DocMDP", Object::Ref(sig, 0))])),
            );
            update.put(pdf.root().unwrap(), &Object::Dict(catalog));
            update
        };
        update.write(&mut bytes);
        bytes
    };
    assert_eq!(code(locked), "pdf_no_changes_allowed");
    // Every truncation and many single-byte corruptions of a valid file: an error or a
    // result, never a panic.
    let objstm = qpdf(&svc, &classic, &["--object-streams=generate"]);
    for input in [&classic, &objstm] {
        for cut in (0..input.len()).step_by(7) {
            let _ = pades::prepare(input[..cut].to_vec(), &Options::default(), 0, None);
        }
        for at in (0..input.len()).step_by(3) {
            let mut bad = input.clone();
            bad[at] ^= 0x5a;
            if let Ok(prepared) = pades::prepare(bad, &Options::default(), 0, None) {
                let _ = pades::assemble(prepared, &[0x30, 0]);
            }
            let _ = pdf::Pdf::parse(input);
        }
    }
    svc.stop().await;
}

/// What a signer approves for a PDF signed with `options`, base64: the approval digest.
pub(crate) fn approval(pdf: &[u8], options: &Options) -> String {
    let sha: [u8; 32] = support::sha256(pdf).try_into().unwrap();
    crate::signing::b64(&pades::approval_digest(&sha, options))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_doc_signs_pdfs_at_b_lt_and_b_lta_with_the_csc_field_names() {
    use crate::signing::{authorize_totp, b64, credential, csc, hashes_of, person, unb64};
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    // Log in on the previous TOTP step, so that the activation below uses a fresh code with
    // the service's clock back on the machine's (pyHanko's LTA checks use the real time).
    svc.clock.advance(-30);
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let contract = sample_pdf(2, "1.7", 0);
    let annex = qpdf(
        &svc,
        &sample_pdf(1, "1.5", 0),
        &["--object-streams=generate"],
    );
    svc.clock.advance(30);
    // The signer approves each document with its options: the contract with a reason, a place
    // and a visible box on page 2, the annex as a certification.
    let contract_options = Options {
        reason: Some("Tenant".into()),
        location: Some("Aarhus".into()),
        visible: Some(Visible {
            page: 2,
            rect: [320.0, 60.0, 560.0, 120.0],
            signer: String::new(),
            organisation: None,
            cvr: None,
        }),
        ..Options::default()
    };
    let annex_options = Options {
        certify: true,
        ..Options::default()
    };
    let approved = vec![
        approval(&contract, &contract_options),
        approval(&annex, &annex_options),
    ];
    assert_ne!(approved, hashes_of(&[&contract, &annex]));
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &approved, 2, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    // The attack: the application changes what the signer approved after the approval (the
    // reason, the place of the box, the certification, or adds a contact). Each is refused,
    // and the SAD stays unspent.
    for (changed, what) in [
        (
            serde_json::json!({"reason": "Tenant pays 100 DKK", "location": "Aarhus",
                               "visible": {"page": 2, "rect": [320, 60, 560, 120]}}),
            "reason",
        ),
        (
            serde_json::json!({"reason": "Tenant", "location": "Aarhus",
                               "visible": {"page": 1, "rect": [50, 700, 560, 790]}}),
            "rectangle",
        ),
        (
            serde_json::json!({"reason": "Tenant", "location": "Aarhus", "contact_info": "x",
                               "visible": {"page": 2, "rect": [320, 60, 560, 120]}}),
            "contact",
        ),
    ] {
        let request = serde_json::json!({
            "credentialID": advanced,
            "SAD": auth["SAD"],
            "documents": [
                {"document": b64(&contract), "signature_format": "P",
                 "conformance_level": "Ades-B-LT", "signed_envelope_property": "Revision",
                 "qsign_pdf": changed},
                {"document": b64(&annex), "signature_format": "P",
                 "conformance_level": "Ades-B-LTA", "signed_envelope_property": "Certification"},
            ],
        });
        let (status, body) = csc(&svc, "signatures/signDoc", &token, &request).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("hash_not_authorized")),
            "a changed {what} was signed: {body}"
        );
    }
    let uncertified = serde_json::json!({
        "credentialID": advanced,
        "SAD": auth["SAD"],
        "documents": [
            {"document": b64(&contract), "signature_format": "P",
             "conformance_level": "Ades-B-LT", "signed_envelope_property": "Revision",
             "qsign_pdf": {"reason": "Tenant", "location": "Aarhus",
                           "visible": {"page": 2, "rect": [320, 60, 560, 120]}}},
            {"document": b64(&annex), "signature_format": "P",
             "conformance_level": "Ades-B-LTA", "signed_envelope_property": "Revision"},
        ],
    });
    let (status, body) = csc(&svc, "signatures/signDoc", &token, &uncertified).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("hash_not_authorized")),
        "a dropped certification was signed: {body}"
    );
    let request = serde_json::json!({
        "credentialID": advanced,
        "SAD": auth["SAD"],
        "documents": [
            {"document": b64(&contract), "signature_format": "P",
             "conformance_level": "Ades-B-LT", "signed_envelope_property": "Revision",
             "qsign_pdf": {"reason": "Tenant", "location": "Aarhus",
                           "visible": {"page": 2, "rect": [320, 60, 560, 120]}}},
            {"document": b64(&annex), "signature_format": "P",
             "conformance_level": "Ades-B-LTA", "signed_envelope_property": "Certification"},
        ],
    });
    let (status, signed) = csc(&svc, "signatures/signDoc", &token, &request).await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["SignatureObject"].as_array().unwrap().len(), 0);
    let lt = unb64(&signed["DocumentWithSignature"][0]);
    let lta = unb64(&signed["DocumentWithSignature"][1]);
    assert_eq!(&lt[..contract.len()], contract.as_slice());
    assert_eq!(pades::level(&lt).unwrap(), Some(Level::BLT));
    assert_eq!(pades::level(&lta).unwrap(), Some(Level::BLTA));
    // B-LT in one revision: the signature covers the whole file.
    let report = assert_valid(&svc, &lt, 1, false, "signDoc B-LT").await;
    assert_eq!(
        report["signatures"][0]["signer_timestamp_valid"], true,
        "{report}"
    );
    assert!(report["dss"]["ocsps"].as_u64().unwrap() >= 1, "{report}");
    let report = assert_valid(&svc, &lta, 2, true, "signDoc B-LTA certified").await;
    assert_eq!(report["lta"]["indication"], "PASSED", "{report}");
    assert_eq!(report["signatures"][0]["docmdp_ok"], true, "{report}");
    // The name is the certificate's, whatever the client sent.
    let found = pades::signatures(&lt).unwrap();
    assert_eq!(found[0].name.as_deref(), Some("Karen Blixen"));
    // The SAD is spent.
    crate::signing::refused(
        &csc(&svc, "signatures/signDoc", &token, &request).await,
        400,
        "sad_used",
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_flow_signs_a_pdf_visibly_forgets_it_and_extends_it_later() {
    use crate::signing::{authorize_totp, credential, person, refused, unb64};
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    // Log in two TOTP steps back, so that the two activations below use fresh codes with the
    // service's clock back on the machine's (pyHanko's LTA checks use the real time).
    svc.clock.advance(-60);
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let http = reqwest::Client::new();
    let send = |request: reqwest::RequestBuilder| async move {
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, r.bytes().await.unwrap().to_vec())
    };
    let json = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
    let upload = |body: Vec<u8>, query: &str| {
        http.post(svc.url(&format!("/v1/documents?{query}")))
            .bearer_auth(&token)
            .body(body)
    };
    let contract = sample_pdf(1, "1.7", 0);

    // Refusals at upload, each with its code.
    for (body, query, code) in [
        (b"not a pdf".to_vec(), "format=pades", "not_pdf"),
        (
            qpdf(&svc, &contract, &["--encrypt", "u", "o", "256", "--"]),
            "format=pades",
            "pdf_encrypted",
        ),
        (
            contract.clone(),
            "format=pades&page=4&rect=1,1,100,50",
            "invalid_request",
        ),
        (
            contract.clone(),
            "format=pades&rect=1,1,a,50",
            "invalid_request",
        ),
    ] {
        let (status, _, body) = send(upload(body, query)).await;
        refused(&(status, json(&body)), 400, code);
    }

    let (status, _, body) = send(upload(
        contract.clone(),
        "format=pades&level=B-T&reason=Lease&location=Odense&page=1&rect=300,60,560,130",
    ))
    .await;
    let uploaded = json(&body);
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(unb64(&uploaded["sha256"]), support::sha256(&contract));
    // What the signer approves: the document with its options, shown as text.
    let text = uploaded["approval"].as_str().unwrap();
    assert!(
        text.contains("reason=\"Lease\"") && text.contains("visible=page 1 rect 300 60 560 130"),
        "{text}"
    );
    assert_ne!(uploaded["digest"], uploaded["sha256"]);
    let id = uploaded["id"].as_str().unwrap().to_owned();
    assert!(uploaded["expires_at"].as_i64().unwrap() <= svc.now() + 900);
    // An approval of the bare document does not sign it with the options it was uploaded with.
    svc.clock.advance(30);
    let bare = vec![uploaded["sha256"].as_str().unwrap().to_owned()];
    let (status, auth) = authorize_totp(&svc, &token, &advanced, &bare, 1, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let (status, _, body) = send(
        http.post(svc.url(&format!("/v1/documents/{id}/sign")))
            .bearer_auth(&token)
            .json(&serde_json::json!({"credentialID": advanced, "SAD": auth["SAD"]})),
    )
    .await;
    refused(&(status, json(&body)), 400, "hash_not_authorized");
    svc.clock.advance(30);
    let hashes = vec![uploaded["digest"].as_str().unwrap().to_owned()];
    let (status, auth) =
        authorize_totp(&svc, &token, &advanced, &hashes, 1, &karen.code(&svc)).await;
    assert_eq!(status, 200, "{auth}");
    let (status, _, body) = send(
        http.post(svc.url(&format!("/v1/documents/{id}/sign")))
            .bearer_auth(&token)
            .json(&serde_json::json!({"credentialID": advanced, "SAD": auth["SAD"]})),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // The uploaded content is dropped once signed; the signed result waits for download.
    let row = svc
        .store
        .document(&id, &karen_person(&svc, "karen").await, svc.now())
        .await
        .unwrap()
        .unwrap();
    assert!(row.content.is_empty() && row.signed.is_some());
    let download = || {
        http.get(svc.url(&format!("/v1/documents/{id}/signed")))
            .bearer_auth(&token)
    };
    let (status, kind, signed) = send(download()).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert_eq!(pades::level(&signed).unwrap(), Some(Level::BT));
    assert_valid(&svc, &signed, 1, false, "native B-T visible").await;
    let found = pades::signatures(&signed).unwrap();
    assert_eq!(found[0].name.as_deref(), Some("Karen Blixen"));

    // Extended to B-LTA over the API.
    let extend = |body: Vec<u8>, level: &str| {
        http.post(svc.url(&format!("/v1/pdf/extend?level={level}")))
            .bearer_auth(&token)
            .body(body)
    };
    let (status, kind, lta) = send(extend(signed.clone(), "B-LTA")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert_eq!(&lta[..signed.len()], signed.as_slice());
    let report = assert_valid(&svc, &lta, 2, true, "native extended").await;
    assert_eq!(report["lta"]["indication"], "PASSED", "{report}");
    let (status, _, body) = send(extend(contract.clone(), "B-LTA")).await;
    refused(&(status, json(&body)), 400, "invalid_request");
    let (status, _, body) = send(extend(b"GIF89a".to_vec(), "B-LTA")).await;
    refused(&(status, json(&body)), 400, "not_pdf");
    let (status, _, body) = send(extend(lta.clone(), "B-T")).await;
    refused(&(status, json(&body)), 400, "invalid_request");

    // Deleted on request; then gone.
    let (status, _, _) = send(
        http.delete(svc.url(&format!("/v1/documents/{id}")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, body) = send(download()).await;
    refused(&(status, json(&body)), 404, "not_found");

    // Another upload expires after the lifetime and is deleted by the next upload.
    let (_, _, body) = send(upload(contract.clone(), "format=pades")).await;
    let old = json(&body)["id"].as_str().unwrap().to_owned();
    svc.clock.advance(901);
    let later = karen.login(&svc, true).await;
    let (status, _, _) = send(
        http.post(svc.url("/v1/documents?format=pades"))
            .bearer_auth(&later)
            .body(contract.clone()),
    )
    .await;
    assert_eq!(status, 201);
    let person = karen_person(&svc, "karen").await;
    assert!(svc
        .store
        .document(&old, &person, 0)
        .await
        .unwrap()
        .is_none());
    svc.stop().await;
}

/// A person's id by username.
async fn karen_person(svc: &Service, username: &str) -> String {
    svc.store
        .person_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// The number of OCSP responses in a PDF's DSS.
fn dss_ocsps(pdf: &[u8]) -> usize {
    let parsed = Pdf::parse(pdf).unwrap();
    let catalog = parsed.catalog().unwrap();
    let dss = parsed.dict(catalog.get("DSS")).unwrap();
    match dss.get("OCSPs").map(|o| parsed.resolve(o).unwrap()) {
        Some(Object::Array(a)) => a.len(),
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extending_answers_each_own_signer_once_and_no_foreign_one() {
    let svc = Service::start().await;
    let other = Service::start().await;
    let signer = key(&svc).await;
    let stranger = key(&other).await;
    // Two signatures by one signer and one by a signer of another CA.
    let mut pdf = sample_pdf(1, "1.7", 0);
    for _ in 0..2 {
        pdf = sign(&svc, &signer, pdf, &Options::default(), Level::BB).await;
    }
    pdf = sign(&other, &stranger, pdf, &Options::default(), Level::BB).await;
    let extended = svc
        .service
        .documents
        .extend_pdf(pdf, Level::BLT)
        .await
        .unwrap();
    assert_eq!(
        dss_ocsps(&extended),
        1,
        "one OCSP response: the own signer, once"
    );
    // A PDF with more signatures than an extension takes is refused before any HSM work.
    let mut many = sample_pdf(1, "1.7", 0);
    for _ in 0..101 {
        many = sign(&svc, &signer, many, &Options::default(), Level::BB).await;
    }
    // Validation takes at most as many: each hashes up to the whole file.
    let unusable = svc
        .service
        .validation
        .validate_file(&many, None, &[])
        .await
        .unwrap_err();
    assert_eq!(unusable.code.as_str(), "unusable_input", "{unusable:?}");
    let before = svc.hsm.stats().operations;
    let refused = svc
        .service
        .documents
        .extend_pdf(many, Level::BLT)
        .await
        .unwrap_err();
    assert_eq!(refused.code.as_str(), "invalid_request", "{refused:?}");
    assert_eq!(svc.hsm.stats().operations, before, "the HSM was asked");
    other.stop().await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_box_of_any_size_is_drawn_at_a_fixed_size() {
    let svc = Service::start().await;
    // A 14400 x 14400 pt page (the largest PDF allows): the old 50 dpi drawing needed
    // hundreds of megabytes; now it is scaled to 600 pixels.
    let pdf = String::from_utf8_lossy(&sample_pdf(1, "1.7", 0))
        .replace("/MediaBox[0 0 595 842]", "/MediaBox[0 0 14400 14400]")
        .into_bytes();
    let principal = qsign::identity::Principal {
        person: qsign::types::PersonId::random(),
        loa: qsign::identity::loa::Loa::Substantial,
        amr: vec!["pwd".into(), "otp".into()],
        jti: "j".into(),
        exp: svc.now() + 60,
        auth_time: svc.now(),
        authorization_details: None,
        external: false,
        client_id: None,
    };
    // The offsets of the cross-reference shift with the longer MediaBox: let qpdf repair.
    let pdf = qpdf(&svc, &pdf, &[]);
    let uploaded = svc
        .service
        .documents
        .upload_document(
            &principal,
            pdf,
            qsign::service::Format::Pades,
            Level::BB,
            &Options::default(),
        )
        .await
        .unwrap();
    let png = svc
        .service
        .documents
        .document_page(&principal, &uploaded.id, 1)
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(width <= 600 && height <= 600, "{width} x {height}");
    svc.stop().await;
}
