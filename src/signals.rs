//! SIGINT, SIGTERM and SIGHUP during a launch: recorded and turned into "stop what is in
//! flight", so the launch unwinds through its teardown instead of dying. I/O.

use crate::engine::in_flight::InFlight;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::Arc;

/// From now on these signals no longer kill bottle; they stop the current step.
pub fn install(in_flight: Arc<InFlight>) -> anyhow::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("bottle-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                in_flight.interrupt(signal);
            }
        })?;
    Ok(())
}
