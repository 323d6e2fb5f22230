"""The one trainer shared by every example model (not shipped: model.tar.gz carries only code/ and artifacts).

Each model's ``train.py`` is a thin wrapper around :func:`training.cli.main`; the model-specific parts
(featurization, network) are imported from that model's own ``code/`` directory.
"""
