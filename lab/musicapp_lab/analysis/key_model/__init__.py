"""A learned key scorer tried for issue 11 (not shipped: see README.md in this folder).

``python -m musicapp_lab.analysis.key_model.data``    cuts training excerpts from the rendered songs,
``python -m musicapp_lab.analysis.key_model.train``   cross-validates against the rule, writes weights,
``python -m musicapp_lab.analysis.key_model.compare`` scores rule and model on the dev splits,
``python -m musicapp_lab.analysis.key_model.diagnose`` shows where the errors come from.
"""
