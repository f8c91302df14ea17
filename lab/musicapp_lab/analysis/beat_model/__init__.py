"""Training of the learned beat/downbeat activation (``resources/models/beatnet.safetensors``).

``python -m musicapp_lab.analysis.beat_model.data``    renders the training excerpts into features,
``python -m musicapp_lab.analysis.beat_model.train``   trains and writes the weights,
``python -m musicapp_lab.analysis.beat_model.compare`` scores onset vs learned cue on dev.
"""
