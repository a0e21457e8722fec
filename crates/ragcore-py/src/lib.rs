//! Python bindings of ragcore: the native module `ragcore._ragcore`, wrapped by the pure-Python
//! package `ragcore` (`python/ragcore`), which holds the public classes.
//!
//! The bindings stay thin: argument conversion ([`convert`]), error mapping ([`errors`]),
//! Python objects as embedder, guard and chat model ([`callbacks`]), the runtime the awaitables
//! and blocking calls run on ([`runtime`]), and the knowledge-base handle ([`kb`]). All
//! retrieval and answering logic is the core's.
#![warn(missing_docs)]

pub mod callbacks;
pub mod convert;
pub mod errors;
pub mod kb;
pub mod runtime;

use pyo3::prelude::*;

/// The native half of the `ragcore` package; import `ragcore` instead.
#[pymodule]
mod _ragcore {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::kb::NativeKnowledgeBase;

    /// Adds the version and the list of error kind codes.
    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        crate::runtime::mark_origin();
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("ERROR_KINDS", crate::errors::kind_codes())?;
        Ok(())
    }
}
