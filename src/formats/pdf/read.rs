//! The reader: cross-reference tables and streams, object streams, and the objects, catalog
//! and pages looked up in them, all within the document's decompression and entry budgets.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::filters::decode_limited;
use super::lexer::Lexer;
use super::{
    bad, Dict, Error, Object, INFLATE_PER_BYTE, MAX_INDIRECTION, MAX_INFLATED, MAX_OBJECTS,
    MAX_SECTIONS, MIN_INFLATE_BUDGET,
};

/// Where an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
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
    pub(super) bytes: &'a [u8],
    pub(super) xref: HashMap<u32, Entry>,
    /// The newest trailer (for a cross-reference stream, its dictionary).
    pub trailer: Dict,
    /// Offset of the newest cross-reference section.
    pub startxref: usize,
    /// Whether the newest section is a cross-reference stream.
    pub xref_is_stream: bool,
    /// One more than the highest object number in use.
    pub size: u32,
    /// Decoded object streams, by object number.
    pub(super) object_streams: RefCell<HashMap<u32, Rc<Vec<u8>>>>,
    /// What this document may still decompress, shared by the whole parse and every later
    /// read of its streams (a file that names one compressed stream many times pays each
    /// time).
    pub(super) inflate_left: Cell<usize>,
    /// Cross-reference entries this document may still declare (each read row counts).
    pub(super) entries_left: Cell<usize>,
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

    /// Decodes a stream's data (as [`decode`](super::decode())) within this document's
    /// decompression budget: what it inflates is taken from the budget, and a stream larger
    /// than what is left fails.
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
