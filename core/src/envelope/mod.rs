//! The sealed envelope: seal, open and verify. Specified in docs/FORMAT.md.
