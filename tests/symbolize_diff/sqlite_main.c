/*
 * sqlite_main.c: the program around the SQLite amalgamation that
 * tests/scripts/symbolize_diff.sh symbolizes (its addresses are picked from
 * the binary, nothing is run).  It uses enough of SQLite that the linker
 * keeps the library: a table, an index, inserts, a join and aggregates.
 */
#include <stdio.h>

#include "sqlite3.h"

static int print_row(void *unused, int n, char **values, char **names)
{
	(void)unused;
	for (int i = 0; i < n; i++)
		printf("%s=%s%s", names[i], values[i] ? values[i] : "NULL", i + 1 < n ? " " : "\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *sql = argc > 1 ? argv[1] :
		"CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);"
		"CREATE INDEX tb ON t(b);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)"
		" INSERT INTO t SELECT i, printf('row%d', i % 37), i * 0.5 FROM n;"
		"SELECT b, count(*), sum(c) FROM t GROUP BY b ORDER BY 2 DESC, 1 LIMIT 3;"
		"SELECT x.b, y.a FROM t x JOIN t y ON x.a = y.a + 1 WHERE x.a < 3;";
	sqlite3 *db;
	char *err = NULL;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
		fprintf(stderr, "sqlite3_open: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	if (sqlite3_exec(db, sql, print_row, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite3_exec: %s\n", err);
		sqlite3_free(err);
		sqlite3_close(db);
		return 1;
	}
	sqlite3_close(db);
	return 0;
}
