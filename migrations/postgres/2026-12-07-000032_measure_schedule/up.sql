-- When outcome measures are taken in a course of treatment: at every attended session (the
-- NHS Talking Therapies practice, so a person who stops early still has a last score) or at
-- the first and last sessions only. Plans made before this change keep the older practice.
ALTER TABLE session_plans ADD COLUMN measures TEXT NOT NULL DEFAULT 'start_end';
