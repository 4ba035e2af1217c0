//! The heart of the service: one customer message in, replies (and maybe a handoff) out.
//! `turn` reads top to bottom as the pipeline of DESIGN.md.

mod account;
pub mod confidence;
mod grounding;
pub mod intent;
pub mod locks;
mod model;
pub mod signals;
mod smalltalk;
pub mod triggers;
pub mod turn;

pub use smalltalk::latest_need;
pub use turn::{INTERNAL, Timings, TurnEvent, post_customer_message};
