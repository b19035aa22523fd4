"""The anonymization pipeline used alike by the CLI, the web app and batch runs.

:func:`anonymize` (one video or image) and :func:`anonymize_methods` (one video, several
methods in one decode and detection pass) are the only entry points; see
:mod:`anonymotion.pipeline.anonymize` for the data flow.
"""

from anonymotion.pipeline.anonymize import AnonymizeResult, anonymize, anonymize_methods, default_output, sidecar

__all__ = ["AnonymizeResult", "anonymize", "anonymize_methods", "default_output", "sidecar"]
