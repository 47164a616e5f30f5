//! Declared hooks: process-wide slots, and lookup by name through the listing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::descriptor::HookRegistration;
use crate::{ErrorKind, HookDescriptor, HookError};

static SLOTS: Mutex<Vec<&'static HookDescriptor>> = Mutex::new(Vec::new());

/// Gives `hook` the next process-wide slot (once).
pub(crate) fn assign_slot(hook: &'static HookDescriptor, cell: &AtomicU32) -> usize {
    let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    let s = cell.load(Ordering::Acquire);
    if s != 0 {
        return s as usize - 1;
    }
    slots.push(hook);
    let n = slots.len();
    cell.store(
        u32::try_from(n).expect("fewer than 2^32 hooks"),
        Ordering::Release,
    );
    n - 1
}

/// Every hook declared with `#[hook_point]` in the program, sorted by name.
pub fn declared_hooks() -> Vec<&'static HookDescriptor> {
    let mut v: Vec<&'static HookDescriptor> = inventory::iter::<HookRegistration>
        .into_iter()
        .map(|r| (r.0)())
        .collect();
    v.sort_by(|a, b| {
        a.name
            .cmp(b.name)
            .then(a.file.cmp(b.file))
            .then(a.line.cmp(&b.line))
    });
    v.dedup_by(|a, b| std::ptr::eq(*a, *b));
    v
}

/// Pairs of hooks declared with the same name.
pub(crate) fn duplicates() -> Vec<(&'static HookDescriptor, &'static HookDescriptor)> {
    let all = declared_hooks();
    all.windows(2)
        .filter(|w| w[0].name == w[1].name)
        .map(|w| (w[0], w[1]))
        .collect()
}

/// Finds the declared hook named `name`.
pub(crate) fn find(name: &str) -> Result<&'static HookDescriptor, HookError> {
    let all = declared_hooks();
    let found: Vec<_> = all.iter().filter(|h| h.name == name).collect();
    match found.as_slice() {
        [one] => Ok(**one),
        [] => {
            let mut msg = format!("no hook named `{name}` is declared in this program");
            let close = suggest(name, all.iter().map(|h| h.name));
            if !close.is_empty() {
                msg.push_str(&format!("; did you mean {}?", close.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" or ")));
            }
            Err(HookError::new(ErrorKind::UnknownHook, msg).with_hook(name))
        }
        many => Err(HookError::new(
            ErrorKind::Config,
            format!(
                "hook name `{name}` is declared {} times: {}; give each #[hook_point] a distinct name",
                many.len(),
                many.iter().map(|h| format!("{} at {}:{}", h.rust_path, h.file, h.line)).collect::<Vec<_>>().join(" and ")
            ),
        )
        .with_hook(name)),
    }
}

/// Names within a small edit distance of `name`, closest first.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(2) || c.contains(name))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_close_names() {
        let names = ["bgp.route_match", "bgp.best_path", "vrrp.priority"];
        assert_eq!(
            super::suggest("bgp.route_mach", names.into_iter()),
            vec!["bgp.route_match"]
        );
        assert!(super::suggest("zebra.nothing_like_it", names.into_iter()).is_empty());
    }
}
