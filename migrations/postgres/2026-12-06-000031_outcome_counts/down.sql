-- The aggregates are derived: emptied, the next start rebuilds them from the facts.
DELETE FROM report_cube;
DELETE FROM report_cube_waits;
