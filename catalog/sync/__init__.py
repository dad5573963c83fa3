"""The sync engine (SyncMetaCatalogJob): claim, push, confirm, feeds, schedule, sweep."""
