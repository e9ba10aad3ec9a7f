DROP INDEX report_facts_sentenced;
DROP INDEX report_facts_first_session;
DROP INDEX report_facts_ended;
