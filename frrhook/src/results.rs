//! The tables a hook's chain returned, kept for reading results by name.

use mlua::{Table, Value};

use crate::codec::{DecodeError, LuaDecode};

/// The tables returned by the functions of one call, in chain order. A key is read from
/// the last table that has it, so later functions override earlier ones.
///
/// Results are not kept from one call to the next: each call has its own.
#[derive(Debug, Default, Clone)]
pub struct ResultTables {
    tables: Vec<Table>,
}

impl ResultTables {
    pub(crate) fn push(&mut self, t: Table) {
        self.tables.push(t);
    }

    /// Reads key `name` as `T` (FRR's `frrscript_get_result`): `Ok(None)` when no
    /// function returned it, an error when it is there with the wrong shape.
    pub fn get<T: LuaDecode>(&self, name: &str) -> Result<Option<T>, DecodeError> {
        for t in self.tables.iter().rev() {
            let v: Value = t
                .raw_get(name)
                .map_err(|e| DecodeError::invalid(e.to_string()).at_key(name))?;
            if !v.is_nil() {
                return T::decode(&v).map(Some).map_err(|e| e.at_key(name));
            }
        }
        Ok(None)
    }

    /// Whether any function returned key `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tables.iter().any(|t| {
            t.raw_get::<Value>(name)
                .map(|v| !v.is_nil())
                .unwrap_or(false)
        })
    }

    /// The raw tables, in chain order.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }
}
