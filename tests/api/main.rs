//! Integration tests: the real service over HTTP on a random port, with a scripted
//! OpenAI-compatible server standing in for the model.

mod actions;
mod articles;
mod browser;
mod chat;
mod durability;
mod errors;
mod eval;
mod handoff;
mod helpers;
mod llm;
mod replicas;
mod reports;
mod scripted_llm;
