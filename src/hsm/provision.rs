//! Creating what lives in the token for good: the token itself and the master wrapping key.
//!
//! The master key is the root of custody (DESIGN.md §2). It is created with every attribute set
//! explicitly, because SoftHSM's defaults for AES keys allow encrypt, decrypt, sign, modify and
//! copy: with decrypt on, `C_Decrypt(CKM_AES_ECB)` would be a software unwrap oracle. It also
//! carries `CKA_UNWRAP_TEMPLATE`, so that even a caller holding the PIN and a wrapped blob cannot
//! unwrap a key as extractable or non-sensitive: the token refuses such templates.
//!
//! cryptoki 0.12 has no `Attribute` for `CKA_UNWRAP_TEMPLATE` (an array attribute), so the
//! generation is one raw `C_GenerateKey` through `cryptoki-sys`: the one reviewed `unsafe`
//! block of the project.

use std::ffi::c_void;
use std::path::Path;

use cryptoki::context::Pkcs11;
use cryptoki::error::Rv;
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use cryptoki_sys as sys;

use super::Error;

/// Creates an AES-256 master wrapping key as a token object labelled `label`, for private keys
/// of one type (`ec`: `CKK_EC`, otherwise `CKK_RSA`).
///
/// Its `CKA_UNWRAP_TEMPLATE` fixes everything a PIN holder could otherwise choose when
/// unwrapping a blob: a session object (not token), sensitive, not extractable, not copyable
/// (no permanent copy with `C_CopyObject`), not modifiable (no usage added afterwards), no derive (no ECDH with the user key), no decrypt
/// or unwrap (no oracle), and the class and key type (a blob unwrapped as `CKK_AES` or
/// `CKK_GENERIC_SECRET` would be an oracle over the key bytes). The token refuses any unwrap
/// whose template disagrees.
///
/// `module` must be the path the session's library was loaded from: loading it again returns
/// the same, already initialised library instance, whose function table the raw call uses.
#[allow(unsafe_code)]
pub(crate) fn generate_master_key(
    module: &Path,
    session: &Session,
    label: &str,
    ec: bool,
) -> Result<(), Error> {
    let yes: sys::CK_BBOOL = sys::CK_TRUE;
    let no: sys::CK_BBOOL = sys::CK_FALSE;
    let class: sys::CK_OBJECT_CLASS = sys::CKO_SECRET_KEY;
    let key_type: sys::CK_KEY_TYPE = sys::CKK_AES;
    let value_len: sys::CK_ULONG = 32;
    let mut label_bytes = label.as_bytes().to_vec();
    let unwrapped_class: sys::CK_OBJECT_CLASS = sys::CKO_PRIVATE_KEY;
    let unwrapped_type: sys::CK_KEY_TYPE = if ec { sys::CKK_EC } else { sys::CKK_RSA };

    // What any key unwrapped by the master key must look like (DESIGN.md §2).
    let mut unwrap_template = [
        value_attr(sys::CKA_CLASS, &unwrapped_class),
        value_attr(sys::CKA_KEY_TYPE, &unwrapped_type),
        bool_attr(sys::CKA_TOKEN, &no),
        bool_attr(sys::CKA_SENSITIVE, &yes),
        bool_attr(sys::CKA_EXTRACTABLE, &no),
        bool_attr(sys::CKA_COPYABLE, &no),
        bool_attr(sys::CKA_MODIFIABLE, &no),
        bool_attr(sys::CKA_DERIVE, &no),
        bool_attr(sys::CKA_DECRYPT, &no),
        bool_attr(sys::CKA_UNWRAP, &no),
    ];
    let unwrap_template_len = std::mem::size_of_val(&unwrap_template);

    let mut template = vec![
        value_attr(sys::CKA_CLASS, &class),
        value_attr(sys::CKA_KEY_TYPE, &key_type),
        value_attr(sys::CKA_VALUE_LEN, &value_len),
        ptr_attr(
            sys::CKA_LABEL,
            label_bytes.as_mut_ptr().cast_const().cast(),
            label_bytes.len(),
        ),
        ptr_attr(
            sys::CKA_ID,
            label_bytes.as_mut_ptr().cast_const().cast(),
            label_bytes.len(),
        ),
        bool_attr(sys::CKA_TOKEN, &yes),
        bool_attr(sys::CKA_PRIVATE, &yes),
        bool_attr(sys::CKA_SENSITIVE, &yes),
        bool_attr(sys::CKA_EXTRACTABLE, &no),
        bool_attr(sys::CKA_MODIFIABLE, &no),
        bool_attr(sys::CKA_COPYABLE, &no),
        bool_attr(sys::CKA_WRAP, &yes),
        bool_attr(sys::CKA_UNWRAP, &yes),
        bool_attr(sys::CKA_ENCRYPT, &no),
        bool_attr(sys::CKA_DECRYPT, &no),
        bool_attr(sys::CKA_SIGN, &no),
        bool_attr(sys::CKA_VERIFY, &no),
        bool_attr(sys::CKA_DERIVE, &no),
        ptr_attr(
            sys::CKA_UNWRAP_TEMPLATE,
            unwrap_template.as_mut_ptr().cast_const().cast(),
            unwrap_template_len,
        ),
    ];
    let count = sys::CK_ULONG::try_from(template.len()).map_err(|_| Error::BadTemplate)?;
    let mut mechanism = sys::CK_MECHANISM {
        mechanism: sys::CKM_AES_KEY_GEN,
        pParameter: std::ptr::null_mut(),
        ulParameterLen: 0,
    };
    let mut handle: sys::CK_OBJECT_HANDLE = 0;

    // SAFETY: `Pkcs11::new` dlopens the module the session already uses; the loader returns the
    // same library instance (reference counted), which cryptoki has initialised, so the session
    // handle is valid for it. The symbol is checked before the call. Every pointer in
    // `template` and `unwrap_template` points into locals (`yes`, `no`, `class`, `key_type`,
    // `value_len`, `label_bytes`, `unwrapped_class`, `unwrapped_type`, `unwrap_template`) that
    // outlive the call, with lengths taken
    // from those same values; PKCS#11 only reads the template and writes `handle`. The library
    // is kept loaded until after the call returns.
    let rv = unsafe {
        let lib = sys::Pkcs11::new(module).map_err(|e| Error::ModuleLoad {
            path: module.display().to_string(),
            message: e.to_string(),
        })?;
        if lib.C_GenerateKey.is_err() {
            return Err(Error::MechanismUnsupported("C_GenerateKey".into()));
        }
        lib.C_GenerateKey(
            session.handle(),
            &raw mut mechanism,
            template.as_mut_ptr(),
            count,
            &raw mut handle,
        )
    };
    match Rv::from(rv) {
        Rv::Ok => Ok(()),
        Rv::Error(e) => Err(Error::from_rv("C_GenerateKey(master)", e)),
    }
}

fn bool_attr(kind: sys::CK_ATTRIBUTE_TYPE, value: &sys::CK_BBOOL) -> sys::CK_ATTRIBUTE {
    value_attr(kind, value)
}

/// An attribute whose value is the bytes of `value` (a class, key type or length).
fn value_attr<T>(kind: sys::CK_ATTRIBUTE_TYPE, value: &T) -> sys::CK_ATTRIBUTE {
    ptr_attr(
        kind,
        std::ptr::from_ref(value).cast(),
        std::mem::size_of_val(value),
    )
}

fn ptr_attr(kind: sys::CK_ATTRIBUTE_TYPE, value: *const c_void, len: usize) -> sys::CK_ATTRIBUTE {
    sys::CK_ATTRIBUTE {
        type_: kind,
        pValue: value.cast_mut(),
        ulValueLen: sys::CK_ULONG::try_from(len).unwrap_or(0),
    }
}

/// What [`init_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// The token was created now.
    Created,
    /// A token with that label was already there; nothing changed.
    Existing,
}

/// Creates a token labelled `label` in the first free slot and sets its user PIN, unless a token
/// with that label exists.
///
/// # Errors
/// Module errors, no free slot, PKCS#11 failures.
pub fn init_token(
    pkcs11: &Pkcs11,
    label: &str,
    so_pin: &str,
    user_pin: &str,
) -> Result<TokenStatus, Error> {
    if super::find_slot(pkcs11, label)?.is_some() {
        return Ok(TokenStatus::Existing);
    }
    let slots = pkcs11
        .get_all_slots()
        .map_err(|e| Error::from_ck("C_GetSlotList", e))?;
    let free = slots.into_iter().find(|slot| {
        pkcs11
            .get_token_info(*slot)
            .is_ok_and(|info| !info.token_initialized())
    });
    let slot = free.ok_or(Error::NoFreeSlot)?;
    let so = AuthPin::new(so_pin.into());
    pkcs11
        .init_token(slot, &so, label)
        .map_err(|e| Error::from_ck("C_InitToken", e))?;
    let session = pkcs11
        .open_rw_session(slot)
        .map_err(|e| Error::from_ck("C_OpenSession", e))?;
    session
        .login(UserType::So, Some(&so))
        .map_err(|e| Error::from_ck("C_Login(SO)", e))?;
    session
        .init_pin(&AuthPin::new(user_pin.into()))
        .map_err(|e| Error::from_ck("C_InitPIN", e))?;
    session
        .logout()
        .map_err(|e| Error::from_ck("C_Logout", e))?;
    Ok(TokenStatus::Created)
}
