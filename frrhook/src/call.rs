use crate::__private::HookArgs;
use crate::{HookError, Runtime};

pub(crate) fn call<A: HookArgs>(rt: &Runtime, args: &mut A) -> Result<A::Results, HookError> {
    let _ = (rt, args);
    todo!()
}
