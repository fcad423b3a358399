"""The terminal transport: the IVR as lines of text and typed keys (`hotline simulate call`).

`render` turns media actions into lines; `terminal.run_call` reads what the user types, turns it into
engine events and hands them to a `CallLine` (the simulator wires one to the real call service).
Like every transport it never touches the database.
"""
