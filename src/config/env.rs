//! `QSIGN_*` environment overrides, derived from the configuration types.
//!
//! There is no hand-written list of variables. The built-in default [`Config`] is serialised
//! (its `Serialize` derive is the one description of the keys) with a probe: a small serde
//! serialiser that, unlike TOML's, keeps the keys whose value is `None`, and records for every
//! key only the kind of its value. Each scalar key becomes one override:
//!
//! * the variable is `QSIGN_` and the dotted key path in capitals with `.` as `_`
//!   (`validation.fetch_revocation` is `QSIGN_VALIDATION_FETCH_REVOCATION`); `__` is accepted
//!   for `_` (`QSIGN_HSM__SESSIONS`);
//! * the value is read by the type of the default: a boolean is `true`/`false` (or `1`/`0`,
//!   `yes`/`no`), an integer a whole number, a float a number, and anything serialised as a
//!   string (text, paths, addresses, URLs, enumerations, secrets, which serialise redacted) is
//!   taken as it is. An optional key whose default is `None` shows no type; it is read as
//!   text, which every such key is (a URL, a path, an OID or a secret). serde then checks the
//!   value against the field's real type, and validation checks that it makes sense;
//! * arrays and tables of arrays (trust anchors, clients, external issuers, operators) are set
//!   in the file only.
//!
//! So adding a field to a configuration struct adds its variable, with the right type (a field
//! must therefore never skip serialisation, and an optional one without a default must be
//! text). Tests hold the rest together: every variable that `examples/qsign.toml` names is an
//! override and every override is named there, every override reaches a field of its type, and
//! `qsign config check` accepts each of them.

use std::fmt;

use serde::ser::{self, Serialize, Serializer};

use super::{Config, Error};

/// Variables with the `QSIGN_` prefix that are not configuration overrides: `QSIGN_CONFIG`
/// names the configuration file.
pub const ENV_NOT_OVERRIDES: &[&str] = &["QSIGN_CONFIG"];

/// How the value of an environment override is read: the type of the key's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `true` or `false` (also `1`/`0` and `yes`/`no`).
    Bool,
    /// A whole number.
    Integer,
    /// A finite number.
    Float,
    /// Text, taken as it is: strings, paths, addresses, URLs, enumerations, secrets, and every
    /// optional key without a default.
    Text,
}

/// One environment override: a `QSIGN_*` variable and the configuration key it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvOverride {
    /// The variable: `QSIGN_` and the key path in capitals, `.` as `_`.
    pub variable: String,
    /// The dotted key path, as in the configuration file (`hsm.sessions`).
    pub key: String,
    /// How its value is read.
    pub kind: ValueKind,
}

/// Every environment override, one per scalar key of [`Config`], in declaration order.
///
/// # Errors
/// Only if the default configuration cannot be serialised, which its types rule out.
pub fn env_overrides() -> Result<Vec<EnvOverride>, Error> {
    let shape = Config::default()
        .serialize(Probe)
        .map_err(|e| Error::Invalid(format!("configuration types: {e}")))?;
    let mut out = Vec::new();
    collect("", shape, &mut out);
    Ok(out)
}

/// The variable of a dotted key path.
pub(super) fn variable_of(key: &str) -> String {
    format!("QSIGN_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Sets the `QSIGN_*` variables of `env` into `table` (the file's keys), each typed by its
/// key's default. Other variables are ignored; an unknown `QSIGN_*` variable is an error.
pub(super) fn apply(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), Error> {
    let overrides = env_overrides()?;
    for (name, value) in env {
        let normalised = name.replace("__", "_");
        if !normalised.starts_with("QSIGN_") || ENV_NOT_OVERRIDES.contains(&name.as_str()) {
            continue;
        }
        let Some(found) = overrides.iter().find(|o| o.variable == normalised) else {
            return Err(Error::UnknownEnv(name));
        };
        let typed = typed_value(&name, found.kind, &value)?;
        set_path(table, &found.key, typed);
    }
    Ok(())
}

/// Converts an environment value to the TOML type its key expects.
fn typed_value(name: &str, kind: ValueKind, value: &str) -> Result<toml::Value, Error> {
    let invalid = |expected: &str| Error::InvalidEnv {
        name: name.to_owned(),
        message: format!("expected {expected}, got {value:?}"),
    };
    match kind {
        ValueKind::Bool => match value.trim() {
            "true" | "1" | "yes" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" => Ok(toml::Value::Boolean(false)),
            _ => Err(invalid("true or false")),
        },
        ValueKind::Integer => value
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| invalid("a whole number")),
        ValueKind::Float => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(toml::Value::Float)
            .ok_or_else(|| invalid("a number")),
        ValueKind::Text => Ok(toml::Value::String(value.to_owned())),
    }
}

/// Sets `value` at the dotted `key` of `table`, making the tables on the way.
fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

/// Flattens a probed shape into overrides, `prefix` being the key path of `shape`.
fn collect(prefix: &str, shape: Shape, out: &mut Vec<EnvOverride>) {
    match shape {
        Shape::Scalar(kind) => out.push(EnvOverride {
            variable: variable_of(prefix),
            key: prefix.to_owned(),
            kind,
        }),
        Shape::Table(fields) => {
            for (name, field) in fields {
                let key = if prefix.is_empty() {
                    name.to_owned()
                } else {
                    format!("{prefix}.{name}")
                };
                collect(&key, field, out);
            }
        }
        Shape::FileOnly => {}
    }
}

/// What the probe learns of a value.
enum Shape {
    /// A value set from one variable.
    Scalar(ValueKind),
    /// A struct: its fields in order, `None` ones included.
    Table(Vec<(&'static str, Shape)>),
    /// Arrays, maps, bytes and enum variants with data: set in the file only.
    FileOnly,
}

/// The key probe: a serde serialiser that records shapes instead of writing values.
struct Probe;

/// A value the probe cannot describe (a non-UTF-8 path, a 128-bit number).
#[derive(Debug)]
struct ProbeError(String);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

impl ser::Error for ProbeError {
    fn custom<T>(msg: T) -> Self
    where
        T: fmt::Display,
    {
        Self(msg.to_string())
    }
}

type Probed = Result<Shape, ProbeError>;

/// Serialiser methods for one scalar of a known kind: the value itself is not looked at.
macro_rules! scalars {
    ($($method:ident($ty:ty) => $kind:ident),* $(,)?) => {$(
        fn $method(self, _: $ty) -> Probed {
            Ok(Shape::Scalar(ValueKind::$kind))
        }
    )*};
}

/// Serialiser methods that start a compound value set in the file only ([`Skip`]).
macro_rules! skipped {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method(self, $($arg: $ty),*) -> Result<Skip, ProbeError> {
            Ok(Skip)
        }
    )*};
}

impl Serializer for Probe {
    type Ok = Shape;
    type Error = ProbeError;
    type SerializeSeq = Skip;
    type SerializeTuple = Skip;
    type SerializeTupleStruct = Skip;
    type SerializeTupleVariant = Skip;
    type SerializeMap = Skip;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Skip;

    scalars! {
        serialize_bool(bool) => Bool,
        serialize_i8(i8) => Integer,
        serialize_i16(i16) => Integer,
        serialize_i32(i32) => Integer,
        serialize_i64(i64) => Integer,
        serialize_u8(u8) => Integer,
        serialize_u16(u16) => Integer,
        serialize_u32(u32) => Integer,
        serialize_u64(u64) => Integer,
        serialize_f32(f32) => Float,
        serialize_f64(f64) => Float,
        serialize_char(char) => Text,
        serialize_str(&str) => Text,
    }

    fn serialize_bytes(self, _: &[u8]) -> Probed {
        Ok(Shape::FileOnly)
    }

    /// An optional key without a default: its type is not known here; read as text.
    fn serialize_none(self) -> Probed {
        Ok(Shape::Scalar(ValueKind::Text))
    }

    fn serialize_some<T>(self, value: &T) -> Probed
    where
        T: ?Sized + Serialize,
    {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Probed {
        Ok(Shape::FileOnly)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Probed {
        Ok(Shape::FileOnly)
    }

    /// A field-less enum variant, which TOML writes as its name.
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
    ) -> Probed {
        Ok(Shape::Scalar(ValueKind::Text))
    }

    fn serialize_newtype_struct<T>(self, _name: &'static str, value: &T) -> Probed
    where
        T: ?Sized + Serialize,
    {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T>(
        self,
        _name: &'static str,
        _variant_index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Probed
    where
        T: ?Sized + Serialize,
    {
        Ok(Shape::FileOnly)
    }

    skipped! {
        serialize_seq(_len: Option<usize>),
        serialize_tuple(_len: usize),
        serialize_tuple_struct(_name: &'static str, _len: usize),
        serialize_tuple_variant(
            _name: &'static str,
            _variant_index: u32,
            _variant: &'static str,
            _len: usize
        ),
        serialize_map(_len: Option<usize>),
        serialize_struct_variant(
            _name: &'static str,
            _variant_index: u32,
            _variant: &'static str,
            _len: usize
        ),
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Fields, ProbeError> {
        Ok(Fields(Vec::with_capacity(len)))
    }
}

/// The fields of a struct being probed.
struct Fields(Vec<(&'static str, Shape)>);

impl ser::SerializeStruct for Fields {
    type Ok = Shape;
    type Error = ProbeError;

    fn serialize_field<T>(&mut self, key: &'static str, value: &T) -> Result<(), ProbeError>
    where
        T: ?Sized + Serialize,
    {
        self.0.push((key, value.serialize(Probe)?));
        Ok(())
    }

    fn end(self) -> Probed {
        Ok(Shape::Table(self.0))
    }
}

/// A compound value set in the file only: its parts are not looked at.
struct Skip;

/// Implements serde's compound-serialiser traits for [`Skip`]: each named method ignores its
/// part (after the leading arguments given), and the whole is set in the file only.
macro_rules! skip_parts {
    ($($part:ident { $($method:ident($($arg:ident: $ty:ty),*)),+ })*) => {$(
        impl ser::$part for Skip {
            type Ok = Shape;
            type Error = ProbeError;
            $(
                fn $method<T>(&mut self, $($arg: $ty,)* _value: &T) -> Result<(), ProbeError>
                where
                    T: ?Sized + Serialize,
                {
                    Ok(())
                }
            )+
            fn end(self) -> Probed {
                Ok(Shape::FileOnly)
            }
        }
    )*};
}

skip_parts! {
    SerializeSeq { serialize_element() }
    SerializeTuple { serialize_element() }
    SerializeTupleStruct { serialize_field() }
    SerializeTupleVariant { serialize_field() }
    SerializeMap { serialize_key(), serialize_value() }
    SerializeStructVariant { serialize_field(_key: &'static str) }
}
