-- The uptake report counts finished courses and their NHS Talking Therapies outcomes (paired
-- PHQ-9 and GAD-7, recovery, reliable improvement, recovery and deterioration). They are
-- derived from the report facts already held; emptying the aggregates makes the next start
-- rebuild them from the facts (reports::upkeep::backfill), with the new counts in.
DELETE FROM report_cube;
DELETE FROM report_cube_waits;
