//! A minimal XML writer and DOM reader that the model-driven codecs build on.
use quick_xml::escape::escape;
use quick_xml::events::Event;

pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn document() -> Self {
        XmlWriter { out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>") }
    }
    pub fn open(&mut self, name: &str, attrs: &[(String, String)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&escape(v.as_str()));
            self.out.push('"');
        }
        self.out.push('>');
    }
    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
    pub fn text(&mut self, text: &str) {
        self.out.push_str(&escape(text));
    }
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        self.text(text);
        self.close(name);
    }
    pub fn finish(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

/// One element of a parsed document; names are local (namespace prefixes dropped).
#[derive(Debug, Default, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => s.into_owned(),
    }
}

/// Parses a whole document into its root element. Any malformation is an error.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut buf = Vec::new();
    loop {
        let ev = reader.read_event_into(&mut buf).map_err(|e| e.to_string())?;
        match ev {
            Event::Start(s) | Event::Empty(s) if root.is_some() => {
                return Err(format!("content after the root element: {}", local(s.name().as_ref())))
            }
            Event::Start(s) => {
                let mut el = Element { name: local(s.name().as_ref()), ..Default::default() };
                for a in s.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let v = a.unescape_value().map_err(|e| e.to_string())?;
                    el.attrs.push((local(a.key.as_ref()), v.into_owned()));
                }
                stack.push(el);
            }
            Event::Empty(s) => {
                let mut el = Element { name: local(s.name().as_ref()), ..Default::default() };
                for a in s.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let v = a.unescape_value().map_err(|e| e.to_string())?;
                    el.attrs.push((local(a.key.as_ref()), v.into_owned()));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.unescape().map_err(|e| e.to_string())?);
                } else if !t.iter().all(|b| b.is_ascii_whitespace()) {
                    return Err("text outside the root element".into());
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err("unexpected end of document".into());
    }
    root.ok_or_else(|| "no root element".into())
}
