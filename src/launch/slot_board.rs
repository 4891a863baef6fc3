//! `SlotBoard`: the slots filled during one launch, shared by its lanes. A step waits here
//! until the slots it needs are filled (by an earlier step, or by another lane of its
//! phase), or until the launch stops. In-memory only.

use crate::plan::slot::{Slot, SlotValues};
use anyhow::Result;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How often a waiting step checks whether the launch stopped.
const RECHECK: Duration = Duration::from_millis(50);

pub(crate) struct SlotBoard {
    values: Mutex<SlotValues>,
    filled: Condvar,
}

impl SlotBoard {
    pub fn new(initial: SlotValues) -> SlotBoard {
        SlotBoard {
            values: Mutex::new(initial),
            filled: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlotValues> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn fill(&self, slot: Slot, value: impl Into<String>) {
        self.lock().set(slot, value);
        self.filled.notify_all();
    }

    pub fn snapshot(&self) -> SlotValues {
        self.lock().clone()
    }

    /// The slots once every one in `needs` is filled; `stop` is asked while waiting and
    /// its error ends the wait.
    pub fn wait(&self, needs: &[Slot], stop: impl Fn() -> Result<()>) -> Result<SlotValues> {
        let mut values = self.lock();
        loop {
            if needs.iter().all(|s| values.get(*s).is_some()) {
                return Ok(values.clone());
            }
            stop()?;
            values = self
                .filled
                .wait_timeout(values, RECHECK)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}
