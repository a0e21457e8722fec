//! The tokio runtime the binding owns, and the two ways Python waits for Rust work on it:
//! [`awaitable`] (an `asyncio` future, through `pyo3-async-runtimes`) and [`block_on`] (the
//! calling thread blocks with the GIL released, still answering Ctrl-C).
//!
//! The runtime is created lazily and belongs to one process: after `fork()` the child has none
//! of the parent's worker threads, so the first call in the child builds a fresh runtime (the
//! parent's is leaked in the child, never dropped, because dropping it would wait for threads
//! that do not exist there).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3_async_runtimes::generic::{self, ContextExt, JoinError, Runtime as GenericRuntime};
use pyo3_async_runtimes::TaskLocals;
use tokio::runtime::{Builder, Runtime};

/// The pid of the process that imported the module (set by [`mark_origin`]).
static ORIGIN_PID: OnceLock<u32> = OnceLock::new();

/// Remembers the importing process, so that a forked child can tell it is one.
pub fn mark_origin() {
    ORIGIN_PID.get_or_init(std::process::id);
}

/// Whether this process is a `fork()` child of the one that imported the module.
pub fn in_forked_child() -> bool {
    ORIGIN_PID
        .get()
        .is_some_and(|origin| *origin != std::process::id())
}

/// The runtime of this process: the pid that built it and the runtime itself (leaked, so that
/// it lives as long as the process and is never dropped in a forked child).
static CURRENT: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

tokio::task_local! {
    /// The Python event loop and context of the `await` that started the current task, so that
    /// async Python callbacks run on the caller's loop.
    static LOCALS: TaskLocals;
}

/// The runtime of the current process, built on first use and again after a `fork()`.
pub fn runtime() -> std::io::Result<&'static Runtime> {
    let pid = std::process::id();
    let mut slot = CURRENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((owner, rt)) = *slot {
        if owner == pid {
            return Ok(rt);
        }
    }
    let rt = Builder::new_multi_thread()
        .enable_all()
        .thread_name("ragcore-py")
        .build()?;
    let rt: &'static Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt)
}

fn runtime_py() -> PyResult<&'static Runtime> {
    runtime().map_err(|e| PyRuntimeError::new_err(format!("cannot start the ragcore runtime: {e}")))
}

/// Why a task spawned for `pyo3-async-runtimes` ended without a value.
#[derive(Debug)]
pub enum TaskError {
    /// The tokio task failed (panicked or was cancelled).
    Join(tokio::task::JoinError),
    /// No runtime could be started.
    NoRuntime(String),
}

impl JoinError for TaskError {
    fn is_panic(&self) -> bool {
        match self {
            TaskError::Join(e) => e.is_panic(),
            TaskError::NoRuntime(_) => true,
        }
    }

    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        match self {
            TaskError::Join(e) => match e.try_into_panic() {
                Ok(payload) => payload,
                Err(e) => Box::new(e.to_string()),
            },
            TaskError::NoRuntime(message) => Box::new(message),
        }
    }
}

/// The binding's runtime as seen by `pyo3-async-runtimes` (spawns onto [`runtime`]).
pub struct ForkSafeRuntime;

/// A spawned task's completion.
pub type TaskHandle = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;

fn spawn_on<F>(spawn: F) -> TaskHandle
where
    F: FnOnce(&'static Runtime) -> tokio::task::JoinHandle<()>,
{
    match runtime() {
        Ok(rt) => {
            let handle = spawn(rt);
            Box::pin(async move { handle.await.map_err(TaskError::Join) })
        }
        Err(e) => {
            let message = format!("cannot start the ragcore runtime: {e}");
            Box::pin(async move { Err(TaskError::NoRuntime(message)) })
        }
    }
}

/// Tasks spawned for `asyncio` awaitables that have not finished yet. Their last step hands the
/// result to the event loop (`call_soon_threadsafe`), which briefly releases and re-takes the
/// GIL; if the interpreter is finalizing at that moment CPython ends the thread with
/// `pthread_exit`, which aborts the process when it unwinds through Rust frames. [`quiesce`],
/// run from an `atexit` hook, waits for them with the GIL released.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Decrements [`IN_FLIGHT`] when dropped (also on panic or cancellation).
struct InFlight;

impl InFlight {
    fn start() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits (GIL released, at most `max`) until no awaitable task is still handing a result to
/// Python. Called by `ragcore`'s `atexit` hook before the interpreter finalizes.
pub fn quiesce(py: Python<'_>, max: std::time::Duration) {
    if IN_FLIGHT.load(Ordering::SeqCst) == 0 {
        return;
    }
    py.detach(|| {
        let deadline = std::time::Instant::now() + max;
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
}

impl GenericRuntime for ForkSafeRuntime {
    type JoinError = TaskError;
    type JoinHandle = TaskHandle;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let guard = InFlight::start();
        spawn_on(move |rt| {
            rt.spawn(async move {
                let _guard = guard;
                fut.await
            })
        })
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        let guard = InFlight::start();
        spawn_on(move |rt| {
            rt.spawn_blocking(move || {
                let _guard = guard;
                f()
            })
        })
    }
}

impl ContextExt for ForkSafeRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        Box::pin(LOCALS.scope(locals, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        LOCALS.try_with(TaskLocals::clone).ok()
    }
}

/// The Python event loop of the `await` running the current task, if any (none for the
/// blocking facade).
pub fn task_locals() -> Option<TaskLocals> {
    ForkSafeRuntime::get_task_locals()
}

/// Runs `fut` on the binding's runtime and returns an `asyncio` future for its value. Must be
/// called from a coroutine running on an event loop.
pub fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    runtime_py()?;
    let locals =
        match pyo3_async_runtimes::get_running_loop(py) {
            Ok(event_loop) => TaskLocals::new(event_loop).copy_context(py)?,
            Err(_) => return Err(PyRuntimeError::new_err(
                "no running event loop: await the AsyncKnowledgeBase methods inside a coroutine \
                 (asyncio.run(...)), or use the blocking ragcore.KnowledgeBase",
            )),
        };
    generic::future_into_py_with_locals::<ForkSafeRuntime, _, T>(py, locals, async move {
        Ok(fut.await)
    })
}

/// Runs `fut` on the binding's runtime and blocks the calling thread until it is done, with the
/// GIL released; Ctrl-C (any pending signal handler that raises) cancels the task.
pub fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime_py()?;
    let (tx, rx) = mpsc::channel();
    let task = rt.spawn(async move {
        // The receiver is gone only when the caller was interrupted; nothing to report then.
        let _ = tx.send(fut.await);
    });
    let mut rx = rx;
    loop {
        let (received, back) = py.detach(move || {
            let r = rx.recv_timeout(Duration::from_millis(50));
            (r, rx)
        });
        rx = back;
        match received {
            Ok(value) => return Ok(value),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    task.abort();
                    return Err(e);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "the ragcore task ended without a result (it panicked or was cancelled)",
                ))
            }
        }
    }
}
