//! The runtime: compiled scripts, their attachments to hooks, reload, stats.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use crate::limits::Limits;
use crate::loader;
use crate::sandbox::{Sandbox, SandboxedLua};
use crate::shared::SharedStore;
use crate::stats::{AttachmentStats, Counters, HookStats};
use crate::{ErrorKind, HookDescriptor, HookError};

static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

/// Builds a [`Runtime`].
///
/// ```
/// use frrhook::{Limits, Runtime};
/// let rt = Runtime::builder()
///     .script_dir("/etc/frrhook/scripts")
///     .limits(Limits::default().instructions(1_000_000))
///     .timing(true)
///     .build();
/// assert!(rt.timing());
/// ```
#[derive(Debug, Clone, Default)]
pub struct RuntimeBuilder {
    script_dir: Option<PathBuf>,
    sandbox: Sandbox,
    limits: Option<Limits>,
    hook_limits: HashMap<String, Limits>,
    timing: bool,
    shared: Option<SharedStore>,
}

impl RuntimeBuilder {
    /// Where `NAME.lua` files are read from (default: the current directory).
    #[must_use]
    pub fn script_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.script_dir = Some(dir.as_ref().to_path_buf());
        self
    }
    /// The libraries scripts see (default: the safe set, see [`Sandbox`]).
    #[must_use]
    pub fn sandbox(mut self, sandbox: Sandbox) -> Self {
        self.sandbox = sandbox;
        self
    }
    /// Limits of every call and script load (default: [`Limits::default`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }
    /// Limits of the calls of one hook, overriding [`limits`](Self::limits).
    #[must_use]
    pub fn hook_limits(mut self, hook: impl Into<String>, limits: Limits) -> Self {
        self.hook_limits.insert(hook.into(), limits);
        self
    }
    /// Measure run time per call (two clock reads per call; off by default).
    #[must_use]
    pub fn timing(mut self, on: bool) -> Self {
        self.timing = on;
        self
    }
    /// Use `store` as the shared store (to share one between runtimes).
    #[must_use]
    pub fn shared(mut self, store: SharedStore) -> Self {
        self.shared = Some(store);
        self
    }
    /// Builds the runtime. Reads nothing yet: scripts are read when first attached.
    pub fn build(self) -> Runtime {
        let config = Config {
            script_dir: self.script_dir.unwrap_or_else(|| PathBuf::from(".")),
            sandbox: self.sandbox,
            limits: self.limits.unwrap_or_default(),
            hook_limits: self.hook_limits,
            timing: self.timing,
        };
        let inner = Inner {
            id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
            config,
            generation: AtomicU64::new(1),
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            control: Mutex::new(Control::default()),
            shared: self.shared.unwrap_or_default(),
        };
        Runtime {
            inner: Arc::new(inner),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) script_dir: PathBuf,
    pub(crate) sandbox: Sandbox,
    pub(crate) limits: Limits,
    pub(crate) hook_limits: HashMap<String, Limits>,
    pub(crate) timing: bool,
}

/// A script as compiled into the runtime.
#[derive(Debug, Clone)]
pub(crate) struct ScriptEntry {
    pub(crate) name: Arc<str>,
    pub(crate) source: Arc<[u8]>,
    /// Read from the script directory (reloadable from disk) or given inline.
    pub(crate) from_file: bool,
}

/// One attached function.
#[derive(Clone)]
pub(crate) struct Attachment {
    pub(crate) hook: &'static HookDescriptor,
    pub(crate) script: Arc<str>,
    pub(crate) function: Arc<str>,
    pub(crate) stats: Arc<Counters>,
}

/// What threads build their Lua states from; replaced whole on every change.
pub(crate) struct Snapshot {
    pub(crate) generation: u64,
    pub(crate) scripts: Vec<ScriptEntry>,
    /// Chains by process-wide hook slot.
    pub(crate) chains: Vec<Option<ChainSpec>>,
}

pub(crate) struct ChainSpec {
    pub(crate) hook: &'static HookDescriptor,
    pub(crate) stats: Arc<Counters>,
    pub(crate) limits: Limits,
    pub(crate) attachments: Vec<Attachment>,
}

impl Snapshot {
    fn empty() -> Self {
        Snapshot {
            generation: 1,
            scripts: Vec::new(),
            chains: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Control {
    scripts: BTreeMap<Arc<str>, ScriptEntry>,
    attachments: Vec<Attachment>,
    hook_stats: BTreeMap<&'static str, (&'static HookDescriptor, Arc<Counters>)>,
}

pub(crate) struct Inner {
    pub(crate) id: u64,
    pub(crate) config: Config,
    pub(crate) generation: AtomicU64,
    pub(crate) snapshot: ArcSwap<Snapshot>,
    control: Mutex<Control>,
    pub(crate) shared: SharedStore,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let control = self.control.get_mut().unwrap_or_else(|e| e.into_inner());
        for a in &control.attachments {
            a.hook.sub_attached(1);
        }
    }
}

/// Compiled scripts and their attachments to hooks. `Send + Sync`, cheap to clone
/// (clones share everything); many can live side by side in one process, each with its
/// own scripts, attachments, stats and shared store.
///
/// Each thread that calls a hook gets its own Lua state, built on first use from the
/// runtime's scripts and rebuilt when they change (attach, detach, reload). The call
/// path takes no lock and looks nothing up by string.
///
/// ```
/// # use frrhook::Runtime;
/// let rt = Runtime::new(".");
/// rt.add_script("greet", "function hello() return { text = 'hi' } end").unwrap();
/// assert_eq!(rt.scripts(), vec!["greet".to_string()]);
/// ```
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.inner.id)
            .field("script_dir", &self.inner.config.script_dir)
            .field("generation", &self.generation())
            .finish()
    }
}

/// One attachment as listed by [`Runtime::attachments`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachSpec {
    /// The hook name.
    pub hook: String,
    /// The script name (the file `SCRIPT.lua`).
    pub script: String,
    /// The Lua function.
    pub function: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachFile {
    #[serde(default)]
    attach: Vec<AttachSpec>,
}

impl Runtime {
    /// A builder with every option.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A runtime reading scripts from `script_dir`, with default sandbox and limits.
    pub fn new(script_dir: impl AsRef<Path>) -> Runtime {
        Runtime::builder().script_dir(script_dir).build()
    }

    /// The current generation: it moves on every attach, detach and reload.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Whether calls are timed.
    pub fn timing(&self) -> bool {
        self.inner.config.timing
    }

    /// The script directory.
    pub fn script_dir(&self) -> &Path {
        &self.inner.config.script_dir
    }

    /// The limits that apply to calls of `hook`.
    pub fn limits_for(&self, hook: &str) -> Limits {
        self.inner
            .config
            .hook_limits
            .get(hook)
            .copied()
            .unwrap_or(self.inner.config.limits)
    }

    /// The sandbox scripts run in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.inner.config.sandbox
    }

    /// The shared store scripts see as `shared`.
    pub fn shared(&self) -> &SharedStore {
        &self.inner.shared
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        self.inner.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Compiles `source` as script `name` (inline, not from the script directory) after
    /// checking that it compiles and its top level runs. Replaces a script of the same
    /// name like [`reload_source`](Self::reload_source).
    pub fn add_script(&self, name: &str, source: impl AsRef<[u8]>) -> Result<(), HookError> {
        self.install(name, Arc::from(source.as_ref()), false)
    }

    /// The names of the compiled scripts.
    pub fn scripts(&self) -> Vec<String> {
        self.control()
            .scripts
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    /// Attaches Lua function `function` of script `script` to the hook named `hook`.
    ///
    /// The script is read from the script directory if it is not compiled yet. An unknown
    /// hook, a missing script, a script that does not compile or a missing function is
    /// an error now, not at the first call. Several attachments to one hook form a chain
    /// that runs in attach order.
    pub fn attach(&self, hook: &str, script: &str, function: &str) -> Result<(), HookError> {
        let desc = crate::registry::find(hook)?;
        self.attach_hook(desc, script, function)
    }

    /// [`attach`](Self::attach) with the hook's descriptor instead of its name (works
    /// even where the listing of declared hooks is unavailable).
    pub fn attach_hook(
        &self,
        hook: &'static HookDescriptor,
        script: &str,
        function: &str,
    ) -> Result<(), HookError> {
        let mut control = self.control();
        let entry = match control.scripts.get(script) {
            Some(e) => e.clone(),
            None => {
                let source = loader::read_source(&self.inner.config.script_dir, script)
                    .map_err(|e| e.with_hook(hook.name))?;
                ScriptEntry {
                    name: Arc::from(script),
                    source,
                    from_file: true,
                }
            }
        };
        if control
            .attachments
            .iter()
            .any(|a| std::ptr::eq(a.hook, hook) && &*a.script == script && &*a.function == function)
        {
            return Err(HookError::new(
                ErrorKind::Config,
                format!(
                    "{script}.lua:{function} is already attached to `{}`",
                    hook.name
                ),
            )
            .with_hook(hook.name)
            .with_script(script)
            .with_function(function));
        }
        self.validate(&entry, &[function])
            .map_err(|e| e.with_hook(hook.name))?;
        control.scripts.insert(entry.name.clone(), entry.clone());
        let _ = hook.slot();
        control.attachments.push(Attachment {
            hook,
            script: entry.name.clone(),
            function: Arc::from(function),
            stats: Arc::new(Counters::default()),
        });
        control
            .hook_stats
            .entry(hook.name)
            .or_insert_with(|| (hook, Arc::new(Counters::default())));
        hook.add_attached(1);
        self.publish(&control);
        Ok(())
    }

    /// Detaches `script`'s `function` from `hook`. An error if it was not attached.
    pub fn detach(&self, hook: &str, script: &str, function: &str) -> Result<(), HookError> {
        let mut control = self.control();
        let before = control.attachments.len();
        control
            .attachments
            .retain(|a| !(a.hook.name == hook && &*a.script == script && &*a.function == function));
        let removed = before - control.attachments.len();
        if removed == 0 {
            return Err(HookError::new(
                ErrorKind::Config,
                format!("{script}.lua:{function} is not attached to `{hook}`"),
            )
            .with_hook(hook));
        }
        if let Some((desc, _)) = control.hook_stats.get(hook) {
            desc.sub_attached(removed as u32);
        }
        self.publish(&control);
        Ok(())
    }

    /// Detaches everything from `hook`; returns how many attachments were removed.
    pub fn detach_all(&self, hook: &str) -> usize {
        let mut control = self.control();
        let before = control.attachments.len();
        control.attachments.retain(|a| a.hook.name != hook);
        let removed = before - control.attachments.len();
        if removed > 0 {
            if let Some((desc, _)) = control.hook_stats.get(hook) {
                desc.sub_attached(removed as u32);
            }
            self.publish(&control);
        }
        removed
    }

    /// The attachments in chain order, hook by hook.
    pub fn attachments(&self) -> Vec<AttachSpec> {
        self.control()
            .attachments
            .iter()
            .map(|a| AttachSpec {
                hook: a.hook.name.to_string(),
                script: a.script.to_string(),
                function: a.function.to_string(),
            })
            .collect()
    }

    /// Attaches every `[[attach]]` entry of a TOML document, in order:
    ///
    /// ```toml
    /// [[attach]]
    /// hook = "bgp.route_match"
    /// script = "policy"
    /// function = "route_match"
    /// ```
    ///
    /// All or nothing: if one entry fails, the ones before it are detached again and
    /// the error names the entry.
    pub fn attach_toml(&self, toml_text: &str) -> Result<usize, HookError> {
        let file: AttachFile = toml::from_str(toml_text)
            .map_err(|e| HookError::new(ErrorKind::Config, format!("attachment file: {e}")))?;
        let mut done: Vec<&AttachSpec> = Vec::new();
        for (i, spec) in file.attach.iter().enumerate() {
            if let Err(e) = self.attach(&spec.hook, &spec.script, &spec.function) {
                for d in done.iter().rev() {
                    let _ = self.detach(&d.hook, &d.script, &d.function);
                }
                return Err(HookError::new(
                    e.kind(),
                    format!(
                        "attach entry {} ({} -> {}.lua:{}): {}",
                        i + 1,
                        spec.hook,
                        spec.script,
                        spec.function,
                        e
                    ),
                )
                .with_hook(spec.hook.as_str()));
            }
            done.push(spec);
        }
        Ok(done.len())
    }

    /// [`attach_toml`](Self::attach_toml) on a file.
    pub fn attach_file(&self, path: impl AsRef<Path>) -> Result<usize, HookError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            HookError::new(
                ErrorKind::Io,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        self.attach_toml(&text)
    }

    /// Reloads script `name` from the script directory.
    ///
    /// The new source is compiled and checked first (it compiles, its top level runs,
    /// every attached function exists). On failure the old version keeps running, the
    /// error is logged once and returned. On success new calls use the new code; calls
    /// in flight finish on the old.
    pub fn reload(&self, name: &str) -> Result<(), HookError> {
        let source = loader::read_source(&self.inner.config.script_dir, name)?;
        self.install(name, source, true)
    }

    /// Reloads script `name` from `source` (same checks as [`reload`](Self::reload)).
    pub fn reload_source(&self, name: &str, source: impl AsRef<[u8]>) -> Result<(), HookError> {
        self.install(name, Arc::from(source.as_ref()), false)
    }

    /// Reloads every script read from the script directory. Each is all-or-nothing on its
    /// own; returns the errors of those that failed (and kept their old version).
    pub fn reload_all(&self) -> Vec<HookError> {
        let names: Vec<Arc<str>> = self
            .control()
            .scripts
            .values()
            .filter(|s| s.from_file)
            .map(|s| s.name.clone())
            .collect();
        names.iter().filter_map(|n| self.reload(n).err()).collect()
    }

    fn install(&self, name: &str, source: Arc<[u8]>, from_file: bool) -> Result<(), HookError> {
        loader::check_name(name)?;
        let mut control = self.control();
        let entry = ScriptEntry {
            name: Arc::from(name),
            source,
            from_file,
        };
        let functions: Vec<Arc<str>> = control
            .attachments
            .iter()
            .filter(|a| &*a.script == name)
            .map(|a| a.function.clone())
            .collect();
        let fnames: Vec<&str> = functions.iter().map(|f| &**f).collect();
        if let Err(e) = self.validate(&entry, &fnames) {
            tracing::error!(target: "frrhook::reload", script = name, error = %e, "reload failed; the previous version keeps running");
            return Err(e);
        }
        control.scripts.insert(entry.name.clone(), entry);
        self.publish(&control);
        Ok(())
    }

    /// Compiles `entry` in a scratch state and checks `functions` exist.
    fn validate(&self, entry: &ScriptEntry, functions: &[&str]) -> Result<(), HookError> {
        let state = SandboxedLua::new(&self.inner.config.sandbox).map_err(|e| {
            HookError::new(ErrorKind::Runtime, format!("cannot create Lua state: {e}"))
        })?;
        // A scratch store, so that a top level writing `shared` does not act twice.
        let env = loader::instantiate(
            &state,
            &entry.name,
            &entry.source,
            &SharedStore::default(),
            &self.inner.config.limits,
        )?;
        for f in functions {
            loader::get_function(&env, &entry.name, f)?;
        }
        Ok(())
    }

    /// Publishes a new snapshot built from `control` and moves the generation.
    fn publish(&self, control: &Control) {
        let generation = self.inner.generation.load(Ordering::Acquire) + 1;
        let mut chains: Vec<Option<ChainSpec>> = Vec::new();
        for a in &control.attachments {
            let slot = a.hook.slot();
            if chains.len() <= slot {
                chains.resize_with(slot + 1, || None);
            }
            let chain = chains[slot].get_or_insert_with(|| ChainSpec {
                hook: a.hook,
                stats: control
                    .hook_stats
                    .get(a.hook.name)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default(),
                limits: self.limits_for(a.hook.name),
                attachments: Vec::new(),
            });
            chain.attachments.push(a.clone());
        }
        let snapshot = Snapshot {
            generation,
            scripts: control.scripts.values().cloned().collect(),
            chains,
        };
        self.inner.snapshot.store(Arc::new(snapshot));
        self.inner.generation.store(generation, Ordering::Release);
    }

    /// Stats of every hook that has had something attached, with per-function stats.
    pub fn stats(&self) -> Vec<HookStats> {
        let control = self.control();
        let timing = self.inner.config.timing;
        control
            .hook_stats
            .iter()
            .map(|(name, (_, counters))| HookStats {
                hook: name.to_string(),
                stats: counters.snapshot(timing),
                attachments: control
                    .attachments
                    .iter()
                    .filter(|a| a.hook.name == *name)
                    .map(|a| AttachmentStats {
                        script: a.script.to_string(),
                        function: a.function.to_string(),
                        stats: a.stats.snapshot(timing),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Stats of one hook.
    pub fn hook_stats(&self, hook: &str) -> Option<HookStats> {
        self.stats().into_iter().find(|s| s.hook == hook)
    }

    /// The catalogue: every hook declared in the program (and any attached hook the
    /// listing does not show), with its attachments and stats, sorted by name.
    pub fn hooks(&self) -> Vec<crate::HookInfo> {
        let mut all = crate::registry::declared_hooks();
        {
            let control = self.control();
            for (desc, _) in control.hook_stats.values() {
                if !all.iter().any(|h| std::ptr::eq(*h, *desc)) {
                    all.push(desc);
                }
            }
        }
        all.sort_by(|a, b| a.name.cmp(b.name));
        let stats = self.stats();
        let attachments = self.attachments();
        all.into_iter()
            .map(|d| crate::HookInfo {
                descriptor: d,
                attachments: attachments
                    .iter()
                    .filter(|a| a.hook == d.name)
                    .cloned()
                    .collect(),
                stats: stats.iter().find(|s| s.hook == d.name).cloned(),
            })
            .collect()
    }

    /// Hook names declared more than once in the program, with where.
    pub fn duplicate_hooks(&self) -> Vec<String> {
        crate::registry::duplicates()
            .into_iter()
            .map(|(a, b)| {
                format!(
                    "`{}` declared at {}:{} and {}:{}",
                    a.name, a.file, a.line, b.file, b.line
                )
            })
            .collect()
    }
}
