//! PDF for PAdES: a reader of just what signing needs (cross-reference tables and streams,
//! object streams, the objects asked for) and a writer of incremental updates.
//!
//! Reading is lazy: the file stays one borrowed buffer; only the cross-reference data and the
//! objects that are looked up get parsed, so a 50 MB document costs little more than its own
//! bytes. Refused, each with its own code: input that is not a PDF (`not_pdf`), encrypted
//! files (`pdf_encrypted`), a cross-reference that does not point at the objects it names or
//! anything else that does not parse (`pdf_malformed`). Nesting, decompressed sizes and
//! cross-reference chains are bounded, so hostile input fails cleanly.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::rc::Rc;

/// Why a PDF cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is not a PDF file.
    #[error("the input is not a PDF file")]
    NotPdf,
    /// The file is encrypted.
    #[error("encrypted PDF files are not accepted")]
    Encrypted,
    /// The file does not parse.
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// An earlier certification signature forbids any change.
    #[error("the document is certified with no changes allowed")]
    NoChangesAllowed,
    /// The request does not fit the document (page, rectangle, certification).
    #[error("{0}")]
    Options(String),
    /// The signature is larger than the space reserved for it.
    #[error("the signature ({0} bytes) is larger than the space reserved for it")]
    TooLarge(usize),
}

impl Error {
    /// A stable code for each kind of refusal.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotPdf => "not_pdf",
            Self::Encrypted => "pdf_encrypted",
            Self::Malformed(_) => "pdf_malformed",
            Self::NoChangesAllowed => "pdf_no_changes_allowed",
            Self::Options(_) => "invalid_request",
            Self::TooLarge(_) => "pdf_signature_too_large",
        }
    }
}

fn bad(what: impl Into<String>) -> Error {
    Error::Malformed(what.into())
}

/// Deepest nesting of arrays and dictionaries.
const MAX_DEPTH: usize = 64;
/// Most cross-reference sections followed through `/Prev`.
const MAX_SECTIONS: usize = 4096;
/// Largest decompressed stream (cross-reference or object stream), and the most one document
/// may decompress in all.
const MAX_INFLATED: usize = 256 << 20;
/// What every document may decompress in all, at least: small files get this much.
const MIN_INFLATE_BUDGET: usize = 16 << 20;
/// Decompressed bytes allowed per byte of file (a document's whole decompression budget is
/// this multiple of its size, between [`MIN_INFLATE_BUDGET`] and [`MAX_INFLATED`]).
const INFLATE_PER_BYTE: usize = 64;
/// The most objects a PDF may have (ISO 32000-1 Annex C).
pub const MAX_OBJECTS: u32 = 8_388_607;
/// Most references followed to resolve one object.
const MAX_INDIRECTION: usize = 32;

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

const fn is_whitespace(c: u8) -> bool {
    matches!(c, 0 | 9 | 10 | 12 | 13 | 32)
}

const fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A tokenizer over a byte slice.
struct Lexer<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    const fn new(b: &'a [u8], pos: usize) -> Self {
        Self { b, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(c) = self.peek() {
            if is_whitespace(c) {
                self.pos += 1;
            } else if c == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A regular token (keyword or number).
    fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_whitespace(c) || is_delimiter(c) {
                break;
            }
            self.pos += 1;
        }
        self.b.get(start..self.pos).unwrap_or_default()
    }

    /// What follows the current position.
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or_default()
    }

    fn keyword(&mut self, expected: &[u8]) -> Result<(), Error> {
        self.skip_whitespace();
        let at = self.pos;
        if self.word() == expected {
            Ok(())
        } else {
            Err(bad(format!(
                "expected {:?} at offset {at}",
                String::from_utf8_lossy(expected)
            )))
        }
    }

    fn unsigned(&mut self) -> Result<u64, Error> {
        self.skip_whitespace();
        let at = self.pos;
        let w = self.word();
        std::str::from_utf8(w)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("expected a number at offset {at}")))
    }

    fn object(&mut self, depth: usize) -> Result<Object, Error> {
        if depth > MAX_DEPTH {
            return Err(bad("nested too deeply"));
        }
        self.skip_whitespace();
        let at = self.pos;
        let c = self.peek().ok_or_else(|| bad("unexpected end of data"))?;
        match c {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name()?))
            }
            b'(' => {
                self.pos += 1;
                Ok(Object::Str(self.literal()?))
            }
            b'<' if self.b.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                let mut dict = Dict::default();
                loop {
                    self.skip_whitespace();
                    match self.peek() {
                        Some(b'>') if self.b.get(self.pos + 1) == Some(&b'>') => {
                            self.pos += 2;
                            return Ok(Object::Dict(dict));
                        }
                        Some(b'/') => {
                            self.pos += 1;
                            let key = self.name()?;
                            let value = self.object(depth + 1)?;
                            // The first of duplicate keys wins, as most readers do.
                            if !dict.0.iter().any(|(k, _)| *k == key) {
                                dict.0.push((key, value));
                            }
                        }
                        _ => return Err(bad(format!("bad dictionary at offset {at}"))),
                    }
                }
            }
            b'<' => {
                self.pos += 1;
                Ok(Object::Str(self.hex()?))
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_whitespace();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        return Ok(Object::Array(items));
                    }
                    items.push(self.object(depth + 1)?);
                }
            }
            _ => {
                let word = self.word();
                match word {
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    b"null" => Ok(Object::Null),
                    _ => self.number(word, at),
                }
            }
        }
    }

    fn number(&mut self, word: &[u8], at: usize) -> Result<Object, Error> {
        let text = std::str::from_utf8(word).map_err(|_| bad(format!("bad token at {at}")))?;
        if let Ok(n) = text.parse::<i64>() {
            // `n g R` is a reference.
            let save = self.pos;
            if let (Ok(num), Ok(generation)) = (u32::try_from(n), self.reference_tail()) {
                return Ok(Object::Ref(num, generation));
            }
            self.pos = save;
            return Ok(Object::Int(n));
        }
        let numeric = !text.is_empty()
            && text
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+'));
        if numeric && text.bytes().filter(|c| *c == b'.').count() <= 1 {
            Ok(Object::Real(word.to_vec()))
        } else {
            Err(bad(format!(
                "unexpected {:?} at offset {at}",
                String::from_utf8_lossy(word.get(..16).unwrap_or(word))
            )))
        }
    }

    fn reference_tail(&mut self) -> Result<u16, ()> {
        self.skip_whitespace();
        let g = self.word();
        let generation = std::str::from_utf8(g)
            .ok()
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or(())?;
        self.skip_whitespace();
        if self.word() == b"R" {
            Ok(generation)
        } else {
            Err(())
        }
    }

    fn name(&mut self) -> Result<Vec<u8>, Error> {
        let raw = self.word();
        let mut out = Vec::with_capacity(raw.len());
        let mut rest = raw;
        while let Some((&c, tail)) = rest.split_first() {
            if c == b'#' {
                let hex = tail.get(..2).and_then(|h| std::str::from_utf8(h).ok());
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    rest = tail.get(2..).unwrap_or_default();
                    continue;
                }
            }
            out.push(c);
            rest = tail;
        }
        Ok(out)
    }

    fn literal(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut open = 1usize;
        loop {
            let c = self.peek().ok_or_else(|| bad("unterminated string"))?;
            self.pos += 1;
            match c {
                b'(' => {
                    open += 1;
                    out.push(c);
                }
                b')' => {
                    open -= 1;
                    if open == 0 {
                        return Ok(out);
                    }
                    out.push(c);
                }
                b'\\' => {
                    let e = self.peek().ok_or_else(|| bad("unterminated string"))?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn hex(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let c = self.peek().ok_or_else(|| bad("unterminated hex string"))?;
            self.pos += 1;
            let v = match c {
                b'>' => break,
                c if is_whitespace(c) => continue,
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(bad("bad hex string")),
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        Ok(out)
    }
}

/// Where an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// At a byte offset, with a generation.
    At(usize, u16),
    /// The `index`th object of an object stream.
    InStream(u32, u32),
}

/// An indirect object read from the file: the object, and for a stream where its data lies.
#[derive(Debug, Clone)]
pub struct Indirect {
    /// The object (a stream's dictionary for a stream).
    pub object: Object,
    /// A stream's raw (still encoded) data, as a range of the file.
    pub data: Option<std::ops::Range<usize>>,
}

/// A parsed PDF: the cross-reference, the newest trailer, objects read on demand.
pub struct Pdf<'a> {
    bytes: &'a [u8],
    xref: HashMap<u32, Entry>,
    /// The newest trailer (for a cross-reference stream, its dictionary).
    pub trailer: Dict,
    /// Offset of the newest cross-reference section.
    pub startxref: usize,
    /// Whether the newest section is a cross-reference stream.
    pub xref_is_stream: bool,
    /// One more than the highest object number in use.
    pub size: u32,
    /// Decoded object streams, by object number.
    object_streams: RefCell<HashMap<u32, Rc<Vec<u8>>>>,
    /// What this document may still decompress, shared by the whole parse and every later
    /// read of its streams (a file that names one compressed stream many times pays each
    /// time).
    inflate_left: Cell<usize>,
    /// Cross-reference entries this document may still declare (each read row counts).
    entries_left: Cell<usize>,
}

impl std::fmt::Debug for Pdf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pdf")
            .field("len", &self.bytes.len())
            .field("objects", &self.xref.len())
            .field("startxref", &self.startxref)
            .finish_non_exhaustive()
    }
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The PDF version from the header (`1.7`, `2.0`, ...).
#[must_use]
pub fn header_version(bytes: &[u8]) -> Option<(u8, u8)> {
    let head = bytes.get(..1024).unwrap_or(bytes);
    let at = head.windows(5).position(|w| w == b"%PDF-")?;
    match head.get(at + 5..at + 8)? {
        &[major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Some((major - b'0', minor - b'0'))
        }
        _ => None,
    }
}

impl<'a> Pdf<'a> {
    /// Reads the cross-reference and trailer of `bytes`.
    ///
    /// # Errors
    /// [`Error::NotPdf`], [`Error::Encrypted`], [`Error::Malformed`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        if header_version(bytes).is_none() {
            return Err(Error::NotPdf);
        }
        let tail_start = bytes.len().saturating_sub(2048);
        let at = find_last(bytes.get(tail_start..).unwrap_or_default(), b"startxref")
            .ok_or_else(|| bad("no startxref"))?
            + tail_start;
        let mut lexer = Lexer::new(bytes, at + 9);
        let startxref =
            usize::try_from(lexer.unsigned()?).map_err(|_| bad("startxref out of range"))?;
        let mut pdf = Self {
            bytes,
            xref: HashMap::new(),
            trailer: Dict::default(),
            startxref,
            xref_is_stream: false,
            size: 0,
            object_streams: RefCell::new(HashMap::new()),
            inflate_left: Cell::new(
                bytes
                    .len()
                    .saturating_mul(INFLATE_PER_BYTE)
                    .clamp(MIN_INFLATE_BUDGET, MAX_INFLATED),
            ),
            // A declared entry costs at least a byte of file (a table row costs 20): a file
            // declaring more is an amplification, refused.
            entries_left: Cell::new(
                bytes
                    .len()
                    .saturating_mul(4)
                    .saturating_add(1024)
                    .min(MAX_OBJECTS as usize),
            ),
        };
        let mut next = Some(startxref);
        let mut seen = HashSet::new();
        let mut first = true;
        while let Some(offset) = next {
            if !seen.insert(offset) || seen.len() > MAX_SECTIONS {
                return Err(bad("cross-reference sections loop"));
            }
            if offset >= bytes.len() {
                return Err(bad("cross-reference offset beyond the end"));
            }
            let (trailer, is_stream) = pdf.section(offset)?;
            if let Some(stm) = trailer.get("XRefStm").and_then(Object::as_int) {
                let stm = usize::try_from(stm).map_err(|_| bad("bad /XRefStm"))?;
                // Every section is read once, however many trailers name it.
                if seen.insert(stm) {
                    pdf.section(stm)?;
                }
            }
            if let Some(size) = trailer.get("Size").and_then(Object::as_int) {
                let size = u32::try_from(size)
                    .ok()
                    .filter(|s| *s <= MAX_OBJECTS + 1)
                    .ok_or_else(|| bad("bad /Size (more objects than a PDF may have)"))?;
                pdf.size = pdf.size.max(size);
            }
            next = match trailer.get("Prev") {
                Some(Object::Int(p)) => Some(usize::try_from(*p).map_err(|_| bad("bad /Prev"))?),
                _ => None,
            };
            if first {
                pdf.trailer = trailer;
                pdf.xref_is_stream = is_stream;
                first = false;
            }
        }
        if pdf.trailer.get("Encrypt").is_some() {
            return Err(Error::Encrypted);
        }
        let root = pdf.catalog()?;
        if root.get("Pages").is_none() {
            return Err(bad("the catalog has no /Pages"));
        }
        Ok(pdf)
    }

    /// The whole file.
    #[must_use]
    pub const fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Reads one cross-reference section (table or stream) at `offset`: its entries fill
    /// the gaps left by newer sections. Answers its trailer.
    fn section(&mut self, offset: usize) -> Result<(Dict, bool), Error> {
        let mut lexer = Lexer::new(self.bytes, offset);
        lexer.skip_whitespace();
        if lexer.rest().starts_with(b"xref") {
            lexer.pos += 4;
            loop {
                lexer.skip_whitespace();
                if lexer.rest().starts_with(b"trailer") {
                    lexer.pos += 7;
                    break;
                }
                let start = lexer.unsigned()?;
                let count = lexer.unsigned()?;
                if count > (self.bytes.len() / 18) as u64 {
                    return Err(bad("cross-reference section larger than the file"));
                }
                self.charge_entries(count)?;
                for i in 0..count {
                    let off = lexer.unsigned()?;
                    let generation = lexer.unsigned()?;
                    lexer.skip_whitespace();
                    let kind = lexer.word();
                    let num = u32::try_from(start + i).map_err(|_| bad("object number"))?;
                    if kind == b"n" {
                        let off = usize::try_from(off).map_err(|_| bad("offset"))?;
                        let generation =
                            u16::try_from(generation).map_err(|_| bad("generation"))?;
                        if num != 0 {
                            self.xref.entry(num).or_insert(Entry::At(off, generation));
                        }
                    } else if kind != b"f" {
                        return Err(bad("bad cross-reference entry"));
                    }
                }
            }
            let Object::Dict(trailer) = lexer.object(0)? else {
                return Err(bad("trailer is not a dictionary"));
            };
            return Ok((trailer, false));
        }
        let indirect = self.object_at(offset, None)?;
        let Object::Dict(dict) = indirect.object else {
            return Err(bad("cross-reference stream expected"));
        };
        if !dict.get("Type").is_some_and(|t| t.is_name("XRef")) {
            return Err(bad("startxref does not point at a cross-reference"));
        }
        let range = indirect
            .data
            .ok_or_else(|| bad("cross-reference stream without data"))?;
        let data = self.decode(&dict, self.bytes.get(range).unwrap_or_default())?;
        let widths: Vec<usize> = match dict.get("W") {
            Some(Object::Array(w)) if w.len() == 3 => w
                .iter()
                .map(|x| {
                    x.as_int()
                        .and_then(|v| usize::try_from(v).ok())
                        .filter(|v| *v <= 8)
                })
                .collect::<Option<_>>()
                .ok_or_else(|| bad("bad /W"))?,
            _ => return Err(bad("bad /W")),
        };
        let row = widths.iter().sum::<usize>();
        if row == 0 {
            return Err(bad("bad /W"));
        }
        let size = dict.get("Size").and_then(Object::as_int).unwrap_or(0);
        let index: Vec<i64> = match dict.get("Index") {
            Some(Object::Array(a)) => a
                .iter()
                .map(Object::as_int)
                .collect::<Option<_>>()
                .ok_or_else(|| bad("bad /Index"))?,
            _ => vec![0, size],
        };
        let mut rows = data.chunks_exact(row);
        for pair in index.chunks(2) {
            let [start, count] = pair else {
                return Err(bad("bad /Index"));
            };
            self.charge_entries(u64::try_from(*count).map_err(|_| bad("bad /Index"))?)?;
            for i in 0..*count {
                let Some(r) = rows.next() else {
                    return Err(bad("cross-reference stream shorter than its /Index"));
                };
                let field = |n: usize| -> u64 {
                    let from: usize = widths.iter().take(n).sum();
                    let width = widths.get(n).copied().unwrap_or(0);
                    r.get(from..from + width)
                        .unwrap_or_default()
                        .iter()
                        .fold(0u64, |acc, b| acc << 8 | u64::from(*b))
                };
                let kind = if widths.first() == Some(&0) {
                    1
                } else {
                    field(0)
                };
                let num = u32::try_from(start + i).map_err(|_| bad("object number"))?;
                let entry = match kind {
                    1 => Entry::At(
                        usize::try_from(field(1)).map_err(|_| bad("offset"))?,
                        u16::try_from(field(2)).unwrap_or(0),
                    ),
                    2 => Entry::InStream(
                        u32::try_from(field(1)).map_err(|_| bad("object stream"))?,
                        u32::try_from(field(2)).map_err(|_| bad("index"))?,
                    ),
                    _ => continue,
                };
                if num != 0 {
                    self.xref.entry(num).or_insert(entry);
                }
            }
        }
        Ok((dict, true))
    }

    /// The object at a byte offset; `expect` checks its number.
    fn object_at(&self, offset: usize, expect: Option<u32>) -> Result<Indirect, Error> {
        let mut lexer = Lexer::new(self.bytes, offset);
        let num = lexer.unsigned()?;
        let _generation = lexer.unsigned()?;
        lexer.keyword(b"obj")?;
        if expect.is_some_and(|e| u64::from(e) != num) {
            return Err(bad(format!(
                "the cross-reference points object {} at another object",
                expect.unwrap_or(0)
            )));
        }
        let object = lexer.object(0)?;
        lexer.skip_whitespace();
        let data = if lexer.rest().starts_with(b"stream") {
            let Object::Dict(dict) = &object else {
                return Err(bad("stream without a dictionary"));
            };
            let mut start = lexer.pos + 6;
            if self.bytes.get(start) == Some(&b'\r') {
                start += 1;
            }
            if self.bytes.get(start) == Some(&b'\n') {
                start += 1;
            }
            let length = match dict.get("Length") {
                Some(Object::Int(n)) => usize::try_from(*n).ok(),
                Some(Object::Ref(n, _)) => self.plain_integer(*n),
                _ => None,
            };
            let fits = |len: usize| {
                let end = start.checked_add(len)?;
                let mut after = Lexer::new(self.bytes, end);
                after.skip_whitespace();
                self.bytes
                    .get(after.pos..)
                    .filter(|rest| rest.starts_with(b"endstream"))
                    .map(|_| end)
            };
            let end = match length.and_then(fits) {
                Some(end) => end,
                None => {
                    let rel = self
                        .bytes
                        .get(start..)
                        .unwrap_or_default()
                        .windows(9)
                        .position(|w| w == b"endstream")
                        .ok_or_else(|| bad("stream without endstream"))?;
                    let mut end = start + rel;
                    while end > start && matches!(self.bytes.get(end - 1), Some(b'\r' | b'\n')) {
                        end -= 1;
                    }
                    end
                }
            };
            Some(start..end)
        } else {
            None
        };
        Ok(Indirect { object, data })
    }

    /// Where object `num` lies in the file (for an object in an object stream, where that
    /// stream lies).
    #[must_use]
    pub fn offset_of(&self, num: u32) -> Option<usize> {
        match self.xref.get(&num)? {
            Entry::At(offset, _) => Some(*offset),
            Entry::InStream(stream, _) => match self.xref.get(stream)? {
                Entry::At(offset, _) => Some(*offset),
                Entry::InStream(..) => None,
            },
        }
    }

    /// Every object number the cross-reference names.
    #[must_use]
    pub fn object_numbers(&self) -> Vec<u32> {
        let mut numbers: Vec<u32> = self.xref.keys().copied().collect();
        numbers.sort_unstable();
        numbers
    }

    /// Where object `num` is, comparable between two readings of the same file: its offset,
    /// or its object stream and index.
    #[must_use]
    pub fn location(&self, num: u32) -> Option<(bool, usize, u32)> {
        match self.xref.get(&num)? {
            Entry::At(offset, _) => Some((false, *offset, 0)),
            Entry::InStream(stream, index) => {
                Some((true, usize::try_from(*stream).unwrap_or(usize::MAX), *index))
            }
        }
    }

    /// Object `num` when it is a plain integer at a file offset (a stream's indirect
    /// `/Length`). Read without following anything further, so lengths that refer to each
    /// other cannot recurse; anything else is `None` (the stream end is then searched for).
    fn plain_integer(&self, num: u32) -> Option<usize> {
        let Some(Entry::At(offset, _)) = self.xref.get(&num).copied() else {
            return None;
        };
        let mut lexer = Lexer::new(self.bytes, offset);
        if lexer.unsigned().ok()? != u64::from(num) {
            return None;
        }
        lexer.unsigned().ok()?;
        lexer.keyword(b"obj").ok()?;
        lexer
            .object(0)
            .ok()?
            .as_int()
            .and_then(|n| usize::try_from(n).ok())
    }

    /// Object number `num` (a stream's dictionary for a stream).
    ///
    /// # Errors
    /// [`Error::Malformed`] when it is missing or does not parse.
    pub fn get(&self, num: u32) -> Result<Object, Error> {
        Ok(self.indirect(num)?.object)
    }

    /// Object number `num` with its stream data range, if any.
    ///
    /// # Errors
    /// [`Error::Malformed`] when it is missing or does not parse.
    pub fn indirect(&self, num: u32) -> Result<Indirect, Error> {
        match self.xref.get(&num) {
            None => Ok(Indirect {
                object: Object::Null,
                data: None,
            }),
            Some(Entry::At(offset, _)) => {
                if *offset >= self.bytes.len() {
                    return Err(bad(format!("object {num} lies beyond the end")));
                }
                self.object_at(*offset, Some(num))
            }
            Some(Entry::InStream(stream, index)) => {
                let data = self.object_stream(*stream)?;
                let Object::Dict(dict) = self.get(*stream)? else {
                    return Err(bad("object stream without a dictionary"));
                };
                let n = dict.get("N").and_then(Object::as_int).unwrap_or(0);
                let first = dict
                    .get("First")
                    .and_then(Object::as_int)
                    .and_then(|f| usize::try_from(f).ok())
                    .ok_or_else(|| bad("object stream without /First"))?;
                if i64::from(*index) >= n {
                    return Err(bad("object stream index out of range"));
                }
                let mut lexer = Lexer::new(&data, 0);
                let mut offset = None;
                for i in 0..=*index {
                    let number = lexer.unsigned()?;
                    let off = lexer.unsigned()?;
                    if i == *index {
                        if number != u64::from(num) {
                            return Err(bad("object stream holds another object"));
                        }
                        offset = usize::try_from(off).ok();
                    }
                }
                let at = offset
                    .and_then(|o| o.checked_add(first))
                    .filter(|a| *a < data.len())
                    .ok_or_else(|| bad("object stream offset out of range"))?;
                let object = Lexer::new(&data, at).object(0)?;
                Ok(Indirect { object, data: None })
            }
        }
    }

    fn object_stream(&self, num: u32) -> Result<Rc<Vec<u8>>, Error> {
        if let Some(data) = self.object_streams.borrow().get(&num) {
            return Ok(Rc::clone(data));
        }
        let Some(Entry::At(offset, _)) = self.xref.get(&num).copied() else {
            return Err(bad("object stream not found"));
        };
        let indirect = self.object_at(offset, Some(num))?;
        let (Object::Dict(dict), Some(range)) = (indirect.object, indirect.data) else {
            return Err(bad("object stream is not a stream"));
        };
        let data = Rc::new(self.decode(&dict, self.bytes.get(range).unwrap_or_default())?);
        self.object_streams
            .borrow_mut()
            .insert(num, Rc::clone(&data));
        Ok(data)
    }

    /// Decodes a stream's data (as [`decode`]) within this document's decompression budget:
    /// what it inflates is taken from the budget, and a stream larger than what is left fails.
    ///
    /// # Errors
    /// [`Error::Malformed`] for other filters, corrupt data, or a spent budget.
    pub fn decode(&self, dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, Error> {
        let left = self.inflate_left.get();
        let data = decode_limited(dict, raw, left)?;
        self.inflate_left.set(left.saturating_sub(data.len()));
        Ok(data)
    }

    /// Takes `count` declared cross-reference entries from the budget.
    fn charge_entries(&self, count: u64) -> Result<(), Error> {
        let left = self.entries_left.get();
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > left {
            return Err(bad(
                "the cross-reference declares more objects than the file can hold",
            ));
        }
        self.entries_left.set(left - count);
        Ok(())
    }

    /// Follows references until a direct object.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a missing object or a reference loop.
    pub fn resolve(&self, object: &Object) -> Result<Object, Error> {
        let mut current = object.clone();
        for _ in 0..MAX_INDIRECTION {
            match current {
                Object::Ref(n, _) => current = self.get(n)?,
                other => return Ok(other),
            }
        }
        Err(bad("reference loop"))
    }

    /// A dictionary (direct or by reference); missing means empty.
    ///
    /// # Errors
    /// [`Error::Malformed`] when it is something else.
    pub fn dict(&self, object: Option<&Object>) -> Result<Dict, Error> {
        match object.map(|o| self.resolve(o)).transpose()? {
            None | Some(Object::Null) => Ok(Dict::default()),
            Some(Object::Dict(d)) => Ok(d),
            Some(_) => Err(bad("dictionary expected")),
        }
    }

    /// The catalog's object number.
    ///
    /// # Errors
    /// [`Error::Malformed`] without `/Root`.
    pub fn root(&self) -> Result<u32, Error> {
        match self.trailer.get("Root") {
            Some(Object::Ref(n, _)) => Ok(*n),
            _ => Err(bad("the trailer has no /Root")),
        }
    }

    /// The document catalog.
    ///
    /// # Errors
    /// [`Error::Malformed`] when it does not parse.
    pub fn catalog(&self) -> Result<Dict, Error> {
        match self.get(self.root()?)? {
            Object::Dict(d) => Ok(d),
            _ => Err(bad("the catalog is not a dictionary")),
        }
    }

    /// The number of pages, as the page tree's root says (`/Count`).
    ///
    /// # Errors
    /// [`Error::Malformed`] when the page tree has no usable root.
    pub fn page_count(&self) -> Result<usize, Error> {
        let catalog = self.catalog()?;
        let Some(Object::Ref(node, _)) = catalog.get("Pages").cloned() else {
            return Err(bad("/Pages is not a reference"));
        };
        let Object::Dict(root) = self.get(node)? else {
            return Err(bad("page tree root is not a dictionary"));
        };
        let count = self.resolve(root.get("Count").unwrap_or(&Object::Int(0)))?;
        usize::try_from(count.as_int().unwrap_or(0)).map_err(|_| bad("negative /Count"))
    }

    /// The object number of page `index` (from 0) and the number of pages.
    ///
    /// # Errors
    /// [`Error::Options`] when there is no such page; [`Error::Malformed`].
    pub fn page(&self, index: usize) -> Result<(u32, Dict), Error> {
        let catalog = self.catalog()?;
        let Some(Object::Ref(mut node, _)) = catalog.get("Pages").cloned() else {
            return Err(bad("/Pages is not a reference"));
        };
        let mut skip = index;
        let mut visited = HashSet::new();
        'descend: loop {
            if !visited.insert(node) || visited.len() > 4096 {
                return Err(bad("page tree loop"));
            }
            let Object::Dict(dict) = self.get(node)? else {
                return Err(bad("page tree node is not a dictionary"));
            };
            let Some(Object::Array(kids)) =
                dict.get("Kids").map(|k| self.resolve(k)).transpose()?
            else {
                if dict.get("Type").is_some_and(|t| t.is_name("Pages")) {
                    return Err(bad("page tree node without /Kids"));
                }
                if skip == 0 {
                    return Ok((node, dict));
                }
                return Err(Error::Options(format!(
                    "the document has no page {}",
                    index + 1
                )));
            };
            for kid in &kids {
                let Object::Ref(k, _) = kid else {
                    return Err(bad("page tree kid is not a reference"));
                };
                let Object::Dict(child) = self.get(*k)? else {
                    return Err(bad("page tree kid is not a dictionary"));
                };
                let count = if child.get("Kids").is_some() {
                    usize::try_from(
                        self.resolve(child.get("Count").unwrap_or(&Object::Int(0)))?
                            .as_int()
                            .unwrap_or(0),
                    )
                    .unwrap_or(0)
                } else {
                    1
                };
                if skip < count {
                    node = *k;
                    continue 'descend;
                }
                skip -= count;
            }
            return Err(Error::Options(format!(
                "the document has no page {}",
                index + 1
            )));
        }
    }
}

/// Decodes a stream's data: no filter or `FlateDecode`, with PNG predictors.
///
/// # Errors
/// [`Error::Malformed`] for other filters, corrupt data or more than 256 MiB.
pub fn decode(dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, Error> {
    decode_limited(dict, raw, MAX_INFLATED)
}

/// [`decode`] with at most `limit` decompressed bytes.
fn decode_limited(dict: &Dict, raw: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let filter = match dict.get("Filter") {
        None => None,
        Some(Object::Name(n)) => Some(n.clone()),
        Some(Object::Array(a)) if a.is_empty() => None,
        Some(Object::Array(a)) if a.len() == 1 => match a.first() {
            Some(Object::Name(n)) => Some(n.clone()),
            _ => return Err(bad("bad /Filter")),
        },
        Some(_) => return Err(bad("unsupported stream filter")),
    };
    let data = match filter.as_deref() {
        None => raw.to_vec(),
        Some(b"FlateDecode") => {
            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(raw, limit.min(MAX_INFLATED))
                .map_err(|e| {
                    if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput {
                        bad("the document decompresses to more than its budget")
                    } else {
                        bad("corrupt compressed stream")
                    }
                })?
        }
        Some(_) => return Err(bad("unsupported stream filter")),
    };
    let params = match dict.get("DecodeParms") {
        Some(Object::Dict(d)) => d.clone(),
        Some(Object::Array(a)) => a
            .first()
            .and_then(Object::as_dict)
            .cloned()
            .unwrap_or_default(),
        _ => Dict::default(),
    };
    let predictor = params
        .get("Predictor")
        .and_then(Object::as_int)
        .unwrap_or(1);
    if predictor < 10 {
        return if predictor <= 1 {
            Ok(data)
        } else {
            Err(bad("unsupported predictor"))
        };
    }
    let columns = params
        .get("Columns")
        .and_then(Object::as_int)
        .and_then(|c| usize::try_from(c).ok())
        .filter(|c| (1..=1 << 16).contains(c))
        .unwrap_or(1);
    unpredict(&data, columns)
}

/// Undoes PNG row predictors (one byte per pixel).
fn unpredict(data: &[u8], columns: usize) -> Result<Vec<u8>, Error> {
    let stride = columns + 1;
    let mut out = Vec::with_capacity(data.len() / stride * columns);
    let mut prev = vec![0u8; columns];
    for row in data.chunks(stride) {
        let Some((&kind, bytes)) = row.split_first().filter(|_| row.len() == stride) else {
            return Err(bad("truncated predicted row"));
        };
        let mut cur: Vec<u8> = Vec::with_capacity(columns);
        for (i, (&byte, &up)) in bytes.iter().zip(&prev).enumerate() {
            let left = cur.last().copied().unwrap_or(0);
            let up_left = i
                .checked_sub(1)
                .and_then(|j| prev.get(j))
                .copied()
                .unwrap_or(0);
            let average = u8::try_from((u16::from(left) + u16::from(up)) / 2).unwrap_or(0);
            cur.push(byte.wrapping_add(match kind {
                0 => 0,
                1 => left,
                2 => up,
                3 => average,
                4 => paeth(left, up, up_left),
                _ => return Err(bad("bad predictor row")),
            }));
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// An incremental update being written: new or changed objects, then a cross-reference
/// section of the same kind as the file's newest, pointing back at it.
#[derive(Debug)]
pub struct Update {
    next: u32,
    objects: BTreeMap<u32, Vec<u8>>,
    root: u32,
    prev: usize,
    stream: bool,
    id: Option<Object>,
    info: Option<Object>,
}

impl Update {
    /// An update to `pdf`.
    ///
    /// # Errors
    /// [`Error::Malformed`] without a `/Root`.
    pub fn new(pdf: &Pdf<'_>) -> Result<Self, Error> {
        Ok(Self {
            next: pdf.size.max(1),
            objects: BTreeMap::new(),
            root: pdf.root()?,
            prev: pdf.startxref,
            stream: pdf.xref_is_stream,
            id: pdf.trailer.get("ID").cloned(),
            info: pdf.trailer.get("Info").cloned(),
        })
    }

    /// A fresh object number.
    pub fn allocate(&mut self) -> u32 {
        let n = self.next;
        self.next += 1;
        n
    }

    /// Sets object `num` to `object`.
    pub fn put(&mut self, num: u32, object: &Object) {
        let mut body = Vec::new();
        object.write(&mut body);
        self.objects.insert(num, body);
    }

    /// Sets object `num` to a stream with `dict` (its `/Length` is set here) and `data`.
    pub fn put_stream(&mut self, num: u32, mut dict: Dict, data: &[u8]) {
        dict.set(
            "Length",
            Object::Int(i64::try_from(data.len()).unwrap_or(i64::MAX)),
        );
        let mut body = Vec::with_capacity(data.len() + 64);
        dict.write(&mut body);
        body.extend_from_slice(b"\nstream\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.objects.insert(num, body);
    }

    /// Sets object `num` to bytes written by the caller (`body` is what goes between
    /// `obj` and `endobj`); answers nothing, the offset comes from [`Update::write`].
    pub fn put_raw(&mut self, num: u32, body: Vec<u8>) {
        self.objects.insert(num, body);
    }

    /// Appends the update to `file` (whose first `file.len()` bytes are the PDF read) and
    /// answers where each object's body starts in `file`.
    pub fn write(self, file: &mut Vec<u8>) -> HashMap<u32, usize> {
        let extra: usize = self.objects.values().map(|b| b.len() + 32).sum::<usize>() + 512;
        file.reserve_exact(extra);
        if !file.ends_with(b"\n") && !file.ends_with(b"\r") {
            file.push(b'\n');
        }
        let mut offsets = BTreeMap::new();
        let mut bodies = HashMap::new();
        for (num, body) in &self.objects {
            offsets.insert(*num, file.len());
            file.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
            bodies.insert(*num, file.len());
            file.extend_from_slice(body);
            file.extend_from_slice(b"\nendobj\n");
        }
        let mut trailer = Dict::default();
        let xref_num = self.next;
        let size = if self.stream { xref_num + 1 } else { xref_num };
        trailer
            .set("Size", Object::Int(i64::from(size)))
            .set("Root", Object::Ref(self.root, 0))
            .set(
                "Prev",
                Object::Int(i64::try_from(self.prev).unwrap_or(i64::MAX)),
            );
        if let Some(info) = self.info {
            trailer.set("Info", info);
        }
        if let Some(id) = self.id {
            trailer.set("ID", id);
        }
        let start = file.len();
        if self.stream {
            offsets.insert(xref_num, start);
            let width = if start > u32::MAX as usize { 8 } else { 4 };
            let mut index = Vec::new();
            let mut rows = Vec::new();
            for (first, run) in runs(&offsets) {
                index.push(Object::Int(i64::from(first)));
                index.push(Object::Int(i64::try_from(run.len()).unwrap_or(0)));
                for off in run {
                    rows.push(1u8);
                    let be = (off as u64).to_be_bytes();
                    rows.extend_from_slice(be.get(8 - width..).unwrap_or(&be));
                    rows.extend_from_slice(&[0, 0]);
                }
            }
            trailer
                .set("Type", Object::name("XRef"))
                .set(
                    "W",
                    Object::Array(vec![
                        Object::Int(1),
                        Object::Int(i64::try_from(width).unwrap_or(4)),
                        Object::Int(2),
                    ]),
                )
                .set("Index", Object::Array(index))
                .set(
                    "Length",
                    Object::Int(i64::try_from(rows.len()).unwrap_or(0)),
                );
            file.extend_from_slice(format!("{xref_num} 0 obj\n").as_bytes());
            trailer.write(file);
            file.extend_from_slice(b"\nstream\n");
            file.extend_from_slice(&rows);
            file.extend_from_slice(b"\nendstream\nendobj\n");
        } else {
            let mut table = String::from("xref\n");
            for (first, run) in runs(&offsets) {
                let _ = writeln!(table, "{first} {}", run.len());
                for off in run {
                    let _ = write!(table, "{off:010} 00000 n\r\n");
                }
            }
            file.extend_from_slice(table.as_bytes());
            file.extend_from_slice(b"trailer\n");
            trailer.write(file);
            file.push(b'\n');
        }
        file.extend_from_slice(format!("startxref\n{start}\n%%EOF\n").as_bytes());
        bodies
    }
}

/// Consecutive object numbers, grouped: the first number and the offsets.
fn runs(offsets: &BTreeMap<u32, usize>) -> Vec<(u32, Vec<usize>)> {
    let mut out: Vec<(u32, Vec<usize>)> = Vec::new();
    for (&num, &off) in offsets {
        match out.last_mut() {
            Some((first, run)) if u32::try_from(run.len()).ok() == num.checked_sub(*first) => {
                run.push(off);
            }
            _ => out.push((num, vec![off])),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn objects_round_trip_through_the_writer() {
        let text = b"<</A 1 /B [2 0 R (a\\(b\\)) <414243>] /C#20D 1.5 /E true /F null>>";
        let object = Lexer::new(text, 0).object(0).unwrap();
        let Object::Dict(d) = &object else {
            panic!("not a dictionary")
        };
        assert_eq!(d.get("A"), Some(&Object::Int(1)));
        assert_eq!(
            d.get("B"),
            Some(&Object::Array(vec![
                Object::Ref(2, 0),
                Object::Str(b"a(b)".to_vec()),
                Object::Str(b"ABC".to_vec())
            ]))
        );
        assert_eq!(d.get("C D"), Some(&Object::Real(b"1.5".to_vec())));
        let mut out = Vec::new();
        object.write(&mut out);
        assert_eq!(Lexer::new(&out, 0).object(0).unwrap(), object);
    }

    /// A PDF built from `objects` (numbered from 1, bodies without `obj`/`endobj`) with a
    /// classic cross-reference table and `trailer_extra` in its trailer; answers the file and
    /// each object's offset.
    pub(crate) fn hostile(objects: &[Vec<u8>], trailer_extra: &str) -> (Vec<u8>, Vec<usize>) {
        let mut file = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(file.len());
            file.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            file.extend_from_slice(body);
            file.extend_from_slice(b"\nendobj\n");
        }
        let xref = file.len();
        file.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes(),
        );
        for o in &offsets {
            file.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
        }
        file.extend_from_slice(
            format!(
                "trailer\n<</Size {}/Root 1 0 R{trailer_extra}>>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        (file, offsets)
    }

    fn catalog() -> Vec<Vec<u8>> {
        vec![
            b"<</Type/Catalog/Pages 2 0 R>>".to_vec(),
            b"<</Type/Pages/Kids[]/Count 0>>".to_vec(),
        ]
    }

    /// A FlateDecode stream object that inflates to `size` zero bytes.
    fn bomb(size: usize, extra: &str) -> Vec<u8> {
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; size], 9);
        let mut body = format!(
            "<</Filter/FlateDecode/Length {}{extra}>>\nstream\n",
            packed.len()
        )
        .into_bytes();
        body.extend_from_slice(&packed);
        body.extend_from_slice(b"\nendstream");
        body
    }

    #[test]
    fn one_cross_reference_stream_named_by_every_section_is_read_once_within_the_budget() {
        // Many trailers, each naming the same /XRefStm (a stream that inflates to 64 MiB):
        // before, every section inflated it again.
        let mut objects = catalog();
        objects.push(bomb(64 << 20, "/Type/XRef/W[1 1 1]/Size 3"));
        let (mut file, offsets) = hostile(&objects, "");
        let stm = offsets[2];
        let mut prev = None;
        for _ in 0..200 {
            let at = file.len();
            let prev_entry = prev.map_or_else(String::new, |p: usize| format!("/Prev {p}"));
            file.extend_from_slice(
                format!(
                    "xref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 4/Root 1 0 R/XRefStm {stm}{prev_entry}>>\n"
                )
                .as_bytes(),
            );
            prev = Some(at);
        }
        file.extend_from_slice(format!("startxref\n{}\n%%EOF\n", prev.unwrap()).as_bytes());
        let err = Pdf::parse(&file).unwrap_err();
        assert!(
            err.to_string().contains("budget") || err.to_string().contains("cross-reference"),
            "{err}"
        );
        // A small file gets at least 16 MiB, a large one 64 bytes per byte, at most 256 MiB.
        assert!(file.len() * INFLATE_PER_BYTE < MAX_INFLATED);
    }

    #[test]
    fn declared_object_counts_are_bounded_by_the_file() {
        // An /Index declaring 250 million rows is refused before a row is read.
        let mut objects = catalog();
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&[1, 0, 0], 9);
        let mut xs = format!(
            "<</Type/XRef/W[1 1 1]/Index[0 250000000]/Size 250000000/Root 1 0 R/Filter/FlateDecode/Length {}>>\nstream\n",
            packed.len()
        )
        .into_bytes();
        xs.extend_from_slice(&packed);
        xs.extend_from_slice(b"\nendstream");
        objects.push(xs);
        let (mut file, offsets) = hostile(&objects, "");
        let at = offsets[2];
        let cut = file.windows(9).rposition(|w| w == b"startxref").unwrap();
        file.truncate(cut);
        file.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
        let err = Pdf::parse(&file).unwrap_err();
        assert!(err.to_string().contains("more objects"), "{err}");
        // A /Size beyond what a PDF may have (the counter would wrap) is refused.
        let (file, _) = hostile(&catalog(), "");
        let text = String::from_utf8_lossy(&file).replace("/Size 3", "/Size 4294967295");
        let err = Pdf::parse(text.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("/Size"), "{err}");
    }

    #[test]
    fn a_document_cannot_decompress_more_than_its_budget_in_all() {
        // Three 12 MiB streams in a small file: each alone fits, together they exceed the
        // 16 MiB a small document may decompress.
        let mut objects = catalog();
        for _ in 0..3 {
            objects.push(bomb(12 << 20, ""));
        }
        let (file, _) = hostile(&objects, "");
        let pdf = Pdf::parse(&file).unwrap();
        let read = |n: u32| {
            let indirect = pdf.indirect(n).unwrap();
            let Object::Dict(d) = indirect.object else {
                panic!("not a stream")
            };
            pdf.decode(&d, &file[indirect.data.unwrap()])
        };
        assert_eq!(read(3).unwrap().len(), 12 << 20);
        let err = read(4).unwrap_err();
        assert!(err.to_string().contains("budget"), "{err}");
        assert!(read(5).is_err(), "the budget stays spent");
    }

    #[test]
    fn deep_nesting_and_garbage_are_refused() {
        let deep = "[".repeat(1000);
        assert!(matches!(
            Lexer::new(deep.as_bytes(), 0).object(0),
            Err(Error::Malformed(_))
        ));
        assert_eq!(Pdf::parse(b"hello").unwrap_err(), Error::NotPdf);
        assert!(matches!(
            Pdf::parse(b"%PDF-1.7\n1 0 obj <<>> endobj\n").unwrap_err(),
            Error::Malformed(_)
        ));
    }

    #[test]
    fn stream_lengths_that_refer_to_each_other_do_not_recurse() {
        // Objects 1 and 2 are streams whose /Length names the other.
        let mut file = b"%PDF-1.7\n".to_vec();
        let one = file.len();
        file.extend_from_slice(b"1 0 obj\n<</Length 2 0 R>>\nstream\nabc\nendstream\nendobj\n");
        let two = file.len();
        file.extend_from_slice(b"2 0 obj\n<</Length 1 0 R>>\nstream\nxyz\nendstream\nendobj\n");
        let xref = file.len();
        file.extend_from_slice(
            format!(
                "xref\n0 3\n0000000000 65535 f\r\n{one:010} 00000 n\r\n{two:010} 00000 n\r\n\
                 trailer\n<</Size 3/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        // The catalog is a stream, so parsing fails cleanly; reading object 1 terminates with
        // its data found by the end marker.
        assert!(matches!(Pdf::parse(&file), Err(Error::Malformed(_))));
        let pdf = Pdf {
            bytes: &file,
            xref: HashMap::from([(1, Entry::At(one, 0)), (2, Entry::At(two, 0))]),
            trailer: Dict::default(),
            startxref: xref,
            xref_is_stream: false,
            size: 3,
            object_streams: RefCell::new(HashMap::new()),
            inflate_left: Cell::new(MIN_INFLATE_BUDGET),
            entries_left: Cell::new(1024),
        };
        let data = pdf.indirect(1).unwrap().data.unwrap();
        assert_eq!(&file[data], b"abc");
    }

    #[test]
    fn png_up_predictor_is_undone() {
        let data = [2, 1, 2, 2, 1, 1];
        assert_eq!(unpredict(&data, 2).unwrap(), vec![1, 2, 2, 3]);
    }

    #[test]
    fn text_strings_use_utf16_beyond_ascii() {
        assert_eq!(Object::text("Ann"), Object::Str(b"Ann".to_vec()));
        assert_eq!(
            Object::text("Åse"),
            Object::Str(vec![0xfe, 0xff, 0, 0xc5, 0, b's', 0, b'e'])
        );
    }
}
