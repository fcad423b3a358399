"""The scorecard rendered for people and spreadsheets: a rich table, CSV, a PNG chart. No database here."""
