"""Asterisk over ARI: the thin client (client.py), engine actions as ARI requests (media.py), the app that
runs calls on channels (executor.py), the call service seam (calls.py), operators (operators.py,
takeover.py) and `hotline ari` (run.py). docs/asterisk.md explains the whole."""
