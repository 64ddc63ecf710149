//! `java.net.URI`'s parser, which ksqlDB's URL functions run on: RFC 2396 with Java's own
//! deviations (an empty authority before a path, `[` `]` among the reserved characters,
//! visible non-ASCII characters allowed unescaped). A server-based authority
//! (`user@host:port`) that does not parse falls back to a registry-based one, whose host and
//! port are absent, exactly as `URI(String)` does; only text that is not a URI reference at
//! all is an error ([`UriSyntaxError`], Java's `URISyntaxException`).
//!
//! Components come back as `URI`'s getters return them: `scheme`, `host` and `port` raw,
//! `path`, `query` and `fragment` with their `%XX` escapes decoded as UTF-8.

use std::fmt;

/// Why a string is not a URI reference: Java's reason and the character index it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriSyntaxError {
    pub reason: String,
    pub index: usize,
}

impl fmt::Display for UriSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at index {}", self.reason, self.index)
    }
}

type Parsed<T> = Result<T, UriSyntaxError>;

fn fail<T>(reason: impl Into<String>, index: usize) -> Parsed<T> {
    Err(UriSyntaxError {
        reason: reason.into(),
        index,
    })
}

/// A parsed URI reference; absent components are `None` (Java's `null`, or `-1` for the port).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uri {
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub port: Option<i32>,
    raw_path: Option<String>,
    raw_query: Option<String>,
    raw_fragment: Option<String>,
}

impl Uri {
    /// Parses `input` as `new java.net.URI(input)` does.
    pub fn parse(input: &str) -> Parsed<Uri> {
        let mut p = Parser {
            s: input.chars().collect(),
            uri: Uri::default(),
        };
        p.parse()?;
        Ok(p.uri)
    }
    /// The decoded path: `""` for a hierarchical URI without one, `None` for an opaque URI
    /// (`mailto:a@b.c`).
    pub fn path(&self) -> Option<String> {
        self.raw_path.as_deref().map(decode)
    }
    /// The decoded query (after `?`), `None` without a `?`.
    pub fn query(&self) -> Option<String> {
        self.raw_query.as_deref().map(decode)
    }
    /// The decoded fragment (after `#`), `None` without a `#`.
    pub fn fragment(&self) -> Option<String> {
        self.raw_fragment.as_deref().map(decode)
    }
}

/// `URI.decode`: runs of `%XX` escapes become the UTF-8 text they encode (malformed
/// sequences become U+FFFD); everything else is kept. Only called on validated components,
/// where every `%` starts an escape.
fn decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut run: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                run.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        if !run.is_empty() {
            out.push_str(&String::from_utf8_lossy(&run));
            run.clear();
        }
        // Copy one whole UTF-8 character.
        let len = utf8_len(b[i]);
        out.push_str(&s[i..i + len]);
        i += len;
    }
    if !run.is_empty() {
        out.push_str(&String::from_utf8_lossy(&run));
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

// Character classes of RFC 2396 as java.net.URI defines them.
fn alpha(c: char) -> bool {
    c.is_ascii_alphabetic()
}
fn digit(c: char) -> bool {
    c.is_ascii_digit()
}
fn alphanum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}
fn unreserved(c: char) -> bool {
    alphanum(c) || "-_.!~*'()".contains(c)
}
fn reserved(c: char) -> bool {
    ";/?:@&=+$,[]".contains(c)
}
fn uric(c: char) -> bool {
    reserved(c) || unreserved(c)
}
fn path_char(c: char) -> bool {
    unreserved(c) || ":@&=+$,;/".contains(c)
}
fn userinfo(c: char) -> bool {
    unreserved(c) || ";:&=+$,".contains(c)
}
fn reg_name(c: char) -> bool {
    unreserved(c) || "$,;:@&=+".contains(c)
}
fn server(c: char) -> bool {
    userinfo(c) || alphanum(c) || c == '-' || ".:@[]".contains(c)
}
fn scheme_char(c: char) -> bool {
    alpha(c) || digit(c) || "+-.".contains(c)
}
fn alphanum_dash(c: char) -> bool {
    alphanum(c) || c == '-'
}
fn digit_dot(c: char) -> bool {
    digit(c) || c == '.'
}

/// Java's `Character.isSpaceChar` for characters above ASCII (Unicode separators).
fn space_char(c: char) -> bool {
    c.is_whitespace() && !c.is_control()
}

struct Parser {
    s: Vec<char>,
    uri: Uri,
}

impl Parser {
    fn at(&self, p: usize, c: char) -> bool {
        self.s.get(p) == Some(&c)
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.s[from..to].iter().collect()
    }

    /// The index of the first character of `stop` in `[start, end)`, or `end`.
    fn scan_to(&self, start: usize, end: usize, stop: &str) -> usize {
        (start..end)
            .find(|&p| stop.contains(self.s[p]))
            .unwrap_or(end)
    }

    /// Like [`Parser::scan_to`], but None when a character of `err` comes first.
    fn scan_err(&self, start: usize, end: usize, err: &str, stop: &str) -> Option<usize> {
        for p in start..end {
            let c = self.s[p];
            if err.contains(c) {
                return None;
            }
            if stop.contains(c) {
                return Some(p);
            }
        }
        Some(end)
    }

    /// The end of the run of characters of `class` from `start` (with `escaped`, also
    /// `%XX` escapes and visible non-ASCII characters; a `%` not followed by two hex digits
    /// is an error).
    fn scan_class(
        &self,
        start: usize,
        end: usize,
        class: fn(char) -> bool,
        escaped: bool,
    ) -> Parsed<usize> {
        let mut p = start;
        while p < end {
            let c = self.s[p];
            if class(c) {
                p += 1;
                continue;
            }
            if escaped {
                if c == '%' {
                    let hex = |i: usize| self.s.get(i).is_some_and(|c| c.is_ascii_hexdigit());
                    if p + 3 <= end && hex(p + 1) && hex(p + 2) {
                        p += 3;
                        continue;
                    }
                    return fail("Malformed escape pair", p);
                }
                if (c as u32) > 128 && !space_char(c) && !c.is_control() {
                    p += 1;
                    continue;
                }
            }
            break;
        }
        Ok(p)
    }

    fn check(
        &self,
        start: usize,
        end: usize,
        class: fn(char) -> bool,
        escaped: bool,
        what: &str,
    ) -> Parsed<()> {
        let p = self.scan_class(start, end, class, escaped)?;
        if p < end {
            return fail(format!("Illegal character in {what}"), p);
        }
        Ok(())
    }

    fn parse(&mut self) -> Parsed<()> {
        let n = self.s.len();
        let mut p;
        match self.scan_err(0, n, "/?#", ":") {
            Some(colon) if self.at(colon, ':') => {
                if colon == 0 {
                    return fail("Expected scheme name", 0);
                }
                if !alpha(self.s[0]) {
                    return fail("Illegal character in scheme name", 0);
                }
                self.check(1, colon, scheme_char, false, "scheme name")?;
                self.uri.scheme = Some(self.text(0, colon));
                p = colon + 1;
                if self.at(p, '/') {
                    p = self.parse_hierarchical(p, n)?;
                } else {
                    let q = self.scan_to(p, n, "#");
                    if q <= p {
                        return fail("Expected scheme-specific part", p);
                    }
                    self.check(p, q, uric, true, "opaque part")?;
                    p = q;
                }
            }
            _ => p = self.parse_hierarchical(0, n)?,
        }
        if self.at(p, '#') {
            self.check(p + 1, n, uric, true, "fragment")?;
            self.uri.raw_fragment = Some(self.text(p + 1, n));
            p = n;
        }
        if p < n {
            return fail("Expected end of URI", p);
        }
        Ok(())
    }

    fn parse_hierarchical(&mut self, start: usize, n: usize) -> Parsed<usize> {
        let mut p = start;
        if self.at(p, '/') && self.at(p + 1, '/') {
            p += 2;
            let q = self.scan_to(p, n, "/?#");
            if q > p {
                p = self.parse_authority(p, q)?;
            } else if q >= n {
                return fail("Expected authority", p);
            }
        }
        let q = self.scan_to(p, n, "?#");
        self.check(p, q, path_char, true, "path")?;
        self.uri.raw_path = Some(self.text(p, q));
        p = q;
        if self.at(p, '?') {
            p += 1;
            let q = self.scan_to(p, n, "#");
            self.check(p, q, uric, true, "query")?;
            self.uri.raw_query = Some(self.text(p, q));
            p = q;
        }
        Ok(p)
    }

    /// `[start, n)` is the authority. A server authority sets host and port; anything else
    /// made of registry-name characters is a registry authority without them.
    fn parse_authority(&mut self, start: usize, n: usize) -> Parsed<usize> {
        let server_chars = self.scan_class(start, n, server, true)? == n;
        let reg_chars = self.scan_class(start, n, reg_name, true)? == n;
        if reg_chars && !server_chars {
            return Ok(n);
        }
        let mut failure = None;
        if server_chars {
            match self.parse_server(start, n) {
                Ok((host, port)) => {
                    self.uri.host = host;
                    self.uri.port = port;
                    return Ok(n);
                }
                Err(e) => failure = Some(e),
            }
        }
        if reg_chars {
            return Ok(n);
        }
        match failure {
            Some(e) => Err(e),
            None => fail("Illegal character in authority", start),
        }
    }

    /// `[userinfo@]host[:port]` filling `[start, n)`: the host and port.
    fn parse_server(&self, start: usize, n: usize) -> Parsed<(Option<String>, Option<i32>)> {
        let mut p = start;
        if let Some(q) = self.scan_err(p, n, "/?#", "@") {
            if self.at(q, '@') {
                self.check(p, q, userinfo, true, "user info")?;
                p = q + 1;
            }
        }
        let host;
        if self.at(p, '[') {
            p += 1;
            match self.scan_err(p, n, "/?#", "]") {
                Some(q) if q > p && self.at(q, ']') => {
                    let inner = self.text(p, q);
                    let addr = inner.split('%').next().unwrap_or_default();
                    if addr.parse::<std::net::Ipv6Addr>().is_err() {
                        return fail("Malformed IPv6 address", p);
                    }
                    host = self.text(p - 1, q + 1);
                    p = q + 1;
                }
                q => return fail("Expected closing bracket for IPv6 address", q.unwrap_or(n)),
            }
        } else {
            let q = match self.parse_ipv4(p, n) {
                Some(q) => q,
                None => self.parse_hostname(p, n)?,
            };
            host = self.text(p, q);
            p = q;
        }
        let mut port = None;
        if self.at(p, ':') {
            p += 1;
            let q = self.scan_to(p, n, "/");
            if q > p {
                self.check(p, q, digit, false, "port number")?;
                match self.text(p, q).parse::<i32>() {
                    Ok(v) => port = Some(v),
                    Err(_) => return fail("Malformed port number", p),
                }
                p = q;
            }
        }
        if p < n {
            return fail("Expected port number", p);
        }
        Ok((Some(host), port))
    }

    /// The end of a dotted IPv4 address at `start` (followed by nothing or `:`), if there is one.
    fn parse_ipv4(&self, start: usize, n: usize) -> Option<usize> {
        let m = self.scan_class(start, n, digit_dot, false).ok()?;
        if m <= start {
            return None;
        }
        let mut p = start;
        for i in 0..4 {
            if i > 0 {
                if !self.at(p, '.') || p >= m {
                    return None;
                }
                p += 1;
            }
            let q = self.scan_class(p, m, digit, false).ok()?;
            if q <= p || self.text(p, q).parse::<u64>().map_or(true, |v| v > 255) {
                return None;
            }
            p = q;
        }
        if p < m || (p < n && !self.at(p, ':')) {
            return None;
        }
        Some(p)
    }

    /// The end of a host name at `start`: dot-separated labels of letters, digits and inner
    /// dashes, the last (of several) starting with a letter.
    fn parse_hostname(&self, start: usize, n: usize) -> Parsed<usize> {
        let mut p = start;
        let mut last_label = None;
        loop {
            let q = self.scan_class(p, n, alphanum, false)?;
            if q <= p {
                break;
            }
            last_label = Some(p);
            p = q;
            let q = self.scan_class(p, n, alphanum_dash, false)?;
            if q > p {
                if self.s[q - 1] == '-' {
                    return fail("Illegal character in hostname", q - 1);
                }
                p = q;
            }
            if !self.at(p, '.') {
                break;
            }
            p += 1;
            if p >= n {
                break;
            }
        }
        if p < n && !self.at(p, ':') {
            return fail("Illegal character in hostname", p);
        }
        let Some(l) = last_label else {
            return fail("Expected hostname", start);
        };
        if l > start && !alpha(self.s[l]) {
            return fail("Illegal character in hostname", l);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (Option<String>, Option<String>, Option<i32>, Option<String>) {
        let u = Uri::parse(s).unwrap();
        (u.scheme.clone(), u.host.clone(), u.port, u.path())
    }

    #[test]
    fn components_of_hierarchical_uris() {
        let u =
            Uri::parse("http://user:pw@test.com:8080/path/to%20x?a=foo%20bar&b=baz#frag%20space")
                .unwrap();
        assert_eq!(u.scheme.as_deref(), Some("http"));
        assert_eq!(u.host.as_deref(), Some("test.com"));
        assert_eq!(u.port, Some(8080));
        assert_eq!(u.path().as_deref(), Some("/path/to x"));
        assert_eq!(u.query().as_deref(), Some("a=foo bar&b=baz"));
        assert_eq!(u.fragment().as_deref(), Some("frag space"));
        assert_eq!(
            parts("http://test.com"),
            (
                Some("http".into()),
                Some("test.com".into()),
                None,
                Some("".into())
            )
        );
        assert_eq!(parts("test.com/a").3.as_deref(), Some("test.com/a"));
        assert_eq!(parts("test.com/a").1, None);
        assert_eq!(parts("").3.as_deref(), Some(""));
        assert_eq!(parts("http://1.2.3.4:80/").1.as_deref(), Some("1.2.3.4"));
        assert_eq!(parts("http://[::1]:80/").1.as_deref(), Some("[::1]"));
        assert_eq!(parts("file:///etc/x").3.as_deref(), Some("/etc/x"));
    }

    #[test]
    fn opaque_and_registry_based() {
        let u = Uri::parse("mailto:a@b.com").unwrap();
        assert_eq!(u.scheme.as_deref(), Some("mailto"));
        assert_eq!((u.path(), u.query(), u.host), (None, None, None));
        // Not a server authority (a bad port, a label ending in '-', a numeric last label):
        // registry-based, so no host and no port, and no error.
        for s in ["http://host:abc/", "http://a-.com/", "http://1.2.3/"] {
            let u = Uri::parse(s).unwrap();
            assert_eq!((u.host, u.port), (None, None), "{s}");
        }
    }

    #[test]
    fn syntax_errors() {
        for s in [
            "http://test.com/a b",
            "http://te st.com",
            "://x",
            "1http://x",
            "http://x/%zz",
            "http://x/%4",
            "http:",
            "http://x/<p>",
            "http://x?a=|",
            "http://x#a#b",
            "http://[::1/",
        ] {
            assert!(Uri::parse(s).is_err(), "{s}");
        }
        assert_eq!(
            Uri::parse("http://x/a b").unwrap_err().to_string(),
            "Illegal character in path at index 10"
        );
    }

    #[test]
    fn non_ascii_and_malformed_utf8() {
        let u = Uri::parse("http://x/é?q=%E5%A5%BD#%FF").unwrap();
        assert_eq!(u.path().as_deref(), Some("/é"));
        assert_eq!(u.query().as_deref(), Some("q=好"));
        assert_eq!(u.fragment().as_deref(), Some("\u{FFFD}"));
    }
}
