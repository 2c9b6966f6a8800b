//! The reference Tasker over real HTTP, seeded with the demo workspace, on both
//! backends: every endpoint, every refusal, idempotent replay, history and the board.

use futures_util::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use nodedc_agent_gateway::reference_tasker::store::activity;
use nodedc_agent_gateway::reference_tasker::{demo, seed_demo};
use nodedc_agent_gateway::storage::Backend;
use nodedc_agent_gateway::tasker::contract::{
    BASE_PATH, BlockName, GRANTED_HEADER, IDEMPOTENCY_HEADER, Issue, IssuePage, UPDATABLE_FIELDS,
};

use crate::common::tasker::{AGENT, TaskerApp, actor, actor_for, assert_error, auth, with_actor};

on_both_backends!(
    auth_is_required_on_every_api_path,
    granted_header_is_required_and_well_formed,
    projects_list_resolve_and_context,
    cards_are_read_by_id_and_by_key,
    search_filters_and_paginates_stably,
    create_resolves_names_and_shows_the_actor,
    create_refusals_name_the_valid_values,
    update_refuses_fields_outside_the_allowlist,
    update_changes_the_allowed_fields,
    description_blocks_replace_checks_versions,
    block_ops_apply_and_stale_replace_conflicts,
    move_comment_labels_and_assignees,
    members_are_added_from_the_workspace,
    projects_outside_the_grant_are_refused_everywhere,
    idempotent_writes_replay_and_refuse_reuse,
    concurrent_writes_neither_duplicate_nor_lose_anything,
    deletes_and_archiving_are_refused,
    bad_input_is_a_400_never_a_500,
    history_records_every_change_with_the_actor,
    board_pages_render_escaped_and_never_write,
    seeding_twice_does_nothing,
    health_and_readiness_need_no_token,
);

const ALICE_ACTOR: &str = "agent Web bot on behalf of Alice";

fn web_1() -> String {
    demo::WEB_1.to_string()
}

fn issue_of(r: &crate::common::Resp) -> Issue {
    serde_json::from_value(r.body["issue"].clone()).unwrap_or_else(|e| panic!("not an IssueWritten ({e}): {}", r.text))
}

async fn card(app: &TaskerApp, key: &str) -> Issue {
    let r = app.get(&format!("/issues/{key}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_value(r.body).unwrap()
}

async fn card_count(app: &TaskerApp, project: Uuid) -> usize {
    let r = app.get_as(&[project], &format!("/projects/{project}/issues?limit=100")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["issues"].as_array().unwrap().len()
}

fn keys(r: &crate::common::Resp) -> Vec<String> {
    let page: IssuePage = serde_json::from_value(r.body.clone()).unwrap_or_else(|e| panic!("{e}: {}", r.text));
    page.issues.into_iter().map(|i| i.key).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

async fn auth_is_required_on_every_api_path(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let granted = (GRANTED_HEADER, demo::WEB.to_string());
    let projects = format!("{BASE_PATH}/projects");
    for headers in [
        vec![granted.clone()],
        vec![granted.clone(), ("authorization", "Bearer wrong-token-wrong-token-wrong-token".to_string())],
        vec![granted.clone(), ("authorization", "Basic dXNlcjpwYXNz".to_string())],
        vec![granted.clone(), ("authorization", "Bearer ".to_string())],
    ] {
        let r = app.call("GET", &projects, &headers, None).await;
        assert_error(&r, 401, "unauthorized");
        assert!(r.headers.get("www-authenticate").is_some());
    }
    // Unknown paths and writes are checked before anything else.
    let r = app.call("GET", &format!("{BASE_PATH}/nothing/here"), &[], None).await;
    assert_error(&r, 401, "unauthorized");
    let r = app.call("POST", &format!("{BASE_PATH}/issues/WEB-1/comments"), &[], Some("{}")).await;
    assert_error(&r, 401, "unauthorized");
    let r = app.call("DELETE", &format!("{BASE_PATH}/issues/WEB-1"), &[], None).await;
    assert_error(&r, 401, "unauthorized");
    // With the token, the same unknown path is a 404, and a good call works.
    let r = app.call("GET", &format!("{BASE_PATH}/nothing/here"), &[auth(), granted.clone()], None).await;
    assert_error(&r, 404, "not_found");
    let r = app.call("GET", &projects, &[auth(), granted], None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.headers.get("x-request-id").is_some());
    app.stop().await;
}

async fn granted_header_is_required_and_well_formed(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let projects = format!("{BASE_PATH}/projects");
    let r = app.call("GET", &projects, &[auth()], None).await;
    assert_error(&r, 400, "bad_request");
    assert!(r.body["error"]["message"].as_str().unwrap().contains(GRANTED_HEADER));
    for bad in ["not-a-uuid", "7a5c0002-0000-4000-8000-000000000111,nope"] {
        let r = app.call("GET", &projects, &[auth(), (GRANTED_HEADER, bad.to_string())], None).await;
        assert_error(&r, 400, "bad_request");
    }
    // Writes need it too, before anything is written.
    let r = app
        .call(
            "POST",
            &format!("{BASE_PATH}/issues/WEB-1/comments"),
            &[auth(), (IDEMPOTENCY_HEADER, "k".into())],
            Some(&with_actor(json!({"body": "hi"})).to_string()),
        )
        .await;
    assert_error(&r, 400, "bad_request");
    assert!(card(&app, "WEB-1").await.recent_comments.len() == 1);
    // An empty grant sees nothing.
    let r = app.get_as(&[], "/projects").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["projects"], json!([]));
    app.stop().await;
}

async fn projects_list_resolve_and_context(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let r = app.get("/projects").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"projects": [{"id": demo::WEB, "identifier": "WEB", "name": "Website"}]}));
    let unknown = Uuid::new_v4();
    let r = app.get_as(&[demo::OPS, demo::WEB, unknown], "/projects").await;
    let idents: Vec<&str> =
        r.body["projects"].as_array().unwrap().iter().map(|p| p["identifier"].as_str().unwrap()).collect();
    assert_eq!(idents, ["OPS", "WEB"], "granted projects that exist, by identifier");

    for reference in ["web", "WEB", " Web ", &demo::WEB.to_string()] {
        let r = app.get(&format!("/projects/resolve?ref={}", reference.replace(' ', "%20"))).await;
        assert_eq!(r.status, 200, "{reference}: {}", r.text);
        assert_eq!(r.body["id"], json!(demo::WEB));
    }
    assert_error(&app.get("/projects/resolve?ref=NOPE").await, 404, "not_found");
    assert_error(&app.get(&format!("/projects/resolve?ref={unknown}")).await, 403, "project_not_granted");
    assert_error(&app.get_as(&[unknown], &format!("/projects/resolve?ref={unknown}")).await, 404, "not_found");
    assert_error(&app.get("/projects/resolve?ref=ops").await, 403, "project_not_granted");
    assert_error(&app.get("/projects/resolve").await, 400, "bad_request");

    // A person's own projects, whatever the granted set (here: none).
    let r = app.get_as(&[], &format!("/users/{}/projects", demo::ALICE)).await;
    let idents: Vec<&str> =
        r.body["projects"].as_array().unwrap().iter().map(|p| p["identifier"].as_str().unwrap()).collect();
    assert_eq!(idents, ["OPS", "WEB"], "{}", r.text);
    let r = app.get_as(&[], &format!("/users/{}/projects", demo::CAROL)).await;
    assert_eq!(r.body["projects"].as_array().map(Vec::len), Some(0), "Carol is in no project: {}", r.text);
    assert_error(&app.get_as(&[], "/users/nobody/projects").await, 400, "bad_request");
    assert_error(&app.get("/projects/resolve?ref=").await, 400, "bad_request");

    let r = app.get(&format!("/projects/{}/context", demo::WEB)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["project"]["identifier"], "WEB");
    let states: Vec<(&str, &str, bool)> = r.body["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["group"].as_str().unwrap(), s["is_default"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("Backlog", "backlog", false),
            ("Todo", "unstarted", true),
            ("In Progress", "started", false),
            ("Done", "completed", false),
            ("Cancelled", "cancelled", false)
        ]
    );
    assert_eq!(r.body["states"][1]["id"], json!(demo::state_id(demo::WEB, "Todo")));
    let labels: Vec<&str> = r.body["labels"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(labels, ["bug", "chore", "docs", "feature"]);
    assert_eq!(r.body["labels"][0], json!({"id": demo::label_id(demo::WEB, "bug"), "name": "bug", "color": "#e5484d"}));
    assert_eq!(
        r.body["members"],
        json!([
            {"user_id": demo::ALICE, "display_name": "Alice", "email": "alice@example.com", "role": "admin"},
            {"user_id": demo::BOB, "display_name": "Bob", "email": "bob@example.com", "role": "member"},
        ])
    );
    // A granted id that does not exist is a 404; a malformed id a 400.
    assert_error(&app.get_as(&[unknown], &format!("/projects/{unknown}/context")).await, 404, "not_found");
    assert_error(&app.get("/projects/WEB/context").await, 400, "bad_request");
    app.stop().await;
}

async fn cards_are_read_by_id_and_by_key(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let by_key = card(&app, "WEB-2").await;
    let by_lower_key = card(&app, "web-2").await;
    let by_id = card(&app, &demo::WEB_2.to_string()).await;
    assert_eq!(by_key, by_id);
    assert_eq!(by_key, by_lower_key);
    assert_eq!((by_key.id, by_key.key.as_str(), by_key.sequence_id), (demo::WEB_2, "WEB-2", 2));
    assert_eq!(by_key.project_id, demo::WEB);
    assert_eq!(by_key.title, "Write the onboarding guide");
    assert_eq!(by_key.state.name, "Todo");
    assert_eq!(by_key.labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["docs"]);
    assert_eq!(by_key.assignees.iter().map(|a| a.display_name.as_str()).collect::<Vec<_>>(), ["Bob"]);
    assert!(by_key.blocks.goal.as_deref().unwrap().starts_with("A new team member"));
    assert_eq!(by_key.blocks.acceptance.as_ref().unwrap().len(), 2);
    assert_eq!(by_key.blocks.log.as_deref(), Some(&["Outline drafted.".to_string()][..]));
    assert_eq!(by_key.block_versions.len(), 4, "goal, plan, acceptance, log");
    assert!(by_key.description_html.contains("New team members keep asking"), "the human zone is kept");
    assert_eq!(by_key.created_by, "Alice");

    let web1 = card(&app, "WEB-1").await;
    assert_eq!(web1.recent_comments.len(), 1);
    assert_eq!(web1.recent_comments[0].actor, "Bob");
    assert!(web1.blocks == Default::default() && web1.block_versions.is_empty());
    assert_eq!(web1.parent, None);

    assert_error(&app.get("/issues/WEB-99").await, 404, "not_found");
    assert_error(&app.get(&format!("/issues/{}", Uuid::new_v4())).await, 404, "not_found");
    assert_error(&app.get("/issues/NOPE-1").await, 404, "not_found");
    assert_error(&app.get("/issues/not%20a%20card").await, 400, "bad_request");
    assert_error(&app.get("/issues/WEB-0").await, 400, "bad_request");

    // Recent comments are the latest ten, newest last.
    for n in 1..=12 {
        let r = app.write("POST", "/issues/WEB-3/comments", &with_actor(json!({"body": format!("note {n}")}))).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let web3 = card(&app, "WEB-3").await;
    let bodies: Vec<&str> = web3.recent_comments.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(bodies, (3..=12).map(|n| format!("note {n}")).collect::<Vec<_>>());
    app.stop().await;
}

async fn search_filters_and_paginates_stably(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let search = |query: &str| format!("/projects/{}/issues{query}", demo::WEB);
    let r = app.get(&search("")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys(&r), ["WEB-3", "WEB-2", "WEB-1"]);
    assert_eq!(r.body["next_cursor"], Value::Null);
    assert_eq!(r.body["issues"][2]["state"]["name"], "In Progress");
    assert_eq!(r.body["issues"][2]["labels"][0]["name"], "bug");
    assert_eq!(r.body["issues"][2]["assignees"][0]["display_name"], "Alice");

    for (query, expected) in [
        ("?q=LOGIN", vec!["WEB-1"]),
        ("?q=dark%20theme", vec!["WEB-3"]),    // description text
        ("?q=clean%20machine", vec!["WEB-2"]), // block text
        ("?q=100%25", vec![]),                 // `%` is literal
        ("?state=todo", vec!["WEB-2"]),
        (&format!("?state={}", demo::state_id(demo::WEB, "Backlog")), vec!["WEB-3"]),
        ("?label=BUG", vec!["WEB-1"]),
        (&format!("?label={}", demo::label_id(demo::WEB, "feature")), vec!["WEB-3"]),
        ("?assignee=bob%40example.com", vec!["WEB-2"]),
        ("?assignee=alice", vec!["WEB-1"]),
        (&format!("?assignee={}", demo::BOB), vec!["WEB-2"]),
        ("?q=the&label=docs", vec!["WEB-2"]),
    ] {
        let r = app.get(&search(query)).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(keys(&r), expected, "{query}");
    }
    let r = app.get(&search("?state=Doing")).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(r.body["error"]["details"]["field"], "state");
    assert_eq!(r.body["error"]["details"]["unknown"], json!(["Doing"]));
    assert_eq!(strings(&r.body["error"]["details"]["valid"]), ["Backlog", "Todo", "In Progress", "Done", "Cancelled"]);
    let r = app.get(&search("?label=urgent")).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(strings(&r.body["error"]["details"]["valid"]), ["bug", "chore", "docs", "feature"]);
    let r = app.get(&search("?assignee=carol%40example.com")).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(strings(&r.body["error"]["details"]["valid"]), ["alice@example.com", "bob@example.com"]);

    // Pages of two, stable while cards are created between pages.
    let r = app.get(&search("?limit=2")).await;
    assert_eq!(keys(&r), ["WEB-3", "WEB-2"]);
    let cursor = r.body["next_cursor"].as_str().expect("a next cursor").to_string();
    let created =
        app.write("POST", &format!("/projects/{}/issues", demo::WEB), &with_actor(json!({"title": "New"}))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let r = app.get(&search(&format!("?limit=2&cursor={cursor}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys(&r), ["WEB-1"]);
    assert_eq!(r.body["next_cursor"], Value::Null);
    let r = app.get(&search("?limit=2")).await;
    assert_eq!(keys(&r), ["WEB-4", "WEB-3"]);

    for bad in ["?limit=0", "?limit=101", "?limit=-1", "?limit=ten", "?cursor=garbage", "?cursor=", "?sort=title"] {
        assert_error(&app.get(&search(bad)).await, 400, "bad_request");
    }
    let r = app.get(&search("?limit=100")).await;
    assert_eq!(r.status, 200);
    app.stop().await;
}

async fn create_resolves_names_and_shows_the_actor(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let body = with_actor(json!({
        "title": "  Ship the pricing page  ",
        "priority": "high",
        "state": "in progress",
        "labels": ["Feature", demo::label_id(demo::WEB, "docs"), "feature"],
        "assignees": ["bob@example.com", "ALICE"],
        "start_date": "2026-12-01",
        "target_date": "2026-12-24",
        "parent": "web-1",
        "blocks": {"goal": "Prices are public.", "acceptance": [{"text": "Page live"}, {"text": "Linked", "checked": true}]}
    }));
    let r = app.write("POST", &format!("/projects/{}/issues", demo::WEB), &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let issue = issue_of(&r);
    assert_eq!((issue.key.as_str(), issue.sequence_id, issue.title.as_str()), ("WEB-4", 4, "Ship the pricing page"));
    assert_eq!(issue.priority.as_str(), "high");
    assert_eq!(issue.state.name, "In Progress");
    assert_eq!(issue.labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["docs", "feature"]);
    assert_eq!(issue.assignees.iter().map(|a| a.display_name.as_str()).collect::<Vec<_>>(), ["Alice", "Bob"]);
    assert_eq!(issue.start_date.unwrap().to_string(), "2026-12-01");
    assert_eq!(issue.target_date.unwrap().to_string(), "2026-12-24");
    assert_eq!(issue.parent.as_ref().map(|p| (p.id, p.key.as_str())), Some((demo::WEB_1, "WEB-1")));
    assert_eq!(issue.created_by, ALICE_ACTOR);
    assert_eq!(issue.updated_by, ALICE_ACTOR);
    assert_eq!(issue.blocks.goal.as_deref(), Some("Prices are public."));
    assert!(issue.blocks.acceptance.as_ref().unwrap()[1].checked);
    assert_eq!(issue.block_versions.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["goal", "acceptance"]);
    assert!(issue.description_html.contains("nodedc-block-goal"), "{}", issue.description_html);
    assert_eq!(card(&app, "WEB-4").await, issue, "the answer is the card as stored");

    // The default state, and an owner Tasker does not know shown by id.
    let stranger = Uuid::new_v4();
    let body = json!({"actor": actor_for(AGENT, "Ops bot", stranger), "title": "Rotate the keys"});
    let r = app.write_as(&[demo::OPS], "POST", &format!("/projects/{}/issues", demo::OPS), "ops-1", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let ops = issue_of(&r);
    assert_eq!((ops.key.as_str(), ops.state.name.as_str(), ops.priority.as_str()), ("OPS-1", "Todo", "none"));
    assert_eq!(ops.created_by, format!("agent Ops bot on behalf of {stranger}"));
    assert!(ops.labels.is_empty() && ops.assignees.is_empty() && ops.parent.is_none());
    app.stop().await;
}

async fn create_refusals_name_the_valid_values(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let path = format!("/projects/{}/issues", demo::WEB);
    let create = |extra: Value| {
        let mut body = with_actor(json!({"title": "A card"}));
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let r = app.write("POST", &path, &create(json!({"labels": ["bug", "nope", "Later"]}))).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        r.body["error"]["details"],
        json!({"field": "labels", "unknown": ["nope", "Later"], "valid": ["bug", "chore", "docs", "feature"]})
    );
    let r = app.write("POST", &path, &create(json!({"state": "Doing"}))).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        r.body["error"]["details"],
        json!({"field": "state", "unknown": ["Doing"], "valid": ["Backlog", "Todo", "In Progress", "Done", "Cancelled"]})
    );
    // Carol is in the workspace but not in WEB: she cannot be assigned.
    let r = app.write("POST", &path, &create(json!({"assignees": ["carol@example.com", "Bob"]}))).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        r.body["error"]["details"],
        json!({"field": "assignees", "unknown": ["carol@example.com"], "valid": ["alice@example.com", "bob@example.com"]})
    );
    for (extra, field) in [
        (json!({"title": "   "}), "title"),
        (json!({"title": "x".repeat(256)}), "title"),
        (json!({"parent": "WEB-99"}), "parent"),
        (json!({"parent": "OPS-1"}), "parent"),
        (json!({"parent": "not a card"}), "parent"),
        (json!({"start_date": "2026-12-02", "target_date": "2026-12-01"}), "target_date"),
        (json!({"blocks": {"acceptance": [{"text": "x".repeat(600)}]}}), "blocks"),
        (json!({"actor": actor_for(AGENT, "  ", demo::ALICE)}), "actor.agent_name"),
    ] {
        let r = app.write("POST", &path, &create(extra.clone())).await;
        assert_error(&r, 422, "validation_failed");
        assert_eq!(r.body["error"]["details"]["field"], field, "{extra}: {}", r.text);
    }
    let r = app.write("POST", &path, &create(json!({"title": "x".repeat(255)}))).await;
    assert_eq!(r.status, 201, "255 characters is the limit: {}", r.text);
    assert_eq!(card_count(&app, demo::WEB).await, 4, "no refused create left a card");
    assert_eq!(issue_of(&r).sequence_id, 4, "no refused create took a number");
    app.stop().await;
}

async fn update_refuses_fields_outside_the_allowlist(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let before = card(&app, "WEB-1").await;
    for (changes, refused) in [
        (json!({"title": "Renamed", "state": "Done"}), vec!["state"]),
        (
            json!({"labels": ["bug"], "description_html": "<p>x</p>", "priority": "low"}),
            vec!["description_html", "labels"],
        ),
        (json!({"assignees": []}), vec!["assignees"]),
        (json!({"archived_at": "2026-01-01"}), vec!["archived_at"]),
    ] {
        let r = app.write("PATCH", "/issues/WEB-1", &with_actor(json!({"changes": changes}))).await;
        assert_error(&r, 422, "field_not_allowed");
        assert_eq!(strings(&r.body["error"]["details"]["fields"]), refused);
        assert_eq!(strings(&r.body["error"]["details"]["allowed"]), UPDATABLE_FIELDS);
    }
    assert_eq!(card(&app, "WEB-1").await, before, "nothing changed, not even the allowed fields");
    app.stop().await;
}

async fn update_changes_the_allowed_fields(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let patch = |changes: Value| with_actor(json!({ "changes": changes }));
    let r = app
        .write(
            "PATCH",
            "/issues/WEB-3",
            &patch(json!({
                "title": "Dark mode everywhere",
                "priority": "urgent",
                "start_date": "2027-01-10",
                "target_date": "2027-02-01",
                "parent": demo::WEB_2,
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let issue = issue_of(&r);
    assert_eq!(issue.title, "Dark mode everywhere");
    assert_eq!(issue.priority.as_str(), "urgent");
    assert_eq!(issue.start_date.unwrap().to_string(), "2027-01-10");
    assert_eq!(issue.parent.as_ref().unwrap().key, "WEB-2");
    assert_eq!(issue.updated_by, ALICE_ACTOR);
    assert_eq!(issue.created_by, "Alice");
    assert!(issue.updated_at > issue.created_at);

    // null clears; an empty change set changes nothing.
    let r = app.write("PATCH", "/issues/WEB-3", &patch(json!({"start_date": null, "parent": null}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cleared = issue_of(&r);
    assert_eq!((cleared.start_date, cleared.parent.clone()), (None, None));
    assert_eq!(cleared.target_date.unwrap().to_string(), "2027-02-01");
    let r = app.write("PATCH", "/issues/WEB-3", &patch(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(issue_of(&r), cleared);

    let r = app.write("PATCH", "/issues/WEB-3", &patch(json!({"priority": "critical"}))).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        r.body["error"]["details"],
        json!({"field": "priority", "unknown": ["critical"], "valid": ["urgent", "high", "medium", "low", "none"]})
    );
    for (changes, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": 5}), "title"),
        (json!({"start_date": "2027/01/01"}), "start_date"),
        (json!({"target_date": 20270101}), "target_date"),
        (json!({"start_date": "2027-03-01"}), "target_date"),
        (json!({"parent": "WEB-3"}), "parent"),
        (json!({"parent": "WEB-77"}), "parent"),
        (json!({"description_blocks": "plan"}), "description_blocks"),
    ] {
        let r = app.write("PATCH", "/issues/WEB-3", &patch(changes.clone())).await;
        assert_error(&r, 422, "validation_failed");
        assert_eq!(r.body["error"]["details"]["field"], field, "{changes}: {}", r.text);
    }
    // No cycles: WEB-2 under WEB-1, then WEB-1 under WEB-2 is refused.
    let r = app.write("PATCH", "/issues/WEB-2", &patch(json!({"parent": "WEB-1"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.write("PATCH", "/issues/WEB-1", &patch(json!({"parent": "WEB-2"}))).await;
    assert_error(&r, 422, "validation_failed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("cycle"), "{}", r.text);
    assert_eq!(card(&app, "WEB-3").await, cleared, "refused updates changed nothing");
    app.stop().await;
}

async fn description_blocks_replace_checks_versions(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let before = card(&app, "WEB-2").await;
    let plan_version = before.block_versions[&BlockName::Plan].clone();
    let patch = |changes: Value| with_actor(json!({ "changes": changes }));
    let r = app
        .write(
            "PATCH",
            "/issues/WEB-2",
            &patch(json!({"description_blocks": {
                "blocks": {"plan": "1. Ask in chat.\n2. Write it.", "result": "Draft shared."},
                "base_versions": {"plan": plan_version}
            }})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let after = issue_of(&r);
    assert_eq!(after.blocks.plan.as_deref(), Some("1. Ask in chat.\n2. Write it."));
    assert_eq!(after.blocks.result.as_deref(), Some("Draft shared."));
    assert_eq!(after.blocks.goal, before.blocks.goal, "blocks not named are left alone");
    assert_eq!(after.blocks.log, before.blocks.log);
    assert!(after.description_html.contains("New team members keep asking"), "the human zone survives");
    assert_ne!(after.block_versions[&BlockName::Plan], plan_version);

    // The old version is stale now: a conflict carrying the current content.
    let r = app
        .write(
            "PATCH",
            "/issues/WEB-2",
            &patch(
                json!({"description_blocks": {"blocks": {"plan": "mine"}, "base_versions": {"plan": plan_version}}}),
            ),
        )
        .await;
    assert_error(&r, 409, "conflict");
    let d = &r.body["error"]["details"];
    assert_eq!(d["block"], "plan");
    assert_eq!(d["current_version"], json!(after.block_versions[&BlockName::Plan]));
    assert_eq!(d["current"], json!("1. Ask in chat.\n2. Write it."));
    // A replace of an existing block without a version is a conflict too.
    let r = app.write("PATCH", "/issues/WEB-2", &patch(json!({"description_blocks": {"blocks": {"goal": "x"}}}))).await;
    assert_error(&r, 409, "conflict");
    assert_eq!(r.body["error"]["details"]["block"], "goal");
    // The log cannot be replaced; unknown shapes are refused.
    for bad in [
        json!({"blocks": {"log": ["rewritten"]}}),
        json!({"blocks": {"plan": "x"}, "base_versions": {"goal": "abc"}}),
        json!({"blocks": {"colour": "red"}}),
        json!({"plan": "x"}),
    ] {
        let r = app.write("PATCH", "/issues/WEB-2", &patch(json!({ "description_blocks": bad }))).await;
        assert_error(&r, 422, "validation_failed");
        assert_eq!(r.body["error"]["details"]["field"], "description_blocks");
    }
    assert_eq!(card(&app, "WEB-2").await, after, "refused replaces changed nothing");
    app.stop().await;
}

async fn block_ops_apply_and_stale_replace_conflicts(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let before = card(&app, "WEB-2").await;
    let plan_version = before.block_versions[&BlockName::Plan].clone();
    let ops = |ops: Value| with_actor(json!({ "ops": ops }));
    let r = app
        .write(
            "POST",
            "/issues/WEB-2/blocks",
            &ops(json!([
                {"op": "append_log", "entry": "Setup steps written."},
                {"op": "check_item", "item": "Linked from the README", "checked": true},
                {"op": "replace", "block": "plan", "text": "Just write it.", "base_version": plan_version},
                {"op": "replace", "block": "result", "text": "Guide published."}
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let after = issue_of(&r);
    assert_eq!(after.blocks.log.as_ref().unwrap(), &["Outline drafted.", "Setup steps written."]);
    assert!(after.blocks.acceptance.as_ref().unwrap()[1].checked);
    assert_eq!(after.blocks.plan.as_deref(), Some("Just write it."));
    assert_eq!(after.blocks.result.as_deref(), Some("Guide published."));
    assert_eq!(after.updated_by, ALICE_ACTOR);

    // Someone changed the plan meanwhile: the stale replace is a conflict, nothing of
    // the batch is applied, and the answer carries the current plan.
    let r = app
        .write(
            "POST",
            "/issues/WEB-2/blocks",
            &ops(json!([
                {"op": "append_log", "entry": "should not land"},
                {"op": "replace", "block": "plan", "text": "Mine.", "base_version": plan_version}
            ])),
        )
        .await;
    assert_error(&r, 409, "conflict");
    assert_eq!(
        r.body["error"]["details"],
        json!({"block": "plan", "current_version": after.block_versions[&BlockName::Plan], "current": "Just write it."})
    );
    let r = app
        .write(
            "POST",
            "/issues/WEB-2/blocks",
            &ops(json!([{"op": "check_item", "item": "No such item", "checked": true}])),
        )
        .await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(r.body["error"]["details"]["field"], "ops");
    let r = app.write("POST", "/issues/WEB-2/blocks", &ops(json!([{"op": "append_log", "entry": "   "}]))).await;
    assert_error(&r, 422, "validation_failed");
    let r =
        app.write("POST", "/issues/WEB-2/blocks", &ops(json!([{"op": "replace", "block": "log", "text": "x"}]))).await;
    assert_error(&r, 422, "validation_failed");
    let r = app.write("POST", "/issues/WEB-2/blocks", &ops(json!([{"op": "delete", "block": "plan"}]))).await;
    assert_error(&r, 400, "bad_request");
    assert_eq!(card(&app, "WEB-2").await, after, "refused ops changed nothing");

    // Blocks on a card that had none.
    let r =
        app.write("POST", "/issues/WEB-1/blocks", &ops(json!([{"op": "append_log", "entry": "Reproduced."}]))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let web1 = issue_of(&r);
    assert_eq!(web1.blocks.log.as_ref().unwrap(), &["Reproduced."]);
    assert!(web1.description_html.contains("session cookie"), "the human description is kept");
    app.stop().await;
}

async fn move_comment_labels_and_assignees(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let r = app.write("POST", "/issues/WEB-2/move", &with_actor(json!({"state": "in progress"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(issue_of(&r).state.name, "In Progress");
    let done = demo::state_id(demo::WEB, "Done").to_string();
    let r = app.write("POST", "/issues/WEB-2/move", &with_actor(json!({"state": done}))).await;
    assert_eq!(issue_of(&r).state.group.as_str(), "completed");
    let r = app.write("POST", "/issues/WEB-2/move", &with_actor(json!({"state": "Shipped"}))).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        r.body["error"]["details"],
        json!({"field": "state", "unknown": ["Shipped"], "valid": ["Backlog", "Todo", "In Progress", "Done", "Cancelled"]})
    );

    let r = app.write("POST", "/issues/WEB-1/comments", &with_actor(json!({"body": "Fixed on staging."}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["comment"]["body"], "Fixed on staging.");
    assert_eq!(r.body["comment"]["actor"], ALICE_ACTOR);
    let issue = issue_of(&r);
    assert_eq!(issue.recent_comments.len(), 2);
    assert_eq!(issue.recent_comments.last().unwrap().body, "Fixed on staging.");
    for body in [json!(""), json!("  \n "), json!("x".repeat(10_001))] {
        let r = app.write("POST", "/issues/WEB-1/comments", &with_actor(json!({ "body": body }))).await;
        assert_error(&r, 422, "validation_failed");
        assert_eq!(r.body["error"]["details"]["field"], "body");
    }
    let r = app.write("POST", "/issues/WEB-1/comments", &with_actor(json!({"body": "y".repeat(10_000)}))).await;
    assert_eq!(r.status, 201);

    let labels = |add: Value, remove: Value| with_actor(json!({"add": add, "remove": remove}));
    let r = app.write("POST", "/issues/WEB-1/labels", &labels(json!(["Feature", "bug"]), json!(["docs"]))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let names: Vec<String> = issue_of(&r).labels.into_iter().map(|l| l.name).collect();
    assert_eq!(names, ["bug", "feature"], "adding what is there and removing what is not are no-ops");
    let r = app.write("POST", "/issues/WEB-1/labels", &labels(json!([]), json!(["BUG"]))).await;
    assert_eq!(issue_of(&r).labels.into_iter().map(|l| l.name).collect::<Vec<_>>(), ["feature"]);
    let r = app.write("POST", "/issues/WEB-1/labels", &labels(json!(["wontfix"]), json!(["later"]))).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        r.body["error"]["details"],
        json!({"field": "labels", "unknown": ["wontfix", "later"], "valid": ["bug", "chore", "docs", "feature"]})
    );
    let r = app.write("POST", "/issues/WEB-1/labels", &labels(json!(["docs"]), json!(["Docs"]))).await;
    assert_error(&r, 422, "validation_failed");

    let r = app.write("POST", "/issues/WEB-1/assignees", &labels(json!(["bob"]), json!(["alice@example.com"]))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let names: Vec<String> = issue_of(&r).assignees.into_iter().map(|a| a.display_name).collect();
    assert_eq!(names, ["Bob"]);
    let r = app.write("POST", "/issues/WEB-1/assignees", &labels(json!([demo::BOB]), json!(["Alice"]))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.write("POST", "/issues/WEB-1/assignees", &labels(json!(["carol@example.com"]), json!([]))).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        r.body["error"]["details"],
        json!({"field": "assignees", "unknown": ["carol@example.com"], "valid": ["alice@example.com", "bob@example.com"]})
    );
    app.stop().await;
}

async fn members_are_added_from_the_workspace(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let path = format!("/projects/{}/members", demo::WEB);
    let r = app.write("POST", &path, &with_actor(json!({"user": "CAROL@example.com"}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"member": {"user_id": demo::CAROL, "display_name": "Carol", "email": "carol@example.com", "role": "member"}, "added": true})
    );
    let r = app.write("POST", &path, &with_actor(json!({"user": demo::CAROL, "role": "admin"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["added"], false);
    assert_eq!(r.body["member"]["role"], "member", "an existing membership is not changed");
    // Carol can now be assigned.
    let r = app.write("POST", "/issues/WEB-3/assignees", &with_actor(json!({"add": ["Carol"]}))).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = app.write("POST", &path, &with_actor(json!({"user": "dave@example.com"}))).await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        r.body["error"]["details"],
        json!({"field": "user", "unknown": ["dave@example.com"], "valid": ["alice@example.com", "bob@example.com", "carol@example.com"]})
    );
    let body = with_actor(json!({"user": "bob@example.com", "role": "guest"}));
    let r = app.write_as(&[demo::OPS], "POST", &format!("/projects/{}/members", demo::OPS), "m-ops", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["member"]["role"], "guest");
    let r = app.write("POST", &path, &with_actor(json!({"user": "bob@example.com", "role": "owner"}))).await;
    assert_error(&r, 400, "bad_request");
    app.stop().await;
}

async fn projects_outside_the_grant_are_refused_everywhere(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let ops_only = [demo::OPS];
    let web1_before = card(&app, "WEB-1").await;
    let reads = [
        format!("/projects/{}/context", demo::WEB),
        format!("/projects/{}/issues", demo::WEB),
        format!("/projects/{}/issues?q=login", demo::WEB),
        format!("/issues/{}", web_1()),
        "/issues/WEB-1".to_string(),
        "/issues/web-99".to_string(),
        "/projects/resolve?ref=WEB".to_string(),
        format!("/projects/resolve?ref={}", demo::WEB),
    ];
    for path in &reads {
        let r = app.get_as(&ops_only, path).await;
        assert_error(&r, 403, "project_not_granted");
        assert_eq!(r.body["error"]["details"]["project_id"], json!(demo::WEB), "{path}");
    }
    let r = app.get_as(&ops_only, "/projects").await;
    assert_eq!(r.body["projects"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["projects"][0]["identifier"], "OPS");

    let writes = [
        ("POST", format!("/projects/{}/issues", demo::WEB), json!({"title": "sneaky"})),
        ("POST", format!("/projects/{}/members", demo::WEB), json!({"user": "carol@example.com"})),
        ("PATCH", format!("/issues/{}", web_1()), json!({"changes": {"title": "sneaky"}})),
        ("PATCH", "/issues/WEB-1".to_string(), json!({"changes": {"title": "sneaky"}})),
        ("POST", "/issues/WEB-1/move".to_string(), json!({"state": "Done"})),
        ("POST", format!("/issues/{}/move", web_1()), json!({"state": "Done"})),
        ("POST", "/issues/WEB-1/comments".to_string(), json!({"body": "sneaky"})),
        ("POST", format!("/issues/{}/comments", web_1()), json!({"body": "sneaky"})),
        ("POST", "/issues/WEB-1/labels".to_string(), json!({"add": ["docs"]})),
        ("POST", "/issues/WEB-1/assignees".to_string(), json!({"add": ["Bob"]})),
        ("POST", "/issues/WEB-1/blocks".to_string(), json!({"ops": [{"op": "append_log", "entry": "sneaky"}]})),
        ("POST", format!("/issues/{}/blocks", web_1()), json!({"ops": [{"op": "append_log", "entry": "sneaky"}]})),
    ];
    for (method, path, body) in &writes {
        let r = app.write_as(&ops_only, method, path, &Uuid::new_v4().to_string(), &with_actor(body.clone())).await;
        assert_error(&r, 403, "project_not_granted");
    }
    // And the other way round: OPS with only WEB granted.
    let r = app.get(&format!("/projects/{}/context", demo::OPS)).await;
    assert_error(&r, 403, "project_not_granted");
    let r = app.write("POST", &format!("/projects/{}/issues", demo::OPS), &with_actor(json!({"title": "x"}))).await;
    assert_error(&r, 403, "project_not_granted");
    // A project that does not even exist is refused the same way when not granted.
    let r = app.get(&format!("/projects/{}/issues", Uuid::new_v4())).await;
    assert_error(&r, 403, "project_not_granted");

    assert_eq!(card(&app, "WEB-1").await, web1_before, "nothing was written");
    assert_eq!(card_count(&app, demo::WEB).await, 3);
    assert_eq!(card_count(&app, demo::OPS).await, 0);
    app.stop().await;
}

async fn idempotent_writes_replay_and_refuse_reuse(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let path = format!("/projects/{}/issues", demo::WEB);
    let body = with_actor(json!({"title": "Once only", "labels": ["bug"]}));
    let first = app.write_as(&[demo::WEB], "POST", &path, "key-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let second = app.write_as(&[demo::WEB], "POST", &path, "key-1", &body).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.text, first.text, "the replay is the stored answer, byte for byte");
    assert_eq!(second.headers.get("idempotent-replayed").unwrap(), "true");
    // A retry through a new gateway request (new request id) is the same request.
    let mut retried = body.clone();
    retried["actor"]["request_id"] = json!("another-request-id");
    let third = app.write_as(&[demo::WEB], "POST", &path, "key-1", &retried).await;
    assert_eq!((third.status, &third.text), (201, &first.text));
    assert_eq!(card_count(&app, demo::WEB).await, 4, "one card");

    // The same key for another request is refused, and writes nothing.
    let other = with_actor(json!({"title": "Something else"}));
    let r = app.write_as(&[demo::WEB], "POST", &path, "key-1", &other).await;
    assert_error(&r, 409, "idempotency_key_reused");
    let r =
        app.write_as(&[demo::WEB], "POST", "/issues/WEB-1/comments", "key-1", &with_actor(json!({"body": "x"}))).await;
    assert_error(&r, 409, "idempotency_key_reused");
    assert_eq!(card_count(&app, demo::WEB).await, 4);

    // Comments: one comment however often the call is repeated.
    let comment = with_actor(json!({"body": "Deployed."}));
    let a = app.write_as(&[demo::WEB], "POST", "/issues/WEB-1/comments", "c-1", &comment).await;
    let b = app.write_as(&[demo::WEB], "POST", "/issues/WEB-1/comments", "c-1", &comment).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(a.text, b.text);
    assert_eq!(card(&app, "WEB-1").await.recent_comments.len(), 2, "Bob's and one Deployed.");

    // Keys belong to an agent: another agent's same key is its own write.
    let mut theirs = body.clone();
    theirs["actor"] = actor_for(Uuid::new_v4(), "Other bot", demo::BOB);
    let r = app.write_as(&[demo::WEB], "POST", &path, "key-1", &theirs).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_ne!(r.body["issue"]["id"], first.body["issue"]["id"]);
    assert_eq!(card_count(&app, demo::WEB).await, 5);

    // A refused write leaves no record: the key can be used once the request is fixed.
    let bad = with_actor(json!({"title": "Fixed later", "labels": ["nope"]}));
    assert_error(&app.write_as(&[demo::WEB], "POST", &path, "key-2", &bad).await, 422, "validation_failed");
    let good = with_actor(json!({"title": "Fixed later"}));
    assert_eq!(app.write_as(&[demo::WEB], "POST", &path, "key-2", &good).await.status, 201);

    // A missing key is refused before anything is written.
    let headers = [auth(), (GRANTED_HEADER, demo::WEB.to_string())];
    let r = app.call("POST", &format!("{BASE_PATH}{path}"), &headers, Some(&body.to_string())).await;
    assert_error(&r, 400, "bad_request");
    assert!(r.body["error"]["message"].as_str().unwrap().contains(IDEMPOTENCY_HEADER));
    let r = app.write_as(&[demo::WEB], "POST", &path, &"k".repeat(256), &body).await;
    assert_error(&r, 400, "bad_request");
    assert_eq!(card_count(&app, demo::WEB).await, 6);
    app.stop().await;
}

async fn concurrent_writes_neither_duplicate_nor_lose_anything(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let path = format!("/projects/{}/issues", demo::WEB);
    let body = with_actor(json!({"title": "Raced"}));
    let calls = (0..6).map(|_| app.write_as(&[demo::WEB], "POST", &path, "race-key", &body));
    let answers = join_all(calls).await;
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.text, answers[0].text);
    }
    assert_eq!(card_count(&app, demo::WEB).await, 4);
    // Concurrent different creates each get their own number.
    let bodies: Vec<Value> = (0..5).map(|n| with_actor(json!({"title": format!("parallel {n}")}))).collect();
    let calls = bodies.iter().map(|body| app.write("POST", &path, body));
    let mut numbers: Vec<i64> = join_all(calls).await.iter().map(|r| issue_of(r).sequence_id).collect();
    numbers.sort();
    assert_eq!(numbers, [5, 6, 7, 8, 9]);
    // Concurrent appends to one card's log all land (the card is locked while rewritten).
    let bodies: Vec<Value> =
        (0..6).map(|n| with_actor(json!({"ops": [{"op": "append_log", "entry": format!("entry {n}")}]}))).collect();
    let answers = join_all(bodies.iter().map(|body| app.write("POST", "/issues/WEB-2/blocks", body))).await;
    assert!(answers.iter().all(|r| r.status == 200), "{:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>());
    let mut log = card(&app, "WEB-2").await.blocks.log.unwrap();
    log.sort();
    assert_eq!(log, ["Outline drafted.", "entry 0", "entry 1", "entry 2", "entry 3", "entry 4", "entry 5"]);
    app.stop().await;
}

async fn deletes_and_archiving_are_refused(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let granted = (GRANTED_HEADER, demo::WEB.to_string());
    for path in [
        "/issues/WEB-1".to_string(),
        format!("/issues/{}", web_1()),
        "/issues/WEB-1/comments".to_string(),
        format!("/projects/{}", demo::WEB),
        format!("/projects/{}/members", demo::WEB),
        "/no/such/path".to_string(),
        "/issues/WEB-1/archive".to_string(),
    ] {
        let r = app.call("DELETE", &format!("{BASE_PATH}{path}"), &[auth(), granted.clone()], None).await;
        assert_error(&r, 405, "delete_not_supported");
    }
    for (method, path) in [
        ("POST", "/issues/WEB-1/archive"),
        ("GET", "/issues/WEB-1/archive"),
        ("PATCH", "/issues/WEB-1/archive"),
        ("POST", "/archive/WEB-1"),
        ("GET", "/projects/7a5c0002-0000-4000-8000-000000000111/archived-issues"),
        ("POST", "/issues/WEB-1/unarchive"),
        ("POST", "/projects/7a5c0002-0000-4000-8000-000000000111/Archive"),
    ] {
        let r = app.call(method, &format!("{BASE_PATH}{path}"), &[auth(), granted.clone()], Some("{}")).await;
        assert_error(&r, 403, "archive_not_supported");
    }
    // A card key that merely starts with "archive" is not an archive request.
    let r = app.get("/issues/ARCHIVE-1").await;
    assert_error(&r, 404, "not_found");
    assert_eq!(card(&app, "WEB-1").await.title, "Fix the login redirect loop");
    app.stop().await;
}

async fn bad_input_is_a_400_never_a_500(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let create = format!("/projects/{}/issues", demo::WEB);
    let headers =
        |key: &str| vec![auth(), (GRANTED_HEADER, demo::WEB.to_string()), (IDEMPOTENCY_HEADER, key.to_string())];
    let good_actor = actor();
    let cases: Vec<(&str, String, String, &str)> = vec![
        ("POST", create.clone(), "{not json".into(), "not valid JSON"),
        ("POST", create.clone(), "".into(), "empty"),
        ("POST", create.clone(), "[]".into(), "JSON object"),
        ("POST", create.clone(), "\"title\"".into(), "JSON object"),
        ("POST", create.clone(), json!({"title": "x"}).to_string(), "actor"),
        ("POST", create.clone(), json!({"actor": good_actor, "title": "x", "colour": "red"}).to_string(), "colour"),
        ("POST", create.clone(), json!({"actor": good_actor, "title": "x", "priority": "critical"}).to_string(), "priority"),
        ("POST", create.clone(), json!({"actor": good_actor, "title": "x", "start_date": "tomorrow"}).to_string(), "start_date"),
        ("POST", create.clone(), json!({"actor": good_actor, "title": ["x"]}).to_string(), "title"),
        (
            "POST",
            create.clone(),
            json!({"actor": {"agent_id": "nope", "agent_name": "a", "owner_user_id": demo::ALICE, "request_id": "r"}, "title": "x"})
                .to_string(),
            "agent_id",
        ),
        ("POST", "/issues/WEB-1/move".into(), json!({"actor": good_actor}).to_string(), "state"),
        ("POST", "/issues/WEB-1/blocks".into(), json!({"actor": good_actor, "ops": {}}).to_string(), "ops"),
        ("PATCH", "/issues/WEB-1".into(), json!({"actor": good_actor, "changes": []}).to_string(), "changes"),
        ("POST", "/issues/WEB-1/labels".into(), json!({"actor": good_actor, "add": "bug"}).to_string(), "add"),
        ("POST", "/issues/not-a-card/comments".into(), json!({"actor": good_actor, "body": "x"}).to_string(), "card"),
        ("POST", "/projects/not-a-uuid/issues".into(), json!({"actor": good_actor, "title": "x"}).to_string(), "UUID"),
        ("POST", "/projects/not-a-uuid/members".into(), json!({"actor": good_actor, "user": "x"}).to_string(), "UUID"),
    ];
    for (method, path, body, mention) in cases {
        let r =
            app.call(method, &format!("{BASE_PATH}{path}"), &headers(&Uuid::new_v4().to_string()), Some(&body)).await;
        assert_error(&r, 400, "bad_request");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{method} {path} {body}: `{message}` should mention `{mention}`");
    }
    let big = json!({"actor": actor(), "body": "x".repeat(2 * 1024 * 1024)}).to_string();
    let r = app.call("POST", &format!("{BASE_PATH}/issues/WEB-1/comments"), &headers("big"), Some(&big)).await;
    assert_error(&r, 400, "bad_request");
    // Reads with bad paths or methods.
    for (method, path, status, code) in [
        ("GET", "/projects/123/context", 400, "bad_request"),
        ("GET", "/issues/%E2%9C%93", 400, "bad_request"),
        ("PUT", "/projects", 404, "not_found"),
        ("POST", "/projects/resolve?ref=WEB", 404, "not_found"),
        ("GET", "/issues/WEB-1/comments", 404, "not_found"),
        ("GET", "", 404, "not_found"),
    ] {
        let r = app.call(method, &format!("{BASE_PATH}{path}"), &headers("read"), None).await;
        assert_error(&r, status, code);
    }
    assert_eq!(card_count(&app, demo::WEB).await, 3);
    assert_eq!(card(&app, "WEB-1").await.recent_comments.len(), 1);
    app.stop().await;
}

async fn history_records_every_change_with_the_actor(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let r = app
        .write(
            "POST",
            &format!("/projects/{}/issues", demo::WEB),
            &with_actor(json!({"title": "Tracked", "labels": ["bug"]})),
        )
        .await;
    let id = issue_of(&r).id;
    let key = issue_of(&r).key;
    let path = |suffix: &str| format!("/issues/{key}{suffix}");
    assert_eq!(
        app.write("PATCH", &path(""), &with_actor(json!({"changes": {"title": "Tracked!", "priority": "low"}})))
            .await
            .status,
        200
    );
    assert_eq!(app.write("POST", &path("/move"), &with_actor(json!({"state": "Done"}))).await.status, 200);
    assert_eq!(
        app.write("POST", &path("/labels"), &with_actor(json!({"add": ["docs"], "remove": ["bug"]}))).await.status,
        200
    );
    assert_eq!(app.write("POST", &path("/assignees"), &with_actor(json!({"add": ["Bob"]}))).await.status, 200);
    assert_eq!(
        app.write("POST", &path("/comments"), &with_actor(json!({"body": "Done and dusted."}))).await.status,
        201
    );
    let ops = json!({"ops": [{"op": "append_log", "entry": "Checked."}, {"op": "replace", "block": "goal", "text": "Track it."}]});
    assert_eq!(app.write("POST", &path("/blocks"), &with_actor(ops)).await.status, 200);
    // A no-op writes no history.
    assert_eq!(app.write("POST", &path("/move"), &with_actor(json!({"state": "done"}))).await.status, 200);
    // Another agent for another owner.
    let other =
        json!({"actor": actor_for(Uuid::new_v4(), "Bob bot", demo::BOB), "changes": {"target_date": "2027-05-01"}});
    assert_eq!(app.write("PATCH", &path(""), &other).await.status, 200);

    let entries = app.db.run(move |c| activity::list(c, &id.to_string())).await.unwrap();
    let rows: Vec<(String, &str, Option<&str>, Option<&str>)> = entries
        .iter()
        .map(|e| (e.who.display(), e.change.field.as_str(), e.change.old.as_deref(), e.change.new.as_deref()))
        .collect();
    let a = ALICE_ACTOR;
    assert_eq!(
        rows,
        [
            (a, "created", None, Some("WEB-4: Tracked")),
            (a, "title", Some("Tracked"), Some("Tracked!")),
            (a, "priority", Some("none"), Some("low")),
            (a, "state", Some("Todo"), Some("Done")),
            (a, "labels", Some("bug"), None),
            (a, "labels", None, Some("docs")),
            (a, "assignees", None, Some("Bob")),
            (a, "comment", None, Some("Done and dusted.")),
            (a, "blocks.goal", None, Some("Track it.")),
            (a, "blocks.log", None, Some("Checked.")),
            ("agent Bob bot on behalf of Bob", "target_date", None, Some("2027-05-01")),
        ]
        .map(|(who, f, o, n)| (who.to_string(), f, o, n))
    );
    // The actor and the owner are separate fields.
    let last = &entries.last().unwrap().who;
    assert_eq!((last.actor.as_str(), last.on_behalf_of.as_deref()), ("agent Bob bot", Some("Bob")));
    let issue = card(&app, &key).await;
    assert_eq!(issue.created_by, a);
    assert_eq!(issue.updated_by, "agent Bob bot on behalf of Bob");
    app.stop().await;
}

async fn board_pages_render_escaped_and_never_write(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let evil = "<script>alert('x')</script> & \"quotes\"";
    let r = app
        .write(
            "POST",
            &format!("/projects/{}/issues", demo::WEB),
            &with_actor(json!({"title": evil, "labels": ["bug"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r =
        app.write("POST", "/issues/WEB-4/comments", &with_actor(json!({"body": "<img src=x onerror=alert(1)>"}))).await;
    assert_eq!(r.status, 201);
    let r = app
        .write(
            "POST",
            "/issues/WEB-4/blocks",
            &with_actor(json!({"ops": [{"op": "append_log", "entry": "<b>bold</b> move"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let index = app.page("/").await;
    assert_eq!(index.status, 200);
    assert!(index.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));
    assert!(index.text.contains("href=\"/projects/WEB\"") && index.text.contains("Operations"), "{}", index.text);

    let board = app.page("/projects/web").await;
    assert_eq!(board.status, 200);
    for column in ["Backlog", "Todo", "In Progress", "Done", "Cancelled"] {
        assert!(board.text.contains(&format!("<h2>{column} ")), "column {column}");
    }
    assert!(board.text.contains("href=\"/cards/WEB-1\"") && board.text.contains("Fix the login redirect loop"));
    assert!(
        board.text.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"),
        "{}",
        board.text
    );
    assert!(!board.text.contains("<script>"), "user text is escaped");

    let page = app.page("/cards/WEB-2").await;
    assert_eq!(page.status, 200);
    for expected in [
        "Goal",
        "Plan",
        "☐ Setup steps tested on a clean machine",
        "Outline drafted.",
        "New team members keep asking",
        "Bob",
    ] {
        assert!(page.text.contains(expected), "card page lacks {expected}: {}", page.text);
    }
    let page = app.page("/cards/WEB-4").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(ALICE_ACTOR), "the history shows who acted: {}", page.text);
    assert!(page.text.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.text.contains("&lt;b&gt;bold&lt;/b&gt; move"));
    assert!(!page.text.contains("<script>") && !page.text.contains("<img") && !page.text.contains("<b>bold"));
    assert!(page.text.contains("blocks.log") && page.text.contains("created"));

    assert_eq!(app.page("/cards/WEB-99").await.status, 404);
    assert_eq!(app.page("/projects/NOPE").await.status, 404);
    assert_eq!(app.page("/cards/%3Cx%3E").await.status, 404);
    let before = card(&app, "WEB-1").await;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let r = app.call(method, "/cards/WEB-1", &[], Some("{}")).await;
        assert_eq!(r.status, 405, "{method} on the board");
        assert!(r.text.contains("read-only"));
    }
    assert_eq!(card(&app, "WEB-1").await, before);
    app.stop().await;
}

async fn seeding_twice_does_nothing(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    assert!(!seed_demo(&app.db).await.unwrap());
    assert_eq!(card_count(&app, demo::WEB).await, 3);
    let r = app.get_as(&[demo::WEB, demo::OPS], "/projects").await;
    assert_eq!(r.body["projects"].as_array().unwrap().len(), 2);
    app.stop().await;
}

/// `/healthz` is the process; `/readyz` also needs the database and the reference
/// Tasker's tables, and says which is missing. Neither asks for the token.
async fn health_and_readiness_need_no_token(backend: Backend) {
    let app = TaskerApp::start(backend).await;
    let r = app.call("GET", "/healthz", &[], None).await;
    assert_eq!((r.status, &r.body), (200, &json!({"status": "ok"})), "{}", r.text);
    let r = app.call("GET", "/readyz", &[], None).await;
    assert_eq!((r.status, r.body["status"].as_str(), r.body["schema"].as_str()), (200, Some("ready"), Some("current")));
    assert_eq!(r.body["database"].as_str(), Some(backend.to_string().as_str()));
    assert_eq!(app.call("POST", "/readyz", &[], None).await.status, 405, "read-only, like the board");

    // Its tables' migration forgotten: not ready, and the answer names it.
    app.db
        .run(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("DELETE FROM __diesel_schema_migrations WHERE version = '20261121000002'").execute(c)?;
            Ok::<_, nodedc_agent_gateway::storage::StorageError>(())
        })
        .await
        .unwrap();
    let r = app.call("GET", "/readyz", &[], None).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (503, Some("unavailable")), "{}", r.text);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("20261121000002"), "{}", r.text);

    // The database gone: still up, not ready, and no detail (hosts, paths) leaks.
    app.db.close();
    let r = app.call("GET", "/readyz", &[], None).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (503, Some("unavailable")), "{}", r.text);
    assert!(!r.text.contains("://") && !r.text.contains("gateway.db"), "{}", r.text);
    assert_eq!(app.call("GET", "/healthz", &[], None).await.status, 200);
    app.stop().await;
}
