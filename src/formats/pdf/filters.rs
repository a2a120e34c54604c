//! Stream filters: `FlateDecode` (bounded by a decompression limit) and PNG row predictors.

use super::{bad, Dict, Error, Object, MAX_INFLATED};

/// Decodes a stream's data: no filter or `FlateDecode`, with PNG predictors.
///
/// # Errors
/// [`Error::Malformed`] for other filters, corrupt data or more than 256 MiB.
pub fn decode(dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, Error> {
    decode_limited(dict, raw, MAX_INFLATED)
}

/// [`decode`] with at most `limit` decompressed bytes.
pub(super) fn decode_limited(dict: &Dict, raw: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
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
pub(super) fn unpredict(data: &[u8], columns: usize) -> Result<Vec<u8>, Error> {
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
