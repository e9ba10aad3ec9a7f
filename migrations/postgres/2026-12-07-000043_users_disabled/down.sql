DROP INDEX users_disabled;
