//! A hook with nothing attached returns after one atomic load, without allocating.
//! Its own test binary, because it installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use frrhook::Runtime;
use frrhook_tests::*;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn calls_with_nothing_attached_do_not_allocate() {
    let rt = Runtime::new(".");
    let (p, mut a, peer) = sample_route();
    let mut n = 0i64;
    let mut prio = 100u8;
    // Warm up anything lazily initialised by the test harness itself.
    let _ = route_match(&rt, &p, &mut a, &peer);
    let before = ALLOCS.load(Ordering::SeqCst);
    for _ in 0..1000 {
        let r = route_match(&rt, &p, &mut a, &peer).unwrap();
        assert!(r.action.is_none());
        counter(&rt, &mut n).unwrap();
        observe(&rt, &p, 254, "installed").unwrap();
        // `reason` defaults to `String::new()`, which does not allocate either.
        priority(&rt, 1, &mut prio, true).unwrap();
    }
    let after = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "the disabled path allocated");
}

#[test]
fn the_counter_sees_allocations() {
    // Guard against a counting allocator that counts nothing.
    let before = ALLOCS.load(Ordering::SeqCst);
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(ALLOCS.load(Ordering::SeqCst) > before);
    drop(v);
}
