//! URL functions against ksqlDB's documented examples, with the behaviour of its Java
//! (`java.net.URI`, `URLDecoder`, Guava's form escaper) where the two differ: the Java
//! returns the path with its leading `/`, the port as an INT, and encodes a space as `+`.

use crate::functions::testutil::*;

fn one(name: &str, url: &str) -> Option<String> {
    out_s(&call(name, vec![s(&[Some(url)])]).unwrap())[0].clone()
}

#[test]
fn decode_and_encode_param() {
    assert_eq!(
        out_s(
            &call(
                "URL_DECODE_PARAM",
                vec![s(&[
                    Some("url%20encoded"),
                    Some("a+b%2Bc"),
                    Some("%E5%A5%BD"),
                    Some(""),
                    None
                ])]
            )
            .unwrap()
        ),
        vec![
            Some("url encoded".into()),
            Some("a b+c".into()),
            Some("好".into()),
            Some("".into()),
            None
        ]
    );
    assert_eq!(
        out_s(
            &call(
                "URL_ENCODE_PARAM",
                vec![s(&[
                    Some("url encoded"),
                    Some("a=b&c/d?"),
                    Some("-_.*~'"),
                    Some("好"),
                    None
                ])]
            )
            .unwrap()
        ),
        vec![
            Some("url+encoded".into()),
            Some("a%3Db%26c%2Fd%3F".into()),
            Some("-_.*%7E%27".into()),
            Some("%E5%A5%BD".into()),
            None
        ]
    );
    // Decoding is the inverse of encoding.
    let text = "k=v & ü/€ +x";
    let enc = one("URL_ENCODE_PARAM", text).unwrap();
    assert_eq!(one("URL_DECODE_PARAM", &enc).as_deref(), Some(text));
}

#[test]
fn decode_param_rejects_bad_escapes() {
    for bad in ["%zz", "100%", "%4", "%-1"] {
        let e = call_err("URL_DECODE_PARAM", vec![s(&[Some(bad)])]);
        assert!(e.contains("URLDecoder"), "{bad}: {e}");
    }
    // Integer.parseInt accepts a sign: "%+4" is byte 4.
    assert_eq!(one("URL_DECODE_PARAM", "%+4").as_deref(), Some("\u{4}"));
}

#[test]
fn extract_components_from_the_documented_examples() {
    assert_eq!(
        one("URL_EXTRACT_FRAGMENT", "http://test.com#frag").as_deref(),
        Some("frag")
    );
    assert_eq!(
        one("URL_EXTRACT_FRAGMENT", "http://test.com#frag%20space").as_deref(),
        Some("frag space")
    );
    assert_eq!(
        one("URL_EXTRACT_HOST", "http://test.com:8080/path").as_deref(),
        Some("test.com")
    );
    assert_eq!(
        one("URL_EXTRACT_PATH", "http://test.com/path/to#a").as_deref(),
        Some("/path/to")
    );
    assert_eq!(
        one("URL_EXTRACT_PROTOCOL", "http://test.com?a=foo&b=bar").as_deref(),
        Some("http")
    );
    assert_eq!(
        one("URL_EXTRACT_QUERY", "http://test.com?a=foo%20bar&b=baz").as_deref(),
        Some("a=foo bar&b=baz")
    );
    assert_eq!(
        out_i(
            &call(
                "URL_EXTRACT_PORT",
                vec![s(&[
                    Some("http://localhost:8080/path"),
                    Some("http://localhost/path"),
                    None
                ])]
            )
            .unwrap()
        ),
        vec![Some(8080), None, None]
    );
}

#[test]
fn missing_components_are_null_or_empty() {
    assert_eq!(one("URL_EXTRACT_FRAGMENT", "http://test.com/a"), None);
    assert_eq!(
        one("URL_EXTRACT_FRAGMENT", "http://test.com/a#").as_deref(),
        Some("")
    );
    assert_eq!(one("URL_EXTRACT_QUERY", "http://test.com/a"), None);
    assert_eq!(
        one("URL_EXTRACT_PATH", "http://test.com").as_deref(),
        Some("")
    );
    assert_eq!(one("URL_EXTRACT_PROTOCOL", "//test.com/a"), None);
    assert_eq!(one("URL_EXTRACT_HOST", "/just/a/path"), None);
    // A mailto: URI is opaque: it has no path, host or query.
    assert_eq!(one("URL_EXTRACT_PATH", "mailto:someone@test.com"), None);
    assert_eq!(one("URL_EXTRACT_HOST", "mailto:someone@test.com"), None);
    // An authority that is not host[:port] has no host and no port.
    assert_eq!(one("URL_EXTRACT_HOST", "http://test.com:abc/"), None);
    assert_eq!(
        out_i(&call("URL_EXTRACT_PORT", vec![s(&[Some("http://test.com:abc/")])]).unwrap()),
        vec![None]
    );
    for name in [
        "URL_EXTRACT_FRAGMENT",
        "URL_EXTRACT_HOST",
        "URL_EXTRACT_PATH",
        "URL_EXTRACT_PROTOCOL",
        "URL_EXTRACT_QUERY",
    ] {
        assert_eq!(
            out_s(&call(name, vec![s(&[None])]).unwrap()),
            vec![None],
            "{name}"
        );
    }
}

#[test]
fn a_url_that_is_not_a_uri_is_an_error() {
    for name in [
        "URL_EXTRACT_FRAGMENT",
        "URL_EXTRACT_HOST",
        "URL_EXTRACT_PATH",
        "URL_EXTRACT_PORT",
        "URL_EXTRACT_PROTOCOL",
        "URL_EXTRACT_QUERY",
    ] {
        let e = call_err(name, vec![s(&[Some("http://test.com/a b")])]);
        assert!(
            e.contains("URL input has invalid syntax: http://test.com/a b"),
            "{name}: {e}"
        );
    }
    let e = call_err(
        "URL_EXTRACT_PARAMETER",
        vec![s(&[Some("http://x/%zz?a=1")]), s(&[Some("a")])],
    );
    assert!(e.contains("invalid syntax"), "{e}");
}

#[test]
fn extract_parameter() {
    let urls = s(&[
        Some("http://test.com?a%20b=c%20d"),
        Some("http://test.com?a=foo&b=bar"),
        Some("http://test.com?a=foo&b"),
        Some("http://test.com?a=foo&b=x=y"),
        Some("http://test.com?a=foo"),
        Some("http://test.com/no-query"),
        None,
        Some("http://test.com?a=1&a=2"),
    ]);
    let keys = s(&[
        Some("a b"),
        Some("b"),
        Some("b"),
        Some("b"),
        Some("b"),
        Some("a"),
        Some("a"),
        Some("a"),
    ]);
    assert_eq!(
        out_s(&call("URL_EXTRACT_PARAMETER", vec![urls, keys]).unwrap()),
        vec![
            Some("c d".into()),
            Some("bar".into()),
            Some("".into()),
            Some("x=y".into()),
            None,
            None,
            None,
            Some("1".into()),
        ]
    );
    assert_eq!(
        out_s(
            &call(
                "URL_EXTRACT_PARAMETER",
                vec![s(&[Some("http://x?a=1")]), s(&[None])]
            )
            .unwrap()
        ),
        vec![None]
    );
}

#[test]
fn wrong_argument_types_do_not_resolve() {
    for name in [
        "URL_EXTRACT_HOST",
        "URL_ENCODE_PARAM",
        "URL_DECODE_PARAM",
        "MD5",
    ] {
        let e = crate::functions::FunctionRegistry::new()
            .return_type(name, &[arrow::datatypes::DataType::Int32])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not accept parameters (INTEGER)"),
            "{name}: {e}"
        );
    }
}
