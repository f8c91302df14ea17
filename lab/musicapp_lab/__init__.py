"""musicapp's lab: training, datasets and corpus builders, evaluation sets and evaluations,
ablations, model cards, weight conversion, benchmarks and screenshots.

Not part of the shipped wheel. It depends on :mod:`musicapp`; the product never imports it (a test
enforces that). Its commands join the ``musicapp`` command line through the entry-point group
``musicapp.commands``.
"""
