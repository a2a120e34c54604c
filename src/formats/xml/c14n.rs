//! XML canonicalization of an element and its descendants, optionally leaving one descendant
//! element out (the enveloped-signature transform):
//!
//! - Exclusive C14N 1.0 (<http://www.w3.org/2001/10/xml-exc-c14n#>, RFC 3741): a namespace
//!   declaration is output on an element when its prefix is visibly utilized there (by the
//!   element's name or an attribute's) and the nearest output ancestor has not already output
//!   the same binding.
//! - Inclusive C14N 1.0 (<http://www.w3.org/TR/2001/REC-xml-c14n-20010315>) and 1.1
//!   (<http://www.w3.org/2006/12/xml-c14n11>): the subtree's top element outputs every
//!   namespace in scope (from its ancestors too) and the `xml:` attributes it inherits
//!   (`xml:lang`, `xml:space`, and in 1.0 `xml:base` and `xml:id`); below it, every binding
//!   that differs from the parent's. An inherited `xml:base` under 1.1 (which asks for URI
//!   joining) is refused rather than guessed.
//!
//! Each with or without comments; declarations sorted by prefix, then attributes by namespace
//! URI and local name; empty elements as start and end tag.

use std::collections::BTreeMap;

use super::{Attribute, Element, Node, XML_NS};

/// Exclusive C14N 1.0.
pub const EXCLUSIVE: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive C14N 1.0 with comments.
pub const EXCLUSIVE_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
/// Inclusive C14N 1.0 (also XML-DSig's default for a same-document reference).
pub const INCLUSIVE: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Inclusive C14N 1.0 with comments.
pub const INCLUSIVE_WITH_COMMENTS: &str =
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// Inclusive C14N 1.1.
pub const INCLUSIVE_11: &str = "http://www.w3.org/2006/12/xml-c14n11";
/// Inclusive C14N 1.1 with comments.
pub const INCLUSIVE_11_WITH_COMMENTS: &str = "http://www.w3.org/2006/12/xml-c14n11#WithComments";

/// A canonicalization method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method {
    /// Exclusive (RFC 3741) rather than inclusive.
    pub exclusive: bool,
    /// Inclusive 1.1 rather than 1.0.
    pub v11: bool,
    /// Comments kept.
    pub comments: bool,
}

impl Method {
    /// The method an algorithm URI names, if it is one of the six.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        let (exclusive, v11, comments) = match uri {
            EXCLUSIVE => (true, false, false),
            EXCLUSIVE_WITH_COMMENTS => (true, false, true),
            INCLUSIVE => (false, false, false),
            INCLUSIVE_WITH_COMMENTS => (false, false, true),
            INCLUSIVE_11 => (false, true, false),
            INCLUSIVE_11_WITH_COMMENTS => (false, true, true),
            _ => return None,
        };
        Some(Self {
            exclusive,
            v11,
            comments,
        })
    }

    /// The same method without comments (what a same-document reference's node set is).
    #[must_use]
    pub const fn without_comments(self) -> Self {
        Self {
            comments: false,
            ..self
        }
    }
}

/// The exclusive canonical form of `element`, leaving out any descendant for which `skip` is
/// true.
#[must_use]
pub fn exclusive(element: &Element, skip: &dyn Fn(&Element) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mode = Method {
        exclusive: true,
        v11: false,
        comments: false,
    };
    render(element, &BTreeMap::new(), None, &[], mode, skip, &mut out);
    out
}

/// The canonical form of `element` by `method`, `ancestors` its ancestors from the document's
/// root down (inclusive C14N outputs what they put in scope), leaving out any descendant for
/// which `skip` is true; `None` for an inherited `xml:base` under C14N 1.1.
#[must_use]
pub fn canonical(
    element: &Element,
    ancestors: &[&Element],
    method: Method,
    skip: &dyn Fn(&Element) -> bool,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if method.exclusive {
        render(element, &BTreeMap::new(), None, &[], method, skip, &mut out);
        return Some(out);
    }
    // What the ancestors put in scope: namespaces, and the `xml:` attributes a subtree
    // inherits (nearest first wins).
    let mut scope: BTreeMap<String, String> = BTreeMap::new();
    let mut inherited: BTreeMap<String, Attribute> = BTreeMap::new();
    for a in ancestors {
        for (prefix, uri) in &a.declarations {
            scope.insert(prefix.clone(), uri.clone());
        }
        for attribute in &a.attributes {
            if attribute.ns.as_deref() == Some(XML_NS) {
                inherited.insert(attribute.local.clone(), attribute.clone());
            }
        }
    }
    let inheritable: &[&str] = if method.v11 {
        &["lang", "space"]
    } else {
        &["lang", "space", "base", "id"]
    };
    if method.v11 && inherited.contains_key("base") {
        return None;
    }
    let extra: Vec<Attribute> = inherited
        .into_iter()
        .filter(|(local, _)| inheritable.contains(&local.as_str()))
        .filter(|(local, _)| {
            !element
                .attributes
                .iter()
                .any(|a| a.ns.as_deref() == Some(XML_NS) && &a.local == local)
        })
        .map(|(_, a)| a)
        .collect();
    // The top element outputs every binding in scope: nothing is "already output" above it,
    // but an ancestor's binding counts as in scope.
    let mut in_scope = scope;
    for (prefix, uri) in &element.declarations {
        in_scope.insert(prefix.clone(), uri.clone());
    }
    render(
        element,
        &BTreeMap::new(),
        Some(&in_scope),
        &extra,
        method,
        skip,
        &mut out,
    );
    Some(out)
}

/// Writes `e`: `rendered` is what its output parent declared; `in_scope`, for inclusive C14N,
/// every binding in scope at `e` (all of them are candidates), and for exclusive C14N `None`
/// (the candidates are the prefixes `e` visibly utilizes).
fn render(
    e: &Element,
    rendered: &BTreeMap<String, String>,
    in_scope: Option<&BTreeMap<String, String>>,
    extra: &[Attribute],
    method: Method,
    skip: &dyn Fn(&Element) -> bool,
    out: &mut Vec<u8>,
) {
    let utilized;
    let candidates = match in_scope {
        Some(bindings) => bindings,
        None => {
            let mut used = BTreeMap::new();
            used.insert(
                e.prefix.clone().unwrap_or_default(),
                e.ns.clone().unwrap_or_default(),
            );
            for a in &e.attributes {
                if let (Some(p), Some(ns)) = (&a.prefix, &a.ns) {
                    used.insert(p.clone(), ns.clone());
                }
            }
            utilized = used;
            &utilized
        }
    };
    let mut scope = rendered.clone();
    let declarations = needed(candidates, rendered, &mut scope);
    start_tag(e, &declarations, extra, out);
    for child in &e.children {
        match child {
            Node::Element(c) if skip(c) => {}
            Node::Element(c) => {
                let inner = in_scope.map(|bindings| {
                    let mut inner = bindings.clone();
                    for (prefix, uri) in &c.declarations {
                        inner.insert(prefix.clone(), uri.clone());
                    }
                    inner
                });
                render(c, &scope, inner.as_ref(), &[], method, skip, out);
            }
            other => leaf(other, method, out),
        }
    }
    end_tag(e, out);
}

/// The declarations among `candidates` an element outputs, given what its output parent
/// `rendered`; each is added to `scope`.
fn needed(
    candidates: &BTreeMap<String, String>,
    rendered: &BTreeMap<String, String>,
    scope: &mut BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut declarations = Vec::new();
    for (prefix, uri) in candidates {
        if prefix == "xml" {
            continue;
        }
        let already = rendered.get(prefix);
        let needed = if prefix.is_empty() && uri.is_empty() {
            // xmlns="" only to undo a default namespace an output ancestor declared.
            already.is_some_and(|u| !u.is_empty())
        } else {
            already != Some(uri)
        };
        if needed {
            scope.insert(prefix.clone(), uri.clone());
            declarations.push((prefix.clone(), uri.clone()));
        }
    }
    declarations
}

fn start_tag(
    e: &Element,
    declarations: &[(String, String)],
    extra: &[Attribute],
    out: &mut Vec<u8>,
) {
    out.push(b'<');
    qname(e.prefix.as_deref(), &e.local, out);
    for (prefix, uri) in declarations {
        if prefix.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        attribute_value(uri, out);
        out.push(b'"');
    }
    let mut attributes: Vec<&Attribute> = e.attributes.iter().chain(extra).collect();
    attributes.sort_by(|a, b| {
        (a.ns.as_deref().unwrap_or(""), a.local.as_str())
            .cmp(&(b.ns.as_deref().unwrap_or(""), b.local.as_str()))
    });
    for a in attributes {
        out.push(b' ');
        qname(a.prefix.as_deref(), &a.local, out);
        out.extend_from_slice(b"=\"");
        attribute_value(&a.value, out);
        out.push(b'"');
    }
    out.push(b'>');
}

fn end_tag(e: &Element, out: &mut Vec<u8>) {
    out.extend_from_slice(b"</");
    qname(e.prefix.as_deref(), &e.local, out);
    out.push(b'>');
}

/// Text, a comment (kept only `with comments`) or a processing instruction.
fn leaf(node: &Node, method: Method, out: &mut Vec<u8>) {
    match node {
        Node::Text(t) => text(t, out),
        Node::Comment(c) if method.comments => {
            out.extend_from_slice(b"<!--");
            out.extend_from_slice(c.as_bytes());
            out.extend_from_slice(b"-->");
        }
        Node::Pi(target, data) => {
            out.extend_from_slice(b"<?");
            out.extend_from_slice(target.as_bytes());
            if !data.is_empty() {
                out.push(b' ');
                out.extend_from_slice(data.as_bytes());
            }
            out.extend_from_slice(b"?>");
        }
        Node::Comment(_) | Node::Element(_) => {}
    }
}

fn qname(prefix: Option<&str>, local: &str, out: &mut Vec<u8>) {
    if let Some(p) = prefix {
        out.extend_from_slice(p.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(local.as_bytes());
}

/// The characters C14N writes as references in text.
const TEXT: &[(char, &str)] = &[
    ('&', "&amp;"),
    ('<', "&lt;"),
    ('>', "&gt;"),
    ('\r', "&#xD;"),
];

/// The characters C14N writes as references in attribute values.
const ATTRIBUTE_VALUE: &[(char, &str)] = &[
    ('&', "&amp;"),
    ('<', "&lt;"),
    ('"', "&quot;"),
    ('\t', "&#x9;"),
    ('\n', "&#xA;"),
    ('\r', "&#xD;"),
];

fn text(t: &str, out: &mut Vec<u8>) {
    escaped(t, TEXT, out);
}

fn attribute_value(v: &str, out: &mut Vec<u8>) {
    escaped(v, ATTRIBUTE_VALUE, out);
}

/// Writes `s`, each character that `references` names written as its reference.
fn escaped(s: &str, references: &[(char, &str)], out: &mut Vec<u8>) {
    for c in s.chars() {
        match references.iter().find(|(special, _)| *special == c) {
            Some((_, reference)) => out.extend_from_slice(reference.as_bytes()),
            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, Limits};
    use super::*;

    fn canonical_child(doc: &str) -> String {
        let doc = parse(doc.as_bytes(), Limits::default()).unwrap();
        let elem = doc.root.elements().next().unwrap();
        String::from_utf8(exclusive(elem, &|_| false)).unwrap()
    }

    /// W3C xml-exc-c14n §2.2: the same subtree in two different contexts has one exclusive
    /// canonical form (where inclusive C14N differs).
    #[test]
    fn w3c_exclusive_c14n_example_2_2() {
        let first = "<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\">\n   <n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n       <n3:stuff xmlns:n3=\"ftp://example.org\"/>\n   </n1:elem2>\n</n0:local>";
        let second = "<n2:pdu xmlns:n1=\"http://example.com\" xmlns:n2=\"http://foo.example\" xml:lang=\"fr\" xml:space=\"retain\">\n   <n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n       <n3:stuff xmlns:n3=\"ftp://example.org\"/>\n   </n1:elem2>\n</n2:pdu>";
        let expected = "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n       <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n   </n1:elem2>";
        assert_eq!(canonical_child(first), expected);
        assert_eq!(canonical_child(second), expected);
    }

    /// W3C xml-exc-c14n §2.1: an unused prefix declared by an ancestor is not output, a used
    /// one is, once.
    #[test]
    fn w3c_exclusive_c14n_example_2_1() {
        let doc = "<n0:pdu xmlns:n0=\"http://a.example\"><n1:elem1 xmlns:n1=\"http://b.example\">content</n1:elem1></n0:pdu>";
        assert_eq!(
            canonical_child(doc),
            "<n1:elem1 xmlns:n1=\"http://b.example\">content</n1:elem1>"
        );
    }

    /// Attribute order, value normalization and escaping, empty elements, default namespaces,
    /// comments, CDATA and character references (C14N 1.0 §3.2–3.4 behaviour, without DTDs).
    #[test]
    fn attributes_text_and_namespaces_are_canonical() {
        let doc = "<?xml version=\"1.0\"?>\n<doc xmlns=\"http://example.org\" xmlns:b=\"http://www.ietf.org\" xmlns:a=\"http://www.w3.org\"><e5 b:attr=\"sorted\" attr2=\"all\" a:attr=\"out\" attr=\"I&apos;m\"/><!-- gone --><e6 xmlns=\"\"><e7>1 &lt; 2 &amp;&#x20;3 &gt; 2<![CDATA[ <raw> ]]>&#xD;</e7></e6><e8 v=\"a\tb&#xA;c &quot;d&quot;\"/><?pi  data ?></doc>";
        let parsed = parse(doc.as_bytes(), Limits::default()).unwrap();
        let c = String::from_utf8(exclusive(&parsed.root, &|_| false)).unwrap();
        assert_eq!(
            c,
            "<doc xmlns=\"http://example.org\"><e5 xmlns:a=\"http://www.w3.org\" xmlns:b=\"http://www.ietf.org\" attr=\"I'm\" attr2=\"all\" b:attr=\"sorted\" a:attr=\"out\"></e5><e6 xmlns=\"\"><e7>1 &lt; 2 &amp; 3 &gt; 2 &lt;raw&gt; &#xD;</e7></e6><e8 v=\"a b&#xA;c &quot;d&quot;\"></e8><?pi data ?></doc>"
        );
    }

    /// W3C xml-exc-c14n §2.2 gives the inclusive forms of the same subtree in its two
    /// contexts: every namespace in scope, and the inherited `xml:` attributes.
    #[test]
    fn w3c_inclusive_c14n_example_2_2() {
        let inclusive = |doc: &str, method: &str| {
            let doc = parse(doc.as_bytes(), Limits::default()).unwrap();
            let elem = doc.root.elements().next().unwrap();
            let method = Method::from_uri(method).unwrap();
            String::from_utf8(canonical(elem, &[&doc.root], method, &|_| false).unwrap()).unwrap()
        };
        let first = "<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\">\n   <n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n       <n3:stuff xmlns:n3=\"ftp://example.org\"/>\n   </n1:elem2>\n</n0:local>";
        let second = "<n2:pdu xmlns:n1=\"http://example.com\" xmlns:n2=\"http://foo.example\" xml:lang=\"fr\" xml:space=\"retain\">\n   <n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n       <n3:stuff xmlns:n3=\"ftp://example.org\"/>\n   </n1:elem2>\n</n2:pdu>";
        for method in [INCLUSIVE, INCLUSIVE_11] {
            assert_eq!(
                inclusive(first, method),
                "<n1:elem2 xmlns:n0=\"foo:bar\" xmlns:n1=\"http://example.net\" xmlns:n3=\"ftp://example.org\" xml:lang=\"en\">\n       <n3:stuff></n3:stuff>\n   </n1:elem2>"
            );
            assert_eq!(
                inclusive(second, method),
                "<n1:elem2 xmlns:n1=\"http://example.net\" xmlns:n2=\"http://foo.example\" xml:lang=\"en\" xml:space=\"retain\">\n       <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n   </n1:elem2>"
            );
        }
    }

    /// Comments are kept only by the `WithComments` methods; an inherited `xml:base` is refused
    /// under 1.1 and kept under 1.0; `xml:id` is inherited by 1.0 only.
    #[test]
    fn comments_and_inherited_xml_attributes_follow_the_method() {
        let doc = "<r xml:base=\"http://a.example/\" xml:id=\"top\"><e><!--c-->t</e></r>";
        let doc = parse(doc.as_bytes(), Limits::default()).unwrap();
        let e = doc.root.elements().next().unwrap();
        let form = |uri: &str| {
            canonical(e, &[&doc.root], Method::from_uri(uri).unwrap(), &|_| false)
                .map(|b| String::from_utf8(b).unwrap())
        };
        assert_eq!(
            form(INCLUSIVE).unwrap(),
            "<e xml:base=\"http://a.example/\" xml:id=\"top\">t</e>"
        );
        assert_eq!(
            form(INCLUSIVE_WITH_COMMENTS).unwrap(),
            "<e xml:base=\"http://a.example/\" xml:id=\"top\"><!--c-->t</e>"
        );
        assert_eq!(form(EXCLUSIVE_WITH_COMMENTS).unwrap(), "<e><!--c-->t</e>");
        assert_eq!(form(EXCLUSIVE).unwrap(), "<e>t</e>");
        assert_eq!(form(INCLUSIVE_11), None);
        assert!(Method::from_uri("http://www.w3.org/TR/1999/REC-xpath-19991116").is_none());
    }

    #[test]
    fn a_skipped_element_is_left_out_entirely() {
        let doc = "<r><keep>1</keep><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><x/></ds:Signature></r>";
        let parsed = parse(doc.as_bytes(), Limits::default()).unwrap();
        let c = exclusive(&parsed.root, &|e| e.local == "Signature");
        assert_eq!(String::from_utf8(c).unwrap(), "<r><keep>1</keep></r>");
    }
}
