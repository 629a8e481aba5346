//! The channel flavors. Each is a self-contained queue protocol behind the same handles.

pub(crate) mod array;
pub(crate) mod list;
pub(crate) mod zero;
