"""SMS grammar (pure parsing of citizens' and URC members' texts) and reply rendering."""
