//! FRR's table shapes for types whose Lua form FRR fixed (`lua_pushin_addr` and friends).
//!
//! | FRR (C, `lib/frrlua.c`)                 | frrhook                                  | Lua shape |
//! |-----------------------------------------|------------------------------------------|-----------|
//! | `lua_pushprefix` / `lua_decode_prefix`  | `ipnet::IpNet`, `Ipv4Net`, `Ipv6Net`     | `{network = "10.0.0.0/24", length = 24, family = 2}` |
//! | `lua_pushinaddr` / `lua_decode_inaddr`  | [`InAddr`]                               | `{value = 167772161, string = "10.0.0.1"}` |
//! | `lua_pushin6addr` / `lua_decode_in6addr`| [`In6Addr`]                              | `{string = "2001:db8::1"}` |
//!
//! Plain `std::net` addresses encode as bare strings (`"10.0.0.1"`); wrap them in
//! [`InAddr`] / [`In6Addr`] where a script written for FRR expects the table.
//!
//! Decoding these shapes reads the string field and also accepts a bare string. Fields
//! that FRR's decoders ignore (a prefix's `length` and `family`, an `in_addr`'s `value`)
//! are checked when present: if they disagree with the string, decoding fails instead of
//! silently dropping what the script changed.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use mlua::{Lua, Value};

use crate::impls::table::{expect_table, raw_field};
use crate::{
    ClassDef, ClassKind, DecodeError, DepthGuard, FieldDef, LuaDecode, LuaEncode, LuaType,
    TypeRegistry,
};

/// `AF_INET`, the `family` of an IPv4 prefix (2 on every platform FRR runs on).
///
/// ```
/// use frrhook_codec::{LuaEncode, frr::AF_INET, mlua::{Lua, Table}};
/// let lua = Lua::new();
/// let net: ipnet::IpNet = "10.0.0.0/8".parse().unwrap();
/// let t: Table = lua.unpack(net.encode(&lua).unwrap()).unwrap();
/// assert_eq!(t.get::<i64>("family").unwrap(), AF_INET);
/// ```
pub const AF_INET: i64 = 2;

/// `AF_INET6`, the `family` of an IPv6 prefix: 10, Linux's value, which is what FRR on
/// Linux shows scripts. (BSDs use other numbers; frrhook always uses 10.)
///
/// ```
/// use frrhook_codec::{LuaEncode, frr::AF_INET6, mlua::{Lua, Table}};
/// let lua = Lua::new();
/// let net: ipnet::IpNet = "2001:db8::/32".parse().unwrap();
/// let t: Table = lua.unpack(net.encode(&lua).unwrap()).unwrap();
/// assert_eq!(t.get::<i64>("family").unwrap(), AF_INET6);
/// ```
pub const AF_INET6: i64 = 10;

fn field(name: &str, ty: LuaType, doc: &str) -> FieldDef {
    FieldDef {
        name: name.to_string(),
        ty,
        doc: doc.to_string(),
    }
}

/// Registers the `Prefix` class (FRR's prefix table) and returns `LuaType::Named("Prefix")`.
///
/// Every `ipnet` prefix type uses it; call it from a hand-written `lua_type` whose Lua
/// shape is a prefix table.
///
/// ```
/// use frrhook_codec::{LuaType, TypeRegistry, frr::prefix_type};
/// let mut reg = TypeRegistry::default();
/// assert_eq!(prefix_type(&mut reg), LuaType::Named("Prefix".into()));
/// assert!(reg.get("Prefix").is_some());
/// ```
pub fn prefix_type(registry: &mut TypeRegistry) -> LuaType {
    registry.define("Prefix", |_| ClassDef {
        name: "Prefix".to_string(),
        doc: "An IP prefix in FRR's shape (`lua_pushprefix`). Decoding reads `network`; \
              `length` and `family`, when present, must agree with it."
            .to_string(),
        kind: ClassKind::Class(vec![
            field(
                "network",
                LuaType::String,
                "The prefix as text, such as \"10.0.0.0/24\".",
            ),
            field(
                "length",
                LuaType::Integer,
                "The prefix length, 0..=32 or 0..=128.",
            ),
            field("family", LuaType::Integer, "2 (AF_INET) or 10 (AF_INET6)."),
        ]),
    })
}

/// The `family` of a prefix: [`AF_INET`] or [`AF_INET6`].
pub(crate) fn family_of(net: &IpNet) -> i64 {
    match net {
        IpNet::V4(_) => AF_INET,
        IpNet::V6(_) => AF_INET6,
    }
}

/// An IPv4 address in FRR's `struct in_addr` shape (`lua_pushinaddr`):
/// `{value = <integer>, string = "1.2.3.4"}`.
///
/// `value` is the address as a big-endian number (`1.2.3.4` is `0x01020304`, 16909060),
/// which is the same on every host. **This departs from FRR**, whose `value` is `s_addr`
/// in host byte order (`0x04030201` on x86). Decoding reads `string` (or a bare string);
/// if `value` is also present it must agree with `string`, so a script written for FRR
/// that changes only `value` gets an error instead of a silently ignored change.
///
/// ```
/// use frrhook_codec::{LuaDecode, LuaEncode, frr::InAddr, mlua::Lua};
/// use std::net::Ipv4Addr;
///
/// let lua = Lua::new();
/// let addr = InAddr(Ipv4Addr::new(1, 2, 3, 4));
/// lua.globals().set("a", addr.encode(&lua).unwrap()).unwrap();
/// let (v, s): (i64, String) = lua.load("return a.value, a.string").eval().unwrap();
/// assert_eq!((v, s.as_str()), (0x01020304, "1.2.3.4"));
///
/// let back = InAddr::decode(&lua.load(r#"return {string = "10.0.0.1"}"#).eval().unwrap()).unwrap();
/// assert_eq!(back, InAddr(Ipv4Addr::new(10, 0, 0, 1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InAddr(pub Ipv4Addr);

/// An IPv6 address in FRR's `struct in6_addr` shape (`lua_pushin6addr`):
/// `{string = "2001:db8::1"}`.
///
/// FRR also sets `value` to the 16 raw address bytes; frrhook leaves it out (a binary
/// string is of little use to a script). Decoding reads `string`, as FRR's
/// `lua_decode_in6addr` does, or a bare string; other keys are ignored.
///
/// ```
/// use frrhook_codec::{LuaDecode, LuaEncode, frr::In6Addr, mlua::Lua};
/// use std::net::Ipv6Addr;
///
/// let lua = Lua::new();
/// let addr = In6Addr(Ipv6Addr::LOCALHOST);
/// lua.globals().set("a", addr.encode(&lua).unwrap()).unwrap();
/// let s: String = lua.load("return a.string").eval().unwrap();
/// assert_eq!(s, "::1");
/// let back = In6Addr::decode(&lua.load(r#"return "2001:db8::1""#).eval().unwrap()).unwrap();
/// assert_eq!(back.0, "2001:db8::1".parse::<Ipv6Addr>().unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct In6Addr(pub Ipv6Addr);

impl From<Ipv4Addr> for InAddr {
    /// ```
    /// use frrhook_codec::frr::InAddr;
    /// use std::net::Ipv4Addr;
    /// assert_eq!(InAddr::from(Ipv4Addr::LOCALHOST).0, Ipv4Addr::LOCALHOST);
    /// ```
    fn from(addr: Ipv4Addr) -> Self {
        InAddr(addr)
    }
}

impl From<InAddr> for Ipv4Addr {
    /// ```
    /// use frrhook_codec::frr::InAddr;
    /// use std::net::Ipv4Addr;
    /// assert_eq!(Ipv4Addr::from(InAddr(Ipv4Addr::LOCALHOST)), Ipv4Addr::LOCALHOST);
    /// ```
    fn from(addr: InAddr) -> Self {
        addr.0
    }
}

impl From<Ipv6Addr> for In6Addr {
    /// ```
    /// use frrhook_codec::frr::In6Addr;
    /// use std::net::Ipv6Addr;
    /// assert_eq!(In6Addr::from(Ipv6Addr::LOCALHOST).0, Ipv6Addr::LOCALHOST);
    /// ```
    fn from(addr: Ipv6Addr) -> Self {
        In6Addr(addr)
    }
}

impl From<In6Addr> for Ipv6Addr {
    /// ```
    /// use frrhook_codec::frr::In6Addr;
    /// use std::net::Ipv6Addr;
    /// assert_eq!(Ipv6Addr::from(In6Addr(Ipv6Addr::LOCALHOST)), Ipv6Addr::LOCALHOST);
    /// ```
    fn from(addr: In6Addr) -> Self {
        addr.0
    }
}

impl fmt::Display for InAddr {
    /// Formats the address: `1.2.3.4`.
    ///
    /// ```
    /// use frrhook_codec::frr::InAddr;
    /// assert_eq!(InAddr([1, 2, 3, 4].into()).to_string(), "1.2.3.4");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for In6Addr {
    /// Formats the address: `2001:db8::1`.
    ///
    /// ```
    /// use frrhook_codec::frr::In6Addr;
    /// use std::net::Ipv6Addr;
    /// assert_eq!(In6Addr(Ipv6Addr::LOCALHOST).to_string(), "::1");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn in_addr_type(registry: &mut TypeRegistry) -> LuaType {
    registry.define("InAddr", |_| ClassDef {
        name: "InAddr".to_string(),
        doc: "An IPv4 address in FRR's in_addr shape (`lua_pushinaddr`). Decoding reads \
              `string`; `value`, when present, must agree with it."
            .to_string(),
        kind: ClassKind::Class(vec![
            field(
                "value",
                LuaType::Integer,
                "The address as a big-endian number (1.2.3.4 is 16909060); FRR uses host byte order.",
            ),
            field("string", LuaType::String, "The address as text, such as \"1.2.3.4\"."),
        ]),
    })
}

fn in6_addr_type(registry: &mut TypeRegistry) -> LuaType {
    registry.define("In6Addr", |_| ClassDef {
        name: "In6Addr".to_string(),
        doc:
            "An IPv6 address in FRR's in6_addr shape (`lua_pushin6addr`). Decoding reads `string`."
                .to_string(),
        kind: ClassKind::Class(vec![field(
            "string",
            LuaType::String,
            "The address as text, such as \"2001:db8::1\".",
        )]),
    })
}

/// Reads the `string` field of an address table, decoding it as `A`.
fn string_field<A: LuaDecode>(table: &mlua::Table) -> Result<A, DecodeError> {
    match raw_field(table, "string")? {
        Value::Nil => Err(DecodeError::missing("string")),
        s => A::decode(&s).map_err(|e| e.at_key("string")),
    }
}

/// The text of `buf` as a `str` (always ASCII).
fn text_str(buf: &crate::impls::text::TextBuf) -> &str {
    std::str::from_utf8(buf.as_bytes()).unwrap_or("")
}

impl LuaEncode for InAddr {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        let t = lua.create_table_with_capacity(0, 2)?;
        t.raw_set("value", i64::from(u32::from(self.0)))?;
        t.raw_set("string", self.0.to_string())?;
        Ok(Value::Table(t))
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        let mut text = crate::impls::text::TextBuf::new();
        text.ipv4(self.0);
        cx.push_table(0, 2, |t| {
            t.field(c"value", &i64::from(u32::from(self.0)))?;
            t.field(c"string", text_str(&text))
        })
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        in_addr_type(registry)
    }
}

impl LuaDecode for InAddr {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        let table = match value {
            Value::String(_) => return Ipv4Addr::decode(value).map(InAddr),
            other => expect_table(other, "in_addr (table or string)")?,
        };
        let _guard = DepthGuard::enter()?;
        let addr = string_field::<Ipv4Addr>(table)?;
        {
            let v = raw_field(table, "value")?;
            if !matches!(v, Value::Nil) {
                let v = u32::decode(&v).map_err(|e| e.at_key("value"))?;
                let expected = u32::from(addr);
                if v != expected {
                    return Err(DecodeError::invalid(format!(
                        "value {v} disagrees with string \"{addr}\" ({expected}); \
                         set `string` (frrhook's value is big-endian, FRR's is host order)"
                    ))
                    .at_key("value"));
                }
            }
        }
        Ok(InAddr(addr))
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Union(vec![in_addr_type(registry), LuaType::String])
    }
}

impl LuaEncode for In6Addr {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        let t = lua.create_table_with_capacity(0, 1)?;
        t.raw_set("string", self.0.to_string())?;
        Ok(Value::Table(t))
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        in6_addr_type(registry)
    }
}

impl LuaDecode for In6Addr {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        let table = match value {
            Value::String(_) => return Ipv6Addr::decode(value).map(In6Addr),
            other => expect_table(other, "in6_addr (table or string)")?,
        };
        let _guard = DepthGuard::enter()?;
        string_field::<Ipv6Addr>(table).map(In6Addr)
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Union(vec![in6_addr_type(registry), LuaType::String])
    }
}
