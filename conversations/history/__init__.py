"""History from another helpdesk (and the demo): `replay` parses JSON lines and replays each
conversation through the services; `bulk` plans the same lines with the lifecycle in memory
and writes them with PostgreSQL COPY; `demo` writes demo history for `seed_demo`."""
