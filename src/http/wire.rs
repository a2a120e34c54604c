//! Typed JSON bodies shared by several handlers, and the check that `docs/openapi.json`
//! documents exactly the members of every request and response type.
//!
//! Each body type implements, in tests, [`RequestBody`] (a sample body) or [`ResponseBody`]
//! (sample values) next to its definition. The unit test below reads the members serde
//! actually reads or writes — for a request the field list of its `Deserialize` (with the
//! aliases), for a response the keys of its serialised samples — and compares them, nested
//! objects included, with the schema the document gives the operation.

use serde::Serialize;
use serde_json::Value;

/// A WebAuthn ceremony's start: the state id to send back with the result, and the options
/// for `navigator.credentials.create` or `.get`.
#[derive(Debug, Serialize)]
pub struct Ceremony {
    /// The state id.
    pub state: String,
    /// The options (as webauthn-rs makes them).
    pub options: Value,
}

impl Ceremony {
    /// The reply to a ceremony's start: the state id and the options, as the service makes
    /// them.
    pub fn reply((state, options): (String, Value)) -> super::extract::Json<Self> {
        super::extract::Json(Self { state, options })
    }
}

/// Where the browser goes next.
#[derive(Debug, Serialize)]
pub struct Location {
    /// A path or URL.
    pub location: String,
}

#[cfg(test)]
pub use check::{request_shape, RequestBody, ResponseBody, Shape};

/// Implements [`RequestBody`] for body types, each as `Type => sample;` with the sample body
/// (a `json!` value), or `Type => sample, members: ["name" => Type, …];` for one whose
/// members hold objects read by their own types.
#[cfg(test)]
macro_rules! request_samples {
    ($($body:ty => $sample:expr $(, members: [$($member:literal => $shape:ty),+])?;)+) => {$(
        impl $crate::http::wire::RequestBody for $body {
            fn sample() -> serde_json::Value {
                $sample
            }
            $(
                fn members() -> Vec<(&'static str, $crate::http::wire::Shape)> {
                    vec![$(($member, $crate::http::wire::request_shape::<$shape>())),+]
                }
            )?
        }
    )+};
}

/// Implements [`ResponseBody`] for reply types, each as `Type => [sample, …];`.
#[cfg(test)]
macro_rules! response_samples {
    ($($body:ty => [$($sample:expr),+ $(,)?];)+) => {$(
        impl $crate::http::wire::ResponseBody for $body {
            fn samples() -> Vec<Self> {
                vec![$($sample),+]
            }
        }
    )+};
}

#[cfg(test)]
pub(crate) use request_samples;
#[cfg(test)]
pub(crate) use response_samples;

#[cfg(test)]
mod check {
    use std::cell::Cell;
    use std::collections::{BTreeMap, BTreeSet};

    use serde::de::{DeserializeOwned, Visitor};
    use serde::Serialize;
    use serde_json::{Map, Value};

    /// A request body type, with a sample to check it by.
    pub trait RequestBody: DeserializeOwned {
        /// A body the type accepts that sets every member it reads (aliases aside), each
        /// with a value of the right type.
        fn sample() -> Value;

        /// The shapes of members that hold objects (or arrays of them) read by their own
        /// type, by member name.
        fn members() -> Vec<(&'static str, Shape)> {
            Vec::new()
        }
    }

    /// A response body type, with samples to check it by.
    pub trait ResponseBody: Serialize + Sized {
        /// Values that together show every member: one with every optional member, and one
        /// without each member that is not always there.
        fn samples() -> Vec<Self>;
    }

    /// The members of a JSON object type.
    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    pub struct Shape {
        /// Every member name.
        pub keys: BTreeSet<String>,
        /// Requests: the members that must be sent. Responses: those always there.
        pub required: BTreeSet<String>,
        /// The shapes of members holding objects (or arrays of objects) with named members.
        pub members: BTreeMap<String, Shape>,
    }

    /// A deserializer that only notes the field list a derived `Deserialize` gives it.
    struct FieldNames<'a>(&'a Cell<Option<&'static [&'static str]>>);

    impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not read as a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.set(Some(fields));
            Err(serde::de::Error::custom("fields noted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    /// The members a request type reads (names and aliases), which of them it requires, and
    /// the shapes its [`RequestBody::members`] gives.
    pub fn request_shape<T: RequestBody>() -> Shape {
        let name = std::any::type_name::<T>();
        let noted = Cell::new(None);
        assert!(T::deserialize(FieldNames(&noted)).is_err());
        let fields = noted
            .get()
            .unwrap_or_else(|| panic!("{name} is not read as a struct with named fields"));
        let keys: BTreeSet<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        let sample = T::sample();
        if let Err(e) = serde_json::from_value::<T>(sample.clone()) {
            panic!("{name}: its sample is refused: {e}");
        }
        let object = sample
            .as_object()
            .unwrap_or_else(|| panic!("{name}: its sample is not an object"));
        for key in object.keys() {
            assert!(
                keys.contains(key),
                "{name}: the sample sets {key}, not read"
            );
        }
        let required = keys
            .iter()
            .filter(|key| {
                let mut without = object.clone();
                without.remove(key.as_str()).is_some()
                    && serde_json::from_value::<T>(Value::Object(without)).is_err()
            })
            .cloned()
            .collect();
        let members = T::members()
            .into_iter()
            .map(|(key, shape)| {
                assert!(keys.contains(key), "{name}: no member {key}");
                (key.to_owned(), shape)
            })
            .collect();
        Shape {
            keys,
            required,
            members,
        }
    }

    /// The members a response type writes, from its samples.
    pub fn response_shape<T: ResponseBody>() -> Shape {
        let name = std::any::type_name::<T>();
        let values: Vec<Value> = T::samples()
            .iter()
            .map(|s| serde_json::to_value(s).unwrap())
            .collect();
        let objects: Vec<&Map<String, Value>> = values
            .iter()
            .map(|v| {
                v.as_object()
                    .unwrap_or_else(|| panic!("{name}: not an object: {v}"))
            })
            .collect();
        seen_shape(&objects).unwrap_or_else(|| panic!("{name}: its samples have no members"))
    }

    /// The shape of the objects seen; `None` when they have no members (a free-form object,
    /// or no object at all).
    fn seen_shape(objects: &[&Map<String, Value>]) -> Option<Shape> {
        let keys: BTreeSet<String> = objects.iter().flat_map(|o| o.keys().cloned()).collect();
        if keys.is_empty() {
            return None;
        }
        let required = keys
            .iter()
            .filter(|key| objects.iter().all(|o| o.contains_key(key.as_str())))
            .cloned()
            .collect();
        let mut members = BTreeMap::new();
        for key in &keys {
            let inner: Vec<&Map<String, Value>> = objects
                .iter()
                .filter_map(|o| o.get(key))
                .flat_map(|v| match v {
                    Value::Object(o) => vec![o],
                    Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
                    _ => Vec::new(),
                })
                .collect();
            if let Some(shape) = seen_shape(&inner) {
                members.insert(key.clone(), shape);
            }
        }
        Some(Shape {
            keys,
            required,
            members,
        })
    }

    /// The schema a `$ref` points to (or the schema itself).
    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
                let target = &doc["components"]["schemas"][name];
                assert!(target.is_object(), "no schema {name}");
                resolve(doc, target)
            }
            None => schema,
        }
    }

    fn collect(
        doc: &Value,
        schema: &Value,
        properties: &mut Map<String, Value>,
        required: &mut BTreeSet<String>,
    ) {
        let schema = resolve(doc, schema);
        for part in schema["allOf"].as_array().into_iter().flatten() {
            collect(doc, part, properties, required);
        }
        if let Some(p) = schema["properties"].as_object() {
            properties.extend(p.clone());
        }
        for r in schema["required"].as_array().into_iter().flatten() {
            required.insert(r.as_str().unwrap().to_owned());
        }
    }

    /// The shape a schema documents (`$ref` and `allOf` followed); `None` for a schema
    /// without properties.
    pub fn documented(doc: &Value, schema: &Value) -> Option<Shape> {
        let mut properties = Map::new();
        let mut required = BTreeSet::new();
        collect(doc, schema, &mut properties, &mut required);
        if properties.is_empty() {
            return None;
        }
        let members = properties
            .iter()
            .filter_map(|(key, p)| {
                let p = resolve(doc, p);
                let p = if p["type"] == "array" {
                    resolve(doc, &p["items"])
                } else {
                    p
                };
                documented(doc, p).map(|shape| (key.clone(), shape))
            })
            .collect();
        Some(Shape {
            keys: properties.keys().cloned().collect(),
            required,
            members,
        })
    }

    /// Whether a shape is a request's (the document must call every member the type
    /// requires required) or a response's (the document may call required only members
    /// that are always there).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Side {
        Request,
        Response,
    }

    /// The differences between a documented shape and a type's, one line each.
    pub fn compare(at: &str, side: Side, doc: &Shape, wire: &Shape, problems: &mut Vec<String>) {
        for key in doc.keys.difference(&wire.keys) {
            problems.push(format!(
                "{at}: documents {key}, which the type does not have"
            ));
        }
        for key in wire.keys.difference(&doc.keys) {
            problems.push(format!("{at}: the type has {key}, which is not documented"));
        }
        for key in doc.required.difference(&doc.keys) {
            problems.push(format!("{at}: requires {key}, which is not a property"));
        }
        let (must, may) = match side {
            Side::Request => (&wire.required, &doc.required),
            Side::Response => (&doc.required, &wire.required),
        };
        for key in must.difference(may).filter(|k| doc.keys.contains(*k)) {
            problems.push(match side {
                Side::Request => {
                    format!("{at}: {key} must be sent, but is not documented as required")
                }
                Side::Response => {
                    format!("{at}: documents {key} as required, but it is not always there")
                }
            });
        }
        let keys: BTreeSet<&String> = doc.members.keys().chain(wire.members.keys()).collect();
        for key in keys {
            let here = format!("{at}.{key}");
            match (doc.members.get(key), wire.members.get(key)) {
                (Some(d), Some(w)) => compare(&here, side, d, w, problems),
                (Some(_), None) => problems.push(format!(
                    "{here}: documented with properties, but the type gives no members"
                )),
                (None, Some(w)) => problems.push(format!(
                    "{here}: the type has members {:?}, which are not documented",
                    w.keys
                )),
                (None, None) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::check::{compare, documented, request_shape, response_shape, Shape, Side};
    use super::{Ceremony, Location};
    use crate::http::{
        cases, credentials, csc, documents, idp, mandates, oauth, ops, orgs, validate,
    };

    response_samples! {
        Ceremony => [Ceremony { state: "d6c1c0e4".into(), options: json!({}) }];
        Location => [Location { location: "/".into() }];
    }

    /// What an operation's request or response body is.
    #[derive(Clone, Copy)]
    enum Body {
        /// No JSON body (none, a form, or bytes of another type).
        None,
        /// A JSON object whose members the document leaves open.
        Opaque,
        /// A typed JSON object.
        Typed(fn() -> Shape),
    }

    /// A JSON operation: method, path, request, the success status and its response.
    type Operation = (&'static str, &'static str, Body, &'static str, Body);

    /// Builds the operation table from lines `method "path" request status response`, where
    /// a body is `-` (no JSON body), `{}` (an object whose members the document leaves open)
    /// or its type in brackets.
    macro_rules! operations {
        (@body $shape:ident -) => {
            Body::None
        };
        (@body $shape:ident {}) => {
            Body::Opaque
        };
        (@body $shape:ident [$ty:ty]) => {
            Body::Typed($shape::<$ty>)
        };
        ($($method:ident $path:literal $request:tt $status:literal $response:tt,)*) => {
            vec![$((
                stringify!($method),
                $path,
                operations!(@body request_shape $request),
                stringify!($status),
                operations!(@body response_shape $response),
            )),*]
        };
    }

    /// Every operation that takes or gives JSON. CSC paths (`/csc/v2/…`) count for v1 too.
    fn operations() -> Vec<Operation> {
        use crate::http::csc::lifecycle as l;
        use crate::http::csc::oob;
        use crate::http::csc::wire as c;
        use crate::service::PasskeyLogin;
        operations! {
            get "/healthz" - 200 [ops::Health],
            get "/readyz" - 200 [ops::Ready],
            get "/.well-known/openid-configuration" - 200 {},
            get "/.well-known/oauth-authorization-server" - 200 {},
            post "/idp/par" - 201 [oauth::ParResponse],
            get "/idp/jwks" - 200 {},
            post "/idp/token" - 200 [idp::TokenResponse],
            post "/idp/authorize/passkey/start" [idp::PageStart] 200 [Ceremony],
            post "/idp/authorize/passkey/finish" [idp::PageLogin] 200 [Location],
            post "/idp/logout" - 204 -,
            post "/idp/passkeys/register/start" [idp::RegisterStart] 200 [Ceremony],
            post "/idp/passkeys/register/finish" [idp::Finish] 204 -,
            post "/idp/passkeys/login/start" [idp::LoginStart] 200 [Ceremony],
            post "/idp/passkeys/login/finish" [PasskeyLogin] 200 [idp::TokenResponse],
            post "/idp/stepup/passkey/start" - 200 [Ceremony],
            post "/idp/stepup/passkey/finish" [idp::Finish] 200 [idp::TokenResponse],
            post "/idp/stepup/totp" [idp::TotpStepUp] 200 [idp::TokenResponse],
            get "/v1/me/history" - 200 [idp::History],
            get "/v1/credentials" - 200 [credentials::Credentials],
            post "/v1/credentials/{id}/{action}" - 200 [credentials::Changed],
            post "/v1/documents" - 201 [documents::UploadResponse],
            post "/v1/documents/{id}/sign" [documents::SignRequest] 200 [documents::SignResponse],
            get "/v1/orgs" - 200 [orgs::Organisations],
            post "/v1/orgs/invitations/accept" [orgs::AcceptRequest] 200 [orgs::Joined],
            get "/v1/orgs/{cvr}/members" - 200 [orgs::Members],
            post "/v1/orgs/{cvr}/invitations" [orgs::InviteRequest] 201 [orgs::Invitation],
            post "/v1/orgs/{cvr}/members/{person}/rights" [orgs::RightRequest] 204 -,
            post "/v1/orgs/{cvr}/seal" - 200 [orgs::Seal],
            get "/v1/orgs/{cvr}/audit" - 200 [orgs::AuditRecords],
            post "/v1/orgs/{cvr}/clients" [orgs::clients::ClientRequest]
                201 [orgs::clients::Client],
            get "/v1/orgs/{cvr}/clients" - 200 [orgs::clients::Clients],
            delete "/v1/orgs/{cvr}/clients/{id}" - 204 -,
            post "/v1/orgs/{cvr}/cases" - 201 [cases::Case],
            get "/v1/orgs/{cvr}/cases" - 200 [cases::Cases],
            get "/v1/orgs/{cvr}/cases/{id}" - 200 [cases::Case],
            post "/v1/orgs/{cvr}/cases/{id}/signing" [cases::SigningRequest]
                201 [documents::UploadResponse],
            get "/v1/orgs/{cvr}/mandates" - 200 [mandates::Mandates],
            post "/v1/orgs/{cvr}/mandates" [mandates::OfferRequest] 201 [mandates::Mandate],
            post "/v1/orgs/{cvr}/mandate-requests" [mandates::MandateRequest]
                201 [mandates::Mandate],
            post "/v1/orgs/{cvr}/mandates/{id}/assignments" [mandates::AssignmentRequest] 204 -,
            post "/v1/orgs/{cvr}/mandates/{id}/{action}" - 200 [mandates::Mandate],
            get "/v1/me/mandates" - 200 [mandates::MyMandates],
            post "/v1/me/mandates/{id}/{action}" - 200 [mandates::Mandate],
            get "/v1/orgs/{cvr}/rule" - 200 [orgs::roles::RuleReply],
            put "/v1/orgs/{cvr}/rule" [orgs::roles::RuleRequest] 200 [orgs::roles::RuleReply],
            post "/v1/orgs/{cvr}/members/{person}/roles" [orgs::roles::RoleRequest] 204 -,
            post "/v1/orgs/{cvr}/members/bulk" - 200 [orgs::bulk::BulkReply],
            get "/v1/orgs/{cvr}/requests" - 200 [orgs::own::Requests],
            post "/v1/orgs/{cvr}/requests" [orgs::own::AccessRequest]
                201 [orgs::own::RequestItem],
            post "/v1/orgs/{cvr}/requests/{id}" [orgs::own::Decision] 204 -,
            get "/v1/me/orgs" - 200 [orgs::own::OwnOrganisations],
            post "/v1/validate" [validate::ValidateRequest] 200 {},
            post "/v1/extend" [validate::ValidateRequest] 200 -,
            post "/csc/v2/info" - 200 [c::InfoResponse],
            post "/csc/v2/auth/login" - 200 [c::LoginResponse],
            post "/csc/v2/auth/revoke" - 204 -,
            post "/csc/v2/credentials/list" [c::ListRequest] 200 [c::ListResponse],
            post "/csc/v2/credentials/info" [c::InfoRequest] 200 [c::CredentialInfoResponse],
            post "/csc/v2/credentials/getChallenge" [c::ChallengeRequest]
                200 [c::ChallengeResponse],
            post "/csc/v2/credentials/authorize" [c::AuthorizeRequest] 200 [c::AuthorizeResponse],
            post "/csc/v2/credentials/authorize" [c::AuthorizeRequest] 202 [oob::PendingResponse],
            post "/csc/v2/credentials/authorizeCheck" [oob::AuthorizeCheckRequest]
                200 [c::AuthorizeResponse],
            post "/csc/v2/credentials/authorizeCheck" [oob::AuthorizeCheckRequest]
                202 [oob::PendingResponse],
            post "/csc/v2/credentials/extendTransaction" [l::ExtendRequest]
                200 [c::AuthorizeResponse],
            post "/csc/v2/credentials/create" [l::CreateRequest] 200 [l::CreateResponse],
            post "/csc/v2/credentials/delete" [l::DeleteRequest] 204 -,
            post "/csc/v2/signatures/signHash" [c::SignHashRequest] 200 [c::SignHashResponse],
            post "/csc/v2/signatures/signHash" [c::SignHashRequest] 202 [c::AcceptedResponse],
            post "/csc/v2/signatures/signDoc" [c::SignDocRequest] 200 [c::SignDocResponse],
            post "/csc/v2/signatures/signDoc" [c::SignDocRequest] 202 [c::AcceptedResponse],
            post "/csc/v2/signatures/signPolling" [c::PollRequest] 200 [c::PollResponse],
            post "/csc/v2/signatures/signPolling" [c::PollRequest] 202 [c::AcceptedResponse],
            post "/csc/v2/signatures/timestamp" [c::TimestampRequest] 200 [c::TimestampResponse],
        }
    }

    /// The JSON schema of a request body or response, if the document gives one.
    fn json_schema(part: &Value) -> Option<&Value> {
        part.get("content")
            .and_then(|c| c.get("application/json"))
            .map(|m| &m["schema"])
    }

    fn check_body(
        doc: &Value,
        at: &str,
        side: Side,
        schema: Option<&Value>,
        body: Body,
        problems: &mut Vec<String>,
    ) {
        match (body, schema) {
            (Body::None, None) => {}
            (Body::None, Some(_)) => problems.push(format!("{at}: documents a JSON body")),
            (_, None) => problems.push(format!("{at}: documents no JSON body")),
            (Body::Opaque, Some(schema)) => {
                if let Some(shape) = documented(doc, schema) {
                    problems.push(format!(
                        "{at}: documents members {:?} of a free-form object",
                        shape.keys
                    ));
                }
            }
            (Body::Typed(shape), Some(schema)) => match documented(doc, schema) {
                Some(d) => compare(at, side, &d, &shape(), problems),
                None => problems.push(format!("{at}: documents no properties")),
            },
        }
    }

    /// `docs/openapi.json` names, for every JSON operation, exactly the members its types
    /// read and write, nested ones included, and calls required every member a request type
    /// requires and only members a response always has. An operation the document gives a
    /// JSON body must be in the table above, so a new one cannot go unchecked.
    #[test]
    fn the_openapi_document_matches_the_wire_types() {
        let doc: Value = serde_json::from_str(include_str!("../../docs/openapi.json")).unwrap();
        let mut problems = Vec::new();
        let mut checked = std::collections::BTreeSet::new();
        for (method, path, request, status, response) in operations() {
            let paths: Vec<String> = match path.strip_prefix("/csc/v2/") {
                Some(rest) => vec![format!("/csc/v1/{rest}"), path.to_owned()],
                None => vec![path.to_owned()],
            };
            for path in paths {
                let at = format!("{} {path}", method.to_uppercase());
                let operation = &doc["paths"][&path][method];
                if !operation.is_object() {
                    problems.push(format!("{at}: not in the document"));
                    continue;
                }
                checked.insert((path.clone(), method.to_owned()));
                let schema = json_schema(&operation["requestBody"]);
                check_body(
                    &doc,
                    &format!("{at} request"),
                    Side::Request,
                    schema,
                    request,
                    &mut problems,
                );
                let reply = &operation["responses"][status];
                if reply.is_object() {
                    let schema = json_schema(reply);
                    check_body(
                        &doc,
                        &format!("{at} {status}"),
                        Side::Response,
                        schema,
                        response,
                        &mut problems,
                    );
                } else {
                    problems.push(format!("{at}: documents no {status} response"));
                }
            }
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let json = json_schema(&operation["requestBody"]).is_some()
                    || operation["responses"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .any(|(status, r)| status != "default" && json_schema(r).is_some());
                if json && !checked.contains(&(path.clone(), method.clone())) {
                    problems.push(format!(
                        "{} {path}: a JSON operation without wire types in this test",
                        method.to_uppercase()
                    ));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "docs/openapi.json:\n{}",
            problems.join("\n")
        );
    }

    /// The check finds a documented member the type lacks, a member the document lacks,
    /// and a member the type requires that the document calls optional.
    #[test]
    fn the_check_finds_drift() {
        let doc = json!({"components": {"schemas": {}}});
        let schema = json!({"type": "object", "required": ["credentialID"], "properties": {
            "credentialID": {"type": "string"}, "SAD": {"type": "string"},
            "hashes": {"type": "array", "items": {"type": "string"}}, "hash": {},
            "hashAlgorithmOID": {}, "hashAlgo": {}, "signAlgo": {}, "signAlgoParams": {},
            "validity_period": {}, "response_uri": {}}});
        let wire = request_shape::<csc::wire::SignHashRequest>();
        let mut problems = Vec::new();
        let documented = documented(&doc, &schema).unwrap();
        compare("signHash", Side::Request, &documented, &wire, &mut problems);
        assert_eq!(
            problems,
            [
                "signHash: documents signAlgoParams, which the type does not have",
                "signHash: the type has operationMode, which is not documented",
                "signHash: the type has signatureQualifier, which is not documented",
                "signHash: signAlgo must be sent, but is not documented as required",
            ],
            "{wire:?}"
        );
    }
}
