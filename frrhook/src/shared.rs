//! The shared store: a host-owned key/value map that scripts see as `shared`.

use std::sync::Arc;

use dashmap::DashMap;

/// A value in the [`SharedStore`]: what scripts can put there.
#[derive(Debug, Clone, PartialEq)]
pub enum SharedValue {
    /// `true` or `false`.
    Boolean(bool),
    /// A Lua integer.
    Integer(i64),
    /// A Lua float.
    Number(f64),
    /// A string (any bytes).
    String(Arc<[u8]>),
}

impl From<bool> for SharedValue {
    fn from(v: bool) -> Self {
        SharedValue::Boolean(v)
    }
}
impl From<i64> for SharedValue {
    fn from(v: i64) -> Self {
        SharedValue::Integer(v)
    }
}
impl From<f64> for SharedValue {
    fn from(v: f64) -> Self {
        SharedValue::Number(v)
    }
}
impl From<&str> for SharedValue {
    fn from(v: &str) -> Self {
        SharedValue::String(Arc::from(v.as_bytes()))
    }
}

/// A key/value store common to every thread and script of a runtime, surviving
/// reloads. Scripts use `shared.get(k)`, `shared.set(k, v)`, `shared.incr(k [, n])` and
/// `shared.cas(k, old, new)`; Rust uses the same operations here.
///
/// Setting a key to nil (`None`) removes it.
///
/// ```
/// use frrhook::{SharedStore, SharedValue};
/// let s = SharedStore::default();
/// assert_eq!(s.incr("hits", 2).unwrap(), 2);
/// assert!(s.cas("hits", Some(&SharedValue::Integer(2)), Some(SharedValue::Integer(10))));
/// assert_eq!(s.get("hits"), Some(SharedValue::Integer(10)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SharedStore {
    map: Arc<DashMap<Arc<[u8]>, SharedValue>>,
}

impl SharedStore {
    /// The value under `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<SharedValue> {
        self.map.get(key.as_ref()).map(|v| v.clone())
    }

    /// Sets `key` to `value`; `None` removes it.
    pub fn set(&self, key: impl AsRef<[u8]>, value: Option<SharedValue>) {
        match value {
            Some(v) => {
                self.map.insert(Arc::from(key.as_ref()), v);
            }
            None => {
                self.map.remove(key.as_ref());
            }
        }
    }

    /// Adds `delta` to the integer under `key` (absent counts as 0) and returns the new
    /// value; an error if the value is not an integer or the sum overflows.
    pub fn incr(&self, key: impl AsRef<[u8]>, delta: i64) -> Result<i64, String> {
        let mut entry = self
            .map
            .entry(Arc::from(key.as_ref()))
            .or_insert(SharedValue::Integer(0));
        match &mut *entry {
            SharedValue::Integer(i) => {
                *i = i
                    .checked_add(delta)
                    .ok_or_else(|| "shared.incr: integer overflow".to_string())?;
                Ok(*i)
            }
            other => Err(format!(
                "shared.incr: value is not an integer ({})",
                type_of(other)
            )),
        }
    }

    /// Sets `key` to `new` only if it currently holds `expected` (`None`: absent).
    /// Returns whether it did.
    pub fn cas(
        &self,
        key: impl AsRef<[u8]>,
        expected: Option<&SharedValue>,
        new: Option<SharedValue>,
    ) -> bool {
        let key: Arc<[u8]> = Arc::from(key.as_ref());
        match self.map.entry(key) {
            dashmap::Entry::Occupied(mut o) => {
                if expected != Some(o.get()) {
                    return false;
                }
                match new {
                    Some(v) => {
                        o.insert(v);
                    }
                    None => {
                        o.remove();
                    }
                }
                true
            }
            dashmap::Entry::Vacant(v) => {
                if expected.is_some() {
                    return false;
                }
                if let Some(n) = new {
                    v.insert(n);
                }
                true
            }
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn type_of(v: &SharedValue) -> &'static str {
    match v {
        SharedValue::Boolean(_) => "boolean",
        SharedValue::Integer(_) => "integer",
        SharedValue::Number(_) => "number",
        SharedValue::String(_) => "string",
    }
}
