-- Parallel plans whatever the costs: each query below runs with workers,
-- whose dynamic shared memory the leader makes and removes per query.
SET max_parallel_workers_per_gather = 4;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET min_parallel_index_scan_size = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*), sum(abalance) FROM pgbench_accounts;
SELECT 'count', count(*) FROM pgbench_accounts;
SELECT 'join', count(*) FROM pgbench_accounts a JOIN pgbench_accounts b USING (aid);
SELECT 'count', count(*) FROM pgbench_accounts;
SELECT 'join', count(*) FROM pgbench_accounts a JOIN pgbench_accounts b USING (aid);
SELECT 'count', count(*) FROM pgbench_accounts;
SELECT 'join', count(*) FROM pgbench_accounts a JOIN pgbench_accounts b USING (aid);
SELECT 'count', count(*) FROM pgbench_accounts;
