"""RQ entry points: they take ids, open their own unit of work, and are safe to run twice."""
