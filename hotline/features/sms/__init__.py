"""Citizens' and URC members' SMS: intake, the commands, confirmations, routes and lengths."""
