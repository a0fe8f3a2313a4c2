"""Use cases on a store (no Qt): intake, card businesses, queries, statistics, conflicts, accounts."""
