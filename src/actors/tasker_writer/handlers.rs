//! Messages TaskerWriter answers, and how a queued write runs.

use std::any::Any;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{Queued, RunJob, TaskerWriter, WriteError, Writing};
use crate::tasker::client::CallContext;

/// Queue a write; the answer comes when it has run and been read back. Built by
/// [`super::submit`].
#[derive(Message)]
#[rtype(result = "Result<Box<dyn Any + Send>, WriteError>")]
pub struct Submit {
    pub(super) order: Uuid,
    pub(super) run: RunJob,
    pub(super) cx: CallContext,
    pub(super) idempotency_key: String,
}

#[derive(Message)]
#[rtype(result = "WriterStatsReply")]
pub struct WriterStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStatsReply {
    pub pending: usize,
    pub completed: u64,
}

impl Handler<Submit> for TaskerWriter {
    type Result = ResponseFuture<Result<Box<dyn Any + Send>, WriteError>>;

    fn handle(&mut self, msg: Submit, ctx: &mut Context<Self>) -> Self::Result {
        let project = msg.order;
        let queued_here =
            self.queues.get(&project).map_or(0, |q| q.len()) + usize::from(self.running.contains_key(&project));
        if self.pending >= self.limits.max_pending || queued_here >= self.limits.max_per_project {
            // The hint: how long the work ahead of this write should take.
            let ahead = queued_here.max(self.pending / self.running.len().max(1)) as u32 + 1;
            let retry_after_secs = (self.recent * ahead).as_secs().max(1);
            return Box::pin(async move { Err(WriteError::Busy { retry_after_secs }) });
        }
        let (reply, answer) = oneshot::channel();
        let job = Queued { run: msg.run, cx: msg.cx, key: msg.idempotency_key, reply };
        self.queues.entry(project).or_default().push_back(job);
        self.pending += 1;
        if !self.running.contains_key(&project) {
            self.run_next(project, ctx);
        }
        Box::pin(async move { answer.await.unwrap_or(Err(WriteError::Dropped)) })
    }
}

impl Handler<WriterStats> for TaskerWriter {
    type Result = MessageResult<WriterStats>;
    fn handle(&mut self, _: WriterStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(WriterStatsReply { pending: self.pending, completed: self.completed })
    }
}

impl TaskerWriter {
    /// Starts the next queued write of `project`, if any; one runs per project at a time.
    fn run_next(&mut self, project: Uuid, ctx: &mut Context<Self>) {
        let Some(job) = self.queues.get_mut(&project).and_then(|q| q.pop_front()) else {
            self.queues.remove(&project);
            self.running.remove(&project);
            return;
        };
        self.running.insert(project, ());
        let writing = Writing { client: self.client(), cx: job.cx, key: job.key };
        let started = Instant::now();
        let (run, reply) = (job.run, job.reply);
        ctx.spawn(run(writing).into_actor(self).map(move |result, act, ctx| {
            act.pending = act.pending.saturating_sub(1);
            act.completed += 1;
            // A moving average is enough for a retry hint.
            act.recent = (act.recent * 3 + started.elapsed()) / 4;
            let _ = reply.send(result);
            act.run_next(project, ctx);
        }));
    }
}
