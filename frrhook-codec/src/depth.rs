use std::cell::Cell;

use crate::{DecodeError, DecodeErrorKind};

/// How deeply nested tables may be decoded before decoding fails.
///
/// Decoding follows the Rust type, so only recursive types can nest without bound; the
/// limit turns a cyclic table (`t.next = t`) decoded into a recursive type into an
/// error instead of a stack overflow.
pub const MAX_DEPTH: u32 = 128;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Counts one level of table nesting while decoding; dropping it leaves the level.
///
/// Every decoder that descends into a table holds one.
///
/// ```
/// use frrhook_codec::DepthGuard;
/// let g = DepthGuard::enter().unwrap();
/// drop(g);
/// ```
pub struct DepthGuard(());

impl DepthGuard {
    /// Enters one level; fails once [`MAX_DEPTH`] levels are open.
    pub fn enter() -> Result<DepthGuard, DecodeError> {
        DEPTH.with(|d| {
            let now = d.get();
            if now >= MAX_DEPTH {
                Err(DecodeError::new(DecodeErrorKind::TooDeep))
            } else {
                d.set(now + 1);
                Ok(DepthGuard(()))
            }
        })
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}
