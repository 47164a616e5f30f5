//! The runtime.

/// A set of compiled scripts and their attachments to hooks.
#[derive(Clone)]
pub struct Runtime {}
