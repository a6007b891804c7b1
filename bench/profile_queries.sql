-- CPU-bound queries for bench/profile.sh's sampler (the sqlite3 shell, an
-- in-memory database): a recursive CTE, a generated table, a grouped
-- aggregate, a join and a sort.  About 1-2 s on the development machine.
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000)
SELECT count(*), sum(x * x % 7), max(length(printf('%x', x))) FROM c;
CREATE TABLE t AS
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)
  SELECT x AS id, x % 997 AS k, printf('%08x', (x * 2654435761) % 4294967296) AS s FROM c;
CREATE TABLE u AS SELECT k, count(*) AS n, max(s) AS m, min(s) AS lo FROM t GROUP BY k;
SELECT count(*), sum(length(t.s)) FROM t JOIN u ON t.k = u.k WHERE t.s > u.lo AND t.s < u.m;
SELECT k, substr(group_concat(s, ','), 1, 20) FROM (SELECT k, s FROM t ORDER BY s DESC) GROUP BY k
  ORDER BY k LIMIT 3;
SELECT a.k, count(*) FROM t AS a JOIN t AS b ON a.id = b.id + 1 AND a.k = (b.k + 1) % 997
  GROUP BY a.k ORDER BY 2 DESC LIMIT 3;
