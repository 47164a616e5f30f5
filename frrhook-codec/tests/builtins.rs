//! The built-in encodings, through a real Lua state: round trips, the shapes scripts
//! see, and every error with its exact text and path.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use frrhook_codec::frr::{In6Addr, InAddr};
use frrhook_codec::mlua::{Lua, Value};
use frrhook_codec::{
    ClassKind, DecodeError, DecodeErrorKind, LuaDecode, LuaEncode, LuaType, MAX_DEPTH, PathSegment,
    TypeRegistry,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

// ---------------------------------------------------------------- helpers

fn eval(lua: &Lua, src: &str) -> Value {
    lua.load(src)
        .eval::<Value>()
        .unwrap_or_else(|e| panic!("evaluating {src}: {e}"))
}

/// Decodes the value of the Lua expression `src` into `T`.
fn decode_lua<T: LuaDecode>(src: &str) -> Result<T, DecodeError> {
    let lua = Lua::new();
    let v = eval(&lua, &format!("return {src}"));
    T::decode(&v)
}

/// The error text for decoding the Lua expression `src` into `T`.
#[track_caller]
fn err_text<T: LuaDecode + Debug>(src: &str) -> String {
    match decode_lua::<T>(src) {
        Ok(v) => panic!(
            "decoding {src} into {} succeeded: {v:?}",
            std::any::type_name::<T>()
        ),
        Err(e) => e.to_string(),
    }
}

#[track_caller]
fn assert_err<T: LuaDecode + Debug>(src: &str, expected: &str) {
    assert_eq!(
        err_text::<T>(src),
        expected,
        "decoding {src} into {}",
        std::any::type_name::<T>()
    );
}

/// Encodes `value`, decodes it back, and checks equality; returns the encoded value.
#[track_caller]
fn round_trip<T: LuaEncode + LuaDecode + PartialEq + Debug>(lua: &Lua, value: T) -> Value {
    let encoded = value.encode(lua).expect("encode");
    let back = T::decode(&encoded).unwrap_or_else(|e| panic!("decoding {value:?} back: {e}"));
    assert_eq!(back, value);
    encoded
}

/// Binds `value` to the global `x` and evaluates `src` (which reads `x`).
fn inspect<R: frrhook_codec::mlua::FromLuaMulti>(lua: &Lua, value: Value, src: &str) -> R {
    lua.globals().set("x", value).unwrap();
    lua.load(src)
        .eval::<R>()
        .unwrap_or_else(|e| panic!("evaluating {src}: {e}"))
}

fn lua_type_of<T: LuaEncode>() -> String {
    <T as LuaEncode>::lua_type(&mut TypeRegistry::default()).to_string()
}

fn decode_type_of<T: LuaDecode>() -> String {
    <T as LuaDecode>::lua_type(&mut TypeRegistry::default()).to_string()
}

// ---------------------------------------------------------------- integers

#[test]
fn integers_round_trip_at_their_extremes() {
    let lua = Lua::new();
    macro_rules! ints {
        ($($t:ty),*) => {$(
            for v in [<$t>::MIN, <$t>::MAX, 0 as $t, 1 as $t] {
                let enc = round_trip(&lua, v);
                let kind: String = inspect(&lua, enc, "return math.type(x)");
                assert_eq!(kind, "integer", "{v} ({})", stringify!($t));
            }
        )*};
    }
    ints!(i8, i16, i32, i64, isize, u8, u16, u32);
    for v in [0u64, i64::MAX as u64] {
        round_trip(&lua, v);
    }
    for v in [0usize, i64::MAX as usize] {
        round_trip(&lua, v);
    }
    for v in [i128::from(i64::MIN), i128::from(i64::MAX)] {
        round_trip(&lua, v);
    }
    round_trip(&lua, i64::MAX as u128);
}

#[test]
fn integers_that_do_not_fit_lua_fail_to_encode() {
    let lua = Lua::new();
    let e = u64::MAX.encode(&lua).unwrap_err().to_string();
    assert!(
        e.contains("18446744073709551615 (u64) does not fit in a Lua integer"),
        "{e}"
    );
    assert!((i128::from(i64::MAX) + 1).encode(&lua).is_err());
    assert!(u128::MAX.encode(&lua).is_err());
}

#[test]
fn integer_range_errors_never_wrap() {
    assert_err::<u8>("300", "expected integer in 0..=255 (u8), got 300");
    assert_err::<u8>("-1", "expected integer in 0..=255 (u8), got -1");
    assert_err::<u8>("300.0", "expected integer in 0..=255 (u8), got 300.0");
    assert_err::<u32>("-1", "expected integer in 0..=4294967295 (u32), got -1");
    assert_err::<i8>("128", "expected integer in -128..=127 (i8), got 128");
    assert_err::<i16>(
        "-32769",
        "expected integer in -32768..=32767 (i16), got -32769",
    );
    assert_err::<u64>(
        "-1",
        "expected integer in 0..=18446744073709551615 (u64), got -1",
    );
    assert_err::<i64>(
        "2^63",
        "expected integer in -9223372036854775808..=9223372036854775807 (i64), got 9.223372036854776e18",
    );
    assert_err::<i64>(
        "9223372036854775808.0",
        "expected integer in -9223372036854775808..=9223372036854775807 (i64), got 9.223372036854776e18",
    );
    assert_err::<u64>(
        "2^64",
        "expected integer in 0..=18446744073709551615 (u64), got 1.8446744073709552e19",
    );
    assert_err::<isize>(
        "2^63",
        "expected integer in -9223372036854775808..=9223372036854775807 (isize), got 9.223372036854776e18",
    );
    assert_err::<usize>(
        "-1",
        "expected integer in 0..=18446744073709551615 (usize), got -1",
    );
    assert_err::<i128>("1e300", "expected integer (i128), got 1e300");
    assert_err::<u128>("-1", "expected integer >= 0 (u128), got -1");
}

#[test]
fn integers_refuse_fractions_nan_inf_and_other_types() {
    for (src, shown) in [
        ("1.5", "1.5"),
        ("0/0", "nan"),
        ("math.huge", "inf"),
        ("-math.huge", "-inf"),
    ] {
        assert_eq!(
            err_text::<i32>(src),
            format!("expected integer in -2147483648..=2147483647 (i32), got {shown}")
        );
        assert_eq!(
            err_text::<u8>(src),
            format!("expected integer in 0..=255 (u8), got {shown}")
        );
        assert_eq!(err_text::<i64>(src).rsplit_once("got ").unwrap().1, shown);
        assert_eq!(err_text::<u128>(src).rsplit_once("got ").unwrap().1, shown);
    }
    assert_err::<u8>("'5'", "expected integer, got string (\"5\")");
    assert_err::<u8>("true", "expected integer, got boolean (true)");
    assert_err::<u8>("nil", "expected integer, got nil");
    assert_err::<u8>("{}", "expected integer, got table");
    assert_err::<u8>("print", "expected integer, got function");
    // Integral floats are accepted.
    assert_eq!(decode_lua::<u8>("3.0").unwrap(), 3);
    assert_eq!(decode_lua::<i64>("-0.0").unwrap(), 0);
    assert_eq!(decode_lua::<i64>("2^53").unwrap(), 1 << 53);
    assert_eq!(decode_lua::<i64>("math.mininteger").unwrap(), i64::MIN);
    let e = decode_lua::<u8>("300").unwrap_err();
    assert!(matches!(e.kind(), DecodeErrorKind::Range { .. }));
    assert_eq!(e.path().count(), 0);
}

// ---------------------------------------------------------------- floats, bool, strings, char

#[test]
fn floats_round_trip_and_accept_integers() {
    let lua = Lua::new();
    for v in [
        0.0,
        -0.0,
        1.5,
        -2.25,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let enc = round_trip(&lua, v);
        let kind: String = inspect(&lua, enc, "return math.type(x)");
        assert_eq!(kind, "float");
    }
    let enc = f64::NAN.encode(&lua).unwrap();
    assert!(f64::decode(&enc).unwrap().is_nan());
    let nan_is_nan: bool = inspect(&lua, enc, "return x ~= x");
    assert!(nan_is_nan);
    for v in [1.5f32, f32::MAX, f32::MIN, f32::INFINITY, -0.0] {
        round_trip(&lua, v);
    }
    assert_eq!(decode_lua::<f64>("3").unwrap(), 3.0);
    assert_eq!(decode_lua::<f32>("3").unwrap(), 3.0);
    assert_eq!(decode_lua::<f32>("0.1").unwrap(), 0.1f32);
    assert!(decode_lua::<f32>("0/0").unwrap().is_nan());
    assert_eq!(decode_lua::<f32>("-math.huge").unwrap(), f32::NEG_INFINITY);
}

#[test]
fn float_errors() {
    assert_err::<f64>("'1.5'", "expected number, got string (\"1.5\")");
    assert_err::<f32>("nil", "expected number, got nil");
    assert_err::<f32>(
        "1e300",
        "expected number in f32 range (-3.4028235e38..=3.4028235e38), got 1e300",
    );
    assert_err::<f32>(
        "-1e39",
        "expected number in f32 range (-3.4028235e38..=3.4028235e38), got -1e39",
    );
    assert!(matches!(
        decode_lua::<f32>("1e300").unwrap_err().kind(),
        DecodeErrorKind::Range { .. }
    ));
}

#[test]
fn bool_round_trips_and_is_strict() {
    let lua = Lua::new();
    round_trip(&lua, true);
    round_trip(&lua, false);
    assert_err::<bool>("0", "expected boolean, got integer (0)");
    assert_err::<bool>("nil", "expected boolean, got nil");
    assert_err::<bool>("'true'", "expected boolean, got string (\"true\")");
}

#[test]
fn strings_round_trip_and_must_be_utf8() {
    let lua = Lua::new();
    let enc = round_trip(&lua, String::from("héllo, 🦀"));
    let len: i64 = inspect(&lua, enc, "return #x");
    assert_eq!(len, "héllo, 🦀".len() as i64);
    round_trip(&lua, String::new());
    let enc = "plain".encode(&lua).unwrap();
    assert_eq!(String::decode(&enc).unwrap(), "plain");
    let boxed: Box<str> = "boxed".into();
    assert_eq!(
        String::decode(&boxed.encode(&lua).unwrap()).unwrap(),
        "boxed"
    );
    let cow: std::borrow::Cow<'_, str> = "cow".into();
    assert_eq!(String::decode(&cow.encode(&lua).unwrap()).unwrap(), "cow");

    assert_err::<String>(
        "'ab\\xff'",
        "expected UTF-8 string, got invalid UTF-8 at byte 2",
    );
    assert_err::<String>("5", "expected string, got integer (5)");
    assert_err::<String>("1.5", "expected string, got number (1.5)");
    assert_err::<String>("nil", "expected string, got nil");
}

#[test]
fn char_is_a_one_character_string() {
    let lua = Lua::new();
    for c in ['a', 'é', '🦀', '\0'] {
        let enc = round_trip(&lua, c);
        let s: String = inspect(&lua, enc, "return x");
        assert_eq!(s, c.to_string());
    }
    assert_err::<char>(
        "'ab'",
        "expected string of one character, got string (\"ab\")",
    );
    assert_err::<char>("''", "expected string of one character, got string (\"\")");
    assert_err::<char>(
        "'\\xff'",
        "expected UTF-8 string, got invalid UTF-8 at byte 0",
    );
    assert_err::<char>("65", "expected string of one character, got integer (65)");
}

#[test]
fn unit_is_nil() {
    let lua = Lua::new();
    assert!(matches!(().encode(&lua).unwrap(), Value::Nil));
    <()>::decode(&Value::Nil).unwrap();
    assert_err::<()>("1", "expected nil, got integer (1)");
    assert_err::<()>("false", "expected nil, got boolean (false)");
}

#[test]
fn duration_is_seconds() {
    let lua = Lua::new();
    let enc = round_trip(&lua, Duration::from_millis(1500));
    let secs: f64 = inspect(&lua, enc, "return x");
    assert_eq!(secs, 1.5);
    round_trip(&lua, Duration::ZERO);
    round_trip(&lua, Duration::from_secs(86_400));
    assert_eq!(decode_lua::<Duration>("3").unwrap(), Duration::from_secs(3));
    assert_eq!(
        decode_lua::<Duration>("0.25").unwrap(),
        Duration::from_millis(250)
    );
    assert_eq!(decode_lua::<Duration>("-0.0").unwrap(), Duration::ZERO);
    assert_err::<Duration>(
        "-1",
        "expected non-negative finite number of seconds, got -1",
    );
    assert_err::<Duration>(
        "-0.5",
        "expected non-negative finite number of seconds, got -0.5",
    );
    assert_err::<Duration>(
        "0/0",
        "expected non-negative finite number of seconds, got nan",
    );
    assert_err::<Duration>(
        "math.huge",
        "expected non-negative finite number of seconds, got inf",
    );
    assert_err::<Duration>(
        "1e30",
        "expected non-negative finite number of seconds, got 1e30",
    );
    assert_err::<Duration>("'1s'", "expected number, got string (\"1s\")");
}

// ---------------------------------------------------------------- Option and pointers

#[test]
fn option_is_nil_or_the_value() {
    let lua = Lua::new();
    assert!(matches!(round_trip(&lua, None::<u8>), Value::Nil));
    assert!(matches!(round_trip(&lua, Some(3u8)), Value::Integer(3)));
    round_trip(&lua, Some(String::from("x")));
    round_trip(&lua, Some(vec![1u8, 2]));
    assert_err::<Option<u8>>("'x'", "expected integer, got string (\"x\")");
    assert_err::<Option<u8>>("false", "expected integer, got boolean (false)");
    assert_err::<Option<u8>>("256", "expected integer in 0..=255 (u8), got 256");
}

#[test]
fn smart_pointers_delegate() {
    let lua = Lua::new();
    let b: Box<u32> = Box::new(7);
    assert_eq!(*Box::<u32>::decode(&b.encode(&lua).unwrap()).unwrap(), 7);
    let r = Rc::new(String::from("rc"));
    assert_eq!(
        *Rc::<String>::decode(&r.encode(&lua).unwrap()).unwrap(),
        "rc"
    );
    let a = Arc::new(vec![1u8]);
    assert_eq!(
        *Arc::<Vec<u8>>::decode(&a.encode(&lua).unwrap()).unwrap(),
        vec![1]
    );
    assert_err::<Box<u32>>("-1", "expected integer in 0..=4294967295 (u32), got -1");
    // Box<T> passes updates through to T.
    let mut b: Box<u8> = Box::new(1);
    let undo = b.apply_update(b.prepare_update(&Value::Integer(2)).unwrap());
    assert_eq!((*b, undo), (2, 1));
}

// ---------------------------------------------------------------- sequences

#[test]
fn vec_round_trips_as_a_one_based_sequence() {
    let lua = Lua::new();
    let enc = round_trip(&lua, vec![10u32, 20, 30]);
    let (len, first, last): (i64, i64, i64) = inspect(&lua, enc, "return #x, x[1], x[3]");
    assert_eq!((len, first, last), (3, 10, 30));
    round_trip(&lua, Vec::<u8>::new());
    round_trip(&lua, vec![String::from("a"), String::from("b")]);
    round_trip(&lua, vec![vec![1u8], vec![], vec![2, 3]]);
    let slice: &[u16] = &[1, 2];
    assert_eq!(
        Vec::<u16>::decode(&slice.encode(&lua).unwrap()).unwrap(),
        [1, 2]
    );
    assert_eq!(decode_lua::<Vec<u8>>("{}").unwrap(), Vec::<u8>::new());
}

#[test]
fn vec_element_errors_carry_the_index() {
    assert_err::<Vec<String>>(
        r#"{"a", "b", true}"#,
        "[3]: expected string, got boolean (true)",
    );
    assert_err::<Vec<u8>>(
        "{1, 2, 300}",
        "[3]: expected integer in 0..=255 (u8), got 300",
    );
    assert_err::<Vec<Vec<u8>>>(
        "{{1}, {2, 'x'}}",
        "[2][2]: expected integer, got string (\"x\")",
    );
    // The first bad element is reported, in index order.
    assert_err::<Vec<u8>>(
        "{1, 'a', true}",
        "[2]: expected integer, got string (\"a\")",
    );
    assert_err::<Vec<u8>>("'x'", "expected table, got string (\"x\")");
    assert_err::<Vec<u8>>("nil", "expected table, got nil");
}

#[test]
fn vec_rejects_holes_and_non_sequence_keys() {
    assert_err::<Vec<u8>>(
        "{1, nil, 3}",
        "expected a sequence, got a hole at [2] (highest key 3)",
    );
    assert_err::<Vec<u8>>(
        "{[1] = 1, [3] = 3}",
        "expected a sequence, got a hole at [2] (highest key 3)",
    );
    assert_err::<Vec<u8>>(
        "{[2] = 2}",
        "expected a sequence, got a hole at [1] (highest key 2)",
    );
    assert_err::<Vec<u8>>(
        "{[1] = 1, [2^40] = 2}",
        "expected a sequence, got a hole at [2] (highest key 1099511627776)",
    );
    assert_err::<Vec<u8>>(
        "{1, 2, x = 1}",
        "expected a sequence (keys 1, 2, 3, ...), got key \"x\"",
    );
    assert_err::<Vec<u8>>(
        "{[0] = 1, 2}",
        "expected a sequence (keys 1, 2, 3, ...), got key 0",
    );
    assert_err::<Vec<u8>>(
        "{[-1] = 1}",
        "expected a sequence (keys 1, 2, 3, ...), got key -1",
    );
    assert_err::<Vec<u8>>(
        "{[1.5] = 1}",
        "expected a sequence (keys 1, 2, 3, ...), got key 1.5",
    );
    assert_err::<Vec<u8>>(
        "{[true] = 1}",
        "expected a sequence (keys 1, 2, 3, ...), got key true",
    );
    assert_err::<Vec<u8>>(
        "{[{}] = 1}",
        "expected a sequence (keys 1, 2, 3, ...), got a table key",
    );
    assert_err::<Vec<u8>>(
        "{[2^63] = 1}",
        "expected a sequence (keys 1, 2, 3, ...), got key 9.223372036854776e18",
    );
    // With several bad keys, the least one is named, whatever Lua's iteration order.
    assert_err::<Vec<u8>>(
        "{1, zz = 1, aa = 2, [-5] = 3, [0] = 4, [true] = 5}",
        "expected a sequence (keys 1, 2, 3, ...), got key -5",
    );
    assert_err::<Vec<u8>>(
        "{zz = 1, aa = 2, mm = 3}",
        "expected a sequence (keys 1, 2, 3, ...), got key \"aa\"",
    );
    // Key errors come before element errors.
    assert_err::<Vec<u8>>(
        "{'x', k = 1}",
        "expected a sequence (keys 1, 2, 3, ...), got key \"k\"",
    );
}

#[test]
fn a_far_border_does_not_make_the_decoder_allocate() {
    // {1, 2, 3, 4, [5] = 5, [8] = 0, [16] = 0, ..., [2^40] = 0}: the constructor puts the
    // bracketed keys in the hash part, and `#t` then finds the border 2^40 with only 43
    // entries. Sizing anything by `#t` would try to allocate terabytes.
    let lua = Lua::new();
    let mut src = String::from("return {1, 2, 3, 4, [5] = 5");
    for i in 3..=40 {
        src.push_str(&format!(", [{}] = 0", 1u64 << i));
    }
    src.push('}');
    let t = eval(&lua, &src);
    let border: i64 = inspect(&lua, t.clone(), "return #x");
    assert_eq!(border, 1 << 40);
    assert_eq!(
        Vec::<u8>::decode(&t).unwrap_err().to_string(),
        "expected a sequence, got a hole at [6] (highest key 1099511627776)"
    );
    assert_eq!(
        Vec::<Option<u8>>::decode(&t).unwrap_err().to_string(),
        "expected a sequence, got key 1099511627776 with only 43 elements (more than 65536 missing)"
    );
    assert_eq!(
        <[u8; 2]>::decode(&t).unwrap_err().to_string(),
        "expected a sequence of 2 elements (keys 1..=2), got key 3"
    );
}

#[test]
fn sequences_of_optionals_accept_holes() {
    let lua = Lua::new();
    assert_eq!(
        decode_lua::<Vec<Option<u8>>>("{1, nil, 3}").unwrap(),
        [Some(1), None, Some(3)]
    );
    assert_eq!(
        decode_lua::<Vec<Option<u8>>>("{[3] = 3}").unwrap(),
        [None, None, Some(3)]
    );
    round_trip(&lua, vec![None, Some(2u8), None, Some(4)]);
    // Trailing Nones have no Lua representation: {1, nil} is {1}.
    let enc = vec![Some(1u8), None].encode(&lua).unwrap();
    assert_eq!(Vec::<Option<u8>>::decode(&enc).unwrap(), [Some(1)]);
    assert_err::<Vec<Option<u8>>>(
        "{[100000] = 1}",
        "expected a sequence, got key 100000 with only 1 elements (more than 65536 missing)",
    );
    assert_err::<Vec<Option<u8>>>(
        "{x = 1}",
        "expected a sequence (keys 1, 2, 3, ...), got key \"x\"",
    );
}

#[test]
fn arrays_have_a_fixed_length() {
    let lua = Lua::new();
    let enc = round_trip(&lua, [1u8, 2, 3]);
    let len: i64 = inspect(&lua, enc, "return #x");
    assert_eq!(len, 3);
    round_trip(&lua, [String::from("a"), String::from("b")]);
    round_trip(&lua, [0u8; 0]);
    assert_err::<[u8; 3]>(
        "{1, 2}",
        "expected a sequence of 3 elements, got 2 (missing [3])",
    );
    assert_err::<[u8; 3]>(
        "{1, nil, 3}",
        "expected a sequence of 3 elements, got 2 (missing [2])",
    );
    assert_err::<[u8; 3]>(
        "{1, 2, 3, 4}",
        "expected a sequence of 3 elements (keys 1..=3), got key 4",
    );
    assert_err::<[u8; 3]>(
        "{1, 2, 3, x = 4}",
        "expected a sequence of 3 elements (keys 1..=3), got key \"x\"",
    );
    assert_err::<[u8; 0]>(
        "{1}",
        "expected a sequence of 0 elements (keys 1..=0), got key 1",
    );
    assert_err::<[u8; 2]>("{1, 'x'}", "[2]: expected integer, got string (\"x\")");
    assert_eq!(
        decode_lua::<[Option<u8>; 3]>("{1}").unwrap(),
        [Some(1), None, None]
    );
    assert_eq!(
        decode_lua::<[Option<u8>; 3]>("{nil, nil, 3}").unwrap(),
        [None, None, Some(3)]
    );
}

#[test]
fn other_sequences() {
    let lua = Lua::new();
    round_trip(&lua, VecDeque::from([1i32, -2, 3]));
    let enc = round_trip(&lua, BTreeSet::from([String::from("b"), String::from("a")]));
    let (a, b): (String, String) = inspect(&lua, enc, "return x[1], x[2]");
    assert_eq!((a.as_str(), b.as_str()), ("a", "b"));
    round_trip(&lua, HashSet::from([1u16, 2, 3]));
    // Duplicates merge.
    assert_eq!(
        decode_lua::<BTreeSet<u8>>("{1, 1, 2}").unwrap(),
        BTreeSet::from([1, 2])
    );
    assert_eq!(
        decode_lua::<HashSet<u8>>("{3, 3}").unwrap(),
        HashSet::from([3])
    );
    assert_err::<VecDeque<u8>>(
        "{1, nil, 3}",
        "expected a sequence, got a hole at [2] (highest key 3)",
    );
    assert_err::<BTreeSet<u8>>("{1, -1}", "[2]: expected integer in 0..=255 (u8), got -1");
    assert_err::<HashSet<String>>(
        "{'a', k = 'b'}",
        "expected a sequence (keys 1, 2, 3, ...), got key \"k\"",
    );
}

// ---------------------------------------------------------------- maps

#[test]
fn maps_round_trip_with_string_and_integer_keys() {
    let lua = Lua::new();
    let m = BTreeMap::from([(String::from("a"), 1u32), (String::from("b"), 2)]);
    let enc = round_trip(&lua, m);
    let sum: i64 = inspect(&lua, enc, "return x.a + x.b");
    assert_eq!(sum, 3);
    let m = BTreeMap::from([(3u32, String::from("three")), (70000, String::from("big"))]);
    let enc = round_trip(&lua, m);
    let three: String = inspect(&lua, enc, "return x[3]");
    assert_eq!(three, "three");
    round_trip(
        &lua,
        HashMap::from([
            (String::from("x"), vec![1u8]),
            (String::from("odd key"), vec![]),
        ]),
    );
    round_trip(&lua, HashMap::from([(-1i64, true), (0, false)]));
    round_trip(&lua, BTreeMap::<String, u8>::new());
    assert_eq!(
        decode_lua::<HashMap<String, u8>>("{}").unwrap(),
        HashMap::new()
    );
}

#[test]
fn map_errors_carry_the_key() {
    assert_err::<BTreeMap<String, u8>>(
        "{a = 1, b = 'x'}",
        "b: expected integer, got string (\"x\")",
    );
    assert_err::<BTreeMap<String, u8>>(
        "{['odd key'] = 'x'}",
        "[\"odd key\"]: expected integer, got string (\"x\")",
    );
    assert_err::<BTreeMap<String, BTreeMap<String, u8>>>(
        "{communities = {x = 'no'}}",
        "communities.x: expected integer, got string (\"no\")",
    );
    assert_err::<BTreeMap<String, Vec<String>>>(
        "{communities = {'65000:1', false}}",
        "communities[2]: expected string, got boolean (false)",
    );
    assert_err::<BTreeMap<u32, String>>("{[3] = 5}", "[3]: expected string, got integer (5)");
    assert_err::<HashMap<String, u8>>(
        "{a = 1, b = 'x'}",
        "b: expected integer, got string (\"x\")",
    );
    // Several bad values: the least key is named.
    assert_err::<BTreeMap<String, u8>>(
        "{zz = 'x', aa = true, mm = 1}",
        "aa: expected integer, got boolean (true)",
    );
    assert_err::<BTreeMap<i64, u8>>(
        "{[5] = 'x', [-2] = 'y'}",
        "[\"-2\"]: expected integer, got string (\"y\")",
    );
    assert_err::<BTreeMap<String, u8>>("'x'", "expected table, got string (\"x\")");
}

#[test]
fn map_keys_are_checked() {
    assert_err::<BTreeMap<u8, String>>(
        "{x = 'a'}",
        "invalid key \"x\": expected integer, got string (\"x\")",
    );
    assert_err::<BTreeMap<u8, String>>(
        "{[300] = 'a'}",
        "invalid key 300: expected integer in 0..=255 (u8), got 300",
    );
    assert_err::<BTreeMap<String, u8>>(
        "{[1] = 1}",
        "invalid key 1: expected string, got integer (1)",
    );
    assert_err::<HashMap<String, u8>>(
        "{[true] = 1}",
        "invalid key true: expected string, got boolean (true)",
    );
    assert_err::<BTreeMap<Ipv4Addr, u8>>(
        "{['10.0.0.1'] = 1, ['bogus'] = 2}",
        "invalid key \"bogus\": expected IPv4 address, got string (\"bogus\")",
    );
    // Key errors and value errors compete by key order too.
    assert_err::<BTreeMap<u8, u8>>(
        "{[1] = 'v', [999] = 1}",
        "[1]: expected integer, got string (\"v\")",
    );
    // Two Lua keys that decode to one Rust key.
    assert_err::<BTreeMap<IpAddr, u8>>(
        "{['::1'] = 1, ['0::1'] = 2}",
        "key \"0::1\" and key \"::1\" decode to the same map key",
    );
    assert_err::<BTreeMap<IpAddr, u8>>(
        "{['0::1'] = 1, ['1.2.3.4'] = 2, ['::1'] = 3, ['10.0.0.1'] = 4}",
        "key \"0::1\" and key \"::1\" decode to the same map key",
    );
    assert_err::<HashMap<Ipv6Addr, u8>>(
        "{['::1'] = 1, ['0:0::1'] = 2}",
        "key \"0:0::1\" and key \"::1\" decode to the same map key",
    );
}

/// A key type whose encoding folds case, so two Rust keys meet in one Lua key.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Caseless(&'static str);

impl LuaEncode for Caseless {
    fn encode(&self, lua: &Lua) -> frrhook_codec::mlua::Result<Value> {
        self.0.to_lowercase().encode(lua)
    }
}

#[test]
fn maps_whose_keys_collide_in_lua_fail_to_encode() {
    let lua = Lua::new();
    let m = BTreeMap::from([(Caseless("A"), 1u8), (Caseless("a"), 2)]);
    let e = m.encode(&lua).unwrap_err().to_string();
    assert!(
        e.contains("two map keys encode to the same Lua key (string (\"a\"))"),
        "{e}"
    );
    let m = BTreeMap::from([(None::<u8>, 1u8)]);
    assert!(m.encode(&lua).is_err(), "a nil key cannot be set");
}

// ---------------------------------------------------------------- tuples

#[test]
fn tuples_are_fixed_sequences() {
    let lua = Lua::new();
    let enc = round_trip(&lua, (7u8, String::from("x"), true));
    let (a, b, c, n): (i64, String, bool, i64) = inspect(&lua, enc, "return x[1], x[2], x[3], #x");
    assert_eq!((a, b.as_str(), c, n), (7, "x", true, 3));
    round_trip(&lua, (1u8,));
    round_trip(
        &lua,
        (
            1u8,
            2i16,
            3u32,
            4i64,
            String::from("5"),
            6.5f64,
            false,
            Some(8u8),
        ),
    );
    round_trip(&lua, (1u8, None::<u8>));
    assert_eq!(decode_lua::<(u8, Option<u8>)>("{1}").unwrap(), (1, None));
    assert_err::<(u8, u8)>(
        "{1}",
        "expected a sequence of 2 elements, got 1 (missing [2])",
    );
    assert_err::<(u8, u8)>("{1, 'x'}", "[2]: expected integer, got string (\"x\")");
    assert_err::<(u8, u8)>(
        "{1, 2, 3}",
        "expected a sequence of 2 elements (keys 1..=2), got key 3",
    );
    assert_err::<(u8, String)>(
        "{a = 1}",
        "expected a sequence of 2 elements (keys 1..=2), got key \"a\"",
    );
    assert_err::<(u8,)>("5", "expected table, got integer (5)");
    assert_err::<(Vec<u8>, u8)>(
        "{{1, 'z'}, 2}",
        "[1][2]: expected integer, got string (\"z\")",
    );
}

// ---------------------------------------------------------------- addresses and prefixes

#[test]
fn addresses_are_strings() {
    let lua = Lua::new();
    let enc = round_trip(&lua, Ipv4Addr::new(10, 0, 0, 1));
    let s: String = inspect(&lua, enc, "return x");
    assert_eq!(s, "10.0.0.1");
    let enc = round_trip(&lua, "2001:db8::1".parse::<Ipv6Addr>().unwrap());
    let s: String = inspect(&lua, enc, "return x");
    assert_eq!(s, "2001:db8::1");
    round_trip(&lua, IpAddr::from([192, 0, 2, 1]));
    round_trip(&lua, IpAddr::from(Ipv6Addr::LOCALHOST));
    assert_err::<Ipv4Addr>(
        "'10.0.0.256'",
        "expected IPv4 address, got string (\"10.0.0.256\")",
    );
    assert_err::<Ipv4Addr>("'::1'", "expected IPv4 address, got string (\"::1\")");
    assert_err::<Ipv6Addr>(
        "'10.0.0.1'",
        "expected IPv6 address, got string (\"10.0.0.1\")",
    );
    assert_err::<IpAddr>("'bogus'", "expected IP address, got string (\"bogus\")");
    assert_err::<IpAddr>("'\\xff'", "expected IP address, got string (\"\u{fffd}\")");
    assert_err::<Ipv4Addr>(
        "167772161",
        "expected IPv4 address, got integer (167772161)",
    );
}

#[test]
fn prefixes_use_frr_shape() {
    let lua = Lua::new();
    let net: IpNet = "10.0.0.0/24".parse().unwrap();
    let enc = round_trip(&lua, net);
    let (n, l, f): (String, i64, i64) = inspect(&lua, enc, "return x.network, x.length, x.family");
    assert_eq!((n.as_str(), l, f), ("10.0.0.0/24", 24, 2));

    let net: IpNet = "2001:db8::/32".parse().unwrap();
    let enc = round_trip(&lua, net);
    let (n, l, f): (String, i64, i64) = inspect(&lua, enc, "return x.network, x.length, x.family");
    assert_eq!((n.as_str(), l, f), ("2001:db8::/32", 32, 10));

    let v4: Ipv4Net = "192.0.2.0/25".parse().unwrap();
    let enc = round_trip(&lua, v4);
    let f: i64 = inspect(&lua, enc, "return x.family");
    assert_eq!(f, 2);
    let v6: Ipv6Net = "::/0".parse().unwrap();
    let enc = round_trip(&lua, v6);
    let (n, l): (String, i64) = inspect(&lua, enc, "return x.network, x.length");
    assert_eq!((n.as_str(), l), ("::/0", 0));
    // Host bits are kept.
    round_trip(&lua, "10.0.0.1/24".parse::<IpNet>().unwrap());
}

#[test]
fn prefixes_decode_from_tables_strings_and_script_edits() {
    let lua = Lua::new();
    let p = |s: &str| s.parse::<IpNet>().unwrap();
    assert_eq!(
        decode_lua::<IpNet>("'10.0.0.0/24'").unwrap(),
        p("10.0.0.0/24")
    );
    assert_eq!(
        decode_lua::<IpNet>("{network = '10.0.0.0/24'}").unwrap(),
        p("10.0.0.0/24")
    );
    assert_eq!(decode_lua::<IpNet>("'10.0.0.1'").unwrap(), p("10.0.0.1/32"));
    assert_eq!(decode_lua::<IpNet>("'::1'").unwrap(), p("::1/128"));
    assert_eq!(
        decode_lua::<Ipv6Net>("'2001:db8::/48'").unwrap(),
        "2001:db8::/48".parse().unwrap()
    );
    // A script changes network and length together, or clears length.
    let enc = p("10.0.0.0/24").encode(&lua).unwrap();
    let edited: Value = inspect(
        &lua,
        enc,
        "x.network = '10.1.0.0/16'; x.length = 16; return x",
    );
    assert_eq!(IpNet::decode(&edited).unwrap(), p("10.1.0.0/16"));
    let enc = p("10.0.0.0/24").encode(&lua).unwrap();
    let edited: Value = inspect(
        &lua,
        enc,
        "x.network = '10.2.0.0/16'; x.length = nil; return x",
    );
    assert_eq!(IpNet::decode(&edited).unwrap(), p("10.2.0.0/16"));
    // Other keys are ignored, as FRR does.
    assert_eq!(
        decode_lua::<IpNet>("{network = '10.0.0.0/8', note = {}}").unwrap(),
        p("10.0.0.0/8")
    );
}

#[test]
fn prefix_errors() {
    let lua = Lua::new();
    let enc = "10.0.0.0/24"
        .parse::<IpNet>()
        .unwrap()
        .encode(&lua)
        .unwrap();
    let edited: Value = inspect(&lua, enc, "x.network = '10.1.0.0/16'; return x");
    assert_eq!(
        IpNet::decode(&edited).unwrap_err().to_string(),
        "length: length 24 disagrees with network \"10.1.0.0/16\" (/16); set both, or set length to nil"
    );
    assert_err::<IpNet>(
        "{network = '10.0.0.0/24', family = 10}",
        "family: family 10 disagrees with network \"10.0.0.0/24\" (family 2)",
    );
    assert_err::<IpNet>(
        "{network = '10.0.0.0/33'}",
        "network: invalid prefix \"10.0.0.0/33\": length 33 is more than 32 for IPv4",
    );
    assert_err::<IpNet>(
        "'10.0.0.0/33'",
        "invalid prefix \"10.0.0.0/33\": length 33 is more than 32 for IPv4",
    );
    assert_err::<IpNet>(
        "'::/129'",
        "invalid prefix \"::/129\": length 129 is more than 128 for IPv6",
    );
    assert_err::<IpNet>(
        "'bogus'",
        "expected prefix like \"10.0.0.0/24\", got string (\"bogus\")",
    );
    assert_err::<IpNet>(
        "'10.0.0.0/'",
        "expected prefix like \"10.0.0.0/24\", got string (\"10.0.0.0/\")",
    );
    assert_err::<IpNet>(
        "'10.0.0.0/+8'",
        "expected prefix like \"10.0.0.0/24\", got string (\"10.0.0.0/+8\")",
    );
    assert_err::<IpNet>(
        "'10.0.0.0/24 '",
        "expected prefix like \"10.0.0.0/24\", got string (\"10.0.0.0/24 \")",
    );
    assert_err::<IpNet>(
        "'10.0.0.0/0024'",
        "expected prefix like \"10.0.0.0/24\", got string (\"10.0.0.0/0024\")",
    );
    assert_err::<IpNet>(
        "'\\xff/8'",
        "expected prefix like \"10.0.0.0/24\", got string (\"\u{fffd}/8\")",
    );
    assert_err::<IpNet>("{length = 24}", "missing required field `network`");
    assert_err::<IpNet>("{network = 5}", "network: expected string, got integer (5)");
    assert_err::<IpNet>(
        "{network = '10.0.0.0/8', length = 'x'}",
        "length: expected integer, got string (\"x\")",
    );
    assert_err::<IpNet>(
        "{network = '10.0.0.0/8', length = 8.5}",
        "length: expected integer in 0..=255 (u8), got 8.5",
    );
    assert_err::<IpNet>("24", "expected prefix (table or string), got integer (24)");
    assert_err::<Ipv4Net>(
        "'2001:db8::/32'",
        "expected IPv4 prefix, got IPv6 prefix \"2001:db8::/32\"",
    );
    assert_err::<Ipv6Net>(
        "{network = '10.0.0.0/8'}",
        "expected IPv6 prefix, got IPv4 prefix \"10.0.0.0/8\"",
    );
    assert_err::<Vec<IpNet>>(
        "{'10.0.0.0/8', {network = 'nope'}}",
        "[2].network: expected prefix like \"10.0.0.0/24\", got string (\"nope\")",
    );
}

// ---------------------------------------------------------------- FRR address shapes

#[test]
fn in_addr_has_frr_shape_with_big_endian_value() {
    let lua = Lua::new();
    let enc = round_trip(&lua, InAddr(Ipv4Addr::new(1, 2, 3, 4)));
    let (v, s): (i64, String) = inspect(&lua, enc, "return x.value, x.string");
    assert_eq!((v, s.as_str()), (0x0102_0304, "1.2.3.4"));
    let enc = round_trip(&lua, InAddr(Ipv4Addr::new(255, 255, 255, 255)));
    let v: i64 = inspect(&lua, enc, "return x.value");
    assert_eq!(v, 0xffff_ffff);
    assert_eq!(
        decode_lua::<InAddr>("'10.0.0.1'").unwrap(),
        InAddr([10, 0, 0, 1].into())
    );
    assert_eq!(
        decode_lua::<InAddr>("{string = '10.0.0.1'}").unwrap(),
        InAddr([10, 0, 0, 1].into())
    );
    assert_eq!(
        decode_lua::<InAddr>("{string = '1.2.3.4', value = 16909060}").unwrap(),
        InAddr([1, 2, 3, 4].into())
    );
    // A script that edits `string` and drops `value`.
    let enc = InAddr([1, 2, 3, 4].into()).encode(&lua).unwrap();
    let edited: Value = inspect(&lua, enc, "x.string = '5.6.7.8'; x.value = nil; return x");
    assert_eq!(
        InAddr::decode(&edited).unwrap(),
        InAddr([5, 6, 7, 8].into())
    );
    // From conversions.
    let a: InAddr = Ipv4Addr::LOCALHOST.into();
    assert_eq!(Ipv4Addr::from(a), Ipv4Addr::LOCALHOST);
    assert_eq!(a.to_string(), "127.0.0.1");
}

#[test]
fn in_addr_errors() {
    // FRR's host-order value for 1.2.3.4 on x86 disagrees with the string.
    assert_err::<InAddr>(
        "{string = '1.2.3.4', value = 67305985}",
        "value: value 67305985 disagrees with string \"1.2.3.4\" (16909060); \
         set `string` (frrhook's value is big-endian, FRR's is host order)",
    );
    assert_err::<InAddr>("{value = 16909060}", "missing required field `string`");
    assert_err::<InAddr>(
        "{string = 'x'}",
        "string: expected IPv4 address, got string (\"x\")",
    );
    assert_err::<InAddr>(
        "{string = 5}",
        "string: expected IPv4 address, got integer (5)",
    );
    assert_err::<InAddr>(
        "{string = '1.2.3.4', value = -1}",
        "value: expected integer in 0..=4294967295 (u32), got -1",
    );
    assert_err::<InAddr>("5", "expected in_addr (table or string), got integer (5)");
    assert_err::<InAddr>("'::1'", "expected IPv4 address, got string (\"::1\")");
}

#[test]
fn in6_addr_has_frr_shape() {
    let lua = Lua::new();
    let addr: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let enc = round_trip(&lua, In6Addr(addr));
    let (s, v): (String, Value) = inspect(&lua, enc, "return x.string, x.value");
    assert_eq!(s, "2001:db8::1");
    assert!(matches!(v, Value::Nil));
    assert_eq!(
        decode_lua::<In6Addr>("'::1'").unwrap(),
        In6Addr(Ipv6Addr::LOCALHOST)
    );
    assert_eq!(
        decode_lua::<In6Addr>("{string = '::1', value = 'ignored'}").unwrap(),
        In6Addr(Ipv6Addr::LOCALHOST)
    );
    assert_err::<In6Addr>("{}", "missing required field `string`");
    assert_err::<In6Addr>(
        "{string = '1.2.3.4'}",
        "string: expected IPv6 address, got string (\"1.2.3.4\")",
    );
    assert_err::<In6Addr>(
        "true",
        "expected in6_addr (table or string), got boolean (true)",
    );
    assert_eq!(Ipv6Addr::from(In6Addr::from(addr)), addr);
}

// ---------------------------------------------------------------- decode_into and updates

/// `decode_into` with a bad value leaves `start` unchanged and returns the same error as
/// `decode`; with a good value it sets exactly what `decode` returns.
#[track_caller]
fn check_in_place<T: LuaDecode + PartialEq + Debug + Clone>(start: T, bad: &str, good: &str) {
    let lua = Lua::new();
    let bad_v = eval(&lua, &format!("return {bad}"));
    let mut x = start.clone();
    let e = x.decode_into(&bad_v).unwrap_err();
    assert_eq!(x, start, "decode_into({bad}) changed the value");
    assert_eq!(e, T::decode(&bad_v).unwrap_err());
    let good_v = eval(&lua, &format!("return {good}"));
    x.decode_into(&good_v).unwrap();
    assert_eq!(x, T::decode(&good_v).unwrap());
    assert_ne!(
        x, start,
        "the good value should differ from the start value"
    );
}

#[test]
fn decode_into_leaves_the_value_unchanged_on_error() {
    check_in_place(5u8, "300", "6");
    check_in_place(1.5f64, "'x'", "2.5");
    check_in_place(String::from("keep"), "'\\xff'", "'new'");
    check_in_place(Some(1u8), "'x'", "nil");
    check_in_place(vec![String::from("a")], r#"{"a", "b", true}"#, r#"{"c"}"#);
    check_in_place([1u8, 2, 3], "{1, 2}", "{4, 5, 6}");
    check_in_place((1u8, String::from("a")), "{1, 2}", "{2, 'b'}");
    check_in_place(
        BTreeMap::from([(String::from("a"), 1u8)]),
        "{a = 1, b = 'x'}",
        "{b = 2}",
    );
    check_in_place(HashMap::from([(1u8, true)]), "{[1] = 1}", "{[2] = false}");
    check_in_place(
        "10.0.0.0/8".parse::<IpNet>().unwrap(),
        "{network = '10.0.0.0/33'}",
        "'10.0.0.0/9'",
    );
    check_in_place(
        InAddr([1, 1, 1, 1].into()),
        "{string = '1.2.3.4', value = 1}",
        "'2.2.2.2'",
    );
    check_in_place(Ipv4Addr::LOCALHOST, "'x'", "'10.0.0.1'");
    check_in_place(Duration::from_secs(1), "-1", "2");
    check_in_place(Box::new(7u32), "-7", "8");
    check_in_place(BTreeSet::from([1u8]), "{1, 'x'}", "{2}");
}

#[test]
fn apply_update_returns_the_inverse() {
    fn check<T: LuaDecode<Update = T> + PartialEq + Debug + Clone>(start: T, src: &str) {
        let lua = Lua::new();
        let v = eval(&lua, &format!("return {src}"));
        let mut x = start.clone();
        let update = x.prepare_update(&v).unwrap();
        assert_eq!(x, start, "prepare_update must not change the value");
        let undo = x.apply_update(update);
        assert_eq!(x, T::decode(&v).unwrap());
        assert_eq!(undo, start);
        let redo = x.apply_update(undo);
        assert_eq!(x, start);
        assert_eq!(redo, T::decode(&v).unwrap());
    }
    check(1u8, "2");
    check(vec![1u8], "{2, 3}");
    check(Some(String::from("a")), "nil");
    check(BTreeMap::from([(1u8, 1u8)]), "{[2] = 2}");
    check(
        "10.0.0.0/8".parse::<IpNet>().unwrap(),
        "{network = '10.0.0.0/16', length = 16, family = 2}",
    );
    check(InAddr([1, 1, 1, 1].into()), "'2.2.2.2'");
    check((1u8, false), "{2, true}");
    check([0u8; 2], "{1, 2}");

    // Box<T> uses T's update type.
    let lua = Lua::new();
    let mut b = Box::new(String::from("old"));
    let undo = b.apply_update(b.prepare_update(&eval(&lua, "return 'new'")).unwrap());
    assert_eq!((b.as_str(), undo.as_str()), ("new", "old"));
}

// ---------------------------------------------------------------- Lua types

#[test]
fn lua_types_describe_the_shapes() {
    assert_eq!(lua_type_of::<u8>(), "integer");
    assert_eq!(lua_type_of::<f32>(), "number");
    assert_eq!(lua_type_of::<bool>(), "boolean");
    assert_eq!(lua_type_of::<String>(), "string");
    assert_eq!(lua_type_of::<char>(), "string");
    assert_eq!(lua_type_of::<()>(), "nil");
    assert_eq!(lua_type_of::<Duration>(), "number");
    assert_eq!(lua_type_of::<Option<String>>(), "string?");
    assert_eq!(lua_type_of::<Vec<u32>>(), "integer[]");
    assert_eq!(lua_type_of::<Vec<Option<u8>>>(), "(integer?)[]");
    assert_eq!(lua_type_of::<[u8; 4]>(), "integer[]");
    assert_eq!(lua_type_of::<BTreeSet<String>>(), "string[]");
    assert_eq!(
        lua_type_of::<BTreeMap<String, u32>>(),
        "table<string, integer>"
    );
    assert_eq!(
        lua_type_of::<HashMap<u32, Vec<String>>>(),
        "table<integer, string[]>"
    );
    assert_eq!(lua_type_of::<(u8, String)>(), "[integer, string]");
    assert_eq!(lua_type_of::<Ipv4Addr>(), "string");
    assert_eq!(lua_type_of::<IpNet>(), "Prefix");
    assert_eq!(lua_type_of::<Ipv6Net>(), "Prefix");
    assert_eq!(lua_type_of::<InAddr>(), "InAddr");
    assert_eq!(lua_type_of::<In6Addr>(), "In6Addr");
    assert_eq!(decode_type_of::<IpNet>(), "Prefix|string");
    assert_eq!(decode_type_of::<Option<Ipv4Net>>(), "(Prefix|string)?");
    assert_eq!(decode_type_of::<InAddr>(), "InAddr|string");
    assert_eq!(decode_type_of::<Box<Vec<u8>>>(), "integer[]");
}

#[test]
fn prefix_and_in_addr_register_classes() {
    let mut reg = TypeRegistry::default();
    assert_eq!(
        <Vec<IpNet> as LuaEncode>::lua_type(&mut reg),
        LuaType::Array(Box::new(LuaType::Named("Prefix".into())))
    );
    <InAddr as LuaDecode>::lua_type(&mut reg);
    let fields = |name: &str| -> Vec<(String, String)> {
        match &reg
            .get(name)
            .unwrap_or_else(|| panic!("{name} not registered"))
            .kind
        {
            ClassKind::Class(fields) => fields
                .iter()
                .map(|f| (f.name.clone(), f.ty.to_string()))
                .collect(),
            other => panic!("{name} is {other:?}"),
        }
    };
    let owned = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fields("Prefix"),
        owned(&[
            ("network", "string"),
            ("length", "integer"),
            ("family", "integer")
        ])
    );
    assert_eq!(
        fields("InAddr"),
        owned(&[("value", "integer"), ("string", "string")])
    );
    assert!(reg.get("In6Addr").is_none());
    assert_eq!(
        reg.classes().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["InAddr", "Prefix"]
    );
}

// ---------------------------------------------------------------- totality

/// A recursive type, as a derive would make: a node is a sequence of nodes.
#[derive(Debug, PartialEq)]
struct Tree(Vec<Tree>);

impl LuaDecode for Tree {
    frrhook_codec::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        Vec::<Tree>::decode(value).map(Tree)
    }
}

/// A recursive type through a map.
#[derive(Debug, PartialEq)]
struct Dir(BTreeMap<String, Dir>);

impl LuaDecode for Dir {
    frrhook_codec::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        BTreeMap::<String, Dir>::decode(value).map(Dir)
    }
}

#[test]
fn cyclic_tables_into_recursive_types_are_too_deep() {
    let lua = Lua::new();
    let cyclic = eval(&lua, "local t = {}; t[1] = t; return t");
    let e = Tree::decode(&cyclic).unwrap_err();
    assert_eq!(e.kind(), &DecodeErrorKind::TooDeep);
    assert_eq!(e.path().count(), MAX_DEPTH as usize);
    assert!(e.path().all(|s| *s == PathSegment::Index(1)));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: tables nested deeper than 128 levels (is the table cyclic?)",
            "[1]".repeat(128)
        )
    );

    let cyclic = eval(&lua, "local t = {}; t.sub = t; return t");
    let e = Dir::decode(&cyclic).unwrap_err();
    assert_eq!(e.kind(), &DecodeErrorKind::TooDeep);
    assert!(e.to_string().starts_with("sub.sub.sub."), "{e}");

    // The depth count is back to zero after the error: a tree 100 deep still decodes.
    let deep = eval(&lua, "local t = {} for i = 1, 99 do t = {t} end return t");
    let mut depth = 0;
    let mut node = &Tree::decode(&deep).unwrap();
    while let Some(child) = node.0.first() {
        node = child;
        depth += 1;
    }
    assert_eq!(depth, 99);
    // And a tree deeper than the limit is an error, not a stack overflow.
    let too_deep = eval(&lua, "local t = {} for i = 1, 500 do t = {t} end return t");
    assert_eq!(
        Tree::decode(&too_deep).unwrap_err().kind(),
        &DecodeErrorKind::TooDeep
    );
}

#[test]
fn cycles_into_finite_types_are_ordinary_errors() {
    let lua = Lua::new();
    let cyclic = eval(&lua, "local t = {}; t[1] = t; return t");
    assert_eq!(
        Vec::<Vec<u8>>::decode(&cyclic).unwrap_err().to_string(),
        "[1][1]: expected integer, got table"
    );
    let cyclic = eval(&lua, "local t = {}; t.network = t; return t");
    assert_eq!(
        IpNet::decode(&cyclic).unwrap_err().to_string(),
        "network: expected string, got table"
    );
}

const TRAP: &str = r#"
    touched = nil
    local function trap(what) return function() touched = what; error("metamethod " .. what .. " ran") end end
    local mt = {}
    for _, m in ipairs({"__index", "__newindex", "__len", "__pairs", "__call", "__eq", "__lt",
                        "__le", "__concat", "__tostring", "__unm", "__add"}) do
        mt[m] = trap(m)
    end
    function trapped(t) return setmetatable(t, mt) end
"#;

#[test]
fn decoding_never_runs_metamethods() {
    let lua = Lua::new();
    lua.load(TRAP).exec().unwrap();
    let touched = || lua.globals().get::<Value>("touched").unwrap();

    let v = eval(&lua, "return trapped({1, 2, 3})");
    assert_eq!(Vec::<u8>::decode(&v).unwrap(), [1, 2, 3]);
    assert_eq!(<[u8; 3]>::decode(&v).unwrap(), [1, 2, 3]);
    assert_eq!(<(u8, u8, u8)>::decode(&v).unwrap(), (1, 2, 3));
    // __index would fill the hole, __len would claim 5: neither is consulted.
    let v = eval(&lua, "return trapped({1, nil, 3})");
    assert_eq!(
        Vec::<u8>::decode(&v).unwrap_err().to_string(),
        "expected a sequence, got a hole at [2] (highest key 3)"
    );
    let v = eval(&lua, "return trapped({a = 1})");
    assert_eq!(
        BTreeMap::<String, u8>::decode(&v).unwrap(),
        BTreeMap::from([(String::from("a"), 1)])
    );
    let v = eval(&lua, "return trapped({})");
    assert_eq!(
        IpNet::decode(&v).unwrap_err().to_string(),
        "missing required field `network`"
    );
    assert_eq!(
        InAddr::decode(&v).unwrap_err().to_string(),
        "missing required field `string`"
    );
    let v = eval(&lua, "return trapped({network = '10.0.0.0/8', length = 8})");
    assert_eq!(
        IpNet::decode(&v).unwrap(),
        "10.0.0.0/8".parse::<IpNet>().unwrap()
    );
    assert!(
        matches!(touched(), Value::Nil),
        "a metamethod ran: {:?}",
        touched()
    );

    // The trap works: plain indexing does run it.
    assert!(lua.load("return trapped({}).x").exec().is_err());
    assert!(!matches!(touched(), Value::Nil));
}

#[test]
fn decoding_odd_values_is_an_error_not_a_panic() {
    let lua = Lua::new();
    let odd = [
        eval(&lua, "return print"),
        eval(&lua, "return coroutine.create(function() end)"),
        Value::LightUserData(frrhook_codec::mlua::LightUserData(std::ptr::null_mut())),
        Value::UserData(lua.create_any_userdata(5u32).unwrap()),
        Value::Error(Box::new(frrhook_codec::mlua::Error::RuntimeError(
            "boom".into(),
        ))),
    ];
    let names = ["function", "thread", "userdata", "userdata", "error"];
    for (v, name) in odd.iter().zip(names) {
        assert_eq!(
            u8::decode(v).unwrap_err().to_string(),
            format!("expected integer, got {name}")
        );
        assert_eq!(
            Vec::<u8>::decode(v).unwrap_err().to_string(),
            format!("expected table, got {name}")
        );
        assert_eq!(
            IpNet::decode(v).unwrap_err().to_string(),
            format!("expected prefix (table or string), got {name}")
        );
        assert!(String::decode(v).is_err());
        assert!(Option::<u8>::decode(v).is_err());
        assert!(BTreeMap::<String, u8>::decode(v).is_err());
        assert!(<(u8,)>::decode(v).is_err());
        assert!(InAddr::decode(v).is_err());
        assert!(Duration::decode(v).is_err());
        assert!(f64::decode(v).is_err());
    }
}
