//! Messages TaskerWriter answers, and how a queued write runs.

use std::time::Instant;

use actix::prelude::*;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::verify::{check_applied, names_assignee_by_email};
use super::{Job, TaskerWriter, Write, WriteError, WriteOp, Written};
use crate::tasker::client::TaskerClient;

/// Queue a write; the answer comes when it has run and been read back.
#[derive(Message)]
#[rtype(result = "Result<Written, WriteError>")]
pub struct Submit(pub Write);

#[derive(Message)]
#[rtype(result = "WriterStatsReply")]
pub struct WriterStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStatsReply {
    pub pending: usize,
    pub completed: u64,
}

impl Handler<Submit> for TaskerWriter {
    type Result = ResponseFuture<Result<Written, WriteError>>;

    fn handle(&mut self, Submit(write): Submit, ctx: &mut Context<Self>) -> Self::Result {
        let project = write.project;
        let queued_here =
            self.queues.get(&project).map_or(0, |q| q.len()) + usize::from(self.running.contains_key(&project));
        if self.pending >= self.limits.max_pending || queued_here >= self.limits.max_per_project {
            // The hint: how long the work ahead of this write should take.
            let ahead = queued_here.max(self.pending / self.running.len().max(1)) as u32 + 1;
            let retry_after_secs = (self.recent * ahead).as_secs().max(1);
            return Box::pin(async move { Err(WriteError::Busy { retry_after_secs }) });
        }
        let (reply, answer) = oneshot::channel();
        self.queues.entry(project).or_default().push_back(Job { write, reply });
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
        let client = self.client();
        let started = Instant::now();
        ctx.spawn(
            async move {
                let result = run(&client, &job.write).await;
                (job.reply, result)
            }
            .into_actor(self)
            .map(move |(reply, result), act, ctx| {
                act.pending = act.pending.saturating_sub(1);
                act.completed += 1;
                // A moving average is enough for a retry hint.
                act.recent = (act.recent * 3 + started.elapsed()) / 4;
                let _ = reply.send(result);
                act.run_next(project, ctx);
            }),
        );
    }
}

/// Performs the write, then reads the card back and checks the write took effect.
async fn run(client: &TaskerClient, w: &Write) -> Result<Written, WriteError> {
    let (cx, key) = (&w.cx, w.idempotency_key.as_str());
    let written = match &w.op {
        WriteOp::CreateIssue(b) => Written::Issue(client.create_issue(cx, key, w.project, b).await?),
        WriteOp::UpdateIssue { issue, body } => Written::Issue(client.update_issue(cx, key, *issue, body).await?),
        WriteOp::MoveIssue { issue, body } => Written::Issue(client.move_issue(cx, key, *issue, body).await?),
        WriteOp::AddComment { issue, body } => Written::Comment(client.add_comment(cx, key, *issue, body).await?),
        WriteOp::ChangeLabels { issue, body } => Written::Issue(client.change_labels(cx, key, *issue, body).await?),
        WriteOp::ChangeAssignees { issue, body } => {
            Written::Issue(client.change_assignees(cx, key, *issue, body).await?)
        }
        WriteOp::UpdateBlocks { issue, body } => Written::Issue(client.update_blocks(cx, key, *issue, body).await?),
        WriteOp::AddProjectMember(b) => Written::Member(client.add_project_member(cx, key, w.project, b).await?),
    };
    match &written {
        Written::Member(m) => {
            let context = client.project_context(cx, w.project).await?;
            if !context.members.iter().any(|x| x.user_id == m.member.user_id) {
                return Err(WriteError::NotApplied(format!(
                    "{} is not a project member after the write",
                    m.member.email
                )));
            }
        }
        Written::Issue(i) => {
            let fresh = client.get_issue(cx, &i.issue.id.to_string()).await?;
            // Assignees named by email are checked against the member list.
            let members = if names_assignee_by_email(&w.op) {
                client.project_context(cx, fresh.project_id).await?.members
            } else {
                Vec::new()
            };
            check_applied(&w.op, &fresh, &members).map_err(WriteError::NotApplied)?;
        }
        Written::Comment(c) => {
            let fresh = client.get_issue(cx, &c.issue.id.to_string()).await?;
            if !fresh.recent_comments.iter().any(|x| x.id == c.comment.id) {
                return Err(WriteError::NotApplied("the comment is not on the card after the write".into()));
            }
        }
    }
    Ok(written)
}
