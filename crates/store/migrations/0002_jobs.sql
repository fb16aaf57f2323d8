-- The background job queue. Workers claim rows with SKIP LOCKED; a job is enqueued in the same
-- transaction as the write that causes it; finished jobs are deleted; a job that used up its
-- attempts stays as 'dead' until an admin re-queues it.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         varchar(100) NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority     smallint NOT NULL DEFAULT 0,
    status       varchar(10) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'dead')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts >= 1),
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_at    timestamptz,
    locked_by    varchar(100),
    last_error   text,
    dedup_key    varchar(200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_ready_idx ON jobs(priority DESC, run_at) WHERE status = 'queued';
CREATE INDEX jobs_running_idx ON jobs(locked_at) WHERE status = 'running';
CREATE INDEX jobs_dead_idx ON jobs(updated_at DESC) WHERE status = 'dead';
CREATE UNIQUE INDEX jobs_dedup_idx ON jobs(dedup_key) WHERE dedup_key IS NOT NULL AND status <> 'dead';

-- One row per (periodic job, time slot): whichever scheduler inserts it first fires the job.
CREATE TABLE periodic_runs (
    name     varchar(100) NOT NULL,
    slot     timestamptz NOT NULL,
    fired_by varchar(100) NOT NULL,
    fired_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, slot)
);
