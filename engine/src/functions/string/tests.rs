//! String functions against cases from ksqlDB's conformance files (string.json, len.json,
//! instr.json, replace.json, chr.json, encode.json, split-to-map.json, bytes-lpad-rpad.json,
//! group-by.json) plus ksqlDB's documented edge cases.

use crate::functions::testutil::*;

#[test]
fn lcase_ucase_trim_substring() {
    // string.json "LCASE, UCASE, TRIM SUBSTRING"
    let text = s(&[
        Some("lower"),
        Some("UPPER"),
        Some("MiXeD"),
        Some(" \t with white space \t"),
        Some("s"),
        Some("long enough"),
        None,
    ]);
    let n = 7;
    assert_eq!(
        out_s(&call("LCASE", vec![text.clone()]).unwrap()),
        vec![
            Some("lower".into()),
            Some("upper".into()),
            Some("mixed".into()),
            Some(" \t with white space \t".into()),
            Some("s".into()),
            Some("long enough".into()),
            None
        ]
    );
    assert_eq!(
        out_s(&call("UCASE", vec![text.clone()]).unwrap())[3],
        Some(" \t WITH WHITE SPACE \t".into())
    );
    assert_eq!(
        out_s(&call("TRIM", vec![text.clone()]).unwrap())[3],
        Some("with white space".into())
    );
    assert_eq!(
        out_s(&call("SUBSTRING", vec![text, i1(2, n), i1(5, n)]).unwrap()),
        vec![
            Some("ower".into()),
            Some("PPER".into()),
            Some("iXeD".into()),
            Some("\t wit".into()),
            Some("".into()),
            Some("ong e".into()),
            None
        ]
    );
}

#[test]
fn substring_positions() {
    let str5 = s1("hello", 6);
    let pos = i(&[Some(1), Some(0), Some(-3), Some(-10), Some(9), None]);
    assert_eq!(
        out_s(&call("SUBSTRING", vec![str5.clone(), pos.clone()]).unwrap()),
        vec![
            Some("hello".into()),
            Some("hello".into()),
            Some("llo".into()),
            Some("hello".into()),
            Some("".into()),
            None
        ]
    );
    assert_eq!(
        out_s(&call("SUBSTRING", vec![str5, pos, i1(2, 6)]).unwrap()),
        vec![
            Some("he".into()),
            Some("he".into()),
            Some("ll".into()),
            Some("he".into()),
            Some("".into()),
            None
        ]
    );
    // Characters, not bytes.
    assert_eq!(
        out_s(&call("SUBSTRING", vec![s1("héllo", 1), i1(2, 1), i1(2, 1)]).unwrap()),
        vec![Some("él".into())]
    );
    // BYTES.
    let r = call("SUBSTRING", vec![bytes(&[Some(&b"abcdef"[..])]), i1(-2, 1)]).unwrap();
    assert_eq!(out_bytes(&r), vec![Some(b"ef".to_vec())]);
}

#[test]
fn len_of_strings_and_bytes() {
    // len.json
    let r = call("LEN", vec![s(&[Some("ABC"), Some(""), None])]).unwrap();
    assert_eq!(out_i(&r), vec![Some(3), Some(0), None]);
    let r = call(
        "LEN",
        vec![bytes(&[Some(&b"abc"[..]), Some(&b""[..]), None])],
    )
    .unwrap();
    assert_eq!(out_i(&r), vec![Some(3), Some(0), None]);
}

#[test]
fn concat_skips_nulls() {
    let r = call(
        "CONCAT",
        vec![
            s(&[Some("a"), None]),
            s(&[None, None]),
            s(&[Some("c"), None]),
        ],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("ac".into()), Some("".into())]);
    let r = call(
        "CONCAT_WS",
        vec![
            s(&[Some("-"), None]),
            s(&[Some("a"), Some("a")]),
            s(&[None, Some("b")]),
            s(&[Some("c"), Some("c")]),
        ],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("a-c".into()), None]);
}

#[test]
fn initcap_and_trim_from_group_by() {
    // group-by.json: concat(initcap(col1), col2, trim(col3))
    let r = call(
        "INITCAP",
        vec![s(&[
            Some("smells"),
            Some("the"),
            Some("hELLO   wORLD"),
            None,
        ])],
    )
    .unwrap();
    assert_eq!(
        out_s(&r),
        vec![
            Some("Smells".into()),
            Some("The".into()),
            Some("Hello   World".into()),
            None
        ]
    );
    let r = call("TRIM", vec![s(&[Some("   teen spirit   ")])]).unwrap();
    assert_eq!(out_s(&r), vec![Some("teen spirit".into())]);
    let r = call("LTRIM", vec![s(&[Some("  a  ")])]).unwrap();
    assert_eq!(out_s(&r), vec![Some("a  ".into())]);
    let r = call("RTRIM", vec![s(&[Some("  a  ")])]).unwrap();
    assert_eq!(out_s(&r), vec![Some("  a".into())]);
}

#[test]
fn instr_cases() {
    // instr.json
    let src = s(&[
        Some("corporate floor"),
        Some("should I stay or should I go"),
        Some("short"),
        Some("no substring"),
    ]);
    let r = call("INSTR", vec![src, s1("or", 4)]).unwrap();
    assert_eq!(out_i(&r), vec![Some(2), Some(15), Some(3), Some(0)]);
    let src = s(&[Some("corporate floor"), Some("short")]);
    let cases = [
        (4, None, [5, 0]),
        (4, Some(2), [14, 0]),
        (-4, None, [5, 0]),
        (-4, Some(2), [2, 0]),
    ];
    for (pos, occ, want) in cases {
        let mut args = vec![src.clone(), s1("or", 2), i1(pos, 2)];
        if let Some(o) = occ {
            args.push(i1(o, 2));
        }
        let r = call("INSTR", args).unwrap();
        assert_eq!(
            out_i(&r),
            vec![Some(want[0]), Some(want[1])],
            "{pos} {occ:?}"
        );
    }
}

#[test]
fn replace_and_regexp_replace() {
    // replace.json
    let src = s(&[Some("anaconda"), None, Some("popcorn")]);
    let r = call("REPLACE", vec![src.clone(), s1("a", 3), s1("o", 3)]).unwrap();
    assert_eq!(
        out_s(&r),
        vec![Some("onocondo".into()), None, Some("popcorn".into())]
    );
    let r = call("REPLACE", vec![src, s(&[None, None, None]), s1("o", 3)]).unwrap();
    assert_eq!(out_s(&r), vec![None, None, None]);
    let r = call(
        "REGEXP_REPLACE",
        vec![
            s(&[Some("baababaa"), Some("baabbabaa"), None, Some("baababaa")]),
            s(&[Some("(ab)+"), Some("(ab)+"), Some("(ab)+"), None]),
            s1("cat", 4),
        ],
    )
    .unwrap();
    assert_eq!(
        out_s(&r),
        vec![
            Some("bacataa".into()),
            Some("bacatbcataa".into()),
            None,
            None
        ]
    );
    let r = call(
        "REGEXP_REPLACE",
        vec![s1("john smith", 1), s1("(\\w+) (\\w+)", 1), s1("$2, $1", 1)],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("smith, john".into())]);
}

#[test]
fn regexp_extract_family() {
    let r = call(
        "REGEXP_EXTRACT",
        vec![
            s1("(\\d+)-(\\d+)", 3),
            s(&[Some("a 12-34 56-78"), Some("none"), None]),
        ],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("12-34".into()), None, None]);
    let r = call(
        "REGEXP_EXTRACT",
        vec![s1("(\\d+)-(\\d+)", 1), s1("a 12-34", 1), i1(2, 1)],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("34".into())]);
    let r = call(
        "REGEXP_EXTRACT_ALL",
        vec![
            s1("(\\d+)-(\\d+)", 2),
            s(&[Some("a 12-34 56-78"), Some("x")]),
            i1(1, 2),
        ],
    )
    .unwrap();
    assert_eq!(render(&r), vec!["[12, 56]", "[]"]);
    let e = call_err("REGEXP_EXTRACT", vec![s1("(", 1), s1("x", 1)]);
    assert!(e.contains("Invalid regular expression"), "{e}");
}

#[test]
fn splitting() {
    let r = call(
        "SPLIT",
        vec![
            s(&[Some("a,b,,c,"), Some("abc"), None]),
            s(&[Some(","), Some(""), Some(",")]),
        ],
    )
    .unwrap();
    assert_eq!(render(&r), vec!["[a, b, , c, ]", "[a, b, c]", "null"]);
    let r = call(
        "REGEXP_SPLIT_TO_ARRAY",
        vec![s(&[Some("a--b-c-"), Some("-x")]), s1("-+", 2)],
    )
    .unwrap();
    assert_eq!(render(&r), vec!["[a, b, c, ]", "[, x]"]);
}

#[test]
fn split_to_map_cases() {
    // split-to-map.json
    let input = "apple:green/banana:yellow/cherry:red";
    let r = call(
        "SPLIT_TO_MAP",
        vec![
            s(&[
                Some(input),
                Some(input),
                Some("apple:green//banana:yellow//cherry:red/"),
                Some(input),
                Some(input),
                Some(input),
                Some(input),
                Some(""),
                None,
            ]),
            s(&[
                Some("/"),
                Some("&&"),
                Some("/"),
                Some("/"),
                Some(""),
                Some("/"),
                None,
                Some("/"),
                Some("/"),
            ]),
            s(&[
                Some(":"),
                Some(":"),
                Some(":"),
                Some("="),
                Some(":"),
                Some(""),
                Some(":"),
                Some(":"),
                Some(":"),
            ]),
        ],
    )
    .unwrap();
    assert_eq!(
        render(&r),
        vec![
            "{apple=green, banana=yellow, cherry=red}",
            "{apple=green/banana}",
            "{apple=green, banana=yellow, cherry=red}",
            "{}",
            "null",
            "null",
            "null",
            "{}",
            "null"
        ]
    );
}

#[test]
fn lpad_rpad() {
    // bytes-lpad-rpad.json, decoded: subject "yes", padding "no".
    let n = 8;
    let subject = bytes(&[Some(&b"yes"[..]); 8]);
    let len = i(&[
        Some(8),
        Some(5),
        Some(3),
        Some(2),
        Some(0),
        Some(-1),
        Some(3),
        None,
    ]);
    let pad = bytes(&[
        Some(&b"no"[..]),
        Some(&b"no"[..]),
        Some(&b"no"[..]),
        Some(&b"no"[..]),
        Some(&b"no"[..]),
        Some(&b"no"[..]),
        Some(&b""[..]),
        Some(&b"no"[..]),
    ]);
    let r = call("LPAD", vec![subject.clone(), len.clone(), pad.clone()]).unwrap();
    let want: Vec<Option<Vec<u8>>> = vec![
        Some(b"nononyes".to_vec()),
        Some(b"noyes".to_vec()),
        Some(b"yes".to_vec()),
        Some(b"ye".to_vec()),
        Some(b"".to_vec()),
        None,
        None,
        None,
    ];
    assert_eq!(out_bytes(&r), want);
    let r = call("RPAD", vec![subject, len, pad]).unwrap();
    assert_eq!(out_bytes(&r)[0], Some(b"yesnonon".to_vec()));
    assert_eq!(out_bytes(&r)[1], Some(b"yesno".to_vec()));
    let r = call("LPAD", vec![s1("yes", n), i1(6, n), s1("ñ", n)]).unwrap();
    assert_eq!(out_s(&r)[0], Some("ñññyes".into()));
}

#[test]
fn chr_cases() {
    // chr.json
    let r = call(
        "CHR",
        vec![i(&[Some(75), Some(22909), Some(99000), Some(-1), None])],
    )
    .unwrap();
    assert_eq!(
        out_s(&r),
        vec![
            Some("K".into()),
            Some("\u{597d}".into()),
            Some("\u{182B8}".into()),
            None,
            None
        ]
    );
    let r = call(
        "CHR",
        vec![s(&[
            Some("\\u004b"),
            Some("\\u597d"),
            Some("\\ud820\\udeb8"),
            Some("75"),
            Some("004b"),
            Some("bogus"),
            Some(""),
            None,
        ])],
    )
    .unwrap();
    assert_eq!(
        out_s(&r),
        vec![
            Some("K".into()),
            Some("\u{597d}".into()),
            Some("\u{182B8}".into()),
            None,
            None,
            None,
            None,
            None
        ]
    );
}

#[test]
fn encode_cases() {
    // encode.json "encode hex"
    let input = s(&[
        Some("4578616d706C6521"),
        Some("ce95cebbcebbceacceb4ceb1"),
        None,
        Some("0x4578616d706C6521"),
        Some("X'4578616d706C6521'"),
        Some("0x"),
        Some("X''"),
        Some("0x0x"),
        Some("X'"),
        Some("x'4578616d706C6521"),
        Some("x'578616d706C6521'"),
        Some("0x578616d706C6521"),
        Some("578616d706C6521"),
    ]);
    let n = 13;
    let utf8 = call("ENCODE", vec![input.clone(), s1("hex", n), s1("utf8", n)]).unwrap();
    let ex = Some("Example!".to_string());
    let empty = Some(String::new());
    assert_eq!(
        out_s(&utf8),
        vec![
            ex.clone(),
            Some("\u{0395}\u{03bb}\u{03bb}\u{03ac}\u{03b4}\u{03b1}".into()),
            None,
            ex.clone(),
            ex.clone(),
            empty.clone(),
            empty,
            None,
            None,
            None,
            None,
            Some("\u{0005}xample!".into()),
            None
        ]
    );
    let ascii = call("ENCODE", vec![input.clone(), s1("hex", n), s1("ascii", n)]).unwrap();
    assert_eq!(out_s(&ascii)[1], Some("\u{fffd}".repeat(12)));
    let b64 = call("ENCODE", vec![input, s1("hex", n), s1("base64", n)]).unwrap();
    assert_eq!(out_s(&b64)[0], Some("RXhhbXBsZSE=".into()));
    // "encode ascii"
    let r = call(
        "ENCODE",
        vec![s1("Ελλάδα", 1), s1("ascii", 1), s1("hex", 1)],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("3f3f3f3f3f3f".into())]);
    // "encode base64"
    let r = call(
        "ENCODE",
        vec![s1("zpXOu867zqzOtM6x", 1), s1("base64", 1), s1("hex", 1)],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("ce95cebbcebbceacceb4ceb1".into())]);
    // "encode null": an unknown encoding gives NULL.
    let r = call(
        "ENCODE",
        vec![s1("RXhhbXBsZSE=", 1), s1("base64", 1), s1("null", 1)],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![None]);
}

#[test]
fn mask_family() {
    let v = s(&[Some("AbCd#$123xy Z"), None]);
    let r = call("MASK", vec![v.clone()]).unwrap();
    assert_eq!(out_s(&r), vec![Some("XxXx--nnnxx-X".into()), None]);
    let r = call("MASK_LEFT", vec![v.clone(), i1(5, 2)]).unwrap();
    assert_eq!(out_s(&r)[0], Some("XxXx-$123xy Z".into()));
    let r = call("MASK_RIGHT", vec![v.clone(), i1(5, 2)]).unwrap();
    assert_eq!(out_s(&r)[0], Some("AbCd#$12nxx-X".into()));
    let r = call("MASK_KEEP_LEFT", vec![v.clone(), i1(5, 2)]).unwrap();
    assert_eq!(out_s(&r)[0], Some("AbCd#-nnnxx-X".into()));
    let r = call("MASK_KEEP_RIGHT", vec![v.clone(), i1(5, 2)]).unwrap();
    assert_eq!(out_s(&r)[0], Some("XxXx--nn3xy Z".into()));
    // Custom masks; a NULL mask leaves the class alone.
    let r = call(
        "MASK",
        vec![v, s1("U", 2), s(&[None, None]), s1("D", 2), s1("O", 2)],
    )
    .unwrap();
    assert_eq!(out_s(&r)[0], Some("UbUdOODDDxyOU".into()));
}

#[test]
fn uuid_shapes() {
    let r = call("UUID", vec![]).unwrap();
    let v = out_s(&r)[0].clone().unwrap();
    assert_eq!(v.len(), 36);
    assert_eq!(&v[14..15], "4");
    let r = call(
        "UUID",
        vec![bytes(&[
            Some(&[0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15][..]),
            Some(&b"x"[..]),
        ])],
    )
    .unwrap();
    assert_eq!(
        out_s(&r),
        vec![Some("00010203-0405-0607-0809-0a0b0c0d0e0f".into()), None]
    );
}

#[test]
fn scalar_arguments_give_a_scalar() {
    use datafusion::common::ScalarValue;
    assert_eq!(
        call1("UCASE", vec![ScalarValue::Utf8(Some("abc".into()))]),
        ScalarValue::Utf8(Some("ABC".into()))
    );
    assert_eq!(
        call1("UCASE", vec![ScalarValue::Null]),
        ScalarValue::Utf8(None)
    );
}

#[test]
fn md5_is_hex_of_the_utf8_bytes() {
    // ksqlDB's MD5.java: DigestUtils.md5Hex of the string (its UTF-8 bytes).
    assert_eq!(
        out_s(
            &call(
                "MD5",
                vec![s(&[Some(""), Some("abc"), Some("Hello, world!"), None])]
            )
            .unwrap()
        ),
        vec![
            Some("d41d8cd98f00b204e9800998ecf8427e".into()),
            Some("900150983cd24fb0d6963f7d28e17f72".into()),
            Some("6cd3556deb0da54bca060b4c39479839".into()),
            None
        ]
    );
}
