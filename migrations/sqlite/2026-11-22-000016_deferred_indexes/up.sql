-- Secondary indexes a bulk load has dropped, to be built again once it has written its rows
-- (`db::deferred_indexes`): recorded in the transaction that drops them, so an import that is
-- killed part way leaves a record from which the next import, `migrate` or the service's start
-- rebuilds them. Empty except while a large import runs (and only ever used on SQLite).
CREATE TABLE deferred_indexes (
    name TEXT PRIMARY KEY NOT NULL,
    table_name TEXT NOT NULL,
    definition TEXT NOT NULL,
    deferred_at TIMESTAMP NOT NULL
);
