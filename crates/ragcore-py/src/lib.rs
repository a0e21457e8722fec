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
pub mod stream;

use pyo3::prelude::*;

/// The native half of the `ragcore` package; import `ragcore` instead.
#[pymodule]
mod _ragcore {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::kb::NativeKnowledgeBase;

    #[pymodule_export]
    use crate::stream::NativeAnswerStream;

    /// Waits (at most `max_seconds`, GIL released) for background tasks that are still handing
    /// results to asyncio; registered with `atexit` by the `ragcore` package.
    #[pyfunction]
    fn _quiesce(py: Python<'_>, max_seconds: f64) {
        let secs = if max_seconds.is_finite() {
            max_seconds.clamp(0.0, 60.0)
        } else {
            0.0
        };
        crate::runtime::quiesce(py, std::time::Duration::from_secs_f64(secs));
    }

    /// Adds the version and the list of error kind codes.
    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        crate::runtime::mark_origin();
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("ERROR_KINDS", crate::errors::kind_codes())?;
        Ok(())
    }
}
