//! The gateway's Tasker client and TaskerWriter against the reference Tasker, over real
//! HTTP, on both database backends.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::Duration as ChronoDuration;
use nodedc_agent_gateway::actors::tasker_writer::{self as tasker_writer, Job, TaskerWriter, WriteError, WriterLimits};
use nodedc_agent_gateway::auth::InternalToken;
use nodedc_agent_gateway::reference_tasker::seed::demo;
use nodedc_agent_gateway::reference_tasker::{self, RunningTasker};
use nodedc_agent_gateway::storage::idempotency::{self, Claim};
use nodedc_agent_gateway::storage::{self, Backend, Db};
use nodedc_agent_gateway::tasker::client::{CallContext, TaskerClient, TaskerConfig, TaskerError};
use nodedc_agent_gateway::tasker::contract::*;
use nodedc_agent_gateway::tools::{
    add_comment, add_project_member, assign_issue, create_issue, move_issue, set_issue_labels, update_issue,
    update_structured_blocks,
};
use serde_json::json;
use uuid::Uuid;

use crate::common::TestDb;

const TOKEN: &str = "reference-tasker-test-token-0123456789abcdef";

struct Env {
    _db_guard: TestDb,
    db: Db,
    tasker: RunningTasker,
    client: TaskerClient,
    config: Arc<TaskerConfig>,
    web: Project,
    ops: Project,
    alice: Member,
}

impl Env {
    async fn start(backend: Backend) -> Self {
        let t = TestDb::new(backend);
        let db = t.connect().await;
        reference_tasker::seed::seed_demo(&db).await.unwrap();
        let tasker = reference_tasker::start(db.clone(), TOKEN, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let mut config = TaskerConfig::new(format!("http://{}", tasker.addr), InternalToken::new(TOKEN.into()));
        config.backoff = Duration::from_millis(20);
        let config = Arc::new(config);
        let client = TaskerClient::new(config.clone());
        let mut env =
            Env { _db_guard: t, db, tasker, client, config, web: dummy(), ops: dummy(), alice: dummy_member() };
        // Nothing is visible without a grant.
        let web = env.client.resolve_project(&env.cx_ids(&[]), "web").await;
        assert!(matches!(web, Err(TaskerError::Rejected(ref e)) if e.code == ErrorCode::ProjectNotGranted), "{web:?}");
        let both = env.client.list_projects(&env.cx_ids(&[demo::WEB, demo::OPS])).await.unwrap().projects;
        env.web = both.iter().find(|p| p.identifier == "WEB").unwrap().clone();
        env.ops = both.iter().find(|p| p.identifier == "OPS").unwrap().clone();
        let ctx = env.client.project_context(&env.cx(), env.web.id).await.unwrap();
        env.alice = ctx.members.iter().find(|m| m.email == "alice@example.com").unwrap().clone();
        env
    }

    /// A context granting WEB only.
    fn cx(&self) -> CallContext {
        self.cx_ids(&[self.web.id])
    }

    fn cx_ids(&self, ids: &[Uuid]) -> CallContext {
        CallContext { granted: ids.to_vec(), request_id: format!("req-{}", Uuid::new_v4()), trace: None }
    }

    fn actor(&self) -> Actor {
        Actor {
            agent_id: Uuid::new_v4(),
            agent_name: "Web bot".into(),
            owner_user_id: self.alice.user_id,
            request_id: "req-actor".into(),
        }
    }

    fn writer(&self, limits: WriterLimits) -> actix::Addr<TaskerWriter> {
        TaskerWriter::start_supervised(self.config.clone(), limits)
    }

    async fn stop(self) {
        self.tasker.handle.stop(false).await;
    }
}

impl Drop for Env {
    /// Close the pool inside the runtime even when a test fails half-way.
    fn drop(&mut self) {
        self.db.close();
    }
}

fn dummy() -> Project {
    Project { id: Uuid::nil(), identifier: String::new(), name: String::new() }
}

fn dummy_member() -> Member {
    Member { user_id: Uuid::nil(), display_name: String::new(), email: String::new(), role: ProjectRole::Guest }
}

fn rejected(r: Result<impl std::fmt::Debug, TaskerError>) -> AdapterError {
    match r {
        Err(TaskerError::Rejected(e)) => e,
        other => panic!("expected a contract rejection, got {other:?}"),
    }
}

on_both_backends!(
    every_read_endpoint_through_the_client,
    every_write_endpoint_through_the_writer,
    validation_errors_name_the_valid_values,
    fields_outside_the_allowlist_are_refused,
    projects_outside_the_grant_are_refused_by_the_adapter,
    a_retry_after_a_crash_mid_write_leaves_one_card,
    tasker_outage_is_clear_and_leaves_nothing_half_written,
    a_full_mailbox_answers_busy_with_a_retry_hint,
    history_shows_the_agent_and_its_owner,
    stale_block_replace_conflicts_with_current_content,
    writes_to_one_card_apply_in_submission_order,
);

async fn every_read_endpoint_through_the_client(backend: Backend) {
    let env = Env::start(backend).await;
    let cx = env.cx();
    let listed = env.client.list_projects(&cx).await.unwrap();
    assert_eq!(listed.projects, vec![env.web.clone()], "only granted projects are listed");
    assert_eq!(env.client.resolve_project(&cx, "wEb").await.unwrap(), env.web);
    assert_eq!(env.client.resolve_project(&cx, &env.web.id.to_string()).await.unwrap(), env.web);
    let ctx = env.client.project_context(&cx, env.web.id).await.unwrap();
    assert_eq!(ctx.states.iter().filter(|s| s.is_default).count(), 1);
    for group in StateGroup::ALL {
        assert!(ctx.states.iter().any(|s| s.group == *group), "a state in group {group}");
    }
    assert!(ctx.labels.iter().any(|l| l.name == "bug"));
    let page =
        env.client.search_issues(&cx, env.web.id, &SearchQuery { limit: Some(1), ..Default::default() }).await.unwrap();
    assert_eq!(page.issues.len(), 1);
    let cursor = page.next_cursor.clone().expect("more than one demo card");
    let next = env
        .client
        .search_issues(&cx, env.web.id, &SearchQuery { limit: Some(1), cursor: Some(cursor), ..Default::default() })
        .await
        .unwrap();
    assert_ne!(next.issues[0].id, page.issues[0].id);
    let key = &page.issues[0].key;
    let by_key = env.client.get_issue(&cx, key).await.unwrap();
    let by_id = env.client.get_issue(&cx, &by_key.id.to_string()).await.unwrap();
    assert_eq!(by_key, by_id);
    assert!(by_key.key.starts_with("WEB-"));
    let e = rejected(env.client.get_issue(&cx, "WEB-99999").await);
    assert_eq!(e.code, ErrorCode::NotFound);
    env.stop().await;
}

/// Runs a tool's write job through the writer, with a fresh key and WEB's context.
async fn submit<T: Send + 'static>(w: &actix::Addr<TaskerWriter>, env: &Env, job: Job<T>) -> Result<T, WriteError> {
    tasker_writer::submit(w, job, env.cx(), Uuid::new_v4().to_string()).await
}

fn issue(w: IssueWritten) -> Issue {
    w.issue
}

async fn writes_to_one_card_apply_in_submission_order(backend: Backend) {
    let env = Env::start(backend).await;
    // Room for all forty in one project's queue (the default bound is 32).
    let w = env.writer(WriterLimits { max_pending: 64, max_per_project: 64 });
    let a = issue(submit(&w, &env, create_issue::write(env.web.id, create_body(&env, "Ordered A"))).await.unwrap());
    let b = issue(submit(&w, &env, create_issue::write(env.web.id, create_body(&env, "Ordered B"))).await.unwrap());
    // Forty appends queued at once, interleaved between the two cards: each card's
    // log must come out in the order its writes were submitted.
    let append = |card: &Issue, entry: String| {
        let ops = UpdateBlocks { actor: env.actor(), ops: vec![BlockOp::AppendLog { entry }] };
        submit(&w, &env, update_structured_blocks::write(env.web.id, card.id, ops))
    };
    let writes = (0..20).flat_map(|i| [append(&a, format!("a{i}")), append(&b, format!("b{i}"))]);
    for r in futures_util::future::join_all(writes).await {
        r.unwrap();
    }
    for (card, prefix) in [(&a, "a"), (&b, "b")] {
        let read = env.client.get_issue(&env.cx(), &card.key).await.unwrap();
        let log = read.blocks.log.unwrap_or_default();
        let expected: Vec<String> = (0..20).map(|i| format!("{prefix}{i}")).collect();
        assert_eq!(log, expected, "{}", card.key);
    }
    env.stop().await;
}

async fn every_write_endpoint_through_the_writer(backend: Backend) {
    let env = Env::start(backend).await;
    let w = env.writer(WriterLimits::default());
    let actor = env.actor();
    let created = issue(
        submit(
            &w,
            &env,
            create_issue::write(
                env.web.id,
                CreateIssue {
                    actor: actor.clone(),
                    title: "Add dark mode".into(),
                    priority: Some(Priority::High),
                    state: Some("backlog".into()),
                    labels: vec!["feature".into()],
                    assignees: vec!["alice@example.com".into()],
                    start_date: None,
                    target_date: Some("2026-12-01".parse().unwrap()),
                    parent: None,
                    blocks: Some(Blocks { goal: Some("Users can pick a dark theme".into()), ..Default::default() }),
                },
            ),
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        (created.title.as_str(), created.priority, created.state.name.as_str()),
        ("Add dark mode", Priority::High, "Backlog")
    );
    assert_eq!(created.blocks.goal.as_deref(), Some("Users can pick a dark theme"));
    let id = created.id;

    let mut changes = serde_json::Map::new();
    changes.insert("title".into(), json!("Add a dark mode"));
    changes.insert("priority".into(), json!("urgent"));
    changes.insert("target_date".into(), json!(null));
    let updated = issue(
        submit(&w, &env, update_issue::write(env.web.id, id, UpdateIssue { actor: actor.clone(), changes }))
            .await
            .unwrap(),
    );
    assert_eq!(
        (updated.title.as_str(), updated.priority, updated.target_date),
        ("Add a dark mode", Priority::Urgent, None)
    );

    let moved = issue(
        submit(
            &w,
            &env,
            move_issue::write(env.web.id, id, MoveIssue { actor: actor.clone(), state: "In Progress".into() }),
        )
        .await
        .unwrap(),
    );
    assert_eq!(moved.state.group, StateGroup::Started);

    let labelled = issue(
        submit(
            &w,
            &env,
            set_issue_labels::write(
                env.web.id,
                id,
                ChangeSet { actor: actor.clone(), add: vec!["bug".into()], remove: vec!["feature".into()] },
            ),
        )
        .await
        .unwrap(),
    );
    assert_eq!(labelled.labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["bug"]);

    let assigned = issue(
        submit(
            &w,
            &env,
            assign_issue::write(
                env.web.id,
                id,
                ChangeSet { actor: actor.clone(), add: vec![], remove: vec![env.alice.user_id.to_string()] },
            ),
        )
        .await
        .unwrap(),
    );
    assert!(assigned.assignees.is_empty());

    let commented = submit(
        &w,
        &env,
        add_comment::write(env.web.id, id, AddComment { actor: actor.clone(), body: "Started on it".into() }),
    )
    .await
    .unwrap();
    let c = commented;
    assert_eq!(c.comment.body, "Started on it");

    let v = issue(
        submit(
            &w,
            &env,
            update_structured_blocks::write(
                env.web.id,
                id,
                UpdateBlocks {
                    actor: actor.clone(),
                    ops: vec![
                        BlockOp::Replace {
                            block: BlockName::Plan,
                            text: Some("1. theme tokens\n2. toggle".into()),
                            items: None,
                            base_version: None,
                        },
                        BlockOp::Replace {
                            block: BlockName::Acceptance,
                            text: None,
                            items: Some(vec![AcceptanceItem { text: "Toggle persists".into(), checked: false }]),
                            base_version: None,
                        },
                        BlockOp::AppendLog { entry: "plan written".into() },
                        BlockOp::CheckItem { item: "Toggle persists".into(), checked: true },
                    ],
                },
            ),
        )
        .await
        .unwrap(),
    );
    assert!(v.blocks.acceptance.as_ref().unwrap()[0].checked);
    assert_eq!(v.blocks.log.as_deref(), Some(&["plan written".to_string()][..]));
    assert!(v.block_versions.contains_key(&BlockName::Plan));

    let carol = "carol@example.com";
    let m = submit(
        &w,
        &env,
        add_project_member::write(
            env.web.id,
            AddProjectMember { actor: actor.clone(), user: carol.into(), role: None },
        ),
    )
    .await
    .unwrap();
    assert!(m.added);
    assert_eq!(m.member.email, carol);
    env.stop().await;
}

async fn validation_errors_name_the_valid_values(backend: Backend) {
    let env = Env::start(backend).await;
    let w = env.writer(WriterLimits::default());
    let create = |labels: Vec<String>, state: Option<String>, assignees: Vec<String>| {
        create_issue::write(
            env.web.id,
            CreateIssue {
                actor: env.actor(),
                title: "x".into(),
                priority: None,
                state,
                labels,
                assignees,
                start_date: None,
                target_date: None,
                parent: None,
                blocks: None,
            },
        )
    };
    for (op, field, unknown, valid) in [
        (create(vec!["urgent-fix".into()], None, vec![]), "labels", "urgent-fix", "bug"),
        (create(vec![], Some("Doing".into()), vec![]), "state", "Doing", "In Progress"),
        (
            create(vec![], None, vec!["mallory@example.com".into()]),
            "assignees",
            "mallory@example.com",
            "alice@example.com",
        ),
    ] {
        let err = submit(&w, &env, op).await.unwrap_err();
        let WriteError::Tasker(TaskerError::Rejected(e)) = err else { panic!("{err:?}") };
        assert_eq!(e.code, ErrorCode::ValidationFailed, "{e}");
        let d = e.details.unwrap();
        assert_eq!(d["field"], field);
        assert!(d["unknown"].to_string().contains(unknown), "{d}");
        assert!(d["valid"].to_string().contains(valid), "{d}");
    }
    let page = env
        .client
        .search_issues(&env.cx(), env.web.id, &SearchQuery { q: Some("x".into()), ..Default::default() })
        .await
        .unwrap();
    assert!(page.issues.iter().all(|i| i.title != "x"), "nothing was created");
    env.stop().await;
}

async fn fields_outside_the_allowlist_are_refused(backend: Backend) {
    let env = Env::start(backend).await;
    let cx = env.cx();
    let card = env.client.search_issues(&cx, env.web.id, &SearchQuery::default()).await.unwrap().issues[0].clone();
    let mut changes = serde_json::Map::new();
    changes.insert("title".into(), json!("ok"));
    changes.insert("state_id".into(), json!(Uuid::new_v4()));
    changes.insert("archived_at".into(), json!("2026-01-01"));
    let e = rejected(
        env.client
            .write(&UPDATE_ISSUE, &[&card.id.to_string()], &UpdateIssue { actor: env.actor(), changes }, &cx, "k-allow")
            .await,
    );
    assert_eq!(e.code, ErrorCode::FieldNotAllowed);
    let d = e.details.unwrap();
    assert!(d["fields"].to_string().contains("state_id") && d["fields"].to_string().contains("archived_at"));
    assert!(d["allowed"].to_string().contains("description_blocks"));
    let after = env.client.get_issue(&cx, &card.key).await.unwrap();
    assert_eq!(after.title, card.title, "nothing was written, not even the allowed field");
    env.stop().await;
}

async fn projects_outside_the_grant_are_refused_by_the_adapter(backend: Backend) {
    let env = Env::start(backend).await;
    // A card in OPS, made with a context that grants OPS.
    let ops_cx = env.cx_ids(&[env.ops.id]);
    let body = CreateIssue {
        actor: env.actor(),
        title: "ops only".into(),
        priority: None,
        state: None,
        labels: vec![],
        assignees: vec![],
        start_date: None,
        target_date: None,
        parent: None,
        blocks: None,
    };
    let ops_card =
        env.client.write(&CREATE_ISSUE, &[&env.ops.id.to_string()], &body, &ops_cx, "k-ops").await.unwrap().issue;
    // Granted WEB only:
    let cx = env.cx();
    let a = env.actor();
    let denied = |r: Result<(), TaskerError>| match r {
        Err(TaskerError::Rejected(e)) => assert_eq!(e.code, ErrorCode::ProjectNotGranted, "{e}"),
        other => panic!("{other:?}"),
    };
    let c = &env.client;
    denied(c.resolve_project(&cx, "OPS").await.map(|_| ()));
    denied(c.project_context(&cx, env.ops.id).await.map(|_| ()));
    denied(c.search_issues(&cx, env.ops.id, &SearchQuery::default()).await.map(|_| ()));
    denied(c.get_issue(&cx, &ops_card.key).await.map(|_| ()));
    denied(c.get_issue(&cx, &ops_card.id.to_string()).await.map(|_| ()));
    denied(c.write(&CREATE_ISSUE, &[&env.ops.id.to_string()], &body, &cx, "k1").await.map(|_| ()));
    let mut changes = serde_json::Map::new();
    changes.insert("title".into(), json!("stolen"));
    denied(
        c.write(&UPDATE_ISSUE, &[&ops_card.id.to_string()], &UpdateIssue { actor: a.clone(), changes }, &cx, "k2")
            .await
            .map(|_| ()),
    );
    denied(
        c.write(
            &MOVE_ISSUE,
            &[&ops_card.id.to_string()],
            &MoveIssue { actor: a.clone(), state: "Done".into() },
            &cx,
            "k3",
        )
        .await
        .map(|_| ()),
    );
    denied(
        c.write(
            &ADD_COMMENT,
            &[&ops_card.id.to_string()],
            &AddComment { actor: a.clone(), body: "hi".into() },
            &cx,
            "k4",
        )
        .await
        .map(|_| ()),
    );
    let set = ChangeSet { actor: a.clone(), add: vec!["bug".into()], remove: vec![] };
    denied(c.write(&CHANGE_LABELS, &[&ops_card.id.to_string()], &set, &cx, "k5").await.map(|_| ()));
    denied(c.write(&CHANGE_ASSIGNEES, &[&ops_card.id.to_string()], &set, &cx, "k6").await.map(|_| ()));
    let ops = UpdateBlocks { actor: a.clone(), ops: vec![BlockOp::AppendLog { entry: "x".into() }] };
    denied(c.write(&UPDATE_BLOCKS, &[&ops_card.id.to_string()], &ops, &cx, "k7").await.map(|_| ()));
    let member = AddProjectMember { actor: a.clone(), user: "carol@example.com".into(), role: None };
    denied(c.write(&ADD_PROJECT_MEMBER, &[&env.ops.id.to_string()], &member, &cx, "k8").await.map(|_| ()));
    let after = c.get_issue(&ops_cx, &ops_card.key).await.unwrap();
    assert_eq!(after.title, "ops only");
    assert!(after.recent_comments.is_empty());
    env.stop().await;
}

fn create_body(env: &Env, title: &str) -> CreateIssue {
    CreateIssue {
        actor: env.actor(),
        title: title.into(),
        priority: None,
        state: None,
        labels: vec![],
        assignees: vec![],
        start_date: None,
        target_date: None,
        parent: None,
        blocks: None,
    }
}

async fn count_titled(env: &Env, title: &str) -> usize {
    let page = env
        .client
        .search_issues(
            &env.cx(),
            env.web.id,
            &SearchQuery { q: Some(title.into()), limit: Some(100), ..Default::default() },
        )
        .await
        .unwrap();
    page.issues.iter().filter(|i| i.title == title).count()
}

async fn a_retry_after_a_crash_mid_write_leaves_one_card(backend: Backend) {
    let env = Env::start(backend).await;
    let w = env.writer(WriterLimits::default());
    let agent = Uuid::new_v4();
    let key = "crash-key-1".to_string();
    let body = create_body(&env, "Crash-safe card");
    let write = || create_issue::write(env.web.id, body.clone());
    // The gateway claims the key, Tasker performs the write...
    let t0 = storage::now();
    let claim = |at| {
        let (db, key) = (env.db.clone(), key.clone());
        async move {
            db.write(move |c| idempotency::claim(c, agent, &key, "fp", at, ChronoDuration::hours(24))).await.unwrap()
        }
    };
    // (the idempotency row needs an agent row)
    insert_agent(&env.db, agent).await;
    assert_eq!(claim(t0).await, Claim::Started);
    let first = issue(tasker_writer::submit(&w, write(), env.cx(), key.clone()).await.unwrap());
    // ...and the gateway "crashes" before recording the result: the claim stays in flight.
    // After the in-flight lease a retry takes the key over and runs the write again.
    assert_eq!(claim(t0 + idempotency::IN_FLIGHT_LEASE).await, Claim::Started);
    let again = issue(tasker_writer::submit(&w, write(), env.cx(), key.clone()).await.unwrap());
    assert_eq!(again.id, first.id, "Tasker replays the write for the same key");
    assert_eq!(count_titled(&env, "Crash-safe card").await, 1);
    env.stop().await;
}

async fn insert_agent(db: &Db, agent: Uuid) {
    use nodedc_agent_gateway::model::*;
    let now = storage::now().and_utc();
    let owner = Owner {
        user_id: Uuid::new_v4(),
        display_name: "o".into(),
        status: OwnerStatus::Active,
        codex_agents: true,
        client_id: None,
        reporting_mode: ReportingMode::Voluntary,
        created_at: now,
        updated_at: now,
    };
    let a = Agent {
        id: agent,
        owner_user_id: owner.user_id,
        name: "a".into(),
        description: String::new(),
        status: AgentStatus::Active,
        created_at: now,
        updated_at: now,
        last_seen_at: None,
        revoked_at: None,
        read_per_minute: None,
        write_per_minute: None,
    };
    db.write(move |c| {
        storage::owners::insert(c, &owner)?;
        storage::agents::insert(c, &a)
    })
    .await
    .unwrap();
}

async fn tasker_outage_is_clear_and_leaves_nothing_half_written(backend: Backend) {
    let env = Env::start(backend).await;
    let w = env.writer(WriterLimits::default());
    let addr = env.tasker.addr;
    env.tasker.handle.stop(true).await;
    let err = submit(&w, &env, create_issue::write(env.web.id, create_body(&env, "During outage"))).await.unwrap_err();
    assert!(matches!(err, WriteError::Tasker(TaskerError::Unavailable { .. })), "{err:?}");
    assert!(matches!(env.client.list_projects(&env.cx()).await, Err(TaskerError::Unavailable { .. })));
    // Tasker back on the same address: the next call works, and the outage wrote nothing.
    let back = reference_tasker::start(env.db.clone(), TOKEN, addr).await.unwrap();
    assert_eq!(count_titled(&env, "During outage").await, 0);
    let ok = submit(&w, &env, create_issue::write(env.web.id, create_body(&env, "After outage"))).await.unwrap();
    assert_eq!(issue(ok).title, "After outage");
    back.handle.stop(false).await;
}

async fn a_full_mailbox_answers_busy_with_a_retry_hint(backend: Backend) {
    let env = Env::start(backend).await;
    let w = env.writer(WriterLimits { max_pending: 2, max_per_project: 1 });
    let first = tasker_writer::submit(
        &w,
        create_issue::write(env.web.id, create_body(&env, "Queued 1")),
        env.cx(),
        "q1".into(),
    );
    let second = tasker_writer::submit(
        &w,
        create_issue::write(env.web.id, create_body(&env, "Queued 2")),
        env.cx(),
        "q2".into(),
    );
    let (first, second) = tokio::join!(first, second);
    assert!(first.is_ok());
    match second {
        Err(WriteError::Busy { retry_after_secs }) => assert!(retry_after_secs >= 1),
        other => panic!("expected busy, got {other:?}"),
    }
    // Another project still has room, and the first project frees up after its write.
    let ops_write = create_issue::write(env.ops.id, create_body(&env, "Other project"));
    assert!(tasker_writer::submit(&w, ops_write, env.cx_ids(&[env.ops.id]), "q3".into()).await.is_ok());
    assert!(submit(&w, &env, create_issue::write(env.web.id, create_body(&env, "Queued 2"))).await.is_ok());
    env.stop().await;
}

async fn history_shows_the_agent_and_its_owner(backend: Backend) {
    let env = Env::start(backend).await;
    let w = env.writer(WriterLimits::default());
    let card = issue(
        submit(&w, &env, create_issue::write(env.web.id, create_body(&env, "Written by an agent"))).await.unwrap(),
    );
    let who = format!("agent Web bot on behalf of {}", env.alice.display_name);
    assert_eq!(card.created_by, who);
    submit(&w, &env, move_issue::write(env.web.id, card.id, MoveIssue { actor: env.actor(), state: "Done".into() }))
        .await
        .unwrap();
    // The board page shows the history with the agent and its owner.
    let mut res =
        awc::Client::default().get(format!("http://{}/cards/{}", env.tasker.addr, card.key)).send().await.unwrap();
    let page = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(page.contains(&who), "{page}");
    assert!(page.contains("Done"));
    // History keeps the agent and its owner in separate fields: a name that says
    // "on behalf of" someone else cannot pass for another owner.
    let alice = &env.alice.display_name;
    assert!(page.contains(&format!("<td>agent Web bot</td><td>{alice}</td><td>state</td>")), "{page}");
    let sly = Actor { agent_name: "Sly on behalf of Bob".into(), ..env.actor() };
    submit(&w, &env, move_issue::write(env.web.id, card.id, MoveIssue { actor: sly, state: "Todo".into() }))
        .await
        .unwrap();
    let mut res =
        awc::Client::default().get(format!("http://{}/cards/{}", env.tasker.addr, card.key)).send().await.unwrap();
    let page = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert!(page.contains(&format!("<td>agent Sly on behalf of Bob</td><td>{alice}</td><td>state</td>")), "{page}");
    env.stop().await;
}

async fn stale_block_replace_conflicts_with_current_content(backend: Backend) {
    let env = Env::start(backend).await;
    let cx = env.cx();
    let mut body = create_body(&env, "Blocks");
    body.blocks = Some(Blocks { plan: Some("first plan".into()), ..Default::default() });
    let card = env.client.write(&CREATE_ISSUE, &[&env.web.id.to_string()], &body, &cx, "b1").await.unwrap().issue;
    let stale = card.block_versions[&BlockName::Plan].clone();
    let replace = |text: &str, base: &str| UpdateBlocks {
        actor: env.actor(),
        ops: vec![BlockOp::Replace {
            block: BlockName::Plan,
            text: Some(text.into()),
            items: None,
            base_version: Some(base.into()),
        }],
    };
    let second = env
        .client
        .write(&UPDATE_BLOCKS, &[&card.id.to_string()], &replace("second plan", &stale), &cx, "b2")
        .await
        .unwrap()
        .issue;
    assert_eq!(second.blocks.plan.as_deref(), Some("second plan"));
    let e = rejected(
        env.client.write(&UPDATE_BLOCKS, &[&card.id.to_string()], &replace("third plan", &stale), &cx, "b3").await,
    );
    assert_eq!(e.code, ErrorCode::Conflict);
    let d = e.details.unwrap();
    assert_eq!(d["block"], "plan");
    assert_eq!(d["current"], "second plan");
    assert_eq!(d["current_version"], json!(second.block_versions[&BlockName::Plan]));
    env.stop().await;
}

/// A Tasker that accepts a label change but does not apply it: the writer must say so.
#[actix_web::test]
async fn a_write_that_did_not_take_effect_is_an_error() {
    let card_id = Uuid::new_v4();
    let card = Issue {
        id: card_id,
        key: "WEB-1".into(),
        project_id: Uuid::new_v4(),
        sequence_id: 1,
        title: "t".into(),
        priority: Priority::None,
        state: StateRef { id: Uuid::new_v4(), name: "Todo".into(), group: StateGroup::Unstarted },
        labels: vec![],
        assignees: vec![],
        start_date: None,
        target_date: None,
        parent: None,
        created_by: "x".into(),
        updated_by: "x".into(),
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        blocks: Blocks::default(),
        block_versions: Default::default(),
        description_html: String::new(),
        description_text: String::new(),
        recent_comments: vec![],
    };
    let served = card.clone();
    let server = HttpServer::new(move || {
        let c1 = served.clone();
        let c2 = served.clone();
        let c3 = served.clone();
        App::new()
            .route(
                "/api/internal/nodedc/agent/issues/{id}/labels",
                web::post().to(move || {
                    let c = c1.clone();
                    async move { HttpResponse::Ok().json(IssueWritten { issue: c }) }
                }),
            )
            .route(
                "/api/internal/nodedc/agent/issues/{id}/move",
                web::post().to({
                    let c = c3;
                    move || {
                        let c = c.clone();
                        async move { HttpResponse::Ok().json(IssueWritten { issue: c }) }
                    }
                }),
            )
            .route(
                "/api/internal/nodedc/agent/issues/{id}",
                web::get().to(move || {
                    let c = c2.clone();
                    async move { HttpResponse::Ok().json(c) }
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let config = Arc::new(TaskerConfig::new(format!("http://{addr}"), InternalToken::new(TOKEN.into())));
    let w = TaskerWriter::start_supervised(config, WriterLimits::default());
    let actor = Actor {
        agent_id: Uuid::new_v4(),
        agent_name: "a".into(),
        owner_user_id: Uuid::new_v4(),
        request_id: "r".into(),
    };
    let job =
        set_issue_labels::write(card.project_id, card_id, ChangeSet { actor, add: vec!["bug".into()], remove: vec![] });
    let cx = CallContext { granted: vec![card.project_id], request_id: "r".into(), trace: None };
    let err = tasker_writer::submit(&w, job, cx, "k".into()).await.unwrap_err();
    match err {
        WriteError::NotApplied(what) => assert!(what.contains("bug"), "{what}"),
        other => panic!("expected not applied, got {other:?}"),
    }
    // A move that leaves the card where it was is not a success either.
    let actor = Actor {
        agent_id: Uuid::new_v4(),
        agent_name: "a".into(),
        owner_user_id: Uuid::new_v4(),
        request_id: "r".into(),
    };
    let job = move_issue::write(card.project_id, card_id, MoveIssue { actor, state: "Done".into() });
    let cx = CallContext { granted: vec![card.project_id], request_id: "r".into(), trace: None };
    let err = tasker_writer::submit(&w, job, cx, "k2".into()).await.unwrap_err();
    assert!(matches!(&err, WriteError::NotApplied(what) if what.contains("Todo")), "{err:?}");
    handle.stop(false).await;
}

/// A Tasker that answers 503 to the first two attempts of every call, then succeeds:
/// reads and keyed writes are retried (with backoff) and succeed on the third attempt.
#[actix_web::test]
async fn reads_and_keyed_writes_are_retried_on_unavailability() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().default_service(web::to(move |req: actix_web::HttpRequest| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let path = req.path().to_string();
            async move {
                if n % 3 < 2 {
                    return HttpResponse::ServiceUnavailable()
                        .json(json!({"error": {"code": "unavailable", "message": "warming up"}}));
                }
                if path.ends_with("/projects") {
                    HttpResponse::Ok().json(json!({"projects": []}))
                } else {
                    HttpResponse::BadRequest()
                        .json(json!({"error": {"code": "bad_request", "message": "only for counting"}}))
                }
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let mut config = TaskerConfig::new(format!("http://{addr}"), InternalToken::new(TOKEN.into()));
    config.backoff = Duration::from_millis(10);
    let client = TaskerClient::new(Arc::new(config));
    let cx = CallContext { granted: vec![], request_id: "r".into(), trace: None };
    let listed = client.list_projects(&cx).await.unwrap();
    assert!(listed.projects.is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 3, "two retries, then the answer");
    // A keyed write is retried too (Tasker deduplicates by the key); the final answer
    // here is a contract refusal, which is not retried.
    let actor = Actor {
        agent_id: Uuid::new_v4(),
        agent_name: "a".into(),
        owner_user_id: Uuid::new_v4(),
        request_id: "r".into(),
    };
    let err = client
        .write(
            &ADD_COMMENT,
            &[&Uuid::new_v4().to_string()],
            &AddComment { actor, body: "x".into() },
            &cx,
            "retry-key-1",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TaskerError::Rejected(ref e) if e.code == ErrorCode::BadRequest), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    handle.stop(false).await;
}
