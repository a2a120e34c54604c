//! Unit tests of reading lists, their budgets, dates and the qualification.

use der::asn1::ObjectIdentifier;

use super::qualification::qualified_status;
use super::*;
use crate::validate::report::Indication;
use crate::validate::xml::XADES;

fn service_xml(name: &str, status: &str, start: &str, history: &str) -> String {
    format!(
        "<tsl:TSPService><tsl:ServiceInformation>\
         <tsl:ServiceTypeIdentifier>{CA_QC}</tsl:ServiceTypeIdentifier>\
         <tsl:ServiceName><tsl:Name xml:lang=\"da\">dansk</tsl:Name>\
         <tsl:Name xml:lang=\"en\">{name}</tsl:Name></tsl:ServiceName>\
         <tsl:ServiceDigitalIdentity/>\
         <tsl:ServiceStatus>{status}</tsl:ServiceStatus>\
         <tsl:StatusStartingTime>{start}</tsl:StatusStartingTime>\
         <tsl:ServiceInformationExtensions><tsl:Extension Critical=\"true\">\
         <ecc:Qualifications><ecc:QualificationElement><ecc:Qualifiers>\
         <ecc:Qualifier uri=\"{SVC_INFO_EXT}QCWithSSCD\"/></ecc:Qualifiers>\
         <ecc:CriteriaList assert=\"atLeastOne\"><ecc:PolicySet><ecc:PolicyIdentifier>\
         <xades:Identifier Qualifier=\"OIDAsURN\">urn:oid:1.2.3.4</xades:Identifier>\
         </ecc:PolicyIdentifier></ecc:PolicySet></ecc:CriteriaList>\
         </ecc:QualificationElement></ecc:Qualifications></tsl:Extension>\
         <tsl:Extension Critical=\"false\"><tsl:AdditionalServiceInformation>\
         <tsl:URI>{SVC_INFO_EXT}ForeSignatures</tsl:URI></tsl:AdditionalServiceInformation>\
         </tsl:Extension></tsl:ServiceInformationExtensions>\
         </tsl:ServiceInformation>{history}</tsl:TSPService>"
    )
}

fn list_xml(services: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <tsl:TrustServiceStatusList xmlns:tsl=\"{TSL}\" xmlns:ecc=\"{ECC}\" \
         xmlns:tslx=\"{TSLX}\" xmlns:xades=\"{XADES}\" Id=\"tsl\">\
         <tsl:SchemeInformation><tsl:TSLSequenceNumber>42</tsl:TSLSequenceNumber>\
         <tsl:SchemeTerritory>DK</tsl:SchemeTerritory>\
         <tsl:ListIssueDateTime>2026-01-01T00:00:00Z</tsl:ListIssueDateTime>\
         <tsl:NextUpdate><tsl:dateTime>2026-07-01T00:00:00Z</tsl:dateTime></tsl:NextUpdate>\
         <tsl:PointersToOtherTSL><tsl:OtherTSLPointer>\
         <tsl:ServiceDigitalIdentities/>\
         <tsl:TSLLocation>http://example.test/se.xml</tsl:TSLLocation>\
         <tsl:AdditionalInformation><tsl:OtherInformation>\
         <tsl:SchemeTerritory>SE</tsl:SchemeTerritory></tsl:OtherInformation>\
         <tsl:OtherInformation><tslx:MimeType>{XML_MIME}</tslx:MimeType>\
         </tsl:OtherInformation></tsl:AdditionalInformation>\
         </tsl:OtherTSLPointer></tsl:PointersToOtherTSL></tsl:SchemeInformation>\
         <tsl:TrustServiceProviderList><tsl:TrustServiceProvider><tsl:TSPInformation>\
         <tsl:TSPName><tsl:Name xml:lang=\"en\">Test TSP</tsl:Name></tsl:TSPName>\
         </tsl:TSPInformation><tsl:TSPServices>{services}</tsl:TSPServices>\
         </tsl:TrustServiceProvider></tsl:TrustServiceProviderList>\
         </tsl:TrustServiceStatusList>"
    )
}

#[test]
fn a_list_is_read_with_its_pointers_services_qualifiers_and_history() {
    let history = "<tsl:ServiceHistory><tsl:ServiceHistoryInstance>\
         <tsl:ServiceTypeIdentifier>x</tsl:ServiceTypeIdentifier>\
         <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted\
         </tsl:ServiceStatus>\
         <tsl:StatusStartingTime>2017-01-01T00:00:00Z</tsl:StatusStartingTime>\
         </tsl:ServiceHistoryInstance></tsl:ServiceHistory>";
    let withdrawn = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn";
    let xml = list_xml(&service_xml(
        "Old CA",
        withdrawn,
        "2024-03-01T10:00:00+01:00",
        history,
    ));
    let list = parse(xml.as_bytes(), &Budget::default()).unwrap();
    assert_eq!(list.territory, "DK");
    assert_eq!(list.sequence_number, Some(42));
    assert_eq!(list.next_update, date_time("2026-07-01T00:00:00Z"));
    let [pointer] = list.pointers.as_slice() else {
        panic!("{:?}", list.pointers)
    };
    assert!(pointer.is_xml() && !pointer.is_list_of_lists());
    assert_eq!(pointer.territory.as_deref(), Some("SE"));
    let service = &list.providers[0].services[0];
    assert_eq!(list.providers[0].name, "Test TSP");
    assert_eq!(service.name, "Old CA", "the English name is chosen");
    assert_eq!(service.periods.len(), 2);
    let period = &service.periods[0];
    assert_eq!(period.qualifications[0].qualifiers.len(), 1);
    assert!(matches!(
        period.qualifications[0].criteria.items[0],
        Criterion::Policies(ref oids) if oids == &[ObjectIdentifier::new_unwrap("1.2.3.4")]
    ));
    assert_eq!(period.scope(), (true, false));
    // The status at a time: granted from 2017 until the withdrawal (09:00 UTC).
    let withdrawal = date_time("2024-03-01T09:00:00Z").unwrap();
    assert_eq!(
        service.period_at(withdrawal - 1).map(|p| p.status.as_str()),
        Some(GRANTED)
    );
    assert_eq!(
        service.period_at(withdrawal).map(|p| p.status.as_str()),
        Some(withdrawn)
    );
    assert!(service
        .period_at(date_time("2016-12-31T23:59:59Z").unwrap())
        .is_none());
    assert!(qualified_status(GRANTED, withdrawal));
    assert!(!qualified_status(withdrawn, withdrawal));
    assert!(qualified_status(BEFORE_EIDAS[2], EIDAS_APPLIES - 1));
    assert!(!qualified_status(BEFORE_EIDAS[2], EIDAS_APPLIES));
}

#[test]
fn a_list_over_its_budgets_is_refused_with_its_code() {
    let one = service_xml("CA", GRANTED, "2020-01-01T00:00:00Z", "");
    let xml = list_xml(&one.repeat(5));
    assert!(parse(xml.as_bytes(), &Budget::default()).is_ok());
    let few = Budget {
        services: 4,
        ..Budget::default()
    };
    let e = parse(xml.as_bytes(), &few).unwrap_err();
    assert_eq!(e.code(), "tl_too_many", "{e}");
    assert!(e.to_string().contains("more than 4 services"), "{e}");
    let small = Budget {
        bytes: 1000,
        ..Budget::default()
    };
    let e = parse(xml.as_bytes(), &small).unwrap_err();
    assert_eq!(e.code(), "xml_too_large", "{e}");
    let short = Budget {
        text: 10,
        ..Budget::default()
    };
    let e = parse(xml.as_bytes(), &short).unwrap_err();
    assert_eq!(e.code(), "tl_too_long", "{e}");
    let history = format!(
        "<tsl:ServiceHistory>{}</tsl:ServiceHistory>",
        "<tsl:ServiceHistoryInstance><tsl:ServiceStatus>s</tsl:ServiceStatus>\
         <tsl:StatusStartingTime>2020-01-01T00:00:00Z</tsl:StatusStartingTime>\
         </tsl:ServiceHistoryInstance>"
            .repeat(3)
    );
    let xml = list_xml(&service_xml(
        "CA",
        GRANTED,
        "2021-01-01T00:00:00Z",
        &history,
    ));
    let brief = Budget {
        history: 2,
        ..Budget::default()
    };
    assert_eq!(
        parse(xml.as_bytes(), &brief).unwrap_err().code(),
        "tl_too_many"
    );
    // Not a list, a DTD, a bad time.
    assert_eq!(
        parse(b"<a/>", &Budget::default()).unwrap_err(),
        Error::NotAList
    );
    assert_eq!(
        parse(b"<!DOCTYPE a []><a/>", &Budget::default())
            .unwrap_err()
            .code(),
        "xml_dtd"
    );
    let bad = list_xml(&service_xml("CA", GRANTED, "yesterday", ""));
    assert_eq!(
        parse(bad.as_bytes(), &Budget::default())
            .unwrap_err()
            .code(),
        "tl_malformed"
    );
}

#[test]
fn an_unsigned_or_partly_signed_list_is_refused() {
    let xml = list_xml("");
    let e = verify(xml.as_bytes(), &[], 0, &Budget::default()).unwrap_err();
    assert_eq!(e.code(), "tl_signature", "{e}");
    // A signature that references only a part of the list.
    let partial = xml.replace(
        "</tsl:TrustServiceStatusList>",
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
         <ds:Reference URI=\"#other\"><ds:Transforms><ds:Transform \
         Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         </ds:Transforms></ds:Reference></ds:SignedInfo></ds:Signature>\
         </tsl:TrustServiceStatusList>",
    );
    let e = verify(partial.as_bytes(), &[], 0, &Budget::default()).unwrap_err();
    assert!(e.to_string().contains("whole list"), "{e}");
}

#[test]
fn times_read_with_fractions_and_offsets() {
    assert_eq!(date_time("2016-07-01T00:00:00Z"), Some(EIDAS_APPLIES));
    assert_eq!(
        date_time("2016-07-01T02:00:00.250+02:00"),
        Some(EIDAS_APPLIES)
    );
    assert_eq!(date_time("2016-06-30T22:00:00-02:00"), Some(EIDAS_APPLIES));
    assert_eq!(date_time("2016-07-01T00:00:00"), Some(EIDAS_APPLIES));
    assert_eq!(date_time("2016-13-01T00:00:00Z"), None);
    assert_eq!(date_time("2016-07-01"), None);
    assert_eq!(date_time("2016-07-01T00:00Z"), None);
}

#[test]
fn without_a_chain_or_a_listed_service_nothing_is_qualified() {
    let set = Set::default();
    assert_eq!(
        set.qualify(Indication::TotalPassed, &[], 0),
        (Level::NotApplicable, None)
    );
    assert_eq!(Level::AdESealQc.as_str(), "AdESeal-QC");
    assert_eq!(Level::IndeterminateQeSig.as_str(), "Indeterminate-QESig");
}
