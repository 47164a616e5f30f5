//! Decoding is total: arbitrary Lua values, built in a real Lua state, decoded into every
//! built-in type, never panic, never run a metamethod, and leave `decode_into` targets
//! untouched on error. What decodes encodes back to the same value.
//!
//! Also a snapshot of the Lua shapes of a few encoded values.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use frrhook_codec::frr::{In6Addr, InAddr};
use frrhook_codec::mlua::ffi;
use frrhook_codec::mlua::{LightUserData, Lua, Table, Value};
use frrhook_codec::raw::RawCx;
use frrhook_codec::{LuaCodec, LuaDecode, LuaEncode};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

// ---------------------------------------------------------------- recipes

/// A Lua value to build in a state. Tables may contain themselves and carry a metatable
/// whose every metamethod records that it ran.
#[derive(Debug, Clone)]
enum Recipe {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
    Function,
    Thread,
    LightUserData,
    UserData,
    /// Only meaningful at the top level (a table cannot hold an error value).
    Error,
    /// A Lua expression for shapes the other variants cannot build.
    Source(&'static str),
    /// A Rust value encoded by the codec, then optionally edited: `t[key] = value`.
    Encoded(Box<Typed>, Option<(Box<Recipe>, Box<Recipe>)>),
    Table {
        /// Stored at 1, 2, 3, ... (a `Nil` makes a hole).
        seq: Vec<Recipe>,
        /// Any other keys (nil and NaN keys are skipped).
        pairs: Vec<(Recipe, Recipe)>,
        /// `t[key] = t` for each key: a cycle.
        cycles: Vec<Recipe>,
        trapped: bool,
    },
}

fn interesting_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"10.0.0.0/24".to_vec()),
        Just(b"10.0.0.1".to_vec()),
        Just(b"10.0.0.0/33".to_vec()),
        Just(b"0.0.0.0/0".to_vec()),
        Just(b"255.255.255.255/32".to_vec()),
        Just(b"2001:db8::/32".to_vec()),
        Just(b"::1".to_vec()),
        Just(b"::/129".to_vec()),
        Just(b"10.0.0.0/".to_vec()),
        Just(b"/24".to_vec()),
        Just(b"10.0.0.0/-1".to_vec()),
        Just(b"10.0.0.0/99999999999999999999".to_vec()),
        Just(b"1.2.3.4".to_vec()),
        Just(b"network".to_vec()),
        Just(b"length".to_vec()),
        Just(b"family".to_vec()),
        Just(b"string".to_vec()),
        Just(b"value".to_vec()),
        Just(b"x".to_vec()),
        Just(b"".to_vec()),
        Just("\u{1F980}".as_bytes().to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(b"10.0.0.\xff/24".to_vec()),
        "[0-9./:a-f]{0,20}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..24),
    ]
}

fn interesting_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -3i64..=300,
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::from(u32::MAX)),
        Just(i64::from(u32::MAX) + 1),
        Just(i64::from(i32::MIN) - 1),
        Just(65_536),
        Just(16_909_060),
    ]
}

fn interesting_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(0.5),
        Just(1.5),
        Just(3.0),
        Just(2f64.powi(63)),
        Just(-(2f64.powi(63))),
        Just(2f64.powi(64)),
        Just(1e300),
        Just(f64::from(f32::MAX) * 2.0),
        Just(f64::MIN_POSITIVE),
        (-1000i32..1000).prop_map(|i| f64::from(i) / 4.0),
    ]
}

fn leaf() -> impl Strategy<Value = Recipe> {
    prop_oneof![
        3 => Just(Recipe::Nil),
        2 => any::<bool>().prop_map(Recipe::Bool),
        6 => interesting_int().prop_map(Recipe::Int),
        4 => interesting_float().prop_map(Recipe::Float),
        6 => interesting_text().prop_map(Recipe::Str),
        1 => Just(Recipe::Function),
        1 => Just(Recipe::Thread),
        1 => Just(Recipe::LightUserData),
        1 => Just(Recipe::UserData),
    ]
}

fn key() -> impl Strategy<Value = Recipe> {
    prop_oneof![
        4 => (-2i64..=8).prop_map(Recipe::Int),
        1 => interesting_int().prop_map(Recipe::Int),
        1 => interesting_float().prop_map(Recipe::Float),
        4 => interesting_text().prop_map(Recipe::Str),
        1 => any::<bool>().prop_map(Recipe::Bool),
        1 => Just(Recipe::Table { seq: vec![], pairs: vec![], cycles: vec![], trapped: false }),
        1 => Just(Recipe::Function),
    ]
}

fn seq(items: Vec<Recipe>) -> Recipe {
    Recipe::Table {
        seq: items,
        pairs: vec![],
        cycles: vec![],
        trapped: false,
    }
}

/// Tables shaped like what the built-in types accept, so that decoders get past their
/// shape checks often: homogeneous sequences, short mixed sequences (tuples), string-keyed
/// maps of one value kind.
fn plausible(
    inner: impl Strategy<Value = Recipe> + Clone + 'static,
) -> impl Strategy<Value = Recipe> {
    let small = || prop_oneof![4 => (0i64..=20).prop_map(Recipe::Int), 1 => interesting_int().prop_map(Recipe::Int)];
    let text = || interesting_text().prop_map(Recipe::Str);
    let opt_small = || prop_oneof![3 => small(), 1 => Just(Recipe::Nil)];
    let vec = |s: BoxedStrategy<Recipe>, n: std::ops::Range<usize>| {
        proptest::collection::vec(s, n).prop_map(seq)
    };
    prop_oneof![
        vec(small().boxed(), 0..6),
        vec(opt_small().boxed(), 0..6),
        vec(text().boxed(), 0..6),
        vec(any::<bool>().prop_map(Recipe::Bool).boxed(), 0..4),
        vec(inner.clone().boxed(), 0..4),
        vec(inner.clone().boxed(), 2..3),
        (small(), text()).prop_map(|(a, b)| seq(vec![a, b])),
        (opt_small(), small(), any::<bool>()).prop_map(|(a, b, c)| seq(vec![
            a,
            b,
            Recipe::Bool(c)
        ])),
        (text(), inner.clone()).prop_map(|(a, b)| seq(vec![a, b])),
        proptest::collection::vec(small(), 1..9).prop_map(seq),
        proptest::collection::vec((text(), small()), 0..4).prop_map(|pairs| Recipe::Table {
            seq: vec![],
            pairs,
            cycles: vec![],
            trapped: false
        }),
        proptest::collection::vec((small(), text()), 0..4).prop_map(|pairs| Recipe::Table {
            seq: vec![],
            pairs,
            cycles: vec![],
            trapped: false
        }),
        proptest::collection::vec((text(), inner), 0..4).prop_map(|pairs| Recipe::Table {
            seq: vec![],
            pairs,
            cycles: vec![],
            trapped: false
        }),
    ]
}

fn recipe() -> impl Strategy<Value = Recipe> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        let text = || interesting_text().prop_map(Recipe::Str);
        prop_oneof![
            6 => plausible(inner.clone()),
            // Arbitrary tables: mixed keys, holes, cycles, trapping metatables.
            3 => (
                proptest::collection::vec(inner.clone(), 0..4),
                proptest::collection::vec((key(), inner.clone()), 0..5),
                proptest::collection::vec(key(), 0..2),
                any::<bool>(),
            )
                .prop_map(|(seq, pairs, cycles, trapped)| Recipe::Table { seq, pairs, cycles, trapped }),
            1 => (proptest::collection::vec(inner.clone(), 0..6), any::<bool>()).prop_map(|(seq, trapped)| {
                Recipe::Table { seq, pairs: vec![], cycles: vec![], trapped }
            }),
            // FRR shapes with plausible and implausible fields.
            2 => (
                prop_oneof![3 => text(), 1 => inner.clone()],
                proptest::option::of(prop_oneof![3 => (0i64..=130).prop_map(Recipe::Int), 1 => inner.clone()]),
                proptest::option::of(prop_oneof![Just(Recipe::Int(2)), Just(Recipe::Int(10)), inner.clone()]),
                any::<bool>(),
            )
                .prop_map(|(network, length, family, trapped)| {
                    let mut pairs = vec![(Recipe::Str(b"network".to_vec()), network)];
                    pairs.extend(length.map(|l| (Recipe::Str(b"length".to_vec()), l)));
                    pairs.extend(family.map(|f| (Recipe::Str(b"family".to_vec()), f)));
                    Recipe::Table { seq: vec![], pairs, cycles: vec![], trapped }
                }),
            1 => (prop_oneof![3 => text(), 1 => inner], proptest::option::of(interesting_int().prop_map(Recipe::Int)))
                .prop_map(|(string, value)| {
                    let mut pairs = vec![(Recipe::Str(b"string".to_vec()), string)];
                    pairs.extend(value.map(|v| (Recipe::Str(b"value".to_vec()), v)));
                    Recipe::Table { seq: vec![], pairs, cycles: vec![], trapped: false }
                }),
        ]
    })
}

/// Rust values of the built-in types, to encode as valid (or, edited, nearly valid)
/// inputs.
#[derive(Debug, Clone)]
enum Typed {
    Bytes(Vec<u8>),
    Strings(Vec<String>),
    Nested(Vec<Vec<bool>>),
    Optionals(Vec<Option<i32>>),
    Map(BTreeMap<String, u32>),
    IntMap(BTreeMap<u8, String>),
    Deep(Vec<Option<BTreeMap<String, Vec<u8>>>>),
    Nets(BTreeMap<String, BTreeMap<String, Vec<IpNet>>>),
    Tuple2((u8, String)),
    Tuple3((Option<u8>, i64, bool)),
    Tuple8((u8, u8, u8, u8, u8, u8, u8, Option<u8>)),
    Arrays([Vec<i8>; 2]),
    Pairs(Vec<(String, [Option<u16>; 2])>),
    Net(IpNet),
    Addr(IpAddr),
    InAddr(InAddr),
    In6Addr(In6Addr),
    Duration(Duration),
    Shape(Box<Shape>),
}

impl Typed {
    fn encode(&self, lua: &Lua) -> Value {
        match self {
            Typed::Bytes(v) => v.encode(lua),
            Typed::Shape(v) => v.encode(lua),
            Typed::Strings(v) => v.encode(lua),
            Typed::Nested(v) => v.encode(lua),
            Typed::Optionals(v) => v.encode(lua),
            Typed::Map(v) => v.encode(lua),
            Typed::IntMap(v) => v.encode(lua),
            Typed::Deep(v) => v.encode(lua),
            Typed::Nets(v) => v.encode(lua),
            Typed::Tuple2(v) => v.encode(lua),
            Typed::Tuple3(v) => v.encode(lua),
            Typed::Tuple8(v) => v.encode(lua),
            Typed::Arrays(v) => v.encode(lua),
            Typed::Pairs(v) => v.encode(lua),
            Typed::Net(v) => v.encode(lua),
            Typed::Addr(v) => v.encode(lua),
            Typed::InAddr(v) => v.encode(lua),
            Typed::In6Addr(v) => v.encode(lua),
            Typed::Duration(v) => v.encode(lua),
        }
        .unwrap()
    }
}

fn ipnet() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(a.into(), l).unwrap())),
        (any::<u128>(), 0u8..=128).prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(a.into(), l).unwrap())),
    ]
}

fn typed() -> impl Strategy<Value = Typed> {
    use proptest::collection::{btree_map, vec};
    let s = || "[a-z0-9:. ]{0,6}";
    prop_oneof![
        vec(any::<u8>(), 0..5).prop_map(Typed::Bytes),
        vec(s(), 0..4).prop_map(Typed::Strings),
        vec(vec(any::<bool>(), 0..3), 0..3).prop_map(Typed::Nested),
        vec(any::<Option<i32>>(), 0..5).prop_map(Typed::Optionals),
        btree_map(s(), any::<u32>(), 0..4).prop_map(Typed::Map),
        btree_map(any::<u8>(), s(), 0..4).prop_map(Typed::IntMap),
        vec(
            proptest::option::of(btree_map(s(), vec(any::<u8>(), 0..3), 0..3)),
            0..3
        )
        .prop_map(Typed::Deep),
        btree_map(s(), btree_map(s(), vec(ipnet(), 0..3), 0..2), 0..2).prop_map(Typed::Nets),
        (any::<u8>(), s()).prop_map(Typed::Tuple2),
        any::<(Option<u8>, i64, bool)>().prop_map(Typed::Tuple3),
        any::<(u8, u8, u8, u8, u8, u8, u8, Option<u8>)>().prop_map(Typed::Tuple8),
        [vec(any::<i8>(), 0..3), vec(any::<i8>(), 0..3)].prop_map(Typed::Arrays),
        vec((s(), any::<[Option<u16>; 2]>()), 0..3).prop_map(Typed::Pairs),
        ipnet().prop_map(Typed::Net),
        any::<IpAddr>().prop_map(Typed::Addr),
        any::<u32>().prop_map(|a| Typed::InAddr(InAddr(a.into()))),
        any::<u128>().prop_map(|a| Typed::In6Addr(In6Addr(a.into()))),
        (0u64..1 << 40, 0u32..1_000_000_000)
            .prop_map(|(s, n)| Typed::Duration(Duration::new(s, n))),
        shape_value().prop_map(|v| Typed::Shape(Box::new(v))),
    ]
}

fn encoded() -> impl Strategy<Value = Recipe> {
    let edit = (
        prop_oneof![
            key(),
            Just(Recipe::Int(1)),
            Just(Recipe::Str(b"network".to_vec()))
        ],
        leaf(),
    );
    (typed(), proptest::option::weighted(0.3, edit)).prop_map(|(t, edit)| {
        Recipe::Encoded(Box::new(t), edit.map(|(k, v)| (Box::new(k), Box::new(v))))
    })
}

/// Shapes built by Lua code.
const SOURCES: &[&str] = &[
    // `#t` is 2^40 with 43 entries (bracketed keys go to the hash part).
    "(function() local p = {'return {1, 2, 3, 4, [5] = 5'} \
        for i = 3, 40 do p[#p + 1] = ', [' .. (1 << i) .. '] = 0' end \
        return load(table.concat(p) .. '}')() end)()",
    // Deeper than MAX_DEPTH.
    "(function() local t = {} for i = 1, 300 do t = {t} end return t end)()",
    "(function() local t = {} for i = 1, 300 do t = {x = t, network = t} end return t end)()",
    // Mutual cycle.
    "(function() local a, b = {}, {} a[1] = b b[1] = a a.network = b b.string = a return a end)()",
    "{[math.mininteger] = 1, [math.maxinteger] = 2}",
    "{[math.maxinteger] = 1}",
    "{1, 2, [2^53] = 3}",
    "string.rep('10.0.0.0/24', 1000)",
    "string.rep('\\255', 100)",
    "{network = string.rep('1', 100000)}",
    "setmetatable({network = '10.0.0.0/8'}, {__index = function() touched = 'index' end, \
        __metatable = 'locked'})",
    "setmetatable({}, {__len = function() touched = 'len' return 3 end, \
        __index = function(_, k) touched = 'index' return k end})",
    "coroutine.running()",
    "utf8.char(0x10FFFF)",
    "'\\0'",
    "{'\\0', ''}",
];

fn top_level() -> impl Strategy<Value = Recipe> {
    let nested = prop_oneof![2 => plausible(leaf().boxed()).boxed(), 1 => recipe().boxed()].boxed();
    prop_oneof![
        8 => encoded(),
        6 => plausible(nested),
        6 => recipe(),
        1 => Just(Recipe::Error),
        2 => proptest::sample::select(SOURCES).prop_map(Recipe::Source),
    ]
}

// ---------------------------------------------------------------- building

/// Metamethods that record that they ran, then raise an error.
const TRAP: &str = r#"
    local function trap(what) return function() touched = what; error("metamethod " .. what .. " ran") end end
    trap_mt = {__name = "trapped"}
    for _, m in ipairs({"__index", "__newindex", "__len", "__pairs", "__call", "__eq", "__lt",
                        "__le", "__concat", "__tostring", "__unm", "__add", "__close"}) do
        trap_mt[m] = trap(m)
    end
"#;

fn build(lua: &Lua, recipe: &Recipe) -> Value {
    match recipe {
        Recipe::Nil => Value::Nil,
        Recipe::Bool(b) => Value::Boolean(*b),
        Recipe::Int(i) => Value::Integer(*i),
        Recipe::Float(f) => Value::Number(*f),
        Recipe::Str(bytes) => Value::String(lua.create_string(bytes).unwrap()),
        Recipe::Function => Value::Function(lua.load("return 1").into_function().unwrap()),
        Recipe::Thread => {
            let f = lua
                .load("coroutine.yield(1) return 2")
                .into_function()
                .unwrap();
            Value::Thread(lua.create_thread(f).unwrap())
        }
        Recipe::LightUserData => Value::LightUserData(LightUserData(std::ptr::dangling_mut())),
        Recipe::UserData => Value::UserData(lua.create_any_userdata(42u64).unwrap()),
        Recipe::Source(src) => lua.load(*src).eval::<Value>().unwrap(),
        Recipe::Encoded(typed, edit) => {
            let v = typed.encode(lua);
            if let (Value::Table(t), Some((k, val))) = (&v, edit) {
                let _ = t.raw_set(build(lua, k), build(lua, val));
            }
            v
        }
        Recipe::Error => Value::Error(Box::new(frrhook_codec::mlua::Error::RuntimeError(
            "boom".into(),
        ))),
        Recipe::Table {
            seq,
            pairs,
            cycles,
            trapped,
        } => {
            let t: Table = lua.create_table().unwrap();
            for (i, v) in seq.iter().enumerate() {
                t.raw_set(i as i64 + 1, build(lua, v)).unwrap();
            }
            for (k, v) in pairs {
                // Nil and NaN keys cannot be set; that is fine.
                let _ = t.raw_set(build(lua, k), build(lua, v));
            }
            for k in cycles {
                let _ = t.raw_set(build(lua, k), t.clone());
            }
            if *trapped {
                t.set_metatable(Some(lua.globals().get::<Table>("trap_mt").unwrap()))
                    .unwrap();
            }
            Value::Table(t)
        }
    }
}

// ---------------------------------------------------------------- checks

/// The raw-stack fast paths on `v`: `decode_raw`, `prepare_update_raw` applied to a copy
/// of `seed`, and `raw_eq(seed)`.
fn fast_paths<T: LuaDecode + Clone>(
    lua: &Lua,
    v: &Value,
    seed: &T,
) -> (Option<T>, Option<T>, bool) {
    lua.exec_raw_lua(|raw| {
        // SAFETY: `raw.state()` is `lua`'s current stack and no memory limit is set; the
        // value pushed is popped again.
        unsafe {
            let state = raw.state();
            raw.push_value(v).unwrap();
            let idx = ffi::lua_gettop(state);
            let cx = RawCx::new(lua, state);
            let decoded = T::decode_raw(&cx, idx);
            let prepared = seed.prepare_update_raw(&cx, idx).map(|u| {
                let mut x = seed.clone();
                x.apply_update(u);
                x
            });
            let eq = seed.raw_eq(&cx, idx);
            assert_eq!(
                ffi::lua_gettop(state),
                idx,
                "a fast path left the stack changed"
            );
            ffi::lua_settop(state, idx - 1);
            (decoded, prepared, eq)
        }
    })
}

/// The fast paths agree with `decode` and `decode_into` whenever they answer.
fn check_fast_paths<T: LuaDecode + Clone + Debug>(
    lua: &Lua,
    v: &Value,
    seed: &T,
    same: impl Fn(&T, &T) -> bool,
) {
    let (fast, prepared, eq) = fast_paths(lua, v, seed);
    let slow = T::decode(v);
    if let Some(f) = &fast {
        assert!(
            matches!(&slow, Ok(s) if same(s, f)),
            "decode_raw gave {f:?}, decode gave {slow:?}"
        );
    }
    if let Some(p) = &prepared {
        let mut x = seed.clone();
        let r = x.decode_into(v);
        assert!(
            r.is_ok() && same(&x, p),
            "prepare_update_raw gave {p:?}, decode_into gave {r:?} / {x:?}"
        );
    }
    if eq {
        let mut x = seed.clone();
        let r = x.decode_into(v);
        assert!(
            r.is_ok() && same(&x, seed),
            "raw_eq said unchanged, decode_into gave {r:?} / {x:?}"
        );
    }
}

/// Decodes `v` into `T` both ways and checks the contract; on success, checks that the
/// value encodes and decodes back to itself (with `same` as equality).
fn check_with<T: LuaEncode + LuaDecode<Update = T> + Clone + Debug>(
    lua: &Lua,
    v: &Value,
    seed: T,
    same: impl Fn(&T, &T) -> bool,
    round_trip: impl Fn(&T) -> bool,
) {
    check_fast_paths(lua, v, &seed, &same);
    let decoded = T::decode(v);
    let mut x = seed.clone();
    match (x.decode_into(v), decoded) {
        (Err(e_into), Err(e)) => {
            assert!(
                same(&x, &seed),
                "decode_into changed the value on error: {x:?} vs {seed:?}"
            );
            assert_eq!(e_into, e, "decode_into and decode disagree");
            assert!(!e.to_string().is_empty());
        }
        (Ok(()), Ok(d)) => {
            assert!(same(&x, &d), "decode_into set {x:?}, decode returned {d:?}");
            // apply_update returns the inverse.
            let mut y = seed.clone();
            let undo = y.apply_update(d.clone());
            assert!(same(&y, &d) && same(&undo, &seed));
            if round_trip(&d) {
                let enc = d
                    .encode(lua)
                    .unwrap_or_else(|e| panic!("{d:?} decoded but does not encode: {e}"));
                let back =
                    T::decode(&enc).unwrap_or_else(|e| panic!("{d:?} does not decode back: {e}"));
                assert!(same(&back, &d), "round trip: {d:?} came back as {back:?}");
            }
        }
        (a, b) => panic!("decode_into gave {a:?} but decode gave {b:?}"),
    }
}

fn check<T: LuaEncode + LuaDecode<Update = T> + Clone + Debug + PartialEq>(
    lua: &Lua,
    v: &Value,
    seed: T,
) {
    check_with(lua, v, seed, T::eq, |_| true);
}

/// Integers wider than a Lua integer decode from exact floats (2^63 into a `u64`) but
/// only encode within i64: round-trip those within i64.
fn check_wide<T: LuaEncode + LuaDecode<Update = T> + Clone + Debug + PartialEq + TryInto<i64>>(
    lua: &Lua,
    v: &Value,
    seed: T,
) {
    check_with(lua, v, seed, T::eq, |d| d.clone().try_into().is_ok());
}

/// For float-bearing types: NaN == NaN by bits.
fn check_dbg<T: LuaEncode + LuaDecode<Update = T> + Clone + Debug>(lua: &Lua, v: &Value, seed: T) {
    check_with(
        lua,
        v,
        seed,
        |a, b| format!("{a:?}") == format!("{b:?}"),
        |_| true,
    );
}

/// `Box<T>` updates through `T`, so it has its own check.
fn check_box(v: &Value) {
    let mut b = Box::new(5u16);
    match (b.decode_into(v), Box::<u16>::decode(v), u16::decode(v)) {
        (Err(e1), Err(e2), Err(e3)) => {
            assert_eq!(*b, 5);
            assert!(e1 == e2 && e2 == e3);
        }
        (Ok(()), Ok(d), Ok(u)) => assert!(*b == *d && *d == u),
        other => panic!("Box<u16> and u16 disagree: {other:?}"),
    }
}

/// A derived struct with every kind of field the derive's fast paths handle, and some
/// they hand to the slow path (`IpNet`, a data enum).
#[derive(Debug, Clone, PartialEq, LuaCodec)]
#[lua(crate = "frrhook_codec")]
struct Shape {
    n: u32,
    s: String,
    flag: bool,
    opt: Option<i64>,
    list: Vec<String>,
    addr: Option<IpAddr>,
    #[lua(default)]
    tags: Vec<u8>,
    kind: Kind,
    code: Code,
    inner: Option<Box<Shape>>,
    net: Option<IpNet>,
    #[lua(skip)]
    hidden: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, LuaCodec)]
#[lua(crate = "frrhook_codec", rename_all = "lowercase")]
enum Kind {
    Igp,
    Egp,
}

#[derive(Debug, Clone, Copy, PartialEq, LuaCodec)]
#[lua(crate = "frrhook_codec", repr = "integer")]
enum Code {
    A = 1,
    B = 3,
}

fn shape_leaf() -> impl Strategy<Value = Shape> {
    use proptest::collection::vec;
    let s = || "[a-z0-9:. ]{0,6}";
    (
        any::<u32>(),
        s(),
        any::<bool>(),
        any::<Option<i64>>(),
        vec(s(), 0..3),
        any::<Option<IpAddr>>(),
        vec(any::<u8>(), 0..3),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(ipnet()),
    )
        .prop_map(
            |(n, s, flag, opt, list, addr, tags, kind, code, net)| Shape {
                n,
                s,
                flag,
                opt,
                list,
                addr,
                tags,
                kind: if kind { Kind::Igp } else { Kind::Egp },
                code: if code { Code::A } else { Code::B },
                inner: None,
                net,
                hidden: 0,
            },
        )
}

fn shape_value() -> impl Strategy<Value = Shape> {
    (shape_leaf(), proptest::option::of(shape_leaf())).prop_map(|(mut outer, inner)| {
        outer.inner = inner.map(Box::new);
        outer
    })
}

fn shape() -> Shape {
    Shape {
        n: 1,
        s: "s".into(),
        flag: true,
        opt: None,
        list: vec!["a".into()],
        addr: None,
        tags: vec![],
        kind: Kind::Igp,
        code: Code::A,
        inner: None,
        net: None,
        hidden: 9,
    }
}

fn decode_everything(lua: &Lua, v: &Value) {
    check_fast_paths(lua, v, &shape(), Shape::eq);
    check_fast_paths(lua, v, &Kind::Egp, Kind::eq);
    check_fast_paths(lua, v, &Code::B, Code::eq);
    let net4: Ipv4Net = "192.0.2.0/24".parse().unwrap();
    let net6: Ipv6Net = "2001:db8::/32".parse().unwrap();

    check(lua, v, 7i8);
    check(lua, v, 7i16);
    check(lua, v, 7i32);
    check(lua, v, 7i64);
    check(lua, v, 7isize);
    check(lua, v, 7u8);
    check(lua, v, 7u16);
    check(lua, v, 7u32);
    check_wide(lua, v, 7u64);
    check_wide(lua, v, 7usize);
    check_wide(lua, v, 7i128);
    check_wide(lua, v, 7u128);
    check_dbg(lua, v, 0.5f32);
    check_dbg(lua, v, 0.5f64);
    check(lua, v, true);
    check(lua, v, String::from("seed"));
    check(lua, v, 'z');
    check(lua, v, ());
    // Duration: float seconds lose nanoseconds on the way back, so no round trip.
    check_with(lua, v, Duration::from_secs(9), Duration::eq, |_| false);
    check(lua, v, Some(1u8));
    check(lua, v, None::<String>);
    check_dbg(lua, v, Some(1.0f64));
    check_box(v);
    check(lua, v, std::rc::Rc::new(String::from("rc")));
    check(lua, v, std::sync::Arc::new(7u16));
    check(lua, v, vec![1u8]);
    check(lua, v, vec![String::from("s")]);
    check(lua, v, Vec::<Option<i32>>::new());
    check(lua, v, vec![vec![true]]);
    check(lua, v, VecDeque::from([1u32]));
    check(lua, v, BTreeSet::from([1i64]));
    check(lua, v, HashSet::from([String::from("h")]));
    check(lua, v, [1u8, 2]);
    check(lua, v, [Some(1u8); 3]);
    check(lua, v, [0u32; 0]);
    check(lua, v, [vec![1i8], vec![]]);
    check(lua, v, BTreeMap::from([(String::from("k"), 1u32)]));
    check(lua, v, BTreeMap::from([(1u8, String::from("v"))]));
    check(lua, v, BTreeMap::from([(-1i64, vec![Some(true)])]));
    check(lua, v, HashMap::from([(String::from("k"), net4)]));
    check(lua, v, HashMap::<u32, (String, Option<IpNet>)>::new());
    check(lua, v, BTreeMap::<Ipv4Addr, u8>::new());
    check(lua, v, (1u8,));
    check(lua, v, (1u8, String::from("t")));
    check(lua, v, (None::<u8>, 2i64, true));
    check(lua, v, (1u8, 2u8, 3u8, 4u8, 5u8, 6u8, 7u8, Some(8u8)));
    check(lua, v, Ipv4Addr::LOCALHOST);
    check(lua, v, Ipv6Addr::LOCALHOST);
    check(lua, v, IpAddr::from(Ipv4Addr::LOCALHOST));
    check(lua, v, IpNet::V4(net4));
    check(lua, v, net4);
    check(lua, v, net6);
    check(lua, v, InAddr(Ipv4Addr::LOCALHOST));
    check(lua, v, In6Addr(Ipv6Addr::LOCALHOST));
    check(
        lua,
        v,
        vec![None, Some(BTreeMap::from([(String::from("k"), vec![1u8])]))],
    );
    check(lua, v, Some(vec![InAddr(Ipv4Addr::LOCALHOST)]));
    check(
        lua,
        v,
        BTreeMap::<String, BTreeMap<String, Vec<IpNet>>>::new(),
    );
    check(lua, v, vec![(String::from("a"), [Some(1u16), None])]);
    check(lua, v, HashMap::<String, Vec<(u8, Option<Ipv6Net>)>>::new());
}

proptest! {
    #[test]
    fn decoding_arbitrary_lua_values_never_panics(recipe in top_level()) {
        let lua = Lua::new();
        lua.load(TRAP).exec().unwrap();
        let v = build(&lua, &recipe);
        decode_everything(&lua, &v);
        // Decoding never ran a metamethod.
        let touched = lua.globals().get::<Value>("touched").unwrap();
        prop_assert!(matches!(touched, Value::Nil), "a metamethod ran: {:?}", touched);
        // Values nested one level down, as a decoder of a container would see them.
        if let Value::Table(t) = &v {
            for pair in t.pairs::<Value, Value>() {
                let (k, inner) = pair.unwrap();
                decode_everything(&lua, &k);
                decode_everything(&lua, &inner);
            }
        }
        let touched = lua.globals().get::<Value>("touched").unwrap();
        prop_assert!(matches!(touched, Value::Nil), "a metamethod ran: {:?}", touched);
    }
}

// ---------------------------------------------------------------- shapes snapshot

/// Renders a Lua value deterministically: table keys sorted (integers, then strings),
/// one entry per line.
fn render(v: &Value, indent: usize) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => format!("{n:?} --[[float]]"),
        Value::String(s) => format!("{:?}", String::from_utf8_lossy(&s.as_bytes())),
        Value::Table(t) => {
            let mut entries: Vec<(Value, Value)> =
                t.pairs::<Value, Value>().map(Result::unwrap).collect();
            entries.sort_by(|(a, _), (b, _)| match (a, b) {
                (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
                (Value::Integer(_), _) => std::cmp::Ordering::Less,
                (_, Value::Integer(_)) => std::cmp::Ordering::Greater,
                (Value::String(x), Value::String(y)) => x.as_bytes().cmp(&y.as_bytes()),
                _ => std::cmp::Ordering::Equal,
            });
            if entries.is_empty() {
                return "{}".into();
            }
            let pad = "  ".repeat(indent + 1);
            let mut out = String::from("{\n");
            for (k, val) in entries {
                let key = match &k {
                    Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                    other => format!("[{}]", render(other, 0)),
                };
                out.push_str(&format!("{pad}{key} = {},\n", render(&val, indent + 1)));
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
            out
        }
        other => format!("<{}>", other.type_name()),
    }
}

#[test]
fn encoded_shapes() {
    let lua = Lua::new();
    let mut out = String::new();
    let mut show =
        |name: &str, v: Value| out.push_str(&format!("-- {name}\n{}\n\n", render(&v, 0)));
    show(
        "IpNet 10.0.0.0/24",
        "10.0.0.0/24"
            .parse::<IpNet>()
            .unwrap()
            .encode(&lua)
            .unwrap(),
    );
    show(
        "Ipv6Net 2001:db8::/32",
        "2001:db8::/32"
            .parse::<Ipv6Net>()
            .unwrap()
            .encode(&lua)
            .unwrap(),
    );
    show(
        "InAddr 1.2.3.4",
        InAddr(Ipv4Addr::new(1, 2, 3, 4)).encode(&lua).unwrap(),
    );
    show(
        "In6Addr 2001:db8::1",
        In6Addr("2001:db8::1".parse().unwrap())
            .encode(&lua)
            .unwrap(),
    );
    show(
        "Ipv4Addr 10.0.0.1",
        Ipv4Addr::new(10, 0, 0, 1).encode(&lua).unwrap(),
    );
    show(
        "Vec<Option<u8>> [Some(1), None, Some(3)]",
        vec![Some(1u8), None, Some(3)].encode(&lua).unwrap(),
    );
    show(
        "BTreeMap<String, Vec<String>>",
        BTreeMap::from([(
            String::from("communities"),
            vec![String::from("65000:1"), String::from("65000:2")],
        )])
        .encode(&lua)
        .unwrap(),
    );
    show(
        "(u8, String, bool)",
        (1u8, String::from("x"), true).encode(&lua).unwrap(),
    );
    show(
        "Duration 1.5s",
        Duration::from_millis(1500).encode(&lua).unwrap(),
    );
    insta::assert_snapshot!(out);
}

/// The fast paths do answer for the shapes hooks return (so the property above is not
/// vacuous): a derived struct with nested fields, and one with an unchanged field.
#[test]
fn fast_paths_answer_for_encoded_values() {
    let lua = Lua::new();
    let mut value = shape();
    value.addr = Some(IpAddr::from(Ipv4Addr::LOCALHOST));
    value.inner = Some(Box::new(shape()));
    value.net = Some("10.0.0.0/8".parse().unwrap());
    let v = value.encode(&lua).unwrap();
    let (decoded, prepared, eq) = fast_paths(&lua, &v, &value);
    // Skipped fields decode as their default.
    let mut expected = value.clone();
    expected.hidden = 0;
    if let Some(inner) = &mut expected.inner {
        inner.hidden = 0;
    }
    assert_eq!(decoded, Some(expected.clone()));
    // An update keeps the outer skipped field; `Option` fields are replaced whole.
    expected.hidden = value.hidden;
    assert_eq!(prepared, Some(expected));
    // Pointers encode as what they point to, lazily too.
    assert!(std::rc::Rc::new(shape()).lazy_source().is_some());
    assert!(std::sync::Arc::new(shape()).lazy_source().is_some());
    assert!(std::rc::Rc::new(7u8).lazy_source().is_none());
    assert_eq!(
        <std::rc::Rc<Shape> as LuaEncode>::lua_type(&mut Default::default()),
        <Shape as LuaEncode>::lua_type(&mut Default::default())
    );
    // `raw_eq` is conservative for structs (the default: unsure).
    assert!(!eq);
    // Unchanged fields: `raw_eq` answers for what it knows.
    let (_, _, eq) = fast_paths(&lua, &Value::Integer(7), &7u32);
    assert!(eq);
    let list = vec!["a".to_string(), "b".to_string()];
    let (_, _, eq) = fast_paths(&lua, &list.encode(&lua).unwrap(), &list);
    assert!(eq);
}
