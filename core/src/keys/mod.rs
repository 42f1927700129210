//! Keys, identities, device certificates and the signed recipient directory.
