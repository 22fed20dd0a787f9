"""Settings, clock, database, migrations and the domain-error mapping shared by every domain."""
