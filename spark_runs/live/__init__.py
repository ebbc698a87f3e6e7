"""The live acceptance test's own logic: stack naming, the plan and its cost, deadlines, the
DigitalOcean leftover check and the leak sweeper. Pure or HTTP-only code, unit-tested offline;
tests/live/ drives a real account with it (`make test-live`)."""
