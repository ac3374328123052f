//! Policies nuage itself needs in evaluation: everything (a root's federated user) and
//! nothing (a federated user without session policies).
use nuage_policy::{Policy, PolicyKind};
use std::sync::{Arc, OnceLock};

fn parsed(doc: &str) -> Arc<Policy> {
    Arc::new(Policy::parse(doc, PolicyKind::Identity).expect("a built-in policy parses"))
}

pub fn allow_all() -> Arc<Policy> {
    static P: OnceLock<Arc<Policy>> = OnceLock::new();
    P.get_or_init(|| parsed(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#))
        .clone()
}

/// Allows no action: as a session policy, it leaves the session no permission.
pub fn allow_nothing() -> Arc<Policy> {
    static P: OnceLock<Arc<Policy>> = OnceLock::new();
    P.get_or_init(|| {
        parsed(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"*","Resource":"*"}]}"#)
    })
    .clone()
}
