DROP TABLE deferred_indexes;
