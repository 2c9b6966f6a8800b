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
    pub(super) project: Uuid,
    pub(super) lane: Uuid,
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
        let (project, lane) = (msg.project, msg.lane);
        let queued_here = self.per_project.get(&project).copied().unwrap_or(0);
        if self.pending >= self.limits.max_pending || queued_here >= self.limits.max_per_project {
            // The hint: how long the work ahead of this write should take, with as many
            // writes running side by side as now.
            let ahead = (self.pending / self.running.len().max(1)) as u32 + 1;
            let retry_after_secs = (self.recent * ahead).as_secs().max(1);
            return Box::pin(async move { Err(WriteError::Busy { retry_after_secs }) });
        }
        let (reply, answer) = oneshot::channel();
        let job = Queued { project, run: msg.run, cx: msg.cx, key: msg.idempotency_key, reply };
        self.queues.entry(lane).or_default().push_back(job);
        *self.per_project.entry(project).or_default() += 1;
        self.pending += 1;
        if !self.running.contains(&lane) {
            self.run_next(lane, ctx);
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
    /// Starts the next queued write of `lane`, if any; one runs per lane at a time.
    fn run_next(&mut self, lane: Uuid, ctx: &mut Context<Self>) {
        let Some(job) = self.queues.get_mut(&lane).and_then(|q| q.pop_front()) else {
            self.queues.remove(&lane);
            self.running.remove(&lane);
            return;
        };
        self.running.insert(lane);
        let writing = Writing { client: self.client(), cx: job.cx, key: job.key };
        let started = Instant::now();
        let (run, reply, project) = (job.run, job.reply, job.project);
        ctx.spawn(run(writing).into_actor(self).map(move |result, act, ctx| {
            act.pending = act.pending.saturating_sub(1);
            if let Some(n) = act.per_project.get_mut(&project) {
                *n -= 1;
                if *n == 0 {
                    act.per_project.remove(&project);
                }
            }
            act.completed += 1;
            // A moving average is enough for a retry hint.
            act.recent = (act.recent * 3 + started.elapsed()) / 4;
            let _ = reply.send(result);
            act.run_next(lane, ctx);
        }));
    }
}
