//! The raw-stack fast path (`push_raw`) builds exactly what `encode` builds.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use frrhook_codec::LuaEncode;
use frrhook_codec::frr::InAddr;
use frrhook_codec::mlua::{Lua, Table, Value};
use frrhook_codec::raw::RawCx;
use ipnet::IpNet;
use proptest::prelude::*;

/// Renders a Lua value deterministically (sorted keys).
fn render(v: &Value) -> String {
    match v {
        Value::Table(t) => {
            let mut items: Vec<(String, String)> = t
                .pairs::<Value, Value>()
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    (render(&k), render(&v))
                })
                .collect();
            items.sort();
            let inner: Vec<String> = items
                .into_iter()
                .map(|(k, v)| format!("[{k}]={v}"))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::String(s) => format!("{:?}", s.to_string_lossy()),
        Value::Integer(i) => format!("i{i}"),
        Value::Number(n) => format!("n{n:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Nil => "nil".into(),
        other => other.type_name().to_string(),
    }
}

/// Runs `f` with a context on the stack of a fresh Lua state.
fn on_stack(f: impl FnOnce(&RawCx<'_>)) {
    let lua = Lua::new();
    lua.exec_raw_lua(|raw| {
        // SAFETY: `raw.state()` is the current stack of `lua`; no memory limit is set.
        let cx = unsafe { RawCx::new(&lua, raw.state()) };
        f(&cx);
    });
}

/// Pushes `value` with `push_raw` and reads it back as an mlua value.
fn pushed<T: LuaEncode + ?Sized>(lua: &Lua, value: &T) -> Value {
    lua.exec_raw_lua(|raw| {
        let before = unsafe { frrhook_codec::mlua::ffi::lua_gettop(raw.state()) };
        // SAFETY: the current stack of `lua`, no memory limit set.
        let cx = unsafe { RawCx::new(lua, raw.state()) };
        value.push_raw(&cx).unwrap();
        let after = unsafe { frrhook_codec::mlua::ffi::lua_gettop(raw.state()) };
        assert_eq!(after, before + 1, "push_raw pushes exactly one value");
        unsafe { raw.pop_value() }
    })
}

fn same<T: LuaEncode + ?Sized>(lua: &Lua, value: &T) {
    assert_eq!(
        render(&pushed(lua, value)),
        render(&value.encode(lua).unwrap())
    );
}

#[test]
fn fixed_values() {
    let lua = Lua::new();
    same(&lua, &0u8);
    same(&lua, &u32::MAX);
    same(&lua, &i64::MIN);
    same(&lua, &-1.5f64);
    same(&lua, &f64::NAN.is_nan());
    same(&lua, &true);
    same(&lua, "text");
    same(&lua, &String::from("\u{e9}t\u{e9}"));
    same(&lua, &Some(3u16));
    same(&lua, &None::<u16>);
    same(&lua, &vec!["a".to_string(), "b".to_string()]);
    same(&lua, &[1u8, 2, 3]);
    same(&lua, &Vec::<u8>::new());
    same(&lua, &"10.0.0.0/24".parse::<IpNet>().unwrap());
    same(&lua, &"2001:db8::1/64".parse::<IpNet>().unwrap());
    same(&lua, &Ipv4Addr::new(192, 0, 2, 1));
    same(&lua, &"2001:db8::1".parse::<Ipv6Addr>().unwrap());
    same(&lua, &IpAddr::from(Ipv4Addr::LOCALHOST));
    same(&lua, &InAddr(Ipv4Addr::new(10, 1, 2, 3)));
    let mut m = BTreeMap::new();
    m.insert("k".to_string(), vec![1u32]);
    same(&lua, &m);
    same(&lua, &(1u8, "two".to_string()));
}

#[derive(frrhook_codec::LuaCodec)]
#[lua(crate = "frrhook_codec")]
enum Origin {
    Igp,
    Incomplete,
}

#[derive(frrhook_codec::LuaCodec)]
#[lua(crate = "frrhook_codec", repr = "integer")]
enum Code {
    A = 3,
}

#[derive(frrhook_codec::LuaCodec)]
#[lua(crate = "frrhook_codec")]
struct Asn(u32);

#[derive(frrhook_codec::LuaCodec)]
#[lua(crate = "frrhook_codec")]
enum Tagged {
    Plain,
    Data { x: u8 },
}

#[derive(frrhook_codec::LuaCodec)]
#[lua(crate = "frrhook_codec")]
struct Route {
    prefix: IpNet,
    #[lua(rename = "local-pref")]
    localpref: u32,
    med: Option<u32>,
    communities: Vec<String>,
    origin: Origin,
    code: Code,
    asn: Asn,
    tagged: Tagged,
    #[lua(skip)]
    _hidden: u8,
    nexthop: InAddr,
}

#[test]
fn derived_types() {
    let lua = Lua::new();
    for med in [None, Some(5)] {
        let r = Route {
            prefix: "10.1.0.0/16".parse().unwrap(),
            localpref: 100,
            med,
            communities: vec!["65000:1".into()],
            origin: if med.is_some() {
                Origin::Igp
            } else {
                Origin::Incomplete
            },
            code: Code::A,
            asn: Asn(65001),
            tagged: if med.is_some() {
                Tagged::Plain
            } else {
                Tagged::Data { x: 1 }
            },
            _hidden: 7,
            nexthop: InAddr(Ipv4Addr::new(192, 0, 2, 1)),
        };
        same(&lua, &r);
    }
}

#[test]
fn a_failing_encoder_pushes_nothing() {
    let lua = Lua::new();
    let v = vec![1u64, u64::MAX];
    lua.exec_raw_lua(|raw| {
        let before = unsafe { frrhook_codec::mlua::ffi::lua_gettop(raw.state()) };
        let cx = unsafe { RawCx::new(&lua, raw.state()) };
        assert!(v.push_raw(&cx).is_err());
        assert_eq!(
            unsafe { frrhook_codec::mlua::ffi::lua_gettop(raw.state()) },
            before
        );
    });
}

proptest! {
    #[test]
    fn prefixes_and_addresses(a in any::<u32>(), len in 0u8..=32, b in any::<u128>(), len6 in 0u8..=128) {
        let lua = Lua::new();
        let v4 = IpNet::new(IpAddr::from(Ipv4Addr::from(a)), len).unwrap();
        let v6 = IpNet::new(IpAddr::from(Ipv6Addr::from(b)), len6).unwrap();
        same(&lua, &v4);
        same(&lua, &v6);
        same(&lua, &InAddr(Ipv4Addr::from(a)));
        same(&lua, &vec![v4, v6]);
    }
}

/// The readers of `RawCx` are safe API: an index outside the stack reads nothing.
#[test]
fn readers_refuse_indices_outside_the_stack() {
    on_stack(|cx| {
        cx.push_integer(5).unwrap();
        cx.push_bytes(b"igp").unwrap();
        for idx in [0, 3, 50_000, -3, -50_000, i32::MIN] {
            assert_eq!(
                cx.type_at(idx),
                frrhook_codec::mlua::ffi::LUA_TNONE,
                "{idx}"
            );
            assert!(cx.is_nil(idx));
            assert_eq!(cx.exact_integer_at(idx), None);
            assert_eq!(cx.integer_at(idx), None);
            assert!(!cx.bytes_eq(idx, b"igp"));
            assert_eq!(cx.string_at(idx), None);
            assert!(!cx.is_plain_table(idx));
            assert_eq!(cx.push_field(idx, c"x"), None);
            assert_eq!(cx.push_index(idx, 1), None);
            assert!(!cx.for_each_entry(idx, |_, _, _| true));
            assert!(cx.value_at(idx).is_err());
        }
        // The slots that exist, by either kind of index.
        assert_eq!(cx.exact_integer_at(1), Some(5));
        assert_eq!(cx.exact_integer_at(-2), Some(5));
        assert!(cx.bytes_eq(-1, b"igp"));
        assert_eq!(cx.bytes_index(2, &[b"egp", b"igp"]), Some(1));
        assert_eq!(cx.string_at(2).as_deref(), Some("igp"));
        assert_eq!(cx.parse_at::<u8>(1), None, "a number is not read as text");
        // Popping more than there is empties the stack, no further.
        cx.pop(10);
        assert_eq!(cx.type_at(1), frrhook_codec::mlua::ffi::LUA_TNONE);
    });
}

/// An encoder that breaks the one-value rule, written without `unsafe`.
struct Silent;
impl LuaEncode for Silent {
    fn encode(&self, _: &Lua) -> frrhook_codec::mlua::Result<Value> {
        Ok(Value::Nil)
    }
    fn push_raw(&self, _: &RawCx<'_>) -> frrhook_codec::mlua::Result<()> {
        Ok(()) // pushes nothing
    }
}

/// A table "presized" for more elements than exist.
struct Huge;
impl LuaEncode for Huge {
    fn encode(&self, _: &Lua) -> frrhook_codec::mlua::Result<Value> {
        Ok(Value::Nil)
    }
    fn push_raw(&self, cx: &RawCx<'_>) -> frrhook_codec::mlua::Result<()> {
        cx.push_table(usize::MAX, usize::MAX, |_| Ok(()))
    }
}

/// Safe code that misuses `RawCx` gets an error, never a Lua API violation or an abort.
#[test]
fn misbehaving_encoders_and_callbacks_are_errors() {
    on_stack(|cx| {
        let top = cx.integer_at(-1); // nothing there yet
        assert_eq!(top, None);
        // A sequence element that pushed nothing.
        assert!(vec![Silent, Silent].push_raw(cx).is_err());
        assert_eq!(
            cx.type_at(1),
            frrhook_codec::mlua::ffi::LUA_TNONE,
            "nothing left pushed"
        );
        // A presize hint near `c_int::MAX` is only a hint.
        Huge.push_raw(cx).unwrap();
        cx.pop(1);
        // A NaN key would make Lua raise (a longjmp through Rust frames): refused.
        let nan_key = cx.push_table(0, 1, |t| {
            t.cx().push_number(f64::NAN)?;
            t.cx().push_integer(1)?;
            t.set_pair()
        });
        assert!(nan_key.is_err());
        assert_eq!(
            cx.type_at(1),
            frrhook_codec::mlua::ffi::LUA_TNONE,
            "nothing left pushed"
        );
        // A walk's callback cannot pop its key, its value or the table: `pop` stops
        // at them, and the walk goes on.
        vec![1u8, 2, 3].push_raw(cx).unwrap();
        let mut seen = 0;
        let complete = cx.for_each_entry(-1, |cx, key, value| {
            seen += 1;
            cx.pop(1000);
            assert_eq!(cx.exact_integer_at(key), Some(seen));
            assert_eq!(cx.exact_integer_at(value), Some(seen));
            // Nor replace them: what it pushes goes above.
            cx.push_integer(999).unwrap();
            cx.push_integer(1).unwrap();
            true
        });
        assert!(complete);
        assert_eq!(seen, 3);
        cx.pop(1000);
        assert_eq!(cx.type_at(1), frrhook_codec::mlua::ffi::LUA_TNONE);
        // The same inside a table being filled: the table stays.
        cx.push_table(0, 1, |t| {
            t.cx().pop(1000);
            t.cx().push_integer(5)?;
            t.set(c"x")
        })
        .unwrap();
        assert!(cx.is_plain_table(1));
        cx.pop(1);

        // Field lookups: each named key with a value, in the order asked, nil ones
        // skipped, keys naming nothing never visited; the stack is left as it was.
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("b".to_string(), 2i64);
        fields.insert("a".to_string(), 1);
        fields.insert("other".to_string(), 9);
        fields.push_raw(cx).unwrap();
        let mut visits = Vec::new();
        let complete = cx.for_each_field(1, &[c"a", c"missing", c"b"], |cx, i, at| {
            visits.push((i, cx.exact_integer_at(at)));
            cx.push_integer(7).unwrap(); // popped after the callback
            true
        });
        assert!(complete);
        assert_eq!(visits, [(0, Some(1)), (2, Some(2))]);
        assert_eq!(cx.type_at(2), frrhook_codec::mlua::ffi::LUA_TNONE);
        // Stopped by the callback; one that pops all it can pops only what it pushed.
        let mut seen = 0;
        assert!(!cx.for_each_field(1, &[c"a", c"b"], |_, _, _| {
            seen += 1;
            false
        }));
        assert_eq!(seen, 1);
        let mut seen = 0;
        assert!(cx.for_each_field(-1, &[c"a", c"b"], |cx, _, at| {
            seen += 1;
            cx.pop(1000);
            cx.push_integer(999).unwrap();
            assert!(cx.exact_integer_at(at).is_some_and(|v| v != 999));
            true
        }));
        assert_eq!(seen, 2);
        assert!(cx.is_plain_table(1));
        cx.pop(1);
        assert_eq!(cx.type_at(1), frrhook_codec::mlua::ffi::LUA_TNONE);
        // Not a table, or no such slot: nothing visited.
        cx.push_integer(3).unwrap();
        assert!(!cx.for_each_field(1, &[c"a"], |_, _, _| unreachable!()));
        assert!(!cx.for_each_field(5, &[c"a"], |_, _, _| unreachable!()));
        cx.pop(1);
    });
}

/// An encoder that pops everything it can, then pushes its value.
struct Greedy;
impl LuaEncode for Greedy {
    fn encode(&self, _: &Lua) -> frrhook_codec::mlua::Result<Value> {
        Ok(Value::Integer(1))
    }
    fn push_raw(&self, cx: &RawCx<'_>) -> frrhook_codec::mlua::Result<()> {
        cx.pop(1000);
        cx.push_integer(1)
    }
}

#[test]
fn an_encoder_cannot_pop_the_table_it_is_set_in() {
    on_stack(|cx| {
        cx.push_integer(42).unwrap();
        // As a field, as a sequence item, nested: each `pop` stops at its own table.
        vec![Greedy, Greedy].push_raw(cx).unwrap();
        cx.push_table(0, 2, |t| {
            t.field(c"a", &Greedy)?;
            t.field(c"b", &vec![Greedy])
        })
        .unwrap();
        assert_eq!(
            cx.exact_integer_at(1),
            Some(42),
            "below the tables: untouched"
        );
        assert!(cx.is_plain_table(2) && cx.is_plain_table(3));
        let v = cx.value_at(3).unwrap();
        let t = v.as_table().unwrap();
        assert_eq!(t.get::<i64>("a").unwrap(), 1);
        assert_eq!(t.get::<Vec<i64>>("b").unwrap(), vec![1]);
        cx.pop(3);
    });
}

#[test]
fn a_context_pops_nothing_that_was_on_the_stack_before_it() {
    let lua = Lua::new();
    lua.exec_raw_lua(|raw| {
        // SAFETY: `raw.state()` is the current stack of `lua`; no memory limit is set.
        let outer = unsafe { RawCx::new(&lua, raw.state()) };
        outer.push_integer(7).unwrap();
        // A context made on top of the caller's value (as the runtime makes one above
        // the function it calls): its encoders cannot pop that value.
        // SAFETY: as above.
        let cx = unsafe { RawCx::new(&lua, raw.state()) };
        cx.push_integer(1).unwrap();
        cx.pop(1000);
        assert_eq!(cx.exact_integer_at(1), Some(7));
        assert_eq!(cx.type_at(2), frrhook_codec::mlua::ffi::LUA_TNONE);
        outer.pop(1);
        assert_eq!(outer.type_at(1), frrhook_codec::mlua::ffi::LUA_TNONE);
    });
}

/// Pops all it can, then pushes a nil and a value: what a key and a value would look
/// like, if it could pop the key a `field_bytes` pushed before it.
struct KeyThief;
impl LuaEncode for KeyThief {
    fn encode(&self, _: &Lua) -> frrhook_codec::mlua::Result<Value> {
        Ok(Value::Integer(1))
    }
    fn push_raw(&self, cx: &RawCx<'_>) -> frrhook_codec::mlua::Result<()> {
        cx.pop(1);
        cx.push_nil()?;
        cx.push_integer(1)
    }
}

#[test]
fn callbacks_that_reach_for_outer_slots_get_errors_not_crashes() {
    // Each case made Lua raise outside a protected call (an abort) before the checks.
    on_stack(|cx| {
        // An outer table set from inside an inner table's fill: refused.
        let r = cx.push_table(0, 1, |outer| {
            outer.cx().push_table(0, 1, |inner| {
                outer.cx().push_integer(1)?;
                assert!(
                    outer.set(c"x").is_err(),
                    "the outer table is not settable now"
                );
                inner.cx().push_integer(2)?;
                inner.set(c"y")
            })?;
            outer.set(c"inner")
        });
        assert!(r.is_ok());
        let t = cx.value_at(1).unwrap();
        let t = t.as_table().unwrap();
        assert_eq!(t.get::<Table>("inner").unwrap().get::<i64>("y").unwrap(), 2);
        cx.pop(1);
        // An encoder of `field_bytes` cannot pop the key it is the value of.
        let r = cx.push_table(0, 1, |t| t.field_bytes(b"k", &KeyThief));
        assert!(r.is_err(), "two values pushed: refused");
        assert_eq!(cx.type_at(1), frrhook_codec::mlua::ffi::LUA_TNONE);
        // A walk whose callback removes the current key through an mlua handle stops
        // instead of asking `lua_next` for a key the table no longer has.
        let mut m = std::collections::BTreeMap::new();
        for i in 0..10 {
            m.insert(format!("k{i}"), i);
        }
        m.push_raw(cx).unwrap();
        let handle = cx.value_at(1).unwrap();
        let handle = handle.as_table().unwrap().clone();
        let mut seen = 0;
        let complete = cx.for_each_entry(1, |cx, key, _| {
            seen += 1;
            let k = cx.string_at(key).unwrap();
            handle.raw_set(k, Value::Nil).unwrap();
            // A rehash drops the dead key for good.
            for i in 0..64 {
                handle.raw_set(format!("new{i}"), i).unwrap();
            }
            true
        });
        assert!(!complete);
        assert_eq!(seen, 1);
        cx.pop(1);
        drop(handle);
    });
}
