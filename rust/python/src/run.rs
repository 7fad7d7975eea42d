//! The one choke point for long calls: runs core work on a worker thread with
//! the GIL released, polls for Ctrl-C (turned into the core's cancel flag) and
//! reports progress to an optional Python callback, in the calling thread.

use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::prelude::*;

use archmotif_core::control::Control;
use archmotif_core::Result as CoreResult;

use crate::errors::{internal_error, invalid_argument};

/// Stack of the worker threads: canonical search recurses once per
/// individualised vertex (at most `MAX_CANON_NODES` deep).
const STACK: usize = 64 << 20;

/// Runs short core work with the GIL released; a panic (a bug) becomes
/// `archmotif.InternalError` instead of crossing into Python.
pub fn detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)))
        .map_err(|payload| internal_error(py, payload.as_ref()))
}

/// Panics on purpose, directly or inside the rayon pool of [`run_blocking`], so
/// the tests can check that a panic reaches Python as `archmotif.InternalError`.
#[pyfunction]
pub fn _panic_for_tests(py: Python<'_>, in_pool: bool) -> PyResult<()> {
    if in_pool {
        let ctl = Control::new();
        run_blocking(py, Some(2), None, &ctl, || -> CoreResult<()> {
            use rayon::prelude::*;
            (0..4)
                .into_par_iter()
                .for_each(|i| assert!(i < 3, "deliberate panic in the pool"));
            Ok(())
        })?
        .map_err(|_| pyo3::exceptions::PyAssertionError::new_err("no panic"))
    } else {
        detached(py, || panic!("deliberate panic"))
    }
}

/// Runs `work` in a rayon pool of `threads` (the global pool when `None`).
pub fn run_blocking<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    progress: Option<&Bound<'_, PyAny>>,
    ctl: &Control,
    work: impl FnOnce() -> CoreResult<T> + Send,
) -> PyResult<CoreResult<T>> {
    if threads == Some(0) {
        return Err(invalid_argument(
            "threads must be at least 1 (or None for all cores)",
        ));
    }
    let pool = pool(threads)?;
    watched(py, progress, ctl, || pool.install(work))
}

/// The pool of `threads` workers (None: rayon's default, RAYON_NUM_THREADS or one
/// per core), built on first use and kept: a pool per call cost a thread start per
/// worker on every call. Not rayon's global pool, whose workers have the default
/// stack, too small for canonical search. A process forked after a pool was built
/// (PyTorch DataLoader workers) has the pool but not its threads: its first call
/// builds pools of its own, and the parent's are forgotten, never joined.
fn pool(threads: Option<usize>) -> PyResult<Arc<rayon::ThreadPool>> {
    type Pools = (u32, Vec<(Option<usize>, Arc<rayon::ThreadPool>)>);
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(|| Mutex::new((std::process::id(), Vec::new())))
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if pools.0 != std::process::id() {
        std::mem::forget(std::mem::take(&mut pools.1));
        pools.0 = std::process::id();
    }
    if let Some((_, p)) = pools.1.iter().find(|(t, _)| *t == threads) {
        return Ok(Arc::clone(p));
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .stack_size(STACK)
        .build()
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    let built = Arc::new(built);
    pools.1.push((threads, Arc::clone(&built)));
    Ok(built)
}

/// Runs single-threaded `work` on this thread with the GIL released, handing
/// it a control whose checks take the GIL back for an instant to look for
/// Ctrl-C: no thread to start, so a short call costs nothing more (a watching
/// thread would cost more than hashing a small graph). Work that polls from
/// other threads must use [`interruptible`]: only this thread sees signals.
pub fn inline_interruptible<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&Control) -> CoreResult<T> + Send,
) -> PyResult<CoreResult<T>> {
    let raised: Arc<Mutex<Option<PyErr>>> = Arc::default();
    let stash = Arc::clone(&raised);
    let ctl = Control::with_poll(move || {
        Python::attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(e) => {
                *stash.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                true
            }
        })
    });
    let r = detached(py, || work(&ctl))?;
    // the exception the signal handler raised (KeyboardInterrupt for Ctrl-C)
    let signalled = raised.lock().unwrap_or_else(|p| p.into_inner()).take();
    match signalled {
        Some(e) => Err(e),
        None => Ok(r),
    }
}

/// Runs `work` (which polls `ctl`, from any thread) on a worker thread with
/// the GIL released, turning Ctrl-C into a cancel: for calls that use the
/// global pool but not one of their own (`contract`).
pub fn interruptible<T: Send>(
    py: Python<'_>,
    ctl: &Control,
    work: impl FnOnce() -> CoreResult<T> + Send,
) -> PyResult<CoreResult<T>> {
    watched(py, None, ctl, work)
}

/// Runs `work` on a worker thread while this thread, holding the GIL only
/// between waits, checks for Ctrl-C and reports progress every 50 ms.
fn watched<T: Send>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    ctl: &Control,
    work: impl FnOnce() -> CoreResult<T> + Send,
) -> PyResult<CoreResult<T>> {
    let spawn_err = |e: std::io::Error| pyo3::exceptions::PyRuntimeError::new_err(e.to_string());
    // The worker says when it is done (or drops the sender when it panics),
    // so a short call returns at once instead of at the next poll.
    let (done, mut finished) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(s, move || {
                let r = work();
                let _ = done.send(());
                r
            })
            .map_err(spawn_err)?;
        let mut last = (u64::MAX, u64::MAX);
        loop {
            // (a Receiver is Send but not Sync: it goes to the waiting closure and back)
            let waited;
            (waited, finished) =
                py.detach(move || (finished.recv_timeout(Duration::from_millis(50)), finished));
            if !matches!(waited, Err(RecvTimeoutError::Timeout)) {
                break;
            }
            if let Err(e) = py.check_signals() {
                ctl.cancel();
                let _ = py.detach(|| handle.join());
                return Err(e);
            }
            if let Some(cb) = progress {
                let now = ctl.progress();
                if now != last {
                    last = now;
                    if let Err(e) = cb.call1(now) {
                        ctl.cancel();
                        let _ = py.detach(|| handle.join());
                        return Err(e);
                    }
                }
            }
        }
        match py.detach(|| handle.join()) {
            Ok(r) => Ok(r),
            Err(payload) => Err(internal_error(py, payload.as_ref())),
        }
    })
}
