//! `hooks template NAME`: a fixture skeleton for `run`, with one case whose arguments
//! have every field of their Lua shapes, filled with placeholder values (0, "", false,
//! [], null for optional keys) to edit.

use serde_json::{Map, Value as Json, json};

use super::{CmdResult, EXIT_OK, Io, find_hook, json::pretty};
use crate::codec::{ClassKind, LuaType, TypeRegistry};
use crate::{ArgMode, Runtime};

pub(crate) fn run(rt: &Runtime, name: &str, io: &mut Io<'_>) -> CmdResult {
    let info = find_hook(rt, name)?;
    let mut registry = TypeRegistry::default();
    let mut args = Map::new();
    for a in info.descriptor.args {
        if matches!(a.mode, ArgMode::Const(_)) {
            continue;
        }
        let t = (a.lua_type)(&mut registry);
        args.insert(a.name.to_string(), placeholder(&t, &registry, 0));
    }
    let doc = json!({
        "cases": [
            { "name": "example", "args": args }
        ]
    });
    writeln!(io.out, "{}", pretty(&doc))?;
    Ok(EXIT_OK)
}

/// A value of shape `t` to edit.
fn placeholder(t: &LuaType, registry: &TypeRegistry, depth: u32) -> Json {
    if depth > 16 {
        return Json::Null;
    }
    match t {
        LuaType::Integer => json!(0),
        LuaType::Number => json!(0.0),
        LuaType::String => json!(""),
        LuaType::Boolean => json!(false),
        LuaType::Array(_) | LuaType::Map(..) => json!([]),
        LuaType::Tuple(items) => items
            .iter()
            .map(|i| placeholder(i, registry, depth + 1))
            .collect(),
        LuaType::Union(items) => items
            .first()
            .map_or(Json::Null, |i| placeholder(i, registry, depth + 1)),
        LuaType::Literal(s) => json!(s),
        LuaType::Named(n) => named(n, registry, depth),
        // Nil, Any, Optional, and shapes added later.
        _ => Json::Null,
    }
}

fn named(name: &str, registry: &TypeRegistry, depth: u32) -> Json {
    // The codec's FRR shapes decode from their text alone.
    match name {
        "Prefix" => return json!("0.0.0.0/0"),
        "InAddr" => return json!({ "string": "0.0.0.0" }),
        "In6Addr" => return json!({ "string": "::" }),
        _ => {}
    }
    match registry.get(name).map(|c| &c.kind) {
        Some(ClassKind::Class(fields)) => Json::Object(
            fields
                .iter()
                .map(|f| (f.name.clone(), placeholder(&f.ty, registry, depth + 1)))
                .collect(),
        ),
        Some(ClassKind::Alias(t)) => placeholder(t, registry, depth + 1),
        None => Json::Null,
    }
}
