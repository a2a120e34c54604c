//! The tokenizer: PDF syntax (numbers, names, strings, arrays, dictionaries, references)
//! read from a byte slice into [`Object`]s, with nesting bounded.

use super::{bad, Dict, Error, Object, MAX_DEPTH};

const fn is_whitespace(c: u8) -> bool {
    matches!(c, 0 | 9 | 10 | 12 | 13 | 32)
}

pub(super) const fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A tokenizer over a byte slice.
pub(super) struct Lexer<'a> {
    b: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) const fn new(b: &'a [u8], pos: usize) -> Self {
        Self { b, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(super) fn skip_whitespace(&mut self) {
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
    pub(super) fn word(&mut self) -> &'a [u8] {
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
    pub(super) fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or_default()
    }

    pub(super) fn keyword(&mut self, expected: &[u8]) -> Result<(), Error> {
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

    pub(super) fn unsigned(&mut self) -> Result<u64, Error> {
        self.skip_whitespace();
        let at = self.pos;
        let w = self.word();
        std::str::from_utf8(w)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("expected a number at offset {at}")))
    }

    pub(super) fn object(&mut self, depth: usize) -> Result<Object, Error> {
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
