//! TaskerWriter: the mailbox every write to Tasker goes through.
//!
//! - **Ordered per card**: writes to one card run one at a time, in arrival order
//!   (a later change never overtakes an earlier one); writes to different cards, and
//!   new cards, proceed in parallel. A project-wide write (a new member) has its
//!   project as its lane.
//! - **Bounded**: a full queue (in all, or for one project) answers "busy, retry
//!   after N seconds" instead of growing.
//! - **Checked**: a write is a [`Job`] written by its tool: the write, then a read-back
//!   showing it took effect; a write that did not (a label dropped, a state unchanged)
//!   is an error, never a success.
//!
//! It holds only queued work: nothing is acknowledged until Tasker has answered, so a
//! restart loses no acknowledged write (callers waiting on dropped work get an error
//! and retry with the same idempotency key, which Tasker deduplicates).

mod handlers;

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::tasker::client::{CallContext, TaskerClient, TaskerConfig, TaskerError};
use crate::tasker::contract::{Endpoint, Issue, ProjectContext};
pub use handlers::{Submit, WriterStats, WriterStatsReply};

/// Queue bounds.
#[derive(Debug, Clone)]
pub struct WriterLimits {
    /// Writes queued or running, over all projects.
    pub max_pending: usize,
    /// Writes queued or running for one project.
    pub max_per_project: usize,
}

impl Default for WriterLimits {
    fn default() -> Self {
        Self { max_pending: 256, max_per_project: 32 }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("the Tasker write queue is full; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error(transparent)]
    Tasker(#[from] TaskerError),
    /// Tasker accepted the write, but reading the card back shows it did not apply.
    #[error("the write did not take effect: {0}")]
    NotApplied(String),
    #[error("the write was dropped before it ran (the writer restarted); retry with the same idempotency key")]
    Dropped,
    /// The writer's mailbox could not be reached.
    #[error("the writer is unreachable: {0}")]
    Unreachable(String),
}

/// What a job is given to run: the Tasker client, the call's context and the
/// idempotency key that travels to Tasker with the write.
pub struct Writing {
    client: TaskerClient,
    cx: CallContext,
    key: String,
}

impl Writing {
    /// The write itself.
    pub async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint<B, T>,
        params: &[&str],
        body: &B,
    ) -> Result<T, WriteError> {
        Ok(self.client.write(endpoint, params, body, &self.cx, &self.key).await?)
    }

    /// The card as it is now, for the read-back.
    pub async fn card(&self, id: Uuid) -> Result<Issue, WriteError> {
        Ok(self.client.get_issue(&self.cx, &id.to_string()).await?)
    }

    /// The project's states, labels and members, for the read-back.
    pub async fn context(&self, project: Uuid) -> Result<ProjectContext, WriteError> {
        Ok(self.client.project_context(&self.cx, project).await?)
    }
}

type Erased = Result<Box<dyn Any + Send>, WriteError>;
type RunJob = Box<dyn FnOnce(Writing) -> LocalBoxFuture<'static, Erased> + Send>;

/// One write as its tool defines it, answering `T`. It runs after the writes queued
/// before it in the same lane (its card, its project, or none for a new card), and
/// counts against its project's share of the queue.
pub struct Job<T> {
    project: Uuid,
    lane: Uuid,
    run: RunJob,
    answer: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + 'static> Job<T> {
    /// A write to an existing card: after the writes to that card queued before it.
    pub fn on_card<F, Fut>(project: Uuid, card: Uuid, f: F) -> Self
    where
        F: FnOnce(Writing) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, WriteError>> + 'static,
    {
        Self::in_lane(project, card, f)
    }

    /// A project-wide write (a new member): after the project's other such writes.
    pub fn on_project<F, Fut>(project: Uuid, f: F) -> Self
    where
        F: FnOnce(Writing) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, WriteError>> + 'static,
    {
        Self::in_lane(project, project, f)
    }

    /// A new card: nothing to wait for.
    pub fn new_card<F, Fut>(project: Uuid, f: F) -> Self
    where
        F: FnOnce(Writing) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, WriteError>> + 'static,
    {
        Self::in_lane(project, Uuid::new_v4(), f)
    }

    fn in_lane<F, Fut>(project: Uuid, lane: Uuid, f: F) -> Self
    where
        F: FnOnce(Writing) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, WriteError>> + 'static,
    {
        let run: RunJob = Box::new(move |w| f(w).map(|r| r.map(|t| Box::new(t) as Box<dyn Any + Send>)).boxed_local());
        Self { project, lane, run, answer: std::marker::PhantomData }
    }
}

/// Queues `job` and waits for its answer.
pub async fn submit<T: Send + 'static>(
    writer: &Addr<TaskerWriter>,
    job: Job<T>,
    cx: CallContext,
    idempotency_key: String,
) -> Result<T, WriteError> {
    let message = Submit { project: job.project, lane: job.lane, run: job.run, cx, idempotency_key };
    let answer = writer.send(message).await.map_err(|e| WriteError::Unreachable(e.to_string()))??;
    answer.downcast::<T>().map(|t| *t).map_err(|_| WriteError::Unreachable("a job answered another type".into()))
}

struct Queued {
    project: Uuid,
    run: RunJob,
    cx: CallContext,
    key: String,
    reply: oneshot::Sender<Erased>,
}

pub struct TaskerWriter {
    config: Arc<TaskerConfig>,
    client: Option<TaskerClient>,
    limits: WriterLimits,
    /// Writes waiting, by lane (a card, a project, or a new card's own).
    queues: HashMap<Uuid, VecDeque<Queued>>,
    /// Lanes with a write running now.
    running: HashSet<Uuid>,
    /// Writes queued or running, by project.
    per_project: HashMap<Uuid, usize>,
    pending: usize,
    /// Recent write duration, to estimate the retry hint of a busy answer.
    recent: Duration,
    completed: u64,
}

impl TaskerWriter {
    pub fn new(config: Arc<TaskerConfig>, limits: WriterLimits) -> Self {
        Self {
            config,
            client: None,
            limits,
            queues: HashMap::new(),
            running: HashSet::new(),
            per_project: HashMap::new(),
            pending: 0,
            recent: Duration::from_millis(200),
            completed: 0,
        }
    }

    pub fn start_supervised(config: Arc<TaskerConfig>, limits: WriterLimits) -> Addr<Self> {
        Supervisor::start(move |_| TaskerWriter::new(config, limits))
    }

    fn client(&mut self) -> TaskerClient {
        // Built on the actor's own thread: awc clients are bound to one.
        self.client.get_or_insert_with(|| TaskerClient::new(self.config.clone())).clone()
    }
}

impl Actor for TaskerWriter {
    type Context = Context<Self>;
}

impl Supervised for TaskerWriter {
    fn restarting(&mut self, _: &mut Context<Self>) {
        tracing::warn!(pending = self.pending, "TaskerWriter restarting; queued writes are answered as dropped");
        for (_, queue) in self.queues.drain() {
            for job in queue {
                let _ = job.reply.send(Err(WriteError::Dropped));
            }
        }
        self.running.clear();
        self.per_project.clear();
        self.pending = 0;
        self.client = None;
    }
}
