//! Request and store metrics through the `metrics` crate, rendered in the
//! Prometheus text format by `metrics-exporter-prometheus`.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use async_trait::async_trait;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use notes_core::{ChangeEvent, Email, NewNote, Note, NoteId, NoteUpdate, Seq, StoredUser, User, UserId};
use notes_store::{Committed, Dump, PageCursor, Snapshot, Store, StoreError};

/// Latency buckets in seconds, from 0.5 ms to 5 s.
const LATENCY_BUCKETS: [f64; 13] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Returns the process-wide Prometheus recorder, installing it on first use.
///
/// The `metrics` facade has one global recorder per process, so servers that
/// share a process (as tests do) share these series. `None` means another
/// recorder was installed first; the server then serves only its hub
/// counters.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(&LATENCY_BUCKETS);
            match builder.and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => Some(handle),
                Err(error) => {
                    tracing::warn!(error = %error, "metrics recorder not installed; /metrics shows hub counters only");
                    None
                }
            }
        })
        .as_ref()
}

/// Records one finished HTTP request. `route` is the matched route pattern,
/// such as `/api/notes/{id}`, so ids do not create a series each.
pub fn record_request(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
    metrics::counter!("notes_http_requests_total", &labels).increment(1);
    metrics::histogram!("notes_http_request_duration_seconds", &labels).record(seconds);
}

/// A store that records the latency and outcome of every call, by operation.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
}

impl MeteredStore {
    /// Wraps a store.
    pub fn wrap(inner: Arc<dyn Store>) -> Arc<dyn Store> {
        Arc::new(Self { inner })
    }
}

async fn timed<T>(
    operation: &'static str,
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call.await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(StoreError::Backend(_) | StoreError::Incompatible(_)) => "error",
        Err(_) => "rejected",
    };
    metrics::histogram!("notes_store_operation_duration_seconds", "operation" => operation, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    result
}

#[async_trait]
impl Store for MeteredStore {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        timed("ping", self.inner.ping()).await
    }

    async fn create_user(&self, user: StoredUser) -> Result<(), StoreError> {
        timed("create_user", self.inner.create_user(user)).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        timed("user_by_email", self.inner.user_by_email(email)).await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        timed("user_by_id", self.inner.user_by_id(id)).await
    }

    async fn list_notes(&self) -> Result<Vec<Note>, StoreError> {
        timed("list_notes", self.inner.list_notes()).await
    }

    async fn list_notes_page(&self, after: Option<PageCursor>, limit: usize) -> Result<Vec<Note>, StoreError> {
        timed("list_notes_page", self.inner.list_notes_page(after, limit)).await
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        timed("snapshot", self.inner.snapshot()).await
    }

    async fn get_note(&self, id: NoteId) -> Result<Note, StoreError> {
        timed("get_note", self.inner.get_note(id)).await
    }

    async fn create_note(&self, owner: &User, input: NewNote) -> Result<Committed, StoreError> {
        timed("create_note", self.inner.create_note(owner, input)).await
    }

    async fn update_note(&self, actor: UserId, id: NoteId, update: NoteUpdate) -> Result<Committed, StoreError> {
        timed("update_note", self.inner.update_note(actor, id, update)).await
    }

    async fn delete_note(&self, actor: UserId, id: NoteId) -> Result<Committed, StoreError> {
        timed("delete_note", self.inner.delete_note(actor, id)).await
    }

    async fn current_seq(&self) -> Result<Seq, StoreError> {
        timed("current_seq", self.inner.current_seq()).await
    }

    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangeEvent>, StoreError> {
        timed("changes_since", self.inner.changes_since(after, limit)).await
    }

    async fn export(&self) -> Result<Dump, StoreError> {
        timed("export", self.inner.export()).await
    }

    async fn import(&self, dump: Dump) -> Result<(), StoreError> {
        timed("import", self.inner.import(dump)).await
    }
}
