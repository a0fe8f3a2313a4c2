"""The local SQLite/SQLCipher store: opening and migrating it, its keys, site identity and backups."""
