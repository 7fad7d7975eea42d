//! Cancellation and progress shared between a long call and its caller.
//!
//! The caller (the Python glue) polls `progress` and sets `cancel` when the
//! user presses Ctrl-C; long loops call [`Control::check`] often enough that a
//! cancel takes effect well within a second. A call too short to be worth a
//! watching thread runs on the caller's thread instead, and its control asks a
//! poll function at every check ([`Control::with_poll`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Asked at every [`Control::check`]: whether to cancel now.
type Poll = Box<dyn Fn() -> bool + Send + Sync>;

#[derive(Default)]
pub struct Control {
    cancel: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    poll: Option<Poll>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("cancel", &self.cancel)
            .field("done", &self.done)
            .field("total", &self.total)
            .field("poll", &self.poll.is_some())
            .finish()
    }
}

impl Control {
    pub const fn new() -> Self {
        Control {
            cancel: AtomicBool::new(false),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            poll: None,
        }
    }

    /// A control that also cancels when `poll` says so at a check.
    pub fn with_poll(poll: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Control {
            poll: Some(Box::new(poll)),
            ..Control::new()
        }
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// `Err(Interrupted)` once [`Control::cancel`] was called.
    pub fn check(&self) -> Result<()> {
        if self.poll.as_ref().is_some_and(|poll| poll()) {
            self.cancel();
        }
        if self.cancel.load(Ordering::Relaxed) {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }

    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// (units done, units in total) of the current phase.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}
