//! The reference Tasker's tables (migration `2026-11-21-000002_reference_tasker`), in
//! SQL types both backends share: Text for UUIDs, Timestamp for UTC times, Date.

diesel::table! {
    tasker_workspace (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_users (id) {
        id -> Text,
        workspace_id -> Text,
        display_name -> Text,
        email -> Text,
        workspace_role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_projects (id) {
        id -> Text,
        workspace_id -> Text,
        identifier -> Text,
        name -> Text,
        next_sequence -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_states (id) {
        id -> Text,
        project_id -> Text,
        name -> Text,
        state_group -> Text,
        position -> Integer,
        is_default -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_labels (id) {
        id -> Text,
        project_id -> Text,
        name -> Text,
        color -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_project_members (project_id, user_id) {
        project_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_issues (id) {
        id -> Text,
        project_id -> Text,
        sequence_id -> BigInt,
        title -> Text,
        priority -> Text,
        state_id -> Text,
        start_date -> Nullable<Date>,
        target_date -> Nullable<Date>,
        parent_id -> Nullable<Text>,
        description_html -> Text,
        search_text -> Text,
        created_by -> Text,
        updated_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tasker_issue_labels (issue_id, label_id) {
        issue_id -> Text,
        label_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_issue_assignees (issue_id, user_id) {
        issue_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_comments (id) {
        id -> Text,
        issue_id -> Text,
        position -> BigInt,
        body -> Text,
        actor -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_activity (id) {
        id -> BigInt,
        issue_id -> Text,
        actor -> Text,
        on_behalf_of -> Nullable<Text>,
        field -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tasker_idempotency (agent_id, idempotency_key) {
        agent_id -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(tasker_users -> tasker_workspace (workspace_id));
diesel::joinable!(tasker_projects -> tasker_workspace (workspace_id));
diesel::joinable!(tasker_states -> tasker_projects (project_id));
diesel::joinable!(tasker_labels -> tasker_projects (project_id));
diesel::joinable!(tasker_project_members -> tasker_projects (project_id));
diesel::joinable!(tasker_project_members -> tasker_users (user_id));
diesel::joinable!(tasker_issues -> tasker_projects (project_id));
diesel::joinable!(tasker_issues -> tasker_states (state_id));
diesel::joinable!(tasker_issue_labels -> tasker_issues (issue_id));
diesel::joinable!(tasker_issue_labels -> tasker_labels (label_id));
diesel::joinable!(tasker_issue_assignees -> tasker_issues (issue_id));
diesel::joinable!(tasker_issue_assignees -> tasker_users (user_id));
diesel::joinable!(tasker_comments -> tasker_issues (issue_id));
diesel::joinable!(tasker_activity -> tasker_issues (issue_id));

diesel::allow_tables_to_appear_in_same_query!(
    tasker_workspace,
    tasker_users,
    tasker_projects,
    tasker_states,
    tasker_labels,
    tasker_project_members,
    tasker_issues,
    tasker_issue_labels,
    tasker_issue_assignees,
    tasker_comments,
    tasker_activity,
    tasker_idempotency,
);
