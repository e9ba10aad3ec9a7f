DROP TABLE area_populations;
