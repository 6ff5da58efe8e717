"""History from another helpdesk (and the demo): `records` parses JSON lines into records (or
says why a line is refused); `replay` replays each record through the services; `bulk`
plans the same records with the lifecycle in memory and writes them with PostgreSQL COPY;
`demo` writes demo history for `seed_demo`."""
