//! `InFlight`: the docker commands running now, so that a signal can stop them, and the
//! first signal seen. Shared between the signal thread and the engine. I/O (kills
//! processes).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

/// Commands in flight, so a signal can stop them; and the first signal seen.
#[derive(Default)]
pub struct InFlight {
    handles: Mutex<Vec<Arc<duct::Handle>>>,
    signal: AtomicI32,
}

impl InFlight {
    /// Records `signal` (the first one wins) and kills every registered command.
    pub fn interrupt(&self, signal: i32) {
        let _ = self
            .signal
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        for handle in self
            .handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = handle.kill();
        }
    }

    /// The signal that interrupted the launch, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    /// Adds a command to stop on a signal; one started after the signal is stopped at once
    /// (the flag is set before `interrupt` takes the lock, so no command slips between).
    pub(crate) fn register(&self, handle: Arc<duct::Handle>) {
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        if self.signal().is_some() {
            let _ = handle.kill();
        }
        handles.push(handle);
    }

    pub(crate) fn unregister(&self, handle: &Arc<duct::Handle>) {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|h| !Arc::ptr_eq(h, handle));
    }
}
