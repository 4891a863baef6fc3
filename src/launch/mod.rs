//! Running a plan: the values asked for at launch, the bottle's CA and its check, the
//! executor and its slot board; what the launch created is taken back by [`crate::teardown`]. I/O through
//! the engine; the CA check and the slot board are pure or in memory.

pub mod bottle_ca;
pub mod ca_cert;
pub mod executor;
pub mod host_ports;
pub mod launch_values;
pub(crate) mod slot_board;
pub mod supervisor;
pub(crate) mod tree_archive;
