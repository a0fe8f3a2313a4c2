"""The county's data files under resources/: found, loaded and validated into typed settings."""
