"""Open311 (GeoReport v2): intake, records, the public view, redaction, photos, partner apps."""
