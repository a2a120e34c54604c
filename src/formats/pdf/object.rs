//! PDF objects and dictionaries as read and written: the [`Object`] and [`Dict`] types and
//! their serialisation in PDF syntax.

use super::lexer::is_delimiter;

/// A PDF object (streams are read separately, see [`Pdf::stream`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number, as written.
    Real(Vec<u8>),
    /// A name, without the slash, `#xx` decoded.
    Name(Vec<u8>),
    /// A string (literal or hexadecimal), decoded.
    Str(Vec<u8>),
    /// An array.
    Array(Vec<Object>),
    /// A dictionary.
    Dict(Dict),
    /// An indirect reference.
    Ref(u32, u16),
}

impl Object {
    /// A name object.
    #[must_use]
    pub fn name(s: &str) -> Self {
        Self::Name(s.as_bytes().to_vec())
    }

    /// The dictionary, if this is one.
    #[must_use]
    pub const fn as_dict(&self) -> Option<&Dict> {
        match self {
            Self::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The integer, if this is one.
    #[must_use]
    pub const fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number (integer or real), if this is one.
    #[must_use]
    pub fn as_number(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            Self::Int(i) => Some(*i as f64),
            Self::Real(r) => std::str::from_utf8(r).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// Whether this is the name `n`.
    #[must_use]
    pub fn is_name(&self, n: &str) -> bool {
        matches!(self, Self::Name(v) if v == n.as_bytes())
    }

    /// A text string: PDFDocEncoding when ASCII, else UTF-16BE with its byte order mark.
    #[must_use]
    pub fn text(s: &str) -> Self {
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Self::Str(s.as_bytes().to_vec());
        }
        let mut bytes = vec![0xfe, 0xff];
        for unit in s.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        Self::Str(bytes)
    }

    /// Writes the object in PDF syntax.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Null => out.extend_from_slice(b"null"),
            Self::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Self::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Self::Real(r) => out.extend_from_slice(r),
            Self::Name(n) => write_name(n, out),
            Self::Str(s) => write_string(s, out),
            Self::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Self::Dict(d) => d.write(out),
            Self::Ref(n, g) => out.extend_from_slice(format!("{n} {g} R").as_bytes()),
        }
    }
}

fn write_name(name: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &c in name {
        if c.is_ascii_graphic() && !is_delimiter(c) && c != b'#' {
            out.push(c);
        } else {
            out.extend_from_slice(format!("#{c:02X}").as_bytes());
        }
    }
}

fn write_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'(');
    for &c in s {
        match c {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(c);
            }
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\{c:03o}").as_bytes()),
        }
    }
    out.push(b')');
}

/// A dictionary, keys in the order read or set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dict(pub Vec<(Vec<u8>, Object)>);

impl Dict {
    /// The value under `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Object> {
        self.0
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// Sets `key` (replacing an earlier value); returns `self` for chaining.
    pub fn set(&mut self, key: &str, value: Object) -> &mut Self {
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| k == key.as_bytes()) {
            slot.1 = value;
        } else {
            self.0.push((key.as_bytes().to_vec(), value));
        }
        self
    }

    /// A dictionary from pairs.
    #[must_use]
    pub fn of(pairs: Vec<(&str, Object)>) -> Self {
        let mut d = Self::default();
        for (k, v) in pairs {
            d.set(k, v);
        }
        d
    }

    /// Writes the dictionary in PDF syntax.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<<");
        for (k, v) in &self.0 {
            write_name(k, out);
            out.push(b' ');
            v.write(out);
        }
        out.extend_from_slice(b">>");
    }
}
