//! Used by `#[derive(LuaCodec)]`-generated code only. Not a public API: names and
//! signatures here change without notice.
//!
//! Each trait here stands for one requirement the derive puts on a field, with a
//! `#[diagnostic::on_unimplemented]` text that says which `#[lua(...)]` option made the
//! requirement and how to meet it; the generated code spans every use on the field.

/// `#[lua(default = "path")]` on a field of type `T`: `path` must be a function
/// returning `T`.
#[diagnostic::on_unimplemented(
    message = "the `default` function of a field of type `{T}` must return `{T}`, but it is `{Self}`",
    label = "expected a function `fn() -> {T}`",
    note = "`#[lua(default = \"path\")]` calls `path()` when the field's key is absent; make it return `{T}`, or use `#[lua(default)]` for `Default::default()`"
)]
pub trait DefaultFn<T> {
    /// Calls the function.
    fn call_default(self) -> T;
}

#[diagnostic::do_not_recommend]
impl<T, F: FnOnce() -> T> DefaultFn<T> for F {
    #[inline]
    fn call_default(self) -> T {
        self()
    }
}

/// What a field marked `#[lua(skip)]` or `#[lua(default)]` is filled with when its key
/// is absent: `Default::default()`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no default value: a field marked `#[lua(skip)]` or `#[lua(default)]` is set to `Default::default()` when decoding",
    label = "`{Self}` does not implement `Default`",
    note = "add `#[derive(Default)]` to the definition of `{Self}` (or implement `Default` by hand); for `#[lua(default)]` you can instead name a function: `#[lua(default = \"path::to::function\")]`"
)]
pub trait FieldDefault: Sized {
    /// `Default::default()`.
    fn field_default() -> Self;
}

#[diagnostic::do_not_recommend]
impl<T: Default> FieldDefault for T {
    #[inline]
    fn field_default() -> T {
        T::default()
    }
}
