DROP TABLE end_summaries;
DROP TABLE no_onward_support;
DROP TABLE signpostings;
DROP TABLE directory_service_areas;
DROP TABLE directory_services;
