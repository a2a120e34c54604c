//! Validation: qsign's own PAdES and CAdES signatures pass at the level they claim (and pyHanko
//! agrees); signatures made by openssl (`cms -sign -cades`) and pyHanko with a key of their own
//! under qsign's CA pass too; the PDF attacks get their indications, never a panic.

use std::process::Command;

use qsign::formats::cms::Level;
use qsign::formats::pades::{self, Options};
use qsign::formats::pdf::{Dict, Object, Pdf, Update};
use qsign::validate::{Indication, Report, SubIndication};

use crate::pades::{assert_valid, key, sign};
use crate::support::{self, run, sample_pdf, Service};

/// A one-page sample PDF signed by `signer` at `level`.
async fn one_page(svc: &Service, signer: &crate::pades::Key, level: Level) -> Vec<u8> {
    sign(
        svc,
        signer,
        sample_pdf(1, "1.7", 0),
        &Options::default(),
        level,
    )
    .await
}

async fn validate(svc: &Service, file: &[u8], content: Option<&[u8]>) -> Report {
    svc.service
        .validation
        .validate_file(file, content, &[])
        .await
        .unwrap()
}

fn only(report: &Report) -> (Indication, Option<SubIndication>, Option<String>) {
    let s = report.signatures.first().unwrap();
    (s.indication, s.sub_indication, s.level.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qsign_pades_signatures_pass_at_their_levels_and_pyhanko_agrees() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    for level in [Level::BB, Level::BT, Level::BLT, Level::BLTA] {
        let pdf = sign(
            &svc,
            &signer,
            sample_pdf(1, "1.7", 0),
            &Options::default(),
            level,
        )
        .await;
        let report = validate(&svc, &pdf, None).await;
        let name = qsign::service::level_name(level);
        let first = &report.signatures[0];
        assert_eq!(
            first.indication,
            Indication::TotalPassed,
            "{name}: {report:?}"
        );
        assert_eq!(first.level.as_deref(), Some(name), "{report:?}");
        assert_eq!(
            first.signer.as_ref().unwrap().name.as_deref(),
            Some("Karen Blixen")
        );
        assert_eq!(first.revocation, "good");
        assert!(first
            .coverage
            .as_ref()
            .unwrap()
            .later_changes
            .iter()
            .all(|c| c.allowed));
        if level >= Level::BT {
            assert!(first.proven_signing_time.is_some(), "{report:?}");
        }
        assert_eq!(report.overall(), Indication::TotalPassed, "{report:?}");
        // The independent validator agrees.
        assert_valid(&svc, &pdf, report.signatures.len(), false, name).await;
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_tools_signatures_under_qsigns_ca_pass() {
    let svc = Service::start().await;
    // A key made by openssl, certified by qsign's CA.
    let dir = svc.dir.path();
    let key_file = dir.join("other.key");
    assert!(run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out"
        ])
        .arg(&key_file))
    .status
    .success());
    let spki = run(Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&key_file))
    .stdout;
    let subject = qsign::pki::Subject::NaturalPerson(qsign::pki::NaturalPerson {
        given_name: "Isak".into(),
        family_name: "Dinesen".into(),
        person_id: qsign::types::PersonId::random(),
        country: "DK".into(),
        qualified: false,
    });
    let issued = svc
        .pki
        .issue(&spki, &subject, &qsign::audit::Context::system(), svc.now())
        .await
        .unwrap();
    let cert_file = svc.file("other.pem", support::cert_pem(&issued.der).as_bytes());
    let issuing = svc
        .pki
        .ca_certificate(qsign::pki::Ca::Issuing)
        .await
        .unwrap();
    let chain_file = svc.file("issuing.pem", support::cert_pem(&issuing).as_bytes());

    // openssl cms -sign -cades, detached.
    let content = b"A contract signed by openssl.";
    let content_file = svc.file("content.txt", content);
    let sig_file = dir.join("openssl.p7s");
    let out = run(Command::new("openssl")
        .args([
            "cms", "-sign", "-cades", "-binary", "-md", "sha256", "-outform", "DER", "-in",
        ])
        .arg(&content_file)
        .arg("-signer")
        .arg(&cert_file)
        .arg("-inkey")
        .arg(&key_file)
        .arg("-certfile")
        .arg(&chain_file)
        .arg("-out")
        .arg(&sig_file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cms = std::fs::read(&sig_file).unwrap();
    let report = validate(&svc, &cms, Some(content)).await;
    assert_eq!(
        only(&report),
        (Indication::TotalPassed, None, Some("B-B".into())),
        "{report:?}"
    );
    assert_eq!(
        report.signatures[0]
            .signer
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("Isak Dinesen")
    );
    // The wrong content: hash failure.
    let report = validate(&svc, &cms, Some(b"another text")).await;
    assert_eq!(report.signatures[0].indication, Indication::TotalFailed);
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::HashFailure)
    );

    // pyHanko signs a PDF with the same key and certificate.
    let pyhanko_sign = |from: &std::path::Path, to: &std::path::Path, field: &str| {
        crate::pades::pyhanko_sign_pem([&key_file, &cert_file, &chain_file], from, to, field)
    };
    let pdf_in = svc.file("in.pdf", &sample_pdf(1, "1.7", 0));
    let pdf_out = dir.join("pyhanko.pdf");
    let pdf = pyhanko_sign(&pdf_in, &pdf_out, "Signature1");
    let report = validate(&svc, &pdf, None).await;
    assert_eq!(only(&report).0, Indication::TotalPassed, "{report:?}");
    // A second pyHanko signature: its revision also updates the document's metadata, which
    // leaves the first signature intact.
    let pdf = pyhanko_sign(&pdf_out, &dir.join("pyhanko-twice.pdf"), "Signature2");
    let report = validate(&svc, &pdf, None).await;
    assert_eq!(report.signatures.len(), 2, "{report:?}");
    assert_eq!(report.overall(), Indication::TotalPassed, "{report:?}");
    svc.stop().await;
}

/// `pdf` with an incremental update made by `change` (objects put into the update).
fn amend(mut bytes: Vec<u8>, change: impl FnOnce(&Pdf<'_>, &mut Update)) -> Vec<u8> {
    let update = {
        let pdf = Pdf::parse(&bytes).unwrap();
        let mut update = Update::new(&pdf).unwrap();
        change(&pdf, &mut update);
        update
    };
    update.write(&mut bytes);
    bytes
}

/// Writes object `num` as an XMP metadata stream holding `data` and points the catalog's
/// `/Metadata` at it.
fn put_xmp(pdf: &Pdf<'_>, update: &mut Update, num: u32, data: &[u8]) {
    update.put_stream(
        num,
        Dict::of(vec![
            ("Type", Object::name("Metadata")),
            ("Subtype", Object::name("XML")),
        ]),
        data,
    );
    let mut catalog = pdf.catalog().unwrap();
    catalog.set("Metadata", Object::Ref(num, 0));
    update.put(pdf.root().unwrap(), &Object::Dict(catalog));
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdf_attacks_get_their_indications() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let signed = sign(
        &svc,
        &signer,
        sample_pdf(2, "1.7", 0),
        &Options::default(),
        Level::BT,
    )
    .await;
    let first = |r: &Report| (r.signatures[0].indication, r.signatures[0].sub_indication);

    // Allowed later changes: validation data and another signature.
    let with_dss = pades::add_dss(
        signed.clone(),
        &svc.service
            .documents
            .pdf_validation(std::slice::from_ref(&signer.cert))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        first(&validate(&svc, &with_dss, None).await),
        (Indication::TotalPassed, None)
    );
    let second = sign(
        &svc,
        &key(&svc).await,
        signed.clone(),
        &Options::default(),
        Level::BB,
    )
    .await;
    let report = validate(&svc, &second, None).await;
    assert_eq!(report.overall(), Indication::TotalPassed, "{report:?}");

    // Two signers at B-LT: the second one's validation data updates the first one's DSS
    // (whose /Type is optional): allowed. Turning another object into the DSS is not.
    let lt = sign(
        &svc,
        &signer,
        sample_pdf(2, "1.7", 0),
        &Options::default(),
        Level::BLT,
    )
    .await;
    let both = sign(
        &svc,
        &key(&svc).await,
        lt.clone(),
        &Options::default(),
        Level::BLT,
    )
    .await;
    let report = validate(&svc, &both, None).await;
    assert_eq!(report.overall(), Indication::TotalPassed, "{report:?}");
    assert_valid(&svc, &both, 2, false, "two B-LT signers").await;
    let hijacked = amend(lt.clone(), |pdf, update| {
        let (num, _) = pdf.page(0).unwrap();
        let mut catalog = pdf.catalog().unwrap();
        catalog.set("DSS", Object::Ref(num, 0));
        update.put(pdf.root().unwrap(), &Object::Dict(catalog));
        update.put(
            num,
            &Object::Dict(Dict::of(vec![("Certs", Object::Array(Vec::new()))])),
        );
    });
    assert_eq!(
        first(&validate(&svc, &hijacked, None).await),
        (
            Indication::TotalFailed,
            Some(SubIndication::SigConstraintsFailure)
        )
    );

    // Shadow / incremental-saving attack: the page content replaced in a later revision.
    let shadow = amend(signed.clone(), |pdf, update| {
        let (num, mut page) = pdf.page(0).unwrap();
        let text = update.allocate();
        update.put_stream(
            text,
            Dict::default(),
            b"BT /F1 20 Tf 72 760 Td (Rent: 1 DKK) Tj ET",
        );
        page.set("Contents", Object::Ref(text, 0));
        update.put(num, &Object::Dict(page));
    });
    let report = validate(&svc, &shadow, None).await;
    assert_eq!(
        first(&report),
        (
            Indication::TotalFailed,
            Some(SubIndication::SigConstraintsFailure)
        ),
        "{report:?}"
    );
    assert!(
        report.signatures[0]
            .errors
            .iter()
            .any(|e| e.contains("page")),
        "{report:?}"
    );
    // Metadata updated by a later signer's software: a new information dictionary, then a
    // change to it, and a new XMP stream are reported, not failed.
    let stamped = amend(signed.clone(), |_, update| {
        let info = update.allocate();
        update.put(
            info,
            &Object::Dict(Dict::of(vec![
                ("Producer", Object::text("another signer")),
                ("ModDate", Object::text("D:20261207100000Z")),
            ])),
        );
        update.set_info(Object::Ref(info, 0));
    });
    let info = Pdf::parse(&stamped).unwrap().trailer.get("Info").cloned();
    let Some(Object::Ref(info, _)) = info else {
        panic!("no /Info")
    };
    let stamped = amend(stamped, |pdf, update| {
        update.put(
            info,
            &Object::Dict(Dict::of(vec![
                ("Producer", Object::text("a third signer")),
                ("ModDate", Object::text("D:20261207110000Z")),
                ("Trapped", Object::name("False")),
            ])),
        );
        let xmp = update.allocate();
        put_xmp(pdf, update, xmp, b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>");
    });
    let report = validate(&svc, &stamped, None).await;
    assert_eq!(
        first(&report),
        (Indication::TotalPassed, None),
        "{report:?}"
    );
    // A page tree that claims a billion pages: the check that an XMP stream is no page's
    // content walks the tree once, never the claimed count.
    let claims = amend(sample_pdf(2, "1.7", 0), |pdf, update| {
        let Some(Object::Ref(pages, _)) = pdf.catalog().unwrap().get("Pages").cloned() else {
            panic!("no /Pages")
        };
        let Object::Dict(mut tree) = pdf.get(pages).unwrap() else {
            panic!("no page tree")
        };
        tree.set("Count", Object::Int(1_000_000_000));
        update.put(pages, &Object::Dict(tree));
    });
    let claims = sign(&svc, &signer, claims, &Options::default(), Level::BT).await;
    let claims = amend(claims, |pdf, update| {
        let xmp = update.allocate();
        put_xmp(pdf, update, xmp, b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>");
    });
    let report = validate(&svc, &claims, None).await;
    assert_eq!(
        first(&report),
        (Indication::TotalPassed, None),
        "{report:?}"
    );
    // Under the name of metadata, nothing the page draws with may change: the font made the
    // "information dictionary", or the page's content made the "XMP stream".
    let font_as_info = amend(signed.clone(), |_, update| {
        update.put(
            3,
            &Object::Dict(Dict::of(vec![
                ("Type", Object::name("Font")),
                ("Subtype", Object::name("Type1")),
                ("BaseFont", Object::name("Courier")),
            ])),
        );
        update.set_info(Object::Ref(3, 0));
    });
    let content_as_xmp = amend(signed.clone(), |pdf, update| {
        let (_, page) = pdf.page(0).unwrap();
        let Some(Object::Ref(content, _)) = page.get("Contents").cloned() else {
            panic!("no content")
        };
        put_xmp(
            pdf,
            update,
            content,
            b"BT /F1 20 Tf 72 760 Td (Rent: 1 DKK) Tj ET",
        );
    });
    for (what, bytes) in [("font", font_as_info), ("content", content_as_xmp)] {
        assert_eq!(
            first(&validate(&svc, &bytes, None).await),
            (
                Indication::TotalFailed,
                Some(SubIndication::SigConstraintsFailure)
            ),
            "{what}"
        );
    }

    // A new annotation on the page (what is shown changes).
    let annotated = amend(signed.clone(), |pdf, update| {
        let (num, mut page) = pdf.page(0).unwrap();
        let note = update.allocate();
        update.put(
            note,
            &Object::Dict(Dict::of(vec![
                ("Type", Object::name("Annot")),
                ("Subtype", Object::name("FreeText")),
                ("Contents", Object::text("Void")),
            ])),
        );
        page.set("Annots", Object::Array(vec![Object::Ref(note, 0)]));
        update.put(num, &Object::Dict(page));
    });
    assert_eq!(
        first(&validate(&svc, &annotated, None).await),
        (
            Indication::TotalFailed,
            Some(SubIndication::SigConstraintsFailure)
        )
    );

    // ByteRange tricks: not from 0, a gap wider than /Contents.
    let s = &pades::signatures(&signed).unwrap()[0];
    let [_, a, b, c] = <[i64; 4]>::try_from(s.byte_range.clone()).unwrap();
    let at = find(&signed, b"/ByteRange [0 ") + "/ByteRange ".len();
    let rewrite = |range: String| {
        let mut bytes = signed.clone();
        let mut text = range.into_bytes();
        text.resize(36, b' ');
        bytes[at..at + 36].copy_from_slice(&text);
        bytes
    };
    for (range, what) in [
        (format!("[1 {} {b} {c}]", a - 1), "not from 0"),
        (format!("[0 {} {b} {c}]", a - 1), "gap"),
        (format!("[0 {a} {} {}]", b - 10, c + 10), "overlap"),
        (format!("[0 {a} {b} {}]", c - 5), "short"),
    ] {
        let report = validate(&svc, &rewrite(range), None).await;
        assert_eq!(
            first(&report),
            (Indication::TotalFailed, Some(SubIndication::FormatFailure)),
            "{what}: {report:?}"
        );
    }
    // /Contents with garbage after the DER (outside the signed bytes, so the CMS still verifies).
    let mut garbage = signed.clone();
    // The gap [a, b) is `<hex>`: `start` at `<`, `end` at `>`.
    let start = usize::try_from(a).unwrap();
    let end = usize::try_from(b).unwrap() - 1;
    garbage[end - 8..end].copy_from_slice(b"DEADBEEF");
    assert_eq!(
        first(&validate(&svc, &garbage, None).await),
        (Indication::TotalFailed, Some(SubIndication::FormatFailure))
    );
    // Truncated and over-long ASN.1 in /Contents.
    for bad in [&b"3082FFFF0201"[..], b"308400000010", b"30"] {
        let mut bytes = signed.clone();
        bytes[start + 1..end].fill(b'0');
        bytes[start + 1..start + 1 + bad.len()].copy_from_slice(bad);
        let report = validate(&svc, &bytes, None).await;
        assert_eq!(
            report.signatures[0].indication,
            Indication::TotalFailed,
            "{report:?}"
        );
    }
    // The signature dictionary replaced in a later revision.
    let sig_num = {
        let pdf = Pdf::parse(&signed).unwrap();
        let catalog = pdf.catalog().unwrap();
        let form = pdf.dict(catalog.get("AcroForm")).unwrap();
        let Some(Object::Array(fields)) = form.get("Fields").cloned() else {
            panic!()
        };
        let field = pdf.dict(fields.first()).unwrap();
        let Some(Object::Ref(n, _)) = field.get("V").cloned() else {
            panic!()
        };
        n
    };
    let replaced = amend(signed.clone(), |_, update| {
        update.put(
            sig_num,
            &Object::Dict(Dict::of(vec![
                ("Type", Object::name("Sig")),
                ("SubFilter", Object::name("ETSI.CAdES.detached")),
                (
                    "ByteRange",
                    Object::Array(vec![
                        Object::Int(0),
                        Object::Int(a),
                        Object::Int(b),
                        Object::Int(c),
                    ]),
                ),
                ("Contents", Object::Str(vec![0x30, 0x03, 0x02, 0x01, 0x01])),
            ])),
        );
    });
    assert_eq!(
        first(&validate(&svc, &replaced, None).await),
        (Indication::TotalFailed, Some(SubIndication::FormatFailure))
    );

    // An expired signer certificate: without a timestamp nothing proves the signature existed
    // in time; with one (B-T) it passes.
    let bb = one_page(&svc, &signer, Level::BB).await;
    // Validated at a time before the certificates were issued: not yet valid.
    svc.clock.advance(-24 * 3600);
    assert_eq!(
        first(&validate(&svc, &bb, None).await),
        (Indication::Indeterminate, Some(SubIndication::NotYetValid))
    );
    svc.clock.advance(24 * 3600);
    svc.clock.advance(3 * 365 * 24 * 3600);
    assert_eq!(
        first(&validate(&svc, &bb, None).await),
        (
            Indication::Indeterminate,
            Some(SubIndication::OutOfBoundsNoPoe)
        )
    );
    assert_eq!(
        first(&validate(&svc, &signed, None).await),
        (Indication::TotalPassed, None)
    );

    // Not signed content at all, and garbage: clear errors.
    let e = svc
        .service
        .validation
        .validate_file(b"GIF89a", None, &[])
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "unusable_input");
    let e = svc
        .service
        .validation
        .validate_file(b"<x/>", None, &[])
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "unusable_input");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validation_endpoint_answers_json_without_login() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let pdf = one_page(&svc, &signer, Level::BLT).await;
    let http = reqwest::Client::new();
    let r = http
        .post(svc.url("/v1/validate"))
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(report["signatures"][0]["level"], "B-LT", "{report}");
    // The readable page, escaped.
    let page = http
        .post(svc.url("/v1/validate"))
        .header("accept", "text/html")
        .body(one_page(&svc, &signer, Level::BB).await)
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let text = page.text().await.unwrap();
    assert!(
        text.contains("Every signature is valid.") && text.contains("Karen Blixen"),
        "{text}"
    );
    let r = http
        .post(svc.url("/v1/validate"))
        .body("not a signature")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unusable_input");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qsign_verify_answers_with_exit_codes() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let lt = one_page(&svc, &signer, Level::BLT).await;
    let bb = one_page(&svc, &signer, Level::BB).await;
    let root = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
    let root_file = svc.file("root.pem", support::cert_pem(&root).as_bytes());
    let mut tampered = lt.clone();
    let at = find(&tampered, b"Tenancy agreement");
    tampered[at] = b'X';
    // Another installation (its own root): the signer's root comes with --trust; the B-LT
    // file carries its own revocation data, the B-B one does not.
    let data = tempfile::tempdir().unwrap();
    let init = run(support::qsign(data.path()).arg("init"));
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let verify = |name: &str, bytes: &[u8], json: bool| {
        let file = svc.file(name, bytes);
        let mut cmd = support::qsign(data.path());
        cmd.arg("verify").arg("--trust").arg(&root_file).arg(&file);
        if json {
            cmd.arg("--json");
        }
        let out = run(&mut cmd);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = verify("lt.pdf", &lt, false);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("TOTAL-PASSED") && out.contains("Karen Blixen") && out.contains("B-LT"),
        "{out}"
    );
    // A verifier's machine with no qsign service at all (no token, no HSM module): the roots
    // given are enough.
    let bare = tempfile::tempdir().unwrap();
    let offline = |args: &[&std::ffi::OsStr]| {
        let mut cmd = support::qsign(bare.path());
        cmd.env("QSIGN_HSM_MODULE", "/nonexistent/libsofthsm2.so")
            .env("QSIGN_HSM_MANAGED_SOFTHSM", "false")
            .arg("verify")
            .args(args);
        let out = run(&mut cmd);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let lt_file = svc.file("offline.pdf", &lt);
    let (code, out, err) = offline(&[
        "--trust".as_ref(),
        root_file.as_os_str(),
        lt_file.as_os_str(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("TOTAL-PASSED"), "{out}");
    assert!(err.contains("trusting the given roots only"), "{err}");
    // Without roots and without a service there is nothing to trust: a clear error.
    let (code, _, err) = offline(&[lt_file.as_os_str()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.starts_with("qsign: error: "), "{err}");

    let (code, out, _) = verify("bb.pdf", &bb, true);
    assert_eq!(code, 2, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["signatures"][0]["sub_indication"], "TRY_LATER",
        "{out}"
    );
    let (code, out, _) = verify("tampered.pdf", &tampered, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("HASH_FAILURE"), "{out}");
    let (code, _, err) = verify("junk.bin", b"junk", false);
    assert_eq!(code, 3, "{err}");
    assert!(err.starts_with("qsign: error: "), "{err}");
    // A reader that stops early (`| head`): no panic, the verdict's exit code stays.
    let file = svc.file("lt-again.pdf", &lt);
    let mut cmd = support::qsign(data.path());
    cmd.arg("verify")
        .arg("--json")
        .arg("--trust")
        .arg(&root_file)
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qsign_cades_signatures_pass_at_their_levels() {
    use crate::signing::{authorize_totp, b64, credential, csc, hashes_of, person, unb64};
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let docs: Vec<Vec<u8>> = (0..4).map(|i| format!("annex {i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
    svc.clock.advance(30);
    let (_, auth) = authorize_totp(
        &svc,
        &token,
        &advanced,
        &hashes_of(&refs),
        4,
        &karen.code(&svc),
    )
    .await;
    let levels = ["B-B", "B-T", "B-LT", "B-LTA"];
    let documents: Vec<serde_json::Value> = docs
        .iter()
        .zip(levels)
        .map(|(d, l)| {
            serde_json::json!({"document": b64(d), "signature_format": "C",
            "conformance_level": format!("Ades-{l}"), "signed_envelope_property": "Detached"})
        })
        .collect();
    let (status, signed) = csc(
        &svc,
        "signatures/signDoc",
        &token,
        &serde_json::json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": documents}),
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    for ((cms, doc), level) in signed["SignatureObject"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&docs)
        .zip(levels)
    {
        let report = validate(&svc, &unb64(cms), Some(doc)).await;
        assert_eq!(
            only(&report),
            (Indication::TotalPassed, None, Some(level.to_owned())),
            "{report:?}"
        );
        // openssl agrees on the same signature.
        let root = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
        let root = svc.file("root.pem", support::cert_pem(&root).as_bytes());
        let (ok, out) = support::cms_verify(&svc, &root, &unb64(cms), Some(doc), &[]);
        assert!(ok, "openssl on {level}: {out}");
    }
    svc.stop().await;
}

/// Runs openssl with `args` in `dir`; panics with its output on failure.
pub(crate) fn openssl_in(dir: &std::path::Path, args: &[&str]) {
    let out = run(Command::new("openssl").current_dir(dir).args(args));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A detached CAdES signature (DER) of `content.txt` in `dir` by openssl, with `signer`'s
/// certificate, `key` and the certificates of `certfile`, written to `out` and read back.
pub(crate) fn cades_sign_in(
    dir: &std::path::Path,
    signer: &str,
    key: &str,
    certfile: &str,
    out: &str,
) -> Vec<u8> {
    openssl_in(
        dir,
        &[
            "cms",
            "-sign",
            "-cades",
            "-binary",
            "-md",
            "sha256",
            "-outform",
            "DER",
            "-in",
            "content.txt",
            "-signer",
            signer,
            "-inkey",
            key,
            "-certfile",
            certfile,
            "-out",
            out,
        ],
    );
    std::fs::read(dir.join(out)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_chains_need_configured_anchors_and_loops_and_key_usage_are_caught() {
    let svc = Service::start().await;
    let dir = svc.dir.path();
    let ec = [
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
    ];
    for key in ["ca.key", "leaf.key", "x.key", "y.key", "nr.key"] {
        openssl_in(dir, &[&["genpkey"], &ec[..], &[key]].concat());
    }
    std::fs::write(
        dir.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,nonRepudiation\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("nonr.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n",
    )
    .unwrap();
    // A foreign CA and a leaf under it.
    openssl_in(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "ca.key",
            "-subj",
            "/CN=Foreign CA",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-out",
            "ca.pem",
        ],
    );
    let issue = |key: &str, subject: &str, ca: &str, ca_key: &str, ext: &str, out: &str| {
        openssl_in(
            dir,
            &[
                "req", "-new", "-key", key, "-subj", subject, "-out", "req.csr",
            ],
        );
        openssl_in(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "req.csr",
                "-CA",
                ca,
                "-CAkey",
                ca_key,
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                ext,
                "-out",
                out,
            ],
        );
    };
    issue(
        "leaf.key",
        "/CN=Foreign Signer",
        "ca.pem",
        "ca.key",
        "leaf.ext",
        "leaf.pem",
    );
    issue(
        "nr.key",
        "/CN=No Commitment",
        "ca.pem",
        "ca.key",
        "nonr.ext",
        "nr.pem",
    );
    // A loop: X issued by Y, Y issued by X; a leaf under X.
    openssl_in(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "y.key",
            "-subj",
            "/CN=Loop Y",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-out",
            "y0.pem",
        ],
    );
    issue("x.key", "/CN=Loop X", "y0.pem", "y.key", "ca.ext", "x.pem");
    issue("y.key", "/CN=Loop Y", "x.pem", "x.key", "ca.ext", "y.pem");
    issue(
        "leaf.key",
        "/CN=Looped Signer",
        "x.pem",
        "x.key",
        "leaf.ext",
        "looped.pem",
    );
    std::fs::write(dir.join("content.txt"), b"foreign content").unwrap();
    let sign = |signer: &str, key: &str, certfile: &str, out: &str| {
        cades_sign_in(dir, signer, key, certfile, out)
    };
    let foreign = sign("leaf.pem", "leaf.key", "ca.pem", "foreign.p7s");
    std::fs::write(
        dir.join("loop.pem"),
        [
            std::fs::read(dir.join("x.pem")).unwrap(),
            std::fs::read(dir.join("y.pem")).unwrap(),
        ]
        .concat(),
    )
    .unwrap();
    let looped = sign("looped.pem", "leaf.key", "loop.pem", "looped.p7s");
    let no_commitment = sign("nr.pem", "nr.key", "ca.pem", "nr.p7s");
    let content: &[u8] = b"foreign content";

    // Without the foreign CA as an anchor: no chain. With it (as an operator configures):
    // the chain is found and only revocation data is missing.
    let report = validate(&svc, &foreign, Some(content)).await;
    assert_eq!(only(&report).0, Indication::Indeterminate);
    assert_eq!(
        only(&report).1,
        Some(SubIndication::NoCertificateChainFound),
        "{report:?}"
    );
    let ca_pem = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    let ca_der = {
        use base64::Engine as _;
        let body: String = ca_pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    let configured = svc
        .service
        .clone()
        .with_validation(qsign::service::ValidationSettings {
            anchors: vec![ca_der],
            ..qsign::service::ValidationSettings::default()
        })
        .validation;
    let report = configured
        .validate_file(&foreign, Some(content), &[])
        .await
        .unwrap();
    assert_eq!(only(&report).1, Some(SubIndication::TryLater), "{report:?}");
    assert_eq!(report.signatures[0].chain.len(), 2, "{report:?}");
    // A chain loop ends the search; a signer without non-repudiation is refused.
    let report = configured
        .validate_file(&looped, Some(content), &[])
        .await
        .unwrap();
    assert_eq!(
        only(&report).1,
        Some(SubIndication::NoCertificateChainFound),
        "{report:?}"
    );
    let report = configured
        .validate_file(&no_commitment, Some(content), &[])
        .await
        .unwrap();
    assert_eq!(
        only(&report).1,
        Some(SubIndication::ChainConstraintsFailure),
        "{report:?}"
    );
    // The size limit.
    let small = svc
        .service
        .clone()
        .with_validation(qsign::service::ValidationSettings {
            max_bytes: 100,
            ..qsign::service::ValidationSettings::default()
        })
        .validation;
    let e = small
        .validate_file(&foreign, Some(content), &[])
        .await
        .unwrap_err();
    assert_eq!(e.code.as_str(), "payload_too_large");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_signatures_pass_and_wrapping_and_hostile_xml_are_caught() {
    use crate::signing::{authorize_totp, b64, credential, csc, hashes_of, person, unb64};
    let svc = Service::start().await;
    let karen = person(&svc, "karen").await;
    let token = karen.login(&svc, true).await;
    let advanced = credential(&svc, &token, "advanced").await;
    let xml =
        b"<?xml version=\"1.0\"?>\n<lease><rent currency=\"DKK\">9500</rent></lease>".to_vec();
    let plain = b"detached annex".to_vec();
    let cases = [
        ("Enveloped", "B-B", xml.clone()),
        ("Enveloping", "B-T", xml.clone()),
        ("Enveloped", "B-LT", xml.clone()),
        ("Detached", "B-LTA", plain.clone()),
    ];
    let refs: Vec<&[u8]> = cases.iter().map(|c| c.2.as_slice()).collect();
    svc.clock.advance(30);
    let (_, auth) = authorize_totp(
        &svc,
        &token,
        &advanced,
        &hashes_of(&refs),
        4,
        &karen.code(&svc),
    )
    .await;
    let documents: Vec<serde_json::Value> = cases
        .iter()
        .map(|(p, l, d)| {
            serde_json::json!({"document": b64(d), "signature_format": "X",
            "conformance_level": format!("Ades-{l}"), "signed_envelope_property": p})
        })
        .collect();
    let (status, signed) = csc(
        &svc,
        "signatures/signDoc",
        &token,
        &serde_json::json!({"credentialID": advanced, "SAD": auth["SAD"], "documents": documents}),
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    let mut with = signed["DocumentWithSignature"].as_array().unwrap().iter();
    let mut without = signed["SignatureObject"].as_array().unwrap().iter();
    let mut outputs = Vec::new();
    for (packaging, level, doc) in &cases {
        let out = unb64(if *packaging == "Detached" {
            without.next().unwrap()
        } else {
            with.next().unwrap()
        });
        let content = (*packaging == "Detached").then_some(doc.as_slice());
        let report = validate(&svc, &out, content).await;
        assert_eq!(
            only(&report),
            (Indication::TotalPassed, None, Some((*level).to_owned())),
            "{packaging} {level}: {report:?}"
        );
        assert_eq!(report.signatures[0].format, "XAdES");
        // xmlsec1 agrees on the same file.
        let name = format!("document-{}", outputs.len() + 1);
        let (ok, text) =
            support::xmlsec_verify_with(&svc, &out, content.map(|c| (name.as_str(), c))).await;
        assert!(ok, "xmlsec1 on {packaging} {level}: {text}");
        outputs.push(out);
    }
    // Wrapping: a second element with the signed Id, placed first where a reader looks.
    let enveloping = String::from_utf8(outputs[1].clone()).unwrap();
    let id_at = enveloping.find("<ds:Object Id=\"").unwrap() + "<ds:Object Id=\"".len();
    let id_end = enveloping[id_at..].find('"').unwrap() + id_at;
    let id = enveloping[id_at..id_end].to_owned();
    let forged = enveloping.replacen(
        "<ds:Object Id=",
        &format!("<ds:Object Id=\"{id}\"><lease><rent currency=\"DKK\">1</rent></lease></ds:Object><ds:Object Id="),
        1,
    );
    let report = validate(&svc, forged.as_bytes(), None).await;
    assert_eq!(only(&report).0, Indication::TotalFailed, "{report:?}");
    assert_eq!(
        only(&report).1,
        Some(SubIndication::FormatFailure),
        "{report:?}"
    );
    // The signed content changed: hash failure.
    let changed = String::from_utf8(outputs[0].clone())
        .unwrap()
        .replace(">9500<", ">1<");
    assert_eq!(
        only(&validate(&svc, changed.as_bytes(), None).await).1,
        Some(SubIndication::HashFailure)
    );
    // XXE and entity bombs: refused before anything is read.
    for hostile in [
        &b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"[..],
        b"<!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><x>&b;</x>",
    ] {
        let e = svc
            .service
            .validation
            .validate_file(hostile, None, &[])
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "unusable_input");
        assert!(e.message.contains("xml_dtd"), "{}", e.message);
    }

    // xmlsec1 signs with a key of its own, certified by qsign's CA.
    let dir = svc.dir.path();
    openssl_in(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "x.key",
        ],
    );
    let spki = run(Command::new("openssl")
        .current_dir(dir)
        .args(["pkey", "-pubout", "-outform", "DER", "-in", "x.key"]))
    .stdout;
    let subject = qsign::pki::Subject::NaturalPerson(qsign::pki::NaturalPerson {
        given_name: "Xml".into(),
        family_name: "Signer".into(),
        person_id: qsign::types::PersonId::random(),
        country: "DK".into(),
        qualified: false,
    });
    let issued = svc
        .pki
        .issue(&spki, &subject, &qsign::audit::Context::system(), svc.now())
        .await
        .unwrap();
    std::fs::write(dir.join("x.pem"), support::cert_pem(&issued.der)).unwrap();
    let template = "<?xml version=\"1.0\"?>\n<doc><data>Hello</data><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo><CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/><Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature></doc>\n";
    // xmlsec1 signs a template with its key; the signed document.
    let xmlsec_sign = |template: &str| {
        std::fs::write(dir.join("template.xml"), template).unwrap();
        let out = run(Command::new("xmlsec1").current_dir(dir).args([
            "--sign",
            "--privkey-pem",
            "x.key,x.pem",
            "--output",
            "xmlsec.xml",
            "template.xml",
        ]));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(dir.join("xmlsec.xml")).unwrap()
    };
    let report = validate(&svc, &xmlsec_sign(template), None).await;
    assert_eq!(
        only(&report),
        (Indication::TotalPassed, None, Some("B-B".into())),
        "{report:?}"
    );
    assert_eq!(report.signatures[0].format, "XML-DSig");

    // xmlsec1 with inclusive canonicalization (as signxml and many others sign): C14N 1.0 and
    // 1.1, with and without comments, for SignedInfo and the reference, and a reference with
    // no canonicalization named (XML-DSig's default, inclusive 1.0). The signature sits inside
    // an element with a namespace and `xml:lang` in scope, which inclusive forms include.
    for (signed_info, reference) in [
        (
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            Some("http://www.w3.org/TR/2001/REC-xml-c14n-20010315"),
        ),
        (
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
            None,
        ),
        (
            "http://www.w3.org/2006/12/xml-c14n11",
            Some("http://www.w3.org/2006/12/xml-c14n11"),
        ),
        (
            "http://www.w3.org/2006/12/xml-c14n11#WithComments",
            Some("http://www.w3.org/2006/12/xml-c14n11#WithComments"),
        ),
        (
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
            Some("http://www.w3.org/2001/10/xml-exc-c14n#"),
        ),
    ] {
        let transform = reference
            .map(|uri| format!("<Transform Algorithm=\"{uri}\"/>"))
            .unwrap_or_default();
        let template = format!(
            "<?xml version=\"1.0\"?>\n<doc xmlns:app=\"urn:example:app\" xml:lang=\"da\"><app:data>Hello<!-- a note --></app:data><wrapper xmlns:unused=\"urn:example:unused\"><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo><!-- signed info note --><CanonicalizationMethod Algorithm=\"{signed_info}\"/><SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/><Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>{transform}</Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature></wrapper></doc>\n"
        );
        let signed = xmlsec_sign(&template);
        let report = validate(&svc, &signed, None).await;
        assert_eq!(
            only(&report).0,
            Indication::TotalPassed,
            "{signed_info} / {reference:?}: {report:?}"
        );
        // And a changed byte of the data still fails under these methods.
        let tampered = String::from_utf8(signed).unwrap().replace("Hello", "Hallo");
        let report = validate(&svc, tampered.as_bytes(), None).await;
        assert_eq!(
            only(&report).0,
            Indication::TotalFailed,
            "{signed_info}: {report:?}"
        );
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_installation_fetches_crls_from_the_distribution_points_when_allowed() {
    let signing = Service::start().await;
    let signer = key(&signing).await;
    let pdf = one_page(&signing, &signer, Level::BB).await;
    let their_root = signing
        .pki
        .ca_certificate(qsign::pki::Ca::Root)
        .await
        .unwrap();
    let verifying = Service::start().await;
    // Both installations are on the loopback here, which fetching refuses by default.
    let settings = |fetch: bool| qsign::service::ValidationSettings {
        anchors: vec![their_root.clone()],
        fetch_revocation: fetch,
        fetch_allow_private: true,
        ..qsign::service::ValidationSettings::default()
    };
    // Without fetching: the file carries no revocation data.
    let offline = verifying
        .service
        .clone()
        .with_validation(settings(false))
        .validation;
    let report = offline.validate_file(&pdf, None, &[]).await.unwrap();
    assert_eq!(only(&report).1, Some(SubIndication::TryLater), "{report:?}");
    // With fetching: the CRLs come from the signer's installation over HTTP.
    let online = verifying
        .service
        .clone()
        .with_validation(settings(true))
        .validation;
    let report = online.validate_file(&pdf, None, &[]).await.unwrap();
    assert_eq!(
        only(&report),
        (Indication::TotalPassed, None, Some("B-B".into())),
        "{report:?}"
    );
    verifying.stop().await;
    signing.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_signer_fails_unless_a_timestamp_proves_the_signature_came_first() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let bb = one_page(&svc, &signer, Level::BB).await;
    let bt = one_page(&svc, &signer, Level::BT).await;
    svc.clock.advance(10);
    let serial = qsign::pki::summary(&signer.cert).unwrap().serial;
    svc.pki
        .revoke(
            &serial,
            qsign::pki::Reason::KeyCompromise,
            &qsign::audit::Context::system(),
            svc.now(),
        )
        .await
        .unwrap();
    // The service's own certificate store answers at once (no CRL is signed per validation).
    let report = validate(&svc, &bb, None).await;
    assert_eq!(
        (only(&report).0, only(&report).1),
        (Indication::TotalFailed, Some(SubIndication::Revoked)),
        "{report:?}"
    );
    assert_eq!(report.signatures[0].revocation, "revoked");
    let report = validate(&svc, &bt, None).await;
    assert_eq!(only(&report).0, Indication::TotalPassed, "{report:?}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_corrupted_files_never_panic_the_validator() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let pdf = one_page(&svc, &signer, Level::BLT).await;
    let root = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
    let material = qsign::validate::Material {
        anchors: qsign::validate::Cert::parse(&root).into_iter().collect(),
        now: svc.now(),
        ..qsign::validate::Material::default()
    };
    let cms = qsign::formats::pades::signatures(&pdf).unwrap()[0]
        .contents
        .clone();
    let run_all = |input: &[u8], content: Option<&[u8]>| {
        let mut outcomes = 0usize;
        for cut in (0..input.len()).step_by(41) {
            let _ = qsign::validate::validate(&input[..cut], content, &material, usize::MAX);
            outcomes += 1;
        }
        for at in (0..input.len()).step_by(53) {
            let mut bad = input.to_vec();
            bad[at] ^= 0xa5;
            if let Ok(report) = qsign::validate::validate(&bad, content, &material, usize::MAX) {
                // A corrupted byte inside signed data never passes.
                let _ = report.overall();
            }
            outcomes += 1;
        }
        outcomes
    };
    assert!(run_all(&pdf, None) > 100);
    assert!(run_all(&cms, Some(b"content")) > 10);
    // Every corrupted byte outside /Contents of the signed file is caught.
    let s = &qsign::formats::pades::signatures(&pdf).unwrap()[0];
    let gap = usize::try_from(s.byte_range[1]).unwrap()..usize::try_from(s.byte_range[2]).unwrap();
    for at in (0..pdf.len()).step_by(97).filter(|at| !gap.contains(at)) {
        let mut bad = pdf.clone();
        bad[at] ^= 0x01;
        if let Ok(report) = qsign::validate::validate(&bad, None, &material, usize::MAX) {
            assert_ne!(
                report.overall(),
                Indication::TotalPassed,
                "byte {at} changed, still passed"
            );
        }
    }
    svc.stop().await;
}

/// A small deterministic generator (xorshift64*), so every run tries the same cases.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

/// One mutation of `input`: a flipped byte, a cut, a duplicated slice, or a hostile token
/// (references, huge numbers, filters, namespace floods) spliced in.
fn mutate(input: &[u8], rng: &mut Seeded) -> Vec<u8> {
    const TOKENS: [&[u8]; 12] = [
        b"/XRefStm 9 ",
        b"/Prev 9 ",
        b"/Size 4294967295 ",
        b"/Index [0 250000000] ",
        b"/Kids [1 0 R 1 0 R] ",
        b"/Filter /FlateDecode /Length 999999999 ",
        b"9999999999999999999999 ",
        b"<<<<<<<<<<<<<<<<",
        b"[[[[[[[[[[[[[[[[",
        b" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"",
        b"<!DOCTYPE x [<!ENTITY a \"a\">]>",
        b"\x30\x80\x30\x80\x30\x80",
    ];
    let mut out = input.to_vec();
    let at = rng.below(out.len());
    match rng.below(4) {
        0 => out[at] ^= u8::try_from(1 + rng.below(255)).unwrap(),
        1 => out.truncate(at),
        2 => {
            let len = rng.below(64).min(out.len() - at);
            let slice = out[at..at + len].to_vec();
            out.splice(at..at, slice);
        }
        _ => {
            let token = TOKENS[rng.below(TOKENS.len())];
            out.splice(at..at, token.iter().copied());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_mutated_pdfs_xml_and_cms_end_cleanly() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let pdf = one_page(&svc, &signer, Level::BLT).await;
    let cms = qsign::formats::pades::signatures(&pdf).unwrap()[0]
        .contents
        .clone();
    let xml =
        b"<?xml version=\"1.0\"?><r xmlns=\"urn:r\" xmlns:p=\"urn:p\"><p:a x=\"1\" p:y=\"2\">\
        text<![CDATA[ data ]]><!-- c --><b/><?pi d?></p:a><c>&lt;&amp;&#65;</c></r>"
            .to_vec();
    let root = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
    let material = qsign::validate::Material {
        anchors: qsign::validate::Cert::parse(&root).into_iter().collect(),
        now: svc.now(),
        ..qsign::validate::Material::default()
    };
    let mut rng = Seeded(0x5eed_cafe_f00d_0001);
    let mut slowest = std::time::Duration::ZERO;
    let mut cases = 0;
    for (input, content, parse) in [
        (&pdf, None, 2000),
        (&xml, None, 2000),
        (&cms, Some(&b"content"[..]), 1000),
    ] {
        for i in 0..parse {
            let mutated = mutate(input, &mut rng);
            let started = std::time::Instant::now();
            // The parsers alone, every case; the whole validation on every tenth.
            let _ = qsign::formats::pdf::Pdf::parse(&mutated)
                .map(|p| qsign::formats::pades::signatures_in(&p).map(|s| s.len()));
            let _ = qsign::formats::xml::parse(&mutated, qsign::formats::xml::Limits::default());
            if i % 10 == 0 {
                let _ = qsign::validate::validate(&mutated, content, &material, 64 << 20);
            }
            slowest = slowest.max(started.elapsed());
            cases += 1;
        }
    }
    assert_eq!(cases, 5000);
    // A hang detector, not a speed target: no case may take seconds.
    assert!(
        slowest < std::time::Duration::from_secs(5),
        "slowest case {slowest:?}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_time_budget_stops_the_validation_itself() {
    let svc = Service::start().await;
    let signer = key(&svc).await;
    let pdf = one_page(&svc, &signer, Level::BLT).await;
    let root = svc.pki.ca_certificate(qsign::pki::Ca::Root).await.unwrap();
    let material = qsign::validate::Material {
        anchors: qsign::validate::Cert::parse(&root).into_iter().collect(),
        now: svc.now(),
        deadline: Some(std::time::Instant::now()),
        ..qsign::validate::Material::default()
    };
    let err = qsign::validate::validate(&pdf, None, &material, usize::MAX).unwrap_err();
    assert!(err.to_string().contains("time budget"), "{err}");
    // A timestamp attribute whose OID was changed (the /Contents gap is not signed) is
    // reported, not passed over in silence.
    let oid = b"060B2A864886F70D010910020E";
    let at = pdf
        .windows(oid.len())
        .position(|w| w.eq_ignore_ascii_case(oid))
        .expect("the signature timestamp attribute in /Contents");
    let mut renamed = pdf.clone();
    renamed[at + oid.len() - 1] = b'F';
    let report = validate(&svc, &renamed, None).await;
    assert!(
        report.signatures[0]
            .errors
            .iter()
            .any(|e| e.contains("not understood")),
        "{:?}",
        report.signatures[0].errors
    );
    // Bytes appended after the last revision are reported, not ignored.
    let mut appended = pdf.clone();
    appended.extend_from_slice(b"junk that no signature covers");
    let report = validate(&svc, &appended, None).await;
    assert!(
        report.signatures[0]
            .errors
            .iter()
            .any(|e| e.contains("after its last revision")),
        "{:?}",
        report.signatures[0].errors
    );
    // XML: a signature with more references than allowed is refused, not walked.
    // 65 correct references to one 100 KB element: it is canonicalized once, and the 65th
    // reference is over the limit.
    let element = format!("<a Id=\"a\">{}</a>", "x".repeat(100_000));
    let digest = crate::signing::b64(&support::sha256(element.as_bytes()));
    let refs: String = (0..65)
        .map(|_| {
            format!(
                "<ds:Reference URI=\"#a\"><ds:Transforms><ds:Transform \
                 Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
                 <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
                 <ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>"
            )
        })
        .collect();
    let xml = format!(
        "<r xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{element}<ds:Signature>\
         <ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         {refs}</ds:SignedInfo></ds:Signature></r>"
    );
    let material = qsign::validate::Material {
        now: svc.now(),
        ..qsign::validate::Material::default()
    };
    let report = qsign::validate::validate(xml.as_bytes(), None, &material, usize::MAX).unwrap();
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.contains("too many references"), "{text}");
    svc.stop().await;
}
