//! `nuage agent`: the CloudWatch agent's log collection for offline labs. It reads the agent's
//! own configuration (`logs.logs_collected.files.collect_list`), ships the files it names to
//! CloudWatch Logs through nuage's endpoint with signed PutLogEvents requests, and follows
//! them as they grow, remembering how far it read.
mod client;
mod collect;

pub use collect::{run, Options};
