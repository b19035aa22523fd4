"""Anonymization methods: one small class each (:mod:`.base` interface), a literal registry
(:mod:`.registry`): face methods (blur, pixelate, block), the pose-guided ``head`` blur,
whole-body methods, ``lowres``, ``skeleton`` and the ``reencode`` control."""
