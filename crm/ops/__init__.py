"""Operations tooling that reads the database's own catalog and statistics (dbhealth, analyze_queries)."""
