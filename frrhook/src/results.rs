//! The tables a hook's chain returned, kept for reading results by name.

use mlua::Table;

use crate::codec::{DecodeError, LuaDecode};

/// The tables returned by the functions of one call, in chain order. A key is read from
/// the last table that has it, so later functions override earlier ones. (Declared
/// results are decoded as each function returns; these tables serve the keys a hook did
/// not declare.)
///
/// Results are not kept from one call to the next: each call has its own.
#[derive(Debug, Default, Clone)]
pub struct ResultTables {
    tables: OneOrMany<Table>,
}

/// A list that holds one item without allocating (a chain is usually one function).
#[derive(Debug, Clone, Default)]
pub(crate) enum OneOrMany<T> {
    #[default]
    Empty,
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub(crate) fn push(&mut self, item: T) {
        *self = match std::mem::take(self) {
            OneOrMany::Empty => OneOrMany::One(item),
            OneOrMany::One(first) => OneOrMany::Many(vec![first, item]),
            OneOrMany::Many(mut v) => {
                v.push(item);
                OneOrMany::Many(v)
            }
        };
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        match std::mem::take(self) {
            OneOrMany::Empty => None,
            OneOrMany::One(item) => Some(item),
            OneOrMany::Many(mut v) => {
                let item = v.pop();
                *self = OneOrMany::Many(v);
                item
            }
        }
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::Empty => &[],
            OneOrMany::One(item) => std::slice::from_ref(item),
            OneOrMany::Many(v) => v,
        }
    }
}

impl ResultTables {
    pub(crate) fn push(&mut self, t: Table) {
        self.tables.push(t);
    }

    /// Reads key `name` as `T` (FRR's `frrscript_get_result`): `Ok(None)` when no
    /// function returned it, an error when it is there with the wrong shape.
    pub fn get<T: LuaDecode>(&self, name: &str) -> Result<Option<T>, DecodeError> {
        for t in self.tables.as_slice().iter().rev() {
            if let Some(v) = read_key(t, name)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Whether any function returned key `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tables.as_slice().iter().any(|t| {
            crate::codec::raw::get_field(t, name.as_bytes())
                .map(|v| !v.is_nil())
                .unwrap_or(false)
        })
    }

    /// The raw tables, in chain order.
    pub fn tables(&self) -> &[Table] {
        self.tables.as_slice()
    }
}

/// Key `name` of table `t` as `T`, read on the Lua stack (no `mlua::Value` for the
/// common shapes): `Ok(None)` when absent.
pub(crate) fn read_key<T: LuaDecode>(t: &Table, name: &str) -> Result<Option<T>, DecodeError> {
    let found = crate::codec::raw::with_table(t, |cx, idx| {
        let at = cx.push_field_bytes(idx, name.as_bytes())?;
        let r = if cx.is_nil(at) {
            None
        } else {
            Some(crate::codec::raw::decode_at::<T>(cx, at))
        };
        cx.pop(1);
        r
    })
    .map_err(|e| DecodeError::invalid(e.to_string()).at_key(name))?;
    found.transpose().map_err(|e| e.at_key(name))
}
