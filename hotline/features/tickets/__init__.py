"""Tickets: open, route, move through their states, their timeline and the queries on them."""
