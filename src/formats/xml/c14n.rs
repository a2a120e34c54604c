//! Exclusive XML Canonicalization 1.0 without comments
//! (<http://www.w3.org/2001/10/xml-exc-c14n#>, W3C REC 2002, RFC 3741) of an element and its
//! descendants, optionally leaving one descendant element out (the enveloped-signature
//! transform).
//!
//! A namespace declaration is output on an element when its prefix is visibly utilized there
//! (by the element's name or an attribute's) and the nearest output ancestor has not already
//! output the same binding; declarations sorted by prefix, then attributes sorted by namespace
//! URI and local name; empty elements as start and end tag; comments dropped.

use std::collections::BTreeMap;

use super::{Element, Node};

/// The algorithm URI.
pub const EXCLUSIVE: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// The exclusive canonical form of `element`, leaving out any descendant for which `skip` is
/// true.
#[must_use]
pub fn exclusive(element: &Element, skip: &dyn Fn(&Element) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    render(element, &BTreeMap::new(), skip, &mut out);
    out
}

fn render(
    e: &Element,
    rendered: &BTreeMap<String, String>,
    skip: &dyn Fn(&Element) -> bool,
    out: &mut Vec<u8>,
) {
    let mut utilized: BTreeMap<String, String> = BTreeMap::new();
    let element_prefix = e.prefix.clone().unwrap_or_default();
    utilized.insert(element_prefix, e.ns.clone().unwrap_or_default());
    for a in &e.attributes {
        if let (Some(p), Some(ns)) = (&a.prefix, &a.ns) {
            utilized.insert(p.clone(), ns.clone());
        }
    }
    let mut scope = rendered.clone();
    let mut declarations = Vec::new();
    for (prefix, uri) in utilized {
        if prefix == "xml" {
            continue;
        }
        let already = rendered.get(&prefix);
        let needed = if prefix.is_empty() && uri.is_empty() {
            // xmlns="" only to undo a default namespace an output ancestor declared.
            already.is_some_and(|u| !u.is_empty())
        } else {
            already != Some(&uri)
        };
        if needed {
            scope.insert(prefix.clone(), uri.clone());
            declarations.push((prefix, uri));
        }
    }
    out.push(b'<');
    qname(e.prefix.as_deref(), &e.local, out);
    for (prefix, uri) in &declarations {
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
    let mut attributes: Vec<_> = e.attributes.iter().collect();
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
    for child in &e.children {
        match child {
            Node::Element(c) if skip(c) => {}
            Node::Element(c) => render(c, &scope, skip, out),
            Node::Text(t) => text(t, out),
            Node::Comment(_) => {}
            Node::Pi(target, data) => {
                out.extend_from_slice(b"<?");
                out.extend_from_slice(target.as_bytes());
                if !data.is_empty() {
                    out.push(b' ');
                    out.extend_from_slice(data.as_bytes());
                }
                out.extend_from_slice(b"?>");
            }
        }
    }
    out.extend_from_slice(b"</");
    qname(e.prefix.as_deref(), &e.local, out);
    out.push(b'>');
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

    #[test]
    fn a_skipped_element_is_left_out_entirely() {
        let doc = "<r><keep>1</keep><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><x/></ds:Signature></r>";
        let parsed = parse(doc.as_bytes(), Limits::default()).unwrap();
        let c = exclusive(&parsed.root, &|e| e.local == "Signature");
        assert_eq!(String::from_utf8(c).unwrap(), "<r><keep>1</keep></r>");
    }
}
