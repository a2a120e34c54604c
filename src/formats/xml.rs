//! XML for XAdES: a parser that refuses hostile input, into a small tree with resolved
//! namespaces, and exclusive canonicalization ([`c14n`]).
//!
//! Refused, each with its own code: any DTD (`<!DOCTYPE`, so no entity can be declared, no
//! entity expansion and no external resource), references to entities other than the five
//! predefined ones and character references, nesting deeper than a limit, too many attributes
//! on an element, too many nodes, too many bytes, undeclared namespace prefixes and malformed
//! XML.

pub mod c14n;

use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;

/// The XML namespace, bound to the prefix `xml` without a declaration.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// What makes an input unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A document type declaration.
    #[error("XML with a DTD is not accepted")]
    Dtd,
    /// A reference to an entity that is not predefined.
    #[error("XML entity references other than the predefined ones are not accepted")]
    Entity,
    /// Elements nested deeper than the limit.
    #[error("XML nested deeper than {0} elements")]
    TooDeep(usize),
    /// More attributes on one element than the limit.
    #[error("an XML element with more than {0} attributes")]
    TooManyAttributes(usize),
    /// More nodes than the limit.
    #[error("XML with more than {0} nodes")]
    TooManyNodes(usize),
    /// More bytes than the limit.
    #[error("XML larger than {0} bytes")]
    TooLarge(usize),
    /// A prefix without a namespace declaration in scope.
    #[error("undeclared XML namespace prefix {0:?}")]
    Namespace(String),
    /// More namespace declarations in scope (or more of their bytes) than the limit.
    #[error("XML with more than {0} namespace declarations (or bytes of them) in scope")]
    TooManyNamespaces(usize),
    /// Anything else that is not well-formed XML.
    #[error("malformed XML: {0}")]
    Malformed(String),
}

impl Error {
    /// A stable code for each kind of refusal.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Dtd => "xml_dtd",
            Self::Entity => "xml_entity",
            Self::TooDeep(_) => "xml_too_deep",
            Self::TooManyAttributes(_) => "xml_too_many_attributes",
            Self::TooManyNodes(_) => "xml_too_many_nodes",
            Self::TooLarge(_) => "xml_too_large",
            Self::Namespace(_) => "xml_namespace",
            Self::TooManyNamespaces(_) => "xml_too_many_namespaces",
            Self::Malformed(_) => "xml_malformed",
        }
    }
}

/// Bounds on what an input may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest element nesting.
    pub depth: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub attributes: usize,
    /// Most nodes (elements, texts, comments, processing instructions).
    pub nodes: usize,
    /// Most bytes.
    pub bytes: usize,
    /// Most namespace declarations in scope at once.
    pub namespaces: usize,
    /// Most bytes of namespace declarations (prefixes and URIs) in scope at once.
    pub namespace_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 128,
            attributes: 256,
            nodes: 4_000_000,
            bytes: 256 * 1024 * 1024,
            namespaces: 1024,
            namespace_bytes: 256 * 1024,
        }
    }
}

/// An attribute with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Prefix as written.
    pub prefix: Option<String>,
    /// Local name.
    pub local: String,
    /// Namespace URI (unprefixed attributes have none).
    pub ns: Option<String>,
    /// The normalized value.
    pub value: String,
}

/// An element with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Prefix as written.
    pub prefix: Option<String>,
    /// Local name.
    pub local: String,
    /// Namespace URI.
    pub ns: Option<String>,
    /// Namespace declarations made on this element: (prefix, or "" for the default, URI).
    pub declarations: Vec<(String, String)>,
    /// Attributes other than namespace declarations.
    pub attributes: Vec<Attribute>,
    /// Content.
    pub children: Vec<Node>,
}

impl Element {
    /// The value of an attribute without namespace.
    #[must_use]
    pub fn attribute(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }
}

/// A node of element content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data (references resolved, line ends normalized).
    Text(String),
    /// A comment.
    Comment(String),
    /// A processing instruction: target and data.
    Pi(String, String),
}

/// A parsed document: its root element (what comes before or after it is dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The document element.
    pub root: Element,
}

fn malformed(e: impl std::fmt::Display) -> Error {
    Error::Malformed(e.to_string())
}

/// Parses `bytes` (UTF-8) within `limits`.
///
/// # Errors
/// The [`Error`] of the first problem found.
pub fn parse(bytes: &[u8], limits: Limits) -> Result<Document, Error> {
    if bytes.len() > limits.bytes {
        return Err(Error::TooLarge(limits.bytes));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    // Open elements and the namespace scope each opened.
    let mut stack: Vec<Element> = Vec::new();
    let mut scopes = Scopes::default();
    let mut root = None;
    let mut nodes = 0usize;
    loop {
        let event = reader.read_event().map_err(malformed)?;
        nodes += 1;
        if nodes > limits.nodes {
            return Err(Error::TooManyNodes(limits.nodes));
        }
        match event {
            Event::DocType(_) => return Err(Error::Dtd),
            // Only as the very first thing of the document.
            Event::Decl(_) if nodes == 1 => {}
            Event::Decl(_) => return Err(malformed("an XML declaration after the start")),
            Event::Start(start) => {
                if stack.len() >= limits.depth {
                    return Err(Error::TooDeep(limits.depth));
                }
                let element = open(&start, &mut scopes, limits)?;
                stack.push(element);
            }
            Event::Empty(start) => {
                if stack.len() >= limits.depth {
                    return Err(Error::TooDeep(limits.depth));
                }
                let element = open(&start, &mut scopes, limits)?;
                scopes.close();
                close(element, &mut stack, &mut root)?;
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                scopes.close();
                close(element, &mut stack, &mut root)?;
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(&mut stack, &content)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                push_text(&mut stack, &content)?;
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(malformed)?
                        .ok_or_else(|| malformed("bad character reference"))?
                } else {
                    match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return Err(Error::Entity),
                    }
                };
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]))?;
            }
            Event::Comment(c) => {
                if let Some(parent) = stack.last_mut() {
                    parent
                        .children
                        .push(Node::Comment(c.xml10_content().into_owned()));
                }
            }
            Event::PI(pi) => {
                if let Some(parent) = stack.last_mut() {
                    let target = pi.target().to_owned();
                    let data = pi.content().trim_start().to_owned();
                    parent.children.push(Node::Pi(target, data));
                }
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unclosed element"));
    }
    Ok(Document {
        root: root.ok_or_else(|| malformed("no document element"))?,
    })
}

/// The namespace declarations in scope: one stack of bindings (pushed when an element opens,
/// dropped when it closes), looked up from the innermost. Nothing is copied per element, so a
/// flood of declarations costs what it weighs once, and both its count and its bytes are
/// bounded.
#[derive(Debug, Default)]
struct Scopes {
    /// (prefix, or "" for the default namespace; URI), outermost first.
    bindings: Vec<(String, String)>,
    /// Where each open element's bindings start.
    marks: Vec<usize>,
    /// Bytes of the bindings in scope.
    bytes: usize,
}

impl Scopes {
    fn get(&self, prefix: &str) -> Option<&String> {
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri)
    }

    fn bind(&mut self, prefix: String, uri: String, limits: Limits) -> Result<(), Error> {
        self.bytes = self.bytes.saturating_add(prefix.len() + uri.len());
        if self.bindings.len() >= limits.namespaces {
            return Err(Error::TooManyNamespaces(limits.namespaces));
        }
        if self.bytes > limits.namespace_bytes {
            return Err(Error::TooManyNamespaces(limits.namespace_bytes));
        }
        self.bindings.push((prefix, uri));
        Ok(())
    }

    /// Drops the bindings of the element that closes.
    fn close(&mut self) {
        let mark = self.marks.pop().unwrap_or(0);
        for (p, u) in self.bindings.drain(mark..) {
            self.bytes = self.bytes.saturating_sub(p.len() + u.len());
        }
    }
}

/// Opens an element: pushes its namespace declarations on the scope stack, resolves its name
/// and its attributes' names.
fn open(start: &BytesStart<'_>, scope: &mut Scopes, limits: Limits) -> Result<Element, Error> {
    scope.marks.push(scope.bindings.len());
    let mut declarations = Vec::new();
    let mut raw = Vec::new();
    for (count, attr) in start.attributes().with_checks(true).enumerate() {
        if count >= limits.attributes {
            return Err(Error::TooManyAttributes(limits.attributes));
        }
        let attr = attr.map_err(malformed)?;
        if attr.value.contains('<') {
            return Err(malformed("'<' in an attribute value"));
        }
        let key = attr.key.as_ref().to_owned();
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| match e {
                quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(
                    ..,
                )) => Error::Entity,
                other => malformed(other),
            })?
            .into_owned();
        if key == "xmlns" {
            scope.bind(String::new(), value.clone(), limits)?;
            declarations.push((String::new(), value));
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            if value.is_empty() {
                return Err(malformed("a prefix cannot be undeclared in XML 1.0"));
            }
            scope.bind(prefix.to_owned(), value.clone(), limits)?;
            declarations.push((prefix.to_owned(), value));
        } else {
            raw.push((key, value));
        }
    }
    let resolve = |prefix: Option<&str>, is_attribute: bool| -> Result<Option<String>, Error> {
        match prefix {
            Some("xml") => Ok(Some(XML_NS.to_owned())),
            Some(p) => scope
                .get(p)
                .cloned()
                .map(Some)
                .ok_or_else(|| Error::Namespace(p.to_owned())),
            None if is_attribute => Ok(None),
            None => Ok(scope.get("").filter(|u| !u.is_empty()).cloned()),
        }
    };
    let split = |name: &str| match name.split_once(':') {
        Some((p, l)) => (Some(p.to_owned()), l.to_owned()),
        None => (None, name.to_owned()),
    };
    let (prefix, local) = split(start.name().as_ref());
    let ns = resolve(prefix.as_deref(), false)?;
    let mut attributes: Vec<Attribute> = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        let (prefix, local) = split(&key);
        let ns = resolve(prefix.as_deref(), true)?;
        if attributes.iter().any(|a| a.ns == ns && a.local == local) {
            return Err(malformed("an attribute appears twice"));
        }
        attributes.push(Attribute {
            prefix,
            local,
            ns,
            value,
        });
    }
    Ok(Element {
        prefix,
        local,
        ns,
        declarations,
        attributes,
        children: Vec::new(),
    })
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) -> Result<(), Error> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(element)),
        None if root.is_none() => *root = Some(element),
        None => return Err(malformed("more than one document element")),
    }
    Ok(())
}

/// Appends character data to the open element (merging adjacent text); text outside the
/// document element must be white space.
fn push_text(stack: &mut [Element], text: &str) -> Result<(), Error> {
    let Some(parent) = stack.last_mut() else {
        return if text.trim().is_empty() {
            Ok(())
        } else {
            Err(malformed("text outside the document element"))
        };
    };
    if let Some(Node::Text(last)) = parent.children.last_mut() {
        last.push_str(text);
    } else {
        parent.children.push(Node::Text(text.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(input: &str) -> Error {
        parse(input.as_bytes(), Limits::default()).unwrap_err()
    }

    #[test]
    fn billion_laughs_xxe_and_any_dtd_are_refused() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><lolz>&lol2;</lolz>";
        assert_eq!(refused(laughs), Error::Dtd);
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><d>&x;</d>";
        assert_eq!(refused(xxe), Error::Dtd);
        // Without a DTD an undeclared entity is still refused, with its own code.
        assert_eq!(refused("<d>&x;</d>"), Error::Entity);
        assert_eq!(refused("<d a=\"&x;\"/>"), Error::Entity);
        assert_eq!(Error::Dtd.code(), "xml_dtd");
    }

    #[test]
    fn namespace_floods_are_bounded_and_cost_what_they_weigh_once() {
        // Nested elements each declaring a namespace: the scope is a stack, capped in count.
        let nested: String = (0..1100)
            .map(|i| format!("<e{i} xmlns:p{i}=\"urn:x\">"))
            .collect();
        let deep = Limits {
            depth: 5000,
            ..Limits::default()
        };
        assert_eq!(
            parse(nested.as_bytes(), deep).unwrap_err(),
            Error::TooManyNamespaces(1024)
        );
        // Long URIs: capped in bytes.
        let long = "u".repeat(100_000);
        let wide: String = (0..3)
            .map(|i| format!("<e xmlns:p{i}=\"{long}\">"))
            .collect();
        assert_eq!(
            parse(wide.as_bytes(), Limits::default()).unwrap_err(),
            Error::TooManyNamespaces(256 * 1024)
        );
        // 200 declarations on the root and 20 000 siblings after them: each sibling sees the
        // root's scope without copying it, and siblings' own declarations are dropped when
        // they close.
        let decls: String = (0..200)
            .map(|i| format!(" xmlns:p{i}=\"urn:{i}\""))
            .collect();
        let siblings = "<p7:s xmlns:q=\"urn:q\" q:a=\"1\"/>".repeat(20_000);
        let doc = parse(
            format!("<r{decls}>{siblings}</r>").as_bytes(),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(doc.root.children.len(), 20_000);
        assert_eq!(doc.root.declarations.len(), 200);
    }

    #[test]
    fn a_late_declaration_and_a_raw_less_than_in_an_attribute_are_refused() {
        assert!(parse(b"<?xml version=\"1.0\"?><r/>", Limits::default()).is_ok());
        assert_eq!(
            refused("<?xml version=\"1.0\"?><?xml version=\"1.0\"?><r/>").code(),
            "xml_malformed"
        );
        assert_eq!(refused("<r a=\"x<y\"/>").code(), "xml_malformed");
        // Escaped, it is fine.
        let doc = parse(b"<r a=\"x&lt;y\"/>", Limits::default()).unwrap();
        assert_eq!(doc.root.attribute("a"), Some("x<y"));
    }

    #[test]
    fn limits_are_enforced() {
        let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
        assert_eq!(refused(&deep), Error::TooDeep(128));
        let attrs: String = (0..300).map(|i| format!(" a{i}=\"1\"")).collect();
        assert_eq!(
            refused(&format!("<a{attrs}/>")),
            Error::TooManyAttributes(256)
        );
        let refused_within = |limits, xml: &str| parse(xml.as_bytes(), limits).unwrap_err();
        let small = Limits {
            bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            refused_within(small, "<a>0123456789</a>"),
            Error::TooLarge(10)
        );
        let few = Limits {
            nodes: 5,
            ..Limits::default()
        };
        let nodes = "<a><b/><b/><b/><b/><b/></a>";
        assert_eq!(refused_within(few, nodes), Error::TooManyNodes(5));
    }

    #[test]
    fn malformed_input_and_undeclared_prefixes_have_codes() {
        assert_eq!(refused("<p:a/>"), Error::Namespace("p".into()));
        assert_eq!(refused("<a x:y=\"1\"/>"), Error::Namespace("x".into()));
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text",
            "<a x=\"1\" x=\"2\"/>",
        ] {
            assert_eq!(refused(bad).code(), "xml_malformed", "{bad:?}");
        }
        assert_eq!(
            parse(&[0x3c, 0x61, 0xff, 0x2f, 0x3e], Limits::default())
                .unwrap_err()
                .code(),
            "xml_malformed"
        );
    }

    #[test]
    fn namespaces_resolve_through_scopes() {
        let doc = parse(
            b"<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:c p:a=\"1\" b=\"2\"><d/></p:c></r>",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(doc.root.ns.as_deref(), Some("urn:d"));
        let c = doc.root.elements().next().unwrap();
        assert_eq!(c.ns.as_deref(), Some("urn:p"));
        assert_eq!(c.attributes[0].ns.as_deref(), Some("urn:p"));
        assert_eq!(c.attribute("b"), Some("2"));
        assert_eq!(c.elements().next().unwrap().ns.as_deref(), Some("urn:d"));
    }
}
