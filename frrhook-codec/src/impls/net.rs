//! `std::net` addresses as strings (`"10.0.0.1"`) and `ipnet` prefixes in FRR's prefix
//! shape `{network = "10.0.0.0/24", length = 24, family = 2}`.
//!
//! A prefix decodes from that table (reading `network`, as FRR's `lua_decode_prefix`
//! does) or from a bare string. The text is `ADDRESS/LENGTH`, or a bare address, which
//! is a host prefix (`/32`, `/128`) as in FRR's `str2prefix`. Host bits are kept
//! (`10.0.0.1/24` stays `10.0.0.1/24`). When the table also has `length` or `family`,
//! they must agree with `network`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use mlua::{Lua, LuaString, Value};

use super::table::{expect_table, raw_field};
use crate::frr::{family_of, prefix_type};
use crate::value::describe;
use crate::{DecodeError, DepthGuard, LuaDecode, LuaEncode, LuaType, TypeRegistry};

/// Applies `f` to the text of a Lua string, if it is UTF-8 (without copying it).
fn with_text<T>(s: &LuaString, f: impl FnOnce(&str) -> Option<T>) -> Option<T> {
    std::str::from_utf8(&s.as_bytes()).ok().and_then(f)
}

macro_rules! addr_codec {
    ($($t:ty => $expected:literal),*) => {$(
        impl LuaEncode for $t {
            fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
                lua.create_string(self.to_string()).map(Value::String)
            }
            fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
                let mut text = super::text::TextBuf::new();
                text.ip(IpAddr::from(*self));
                cx.push_bytes(text.as_bytes())
            }
            fn lua_type(_: &mut TypeRegistry) -> LuaType {
                LuaType::String
            }
        }

        impl LuaDecode for $t {
            crate::whole_value_update!();
            fn decode_raw(cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> Option<Self> {
                cx.parse_at(idx)
            }
            fn decode(value: &Value) -> Result<Self, DecodeError> {
                match value {
                    Value::String(s) => with_text(s, |text| text.parse().ok()).ok_or_else(|| {
                        DecodeError::invalid(format!(concat!("expected ", $expected, ", got {}"), describe(value)))
                    }),
                    other => Err(DecodeError::type_mismatch($expected, describe(other))),
                }
            }
            fn lua_type(_: &mut TypeRegistry) -> LuaType {
                LuaType::String
            }
        }
    )*};
}

addr_codec!(
    Ipv4Addr => "IPv4 address",
    Ipv6Addr => "IPv6 address",
    IpAddr => "IP address"
);

/// Parses prefix text: `ADDRESS/LENGTH` or a bare address (a host prefix). The error
/// is the whole message, naming the text.
pub(crate) fn parse_prefix(text: &str) -> Result<IpNet, String> {
    let not_a_prefix = || {
        format!(
            "expected prefix like \"10.0.0.0/24\", got string ({})",
            quoted(text)
        )
    };
    let (addr, len) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| not_a_prefix())?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(len) => {
            if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
                return Err(not_a_prefix());
            }
            let n: u16 = len.parse().map_err(|_| not_a_prefix())?;
            if n > u16::from(max) {
                let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
                return Err(format!(
                    "invalid prefix {}: length {n} is more than {max} for {family}",
                    quoted(text)
                ));
            }
            n as u8
        }
    };
    IpNet::new(addr, len).map_err(|_| not_a_prefix())
}

/// `"text"` quoted as `describe` quotes strings: at most 40 bytes, then `...`.
fn quoted(text: &str) -> String {
    if text.len() <= 40 {
        return format!("{text:?}");
    }
    let mut end = 40;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}...", &text[..end])
}

/// Decodes prefix text from a Lua string value (any bytes).
fn prefix_from_string(value: &Value, s: &LuaString) -> Result<IpNet, DecodeError> {
    match with_text(s, |text| Some(parse_prefix(text))) {
        Some(parsed) => parsed.map_err(DecodeError::invalid),
        None => Err(DecodeError::invalid(format!(
            "expected prefix like \"10.0.0.0/24\", got {}",
            describe(value)
        ))),
    }
}

/// Decodes any prefix, from FRR's table shape or a bare string.
pub(crate) fn decode_prefix(value: &Value) -> Result<IpNet, DecodeError> {
    let table = match value {
        Value::String(s) => return prefix_from_string(value, s),
        other => expect_table(other, "prefix (table or string)")?,
    };
    let _guard = DepthGuard::enter()?;
    let network = raw_field(table, "network")?;
    let net = match &network {
        Value::Nil => return Err(DecodeError::missing("network")),
        Value::String(s) => prefix_from_string(&network, s).map_err(|e| e.at_key("network"))?,
        other => {
            return Err(DecodeError::type_mismatch("string", describe(other)).at_key("network"));
        }
    };
    let length = raw_field(table, "length")?;
    if !matches!(length, Value::Nil) {
        let length = u8::decode(&length).map_err(|e| e.at_key("length"))?;
        if length != net.prefix_len() {
            return Err(DecodeError::invalid(format!(
                "length {length} disagrees with network \"{net}\" (/{}); set both, or set length to nil",
                net.prefix_len()
            ))
            .at_key("length"));
        }
    }
    let family = raw_field(table, "family")?;
    if !matches!(family, Value::Nil) {
        let family = i64::decode(&family).map_err(|e| e.at_key("family"))?;
        if family != family_of(&net) {
            return Err(DecodeError::invalid(format!(
                "family {family} disagrees with network \"{net}\" (family {})",
                family_of(&net)
            ))
            .at_key("family"));
        }
    }
    Ok(net)
}

/// Builds FRR's prefix table.
fn encode_prefix(lua: &Lua, net: IpNet) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 3)?;
    t.raw_set("network", net.to_string())?;
    t.raw_set("length", i64::from(net.prefix_len()))?;
    t.raw_set("family", family_of(&net))?;
    Ok(Value::Table(t))
}

/// The raw-stack form of [`encode_prefix`].
fn push_prefix(cx: &crate::raw::RawCx<'_>, net: IpNet) -> mlua::Result<()> {
    let mut text = super::text::TextBuf::new();
    text.prefix(net);
    cx.push_table(0, 3, |t| {
        t.field(c"network", &BytesRef(text.as_bytes()))?;
        t.field(c"length", &i64::from(net.prefix_len()))?;
        t.field(c"family", &family_of(&net))
    })
}

/// Bytes pushed as a Lua string.
struct BytesRef<'a>(&'a [u8]);

impl LuaEncode for BytesRef<'_> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        lua.create_string(self.0).map(Value::String)
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        cx.push_bytes(self.0)
    }
}

fn prefix_decode_type(registry: &mut TypeRegistry) -> LuaType {
    LuaType::Union(vec![prefix_type(registry), LuaType::String])
}

impl LuaEncode for IpNet {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_prefix(lua, *self)
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_prefix(cx, *self)
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        prefix_type(registry)
    }
}

impl LuaDecode for IpNet {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        decode_prefix(value)
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        prefix_decode_type(registry)
    }
}

impl LuaEncode for Ipv4Net {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_prefix(lua, IpNet::V4(*self))
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_prefix(cx, IpNet::V4(*self))
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        prefix_type(registry)
    }
}

impl LuaDecode for Ipv4Net {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        match decode_prefix(value)? {
            IpNet::V4(net) => Ok(net),
            IpNet::V6(net) => Err(DecodeError::type_mismatch(
                "IPv4 prefix",
                format!("IPv6 prefix \"{net}\""),
            )),
        }
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        prefix_decode_type(registry)
    }
}

impl LuaEncode for Ipv6Net {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_prefix(lua, IpNet::V6(*self))
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_prefix(cx, IpNet::V6(*self))
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        prefix_type(registry)
    }
}

impl LuaDecode for Ipv6Net {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        match decode_prefix(value)? {
            IpNet::V6(net) => Ok(net),
            IpNet::V4(net) => Err(DecodeError::type_mismatch(
                "IPv6 prefix",
                format!("IPv4 prefix \"{net}\""),
            )),
        }
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        prefix_decode_type(registry)
    }
}
