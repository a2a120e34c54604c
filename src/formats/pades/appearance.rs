//! The visible signature: a form XObject showing who signed, for which organisation, and
//! when, in an embedded TrueType font (DejaVu Sans, reduced to the WinAnsi characters, see
//! `assets/fonts/README.md`) so that it renders the same in every viewer.

use std::sync::OnceLock;

use super::super::pdf::{Dict, Object, Update};

/// The embedded font file.
const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-WinAnsi.ttf");
/// The font's name in the PDF (a subset tag, six capitals, then the family).
const FONT_NAME: &str = "QSGNAA+DejaVuSans";

/// What the font tells about itself: widths of the WinAnsi codes and the descriptor's
/// metrics, in text space units (1/1000 em).
#[derive(Debug)]
struct Metrics {
    /// Width of each code from 32 to 255; `None` when the font has no glyph for it.
    widths: Vec<Option<i64>>,
    bbox: [i64; 4],
    ascent: i64,
    descent: i64,
    cap_height: i64,
    /// The font file, zlib-compressed, for `/FontFile2`.
    compressed: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn table<'a>(font: &'a [u8], tag: &[u8; 4]) -> Option<&'a [u8]> {
    let count = usize::from(u16_at(font, 4)?);
    (0..count).find_map(|i| {
        let record = 12 + 16 * i;
        (font.get(record..record + 4)? == tag).then_some(())?;
        let offset = usize::try_from(u32_at(font, record + 8)?).ok()?;
        let length = usize::try_from(u32_at(font, record + 12)?).ok()?;
        font.get(offset..offset.checked_add(length)?)
    })
}

/// The glyph of a character through the (3,1) format-4 `cmap`.
fn glyph(cmap: &[u8], c: u16) -> Option<u16> {
    let count = usize::from(u16_at(cmap, 2)?);
    let sub = (0..count).find_map(|i| {
        let r = 4 + 8 * i;
        (u16_at(cmap, r)? == 3 && u16_at(cmap, r + 2)? == 1)
            .then(|| usize::try_from(u32_at(cmap, r + 4)?).ok())?
    })?;
    let t = cmap.get(sub..)?;
    if u16_at(t, 0)? != 4 {
        return None;
    }
    let segments = usize::from(u16_at(t, 6)? / 2);
    let (ends, starts) = (14, 16 + 2 * segments);
    let (deltas, ranges) = (starts + 2 * segments, starts + 4 * segments);
    for i in 0..segments {
        if u16_at(t, ends + 2 * i)? < c {
            continue;
        }
        let start = u16_at(t, starts + 2 * i)?;
        if start > c {
            return None;
        }
        let delta = u16_at(t, deltas + 2 * i)?;
        let range = usize::from(u16_at(t, ranges + 2 * i)?);
        if range == 0 {
            return Some(c.wrapping_add(delta));
        }
        let at = ranges + 2 * i + range + 2 * usize::from(c - start);
        let g = u16_at(t, at)?;
        return (g != 0).then(|| g.wrapping_add(delta));
    }
    None
}

/// The Unicode character of a WinAnsi code.
fn win_ansi(code: u8) -> Option<char> {
    const HIGH: [u16; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
        0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
        0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ];
    match code {
        0x20..=0x7e | 0xa0..=0xff => Some(char::from(code)),
        0x80..=0x9f => HIGH
            .get(usize::from(code - 0x80))
            .and_then(|u| char::from_u32(u32::from(*u)))
            .filter(|c| *c != '\0'),
        _ => None,
    }
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        read_metrics(FONT).unwrap_or_else(|| unreachable!("the embedded font parses"))
    })
}

fn read_metrics(font: &[u8]) -> Option<Metrics> {
    let head = table(font, b"head")?;
    let hhea = table(font, b"hhea")?;
    let hmtx = table(font, b"hmtx")?;
    let cmap = table(font, b"cmap")?;
    let units = i64::from(u16_at(head, 18)?);
    let scale = |v: i64| v * 1000 / units;
    let metrics = usize::from(u16_at(hhea, 34)?);
    let advance = |g: u16| -> Option<i64> {
        let g = usize::from(g).min(metrics.saturating_sub(1));
        Some(scale(i64::from(u16_at(hmtx, 4 * g)?)))
    };
    let widths = (32u8..=255)
        .map(|code| {
            let c = u16::try_from(u32::from(win_ansi(code)?)).ok()?;
            advance(glyph(cmap, c)?)
        })
        .collect();
    let cap_height = table(font, b"OS/2")
        .filter(|os2| u16_at(os2, 0).is_some_and(|v| v >= 2))
        .and_then(|os2| i16_at(os2, 88))
        .map_or(700, |h| scale(i64::from(h)));
    Some(Metrics {
        widths,
        bbox: [
            scale(i64::from(i16_at(head, 36)?)),
            scale(i64::from(i16_at(head, 38)?)),
            scale(i64::from(i16_at(head, 40)?)),
            scale(i64::from(i16_at(head, 42)?)),
        ],
        ascent: scale(i64::from(i16_at(hhea, 4)?)),
        descent: scale(i64::from(i16_at(hhea, 6)?)),
        cap_height,
        compressed: miniz_oxide::deflate::compress_to_vec_zlib(font, 9),
    })
}

/// `text` in WinAnsi codes; characters the font lacks become `?`.
fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| {
            (32u8..=255)
                .find(|code| win_ansi(*code) == Some(c) && width_of_code(*code).is_some())
                .unwrap_or(b'?')
        })
        .collect()
}

/// Width of one WinAnsi code at size 1000, when the font has its glyph.
fn width_of_code(code: u8) -> Option<i64> {
    metrics()
        .widths
        .get(usize::from(code.checked_sub(32)?))
        .copied()
        .flatten()
}

/// Width of encoded text at size 1000.
fn width(encoded: &[u8]) -> i64 {
    encoded
        .iter()
        .map(|c| width_of_code(*c).unwrap_or(500))
        .sum()
}

/// Writes the font (dictionary, descriptor, font file) into the update; answers its number.
fn embed_font(update: &mut Update) -> u32 {
    let m = metrics();
    let (font, descriptor, file) = (update.allocate(), update.allocate(), update.allocate());
    update.put_stream(
        file,
        Dict::of(vec![
            ("Filter", Object::name("FlateDecode")),
            (
                "Length1",
                Object::Int(i64::try_from(FONT.len()).unwrap_or(0)),
            ),
        ]),
        &m.compressed,
    );
    update.put(
        descriptor,
        &Object::Dict(Dict::of(vec![
            ("Type", Object::name("FontDescriptor")),
            ("FontName", Object::name(FONT_NAME)),
            ("Flags", Object::Int(32)),
            (
                "FontBBox",
                Object::Array(m.bbox.iter().map(|v| Object::Int(*v)).collect()),
            ),
            ("ItalicAngle", Object::Int(0)),
            ("Ascent", Object::Int(m.ascent)),
            ("Descent", Object::Int(m.descent)),
            ("CapHeight", Object::Int(m.cap_height)),
            ("StemV", Object::Int(80)),
            ("FontFile2", Object::Ref(file, 0)),
        ])),
    );
    update.put(
        font,
        &Object::Dict(Dict::of(vec![
            ("Type", Object::name("Font")),
            ("Subtype", Object::name("TrueType")),
            ("BaseFont", Object::name(FONT_NAME)),
            ("FirstChar", Object::Int(32)),
            ("LastChar", Object::Int(255)),
            (
                "Widths",
                Object::Array(
                    m.widths
                        .iter()
                        .map(|w| Object::Int(w.unwrap_or(0)))
                        .collect(),
                ),
            ),
            ("Encoding", Object::name("WinAnsiEncoding")),
            ("FontDescriptor", Object::Ref(descriptor, 0)),
        ])),
    );
    font
}

fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Writes the appearance stream for a `width` × `height` box showing `lines`; answers its
/// object number.
pub(super) fn appearance(update: &mut Update, width: f64, height: f64, lines: &[String]) -> u32 {
    let font = embed_font(update);
    let encoded: Vec<Vec<u8>> = lines.iter().map(|l| encode(l)).collect();
    let pad = (height.min(width) * 0.06).clamp(1.0, 6.0);
    let widest = encoded.iter().map(|e| width_of(e)).fold(1.0, f64::max);
    #[allow(clippy::cast_precision_loss)]
    let rows = encoded.len().max(1) as f64;
    let size = ((width - 2.0 * pad) * 1000.0 / widest)
        .min((height - 2.0 * pad) / (rows * 1.25))
        .clamp(1.0, 11.0);
    let leading = size * 1.25;
    let mut content = format!(
        // No background fill: the box is transparent, so it can never hide what lies under it
        // on the page (a line of an approved contract); only a border and the text are drawn.
        "q 0.16 0.29 0.55 RG 1 w 0.5 0.5 {w1} {h1} re S Q\n\
         BT 0.05 0.09 0.2 rg /F1 {size} Tf {leading} TL {x} {y} Td\n",
        w1 = number((width - 1.0).max(0.0)),
        h1 = number((height - 1.0).max(0.0)),
        size = number(size),
        leading = number(leading),
        x = number(pad),
        y = number(height - pad - size),
    )
    .into_bytes();
    for (i, line) in encoded.iter().enumerate() {
        if i > 0 {
            content.extend_from_slice(b"T* ");
        }
        Object::Str(line.clone()).write(&mut content);
        content.extend_from_slice(b" Tj\n");
    }
    content.extend_from_slice(b"ET\n");
    let stream = update.allocate();
    let bbox = Object::Array(vec![
        Object::Int(0),
        Object::Int(0),
        Object::Real(number(width).into_bytes()),
        Object::Real(number(height).into_bytes()),
    ]);
    update.put_stream(
        stream,
        Dict::of(vec![
            ("Type", Object::name("XObject")),
            ("Subtype", Object::name("Form")),
            ("BBox", bbox),
            (
                "Resources",
                Object::Dict(Dict::of(vec![(
                    "Font",
                    Object::Dict(Dict::of(vec![("F1", Object::Ref(font, 0))])),
                )])),
            ),
        ]),
        &content,
    );
    stream
}

#[allow(clippy::cast_precision_loss)]
fn width_of(encoded: &[u8]) -> f64 {
    width(encoded) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_maps_danish_letters_and_measures_them() {
        let m = metrics();
        assert_eq!(encode("Åse Ørsted æ"), b"\xc5se \xd8rsted \xe6".to_vec());
        assert_eq!(encode("€"), vec![0x80]);
        assert_eq!(encode("\u{4e2d}"), b"?".to_vec());
        // DejaVu Sans: "M" is wider than "i", the space is positive.
        let (m_w, i_w) = (width_of_code(b'M'), width_of_code(b'i'));
        assert!(m_w.unwrap() > i_w.unwrap() && i_w.unwrap() > 0);
        assert!(m.ascent > 0 && m.descent < 0 && m.bbox[2] > m.bbox[0]);
    }
}
