//! The storage layer on both backends, each test on a fresh database.

use chrono::Duration;
use diesel::prelude::*;
use futures_util::future::join_all;
use nodedc_agent_gateway::model::{Owner, OwnerStatus, ReportingMode};
use nodedc_agent_gateway::reference_tasker;
use nodedc_agent_gateway::storage::idempotency::{self, Claim};
use nodedc_agent_gateway::storage::migrations::SchemaStatus;
use nodedc_agent_gateway::storage::{self, Backend, DatabaseUrl, Db, StorageError};
use uuid::Uuid;

use crate::common::TestDb;

on_both_backends!(
    migrations_apply_once_and_report_current,
    the_reference_tasker_tables_are_separate,
    a_newer_schema_is_refused,
    concurrent_writers_never_see_locked,
    times_round_trip_exactly,
    idempotency_keys_replay_and_refuse_mismatch,
    concurrent_claims_of_one_key_have_one_winner,
    stale_in_flight_claims_can_be_taken_over,
);

async fn fresh(backend: Backend) -> (TestDb, Db) {
    let t = TestDb::new(backend);
    let db = Db::connect(&t.url, 8).await.unwrap();
    (t, db)
}

async fn migrated(backend: Backend) -> (TestDb, Db) {
    let (t, db) = fresh(backend).await;
    db.migrate().await.unwrap();
    (t, db)
}

async fn migrations_apply_once_and_report_current(backend: Backend) {
    let (_t, db) = fresh(backend).await;
    let SchemaStatus::Pending(pending) = db.schema_status().await.unwrap() else {
        panic!("a fresh database is behind")
    };
    assert!(!pending.is_empty());
    assert_eq!(db.migrate().await.unwrap(), pending, "migrate applies exactly what was pending");
    assert_eq!(db.schema_status().await.unwrap(), SchemaStatus::Current);
    assert!(db.migrate().await.unwrap().is_empty(), "a second run applies nothing");
    db.close();
}

async fn the_reference_tasker_tables_are_separate(backend: Backend) {
    let (_t, db) = migrated(backend).await;
    let db = db.knowing(&reference_tasker::migrations::MIGRATIONS);
    let has_tasker_tables = |db: &Db| {
        let db = db.clone();
        async move {
            db.run(|c| {
                let r = diesel::sql_query("SELECT COUNT(*) FROM tasker_projects").execute(c);
                Ok::<_, StorageError>(r.is_ok())
            })
            .await
            .unwrap()
        }
    };
    assert!(!has_tasker_tables(&db).await, "the gateway's migrations create no tasker_* table");
    assert!(!db.migrate_set(&reference_tasker::migrations::MIGRATIONS).await.unwrap().is_empty());
    assert!(has_tasker_tables(&db).await);
    // The gateway still finds its schema current with the reference Tasker's versions there.
    assert_eq!(db.schema_status().await.unwrap(), SchemaStatus::Current);
    assert!(db.migrate().await.unwrap().is_empty());
    assert!(db.migrate_set(&reference_tasker::migrations::MIGRATIONS).await.unwrap().is_empty(), "idempotent");
    db.close();
}

async fn a_newer_schema_is_refused(backend: Backend) {
    let (_t, db) = migrated(backend).await;
    db.run(|c| {
        diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('29990101000000')").execute(c)?;
        Ok::<_, StorageError>(())
    })
    .await
    .unwrap();
    assert_eq!(db.schema_status().await.unwrap(), SchemaStatus::Newer(vec!["29990101000000".into()]));
    let err = db.migrate().await.unwrap_err();
    assert!(matches!(err, StorageError::SchemaTooNew(_)), "{err}");
    assert!(err.to_string().contains("29990101000000"));
    db.close();
}

fn owner(i: usize) -> Owner {
    let now = storage::now().and_utc();
    Owner {
        user_id: Uuid::new_v4(),
        display_name: format!("owner {i}"),
        status: OwnerStatus::Active,
        codex_agents: true,
        client_id: None,
        reporting_mode: ReportingMode::Voluntary,
        created_at: now,
        updated_at: now,
    }
}

async fn concurrent_writers_never_see_locked(backend: Backend) {
    let (_t, db) = migrated(backend).await;
    // Each writer reads, then writes, in one transaction: the pattern that fails with
    // "database is locked" on SQLite unless the write lock is taken up front.
    let writers = (0..32).map(|i| {
        let db = db.clone();
        async move {
            db.write(move |c| {
                let o = owner(i);
                let _ = storage::owners::find(c, o.user_id)?;
                storage::owners::insert(c, &o)?;
                Ok::<_, StorageError>(())
            })
            .await
        }
    });
    let results = join_all(writers).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let n: i64 =
        db.run(|c| Ok::<_, StorageError>(storage::schema::owners::table.count().get_result(c)?)).await.unwrap();
    assert_eq!(n, 32);
    db.close();
}

async fn times_round_trip_exactly(backend: Backend) {
    let (_t, db) = migrated(backend).await;
    let o = owner(1);
    let written = o.clone();
    let read = db
        .write(move |c| {
            storage::owners::insert(c, &written)?;
            storage::owners::find(c, written.user_id)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.created_at, o.created_at);
    assert_eq!(read.user_id, o.user_id);
    db.close();
}

async fn claim(db: &Db, agent: Uuid, key: &str, fp: &str, at: chrono::NaiveDateTime) -> Claim {
    let (key, fp) = (key.to_string(), fp.to_string());
    db.write(move |c| idempotency::claim(c, agent, &key, &fp, at, Duration::hours(24))).await.unwrap()
}

/// An agent row, for the idempotency table's foreign key.
async fn agent_row(db: &Db) -> Uuid {
    let o = owner(0);
    let agent = nodedc_agent_gateway::model::Agent {
        id: Uuid::new_v4(),
        owner_user_id: o.user_id,
        name: "a".into(),
        description: String::new(),
        status: nodedc_agent_gateway::model::AgentStatus::Active,
        created_at: o.created_at,
        updated_at: o.created_at,
        last_seen_at: None,
        revoked_at: None,
        read_per_minute: None,
        write_per_minute: None,
    };
    let id = agent.id;
    db.write(move |c| {
        storage::owners::insert(c, &o)?;
        storage::agents::insert(c, &agent)
    })
    .await
    .unwrap();
    id
}

async fn idempotency_keys_replay_and_refuse_mismatch(backend: Backend) {
    let (_t, db) = migrated(backend).await;
    let agent = agent_row(&db).await;
    let now = storage::now();
    assert_eq!(claim(&db, agent, "k1", "fp-a", now).await, Claim::Started);
    assert_eq!(claim(&db, agent, "k1", "fp-a", now).await, Claim::InProgress);
    assert_eq!(claim(&db, agent, "k1", "fp-b", now).await, Claim::Mismatch);
    db.write(move |c| idempotency::complete(c, agent, "k1", r#"{"id":1}"#, now)).await.unwrap();
    assert_eq!(claim(&db, agent, "k1", "fp-a", now).await, Claim::Replay(r#"{"id":1}"#.into()));
    assert_eq!(claim(&db, agent, "k1", "fp-b", now).await, Claim::Mismatch);

    // A released key (the call failed) can be retried.
    assert_eq!(claim(&db, agent, "k2", "fp", now).await, Claim::Started);
    db.write(move |c| idempotency::release(c, agent, "k2")).await.unwrap();
    assert_eq!(claim(&db, agent, "k2", "fp", now).await, Claim::Started);

    // After expiry the key is free, and purging removes it.
    let later = now + Duration::hours(25);
    assert_eq!(claim(&db, agent, "k1", "fp-other", later).await, Claim::Started);
    let purged = db.write(move |c| idempotency::purge_expired(c, later + Duration::hours(25))).await.unwrap();
    assert_eq!(purged, 2);
    db.close();
}

async fn concurrent_claims_of_one_key_have_one_winner(backend: Backend) {
    let (_t, db) = migrated(backend).await;
    let agent = agent_row(&db).await;
    let now = storage::now();
    let claims = join_all((0..12).map(|_| claim(&db, agent, "same", "fp", now))).await;
    let started = claims.iter().filter(|c| **c == Claim::Started).count();
    assert_eq!(started, 1, "{claims:?}");
    assert!(claims.iter().all(|c| matches!(c, Claim::Started | Claim::InProgress)));
    db.close();
}

async fn stale_in_flight_claims_can_be_taken_over(backend: Backend) {
    let (_t, db) = migrated(backend).await;
    let agent = agent_row(&db).await;
    let now = storage::now();
    assert_eq!(claim(&db, agent, "k", "fp", now).await, Claim::Started);
    let within = now + idempotency::IN_FLIGHT_LEASE - Duration::seconds(1);
    assert_eq!(claim(&db, agent, "k", "fp", within).await, Claim::InProgress);
    let after = now + idempotency::IN_FLIGHT_LEASE;
    assert_eq!(claim(&db, agent, "k", "fp", after).await, Claim::Started, "a crashed call's key is retried");
    db.close();
}

#[actix_web::test]
async fn unreachable_postgres_is_an_error_never_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = std::env::current_dir().unwrap();
    for raw in ["postgres://postgres@127.0.0.1:1/nope", "postgresql://postgres@127.0.0.1:1/nope"] {
        let url = DatabaseUrl::parse(raw).unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        let err = Db::connect(&url, 1).await.err().expect("must fail");
        assert!(matches!(err, StorageError::Unavailable(_)), "{err}");
    }
    // Nothing named after the URL appeared anywhere we ran.
    for d in [dir.path(), cwd.as_path()] {
        for entry in std::fs::read_dir(d).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            assert!(!name.starts_with("postgres"), "stray file {name}");
        }
    }
}

#[test]
fn database_urls_are_chosen_by_scheme() {
    assert_eq!(DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap().sqlite_path().unwrap().to_str(), Some("/tmp/x.db"));
    assert_eq!(DatabaseUrl::parse("sqlite://data/x.db").unwrap().sqlite_path().unwrap().to_str(), Some("data/x.db"));
    for (bad, says) in [
        ("mysql://u@h/db", "unknown scheme `mysql`"),
        ("/var/lib/x.db", "no scheme"),
        ("sqlite://", "names no file"),
        ("sqlite://:memory:", "in-memory"),
        ("postgres://", "no host"),
    ] {
        let err = DatabaseUrl::parse(bad).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
    let shown = DatabaseUrl::parse("postgres://gw:s3cret-pw@db.internal:5432/gw").unwrap().to_string();
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("db.internal"));
}

#[actix_web::test]
async fn a_missing_sqlite_directory_is_an_error() {
    let url = DatabaseUrl::parse("sqlite:///nonexistent-dir-for-test/x.db").unwrap();
    let err = Db::connect(&url, 1).await.err().expect("must fail");
    assert!(err.to_string().contains("does not exist"), "{err}");
}
