"""The durable local spool: what a signed webhook brought while the database was down (docs/reliability.md).

A report is appended to `HOTLINE_DATA_DIR/spool/` (one fsync'd file per record, `store.py`) before the webhook
answers 200, and replayed in arrival order through the normal intake once the database is back (`replay.py`,
run by every `hotline serve` and by `hotline spool replay`). Replaying is idempotent: the provider's message id
(or CallSid) is unique in the database, so a report both spooled and retried by its gateway is one report.
"""
