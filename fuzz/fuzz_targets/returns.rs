//! Bytes → a Lua function returning an arbitrary table → a hook whose arguments and
//! results cover every codec path. Never a panic; a failed call changes no argument;
//! the state keeps working. The hook, the keys, the leaves and the checks are the
//! property test's (`tests/tests/support/fuzz_harness.rs`); only the generator differs.
//!
//! `cargo +nightly fuzz run returns` (from `fuzz/`); see docs/SECURITY.md.
#![no_main]

use frrhook::Runtime;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/tests/support/fuzz_harness.rs"]
mod harness;

use harness::{KEYS, LEAVES};

/// Reads the expression grammar from `data`, one byte per choice.
struct Gen<'a> {
    data: &'a [u8],
}

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.byte() as usize % from.len()]
    }

    fn expr(&mut self, depth: u32) -> String {
        let b = self.byte();
        if depth >= 5 || self.data.is_empty() || b < 128 {
            return match b % 8 {
                0 => format!("({})", i64::from_le_bytes(self.eight())),
                1 => format!("({:?})", f64::from_le_bytes(self.eight()))
                    .replace("inf", "1/0")
                    .replace("NaN", "0/0"),
                _ => self.pick(LEAVES).to_string(),
            };
        }
        let n = self.byte() % 6;
        let items: Vec<String> = (0..n)
            .map(|_| match self.byte() % 3 {
                0 => self.expr(depth + 1),
                1 => format!("{} = {}", self.pick(KEYS), self.expr(depth + 1)),
                _ => format!("[{}] = {}", self.expr(depth + 1), self.expr(depth + 1)),
            })
            .collect();
        format!("{{{}}}", items.join(", "))
    }

    fn eight(&mut self) -> [u8; 8] {
        std::array::from_fn(|_| self.byte())
    }
}

fn source(data: &[u8]) -> String {
    let mut g = Gen { data };
    let n = g.byte() % 8;
    let fields: Vec<String> = (0..n)
        .map(|_| format!("{} = {}", g.pick(KEYS), g.expr(0)))
        .collect();
    harness::script(&fields)
}

thread_local! {
    static RT: Runtime = harness::runtime();
}

fuzz_target!(|data: &[u8]| {
    let src = source(data);
    if let Err(broken) = RT.with(|rt| harness::check(rt, &src)) {
        panic!("{broken}");
    }
});
