//! TaskerWriter: the mailbox every write to Tasker goes through.
//!
//! - **Ordered per project**: writes to one project run one at a time, in arrival
//!   order; different projects proceed in parallel.
//! - **Bounded**: a full queue answers "busy, retry after N seconds" instead of growing.
//! - **Checked**: after each write the card is read back, and a write that did not take
//!   effect (a label dropped, a state unchanged) is reported as an error, never as
//!   success (see `verify.rs`).
//!
//! It holds only queued work: nothing is acknowledged until Tasker has answered, so a
//! restart loses no acknowledged write (callers waiting on dropped work get an error
//! and retry with the same idempotency key, which Tasker deduplicates).

mod handlers;
mod verify;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::tasker::client::{CallContext, TaskerClient, TaskerConfig, TaskerError};
use crate::tasker::contract::{
    AddComment, AddProjectMember, ChangeSet, CommentWritten, CreateIssue, IssueWritten, MemberWritten, MoveIssue,
    UpdateBlocks, UpdateIssue,
};
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

/// A write, as the adapter contract names it.
#[derive(Debug, Clone)]
pub enum WriteOp {
    CreateIssue(CreateIssue),
    UpdateIssue { issue: Uuid, body: UpdateIssue },
    MoveIssue { issue: Uuid, body: MoveIssue },
    AddComment { issue: Uuid, body: AddComment },
    ChangeLabels { issue: Uuid, body: ChangeSet },
    ChangeAssignees { issue: Uuid, body: ChangeSet },
    UpdateBlocks { issue: Uuid, body: UpdateBlocks },
    AddProjectMember(AddProjectMember),
}

impl WriteOp {
    pub fn name(&self) -> &'static str {
        match self {
            WriteOp::CreateIssue(_) => "create_issue",
            WriteOp::UpdateIssue { .. } => "update_issue",
            WriteOp::MoveIssue { .. } => "move_issue",
            WriteOp::AddComment { .. } => "add_comment",
            WriteOp::ChangeLabels { .. } => "change_labels",
            WriteOp::ChangeAssignees { .. } => "change_assignees",
            WriteOp::UpdateBlocks { .. } => "update_blocks",
            WriteOp::AddProjectMember(_) => "add_project_member",
        }
    }
}

/// One write to run: the project it belongs to (for ordering), the call context and
/// the idempotency key that travels to Tasker.
#[derive(Debug, Clone)]
pub struct Write {
    pub project: Uuid,
    pub op: WriteOp,
    pub cx: CallContext,
    pub idempotency_key: String,
}

/// What a write produced, after it was read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Written {
    Issue(IssueWritten),
    Comment(CommentWritten),
    Member(MemberWritten),
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
}

struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Written, WriteError>>,
}

pub struct TaskerWriter {
    config: Arc<TaskerConfig>,
    client: Option<TaskerClient>,
    limits: WriterLimits,
    queues: HashMap<Uuid, VecDeque<Job>>,
    /// Projects with a write running now.
    running: HashMap<Uuid, ()>,
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
            running: HashMap::new(),
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
        self.pending = 0;
        self.client = None;
    }
}
