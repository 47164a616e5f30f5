//! Process-wide hook slots.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::HookDescriptor;

static SLOTS: Mutex<Vec<&'static HookDescriptor>> = Mutex::new(Vec::new());

pub(crate) fn assign_slot(hook: &'static HookDescriptor, cell: &AtomicU32) -> usize {
    let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    let s = cell.load(Ordering::Acquire);
    if s != 0 {
        return s as usize - 1;
    }
    slots.push(hook);
    let n = slots.len();
    cell.store(n as u32, Ordering::Release);
    n - 1
}
