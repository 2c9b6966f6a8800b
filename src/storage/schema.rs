//! Table definitions shared by both backends. Only SQL types PostgreSQL and SQLite
//! have in common are used (Text for UUIDs, Timestamp for UTC times).

diesel::table! {
    owners (user_id) {
        user_id -> Text,
        display_name -> Text,
        status -> Text,
        codex_agents -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        client_id -> Nullable<Text>,
        reporting_mode -> Text,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        display_name -> Text,
        codex_agents -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    client_changes (id) {
        id -> Text,
        client_id -> Text,
        changed_at -> Timestamp,
        request_id -> Text,
        source -> Text,
        changed_by -> Nullable<Text>,
        field -> Text,
        old_value -> Nullable<Text>,
        new_value -> Text,
    }
}

diesel::table! {
    owner_changes (id) {
        id -> Text,
        owner_user_id -> Text,
        changed_at -> Timestamp,
        request_id -> Text,
        source -> Text,
        field -> Text,
        old_value -> Nullable<Text>,
        new_value -> Text,
        changed_by -> Nullable<Text>,
    }
}

diesel::table! {
    agents (id) {
        id -> Text,
        owner_user_id -> Text,
        name -> Text,
        description -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_seen_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        read_per_minute -> Nullable<Integer>,
        write_per_minute -> Nullable<Integer>,
        last_activity_at -> Nullable<Timestamp>,
        last_tool -> Nullable<Text>,
        last_card -> Nullable<Text>,
    }
}

diesel::table! {
    agent_tokens (id) {
        id -> Text,
        agent_id -> Text,
        label -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    agent_grants (agent_id, project_id) {
        agent_id -> Text,
        project_id -> Text,
        project_identifier -> Text,
        scopes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        request_id -> Text,
        gateway_request_id -> Nullable<Text>,
        actor_kind -> Text,
        owner_user_id -> Nullable<Text>,
        agent_id -> Nullable<Text>,
        token_id -> Nullable<Text>,
        action -> Text,
        project_ref -> Nullable<Text>,
        card_ref -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        outcome -> Text,
        error_code -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (agent_id, idempotency_key) {
        agent_id -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        state -> Text,
        response -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    mcp_sessions (id) {
        id -> Text,
        token_id -> Text,
        protocol_version -> Text,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        last_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    work_sessions (id) {
        id -> Text,
        agent_id -> Text,
        owner_user_id -> Text,
        goal -> Text,
        state -> Text,
        card -> Nullable<Text>,
        last_status -> Nullable<Text>,
        started_at -> Timestamp,
        last_report_at -> Timestamp,
        last_activity_at -> Timestamp,
        stale_since -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        summary -> Nullable<Text>,
    }
}

diesel::table! {
    work_session_events (id) {
        id -> Text,
        session_id -> Text,
        at -> Timestamp,
        kind -> Text,
        card -> Nullable<Text>,
        text -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    activity_hourly (hour_start, agent_id, project_ref, tool, outcome) {
        hour_start -> Timestamp,
        agent_id -> Text,
        owner_user_id -> Text,
        project_ref -> Text,
        tool -> Text,
        outcome -> Text,
        calls -> BigInt,
    }
}

diesel::table! {
    console_links (digest) {
        digest -> Text,
        kind -> Text,
        subject -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    console_sessions (id) {
        id -> Text,
        digest -> Text,
        kind -> Text,
        subject -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(agents -> owners (owner_user_id));
diesel::joinable!(owners -> clients (client_id));
diesel::joinable!(client_changes -> clients (client_id));
diesel::joinable!(work_sessions -> agents (agent_id));
diesel::joinable!(work_session_events -> work_sessions (session_id));
diesel::joinable!(mcp_sessions -> agent_tokens (token_id));
diesel::joinable!(agent_tokens -> agents (agent_id));
diesel::joinable!(agent_grants -> agents (agent_id));
diesel::joinable!(owner_changes -> owners (owner_user_id));

diesel::allow_tables_to_appear_in_same_query!(
    owners,
    clients,
    client_changes,
    work_sessions,
    work_session_events,
    activity_hourly,
    owner_changes,
    agents,
    agent_tokens,
    agent_grants,
    audit_events,
    idempotency_keys,
    mcp_sessions,
    console_links,
    console_sessions,
);
