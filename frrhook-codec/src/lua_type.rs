use std::collections::BTreeMap;
use std::fmt;

/// The Lua shape of a Rust type, in LuaLS terms, for listings and editor stubs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LuaType {
    /// Anything (`any`).
    Any,
    /// `nil`.
    Nil,
    /// `boolean`.
    Boolean,
    /// `integer`.
    Integer,
    /// `number`.
    Number,
    /// `string`.
    String,
    /// A 1-based sequence: `T[]`.
    Array(Box<LuaType>),
    /// A table from keys to values: `table<K, V>`.
    Map(Box<LuaType>, Box<LuaType>),
    /// A fixed-length sequence: `[A, B]`.
    Tuple(Vec<LuaType>),
    /// May be nil: `T?`.
    Optional(Box<LuaType>),
    /// One of several: `A|B`.
    Union(Vec<LuaType>),
    /// A literal string value: `"match"`.
    Literal(String),
    /// A class or alias registered in the [`TypeRegistry`] under this name.
    Named(String),
}

impl fmt::Display for LuaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LuaType::Any => f.write_str("any"),
            LuaType::Nil => f.write_str("nil"),
            LuaType::Boolean => f.write_str("boolean"),
            LuaType::Integer => f.write_str("integer"),
            LuaType::Number => f.write_str("number"),
            LuaType::String => f.write_str("string"),
            LuaType::Array(t) => match **t {
                LuaType::Union(_) | LuaType::Optional(_) => write!(f, "({t})[]"),
                _ => write!(f, "{t}[]"),
            },
            LuaType::Map(k, v) => write!(f, "table<{k}, {v}>"),
            LuaType::Tuple(items) => {
                f.write_str("[")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("]")
            }
            LuaType::Optional(t) => match **t {
                LuaType::Union(_) => write!(f, "({t})?"),
                _ => write!(f, "{t}?"),
            },
            LuaType::Union(items) => {
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    write!(f, "{t}")?;
                }
                Ok(())
            }
            LuaType::Literal(s) => write!(f, "{s:?}"),
            LuaType::Named(n) => f.write_str(n),
        }
    }
}

/// One field of a [`ClassDef`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// The Lua key.
    pub name: String,
    /// Its shape.
    pub ty: LuaType,
    /// The Rust doc comment of the field, if any.
    pub doc: String,
}

/// What a named type is in Lua.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassKind {
    /// A table with named fields (`---@class`).
    Class(Vec<FieldDef>),
    /// Another name for a shape (`---@alias`), such as an enum's set of strings.
    Alias(LuaType),
}

/// A named type as registered by a derived or built-in encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDef {
    /// The Lua-side name (the Rust type name by default).
    pub name: String,
    /// The Rust doc comment of the type.
    pub doc: String,
    /// Class or alias.
    pub kind: ClassKind,
}

/// Collects the named types reachable from a set of hook signatures.
///
/// ```
/// use frrhook_codec::{LuaEncode, LuaType, TypeRegistry};
/// let mut reg = TypeRegistry::default();
/// assert_eq!(<Vec<u32> as LuaEncode>::lua_type(&mut reg).to_string(), "integer[]");
/// ```
#[derive(Debug, Default, Clone)]
pub struct TypeRegistry {
    classes: BTreeMap<String, ClassDef>,
}

impl TypeRegistry {
    /// Registers `name` once: `build` runs only the first time, so recursive types
    /// terminate. Returns [`LuaType::Named`].
    pub fn define(
        &mut self,
        name: &str,
        build: impl FnOnce(&mut TypeRegistry) -> ClassDef,
    ) -> LuaType {
        if !self.classes.contains_key(name) {
            // Placeholder first, so a recursive reference finds the name.
            self.classes.insert(
                name.to_string(),
                ClassDef {
                    name: name.to_string(),
                    doc: String::new(),
                    kind: ClassKind::Alias(LuaType::Any),
                },
            );
            let def = build(self);
            self.classes.insert(name.to_string(), def);
        }
        LuaType::Named(name.to_string())
    }

    /// The registered classes, sorted by name.
    pub fn classes(&self) -> impl Iterator<Item = &ClassDef> {
        self.classes.values()
    }

    /// The class registered under `name`.
    pub fn get(&self, name: &str) -> Option<&ClassDef> {
        self.classes.get(name)
    }
}
