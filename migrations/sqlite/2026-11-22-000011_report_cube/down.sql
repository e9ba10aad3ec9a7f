DROP TABLE report_cube_waits;
DROP TABLE report_cube;
