//! Test databases: each test gets its own database, copied from a template that is migrated once
//! per migration set and day (so its log partitions are current). Used by the test suites only.

use sqlx::{Connection, PgConnection, PgPool};

/// The server that tests use: TEST_DATABASE_URL, else DATABASE_URL, else the local default.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The URL of database `name` on the tests' server.
pub fn named_url(name: &str) -> String {
    with_db(&admin_url(), name)
}

fn with_db(url: &str, db: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, tail)) => {
            let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
            format!("{base}/{db}{query}")
        }
        None => format!("{url}/{db}"),
    }
}

fn template_name() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in crate::MIGRATOR.iter() {
        for b in m.checksum.iter() {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let day = time::OffsetDateTime::now_utc().date();
    format!("bma_tpl_{h:016x}_{}{:02}{:02}", day.year(), u8::from(day.month()), day.day())
}

/// Creates a fresh, migrated database and returns a pool on it and its URL.
pub async fn fresh_database() -> anyhow::Result<(PgPool, String)> {
    let admin = with_db(&admin_url(), "postgres");
    let mut conn = PgConnection::connect(&admin).await?;
    let template = template_name();
    sqlx::query("SELECT pg_advisory_lock(727271)").execute(&mut conn).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&template)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        let building = format!("{template}_building");
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{building}\""))).execute(&mut conn).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{building}\""))).execute(&mut conn).await?;
        {
            let pool = PgPool::connect(&with_db(&admin, &building)).await?;
            crate::migrate(&pool).await?;
            pool.close().await;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\"")))
            .execute(&mut conn)
            .await?;
    }
    sqlx::query("SELECT pg_advisory_unlock(727271)").execute(&mut conn).await?;
    let name = format!("bma_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let url = with_db(&admin, &name);
    let pool = crate::connect(&url, 10).await?;
    Ok((pool, url))
}
