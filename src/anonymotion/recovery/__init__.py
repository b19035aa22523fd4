"""Recoverable anonymization: keys (:mod:`.keys`) and the encrypted sidecar (:mod:`.sidecar`)."""
