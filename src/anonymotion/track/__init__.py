"""Tracking over time: face/head regions held and interpolated (:mod:`.regions`)."""
