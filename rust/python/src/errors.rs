//! The one conversion of errors into Python exceptions: every core error kind
//! maps to its class of `archmotif.errors` (looked up once per process, not per
//! error), bad arguments the glue itself finds are `archmotif.InvalidArgument`
//! and a caught panic is `archmotif.InternalError`, so every error archmotif
//! raises on purpose is an `ArchmotifError`. Ctrl-C stays `KeyboardInterrupt`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use archmotif_core::{Error, ErrorKind};

static GRAPH: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static LIMIT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static FORMAT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INVALID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INTERNAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `archmotif.errors.<name>` with `msg` (the import error itself if the class
/// cannot be found, which only a broken installation sees).
fn raise(py: Python<'_>, cell: &'static PyOnceLock<Py<PyType>>, name: &str, msg: String) -> PyErr {
    match cell.import(py, "archmotif.errors", name) {
        Ok(cls) => PyErr::from_type(cls.clone(), msg),
        Err(e) => e,
    }
}

/// The Python exception of a core error.
pub(crate) fn to_pyerr(py: Python<'_>, err: Error) -> PyErr {
    let msg = err.to_string();
    match err.kind() {
        ErrorKind::Graph => raise(py, &GRAPH, "GraphError", msg),
        ErrorKind::Limit => raise(py, &LIMIT, "LimitError", msg),
        ErrorKind::Format => raise(py, &FORMAT, "FormatError", msg),
        ErrorKind::InvalidArgument => raise(py, &INVALID, "InvalidArgument", msg),
        ErrorKind::Interrupted => pyo3::exceptions::PyKeyboardInterrupt::new_err(msg),
    }
}

/// A core error on its way to Python: `?` converts it (`From`), so glue code
/// writes `work().map_err(CoreError)?` or returns `Result<_, CoreError>`.
pub(crate) struct CoreError(pub Error);

impl From<Error> for CoreError {
    fn from(e: Error) -> Self {
        CoreError(e)
    }
}

impl From<CoreError> for PyErr {
    fn from(e: CoreError) -> PyErr {
        Python::attach(|py| to_pyerr(py, e.0))
    }
}

/// `archmotif.InvalidArgument` (a `ValueError`) for an argument the glue refuses.
pub(crate) fn invalid_argument(msg: impl Into<String>) -> PyErr {
    Python::attach(|py| raise(py, &INVALID, "InvalidArgument", msg.into()))
}

/// `archmotif.InternalError` for a caught panic, with its message.
pub(crate) fn internal_error(py: Python<'_>, payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    let msg = format!("a bug in archmotif's core (please report it): {what}");
    raise(py, &INTERNAL, "InternalError", msg)
}
