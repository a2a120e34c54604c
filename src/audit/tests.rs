//! Unit tests of record checking and checkpoint digests.

use super::record::check_row;
use super::*;

fn row(seq: i64, prev: &[u8], event: Event) -> AuditRow {
    let record = Record {
        v: RECORD_VERSION,
        seq,
        at: 1000 + seq,
        actor: Actor::System,
        subject: Some("s".into()),
        request_id: None,
        event: event.clone(),
    };
    let bytes = serde_json::to_vec(&record).unwrap();
    AuditRow {
        seq,
        at: 1000 + seq,
        actor: "system".into(),
        event: event.name(),
        subject: Some("s".into()),
        request_id: None,
        hash: chain_hash(prev, &bytes).to_vec(),
        record: bytes,
    }
}

#[test]
fn event_names_are_stable_snake_case() {
    assert_eq!(Event::ServiceStopped.name(), "service_stopped");
    assert_eq!(
        Event::TimestampIssued {
            serial: "a".into(),
            hash_algorithm: "sha256".into(),
            imprint: "b".into()
        }
        .name(),
        "timestamp_issued"
    );
}

#[test]
fn a_good_row_checks_and_every_changed_byte_fails() {
    let r = row(1, &[0; 32], Event::ServiceStopped);
    check_row(&r, &[0; 32]).unwrap();
    for i in 0..r.record.len() {
        let mut bad = r.clone();
        bad.record[i] ^= 0x01;
        assert!(
            check_row(&bad, &[0; 32]).is_err(),
            "byte {i} flipped and still fine"
        );
    }
    assert!(check_row(&r, &[1; 32]).is_err());
}

#[test]
fn re_encoded_rows_must_match_their_columns() {
    let mut r = row(1, &[0; 32], Event::ServiceStopped);
    r.actor = "person:x".into();
    assert_eq!(
        check_row(&r, &[0; 32]),
        Err("indexed columns differ from the record")
    );
}

#[test]
fn checkpoint_digest_binds_seq_and_hash() {
    assert_ne!(
        checkpoint_digest(1, &[0; 32]),
        checkpoint_digest(2, &[0; 32])
    );
    assert_ne!(
        checkpoint_digest(1, &[0; 32]),
        checkpoint_digest(1, &[1; 32])
    );
}

#[test]
fn person_ids_encode_as_the_hyphenated_uuid_they_always_were() {
    let text = "6f1c2b9e-3d4a-4e5f-8a7b-0c1d2e3f4a5b";
    let id = crate::types::PersonId::parse(text).unwrap();
    let actor = Actor::Person(id);
    let json = format!(r#"{{"kind":"person","id":"{text}"}}"#);
    assert_eq!(serde_json::to_string(&actor).unwrap(), json);
    assert_eq!(serde_json::from_str::<Actor>(&json).unwrap(), actor);
    assert_eq!(serde_json::to_value(&actor).unwrap(), uuid_actor(text));
    assert_eq!(actor.key(), format!("person:{text}"));
    let event = Event::MemberInvited {
        cvr: "35408002".into(),
        person: Some(id),
        admin: false,
    };
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        format!(r#"{{"type":"member_invited","cvr":"35408002","person":"{text}","admin":false}}"#)
    );
}

/// The encoding an actor had when it held a bare `uuid::Uuid`.
fn uuid_actor(text: &str) -> serde_json::Value {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "snake_case", tag = "kind", content = "id")]
    enum Old {
        Person(uuid::Uuid),
    }
    serde_json::to_value(Old::Person(uuid::Uuid::parse_str(text).unwrap())).unwrap()
}

/// The mandate events keep the encoding they had as variants with their own fields: the
/// payload's fields beside `type`, in the same order (the chain hashes these bytes).
#[test]
fn mandate_events_encode_their_fields_beside_the_type_as_they_always_did() {
    let text = "6f1c2b9e-3d4a-4e5f-8a7b-0c1d2e3f4a5b";
    let id = crate::types::PersonId::parse(text).unwrap();
    let parties = MandateParties {
        mandate: "m-1".into(),
        grantor: "35408002".into(),
        grantee_cvr: None,
        grantee_person: Some(id),
    };
    let offered = Event::MandateOffered(NewMandate {
        parties: parties.clone(),
        scope: "sign_on_behalf".into(),
        valid_from: 1_750_000_000,
        valid_until: 1_750_003_600,
    });
    let revoked = Event::MandateRevoked(parties);
    let assigned = Event::MandateAssigned(MandateMember {
        mandate: "m-2".into(),
        grantor: "35408002".into(),
        grantee_cvr: "25313763".into(),
        person: id,
    });
    for (event, name, json) in [
        (
            offered,
            "mandate_offered",
            format!(
                r#"{{"type":"mandate_offered","mandate":"m-1","grantor":"35408002","grantee_cvr":null,"grantee_person":"{text}","scope":"sign_on_behalf","valid_from":1750000000,"valid_until":1750003600}}"#
            ),
        ),
        (
            revoked,
            "mandate_revoked",
            format!(
                r#"{{"type":"mandate_revoked","mandate":"m-1","grantor":"35408002","grantee_cvr":null,"grantee_person":"{text}"}}"#
            ),
        ),
        (
            assigned,
            "mandate_assigned",
            format!(
                r#"{{"type":"mandate_assigned","mandate":"m-2","grantor":"35408002","grantee_cvr":"25313763","person":"{text}"}}"#
            ),
        ),
    ] {
        assert_eq!(serde_json::to_string(&event).unwrap(), json);
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
        assert_eq!(event.name(), name);
        check_row(&row(1, &[0; 32], event), &[0; 32]).unwrap();
    }
}
