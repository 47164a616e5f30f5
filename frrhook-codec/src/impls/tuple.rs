//! Tuples of 1 to 8 elements as fixed-length sequences: `(1, "a")` is `{1, "a"}`.
//!
//! Decoding needs keys within `1..=N`; an absent index is read as nil, which only an
//! element that accepts nil (`Option<T>`) takes; otherwise it is
//! `expected a sequence of N elements, got M (missing [i])`.

use mlua::{Lua, Value};

use super::table::{decode_fixed_element, expect_table, read_fixed};
use crate::{DecodeError, DepthGuard, LuaDecode, LuaEncode, LuaType, TypeRegistry};

macro_rules! tuple_codec {
    ($n:literal; $($t:ident $idx:tt),+) => {
        impl<$($t: LuaEncode),+> LuaEncode for ($($t,)+) {
            fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
                let table = lua.create_table_with_capacity($n, 0)?;
                $( table.raw_set($idx + 1, self.$idx.encode(lua)?)?; )+
                Ok(Value::Table(table))
            }
            fn lua_type(registry: &mut TypeRegistry) -> LuaType {
                LuaType::Tuple(vec![$(<$t as LuaEncode>::lua_type(registry)),+])
            }
        }

        impl<$($t: LuaDecode),+> LuaDecode for ($($t,)+) {
            crate::whole_value_update!();
            fn decode(value: &Value) -> Result<Self, DecodeError> {
                let table = expect_table(value, "table")?;
                let _guard = DepthGuard::enter()?;
                let (slots, count) = read_fixed(table, $n)?;
                let mut slots = slots.into_iter();
                Ok(($(
                    decode_fixed_element::<$t>(slots.next().flatten(), $n, count, $idx + 1)?,
                )+))
            }
            fn lua_type(registry: &mut TypeRegistry) -> LuaType {
                LuaType::Tuple(vec![$(<$t as LuaDecode>::lua_type(registry)),+])
            }
        }
    };
}

tuple_codec!(1; A 0);
tuple_codec!(2; A 0, B 1);
tuple_codec!(3; A 0, B 1, C 2);
tuple_codec!(4; A 0, B 1, C 2, D 3);
tuple_codec!(5; A 0, B 1, C 2, D 3, E 4);
tuple_codec!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_codec!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_codec!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
