//! The work budget of one canonical-form call, and its cancellation polls.
//!
//! Work is counted in units of roughly constant cost (a neighbour visited, a
//! vertex moved, a form entry written), never in time, so whether a graph is
//! refused does not depend on the machine or its load.

use crate::control::Control;
use crate::error::{Error, Result};

/// Most work units one call may spend before [`Error::CanonBudget`]; a search
/// inside it takes well under a second in a release build.
pub const WORK_BUDGET: u64 = 1 << 27;

/// Units between two looks at the cancel flag (well under a millisecond).
const POLL_EVERY: u64 = 1 << 16;

/// The work every search of a graph with `n` vertices and `m` edges spends
/// whatever its shape: the first refinement round and one leaf.
pub(super) fn unavoidable(n: usize, m: usize) -> u64 {
    19 * n as u64 + 12 * m as u64
}

pub(super) struct Meter<'c> {
    used: u64,
    budget: u64,
    next_check: u64,
    ctl: &'c Control,
    num_nodes: usize,
}

impl<'c> Meter<'c> {
    pub fn new(ctl: &'c Control, num_nodes: usize, budget: u64) -> Self {
        Meter {
            used: 0,
            budget,
            next_check: POLL_EVERY.min(budget.saturating_add(1)),
            ctl,
            num_nodes,
        }
    }

    /// Counts `units` of work; fails once over budget or cancelled.
    #[inline]
    pub fn add(&mut self, units: u64) -> Result<()> {
        self.used += units;
        if self.used >= self.next_check {
            self.check()
        } else {
            Ok(())
        }
    }

    #[cold]
    fn check(&mut self) -> Result<()> {
        if self.used > self.budget {
            return Err(Error::CanonBudget {
                num_nodes: self.num_nodes,
                budget: self.budget,
            });
        }
        self.ctl.check()?;
        self.next_check = (self.used + POLL_EVERY).min(self.budget.saturating_add(1));
        Ok(())
    }

    /// Fails now if `units` more would not fit the budget: refuses a graph
    /// whose size alone rules it out before spending anything on it.
    pub fn fits(&self, units: u64) -> Result<()> {
        if self.used.saturating_add(units) > self.budget {
            return Err(Error::CanonBudget {
                num_nodes: self.num_nodes,
                budget: self.budget,
            });
        }
        Ok(())
    }

    pub fn used(&self) -> u64 {
        self.used
    }
}
