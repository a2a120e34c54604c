//! The HSM custody rules, on a real SoftHSM token: wrapped keys round-trip and verify with
//! openssl, unwrapped keys are not extractable, the token refuses weakened unwrap templates,
//! and the master key can neither decrypt nor be copied.

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use qsign::hsm::{
    ecdsa_signature_der, Digest, Error, HashAlgorithm, Hsm, KeyAlgorithm, KeyStatus, ServiceKey,
    SignAlgorithm, WrappedKey, MASTER_EC_LABEL, MASTER_RSA_LABEL,
};
use qsign::store::StoredKey;

use crate::support::{self, openssl_verify, sha256, OpensslScheme};

/// What an attacker holding the PIN and a blob could do: a raw PKCS#11 session on the token.
pub(crate) fn raw_session(token: &support::TestToken) -> Session {
    let pkcs11 = qsign::hsm::load_module(&support::module()).unwrap();
    let slot = pkcs11
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| pkcs11.get_token_info(*s).unwrap().label().trim_end() == token.label)
        .unwrap();
    let session = pkcs11.open_rw_session(slot).unwrap();
    match session.login(
        UserType::User,
        Some(&AuthPin::new(token.pin.clone().into())),
    ) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("login: {e}"),
    }
    session
}

fn find(session: &Session, class: ObjectClass, label: &str) -> ObjectHandle {
    session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap()[0]
}

fn unwrap_template(sensitive: bool, extractable: bool, token: bool) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::EC),
        Attribute::Token(token),
        Attribute::Sensitive(sensitive),
        Attribute::Extractable(extractable),
        Attribute::Copyable(false),
        Attribute::Derive(false),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Private(true),
        Attribute::Sign(true),
        // Last: SoftHSM applies the template in order and refuses any attribute after this.
        Attribute::Modifiable(false),
    ]
}

/// The template qsign itself uses, with one attribute replaced (or added).
fn template_with(change: Attribute) -> Vec<Attribute> {
    let mut template = unwrap_template(true, false, false);
    let kind = change.attribute_type();
    template.retain(|a| a.attribute_type() != kind);
    template.push(change);
    template
}

async fn round_trip(algorithm: KeyAlgorithm, scheme: SignAlgorithm, openssl: OpensslScheme) {
    let (_token, hsm) = support::new_hsm(2).await;
    let (store, _dir) = support::sqlite_store().await;
    let (wrapped, spki) = hsm.generate_wrapped(algorithm).await.unwrap();
    store
        .insert_wrapped_key(&StoredKey {
            id: "k1".into(),
            algorithm: algorithm.as_str().into(),
            blob: wrapped.encode(),
            public_key: spki.clone(),
            created_at: 0,
        })
        .await
        .unwrap();
    let stored = store.wrapped_key("k1").await.unwrap();
    let blob = WrappedKey::decode(&stored.blob).unwrap();
    assert_eq!(blob.algorithm(), algorithm);

    let data = b"a contract both parties agreed to";
    let digest = Digest::new(HashAlgorithm::Sha256, sha256(data)).unwrap();
    let raw = hsm
        .sign_with_wrapped(&blob, scheme, vec![digest])
        .await
        .unwrap()
        .remove(0);
    let signature = if algorithm.is_ec() {
        ecdsa_signature_der(&raw).unwrap()
    } else {
        raw
    };
    assert!(
        openssl_verify(&stored.public_key, data, &signature, openssl),
        "openssl rejected it"
    );
    assert!(
        !openssl_verify(
            &stored.public_key,
            b"a contract nobody agreed to",
            &signature,
            openssl
        ),
        "openssl accepted a signature over other data"
    );
    assert_eq!(hsm.stats().unwraps, 1);
}

#[tokio::test]
async fn wrapped_p256_key_round_trips_and_verifies_with_openssl() {
    round_trip(
        KeyAlgorithm::EcP256,
        SignAlgorithm::Ecdsa,
        OpensslScheme::Ecdsa,
    )
    .await;
}

#[tokio::test]
async fn wrapped_p384_key_round_trips_and_verifies_with_openssl() {
    round_trip(
        KeyAlgorithm::EcP384,
        SignAlgorithm::Ecdsa,
        OpensslScheme::Ecdsa,
    )
    .await;
}

#[tokio::test]
async fn wrapped_rsa3072_pss_round_trips_and_verifies_with_openssl() {
    round_trip(
        KeyAlgorithm::Rsa3072,
        SignAlgorithm::RsaPss,
        OpensslScheme::RsaPss,
    )
    .await;
}

#[tokio::test]
async fn wrapped_rsa3072_pkcs1_round_trips_and_verifies_with_openssl() {
    round_trip(
        KeyAlgorithm::Rsa3072,
        SignAlgorithm::RsaPkcs1v15,
        OpensslScheme::RsaPkcs1,
    )
    .await;
}

#[tokio::test]
async fn unwrapped_key_is_sensitive_and_not_extractable() {
    let (token, hsm) = support::new_hsm(1).await;
    let (wrapped, _) = hsm.generate_wrapped(KeyAlgorithm::EcP256).await.unwrap();
    let session = raw_session(&token);
    let master = find(&session, ObjectClass::SECRET_KEY, MASTER_EC_LABEL);
    let key = session
        .unwrap_key(
            &Mechanism::AesKeyWrapPad,
            master,
            wrapped.wrapped_bytes(),
            &unwrap_template(true, false, false),
        )
        .unwrap();
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::Extractable,
                AttributeType::Sensitive,
                AttributeType::Token,
            ],
        )
        .unwrap();
    assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Token(false)), "{attrs:?}");
    // Neither wrapping it out again nor reading its value works.
    assert!(session
        .wrap_key(&Mechanism::AesKeyWrapPad, master, key)
        .is_err());
    let value = session.get_attributes(key, &[AttributeType::Value]);
    assert!(!matches!(value, Ok(ref v) if v.iter().any(|a| matches!(a, Attribute::Value(_)))));
    session.destroy_object(key).unwrap();
}

#[tokio::test]
async fn unwrap_with_weakened_templates_is_refused_by_the_token() {
    let (token, hsm) = support::new_hsm(1).await;
    let (wrapped, _) = hsm.generate_wrapped(KeyAlgorithm::EcP256).await.unwrap();
    let session = raw_session(&token);
    let master = find(&session, ObjectClass::SECRET_KEY, MASTER_EC_LABEL);
    for (sensitive, extractable, token_object, what) in [
        (false, false, false, "Sensitive(false)"),
        (true, true, false, "Extractable(true)"),
        (false, true, false, "Sensitive(false) + Extractable(true)"),
        (true, false, true, "Token(true)"),
    ] {
        let result = session.unwrap_key(
            &Mechanism::AesKeyWrapPad,
            master,
            wrapped.wrapped_bytes(),
            &unwrap_template(sensitive, extractable, token_object),
        );
        assert!(result.is_err(), "unwrap with {what} was allowed");
    }
    // Usages a PIN holder could add, and other classes or types that would turn the blob into
    // an oracle over the key bytes.
    for change in [
        Attribute::Copyable(true),
        Attribute::Modifiable(true),
        Attribute::Derive(true),
        Attribute::Decrypt(true),
        Attribute::Unwrap(true),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::KeyType(KeyType::AES),
        Attribute::KeyType(KeyType::RSA),
    ] {
        let what = format!("{change:?}");
        let result = session.unwrap_key(
            &Mechanism::AesKeyWrapPad,
            master,
            wrapped.wrapped_bytes(),
            &template_with(change),
        );
        assert!(result.is_err(), "unwrap with {what} was allowed");
    }
    let secret = session.unwrap_key(
        &Mechanism::AesKeyWrapPad,
        master,
        wrapped.wrapped_bytes(),
        &[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(false),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ],
    );
    assert!(secret.is_err(), "unwrap as a generic secret was allowed");
    // Leaving out an attribute of the template is refused too.
    let mut missing = unwrap_template(true, false, false);
    missing.retain(|a| a.attribute_type() != AttributeType::Copyable);
    assert!(
        session
            .unwrap_key(
                &Mechanism::AesKeyWrapPad,
                master,
                wrapped.wrapped_bytes(),
                &missing
            )
            .is_err(),
        "unwrap without Copyable(false) was allowed"
    );
    // The key unwrapped as qsign does cannot be copied into a permanent token object, nor
    // used to derive.
    let key = session
        .unwrap_key(
            &Mechanism::AesKeyWrapPad,
            master,
            wrapped.wrapped_bytes(),
            &unwrap_template(true, false, false),
        )
        .unwrap();
    assert!(
        session.copy_object(key, &[Attribute::Token(true)]).is_err(),
        "C_CopyObject to a token object worked"
    );
    assert!(
        session.copy_object(key, &[]).is_err(),
        "C_CopyObject worked"
    );
    assert!(
        session
            .update_attributes(key, &[Attribute::Derive(true)])
            .is_err(),
        "made derivable"
    );
    session.destroy_object(key).unwrap();
    // An RSA blob does not unwrap under the EC master, nor as EC under its own.
    let (rsa, _) = hsm.generate_wrapped(KeyAlgorithm::Rsa3072).await.unwrap();
    assert_eq!(rsa.master_label(), MASTER_RSA_LABEL);
    let rsa_master = find(&session, ObjectClass::SECRET_KEY, MASTER_RSA_LABEL);
    assert!(session
        .unwrap_key(
            &Mechanism::AesKeyWrapPad,
            rsa_master,
            rsa.wrapped_bytes(),
            &unwrap_template(true, false, false),
        )
        .is_err());
}

#[tokio::test]
async fn master_key_cannot_encrypt_decrypt_sign_or_be_copied() {
    let (token, _hsm) = support::new_hsm(1).await;
    let session = raw_session(&token);
    let master = find(&session, ObjectClass::SECRET_KEY, MASTER_EC_LABEL);
    assert!(
        session
            .decrypt(&Mechanism::AesEcb, master, &[0u8; 16])
            .is_err(),
        "AES-ECB decrypt worked"
    );
    assert!(
        session
            .encrypt(&Mechanism::AesEcb, master, &[0u8; 16])
            .is_err(),
        "AES-ECB encrypt worked"
    );
    assert!(
        session
            .copy_object(master, &[Attribute::Token(false)])
            .is_err(),
        "copy worked"
    );
    assert!(session.copy_object(master, &[]).is_err(), "copy worked");
    assert!(
        session
            .update_attributes(master, &[Attribute::Decrypt(true)])
            .is_err(),
        "made decryptable"
    );
    let attrs = session
        .get_attributes(
            master,
            &[
                AttributeType::Extractable,
                AttributeType::Sensitive,
                AttributeType::Modifiable,
                AttributeType::Copyable,
            ],
        )
        .unwrap();
    for expected in [
        Attribute::Extractable(false),
        Attribute::Sensitive(true),
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
    ] {
        assert!(
            attrs.contains(&expected),
            "{expected:?} missing from {attrs:?}"
        );
    }
}

#[tokio::test]
async fn tampered_blob_does_not_unwrap_and_leaves_no_object() {
    let (token, hsm) = support::new_hsm(1).await;
    let (wrapped, _) = hsm.generate_wrapped(KeyAlgorithm::EcP256).await.unwrap();
    let mut blob = wrapped.encode();
    let last = blob.len() - 1;
    blob[last] ^= 0x01;
    let tampered = WrappedKey::decode(&blob).unwrap();
    let digest = Digest::new(HashAlgorithm::Sha256, vec![7; 32]).unwrap();
    assert!(hsm
        .sign_with_wrapped(&tampered, SignAlgorithm::Ecdsa, vec![digest])
        .await
        .is_err());
    let session = raw_session(&token);
    let private_keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Token(false),
        ])
        .unwrap();
    assert!(
        private_keys.is_empty(),
        "session key objects left behind: {}",
        private_keys.len()
    );
}

#[tokio::test]
async fn signing_leaves_no_session_key_objects() {
    let (token, hsm) = support::new_hsm(2).await;
    let (wrapped, _) = hsm.generate_wrapped(KeyAlgorithm::EcP256).await.unwrap();
    for _ in 0..5 {
        let digest = Digest::new(HashAlgorithm::Sha256, vec![1; 32]).unwrap();
        hsm.sign_with_wrapped(&wrapped, SignAlgorithm::Ecdsa, vec![digest])
            .await
            .unwrap();
    }
    // A scheme that does not fit the key fails before any unwrap.
    let digest = Digest::new(HashAlgorithm::Sha256, vec![1; 32]).unwrap();
    assert!(matches!(
        hsm.sign_with_wrapped(&wrapped, SignAlgorithm::RsaPss, vec![digest])
            .await,
        Err(Error::AlgorithmMismatch { .. })
    ));
    let session = raw_session(&token);
    let leftovers = session.find_objects(&[Attribute::Token(false)]).unwrap();
    assert!(
        leftovers.is_empty(),
        "{} session objects left",
        leftovers.len()
    );
}

#[tokio::test]
async fn service_keys_are_created_once_and_keep_their_public_keys() {
    let (_token, hsm) = support::new_hsm(1).await;
    let before = hsm.public_key(ServiceKey::RootCa).await.unwrap();
    let again = hsm.ensure_keys().await.unwrap();
    assert_eq!(again.len(), 4 + ServiceKey::ALL.len());
    assert_eq!(ServiceKey::ALL.len(), 8);
    assert!(
        again.iter().all(|(_, s)| *s == KeyStatus::Existing),
        "{again:?}"
    );
    assert_eq!(hsm.public_key(ServiceKey::RootCa).await.unwrap(), before);
}

#[tokio::test]
async fn service_key_signatures_verify_with_openssl_under_concurrency() {
    let (_token, hsm) = support::new_hsm(4).await;
    let spki = hsm.public_key(ServiceKey::Audit).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..32u32 {
        let hsm = hsm.clone();
        tasks.push(tokio::spawn(async move {
            let data = format!("checkpoint {i}").into_bytes();
            let digest = Digest::new(HashAlgorithm::Sha256, sha256(&data)).unwrap();
            let raw = hsm
                .sign(ServiceKey::Audit, SignAlgorithm::Ecdsa, digest)
                .await
                .unwrap();
            (data, ecdsa_signature_der(&raw).unwrap())
        }));
    }
    for task in tasks {
        let (data, sig) = task.await.unwrap();
        assert!(openssl_verify(&spki, &data, &sig, OpensslScheme::Ecdsa));
    }
    assert!(hsm.stats().idle_sessions <= 4);
}

#[tokio::test]
async fn lost_login_is_rebuilt_transparently() {
    let (token, hsm) = support::new_hsm(2).await;
    let rebuilds = hsm.stats().rebuilds;
    // Another part of the process logs the application out of the token.
    let session = raw_session(&token);
    session.logout().unwrap();
    let digest = Digest::new(HashAlgorithm::Sha256, vec![3; 32]).unwrap();
    hsm.sign(ServiceKey::Sad, SignAlgorithm::Ecdsa, digest)
        .await
        .unwrap();
    assert_eq!(hsm.stats().rebuilds, rebuilds + 1);
}

#[tokio::test]
async fn wrong_pin_missing_token_and_missing_module_are_distinct_errors() {
    let token = support::new_token();
    let mut options = token.options(1);
    options.pin = zeroize::Zeroizing::new("not-the-pin".into());
    assert!(matches!(Hsm::open(options), Err(Error::WrongPin(_))));

    let mut options = token.options(1);
    options.token_label = "no-such-token".into();
    assert!(matches!(Hsm::open(options), Err(Error::TokenMissing(_))));

    let mut options = token.options(1);
    options.module = "/nonexistent/libpkcs11.so".into();
    assert!(matches!(Hsm::open(options), Err(Error::ModuleMissing(_))));

    let mut options = token.options(1);
    options.module = "/etc/hostname".into();
    assert!(matches!(Hsm::open(options), Err(Error::ModuleLoad { .. })));
}

#[tokio::test]
async fn token_creation_is_idempotent() {
    let token = support::new_token();
    let again = qsign::hsm::init_token(&support::module(), &token.label, &token.so_pin, &token.pin)
        .unwrap();
    assert_eq!(again, qsign::hsm::TokenStatus::Existing);
    let _ = Pkcs11::new(support::module()).unwrap();
}

#[tokio::test]
async fn digests_of_the_wrong_length_are_rejected() {
    assert!(matches!(
        Digest::new(HashAlgorithm::Sha256, vec![0; 31]),
        Err(qsign::types::DigestError::WrongLength {
            expected: 32,
            got: 31
        })
    ));
}

#[tokio::test]
async fn sealed_data_opens_only_with_its_binding_and_the_data_key_stays_in_the_token() {
    let (token, hsm) = support::new_hsm(1).await;
    let sealed = hsm
        .seal(b"JBSWY3DPEHPK3PXP".to_vec(), b"person-1".to_vec())
        .await
        .unwrap();
    assert_eq!(sealed[0], 1);
    assert!(
        !sealed.windows(8).any(|w| w == b"JBSWY3DP"),
        "plaintext visible"
    );
    assert_eq!(
        hsm.unseal(sealed.clone(), b"person-1".to_vec())
            .await
            .unwrap(),
        b"JBSWY3DPEHPK3PXP"
    );
    assert!(
        hsm.unseal(sealed.clone(), b"person-2".to_vec())
            .await
            .is_err(),
        "opened for another person"
    );
    let mut tampered = sealed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(hsm.unseal(tampered, b"person-1".to_vec()).await.is_err());
    assert!(hsm
        .unseal(vec![1, 2, 3], b"person-1".to_vec())
        .await
        .is_err());
    // Two seals of the same value differ (a fresh IV each time).
    let again = hsm
        .seal(b"JBSWY3DPEHPK3PXP".to_vec(), b"person-1".to_vec())
        .await
        .unwrap();
    assert_ne!(sealed, again);

    let session = raw_session(&token);
    let data = find(
        &session,
        ObjectClass::SECRET_KEY,
        qsign::hsm::DATA_KEY_LABEL,
    );
    let attrs = session
        .get_attributes(
            data,
            &[
                AttributeType::Extractable,
                AttributeType::Wrap,
                AttributeType::Unwrap,
                AttributeType::Sensitive,
            ],
        )
        .unwrap();
    for expected in [
        Attribute::Extractable(false),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sensitive(true),
    ] {
        assert!(
            attrs.contains(&expected),
            "{expected:?} missing from {attrs:?}"
        );
    }
    let (wrapped, _) = hsm.generate_wrapped(KeyAlgorithm::EcP256).await.unwrap();
    assert!(
        session
            .unwrap_key(
                &Mechanism::AesKeyWrapPad,
                data,
                wrapped.wrapped_bytes(),
                &unwrap_template(true, false, false)
            )
            .is_err(),
        "the data key unwrapped a user key"
    );
}

/// A record tag that verified is remembered, so the same row read again costs no HSM call;
/// any changed byte of the row or of its tag goes to the HSM again and is refused.
#[tokio::test]
async fn verified_record_tags_are_remembered_but_a_changed_byte_is_checked_again() {
    let (_token, hsm) = support::new_hsm(1).await;
    let message = b"credential|owner|policy".to_vec();
    let tag = hsm.mac(vec![message.clone()]).await.unwrap().remove(0);
    let pair = (message.clone(), tag.clone());
    assert_eq!(hsm.mac_verify(vec![pair.clone()]).await.unwrap(), [true]);
    let before = hsm.stats().operations;
    assert_eq!(hsm.mac_verify(vec![pair.clone()]).await.unwrap(), [true]);
    assert_eq!(hsm.stats().operations, before, "answered from memory");

    let mut other_tag = tag.clone();
    other_tag[0] ^= 1;
    let mut other_message = message.clone();
    other_message[0] ^= 1;
    let answers = hsm
        .mac_verify(vec![
            (message.clone(), other_tag),
            pair,
            (other_message, tag),
            (message, Vec::new()),
        ])
        .await
        .unwrap();
    assert_eq!(answers, [false, true, false, false]);
    assert_eq!(
        hsm.stats().operations,
        before + 1,
        "the changed pairs went to the HSM"
    );
}

/// The key of a short-lived certificate: a session object that cannot be read, wrapped out or
/// copied onto the token while it exists, signs once, and is gone afterwards; one never used is
/// gone once dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ephemeral_key_signs_once_cannot_leave_and_leaves_nothing_behind() {
    let (token, hsm) = support::new_hsm(2).await;
    let session = raw_session(&token);
    let objects = |label: &str| {
        session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .unwrap()
    };
    let (key, spki) = hsm.generate_ephemeral(KeyAlgorithm::EcP256).await.unwrap();
    let label = key.label().to_owned();
    assert!(label.starts_with(qsign::hsm::EPHEMERAL_LABEL_PREFIX));
    let private = session
        .find_objects(&[
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Class(ObjectClass::PRIVATE_KEY),
        ])
        .unwrap();
    assert_eq!(private.len(), 1);
    let attrs = session
        .get_attributes(
            private[0],
            &[
                AttributeType::Token,
                AttributeType::Sensitive,
                AttributeType::Extractable,
            ],
        )
        .unwrap();
    assert!(attrs.contains(&Attribute::Token(false)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
    // Someone holding the PIN cannot keep a copy on the token, nor wrap it out.
    assert!(session
        .copy_object(private[0], &[Attribute::Token(true)])
        .is_err());
    let master = find(&session, ObjectClass::SECRET_KEY, MASTER_EC_LABEL);
    assert!(session
        .wrap_key(&Mechanism::AesKeyWrapPad, master, private[0])
        .is_err());
    assert_eq!(objects(&label).len(), 2, "the key pair");

    let data = b"one signing operation";
    let digest = Digest::new(HashAlgorithm::Sha256, sha256(data)).unwrap();
    let signatures = key
        .sign_and_destroy(SignAlgorithm::Ecdsa, vec![digest])
        .await
        .unwrap();
    let der = ecdsa_signature_der(&signatures[0]).unwrap();
    assert!(openssl_verify(&spki, data, &der, OpensslScheme::Ecdsa));
    assert!(objects(&label).is_empty(), "destroyed after signing");

    // A scheme that does not fit fails and destroys the key too.
    let (key, _) = hsm.generate_ephemeral(KeyAlgorithm::EcP256).await.unwrap();
    let label = key.label().to_owned();
    let digest = Digest::new(HashAlgorithm::Sha256, sha256(data)).unwrap();
    assert!(matches!(
        key.sign_and_destroy(SignAlgorithm::RsaPss, vec![digest])
            .await,
        Err(Error::AlgorithmMismatch { .. })
    ));
    // A key never used: destroyed when dropped (on a blocking thread).
    let (unused, _) = hsm.generate_ephemeral(KeyAlgorithm::EcP256).await.unwrap();
    let unused_label = unused.label().to_owned();
    assert_eq!(objects(&unused_label).len(), 2);
    drop(unused);
    for _ in 0..100 {
        if objects(&label).is_empty() && objects(&unused_label).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(objects(&label).is_empty() && objects(&unused_label).is_empty());
    assert!(session
        .find_objects(&[Attribute::Token(false)])
        .unwrap()
        .is_empty());
}
