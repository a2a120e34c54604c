//! The writer of incremental updates: new or changed objects appended to the file, then a
//! cross-reference section (table or stream, as the file's newest) pointing back at it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::{Dict, Error, Object, Pdf};

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

    /// Points the new trailer's `/Info` (the document information dictionary) at `info`.
    pub fn set_info(&mut self, info: Object) {
        self.info = Some(info);
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
