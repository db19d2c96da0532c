//! Factories of fresh, empty stores for the conformance suite.

use std::sync::Arc;

use notes_store::{MemoryStore, Store};

pub async fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}
