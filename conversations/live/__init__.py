"""Live delivery of the event log (events.py): each server process's log `tail`, the thin
websocket `consumers` that resume from a cursor, `presence` of sockets, and the websocket
`routing`. Channels is an accelerator here: the log is the truth."""
