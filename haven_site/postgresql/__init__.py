"""Django's PostgreSQL backend with psycopg's compiled timestamp parser (see ``base``)."""
