//! A user for the PDF benchmarks (`pades`, `validate`): a new user key of the service and the
//! validation data that a B-LT signature with it embeds.

use qsign::formats::pades::Validation;
use qsign::hsm::WrappedKey;

use crate::fixtures::{user_key, Service};

/// A new user key, its certificate (DER), and the validation data for that certificate.
pub async fn key_with_validation(svc: &Service) -> (WrappedKey, Vec<u8>, Validation) {
    let (wrapped, cert) = user_key(svc).await;
    let validation = svc
        .service
        .documents
        .pdf_validation(std::slice::from_ref(&cert))
        .await
        .unwrap();
    (wrapped, cert, validation)
}
