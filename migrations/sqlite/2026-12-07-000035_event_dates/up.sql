-- The uptake report counts events by their own dates (sentence, first session, end of
-- treatment) as well as by the referral's: one index seek per area for each.
CREATE INDEX report_facts_sentenced ON report_facts (area_id, sentenced_on);
CREATE INDEX report_facts_first_session ON report_facts (area_id, first_session_on);
CREATE INDEX report_facts_ended ON report_facts (area_id, ended_on);
