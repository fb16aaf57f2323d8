use crate::helpers::TestApp;

#[tokio::test]
async fn the_specifications_nine_tables_exist_with_their_columns() {
    let app = TestApp::spawn().await;
    let expected: &[(&str, &[&str])] = &[
        (
            "venues",
            &["id", "name", "brand", "country", "timezone", "soundtrack_account_id", "created_at", "updated_at"],
        ),
        (
            "zones",
            &["id", "venue_id", "name", "zone_type", "soundtrack_device_id", "last_status", "last_check", "created_at"],
        ),
        (
            "conversations",
            &["id", "venue_id", "channel", "external_id", "status", "assigned_to", "created_at", "updated_at"],
        ),
        ("messages", &["id", "conversation_id", "sender_type", "content", "metadata", "created_at"]),
        ("satisfaction_scores", &["id", "conversation_id", "venue_id", "score", "feedback", "created_at"]),
        (
            "music_status_logs",
            &["id", "zone_id", "status", "uptime_percentage", "response_time_ms", "error_message", "created_at"],
        ),
        (
            "campaigns",
            &[
                "id",
                "name",
                "type",
                "channel",
                "target_venues",
                "message_template",
                "scheduled_at",
                "status",
                "created_by",
                "created_at",
            ],
        ),
        ("alerts", &["id", "zone_id", "alert_type", "severity", "message", "resolved", "resolved_at", "created_at"]),
        ("team_members", &["id", "email", "name", "role", "permissions", "active", "created_at"]),
    ];
    for (table, columns) in expected {
        let have: Vec<String> =
            sqlx::query_scalar("SELECT column_name::text FROM information_schema.columns WHERE table_name = $1")
                .bind(table)
                .fetch_all(&app.ctx.db)
                .await
                .expect("columns of the table");
        for c in *columns {
            assert!(have.iter().any(|h| h == c), "{table}.{c} is missing");
        }
    }
}

#[tokio::test]
async fn every_foreign_key_is_indexed() {
    let app = TestApp::spawn().await;
    // A foreign key is covered when some index (or the primary key) starts with its columns.
    let unindexed: Vec<String> = sqlx::query_scalar(
        "SELECT c.conrelid::regclass::text || '(' || array_to_string(array(SELECT attname FROM pg_attribute \
                WHERE attrelid = c.conrelid AND attnum = ANY(c.conkey)), ',') || ')' \
         FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.conrelid::regclass::text NOT LIKE '%\\_p2%' \
           AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid \
                 AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] @> c.conkey \
                 AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] <@ c.conkey)",
    )
    .fetch_all(&app.ctx.db)
    .await
    .unwrap_or_else(|e| vec![format!("query failed: {e}")]);
    assert!(unindexed.is_empty(), "foreign keys without an index: {unindexed:?}");
}

#[tokio::test]
async fn status_logs_are_partitioned_by_day_with_two_weeks_ahead_and_a_default_partition() {
    let app = TestApp::spawn().await;
    let days = bma_store::partitions::days(&app.ctx.db, "music_status_logs").await.expect("partitions listed");
    assert!(days.len() >= 16, "yesterday to two weeks ahead: {days:?}");
    let parts = bma_store::partitions::list(&app.ctx.db, "music_status_logs").await.expect("partitions listed");
    assert!(parts.contains(&bma_store::partitions::default_partition("music_status_logs")), "{parts:?}");
    let kind: String = sqlx::query_scalar(
        "SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = 'music_status_logs'::regclass",
    )
    .fetch_one(&app.ctx.db)
    .await
    .expect("the partitioning strategy");
    assert_eq!(kind, "r");
}
