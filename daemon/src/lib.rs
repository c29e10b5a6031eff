//! ptc's system service. One `ptc daemon` process owns the Vulkan device
//! and the runtime's scheduler; programs connect over a Unix socket and run
//! their graphs there, so priorities hold *between programs* (the PTask
//! paper's system-wide arbitration), not only between the graphs of one
//! process.
//!
//! * [`server::serve`] — the daemon ([`server::engine`]: the one thread that
//!   owns the device; [`server::conn`]: a reader and a writer thread per
//!   client).
//! * [`client`] — a [`client::Connection`] (handshake, requests, events) and
//!   [`client::Client`], the library's push/pull API implementing
//!   [`ptc_runtime::GraphHost`] like [`ptc_runtime::Runtime`] does.
//! * [`proto`] — the versioned wire protocol; frames never cross the
//!   socket's byte stream: runs read and write files the client opened and
//!   passed (`SCM_RIGHTS`), push/pull graphs use [`shm`] slots.
//! * [`policy`] — peer credentials, the priority rule (above 50 needs root,
//!   `CAP_SYS_NICE` or a config rule) and per-user caps.

pub mod client;
pub mod policy;
pub mod proto;
pub mod server;
pub mod shm;
