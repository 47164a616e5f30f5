//! Per-hook and per-attachment counters. Sharded by thread so that two threads calling
//! the same hook do not fight over one cache line; no lock on the call path.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::ErrorKind;

const SHARDS: usize = 8;
/// Buckets of the run-time histogram: bucket `i` counts calls that took
/// `[2^i, 2^(i+1))` nanoseconds (bucket 0 also takes 0 ns).
pub const HISTOGRAM_BUCKETS: usize = 40;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Relaxed) % SHARDS;
}

struct Shard {
    calls: AtomicU64,
    errors: [AtomicU64; ErrorKind::ALL.len()],
    time_total_ns: AtomicU64,
    time_max_ns: AtomicU64,
    histogram: [AtomicU64; HISTOGRAM_BUCKETS],
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            calls: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            time_total_ns: AtomicU64::new(0),
            time_max_ns: AtomicU64::new(0),
            histogram: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Live counters of one hook or one attachment.
#[derive(Default)]
pub(crate) struct Counters {
    shards: [CachePadded<Shard>; SHARDS],
}

impl Counters {
    #[inline]
    fn shard(&self) -> &Shard {
        let i = SHARD.try_with(|s| *s).unwrap_or(0);
        &self.shards[i]
    }

    /// Counts one call, its outcome and (if measured) its run time.
    #[inline]
    pub(crate) fn record(&self, error: Option<ErrorKind>, elapsed: Option<Duration>) {
        let s = self.shard();
        s.calls.fetch_add(1, Relaxed);
        if let Some(k) = error {
            s.errors[k.index()].fetch_add(1, Relaxed);
        }
        if let Some(d) = elapsed {
            let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            s.time_total_ns.fetch_add(ns, Relaxed);
            s.time_max_ns.fetch_max(ns, Relaxed);
            let bucket = (63 - (ns | 1).leading_zeros() as usize).min(HISTOGRAM_BUCKETS - 1);
            s.histogram[bucket].fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self, timing: bool) -> Stats {
        let mut out = Stats::default();
        let mut hist = [0u64; HISTOGRAM_BUCKETS];
        let (mut total, mut max) = (0u64, 0u64);
        for s in &self.shards {
            out.calls += s.calls.load(Relaxed);
            for (i, k) in ErrorKind::ALL.iter().enumerate() {
                let n = s.errors[i].load(Relaxed);
                if n > 0 {
                    *out.errors.entry(*k).or_default() += n;
                }
            }
            total = total.saturating_add(s.time_total_ns.load(Relaxed));
            max = max.max(s.time_max_ns.load(Relaxed));
            for (h, b) in hist.iter_mut().zip(&s.histogram) {
                *h += b.load(Relaxed);
            }
        }
        if timing {
            out.run_time = Some(RunTime {
                total: Duration::from_nanos(total),
                max: Duration::from_nanos(max),
                histogram: hist.to_vec(),
            });
        }
        out
    }
}

/// Run-time figures, collected when timing is on (as eBPF's `run_time_ns`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunTime {
    /// Total time spent in calls.
    pub total: Duration,
    /// The longest call.
    pub max: Duration,
    /// `histogram[i]` counts calls that took from 2^i to 2^(i+1) nanoseconds.
    pub histogram: Vec<u64>,
}

/// Counters of a hook or of one attached function.
///
/// ```
/// let s = frrhook::Stats::default();
/// assert_eq!((s.calls, s.error_count(), s.limit_stops()), (0, 0, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls that ran (calls with nothing attached are not counted).
    pub calls: u64,
    /// Failed calls by kind.
    pub errors: std::collections::BTreeMap<ErrorKind, u64>,
    /// Run time, when timing is on.
    pub run_time: Option<RunTime>,
}

impl Stats {
    /// All failed calls.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
    /// Calls stopped by a limit.
    pub fn limit_stops(&self) -> u64 {
        self.errors
            .iter()
            .filter(|(k, _)| k.is_limit())
            .map(|(_, n)| n)
            .sum()
    }
    /// Failed calls of one kind.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors.get(&kind).copied().unwrap_or(0)
    }
}

/// Stats of one attached function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentStats {
    /// The script (without `.lua`).
    pub script: String,
    /// The Lua function.
    pub function: String,
    /// Its counters.
    pub stats: Stats,
}

/// Stats of one hook: the hook as a whole and each attached function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookStats {
    /// The hook name.
    pub hook: String,
    /// Calls of the hook (each runs the whole chain).
    pub stats: Stats,
    /// Per attached function, in chain order.
    pub attachments: Vec<AttachmentStats>,
}
