//! FRR's table shapes for types whose Lua form FRR fixed (`lua_pushin_addr` and friends).
