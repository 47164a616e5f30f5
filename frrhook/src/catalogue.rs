//! The hook catalogue: what `Runtime::hooks()` lists.

use crate::codec::TypeRegistry;
use crate::runtime::AttachSpec;
use crate::stats::HookStats;
use crate::{ArgMode, HookDescriptor};

/// One hook as the catalogue lists it.
#[derive(Debug, Clone)]
pub struct HookInfo {
    /// What `#[hook_point]` declared.
    pub descriptor: &'static HookDescriptor,
    /// What is attached in this runtime, in chain order.
    pub attachments: Vec<AttachSpec>,
    /// Stats in this runtime (`None` if nothing was ever attached).
    pub stats: Option<HookStats>,
}

/// One argument as the catalogue renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgInfo {
    /// Parameter name.
    pub name: &'static str,
    /// Lua shape (`integer`, `Attributes`, `string[]`, ...).
    pub lua_type: String,
    /// Rust type as declared.
    pub rust_type: &'static str,
    /// Whether a script can change it (declared `&mut`).
    pub written_back: bool,
    /// The value of a constant argument.
    pub constant: Option<i64>,
}

/// One declared result as the catalogue renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultInfo {
    /// Key.
    pub name: &'static str,
    /// Lua shape.
    pub lua_type: String,
    /// Rust type as declared.
    pub rust_type: &'static str,
    /// Default expression when absent (`None` for `Option` results).
    pub default: Option<&'static str>,
}

impl HookInfo {
    /// The hook name.
    pub fn name(&self) -> &'static str {
        self.descriptor.name
    }

    /// Arguments with their Lua shapes; `registry` collects the named types.
    pub fn args(&self, registry: &mut TypeRegistry) -> Vec<ArgInfo> {
        self.descriptor
            .args
            .iter()
            .map(|a| ArgInfo {
                name: a.name,
                lua_type: (a.lua_type)(registry).to_string(),
                rust_type: a.rust_type,
                written_back: a.mode.written_back(),
                constant: match a.mode {
                    ArgMode::Const(c) => Some(c),
                    _ => None,
                },
            })
            .collect()
    }

    /// Declared results with their Lua shapes.
    pub fn results(&self, registry: &mut TypeRegistry) -> Vec<ResultInfo> {
        self.descriptor
            .results
            .iter()
            .map(|r| ResultInfo {
                name: r.name,
                lua_type: (r.lua_type)(registry).to_string(),
                rust_type: r.rust_type,
                default: r.default,
            })
            .collect()
    }
}
