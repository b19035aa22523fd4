"""anonymotion: de-identify videos of people and prove the motion data survived.

    from anonymotion import anonymize
    result = anonymize("clip.mp4", method="blur")

``anonymotion.anonymize`` is the pipeline's function itself (its real signature); the
anonymization methods live in :mod:`anonymotion.methods`.
"""

from __future__ import annotations

from anonymotion.pipeline import AnonymizeResult, anonymize

__version__ = "0.1.0"

__all__ = ["anonymize", "AnonymizeResult", "__version__"]
