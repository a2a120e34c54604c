//! The test scheme of the trusted-list tests: a list of lists and two national lists (DK, SE)
//! signed with xmlsec1, their CAs' CRLs and the signatures under them (openssl), served over
//! loopback HTTP, and over HTTPS with a certificate of a test CA.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use crate::support::{self, run};
use crate::validate::{cades_sign_in, openssl_in};

pub(super) const GRANTED: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted";
pub(super) const WITHDRAWN: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn";
const CA_QC: &str = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC";
const EXT: &str = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/";
const XML_MIME: &str = "application/vnd.etsi.tsl+xml";
const LOTL_TYPE: &str = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUlistofthelists";
const GENERIC: &str = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric";

/// QCStatements: QcCompliance, QcSSCD, QcType esign.
const QC_SSCD: &str = "DER:30:29:30:08:06:06:04:00:8E:46:01:01:30:08:06:06:04:00:8E:46:01:04:\
     30:13:06:06:04:00:8E:46:01:06:30:09:06:07:04:00:8E:46:01:06:01";
/// QCStatements: QcCompliance, QcSSCD, QcType eseal (0.4.0.1862.1.6.2).
const QC_SEAL: &str = "DER:30:29:30:08:06:06:04:00:8E:46:01:01:30:08:06:06:04:00:8E:46:01:04:\
     30:13:06:06:04:00:8E:46:01:06:30:09:06:07:04:00:8E:46:01:06:02";
/// QCStatements: QcCompliance and QcType esign, no QcSSCD.
const QC_ONLY: &str = "DER:30:1F:30:08:06:06:04:00:8E:46:01:01:\
     30:13:06:06:04:00:8E:46:01:06:30:09:06:07:04:00:8E:46:01:06:01";

/// The signed content of every CAdES signature here.
pub(super) const CONTENT: &[u8] = b"trusted list test content\n";

pub(super) type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// Answers the bytes put in `files` by path (404 otherwise).
fn files_app(files: Files) -> axum::Router {
    async fn answer(
        axum::extract::State(files): axum::extract::State<Files>,
        uri: axum::http::Uri,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let found = files.lock().unwrap().get(uri.path()).cloned();
        match found {
            Some(bytes) => bytes.into_response(),
            None => axum::http::StatusCode::NOT_FOUND.into_response(),
        }
    }
    axum::Router::new().fallback(answer).with_state(files)
}

/// A loopback HTTP server answering the bytes put in its map by path (404 otherwise).
async fn file_server() -> (String, Files) {
    let files: Files = Arc::default();
    let app = files_app(Arc::clone(&files));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, files)
}

/// The same files over HTTPS on a loopback port, with a certificate for 127.0.0.1 from a new
/// test CA made in `dir` (rustls on ring); answers the base URL and the CA's certificate (DER).
/// A client that refuses the certificate ends only its own connection.
pub(super) async fn https_file_server(files: Files, dir: &Path) -> (String, Vec<u8>) {
    let (ca, certificate, key) = crate::asynchronous::callback_pki(dir);
    let (certificate, key) = (certificate.to_str().unwrap(), key.to_str().unwrap());
    openssl_in(
        dir,
        &[
            "x509",
            "-in",
            certificate,
            "-outform",
            "DER",
            "-out",
            "tls.der",
        ],
    );
    // PKCS#8 (`pkey -outform DER` writes the traditional EC form, which rustls does not take).
    openssl_in(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            key,
            "-outform",
            "DER",
            "-out",
            "tls.key.der",
        ],
    );
    let chain = vec![rustls::pki_types::CertificateDer::from(
        std::fs::read(dir.join("tls.der")).unwrap(),
    )];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
        std::fs::read(dir.join("tls.key.der")).unwrap().into(),
    );
    #[allow(deprecated, reason = "the provider the service itself uses")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let app = files_app(files);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (base, ca)
}

/// The test scheme's keys, certificates, CRLs, lists and signatures, made with openssl and
/// xmlsec1 in one directory.
pub(super) struct Scheme {
    dir: tempfile::TempDir,
    pub(super) base: String,
}

impl Scheme {
    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self, args: &[&str]) {
        openssl_in(self.dir.path(), args);
    }

    fn key(&self, name: &str, rsa: bool) {
        let algorithm: &[&str] = if rsa {
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        } else {
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        };
        let out = format!("{name}.key");
        self.openssl(&[&["genpkey"], algorithm, &["-out", out.as_str()]].concat());
    }

    /// A self-signed certificate `<name>.pem` for `<name>.key`.
    fn self_signed(&self, name: &str, subject: &str, extensions: &[&str]) {
        let (key, out) = (format!("{name}.key"), format!("{name}.pem"));
        let mut args = vec![
            "req",
            "-x509",
            "-key",
            key.as_str(),
            "-subj",
            subject,
            "-days",
            "60",
            "-out",
            out.as_str(),
        ];
        for e in extensions {
            args.extend(["-addext", e]);
        }
        self.openssl(&args);
    }

    /// A list signer: RSA, self-signed, non-repudiation (ETSI TS 119 612 §5.7.1).
    fn list_signer(&self, name: &str, subject: &str) {
        self.key(name, true);
        self.self_signed(name, subject, &["keyUsage=critical,nonRepudiation"]);
    }

    /// A CA with its (empty) CRL served at `/<name>.crl`.
    fn ca(&self, name: &str, subject: &str, files: &Files) {
        self.key(name, false);
        self.self_signed(
            name,
            subject,
            &[
                "basicConstraints=critical,CA:TRUE",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        std::fs::write(self.path("index.txt"), b"").unwrap();
        std::fs::write(
            self.path("ca.cnf"),
            "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ndefault_md = sha256\n\
             default_crl_days = 30\n",
        )
        .unwrap();
        let (key, cert, crl) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("{name}.crl.pem"),
        );
        self.openssl(&[
            "ca",
            "-gencrl",
            "-config",
            "ca.cnf",
            "-keyfile",
            key.as_str(),
            "-cert",
            cert.as_str(),
            "-out",
            crl.as_str(),
        ]);
        let der = format!("{name}.crl");
        self.openssl(&[
            "crl",
            "-in",
            crl.as_str(),
            "-outform",
            "DER",
            "-out",
            der.as_str(),
        ]);
        files
            .lock()
            .unwrap()
            .insert(format!("/{der}"), std::fs::read(self.path(&der)).unwrap());
    }

    /// A signer certificate `<name>.pem` issued by `ca`, with QCStatements when given.
    fn signer(&self, name: &str, ca: &str, qc_statements: Option<&str>) {
        self.key(name, false);
        let mut ext = format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,nonRepudiation\n\
             crlDistributionPoints=URI:{}/{ca}.crl\n",
            self.base
        );
        if let Some(qc) = qc_statements {
            ext.push_str(&format!("1.3.6.1.5.5.7.1.3={qc}\n"));
        }
        std::fs::write(self.path(&format!("{name}.ext")), ext).unwrap();
        let (key, csr, ext, out) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.ext"),
            format!("{name}.pem"),
        );
        let subject = format!("/CN={name}/C=DK");
        self.openssl(&[
            "req",
            "-new",
            "-key",
            key.as_str(),
            "-subj",
            subject.as_str(),
            "-out",
            csr.as_str(),
        ]);
        let (ca_cert, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            csr.as_str(),
            "-CA",
            ca_cert.as_str(),
            "-CAkey",
            ca_key.as_str(),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            ext.as_str(),
            "-out",
            out.as_str(),
        ]);
    }

    /// A CAdES signature (DER, detached) of [`CONTENT`] by `name`, its CA's certificate with it.
    fn cades(&self, name: &str, ca: &str) -> Vec<u8> {
        std::fs::write(self.path("content.txt"), CONTENT).unwrap();
        cades_sign_in(
            self.dir.path(),
            &format!("{name}.pem"),
            &format!("{name}.key"),
            &format!("{ca}.pem"),
            &format!("{name}.p7s"),
        )
    }

    /// The base64 DER of `<name>.pem`.
    fn b64(&self, name: &str) -> String {
        let pem = std::fs::read_to_string(self.path(&format!("{name}.pem"))).unwrap();
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    pub(super) fn der(&self, name: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(self.b64(name))
            .unwrap()
    }

    /// `list` signed enveloped by `signer` with xmlsec1 (exclusive C14N, RSA-SHA256, the whole
    /// document), and checked by xmlsec1 against that signer.
    pub(super) fn sign_list(&self, list: &str, signer: &str, name: &str) -> Vec<u8> {
        let template = list.replace(
            "</tsl:TrustServiceStatusList>",
            &format!(
                "{}</tsl:TrustServiceStatusList>",
                signature_template("rsa-sha256")
            ),
        );
        self.sign_xml(&template, &[signer], signer, name)
    }

    /// `template` signed with xmlsec1 by the key of `certificates[0]`, all of `certificates`
    /// in its `KeyInfo`, written to `name`; and checked by xmlsec1 trusting only `trusted`.
    pub(super) fn sign_xml(
        &self,
        template: &str,
        certificates: &[&str],
        trusted: &str,
        name: &str,
    ) -> Vec<u8> {
        let (template_file, out) = (self.path(&format!("{name}.tpl")), self.path(name));
        std::fs::write(&template_file, template).unwrap();
        let mut key = self
            .path(&format!("{}.key", certificates[0]))
            .display()
            .to_string();
        for c in certificates {
            key.push_str(&format!(",{}", self.path(&format!("{c}.pem")).display()));
        }
        let signed = run(Command::new("xmlsec1")
            .args(["--sign", "--privkey-pem", key.as_str(), "--output"])
            .arg(&out)
            .arg(&template_file));
        assert!(
            signed.status.success(),
            "xmlsec1 --sign: {}",
            String::from_utf8_lossy(&signed.stderr)
        );
        let checked = run(Command::new("xmlsec1")
            .arg("--verify")
            .arg("--trusted-pem")
            .arg(self.path(&format!("{trusted}.pem")))
            .arg(&out));
        assert!(
            checked.status.success(),
            "xmlsec1 --verify: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
        std::fs::read(out).unwrap()
    }
}

/// An enveloped `ds:Signature` over the whole document for xmlsec1 to complete: exclusive
/// C14N, SHA-256, the signature method `method` (of the xmldsig-more namespace) and the
/// certificates of the key in `KeyInfo`.
pub(super) fn signature_template(method: &str) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"sig\">\
         <ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#{method}\"/>\
         <ds:Reference URI=\"\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         </ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>\
         <ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"
    )
}

/// A trusted list (ETSI TS 119 612 v2) without its signature.
fn tsl(
    territory: &str,
    sequence: u32,
    next_update: i64,
    pointers: &str,
    providers: &str,
) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <tsl:TrustServiceStatusList xmlns:tsl=\"http://uri.etsi.org/02231/v2#\" \
         xmlns:ecc=\"http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#\" \
         xmlns:tslx=\"http://uri.etsi.org/02231/v2/additionaltypes#\" Id=\"tsl-{territory}\">\
         <tsl:SchemeInformation><tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>\
         <tsl:TSLSequenceNumber>{sequence}</tsl:TSLSequenceNumber>\
         <tsl:SchemeTerritory>{territory}</tsl:SchemeTerritory>\
         <tsl:ListIssueDateTime>{}</tsl:ListIssueDateTime>\
         <tsl:NextUpdate><tsl:dateTime>{}</tsl:dateTime></tsl:NextUpdate>\
         <tsl:PointersToOtherTSL>{pointers}</tsl:PointersToOtherTSL></tsl:SchemeInformation>\
         <tsl:TrustServiceProviderList>{providers}</tsl:TrustServiceProviderList>\
         </tsl:TrustServiceStatusList>",
        qsign::service::rfc3339(support::now() - 86_400),
        qsign::service::rfc3339(next_update),
    )
}

fn pointer(location: &str, territory: &str, mime: &str, list_type: &str, cert: &str) -> String {
    format!(
        "<tsl:OtherTSLPointer><tsl:ServiceDigitalIdentities><tsl:ServiceDigitalIdentity>\
         <tsl:DigitalId><tsl:X509Certificate>{cert}</tsl:X509Certificate></tsl:DigitalId>\
         </tsl:ServiceDigitalIdentity></tsl:ServiceDigitalIdentities>\
         <tsl:TSLLocation>{location}</tsl:TSLLocation><tsl:AdditionalInformation>\
         <tsl:OtherInformation><tsl:TSLType>{list_type}</tsl:TSLType></tsl:OtherInformation>\
         <tsl:OtherInformation><tsl:SchemeTerritory>{territory}</tsl:SchemeTerritory>\
         </tsl:OtherInformation><tsl:OtherInformation><tslx:MimeType>{mime}</tslx:MimeType>\
         </tsl:OtherInformation></tsl:AdditionalInformation></tsl:OtherTSLPointer>"
    )
}

fn provider(name: &str, services: &str) -> String {
    format!(
        "<tsl:TrustServiceProvider><tsl:TSPInformation><tsl:TSPName>\
         <tsl:Name xml:lang=\"en\">{name}</tsl:Name></tsl:TSPName></tsl:TSPInformation>\
         <tsl:TSPServices>{services}</tsl:TSPServices></tsl:TrustServiceProvider>"
    )
}

/// A CA/QC service for signatures whose qualifier says the keys are in a QSCD for every
/// certificate with non-repudiation.
fn service(name: &str, cert: &str, status: &str, since: i64, history: &str) -> String {
    format!(
        "<tsl:TSPService><tsl:ServiceInformation>\
         <tsl:ServiceTypeIdentifier>{CA_QC}</tsl:ServiceTypeIdentifier>\
         <tsl:ServiceName><tsl:Name xml:lang=\"en\">{name}</tsl:Name></tsl:ServiceName>\
         <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>{cert}\
         </tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>\
         <tsl:ServiceStatus>{status}</tsl:ServiceStatus>\
         <tsl:StatusStartingTime>{}</tsl:StatusStartingTime>\
         <tsl:ServiceInformationExtensions><tsl:Extension Critical=\"true\">\
         <ecc:Qualifications><ecc:QualificationElement><ecc:Qualifiers>\
         <ecc:Qualifier uri=\"{EXT}QCWithSSCD\"/></ecc:Qualifiers>\
         <ecc:CriteriaList assert=\"atLeastOne\"><ecc:KeyUsage>\
         <ecc:KeyUsageBit name=\"nonRepudiation\">true</ecc:KeyUsageBit></ecc:KeyUsage>\
         </ecc:CriteriaList></ecc:QualificationElement></ecc:Qualifications></tsl:Extension>\
         <tsl:Extension Critical=\"false\"><tsl:AdditionalServiceInformation>\
         <tsl:URI xml:lang=\"en\">{EXT}ForeSignatures</tsl:URI>\
         </tsl:AdditionalServiceInformation></tsl:Extension>\
         </tsl:ServiceInformationExtensions></tsl:ServiceInformation>{history}</tsl:TSPService>",
        qsign::service::rfc3339(since),
    )
}

fn granted_until(since: i64) -> String {
    format!(
        "<tsl:ServiceHistory><tsl:ServiceHistoryInstance>\
         <tsl:ServiceTypeIdentifier>{CA_QC}</tsl:ServiceTypeIdentifier>\
         <tsl:ServiceName><tsl:Name xml:lang=\"en\">Old CA</tsl:Name></tsl:ServiceName>\
         <tsl:ServiceStatus>{GRANTED}</tsl:ServiceStatus>\
         <tsl:StatusStartingTime>{}</tsl:StatusStartingTime>\
         </tsl:ServiceHistoryInstance></tsl:ServiceHistory>",
        qsign::service::rfc3339(since)
    )
}

/// The test scheme's list of lists (unsigned), pointing to the national lists at `base`.
pub(super) fn lotl_xml(scheme: &Scheme, base: &str) -> String {
    tsl(
        "EU",
        3,
        support::now() + 30 * 86_400,
        &[
            // The LOTL names itself, and a PDF copy of the DK list: neither is followed.
            pointer(
                &format!("{base}/lotl.xml"),
                "EU",
                XML_MIME,
                LOTL_TYPE,
                &scheme.b64("lotl"),
            ),
            pointer(
                &format!("{base}/dk.xml"),
                "DK",
                XML_MIME,
                GENERIC,
                &scheme.b64("dk"),
            ),
            pointer(
                &format!("{base}/dk.pdf"),
                "DK",
                "application/pdf",
                GENERIC,
                &scheme.b64("dk"),
            ),
            pointer(
                &format!("{base}/se.xml"),
                "SE",
                XML_MIME,
                GENERIC,
                &scheme.b64("se"),
            ),
        ]
        .concat(),
        "",
    )
}

/// What the test scheme holds: the URLs of the good and the wrongly signed LOTL, and the
/// signatures by kind.
pub(super) struct Built {
    pub(super) scheme: Scheme,
    pub(super) files: Files,
    pub(super) lotl: String,
    pub(super) lotl_wrong_signer: String,
    pub(super) qc: Vec<u8>,
    pub(super) qc_no_sscd: Vec<u8>,
    pub(super) plain: Vec<u8>,
    pub(super) withdrawn: Vec<u8>,
    pub(super) stray: Vec<u8>,
    /// By a QC for seals from a service for seals (SE).
    pub(super) seal: Vec<u8>,
}

pub(super) async fn build() -> Built {
    let (base, files) = file_server().await;
    let scheme = Scheme {
        dir: tempfile::tempdir().unwrap(),
        base: base.clone(),
    };
    scheme.list_signer("lotl", "/CN=Test LOTL Signer/C=EU");
    scheme.list_signer("intruder", "/CN=Test LOTL Signer/C=EU");
    scheme.list_signer("dk", "/CN=Test DK TL Signer/C=DK");
    scheme.list_signer("se", "/CN=Test SE TL Signer/C=SE");
    scheme.ca("qca", "/CN=QCA/C=DK", &files);
    scheme.ca("old", "/CN=Old CA/C=DK", &files);
    scheme.ca("stray", "/CN=Stray CA/C=DK", &files);
    scheme.ca("seca", "/CN=SE CA/C=SE", &files);
    scheme.ca("sealca", "/CN=SE Seal CA/C=SE", &files);
    scheme.signer("karen", "qca", Some(QC_SSCD));
    scheme.signer("isak", "qca", Some(QC_ONLY));
    scheme.signer("plain", "qca", None);
    scheme.signer("bror", "old", Some(QC_SSCD));
    scheme.signer("denys", "stray", Some(QC_SSCD));
    scheme.signer("sigill", "sealca", Some(QC_SEAL));
    let now = support::now();
    let day = 86_400;
    let lotl = lotl_xml(&scheme, &base);
    let dk = tsl(
        "DK",
        7,
        now + 30 * day,
        "",
        &provider(
            "Test TSP DK",
            &[
                service(
                    "QCA service",
                    &scheme.b64("qca"),
                    GRANTED,
                    now - 365 * day,
                    "",
                ),
                service(
                    "Old CA service",
                    &scheme.b64("old"),
                    WITHDRAWN,
                    now - 30 * day,
                    &granted_until(now - 3 * 365 * day),
                ),
            ]
            .concat(),
        ),
    );
    let se = tsl(
        "SE",
        2,
        now + 30 * day,
        "",
        &provider(
            "Test TSP SE",
            &[
                service("SE CA service", &scheme.b64("seca"), GRANTED, now - day, ""),
                // The same kind of service, for seals only.
                service(
                    "SE seal service",
                    &scheme.b64("sealca"),
                    GRANTED,
                    now - day,
                    "",
                )
                .replace("ForeSignatures", "ForeSeals"),
            ]
            .concat(),
        ),
    );
    let signed = [
        ("/lotl.xml", scheme.sign_list(&lotl, "lotl", "lotl.xml")),
        (
            "/lotl-intruder.xml",
            scheme.sign_list(&lotl, "intruder", "lotl-intruder.xml"),
        ),
        ("/dk.xml", scheme.sign_list(&dk, "dk", "dk.xml")),
        ("/se.xml", scheme.sign_list(&se, "se", "se.xml")),
    ];
    files
        .lock()
        .unwrap()
        .extend(signed.into_iter().map(|(p, b)| (p.to_owned(), b)));
    Built {
        qc: scheme.cades("karen", "qca"),
        qc_no_sscd: scheme.cades("isak", "qca"),
        plain: scheme.cades("plain", "qca"),
        withdrawn: scheme.cades("bror", "old"),
        stray: scheme.cades("denys", "stray"),
        seal: scheme.cades("sigill", "sealca"),
        lotl: format!("{base}/lotl.xml"),
        lotl_wrong_signer: format!("{base}/lotl-intruder.xml"),
        scheme,
        files,
    }
}
