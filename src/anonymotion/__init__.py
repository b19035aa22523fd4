"""anonymotion: de-identify videos of people and prove the motion data survived.

The public API is lazy so that ``import anonymotion`` stays cheap (no model is loaded)::

    from anonymotion import anonymize
    result = anonymize("clip.mp4", method="blur")
"""

from __future__ import annotations

from typing import Any

# The subpackage ``anonymotion.anonymize`` (the methods) shares its name with the API function
# below. Importing it first means the function defined afterwards is what the attribute holds;
# later imports of its submodules do not touch this attribute again.
import anonymotion.anonymize as _methods_package  # noqa: F401  (cheap: an empty package)

__version__ = "0.1.0"

__all__ = ["anonymize", "__version__"]


def anonymize(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
    """Anonymize a video or image; see :func:`anonymotion.pipeline.anonymize`."""
    from anonymotion.pipeline import anonymize as _anonymize

    return _anonymize(*args, **kwargs)
